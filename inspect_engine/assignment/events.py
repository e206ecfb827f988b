"""Changes to the staffing after the freeze, applied to the teams one at a time (ie-teams-v1;
under v2 `rescheduling.py` applies them to the teams and their days, with these rules).

The teams are drawn on the frozen staffing snapshot. A later change (a conflict declared,
leave, a certificate revoked, an inspector deactivated or withdrawn by a supervisor) is a
recorded event. Applying it:

1. updates the staffing (the conflict joins the recusals, the leave the inspector's rows, the
   certificate's last day moves earlier, the inspector leaves the month);
2. finds the members it makes unlawful: the inspector concerned, on each open visit where he
   is no longer eligible or no longer shares a working day with the rest of his team; and,
   if his capacity fell below his places, his places of largest key;
3. fills each freed place with the best-ranked lawful candidate (smallest key of
   (team seed, credit code, inspector id), `optimiser.fill_places`), with the capacity left;
   a visit that cannot be completed loses its team and is reported unstaffed.

Every other team stays exactly as it was, and visits already carried out (results
submitted) are never touched. Because the ranking is keyed, an event that concerns nobody
on a team changes nothing, and adding unrelated events cannot re-roll a replacement.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from inspect_engine.assignment import keys
from inspect_engine.assignment.eligibility import InspectorTable, candidates
from inspect_engine.assignment.optimiser import fill_places
from inspect_engine.assignment.rules import eligible
from inspect_engine.assignment.types import DateRange, Inspector, Month, Recusals, Visit

KINDS = ("conflict", "leave", "certificate", "deactivate", "withdraw", "holiday")
"""`holiday` (ie-teams-v2 only): days of the window declared non-working after the freeze
(a holiday import); `inspector_id` is empty and `starts_on`..`ends_on` are the days."""
GENESIS = "0" * 64
"""The `prev_hash` of a plan's first event."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the staffing after the freeze, as the team protocol reads it.

    `kind`: conflict (inspector_id, credit_code), leave (inspector_id, starts_on, ends_on),
    certificate (inspector_id, expires: the new last valid day), deactivate (inspector_id),
    withdraw (inspector_id: a supervisor takes him off the month's open visits, a manual
    change). `carried_out` lists the visits already carried out when it was applied, which
    it leaves alone.
    """

    kind: str
    inspector_id: str
    credit_code: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    expires: date | None = None
    carried_out: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of change {self.kind!r}; one of {', '.join(KINDS)}")
        needs = {"conflict": ("credit_code",), "leave": ("starts_on", "ends_on"),
                 "certificate": ("expires",), "holiday": ("starts_on", "ends_on")
                 }.get(self.kind, ())  # fmt: skip
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} change needs {', '.join(missing)}")

    def as_dict(self) -> dict[str, Any]:
        """The canonical form: fixed keys, ISO dates, sorted carried-out visits."""
        return {
            "kind": self.kind,
            "inspector_id": self.inspector_id,
            "credit_code": self.credit_code,
            "starts_on": _iso(self.starts_on),
            "ends_on": _iso(self.ends_on),
            "expires": _iso(self.expires),
            "carried_out": sorted(self.carried_out),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            kind=data["kind"],
            inspector_id=data["inspector_id"],
            credit_code=data.get("credit_code"),
            starts_on=_day(data.get("starts_on")),
            ends_on=_day(data.get("ends_on")),
            expires=_day(data.get("expires")),
            carried_out=tuple(data.get("carried_out") or ()),
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def event_hash(prev_hash: str, change: Change) -> str:
    """The chain: SHA-256(prev_hash | canonical JSON of the change)."""
    body = json.dumps(change.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Staffing:
    """What the team draw reads, as changed by the events so far."""

    visits: tuple[Visit, ...]
    inspectors: tuple[Inspector, ...]
    month: Month
    recusals: Recusals
    closed: frozenset[date] = frozenset()  # working days declared holidays after the freeze

    def changed(self, change: Change) -> Staffing:
        """The staffing after `change`."""
        if change.kind == "holiday":
            assert change.starts_on and change.ends_on
            days = {d for d in self.month.working_days if change.starts_on <= d <= change.ends_on}
            return replace(self, closed=self.closed | days)
        if change.kind == "conflict":
            pair = (change.inspector_id, change.credit_code or "")
            return replace(self, recusals=replace(
                self.recusals, conflicts=self.recusals.conflicts | {pair}))  # fmt: skip
        inspectors = tuple(
            _changed_inspector(ins, change) if ins.inspector_id == change.inspector_id else ins
            for ins in self.inspectors
        )
        return replace(self, inspectors=inspectors)


def _changed_inspector(inspector: Inspector, change: Change) -> Inspector:
    if change.kind == "leave":
        assert change.starts_on and change.ends_on
        leave = (*inspector.leave, DateRange(change.starts_on, change.ends_on))
        return replace(inspector, leave=leave)
    if change.kind == "certificate":
        assert change.expires
        return replace(
            inspector, certificate_expires=min(change.expires, inspector.certificate_expires)
        )
    return replace(inspector, active=False)  # deactivate, withdraw


@dataclass(frozen=True)
class ChangeOutcome:
    """What one change did: per visit, the members it removed and added, or why the visit
    lost its team."""

    replaced: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    unstaffed: dict[str, str] = field(default_factory=dict)
    moved: dict[str, tuple[str, str]] = field(default_factory=dict)  # v2: (from, to) days

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "replaced": {v: {"removed": list(r), "added": list(a)}
                         for v, (r, a) in sorted(self.replaced.items())},
            "unstaffed": dict(sorted(self.unstaffed.items())),
        }  # fmt: skip
        if self.moved:
            out["moved"] = {v: {"from": a, "to": b} for v, (a, b) in sorted(self.moved.items())}
        return out


def apply_change(
    staffing: Staffing,
    teams: Mapping[str, Sequence[str]],
    seed: str,
    change: Change,
) -> tuple[Staffing, dict[str, tuple[str, ...]], ChangeOutcome]:
    """Apply `change` to `teams` (visit id -> members); `seed` is the team seed.

    Returns the changed staffing, the new teams and what changed. Only the teams the change
    makes unlawful are touched."""
    after = staffing.changed(change)
    departments = {d for v in after.visits for d in v.departments}
    table = InspectorTable.build(after.inspectors, after.month, extra_departments=departments)
    by_id = {visit.visit_id: visit for visit in after.visits}
    new_teams = {v: tuple(sorted(members)) for v, members in teams.items()}
    load = np.zeros(table.size, dtype=np.int64)
    for members in new_teams.values():
        np.add.at(load, np.array([table.index[m] for m in members], dtype=np.int64), 1)
    barred = after.recusals.barred_pairs(after.month)
    removals = _unlawful_places(after, table, new_teams, load, barred, seed, change)
    outcome = ChangeOutcome()
    for visit_id in sorted(removals, key=lambda v: (_visit_rank(seed, by_id[v]), v)):
        visit, removed = by_id[visit_id], removals[visit_id]
        kept = [m for m in new_teams[visit_id] if m not in removed]
        load[[table.index[m] for m in removed]] -= 1
        added = _refill(visit, kept, removed, table, load, barred, seed)
        if added is None:
            load[[table.index[m] for m in kept]] -= 1
            del new_teams[visit_id]
            outcome.unstaffed[visit_id] = (
                f"no lawful replacement for {', '.join(removed)} after the {change.kind} change"
            )
            continue
        load[[table.index[m] for m in added]] += 1
        new_teams[visit_id] = tuple(sorted([*kept, *added]))
        outcome.replaced[visit_id] = (tuple(removed), tuple(sorted(added)))
    return after, dict(sorted(new_teams.items())), outcome


def _visit_rank(seed: str, visit: Visit) -> int:
    return keys.pair_key(seed, visit.credit_code, "visit")


def _unlawful_places(
    after: Staffing,
    table: InspectorTable,
    teams: Mapping[str, tuple[str, ...]],
    load: np.ndarray[Any, Any],
    barred: frozenset[tuple[str, str]],
    seed: str,
    change: Change,
) -> dict[str, list[str]]:
    """Visit id -> the members `change` makes unlawful (only the inspector it concerns)."""
    who = change.inspector_id
    if who not in table.index:
        return {}
    inspector = table.inspectors[table.index[who]]
    carried = set(change.carried_out)
    by_id = {visit.visit_id: visit for visit in after.visits}
    open_places = [v for v, members in teams.items() if who in members and v not in carried]
    out: dict[str, list[str]] = {}
    for visit_id in open_places:
        visit = by_id[visit_id]
        if change.kind == "conflict" and visit.credit_code != change.credit_code:
            continue
        team = [table.index[m] for m in teams[visit_id]]
        if not eligible(inspector, visit, after.month, barred) or not table.share_a_day(team):
            out[visit_id] = [who]
    # Capacity cut below his places (leave, a shorter certificate): give up the places of
    # largest key among those still his.
    index = table.index[who]
    still = [v for v in open_places if v not in out]
    excess = int(load[index]) - int(table.capacity[index])
    if excess > 0:
        ranked = sorted(still, key=lambda v: (keys.pair_key(seed, by_id[v].credit_code, who), v))
        for visit_id in ranked[::-1][:excess]:
            out[visit_id] = [who]
    return out


def _refill(
    visit: Visit,
    kept: list[str],
    removed: list[str],
    table: InspectorTable,
    load: np.ndarray[Any, Any],
    barred: frozenset[tuple[str, str]],
    seed: str,
) -> list[str] | None:
    """The best-ranked lawful members for the places `removed` left on `visit`, or None."""
    team = [table.index[m] for m in kept]
    want_lead = visit.want_lead and not table.lead[team].any()
    return refill(visit, kept, removed, len(removed), table, load, barred, seed, want_lead)


def refill(
    visit: Visit,
    kept: Sequence[str],
    excluded: Sequence[str],
    places: int,
    table: InspectorTable,
    load: np.ndarray[Any, Any],
    barred: frozenset[tuple[str, str]],
    seed: str,
    want_lead: bool = False,
) -> list[str] | None:
    """The best-ranked lawful members (keyed by `seed`) for `places` places beside `kept`,
    never one of `excluded` (members who left), with capacity left; None if none fit."""
    team = [table.index[m] for m in kept]
    barred_out = {*team, *(table.index[m] for m in excluded if m in table.index)}
    bars = [(0, table.index[i]) for i, c in barred if c == visit.credit_code and i in table.index]
    usable = table.lawful_on_duty() & (table.capacity > load)
    pool = candidates([visit], table, bars, usable).of(0)
    pool = pool[~np.isin(pool, list(barred_out))]
    ids = [ins.inspector_id for ins in table.inspectors]
    pool_keys = keys.pair_keys(seed, [visit.credit_code], ids, np.zeros(pool.size), pool)
    present = {int(table.department[i]) for i in team}
    required = sorted(
        table.departments[d] for d in visit.departments if table.departments[d] not in present
    )
    added = fill_places(team, pool, pool_keys, places, required, table, want_lead)
    return None if added is None else [ids[i] for i in added]


def replay(
    staffing: Staffing,
    teams: Mapping[str, Sequence[str]],
    seed: str,
    changes: Sequence[Change],
) -> tuple[Staffing, dict[str, tuple[str, ...]], list[ChangeOutcome]]:
    """Apply `changes` in order, from the teams drawn on the snapshot."""
    current = {v: tuple(sorted(m)) for v, m in teams.items()}
    outcomes = []
    for change in changes:
        staffing, current, outcome = apply_change(staffing, current, seed, change)
        outcomes.append(outcome)
    return staffing, current, outcomes

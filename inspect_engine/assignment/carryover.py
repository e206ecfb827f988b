"""Visits carried over from last month (结转), in the team protocol (docs/team-protocol.md §6).

At the freeze of month M+1, every visit of month M that is still open is written into M+1's
staffing snapshot, under `carried`, with what its team needs and the team it has then:

    carried  [{visit_id, credit_code, unit, district, month, task_codes, item_codes,
               departments, qualifications [[department, qualification]], mode, team_size,
               team [inspector ids]}]                       (sorted by visit_id)

so the carried set is fixed before the draw and hash-committed with the rest. The visit
keeps its code. In M+1:

1. a carried enterprise that M+1's draw selects again gets one visit: the carried one,
   which takes on the new tasks' items (`absorb`); M+1's own number for it is not used;
2. before the team draw, each carried team is re-checked against M+1's staffing
   (`recheck`): a member who is no longer lawful for the visit (leave over the whole
   window, certificate, deactivated, recused, no longer qualified for its items, his
   capacity cut below his carried places, no common duty day with the others) is
   replaced by the best-ranked lawful candidate (keyed by M+1's team seed, as events
   are); every lawful member stays. A visit carried without a team is staffed here, first;
3. under ie-teams-v2 the carried teams get their days first, in the order of their visit
   keys, by the day rule of schedule.py (`carried_days`); a team with no common duty day
   with room keeps the members who have room on the first day, by day key, where the
   others can be replaced by keyed rank (rescheduling's rule for a holiday), else it loses
   its team with a reason;
4. the places the carried teams hold are taken from the capacity before M+1's own visits
   are drawn (`optimiser.assign(..., held=...)`), their days booked before the own visits'
   (`booked=...`), and M+1's events apply to them too (teams and days).

Everything is a function of the snapshot, the selections and the team seed, so the teams
verifier recomputes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from inspect_engine.assignment import keys, rescheduling, schedule
from inspect_engine.assignment.eligibility import InspectorTable
from inspect_engine.assignment.events import Change, Staffing, refill, replay
from inspect_engine.assignment.merge import department_needs, merge_office_mode
from inspect_engine.assignment.optimiser import assign
from inspect_engine.assignment.rules import eligible
from inspect_engine.assignment.staffing import MergedVisit, Snapshot, merge_visits
from inspect_engine.assignment.types import (
    AssignmentResult,
    Booking,
    Inspector,
    Month,
    OfficeMode,
    Recusals,
    Visit,
)

PRIORITY = 0
"""Carried visits come first in the month (teams now; days in the calendar): their priority
rank, before every visit of the month's own draw (`priority` gives those 1)."""


@dataclass(frozen=True)
class CarriedVisit:
    """A visit of an earlier month still open at this month's freeze."""

    visit_id: str  # its code, kept
    credit_code: str
    unit: str
    district: str
    month: str  # the month that drew it
    task_codes: tuple[str, ...]
    item_codes: tuple[str, ...]
    departments: tuple[str, ...]
    qualifications: tuple[tuple[str, str | None], ...]  # (department, qualification)
    mode: OfficeMode
    team_size: int
    team: tuple[str, ...]  # the team at the freeze (empty: it had none)
    absorbed: tuple[str, ...] = ()  # this month's tasks that drew it again

    def entry(self) -> dict[str, Any]:
        """The snapshot's form (canonical: sorted lists)."""
        return {
            "visit_id": self.visit_id,
            "credit_code": self.credit_code,
            "unit": self.unit,
            "district": self.district,
            "month": self.month,
            "task_codes": sorted(self.task_codes),
            "item_codes": sorted(self.item_codes),
            "departments": sorted(self.departments),
            "qualifications": [list(p) for p in sorted_pairs(self.qualifications)],
            "mode": str(self.mode),
            "team_size": int(self.team_size),
            "team": sorted(self.team),
        }

    @classmethod
    def from_entry(cls, row: Mapping[str, Any]) -> CarriedVisit:
        return cls(
            visit_id=row["visit_id"],
            credit_code=row["credit_code"],
            unit=row["unit"],
            district=row["district"],
            month=row["month"],
            task_codes=tuple(row["task_codes"]),
            item_codes=tuple(row["item_codes"]),
            departments=tuple(row["departments"]),
            qualifications=tuple((d, q) for d, q in row["qualifications"]),
            mode=OfficeMode(row["mode"]),
            team_size=int(row["team_size"]),
            team=tuple(row["team"]),
        )

    def absorb(self, drawn: MergedVisit) -> CarriedVisit:
        """This visit after the month's draw selected its enterprise again: one visit, with
        the new tasks' items too (mode and size the stricter of both)."""
        return replace(
            self,
            task_codes=tuple(sorted({*self.task_codes, *drawn.task_codes})),
            item_codes=tuple(sorted({*self.item_codes, *drawn.item_codes})),
            departments=tuple(sorted({*self.departments, *drawn.departments})),
            qualifications=sorted_pairs([*self.qualifications, *drawn.qualifications]),
            mode=merge_office_mode([self.mode, drawn.mode]),
            team_size=max(self.team_size, drawn.team_size),
            absorbed=tuple(sorted(drawn.task_codes)),
        )  # fmt: skip

    def spec(self) -> Visit:
        return Visit(
            visit_id=self.visit_id,
            credit_code=self.credit_code,
            unit=self.unit,
            district=self.district,
            needs=department_needs(self.qualifications),
            mode=self.mode,
            team_size=self.team_size,
        )


def sorted_pairs(
    pairs: Iterable[tuple[str, str | None]],
) -> tuple[tuple[str, str | None], ...]:
    """(department, qualification) pairs, each once, in canonical order (None first)."""
    return tuple(sorted(set(pairs), key=lambda p: (p[0], p[1] is not None, p[1] or "")))


def carried_of(snapshot: Snapshot) -> list[CarriedVisit]:
    """The carried visits a snapshot lists (none for a snapshot without the key)."""
    return [CarriedVisit.from_entry(row) for row in snapshot.data.get("carried", ())]


def snapshot_entries(carried: Iterable[CarriedVisit]) -> list[dict[str, Any]]:
    return sorted((c.entry() for c in carried), key=lambda e: e["visit_id"])


def month_visits(
    merged: Sequence[MergedVisit], carried: Sequence[CarriedVisit]
) -> tuple[list[MergedVisit], list[CarriedVisit]]:
    """The month's own visits (its draw's, less those of carried enterprises) and the
    carried visits, each having absorbed its enterprise's new selection if any."""
    drawn = {visit.credit_code: visit for visit in merged}
    carried_codes = {c.credit_code for c in carried}
    own = [visit for visit in merged if visit.credit_code not in carried_codes]
    kept = [c.absorb(drawn[c.credit_code]) if c.credit_code in drawn else c for c in carried]
    return own, sorted(kept, key=lambda c: c.visit_id)


def priority(visit_id: str, carried_ids: Iterable[str]) -> int:
    """The scheduling rank of a visit: carried ones (PRIORITY) before the month's own."""
    return PRIORITY if visit_id in set(carried_ids) else PRIORITY + 1


@dataclass(frozen=True)
class Recheck:
    """What the re-check did: the teams, per visit the members replaced (removed, added)
    and why, the visits left without a team, and the places held (inspector -> count)."""

    teams: dict[str, tuple[str, ...]]
    replaced: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    unstaffed: dict[str, str] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replaced": {v: {"removed": list(r), "added": list(a), "reason": self.reasons[v]}
                         for v, (r, a) in sorted(self.replaced.items())},
            "unstaffed": dict(sorted(self.unstaffed.items())),
        }  # fmt: skip


def recheck(
    carried: Sequence[CarriedVisit],
    inspectors: Sequence[Inspector],
    month: Month,
    recusals: Recusals,
    seed: str,
    done: Iterable[str] = (),
) -> Recheck:
    """Re-check the carried teams against this month's staffing; `seed` is this month's team
    seed. Visits in `done` (carried out since the freeze) keep their team and hold no place.
    Only unlawful members change; each place freed is filled by keyed rank."""
    finished = set(done)
    open_visits = [c for c in carried if c.visit_id not in finished]
    specs = {c.visit_id: c.spec() for c in open_visits}
    departments = {d for c in open_visits for d in c.departments}
    table = InspectorTable.build(inspectors, month, extra_departments=departments)
    barred = recusals.barred_pairs(month)
    kept, why = _lawful_members(open_visits, specs, table, month, barred)
    load = np.zeros(table.size, dtype=np.int64)
    for members in kept.values():
        np.add.at(load, np.array([table.index[m] for m in members], dtype=np.int64), 1)
    _trim_capacity(open_visits, kept, why, table, load, seed)
    for visit in open_visits:
        _make_room(visit, specs[visit.visit_id], kept[visit.visit_id], why, table, seed)
    load[:] = 0  # the places kept after both cuts
    for members in kept.values():
        np.add.at(load, np.array([table.index[m] for m in members], dtype=np.int64), 1)
    teams = {c.visit_id: tuple(sorted(c.team)) for c in carried if c.visit_id in finished}
    out = Recheck(teams)
    for visit in sorted(open_visits, key=lambda c: (keys.pair_key(seed, c.credit_code, "visit"),
                                                     c.visit_id)):  # fmt: skip
        members = kept[visit.visit_id]
        added = _refill(specs[visit.visit_id], members, visit.team, table, load, barred, seed)
        if added is None:
            load[[table.index[m] for m in members]] -= 1
            out.unstaffed[visit.visit_id] = (
                f"carried over from {visit.month}: no lawful team in {month.label}"
            )
            continue
        load[[table.index[m] for m in added]] += 1
        team = tuple(sorted([*members, *added]))
        out.teams[visit.visit_id] = team
        removed = tuple(sorted(set(visit.team) - set(team)))
        if removed or added:
            out.replaced[visit.visit_id] = (removed, tuple(sorted(added)))
            out.reasons[visit.visit_id] = "; ".join(why.get(visit.visit_id, [])) or (
                "carried over without a full team"
            )
    ids = [ins.inspector_id for ins in table.inspectors]
    out.held.update({ids[i]: int(n) for i, n in enumerate(load.tolist()) if n})
    return replace(out, teams=dict(sorted(out.teams.items())))


def _lawful_members(
    carried: Sequence[CarriedVisit],
    specs: Mapping[str, Visit],
    table: InspectorTable,
    month: Month,
    barred: frozenset[tuple[str, str]],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per visit, the members still lawful for it, and why the others are not."""
    kept: dict[str, list[str]] = {}
    why: dict[str, list[str]] = {}
    duty = table.duty.sum(axis=1)
    for visit in carried:
        spec, members = specs[visit.visit_id], []
        for member in sorted(visit.team):
            at = table.index.get(member)
            if at is None or not eligible(table.inspectors[at], spec, month, barred):
                why.setdefault(visit.visit_id, []).append(f"{member} not lawful in {month.label}")
            else:
                members.append(member)
        # a team must share a duty day: drop the member with the fewest duty days, then
        # the largest id, until the rest do
        while members and not table.share_a_day([table.index[m] for m in members]):
            victim = max(members, key=lambda m: (-int(duty[table.index[m]]), m))
            members.remove(victim)
            why.setdefault(visit.visit_id, []).append(f"{victim} shares no duty day")
        kept[visit.visit_id] = members
    return kept, why


def _trim_capacity(
    carried: Sequence[CarriedVisit],
    kept: dict[str, list[str]],
    why: dict[str, list[str]],
    table: InspectorTable,
    load: np.ndarray[Any, Any],
    seed: str,
) -> None:
    """An inspector holding more carried places than this month's capacity gives up his
    places of largest key (as a capacity cut does in events.py)."""
    by_id = {c.visit_id: c for c in carried}
    over = np.flatnonzero(load > table.capacity).tolist()
    for index in over:
        who = table.inspectors[index].inspector_id
        places = [v for v, members in kept.items() if who in members]
        ranked = sorted(places, key=lambda v: (keys.pair_key(seed, by_id[v].credit_code, who), v))
        for visit_id in ranked[::-1][: int(load[index] - table.capacity[index])]:
            kept[visit_id].remove(who)
            why.setdefault(visit_id, []).append(f"{who} over capacity in this month")
            load[index] -= 1


def _refill(
    visit: Visit,
    kept: list[str],
    before: Sequence[str],
    table: InspectorTable,
    load: np.ndarray[Any, Any],
    barred: frozenset[tuple[str, str]],
    seed: str,
) -> list[str] | None:
    """The best-ranked lawful members for the places the team lacks ([] if none), or None.
    Members who left the team are not taken back."""
    places = visit.team_size - len(kept)
    if places <= 0 and _covered(visit, kept, table):
        return []
    return refill(visit, kept, before, places, table, load, barred, seed)


def _covered(visit: Visit, kept: Sequence[str], table: InspectorTable) -> bool:
    present = {int(table.department[table.index[m]]) for m in kept}
    return {table.departments[d] for d in visit.departments} <= present


def _make_room(
    visit: CarriedVisit,
    spec: Visit,
    kept: list[str],
    why: dict[str, list[str]],
    table: InspectorTable,
    seed: str,
) -> None:
    """A department that joined the visit (absorbed items) needs a place: when the team is
    full, the member of largest key among those whose department keeps another leaves."""
    present = {int(table.department[table.index[m]]) for m in kept}
    missing = [d for d in spec.departments if table.departments[d] not in present]
    while kept and len(kept) + len(missing) > spec.team_size:
        spare = [m for m in kept
                 if sum(table.department[table.index[o]] == table.department[table.index[m]]
                        for o in kept) > 1]  # fmt: skip
        if not spare:
            return
        victim = max(spare, key=lambda m: (keys.pair_key(seed, visit.credit_code, m), m))
        kept.remove(victim)
        why.setdefault(visit.visit_id, []).append(f"{victim} makes room for another department")


def carried_days(
    carried: Sequence[CarriedVisit],
    checked: Recheck,
    inspectors: Sequence[Inspector],
    month: Month,
    recusals: Recusals,
    seed: str,
    cap: int,
    done: Iterable[str] = (),
) -> tuple[Recheck, dict[str, date], list[Booking]]:
    """ie-teams-v2: the carried teams' days, booked before the month's own visits.

    In the order of their visit keys, each open carried team takes the day schedule.py's
    rule gives on an empty book (fewest new district/office inspector-day pairs, then the
    day key). A team with no common duty day with room is placed as a holiday places it
    (rescheduling._place_with): on the first day, by day key, where the members without
    room are replaced by keyed rank; failing that it loses its team. Returns the re-check
    with those changes (teams, replaced, unstaffed, held), the days and the bookings."""
    finished = set(done)
    ranked = sorted(
        (c for c in carried if c.visit_id in checked.teams and c.visit_id not in finished),
        key=lambda c: (keys.pair_key(seed, c.credit_code, "visit"), c.visit_id),
    )
    departments = {d for c in ranked for d in c.departments}
    table = InspectorTable.build(inspectors, month, extra_departments=departments)
    window = month.window_days
    book = schedule.DayBook.empty(table.size, window, cap)
    districts = schedule.codes([c.district for c in ranked])
    offices = schedule.codes([c.unit for c in ranked])
    load = np.zeros(table.size, dtype=np.int64)
    for visit in ranked:
        load[[table.index[m] for m in checked.teams[visit.visit_id]]] += 1
    day_keys = schedule.day_keys(seed, [c.credit_code for c in ranked], window)
    barred = recusals.barred_pairs(month)
    teams, replaced = dict(checked.teams), dict(checked.replaced)
    reasons, unstaffed = dict(checked.reasons), dict(checked.unstaffed)
    days: dict[str, date] = {}
    bookings = []
    for pos, visit in enumerate(ranked):
        team = [table.index[m] for m in teams[visit.visit_id]]
        place = (districts[visit.district], offices[visit.unit])
        duty = np.asarray(table.duty[team].all(axis=0), dtype=np.bool_)
        col = book.choose(team, duty, *place, day_keys[pos])
        if col is None:
            everywhere = np.ones(len(window), dtype=np.bool_)
            found = rescheduling._place_with(
                visit.spec(), team, [], table, load, barred, seed, book, everywhere,
                day_keys[pos], None,
            )  # fmt: skip
            why = f"no common duty day with room in {month.label}"
            if found is None:
                load[team] -= 1
                del teams[visit.visit_id]
                unstaffed[visit.visit_id] = f"carried over from {visit.month}: {why}"
                continue
            col, stayed, added = found
            load[[m for m in team if m not in stayed]] -= 1
            load[added] += 1
            team = [*stayed, *added]
            now = tuple(sorted(table.inspectors[m].inspector_id for m in team))
            teams[visit.visit_id] = now
            replaced[visit.visit_id] = (
                tuple(sorted(set(visit.team) - set(now))),
                tuple(sorted(set(now) - set(visit.team))),
            )
            reasons[visit.visit_id] = "; ".join(
                r for r in (checked.reasons.get(visit.visit_id), why) if r
            )
        book.book(team, col, *place)
        days[visit.visit_id] = window[col]
        members = tuple(sorted(table.inspectors[m].inspector_id for m in team))
        bookings.append(Booking(members, window[col], visit.district, visit.unit))
    ids = [ins.inspector_id for ins in table.inspectors]
    held = {ids[i]: int(n) for i, n in enumerate(load.tolist()) if n}
    out = Recheck(dict(sorted(teams.items())), replaced, reasons, unstaffed, held)
    return out, dict(sorted(days.items())), bookings


@dataclass(frozen=True)
class MonthTeams:
    """The month's teams as the protocol draws them: carried visits re-checked first, then
    the month's own visits on the capacity left, then the recorded changes replayed over
    both."""

    own: list[MergedVisit]
    carried: list[CarriedVisit]
    recheck: Recheck
    result: AssignmentResult
    teams: dict[str, tuple[str, ...]]
    lost: dict[str, str]  # visits that lost their team to a change, and why
    specs: list[Visit]  # the team rules' view of every visit: own, then carried
    days: dict[str, date] = field(default_factory=dict)  # ie-teams-v2: visit -> visit_on


def month_teams(
    snapshot: Snapshot,
    selections: Mapping[str, Sequence[str]],
    seed: str,
    changes: Sequence[Change],
    done: Iterable[str] = (),
) -> MonthTeams:
    """Draw the month's teams from the snapshot, the draw's selections and the team seed;
    `done`: carried visits carried out between the freeze and the team draw."""
    own, carried = month_visits(merge_visits(snapshot, selections), carried_of(snapshot))
    inspectors, month, recusals = snapshot.inspectors(), snapshot.month(), snapshot.recusals()
    finished = set(done)
    checked = recheck(carried, inspectors, month, recusals, seed, finished)
    cap = snapshot.max_per_day()
    carried_on: dict[str, date] = {}
    booked: list[Booking] = []
    if cap is not None:  # ie-teams-v2: the carried visits' days first
        checked, carried_on, booked = carried_days(
            carried, checked, inspectors, month, recusals, seed, cap, finished
        )
    own_specs = [v.spec() for v in own]
    result = assign(
        own_specs, inspectors, month, seed, recusals,
        held=checked.held, max_per_day=cap, booked=booked,
    )  # fmt: skip
    specs = [*own_specs, *(c.spec() for c in carried)]
    state = Staffing(tuple(specs), tuple(inspectors), month, recusals)
    # visits carried out before the team draw hold no place and no change reaches them
    drawn = {**result.teams, **{v: m for v, m in checked.teams.items() if v not in finished}}
    days: dict[str, date] = {}
    if cap is None:
        _, teams, outcomes = replay(state, drawn, seed, changes)
    else:
        _, teams, days, outcomes = rescheduling.replay_days(
            state, drawn, {**result.days, **carried_on}, seed, changes, cap
        )
    teams.update({v: m for v, m in checked.teams.items() if v in finished})
    lost = {v: r for outcome in outcomes for v, r in outcome.unstaffed.items()}
    return MonthTeams(own, carried, checked, result, dict(sorted(teams.items())), lost, specs, days)

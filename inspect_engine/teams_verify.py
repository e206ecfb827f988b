"""Verify the inspector teams of a month (ie-teams-v1 or v2, docs/team-protocol.md).

Usage:   python -m inspect_engine.verify --teams OUT/teams.json --staffing OUT/staffing.json \\
             --draws OUT/draws --expect-staffing-hash HEX

From the month export, it recomputes the second random and runs these checks in order,
naming the first that fails:

  staffing_hash  SHA-256 of the canonical text of staffing.json equals the hash published at
                 the freeze (--expect-staffing-hash), the one in teams.json and the one every
                 draw record carries
  seed           every draw record has teams.json's seed, and
                 team_seed = SHA-256(seed | staffing_hash | protocol)
  visits         the visits are exactly the draws' selections merged on the snapshot
  events         the post-freeze changes form an unbroken hash chain from GENESIS
  lawful         after every change, each team is lawful (eligible members, departments
                 covered, a common duty day) and nobody is over capacity
  days           (ie-teams-v2) every team has a visit_on: a working day of the window, not
                 declared a holiday, on which every member is on duty, and nobody has more
                 than max_visits_per_day visits a day (carried visits included)
  optimum        drawing the teams (and days) again on the snapshot with the team seed and
                 replaying the changes gives exactly these teams (and days); carried visits
                 are re-checked (and given their days) first, as carryover.month_teams does

Exit status: 0 all checks passed; 1 a check failed; 2 bad usage, or a file that cannot be
read or is malformed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from inspect_engine.assignment import carryover, day_search, events, keys, rules
from inspect_engine.assignment import staffing as kernel
from inspect_engine.assignment.types import Inspector, Visit

EXIT_OK, EXIT_FAILED, EXIT_MALFORMED = 0, 1, 2
CHECKS = ("staffing_hash", "seed", "visits", "events", "lawful", "days", "optimum")


class Failed(Exception):
    def __init__(self, check: str, reason: str) -> None:
        super().__init__(f"{check}: {reason}")
        self.check, self.reason = check, reason


class Malformed(Exception):
    pass


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="verify.py --teams",
        description="Verify the inspector teams of a month (ie-teams-v1 or ie-teams-v2).",
        epilog="Exit status: 0 verified, 1 a check failed, 2 bad usage or unreadable file.",
    )
    parser.add_argument("--teams", required=True, metavar="FILE", help="OUT/teams.json")
    parser.add_argument("--staffing", required=True, metavar="FILE", help="OUT/staffing.json")
    parser.add_argument("--draws", required=True, metavar="DIR", help="OUT/draws")
    parser.add_argument(
        "--expect-staffing-hash",
        required=True,
        metavar="HEX",
        help="the staffing hash published with the commitment at the freeze",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage and the error
        return EXIT_OK if exc.code == 0 else EXIT_MALFORMED
    try:
        teams = _object(_read_json(Path(args.teams)), args.teams)
        staffing_text = Path(args.staffing).read_text(encoding="utf-8")
        staffing_data = _object(json.loads(staffing_text), args.staffing)
        records = _records(Path(args.draws))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, Malformed) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_MALFORMED
    try:
        for line in verify(teams, staffing_data, records, args.expect_staffing_hash):
            print(f"OK {line}")
    except Failed as failed:
        print(f"FAIL {failed.check}: {failed.reason}")
        return EXIT_FAILED
    except (Malformed, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        print(f"ERROR: the teams export is malformed: {exc!r}", file=sys.stderr)
        return EXIT_MALFORMED
    print("OK: the teams check out")
    return EXIT_OK


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _object(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Malformed(f"{name} is not a JSON object")
    return data


def _records(directory: Path) -> list[dict[str, Any]]:
    if not directory.is_dir():
        raise Malformed(f"{directory} is not a directory of draw records")
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise Malformed(f"{directory} holds no draw record (*.json)")
    return [_object(_read_json(path), str(path)) for path in paths]


def verify(
    teams: Mapping[str, Any],
    staffing_data: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    expect_staffing_hash: str,
) -> list[str]:
    """Run the checks in order; raise Failed naming the first that fails."""
    out = []
    digest = hashlib.sha256(kernel.canonical_text(staffing_data).encode("utf-8")).hexdigest()
    expected = expect_staffing_hash.strip().lower()
    if digest != expected:
        raise Failed(
            "staffing_hash", f"staffing.json hashes to {digest}, not the published {expected}"
        )
    if teams.get("staffing_hash") != digest:
        raise Failed(
            "staffing_hash", f"teams.json names {teams.get('staffing_hash')}, not {digest}"
        )
    for record in records:
        if record.get("staffing_hash") != digest:
            raise Failed(
                "staffing_hash",
                f"the draw record of task {record.get('task_code')} names "
                f"{record.get('staffing_hash')}, not {digest}",
            )
    out.append(f"staffing_hash {digest}")

    seed = teams.get("seed")
    for record in records:
        if record.get("seed") != seed:
            raise Failed(
                "seed", f"the draw record of task {record.get('task_code')} has another seed"
            )
    if not isinstance(seed, str):
        raise Failed("seed", "teams.json has no seed")
    protocol = staffing_data.get("protocol")
    if protocol not in kernel.PROTOCOLS:
        raise Malformed(f"staffing.json is not a snapshot of {' or '.join(kernel.PROTOCOLS)}")
    if teams.get("protocol") != protocol:
        raise Failed("seed", f"teams.json is {teams.get('protocol')}, the snapshot {protocol}")
    team_seed = keys.team_seed(seed, digest, protocol)
    if teams.get("team_seed") != team_seed:
        raise Failed("seed", f"team_seed is {teams.get('team_seed')}, SHA-256 gives {team_seed}")
    out.append(f"seed team_seed {team_seed} ({protocol})")

    snapshot = kernel.Snapshot(staffing_data)
    selections = {str(r["task_code"]): list(r["selected"]) for r in records}
    try:
        merged = kernel.merge_visits(snapshot, selections)
    except ValueError as exc:
        raise Failed("visits", str(exc)) from exc
    merged, carried = carryover.month_visits(merged, carryover.carried_of(snapshot))
    expected_visits = [(v.visit_id, v.credit_code, list(v.task_codes)) for v in merged]
    listed = teams.get("visits")
    if not isinstance(listed, list):
        raise Failed("visits", "teams.json has no list of visits")
    got_visits = [(v.get("visit_id"), v.get("credit_code"), v.get("task_codes")) for v in listed]
    if got_visits != expected_visits:
        raise Failed("visits", _first_difference(expected_visits, got_visits))
    carried_listed, done = _carried(teams, carried, "carried" in staffing_data)
    out.append(
        f"visits {len(merged)} visits merged from {len(records)} draw records"
        + (f", {len(carried)} carried over" if carried else "")
    )

    changes = _chain(teams.get("events"))
    out.append(f"events {len(changes)} changes, an unbroken chain")

    specs = [v.spec() for v in merged] + [c.spec() for c in carried]
    drawn = {
        str(v["visit_id"]): tuple(sorted(str(m) for m in v.get("inspectors") or ()))
        for v in [*listed, *carried_listed]
    }
    # a carried visit carried out before the team draw keeps last month's team, checked then
    _lawful(snapshot, specs, changes, {v: m for v, m in drawn.items() if v not in done})
    out.append("lawful every team is lawful and nobody is over capacity")

    cap = snapshot.max_per_day()
    open_listed = [v for v in [*listed, *carried_listed] if str(v["visit_id"]) not in done]
    days = _listed_days(open_listed) if cap is not None else {}
    if cap is not None:
        open_teams = {v: m for v, m in drawn.items() if v not in done}
        _days(snapshot, specs, changes, open_teams, days, cap)
        out.append(f"days {len(days)} visits on a working day, on duty, {cap} a day at most")

    selected = {str(r["task_code"]): list(r["selected"]) for r in records}
    protocol = carryover.month_teams(snapshot, selected, team_seed, changes, done)
    again, days_again = protocol.teams, protocol.days
    if carried and teams.get("carried_recheck") != protocol.recheck.as_dict():
        raise Failed("optimum", "the recorded re-check of the carried teams is not the protocol's")
    staffed = {v: m for v, m in drawn.items() if m}
    if again != staffed:
        differ = sorted(v for v in set(again) | set(staffed) if again.get(v) != staffed.get(v))
        raise Failed(
            "optimum",
            f"{len(differ)} teams differ from the protocol's, first {differ[0]}: "
            f"{list(staffed.get(differ[0], ()))} instead of {list(again.get(differ[0], ()))}",
        )
    if days != days_again:
        differ = sorted(v for v in set(days) | set(days_again) if days.get(v) != days_again.get(v))
        recorded, mine = str(teams.get("ortools") or ""), day_search.solver_version()
        versions = (
            f" (drawn with OR-Tools {recorded}, checked with {mine}: verify with the"
            " version the teams were drawn with)"
            if recorded and recorded != mine
            else ""
        )
        raise Failed(
            "optimum",
            f"{len(differ)} visit days differ from the protocol's, first {differ[0]}: "
            f"{_iso(days.get(differ[0]))} instead of {_iso(days_again.get(differ[0]))}{versions}",
        )
    out.append(f"optimum {len(staffed)} teams{' and days' if cap else ''} are the protocol's")
    return out


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "none"


def _listed_days(listed: Sequence[Mapping[str, Any]]) -> dict[str, date]:
    out = {}
    for visit in listed:
        text = visit.get("visit_on")
        if text is None:
            continue
        try:
            out[str(visit["visit_id"])] = date.fromisoformat(str(text))
        except ValueError as exc:
            reason = f"visit {visit['visit_id']}: visit_on {text!r} is no date"
            raise Failed("days", reason) from exc
    return out


def _days(
    snapshot: kernel.Snapshot,
    specs: Sequence[Visit],
    changes: Sequence[events.Change],
    teams: Mapping[str, tuple[str, ...]],
    days: Mapping[str, date],
    cap: int,
) -> None:
    """Each team's day against the staffing after every change (a visit carried out when a
    change came, against the staffing before it), and the cap per inspector and day."""
    state = events.Staffing(
        tuple(specs), tuple(snapshot.inspectors()), snapshot.month(), snapshot.recusals()
    )
    frozen: dict[str, events.Staffing] = {}
    for change in changes:
        for visit_id in change.carried_out:
            frozen.setdefault(visit_id, state)
        state = state.changed(change)
    per_day: dict[tuple[str, date], int] = {}
    for visit_id, ids in sorted(teams.items()):
        day = days.get(visit_id)
        if not ids:
            if day is not None:
                raise Failed("days", f"visit {visit_id} has a day but no team")
            continue
        if day is None:
            raise Failed("days", f"visit {visit_id} has a team but no visit_on")
        when = frozen.get(visit_id, state)
        if day not in when.month.window_days or day in when.closed:
            raise Failed(
                "days",
                f"visit {visit_id}: {day} is not a working day of the window "
                f"{when.month.window_start} to {when.month.last_day}",
            )
        by_id = {ins.inspector_id: ins for ins in when.inspectors}
        off = [i for i in ids if not rules.on_duty(by_id[i], day)]
        if off:
            raise Failed("days", f"visit {visit_id}: {off[0]} is not on duty on {day}")
        for member in ids:
            per_day[member, day] = per_day.get((member, day), 0) + 1
    over = sorted((who, day, n) for (who, day), n in per_day.items() if n > cap)
    if over:
        who, day, n = over[0]
        raise Failed("days", f"{who} has {n} visits on {day}, more than {cap}")


def _carried(
    teams: Mapping[str, Any], carried: Sequence[carryover.CarriedVisit], listed_in_snapshot: bool
) -> tuple[list[dict[str, Any]], set[str]]:
    """teams.json's carried visits must be exactly the snapshot's (结转, fixed at the
    freeze); those carried out before the team draw must be among them."""
    if not listed_in_snapshot:
        if teams.get("carried"):
            raise Failed("visits", "teams.json carries visits the staffing snapshot does not list")
        return [], set()
    listed = teams.get("carried")
    if not isinstance(listed, list):
        raise Failed("visits", "teams.json has no list of carried visits")
    want = [(c.visit_id, c.credit_code, list(c.task_codes)) for c in carried]
    got = [(v.get("visit_id"), v.get("credit_code"), v.get("task_codes")) for v in listed]
    if got != want:
        raise Failed("visits", "carried over: " + _first_difference(want, got))
    done = {str(v) for v in teams.get("carried_done") or ()}
    stray = sorted(done - {c.visit_id for c in carried})
    if stray:
        raise Failed("visits", f"{stray[0]} is marked carried out but is not carried over")
    return listed, done


def _first_difference(expected: Sequence[tuple[Any, ...]], got: Sequence[tuple[Any, ...]]) -> str:
    if len(expected) != len(got):
        return f"teams.json lists {len(got)} visits, the draws give {len(expected)}"
    for want, have in zip(expected, got, strict=True):
        if want != have:
            return f"visit {have[0]} is {list(have[1:])}, the draws give {list(want)}"
    return "the visits differ"  # pragma: no cover


def _chain(listed: Any) -> list[events.Change]:
    if not isinstance(listed, list):
        raise Failed("events", "teams.json has no list of events")
    prev = events.GENESIS
    changes = []
    for number, row in enumerate(listed, start=1):
        if not isinstance(row, dict) or row.get("seq") != number:
            raise Failed("events", f"event {number} is missing or out of order")
        if row.get("prev_hash") != prev:
            raise Failed("events", f"event {number} does not follow the previous one")
        try:
            change = events.Change.from_dict(row["event"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Failed("events", f"event {number} is not a change: {exc}") from exc
        if row.get("event_hash") != events.event_hash(prev, change):
            raise Failed("events", f"event {number}'s hash does not match its change")
        prev = row["event_hash"]
        changes.append(change)
    return changes


def _lawful(
    snapshot: kernel.Snapshot,
    specs: Sequence[Visit],
    changes: Sequence[events.Change],
    teams: Mapping[str, tuple[str, ...]],
) -> None:
    """Each team against the staffing after every change; a visit carried out when a change
    came is checked against the staffing before it (the change left it alone)."""
    state = events.Staffing(
        tuple(specs), tuple(snapshot.inspectors()), snapshot.month(), snapshot.recusals()
    )
    frozen: dict[str, events.Staffing] = {}
    for change in changes:
        for visit_id in change.carried_out:
            frozen.setdefault(visit_id, state)
        state = state.changed(change)
    by_visit = {visit.visit_id: visit for visit in specs}
    final_by_id = {ins.inspector_id: ins for ins in state.inspectors}
    members: list[list[Inspector]] = []
    for visit_id, ids in sorted(teams.items()):
        if not ids:
            continue
        when = frozen.get(visit_id, state)
        by_id = {ins.inspector_id: ins for ins in when.inspectors}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise Failed("lawful", f"visit {visit_id}: {unknown[0]} is not in the staffing")
        team = [by_id[i] for i in ids]
        barred = when.recusals.barred_pairs(when.month)
        problems = rules.team_violations(team, by_visit[visit_id], when.month, barred)
        if problems:
            raise Failed("lawful", f"visit {visit_id}: {'; '.join(problems)}")
        members.append([final_by_id[i] for i in ids])
    over = rules.over_capacity(members, state.month)
    if over:
        who, (load, capacity) = sorted(over.items())[0]
        raise Failed("lawful", f"{who} holds {load} places, capacity {capacity}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))

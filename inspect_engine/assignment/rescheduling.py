"""Changes after the freeze under ie-teams-v2: teams and their days together.

A change (events.py) hits a visit when it makes a member unlawful for it (not eligible any
more, or over his capacity: events._unlawful_places' rule), when it takes a member off
duty on the visit's day (leave, a certificate ending earlier), or when the visit's day is
declared a holiday. Each hit visit, in the order of its rank, and nothing else:

1. a team still lawful is moved to another day of the window on which all its members
   are on duty with room (the day rule of schedule.py: fewest new districts and offices
   per inspector-day, then the day key), and keeps its members;
2. otherwise the member concerned is replaced (for a holiday: the members without room
   or duty) by keyed rank among the lawful candidates on duty with room: on the visit's
   own day if it is still open, else on the first day, by day key, where a full team is
   found;
3. a visit that cannot be placed so loses its team and is reported.

Visits carried out are never touched; every other visit keeps its team and its day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

import numpy as np
import numpy.typing as npt

from inspect_engine.assignment import keys, schedule
from inspect_engine.assignment.eligibility import BoolArray, InspectorTable, IntArray, candidates
from inspect_engine.assignment.events import (
    Change,
    ChangeOutcome,
    Staffing,
    _unlawful_places,
    _visit_rank,
)
from inspect_engine.assignment.optimiser import fill_places
from inspect_engine.assignment.rules import on_duty
from inspect_engine.assignment.types import Visit

Days = dict[str, date]


def apply_change_days(
    staffing: Staffing,
    teams: Mapping[str, Sequence[str]],
    days: Mapping[str, date],
    seed: str,
    change: Change,
    cap: int,
) -> tuple[Staffing, dict[str, tuple[str, ...]], Days, ChangeOutcome]:
    """Apply `change` to `teams` and their `days`; returns the staffing, teams, days and
    what changed (members replaced, days moved, visits lost)."""
    after = staffing.changed(change)
    departments = {d for v in after.visits for d in v.departments}
    table = InspectorTable.build(after.inspectors, after.month, extra_departments=departments)
    window = after.month.window_days
    by_id = {visit.visit_id: visit for visit in after.visits}
    new_teams = {v: tuple(sorted(members)) for v, members in teams.items()}
    new_days = dict(days)
    load = np.zeros(table.size, dtype=np.int64)
    for members in new_teams.values():
        np.add.at(load, np.array([table.index[m] for m in members], dtype=np.int64), 1)
    districts = schedule.codes([v.district for v in after.visits])
    offices = schedule.codes([v.unit for v in after.visits])
    book = schedule.DayBook.empty(table.size, window, cap)
    for visit_id, members in new_teams.items():
        col = book.column(new_days[visit_id]) if visit_id in new_days else None
        if col is not None:
            visit = by_id[visit_id]
            team = [table.index[m] for m in members]
            _book_over_cap(book, team, col, districts[visit.district], offices[visit.unit])
    barred = after.recusals.barred_pairs(after.month)
    removals = _unlawful_places(after, table, new_teams, load, barred, seed, change)
    hit = _off_their_day(after, new_teams, new_days, change, removals)
    outcome = ChangeOutcome()
    open_days = np.array([d not in after.closed for d in window], dtype=np.bool_)
    for visit_id in sorted({*removals, *hit}, key=lambda v: (_visit_rank(seed, by_id[v]), v)):
        visit = by_id[visit_id]
        team = [table.index[m] for m in new_teams[visit_id]]
        place = (districts[visit.district], offices[visit.unit])
        old_day = new_days.get(visit_id)
        old_col = book.column(old_day) if old_day else None
        if old_col is not None:
            book.release(team, old_col, *place)
        key_row = schedule.day_keys(seed, [visit.credit_code], window)[0]
        if visit_id not in removals:
            duty = np.asarray(table.duty[team].all(axis=0), dtype=np.bool_) & open_days
            col = book.choose(team, duty, *place, key_row)
            if col is not None:
                book.book(team, col, *place)
                new_days[visit_id] = window[col]
                outcome.moved[visit_id] = (_iso(old_day), window[col].isoformat())
                continue
        removed = _to_replace(visit_id, removals, team, table, book, old_col, change)
        kept = [m for m in team if m not in removed]
        load[removed] -= 1
        found = _place_with(
            visit, kept, removed, table, load, barred, seed, book, open_days, key_row, old_col
        )
        if found is None:
            load[kept] -= 1
            del new_teams[visit_id]
            new_days.pop(visit_id, None)
            names = ", ".join(table.inspectors[m].inspector_id for m in removed) or "nobody"
            outcome.unstaffed[visit_id] = (
                f"no lawful replacement for {names} with a common duty day with room "
                f"after the {change.kind} change"
            )
            continue
        col, stayed, added = found
        gave_way = [m for m in kept if m not in stayed]
        load[gave_way] -= 1
        load[added] += 1
        removed = [*removed, *gave_way]
        placed = [*stayed, *added]
        book.book(placed, col, *place)
        ids = [table.inspectors[m].inspector_id for m in placed]
        new_teams[visit_id] = tuple(sorted(ids))
        new_days[visit_id] = window[col]
        if added:
            outcome.replaced[visit_id] = (
                tuple(sorted(table.inspectors[m].inspector_id for m in removed)),
                tuple(sorted(table.inspectors[m].inspector_id for m in added)),
            )
        if window[col] != old_day:
            outcome.moved[visit_id] = (_iso(old_day), window[col].isoformat())
    return after, dict(sorted(new_teams.items())), dict(sorted(new_days.items())), outcome


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _book_over_cap(
    book: schedule.DayBook, team: Sequence[int], col: int, district: int, office: int
) -> None:
    """Book a stored day; a stored day is never over the cap (checked by the verifier), but
    a carried-out visit's booking must not raise: it only fills what room is left."""
    room = [m for m in team if book.count[m, col] < book.cap]
    book.book(room, col, district, office)


def _off_their_day(
    after: Staffing,
    teams: Mapping[str, tuple[str, ...]],
    days: Mapping[str, date],
    change: Change,
    removals: Mapping[str, list[str]],
) -> set[str]:
    """Open visits whose day the change made unlawful: a holiday, or the member concerned
    off duty that day (and not already losing his place)."""
    carried = set(change.carried_out)
    window = set(after.month.window_days) - after.closed
    by_id = {ins.inspector_id: ins for ins in after.inspectors}
    out = set()
    for visit_id, members in teams.items():
        if visit_id in carried or visit_id in removals:
            continue
        day = days.get(visit_id)
        off_duty = change.inspector_id in members and (
            day is not None and not on_duty(by_id[change.inspector_id], day)
        )
        if day is None or day not in window or off_duty:
            out.add(visit_id)
    return out


def _to_replace(
    visit_id: str,
    removals: Mapping[str, list[str]],
    team: Sequence[int],
    table: InspectorTable,
    book: schedule.DayBook,
    old_col: int | None,
    change: Change,
) -> list[int]:
    """The members who leave: those the change made unlawful, else the member concerned
    (off duty on the day), else (a holiday) none: the team is placed on another day with
    the members who have room there (`_place_with`)."""
    if visit_id in removals:
        return [table.index[m] for m in removals[visit_id]]
    if change.inspector_id in table.index and table.index[change.inspector_id] in team:
        return [table.index[change.inspector_id]]
    return []


def _place_with(
    visit: Visit,
    kept: list[int],
    removed: list[int],
    table: InspectorTable,
    load: IntArray,
    barred: frozenset[tuple[str, str]],
    seed: str,
    book: schedule.DayBook,
    open_days: BoolArray,
    key_row: npt.NDArray[np.uint64],
    old_col: int | None,
) -> tuple[int, list[int], list[int]] | None:
    """(day column, members kept, members added): the best-ranked lawful completion of
    `kept` on a day with room, the visit's own day first, then the days by day key."""
    usable = table.lawful_on_duty() & (table.capacity > load)
    bars = [(0, table.index[i]) for i, c in barred if c == visit.credit_code and i in table.index]
    pool = candidates([visit], table, bars, usable).of(0)
    pool = pool[~np.isin(pool, [*kept, *removed])]
    ids = [ins.inspector_id for ins in table.inspectors]
    pool_keys = keys.pair_keys(seed, [visit.credit_code], ids, np.zeros(pool.size), pool)
    team_room = table.duty & (book.count < book.cap)
    cols = np.flatnonzero(open_days)
    ordered = cols[np.lexsort((cols, key_row[cols]))].tolist()
    if old_col is not None and old_col in ordered:
        ordered.remove(old_col)
        ordered.insert(0, old_col)
    for col in ordered:
        members = list(kept)
        if not removed:  # a holiday: the members without room that day give way
            members = [m for m in kept if team_room[m, col]]
        if not all(team_room[m, col] for m in members):
            continue
        need = len(kept) + len(removed) - len(members)
        ok = team_room[pool, col] & ~np.isin(pool, members)
        present = {int(table.department[m]) for m in members}
        required = sorted(
            table.departments[d] for d in visit.departments if table.departments[d] not in present
        )
        want_lead = visit.want_lead and not table.lead[members].any()
        one_day = replace(table, duty=table.duty[:, [col]])
        added = fill_places(members, pool[ok], pool_keys[ok], need, required, one_day, want_lead)
        if added is not None:
            return col, members, added
    return None


def replay_days(
    staffing: Staffing,
    teams: Mapping[str, Sequence[str]],
    days: Mapping[str, date],
    seed: str,
    changes: Sequence[Change],
    cap: int,
) -> tuple[Staffing, dict[str, tuple[str, ...]], Days, list[ChangeOutcome]]:
    """Apply `changes` in order, from the teams and days drawn on the snapshot."""
    current = {v: tuple(sorted(m)) for v, m in teams.items()}
    current_days = dict(days)
    outcomes = []
    for change in changes:
        staffing, current, current_days, outcome = apply_change_days(
            staffing, current, current_days, seed, change, cap
        )
        outcomes.append(outcome)
    return staffing, current, current_days, outcomes

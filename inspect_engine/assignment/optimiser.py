"""Random lawful teams for a month's visits (the second 随机): `assign` (ie-teams-v1; with
`max_per_day`, ie-teams-v2: the teams then get their days, `_schedule_days`).

Every random choice is a function of the team seed and stable keys (keys.py): a pair's
random cost is its keyed 60-bit value's top bits, never its position in a list. Steps:

1. eligibility (`eligibility.py`): every lawful (visit, inspector) pair; visits whose pool
   cannot form a team whatever the others do are set aside with their reason;
2. one min-cost flow over every lawful pair (`flow.py`): the optimum, unique unless two
   costs tie (probability 2^-32 per pair), so a row that removes a pair no team uses
   changes no team;
3. teams that wanted a lead and got none get one swapped in where a department allows;
4. a team whose members share no working day of the window loses, one at a time, the
   member with the fewest duty days (then the largest key), and the place is filled with
   the best-ranked lawful candidate (smallest key) who shares a day with the others;
5. visits still short are completed in the order of their keys with the best-ranked
   lawful candidates and the capacity left (the plan is then maximal);
6. every visit left without a team gets a reason (`diagnostics.py`).

Changes after the freeze are applied by `events.py`, with the same ranking.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from inspect_engine.assignment import day_search, flow, keys, schedule
from inspect_engine.assignment.diagnostics import (
    PoolState,
    explain,
    explain_missing_lead,
    explain_no_day,
)
from inspect_engine.assignment.eligibility import BoolArray, InspectorTable, IntArray, candidates
from inspect_engine.assignment.flow import StaffingProblem
from inspect_engine.assignment.keys import U64
from inspect_engine.assignment.types import (
    AssignmentResult,
    Booking,
    FairnessReport,
    Inspector,
    Month,
    Recusals,
    SolverStats,
    Unstaffed,
    Visit,
)


@dataclass
class _Work:
    """Mutable state while staffing one problem; `members` is keyed by problem row."""

    load: IntArray  # places held per inspector, all visits of the month
    members: dict[int, list[int]] = field(default_factory=dict)
    nodes: int = 0
    arcs: int = 0
    solver_pairs: int = 0
    solves: int = 0
    status: str = "NOT_RUN"
    cost: int = 0
    greedy: int = 0
    swaps: int = 0
    day_repairs: int = 0
    solve_seconds: float = 0.0
    days: dict[int, int] = field(default_factory=dict)  # row -> window-day column (v2)
    day_reasons: dict[int, str] = field(default_factory=dict)  # rows dropped by the days
    day_swaps: int = 0
    day_seconds: float = 0.0
    day_search: day_search.SearchStats | None = None
    keys: _Keys | None = None  # the keys of the last problem staffed (reused by the days)


@dataclass(frozen=True, eq=False)
class _Keys:
    """The keys of a problem's candidate pairs (aligned with problem.cands) and the rank of
    each visit (the order in which visits are completed one by one)."""

    pair: U64
    visit_rank: list[int]

    def of(self, problem: StaffingProblem, row: int) -> U64:
        return self.pair[problem.cands.ptr[row] : problem.cands.ptr[row + 1]]


def _keys(problem: StaffingProblem, table: InspectorTable, seed: str) -> _Keys:
    codes = [visit.credit_code for visit in problem.visits]
    ids = [ins.inspector_id for ins in table.inspectors]
    pair = keys.pair_keys(seed, codes, ids, problem.cands.visit, problem.cands.inspector)
    return _Keys(pair, [keys.pair_key(seed, code, "visit") for code in codes])


def _flow_pass(
    problem: StaffingProblem,
    pair_costs: IntArray,
    rows: IntArray,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
) -> None:
    """Solve `problem` (its row k is row rows[k] of the whole) and keep its full teams."""
    outcome = flow.solve(problem, pair_costs, table, capacity, work.load)
    work.nodes, work.arcs, work.solver_pairs = outcome.nodes, outcome.arcs, problem.cands.arcs
    work.solves += 1
    work.status, work.cost = outcome.status, work.cost + outcome.cost
    work.solve_seconds += outcome.seconds

    arc_visit = problem.cands.visit[outcome.chosen]
    arc_insp = problem.cands.inspector[outcome.chosen]
    full = np.bincount(arc_visit, minlength=len(problem.visits)) == problem.places
    keep = full[arc_visit]
    np.add.at(work.load, arc_insp[keep], 1)
    order = np.argsort(arc_visit[keep], kind="stable")
    visit_sorted, insp_sorted = arc_visit[keep][order], arc_insp[keep][order]
    full_rows = np.flatnonzero(full)
    starts = np.searchsorted(visit_sorted, full_rows)
    ends = np.searchsorted(visit_sorted, full_rows, side="right")
    for row, lo, hi in zip(full_rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
        work.members[int(rows[row])] = insp_sorted[lo:hi].tolist()


def fill_places(
    team: Sequence[int],
    pool: IntArray,
    pool_keys: U64,
    places: int,
    required: Sequence[int],
    table: InspectorTable,
    want_lead: bool = False,
) -> list[int] | None:
    """The best-ranked lawful way to add `places` members to `team`, or None.

    `pool` holds the lawful candidates with capacity left (not on the team). Candidates are
    taken by rank (smallest key, then inspector id): a wanted lead first, then one member
    for each department in `required` (in code order), then anyone; each must share a
    working day with the members chosen so far. If that fails, the same ranked fill is
    tried on each working day of the window in calendar order, among the candidates on
    duty that day, so that a team is found whenever one exists. Nothing else decides: no
    position, count or clock."""
    order = np.lexsort((pool, pool_keys))
    ranked = [int(i) for i in pool[order]]
    chosen = _ranked_fill(team, ranked, places, required, table, want_lead)
    if chosen is not None:
        return chosen
    for day in range(table.duty.shape[1]):
        if team and not table.duty[list(team), day].all():
            continue
        on_day = [c for c in ranked if table.duty[c, day]]
        chosen = _ranked_fill(team, on_day, places, required, table, want_lead)
        if chosen is not None:
            return chosen
    return None


def _ranked_fill(
    team: Sequence[int],
    ranked: list[int],
    places: int,
    required: Sequence[int],
    table: InspectorTable,
    want_lead: bool,
) -> list[int] | None:
    chosen: list[int] = []

    def fits(candidate: int) -> bool:
        return candidate not in chosen and table.share_a_day([*team, *chosen, candidate])

    if want_lead and not table.lead[list(team)].any():
        for candidate in ranked:
            still = [d for d in required if d != table.department[candidate]]
            if table.lead[candidate] and places - 1 >= len(still) and fits(candidate):
                chosen.append(candidate)
                break
    for dept in required:
        if any(table.department[m] == dept for m in chosen):
            continue
        pick = next((c for c in ranked if table.department[c] == dept and fits(c)), None)
        if pick is None:
            return None
        chosen.append(pick)
    for candidate in ranked:
        if len(chosen) >= places:
            break
        if fits(candidate):
            chosen.append(candidate)
    return chosen if len(chosen) == places else None


def _open_pool(
    problem: StaffingProblem,
    row: int,
    k: _Keys,
    capacity: IntArray,
    load: IntArray,
    exclude: Collection[int] = (),
) -> tuple[IntArray, U64]:
    cands, cand_keys = problem.cands.of(row), k.of(problem, row)
    ok = (capacity[cands] > load[cands]) & ~np.isin(cands, list(exclude))
    return cands[ok], cand_keys[ok]


def _required(
    problem: StaffingProblem, row: int, team: Sequence[int], table: InspectorTable
) -> list[int]:
    """Departments of the visit still without a member on `team`."""
    present = {int(table.department[m]) for m in team}
    return [int(d) for d in np.flatnonzero(problem.required[row]) if int(d) not in present]


def _complete_greedily(
    problem: StaffingProblem,
    rows: IntArray,
    k: _Keys,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
) -> None:
    """Staff the `rows` still open one by one, in the order of their keys, with the
    best-ranked lawful candidates and the capacity left. Afterwards no unstaffed visit
    could be staffed this way: the plan is maximal (not maximum)."""
    open_rows = [r for r in rows.tolist() if r not in work.members]
    for row in sorted(open_rows, key=lambda r: (k.visit_rank[r], r)):
        pool, pool_keys = _open_pool(problem, row, k, capacity, work.load)
        team = fill_places(
            [], pool, pool_keys, int(problem.places[row]), _required(problem, row, [], table),
            table, bool(problem.want_lead[row]),
        )  # fmt: skip
        if team is not None:
            work.members[row] = team
            np.add.at(work.load, np.array(team, dtype=np.int64), 1)
            work.greedy += 1


def _repair_leads(
    problem: StaffingProblem, k: _Keys, table: InspectorTable, capacity: IntArray, work: _Work
) -> None:
    """Swap a lead in where the flow could not place one: the best-ranked lead with room
    replaces the worst-ranked member whose department keeps another member (or is the
    lead's), provided the team still shares a working day."""
    rows = [r for r in work.members if problem.want_lead[r]]
    for row in sorted(rows, key=lambda r: (k.visit_rank[r], r)):
        team = work.members[row]
        if table.lead[team].any():
            continue
        cands, cand_keys = problem.cands.of(row), k.of(problem, row)
        key_of = dict(zip(cands.tolist(), cand_keys.tolist(), strict=True))
        pool, pool_keys = _open_pool(problem, row, k, capacity, work.load, team)
        leads = [int(i) for i in pool[np.lexsort((pool, pool_keys))] if table.lead[i]]
        if _swap_in_lead(team, leads, key_of, table, work):
            work.swaps += 1


def _swap_in_lead(
    team: list[int], leads: list[int], key_of: dict[int, int], table: InspectorTable, work: _Work
) -> bool:
    for lead in leads:
        for member in sorted(team, key=lambda m: (-key_of[m], m)):
            dept = table.department[member]
            if dept != table.department[lead] and (table.department[team] == dept).sum() < 2:
                continue  # the member is his department's only one on the team
            trial = [lead if m == member else m for m in team]
            if not table.share_a_day(trial):
                continue
            team[team.index(member)] = lead
            work.load[member] -= 1
            work.load[lead] += 1
            return True
    return False


def _repair_days(
    problem: StaffingProblem, k: _Keys, table: InspectorTable, capacity: IntArray, work: _Work
) -> None:
    """Teams whose members share no working day: drop the member with the fewest duty days
    (then the largest key) until the rest share one, and fill the places by rank. A team
    that cannot be completed this way is dropped whole (its visit stays unstaffed)."""
    duty = table.duty.sum(axis=1)
    for row in sorted(work.members, key=lambda r: (k.visit_rank[r], r)):
        team = work.members[row]
        if table.share_a_day(team):
            continue
        cands, cand_keys = problem.cands.of(row), k.of(problem, row)
        key_of = dict(zip(cands.tolist(), cand_keys.tolist(), strict=True))
        kept, dropped = list(team), []
        while kept and not table.share_a_day(kept):
            victim = max(kept, key=lambda m: (-int(duty[m]), key_of[m], m))
            kept.remove(victim)
            dropped.append(victim)
        work.load[dropped] -= 1
        pool, pool_keys = _open_pool(problem, row, k, capacity, work.load, [*kept, *dropped])
        added = fill_places(
            kept, pool, pool_keys, len(dropped), _required(problem, row, kept, table), table,
            bool(problem.want_lead[row]),
        )  # fmt: skip
        work.day_repairs += 1
        if added is None:
            work.load[kept] -= 1
            del work.members[row]
            continue
        np.add.at(work.load, np.array(added, dtype=np.int64), 1)
        work.members[row] = [*kept, *added]


def _staff(
    problem: StaffingProblem, seed: str, table: InspectorTable, capacity: IntArray, work: _Work
) -> list[int]:
    """Fill every place it lawfully can; returns the rows that still lack a wanted lead."""
    k = work.keys = _keys(problem, table, seed)
    feasible = problem.feasible(table)
    rows = np.flatnonzero(feasible)
    if not rows.size:
        return []
    part = problem if feasible.all() else problem.subset(feasible)
    part_costs = keys.cost_of(k.pair[np.repeat(feasible, np.diff(problem.cands.ptr))])
    _flow_pass(part, part_costs, rows, table, capacity, work)
    # Swaps move load from one inspector to another, so they come before the greedy
    # completion, which must see the final capacity left for the plan to be maximal.
    _repair_leads(problem, k, table, capacity, work)
    _repair_days(problem, k, table, capacity, work)
    _complete_greedily(problem, rows, k, table, capacity, work)
    return [
        row
        for row, team in sorted(work.members.items())
        if problem.want_lead[row] and not table.lead[team].any()
    ]


def _barred_index(
    visits: Sequence[Visit], table: InspectorTable, pairs: Collection[tuple[str, str]]
) -> dict[int, list[int]]:
    """Recusal pairs as visit position -> inspector indices."""
    by_credit: dict[str, list[int]] = defaultdict(list)
    for pos, visit in enumerate(visits):
        by_credit[visit.credit_code].append(pos)
    barred: dict[int, list[int]] = defaultdict(list)
    for inspector_id, credit_code in pairs:
        inspector = table.index.get(inspector_id)
        if inspector is None:
            continue
        for pos in by_credit.get(credit_code, ()):
            barred[pos].append(inspector)
    return barred


def _problem(
    visits: Sequence[Visit],
    table: InspectorTable,
    places: IntArray,
    covered: Sequence[Collection[str]],
    want_lead: BoolArray,
    barred: Mapping[int, Sequence[int]],
    usable: BoolArray,
    positions: IntArray,
) -> StaffingProblem:
    n_dept = len(table.departments)
    participating = np.zeros((len(visits), n_dept), dtype=np.bool_)
    required = np.zeros_like(participating)
    for pos, visit in enumerate(visits):
        for dept in visit.departments:
            participating[pos, table.departments[dept]] = True
            required[pos, table.departments[dept]] = dept not in covered[pos]
    pairs = [(pos, i) for pos, members in barred.items() for i in members]
    return StaffingProblem(
        visits=tuple(visits),
        positions=positions,
        places=places,
        required=required,
        participating=participating,
        want_lead=want_lead,
        cands=candidates(visits, table, pairs, usable),
    )


def _spread(values: npt.NDArray[np.floating[Any]] | IntArray) -> tuple[float, float, float]:
    """(min, median, max), zeros for an empty array."""
    if values.size == 0:
        return 0.0, 0.0, 0.0
    return float(values.min()), float(np.median(values)), float(values.max())


def _fairness(
    table: InspectorTable, capacity: IntArray, load: IntArray, problem: StaffingProblem, work: _Work
) -> FairnessReport:
    """Loads over inspectors with capacity; share of eligible inspectors used by `problem`."""
    available = capacity > 0
    loads, caps = load[available], capacity[available]
    staffed = np.zeros(len(problem.visits), dtype=np.bool_)
    staffed[list(work.members)] = True
    eligible = np.zeros(table.size, dtype=np.bool_)
    eligible[problem.cands.inspector[np.repeat(staffed, np.diff(problem.cands.ptr))]] = True
    used = np.zeros(table.size, dtype=np.bool_)
    for team in work.members.values():
        used[team] = True
    n_eligible, n_used = int(eligible.sum()), int(used.sum())
    load_min, load_median, load_max = _spread(loads)
    cap_min, cap_median, cap_max = _spread(caps)
    util_min, util_median, util_max = _spread(loads / np.maximum(caps, 1))
    return FairnessReport(
        inspectors_available=int(available.sum()),
        places=int(load.sum()),
        load_min=int(load_min),
        load_median=load_median,
        load_max=int(load_max),
        capacity_min=int(cap_min),
        capacity_median=cap_median,
        capacity_max=int(cap_max),
        utilisation_min=util_min,
        utilisation_median=util_median,
        utilisation_max=util_max,
        eligible_inspectors=n_eligible,
        inspectors_used=n_used,
        share_used=n_used / n_eligible if n_eligible else 0.0,
    )


@dataclass(frozen=True, eq=False)
class _Context:
    visits: tuple[Visit, ...]
    table: InspectorTable
    month: Month
    recusals: Recusals
    barred: dict[int, list[int]]
    seed: str


def _context(
    visits: Sequence[Visit],
    inspectors: Sequence[Inspector],
    month: Month,
    recusals: Recusals,
    seed: str,
) -> _Context:
    ordered = tuple(sorted(visits, key=lambda v: v.visit_id))
    if len({v.visit_id for v in ordered}) != len(ordered):
        raise ValueError("a visit_id appears twice")
    departments = {d for v in ordered for d in v.departments}
    table = InspectorTable.build(inspectors, month, extra_departments=departments)
    barred = _barred_index(ordered, table, recusals.barred_pairs(month))
    return _Context(ordered, table, month, recusals, barred, seed)


def _reasons(
    ctx: _Context,
    problem: StaffingProblem,
    work: _Work,
    excluded: Mapping[int, Sequence[int]],
    start_load: IntArray,
    prefix: str = "",
) -> tuple[Unstaffed, ...]:
    """A reason for every visit of the problem left without a team.

    A visit that no rule-abiding team could staff even before any place was given is
    explained with the capacity at the start (the root cause is then a rule or the team
    size, not the other visits); any other one with the capacity left at the end.
    """
    capacity = ctx.table.capacity
    if len(work.members) == len(problem.visits):
        return ()
    hopeless = ~problem.feasible(ctx.table)
    out = []
    departments = {code: name for name, code in ctx.table.departments.items()}
    for row, visit in enumerate(problem.visits):
        if row in work.members:
            continue
        pos = int(problem.positions[row])
        recused = np.zeros(ctx.table.size, dtype=np.bool_)
        recused[ctx.barred.get(pos, [])] = True
        skip = np.zeros(ctx.table.size, dtype=np.bool_)
        skip[list(excluded.get(row, ()))] = True
        left = capacity - (start_load if hopeless[row] else work.load)
        if row in work.day_reasons:
            out.append(Unstaffed(visit.visit_id, prefix + work.day_reasons[row]))
            continue
        pool = PoolState(recused, left, skip, ctx.recusals.window_days)
        required = [departments[int(d)] for d in np.flatnonzero(problem.required[row])]
        reason = explain(visit, int(problem.places[row]), required, ctx.table, ctx.month, pool)
        out.append(Unstaffed(visit.visit_id, prefix + reason))
    return tuple(out)


def _result(
    ctx: _Context,
    label: str,
    teams: dict[str, tuple[str, ...]],
    problem: StaffingProblem,
    work: _Work,
    unstaffed: tuple[Unstaffed, ...],
    missing_lead: Sequence[int],
    seconds: tuple[float, float],
) -> AssignmentResult:
    """Package the outcome; `seconds` = (eligibility, start of extraction)."""
    capacity = ctx.table.capacity
    lead_missing = tuple(
        Unstaffed(
            problem.visits[row].visit_id,
            explain_missing_lead(problem.cands.of(row), capacity - work.load, ctx.table),
        )
        for row in sorted(missing_lead)
    )
    fairness = _fairness(ctx.table, capacity, work.load, problem, work)
    loads = {
        ins.inspector_id: int(n)
        for ins, n in zip(ctx.table.inspectors, work.load, strict=True)
        if n > 0
    }
    stats = SolverStats(
        status=work.status,
        nodes=work.nodes,
        arcs=work.arcs,
        eligible_pairs=problem.cands.arcs,
        solver_pairs=work.solver_pairs,
        solves=work.solves,
        optimal_cost=work.cost,
        greedy_completions=work.greedy,
        lead_swaps=work.swaps,
        eligibility_seconds=seconds[0],
        solve_seconds=work.solve_seconds,
        extraction_seconds=time.perf_counter() - seconds[1],
    )
    return AssignmentResult(
        seed=ctx.seed,
        label=label,
        teams=dict(sorted(teams.items())),
        unstaffed=unstaffed,
        lead_missing=lead_missing,
        fairness=fairness,
        stats=stats,
        loads=loads,
    )


def assign(
    visits: Sequence[Visit],
    inspectors: Sequence[Inspector],
    month: Month,
    seed: str,
    recusals: Recusals | None = None,
    held: Mapping[str, int] | None = None,
    max_per_day: int | None = None,
    booked: Sequence[Booking] = (),
) -> AssignmentResult:
    """Draw a lawful random team for every visit of the month that can have one.

    `seed` is the team seed (`keys.team_seed`). Same visits, inspectors, month, recusals
    and seed give the same teams, whatever the order of the input sequences. Visits that
    cannot be fully staffed are left out of `teams` and listed in `unstaffed` with the rule
    that emptied their pool. `held`: places the inspectors already hold this month (the
    visits carried over from last month, `carryover.py`), taken from their capacity first.

    With `max_per_day` (ie-teams-v2) every team also gets a day (`result.days`): see
    `_schedule_days`; without it the teams are those of ie-teams-v1 and have no day.
    `booked`: days the carried visits already hold, booked before the month's own.
    """
    started = time.perf_counter()
    ctx = _context(visits, inspectors, month, recusals or Recusals(), seed)
    table, capacity = ctx.table, ctx.table.capacity
    problem = _problem(
        ctx.visits,
        table,
        places=np.array([v.team_size for v in ctx.visits], dtype=np.int64),
        covered=[()] * len(ctx.visits),
        want_lead=np.array([v.want_lead for v in ctx.visits], dtype=np.bool_),
        barred=ctx.barred,
        usable=table.lawful_on_duty() & (capacity > 0),
        positions=np.arange(len(ctx.visits), dtype=np.int64),
    )
    eligibility_done = time.perf_counter()
    start = np.zeros(table.size, dtype=np.int64)
    for inspector_id, places in (held or {}).items():
        start[table.index[inspector_id]] += places
    work = _Work(load=start.copy())
    missing_lead = _staff(problem, seed, table, capacity, work)
    if max_per_day is not None:
        _schedule_days(problem, seed, table, capacity, work, max_per_day, month.window_days, booked)
        missing_lead = [r for r in missing_lead if r in work.members]
    extracting = time.perf_counter()
    ids = [ins.inspector_id for ins in table.inspectors]
    teams = {
        problem.visits[row].visit_id: tuple(sorted(ids[i] for i in team))
        for row, team in work.members.items()
    }
    unstaffed = _reasons(ctx, problem, work, {}, start)
    result = _result(
        ctx, "assign", teams, problem, work, unstaffed, missing_lead,
        (eligibility_done - started, extracting),
    )  # fmt: skip
    if max_per_day is None:
        return result
    window = month.window_days
    days = {problem.visits[row].visit_id: window[col] for row, col in work.days.items()}
    searched = work.day_search or day_search.SearchStats()
    return replace(result, days=dict(sorted(days.items())), day_swaps=work.day_swaps,
                   day_seconds=work.day_seconds, day_search_seconds=searched.seconds,
                   day_moves=searched.moved,
                   day_district_pairs=searched.district_pairs,
                   day_unproved=searched.not_optimal)  # fmt: skip


def _schedule_days(
    problem: StaffingProblem,
    seed: str,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    cap: int,
    window: Sequence[date],
    booked: Sequence[Booking] = (),
) -> None:
    """Give every team a day (ie-teams-v2, schedule.py), in the order of the visits' keys.

    A team with no common duty day with room keeps the members who have room on a day and
    its other places are filled by keyed rank (`fill_places`) among the candidates on duty
    with room that day and capacity left; the days are tried by fewest members replaced,
    then day key. A team no day can take is dropped and its visit explained. The days
    are then improved by the CP-SAT stage (`day_search.py`), which moves days only."""
    started = time.perf_counter()
    k = work.keys or _keys(problem, table, seed)
    book = schedule.DayBook.empty(table.size, window, cap)
    districts = schedule.codes([v.district for v in problem.visits] + [b.district for b in booked])
    offices = schedule.codes([v.unit for v in problem.visits] + [b.unit for b in booked])
    for b in booked:  # the carried visits' days come first (carryover.py)
        members = [table.index[m] for m in b.members]
        book.book(members, window.index(b.day), districts[b.district], offices[b.unit])
    rows = sorted(work.members, key=lambda r: (k.visit_rank[r], r))
    codes = [problem.visits[r].credit_code for r in rows]
    day_keys = schedule.day_keys(seed, codes, window)
    for pos, row in enumerate(rows):
        visit, team = problem.visits[row], work.members[row]
        place = (districts[visit.district], offices[visit.unit])
        duty = np.asarray(table.duty[team].all(axis=0), dtype=np.bool_)
        col = book.choose(team, duty, *place, day_keys[pos])
        if col is None:
            col = _swap_for_a_day(problem, row, k, table, capacity, work, book, day_keys[pos])
        if col is None:
            work.load[team] -= 1
            del work.members[row]
            work.day_reasons[row] = _no_day_reason(team, table, book)
            continue
        book.book(work.members[row], col, *place)
        work.days[row] = col
    key_of = {row: day_keys[pos] for pos, row in enumerate(rows)}
    pinned = [
        ([table.index[m] for m in b.members], window.index(b.day), districts[b.district],
         offices[b.unit])
        for b in booked
    ]  # fmt: skip
    _search_days(problem, seed, table, work, cap, key_of, districts, offices, pinned)
    work.day_seconds = time.perf_counter() - started


def _search_days(
    problem: StaffingProblem,
    seed: str,
    table: InspectorTable,
    work: _Work,
    cap: int,
    key_of: dict[int, npt.NDArray[np.uint64]],
    districts: dict[str, int],
    offices: dict[str, int],
    pinned: Sequence[tuple[list[int], int, int, int]] = (),
) -> None:
    """Improve the greedy's days by CP-SAT, one inspector's visits at a time (§3a step 4).
    `pinned`: the carried visits' bookings (members, day column, district, office), which
    hold their room and their districts and never move."""
    staffed = sorted(work.days)
    # pinned bookings get rows below zero: the problem's rows are 0..n-1
    fixed_rows = {-1 - k: booking for k, booking in enumerate(pinned)}
    cal = day_search.Calendar(
        members={**work.members, **{r: b[0] for r, b in fixed_rows.items()}},
        days={**work.days, **{r: b[1] for r, b in fixed_rows.items()}},
        district={
            **{r: districts[problem.visits[r].district] for r in staffed},
            **{r: b[2] for r, b in fixed_rows.items()},
        },
        office={
            **{r: offices[problem.visits[r].unit] for r in staffed},
            **{r: b[3] for r, b in fixed_rows.items()},
        },
        pinned=frozenset(fixed_rows),
    )
    order = day_search.inspector_order(seed, [i.inspector_id for i in table.inspectors])
    work.day_search = day_search.improve(cal, table.duty, key_of, cap, order, seed)
    work.days.update({r: c for r, c in cal.days.items() if r >= 0})  # own visits' moves


def _swap_for_a_day(
    problem: StaffingProblem,
    row: int,
    k: _Keys,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    book: schedule.DayBook,
    key_row: npt.NDArray[np.uint64],
) -> int | None:
    """Replace the members without room by keyed rank on the day that keeps the most;
    returns the day's column (the team is changed in `work`), or None."""
    team = work.members[row]
    free = table.duty[team] & (book.count[team] < book.cap)
    kept_per_day = free.sum(axis=0)
    cols = np.arange(kept_per_day.size)
    for col in cols[np.lexsort((cols, key_row[cols], -kept_per_day[cols]))].tolist():
        kept = [m for m in team if free[team.index(m), col]]
        dropped = [m for m in team if m not in kept]
        work.load[dropped] -= 1
        cands, cand_keys = problem.cands.of(row), k.of(problem, row)
        ok = (
            (capacity[cands] > work.load[cands])
            & table.duty[cands, col]
            & (book.count[cands, col] < book.cap)
            & ~np.isin(cands, team)
        )
        one_day = replace(table, duty=table.duty[:, [col]])
        added = fill_places(
            kept, cands[ok], cand_keys[ok], len(dropped), _required(problem, row, kept, table),
            one_day, bool(problem.want_lead[row]),
        )  # fmt: skip
        if added is None:
            work.load[dropped] += 1
            continue
        work.load[added] += 1
        work.members[row] = [*kept, *added]
        work.day_swaps += 1
        return int(col)
    return None


def _no_day_reason(team: Sequence[int], table: InspectorTable, book: schedule.DayBook) -> str:
    ids = sorted(table.inspectors[m].inspector_id for m in team)
    shared = int(table.duty[list(team)].all(axis=0).sum())
    return explain_no_day(ids, shared, book.cap)

"""The closed-loop experiment: does the engine's design beat the alternatives?

    report = run_experiment(12, 2026, Path("docs/experiment"), scale="small")

generates a synthetic city (`simulations.city`) with its hidden truth and runs four copies
of it (worlds) month by month, one per sampling strategy, at the same monthly budget of
visits (see `experiment_design`): (1) uniform random sampling, (2) the engine's
risk-weighted πps with floor, (3) top-k targeting by model score, (4) the engine with one
seed per task. Each month, in each world:

1. the risk model is retrained on the world's history (the city's three years plus the
   world's own results so far) and classes every active enterprise;
2. the month's tasks get their frames (the engine's `build_frame`: scope, filters,
   exclusions), sized to the budget, and are drawn with ie-draw-v1 (`select_frames`; the
   seed is derived from a nonce, a contribution and the group hash as in production);
3. selections merge into visits (`merge_into_visits`); 3% of the drawn enterprises are not
   visited in the month (non-response, chosen at random) and are carried over: visited at
   the start of the next month, their results go into the history but into no estimate;
4. each visit gets a random team of two valid inspectors and its results are drawn with
   the truth's own rules (`simulations.truth.draw_results`) from the world's current p;
5. results go into the history with their inclusion probability (the plan's π under the
   random designs, 1 for top-k), with the complaints, penalty cases and listings that
   follow (`experiment_city.World`); then time advances a month.

Judged against the truth each month: problems found per visit; the share of the city's
problem enterprises visited; selections per visit (coordination); visits to class-A and to
truly low-risk enterprises; the population estimate (the Horvitz–Thompson share of the
plan's enterprises where a visit finds a problem, `sampling.population`, with the non-
response adjustment by risk class) against the true rate of the same quantity, its error
and whether its 95% interval covers; the naive estimate (unweighted share of visits with a
problem), the only one top-k has; the model's AUC against the truth (drift). The first
month is also redrawn `replicates` times (new seeds and results, the world as it was) to
measure the intervals' coverage precisely, and (1), (2) and (3) run once more without the
recent-inspection window and the yearly cap, to show what those exclusions cost.

Everything random flows from `np.random.SeedSequence(seed)`; the same seed gives the same
report (timings aside).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from inspect_engine.publication import result_codes
from inspect_engine.risk.pipeline import TrainingConfig, score_enterprises, train_risk_model
from inspect_engine.sampling import protocol
from inspect_engine.sampling.frames import EnterpriseColumns, ExclusionPolicy, Frame, TaskSpec
from inspect_engine.sampling.population import (
    DomainSizes,
    MonthResults,
    PopulationEstimates,
    estimate_population,
    plan_inclusion,
)
from inspect_engine.sampling.visits import Visit, count_visits, merge_into_visits, select_frames
from simulations import catalogue as cat
from simulations.city import generate_city
from simulations.experiment_city import (
    ABNORMAL,
    DEPARTMENTS,
    City,
    World,
    day_of,
    load_city,
    month_starts,
)
from simulations.experiment_design import (
    STRATEGIES,
    Plan,
    VisitTruth,
    base_frames,
    expected_findings,
    item_cover,
    scaled_tasks,
    top_k,
)
from simulations.experiment_metrics import (
    LEVEL,
    DomainRow,
    ExperimentReport,
    MonthMetrics,
    ReplicateCoverage,
    done_when,
    naive_estimate,
    replicate_coverage,
    summarise,
    visit_auc,
    weighted_auc,
)
from simulations.truth import RESULT_CODES, draw_results

__all__ = [
    "DEFAULT_REPLICATES",
    "NON_RESPONSE",
    "ExperimentReport",
    "MonthMetrics",
    "design_budget",
    "run_experiment",
]

Progress = Callable[[str, int, int], None]

DEFAULT_REPLICATES = 500
# The sensitivity run: no recent-inspection window, no yearly cap (grace period kept).
SENSITIVITY_POLICY = ExclusionPolicy(recent_window_days=0, yearly_cap=None)
SENSITIVE = ("uniform", "engine", "topk")
NON_RESPONSE = 0.03  # share of drawn enterprises not visited within the month
TEAM_SIZE = 2  # inspectors whose mean strictness records a visit's results
STRICTNESS_NODES = 32  # team strictness values the truth averages over
LOW_RISK_SHARE = 0.65  # "truly low risk": the lowest 65% of p, the size of class A
# simulations.truth codes → the engine's result-code encoding (same names)
TO_ENGINE = result_codes.encode(RESULT_CODES)


# --------------------------------------------------------------------------- entry point


def design_budget(entities: int) -> int:
    """The engine's design load (20,000 visits a month for Guangzhou) scaled to the city."""
    return max(1, round(cat.GZ_VISITS_PER_MONTH * entities / cat.GZ_ENTITIES))


def run_experiment(
    months: int,
    seed: int,
    out_dir: Path,
    *,
    scale: str = "small",
    progress: Progress | None = None,
    budget: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    sensitivity: bool = True,
    city_dir: Path | None = None,
    write: bool = True,
) -> ExperimentReport:
    """Run the experiment and write report.md with its charts into `out_dir`.

    `budget` is the visits per month (default: the design load for the city's size);
    `replicates` redraws of the first month measure interval coverage (0: skip);
    `sensitivity` runs (1), (2) and (3) once more without the recent-inspection window and
    the yearly cap, to show what those exclusions cost the targeting; the city is generated with
    `seed` into a temporary directory unless `city_dir` holds one already.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    started = time.perf_counter()
    step = progress or (lambda stage, done, total: None)
    with tempfile.TemporaryDirectory(prefix="ie-experiment-") as tmp:
        where = city_dir if city_dir is not None else Path(tmp) / "city"
        if city_dir is None or not (city_dir / "truth.json").exists():
            step("city", 0, 1)
            generate_city(scale, seed, where)
        step("city", 1, 1)
        city = load_city(where)
        budget = budget or design_budget(len(city))
        report = _Loop(city, months, seed, budget, replicates, step).run(scale, started)
        if sensitivity:
            loose = _Loop(city, months, seed, budget, 0, step, SENSITIVITY_POLICY, SENSITIVE)
            rows = loose.run(scale, started).rows
            report = replace(report, sensitivity=rows, seconds=time.perf_counter() - started)
    if not write:
        return report
    from simulations.experiment_report import write_report

    step("report", 0, 1)
    files = write_report(report, out_dir)
    step("report", 1, 1)
    return replace(report, files=files)


# --------------------------------------------------------------------------- the loop


@dataclass
class _Pending:
    """Visits of a month not done in it: done at the start of the next."""

    visits: list[Visit]
    pi: NDArray[np.float64]


@dataclass(frozen=True)
class _Design:
    """One strategy's drawn month."""

    tasks: Mapping[str, TaskSpec]
    frames: Mapping[str, Frame]
    plan: Plan
    selections: dict[str, tuple[str, ...]]
    visits: list[Visit]
    pi: NDArray[np.float64]  # per visit
    scale: float
    seed_hex: str
    coordinated: bool


@dataclass(frozen=True)
class _Model:
    raw: NDArray[np.float64]  # per directory row (−inf for inactive rows)
    letters: NDArray[np.str_]  # '' for inactive rows


class _Loop:
    """The worlds of the given strategies, run month by month under one exclusion policy."""

    def __init__(
        self,
        city: City,
        months: int,
        seed: int,
        budget: int,
        replicates: int,
        step: Progress,
        policy: ExclusionPolicy | None = None,
        strategies: tuple[str, ...] = STRATEGIES,
    ) -> None:
        self.city, self.months, self.seed, self.budget = city, months, seed, budget
        self.replicates, self.step = replicates, step
        self.policy = policy or ExclusionPolicy()
        self.strategies = strategies
        self.stage = "months" if policy is None else "sensitivity"
        self.training = TrainingConfig(candidates=("scorecard",))
        # one stream per strategy whichever strategies run, so a world's draws never depend
        # on which other worlds run beside it
        children = np.random.SeedSequence(seed).spawn(2 + len(STRATEGIES))
        self.nonce_rng = np.random.default_rng(children[0])
        self.replicate_rng = np.random.default_rng(children[1])
        self.world_rng = {
            s: np.random.default_rng(children[2 + STRATEGIES.index(s)]) for s in strategies
        }
        self.worlds = {s: World(city) for s in strategies}
        self.pending: dict[str, _Pending | None] = dict.fromkeys(strategies)
        self.month_firsts = month_starts(city.as_of + timedelta(days=1), months)

    def run(self, scale: str, started: float) -> ExperimentReport:
        rows: list[MonthMetrics] = []
        coverage: list[ReplicateCoverage] = []
        domains: tuple[DomainRow, ...] = ()
        total = self.months * len(self.strategies)
        for k in range(self.months):
            first, nxt = self.month_firsts[k], self.month_firsts[k + 1]
            nonce = self.nonce_rng.bytes(32).hex()
            nodes = self._strictness_nodes(nxt - timedelta(days=1))
            for i, strategy in enumerate(self.strategies):
                metrics, context = self._month(strategy, first, nxt, nonce, nodes)
                rows.append(metrics)
                if k == 0 and self.replicates:
                    coverage += self._replicate(strategy, context)
                if k == self.months - 1 and strategy == "engine":
                    domains = context.domains
                self.step(self.stage, k * len(self.strategies) + i + 1, total)
        summary = tuple(summarise(s, rows) for s in self.strategies)
        return ExperimentReport(
            months=self.months,
            seed=self.seed,
            scale=scale,
            entities=len(self.city),
            budget=self.budget,
            as_of=self.city.as_of,
            rows=tuple(rows),
            summary=summary,
            replicates=tuple(coverage),
            domains=domains,
            done_when=done_when(summary),
            seconds=time.perf_counter() - started,
        )

    # ----- one month of one world
    def _month(
        self, strategy: str, first: date, nxt: date, nonce: str, nodes: NDArray[np.float64]
    ) -> tuple[MonthMetrics, _Context]:
        city, world, rng = self.city, self.worlds[strategy], self.world_rng[strategy]
        f_day, l_day = day_of(first), day_of(nxt) - 1
        logit = world.logit(f_day)
        p = 1.0 / (1.0 + np.exp(-logit))
        model = self._model(world, first)
        carried_in = self._carry_over(strategy, world, rng, f_day, p, nxt)
        substantiated = world.complaints_of_month(rng, f_day, l_day, logit)
        columns = city.columns(model.letters, world.inspection_history(first))
        frames0 = base_frames(columns, self._tasks(first), self.policy, first)
        design = self._design(strategy, columns, frames0, model, first, nonce)
        missing = rng.random(len(design.visits)) < NON_RESPONSE
        done = [v for v, m in zip(design.visits, missing, strict=True) if not m]
        found, observed, rows = self._visit(world, rng, done, design.pi[~missing], p, f_day, l_day)
        self.pending[strategy] = _Pending(
            [v for v, m in zip(design.visits, missing, strict=True) if m], design.pi[missing]
        )
        world.background_penalties(rng, f_day, l_day, p, substantiated)
        truth = self._truth(strategy, columns, frames0, design, p, nodes, first)
        context = _Context(design, truth, p, model, columns, missing, found, observed, rows)
        expected = self._expected_per_visit(context, nodes)
        metrics = self._metrics(strategy, first, context, carried_in, expected)
        return metrics, context

    def _tasks(self, first: date) -> dict[str, TaskSpec]:
        """The city's tasks (written for the month after as_of) renamed for this month."""
        month = f"{first:%Y-%m}"
        out = {}
        for task in self.city.tasks.values():
            code = month + task.task_code[len(self.city.as_of_month) :]
            out[code] = replace(task, task_code=code)
        return out

    def _model(self, world: World, first: date) -> _Model:
        city = self.city
        history = world.history()
        as_of = np.datetime64(first, "D")
        trained = train_risk_model(city.table, history, as_of, self.training, self.seed)
        active = np.flatnonzero(city.active)
        scores = score_enterprises(trained.artifact, city.table, history, as_of, rows=active)
        raw = np.full(len(city), -np.inf)
        raw[scores.enterprise] = scores.raw_score
        letters = np.full(len(city), "", dtype="<U1")
        letters[scores.enterprise] = scores.class_letters()
        return _Model(raw, letters)

    def _design(
        self,
        strategy: str,
        columns: EnterpriseColumns,
        frames0: Mapping[str, Frame],
        model: _Model,
        first: date,
        nonce: str,
    ) -> _Design:
        city = self.city
        plan0 = Plan.of(frames0)
        base = self._tasks(first)
        if strategy == "topk":
            selections, scale = top_k(plan0, base, model.raw, self.budget)
            visits = merge_into_visits(selections, base, columns)
            pi = np.ones(len(visits))
            return _Design(base, frames0, plan0, selections, visits, pi, scale, "", True)
        coordinated = strategy != "independent"
        tasks, scale = scaled_tasks(
            plan0, base, self.budget, uniform=strategy == "uniform", coordinated=coordinated
        )
        frames = base_frames(columns, tasks, self.policy, first)
        seed_hex = _draw_seed(frames, nonce, self.seed, first)
        selections = select_frames(frames, seed_hex, independent=not coordinated)
        visits = merge_into_visits(selections, tasks, columns)
        plan = Plan.of(frames)
        pi = _visit_pi(plan, visits, city.codes, coordinated)
        return _Design(tasks, frames, plan, selections, visits, pi, scale, seed_hex, coordinated)

    def _visit(
        self,
        world: World,
        rng: np.random.Generator,
        visits: Sequence[Visit],
        pi: NDArray[np.float64],
        p: NDArray[np.float64],
        first_day: int,
        last_day: int,
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int64]]:
        """Draw the visits' results and record them in the world with what follows from
        them; (found, observed, directory row) per visit."""
        city = self.city
        drawn = self._results(rng, visits, p, last_day)
        if not visits:
            return drawn.found, drawn.observed, drawn.ent
        weekdays = _weekdays(first_day, last_day)
        day = weekdays[rng.integers(0, weekdays.size, len(visits))][drawn.row_visit]
        departments = np.array(
            [DEPARTMENTS.index(city.items[city.item_codes[i]].department) for i in drawn.row_item]
        )
        row_ent, result = drawn.ent[drawn.row_visit], drawn.result
        world.inspections.add(
            ent=row_ent,
            day=day,
            result=result,
            inspector=drawn.row_inspector,
            pi=pi[drawn.row_visit],
            dept=departments,
        )
        problem = result_codes.IS_PROBLEM[result]
        world.record_problems(row_ent[problem], day[problem])
        unreachable = result == result_codes.ResultCode.UNREACHABLE.index
        listed = day[unreachable] + rng.integers(5, 31, int(unreachable.sum()))
        world.list_enterprises(row_ent[unreachable], listed, ABNORMAL)
        world.penalties_after_visits(rng, drawn.row_visit, row_ent, day, result)
        return drawn.found, drawn.observed, drawn.ent

    def _results(
        self,
        rng: np.random.Generator,
        visits: Sequence[Visit],
        p: NDArray[np.float64],
        last_day: int,
    ) -> _Results:
        """Each visit's items checked by a random team of two, by the truth's own rules."""
        city = self.city
        ent = city.codes.searchsorted(np.array([v.credit_code for v in visits], dtype="<U18"))
        column = {code: i for i, code in enumerate(city.item_codes)}
        row_visit = np.repeat(np.arange(len(visits)), [len(v.item_codes) for v in visits])
        row_item = np.array([column[c] for v in visits for c in v.item_codes], dtype=np.int64)
        row_ent = ent[row_visit]
        teams = self._teams(rng, len(visits), last_day)
        strictness = city.inspector_strictness[teams].mean(axis=1)
        codes = draw_results(
            rng,
            city.truth.params,
            p=p[row_ent],
            weight=city.item_weight[row_item],
            strictness=strictness[row_visit],
            is_info=city.item_is_info[row_item],
            report_missing=city.report_missing[row_ent],
            exited=~city.active[row_ent],
            shell=city.shell[row_ent],
            dormant=city.dormant[row_ent],
        )
        result = TO_ENGINE[codes]
        member = np.arange(row_visit.size) - np.searchsorted(row_visit, row_visit)

        def any_row(table: NDArray[np.bool_]) -> NDArray[np.bool_]:
            hits = np.bincount(row_visit, weights=table[result], minlength=len(visits))
            return np.asarray(hits > 0)

        return _Results(
            ent=ent.astype(np.int64),
            row_visit=row_visit,
            row_item=row_item,
            row_inspector=teams[row_visit, member % TEAM_SIZE] if visits else row_item,
            result=result,
            found=any_row(result_codes.IS_PROBLEM),
            observed=any_row(result_codes.IS_OBSERVATION),
        )

    def _teams(self, rng: np.random.Generator, count: int, last_day: int) -> NDArray[np.int64]:
        """(visits × 2) random valid inspectors, distinct within a visit."""
        valid = self._valid_inspectors(last_day)
        first = rng.integers(0, valid.size, count)
        second = (first + rng.integers(1, valid.size, count)) % valid.size
        return np.column_stack([valid[first], valid[second]]).astype(np.int64)

    def _valid_inspectors(self, last_day: int) -> NDArray[np.int64]:
        city = self.city
        expires = city.inspector_expires.astype(np.int64)
        return np.flatnonzero(city.inspector_active & (expires >= last_day))

    def _strictness_nodes(self, last: date) -> NDArray[np.float64]:
        """Team strictness values standing for every pair of valid inspectors: the midpoints
        (in probability) of STRICTNESS_NODES equal strata of the pairs' mean strictness, so
        that averaging over them is the expectation over random teams."""
        m = self.city.inspector_strictness[self._valid_inspectors(day_of(last))]
        first, second = np.triu_indices(m.size, k=1)
        pairs = (m[first] + m[second]) / 2.0
        levels = (np.arange(STRICTNESS_NODES) + 0.5) / STRICTNESS_NODES
        return np.asarray(np.quantile(pairs, levels))

    def _carry_over(
        self,
        strategy: str,
        world: World,
        rng: np.random.Generator,
        first_day: int,
        p: NDArray[np.float64],
        nxt: date,
    ) -> int:
        """Last month's missing visits, done in this month's first ten days."""
        pending = self.pending[strategy]
        if pending is None or not pending.visits:
            return 0
        last_day = min(first_day + 9, day_of(nxt) - 1)
        self._visit(world, rng, pending.visits, pending.pi, p, first_day, last_day)
        return len(pending.visits)

    # ----- judging
    def _truth(
        self,
        strategy: str,
        columns: EnterpriseColumns,
        frames0: Mapping[str, Frame],
        design: _Design,
        p: NDArray[np.float64],
        nodes: NDArray[np.float64],
        first: date,
    ) -> NDArray[np.float64]:
        """E[y | visited] for every unit of the plan under the strategy's design (top-k: under
        the engine's design in top-k's world, the rate a published estimate would target)."""
        city = self.city
        plan, tasks, coordinated = design.plan, design.tasks, design.coordinated
        if strategy == "topk":
            plan0 = Plan.of(frames0)
            base = self._tasks(first)
            tasks, _ = scaled_tasks(plan0, base, self.budget, uniform=False, coordinated=True)
            frames = base_frames(columns, tasks, self.policy, first)
            plan = Plan.of(frames)
        rows = plan.rows
        truth = VisitTruth(
            p=p[rows],
            shell=city.shell[rows],
            dormant=city.dormant[rows],
            active=city.active[rows],
            report_missing=city.report_missing[rows],
            item_weight=city.item_weight,
            item_is_info=city.item_is_info,
            strictness=nodes,
        )
        cover = item_cover(plan, tasks, columns, city.item_codes)
        return expected_findings(plan.task_inclusion(), cover, truth, coordinated=coordinated)

    def _expected_per_visit(self, ctx: _Context, nodes: NDArray[np.float64]) -> float:
        """The mean, over the month's completed visits, of the truth's chance that the visit
        (its items, a random team) finds a problem: problems per visit without the luck of
        the results."""
        city = self.city
        done = [v for v, m in zip(ctx.design.visits, ctx.missing, strict=True) if not m]
        if not done:
            return math.nan
        column = {code: i for i, code in enumerate(city.item_codes)}
        cover = np.zeros((len(done), len(city.item_codes)), dtype=bool)
        for i, visit in enumerate(done):
            cover[i, [column[c] for c in visit.item_codes]] = True
        rows = ctx.rows
        truth = VisitTruth(
            p=ctx.p[rows],
            shell=city.shell[rows],
            dormant=city.dormant[rows],
            active=city.active[rows],
            report_missing=city.report_missing[rows],
            item_weight=city.item_weight,
            item_is_info=city.item_is_info,
            strictness=nodes,
        )
        return float(truth.found_probability(cover, np.arange(len(done))).mean())

    def _metrics(
        self, strategy: str, first: date, ctx: _Context, carried_in: int, expected: float
    ) -> MonthMetrics:
        city, design = self.city, ctx.design
        done = ~ctx.missing
        visited_rows = ctx.rows
        p_std = _standard_visit_probability(city, ctx.p)
        low = p_std <= np.quantile(p_std[city.active], LOW_RISK_SHARE)
        visits = int(done.sum())
        problems = int(ctx.found.sum())
        naive, naive_low, naive_high = naive_estimate(ctx.found)
        estimates = None if strategy == "topk" else self._estimates(ctx, first)
        ctx.domains = _domain_rows(estimates, ctx, city) if estimates is not None else ()
        ht = estimates.overall if estimates is not None else None
        auc_truth = weighted_auc(ctx.model.raw[city.active], p_std[city.active])
        observable = ctx.logit_observable(city)
        return MonthMetrics(
            strategy=strategy,
            month=first.strftime("%Y-%m"),
            budget=self.budget,
            scale=design.scale,
            drawn=len(design.visits),
            visited=visits,
            carried_over=int(ctx.missing.sum()),
            selections=sum(len(s) for s in design.selections.values()),
            problems=problems,
            problems_per_visit=naive,
            expected_per_visit=expected,
            share_found=float(p_std[visited_rows].sum() / p_std[city.active].sum()),
            class_a_share=float((ctx.model.letters[visited_rows] == "A").mean()),
            low_risk_share=float(low[visited_rows].mean()),
            population=int(design.plan.rows.size),
            true_rate=float(ctx.truth.mean()),
            ht=ht.share if ht else math.nan,
            ht_low=ht.ci_low if ht else math.nan,
            ht_high=ht.ci_high if ht else math.nan,
            naive=naive,
            naive_low=naive_low,
            naive_high=naive_high,
            auc_truth=auc_truth,
            auc_ceiling=weighted_auc(observable[city.active], p_std[city.active]),
            auc_visits=visit_auc(
                ctx.model.raw[visited_rows][ctx.observed], ctx.found[ctx.observed]
            ),
            visits_if_independent=self._independent_visits(strategy, design),
            carried_in=carried_in,
        )

    def _estimates(self, ctx: _Context, first: date) -> PopulationEstimates:
        city, design = self.city, ctx.design
        drawn = city.codes.searchsorted(
            np.array([v.credit_code for v in design.visits], dtype="<U18")
        )
        visited = ~ctx.missing
        problem = np.zeros(drawn.size, dtype=bool)
        observation = np.zeros(drawn.size, dtype=bool)
        problem[visited] = ctx.found
        observation[visited] = ctx.observed
        results = MonthResults(
            credit_code=city.codes[drawn],
            visited=visited,
            problem=problem,
            observation=observation | problem,
            inclusion_probability=design.pi,
            industry_section=city.industry[drawn],
            district=city.district[drawn],
            weight_class=ctx.model.letters[drawn],
        )
        rows = design.plan.rows
        sizes = DomainSizes.from_units(city.industry[rows], city.district[rows])
        return estimate_population(results, sizes, month=first.strftime("%Y-%m"), level=LEVEL)

    def _independent_visits(self, strategy: str, design: _Design) -> int:
        """For the engine: how many visits its frames would need with one seed per task."""
        if strategy != "engine":
            return 0
        return count_visits(select_frames(design.frames, design.seed_hex, independent=True))

    # ----- coverage over redraws of the first month
    def _replicate(self, strategy: str, ctx: _Context) -> list[ReplicateCoverage]:
        """Redraw the first month's design `replicates` times (new seeds, new results, the
        world as it was) and count how often each estimate's interval covers the truth."""
        rng = self.replicate_rng
        design, city = ctx.design, self.city
        true_rate = float(ctx.truth.mean())
        ht, naive = [], []
        for r in range(self.replicates):
            if strategy == "topk":
                redrawn = design
            else:
                seed_hex = hashlib.sha256(f"{design.seed_hex}|replicate|{r}".encode()).hexdigest()
                selections = select_frames(
                    design.frames, seed_hex, independent=not design.coordinated
                )
                visits = merge_into_visits(selections, design.tasks, ctx.columns)
                pi = _visit_pi(design.plan, visits, city.codes, design.coordinated)
                redrawn = replace(
                    design, selections=selections, visits=visits, pi=pi, seed_hex=seed_hex
                )
            missing = rng.random(len(redrawn.visits)) < NON_RESPONSE
            last_day = day_of(self.month_firsts[1]) - 1
            done = [v for v, m in zip(redrawn.visits, missing, strict=True) if not m]
            results = self._results(rng, done, ctx.p, last_day)
            found, observed = results.found, results.observed
            naive.append(naive_estimate(found))
            if strategy != "topk":
                replica = replace(
                    ctx, design=redrawn, missing=missing, found=found, observed=observed
                )
                overall = self._estimates(replica, self.month_firsts[0]).overall
                ht.append((overall.share, overall.ci_low, overall.ci_high))
        out = [replicate_coverage(strategy, "naive", naive, true_rate)]
        if ht:
            out.insert(0, replicate_coverage(strategy, "ht", ht, true_rate))
        return out


@dataclass(frozen=True)
class _Results:
    """Drawn results: one row per item checked, and per visit whether a problem was found
    and whether anything was observed."""

    ent: NDArray[np.int64]  # directory row per visit
    row_visit: NDArray[np.int64]
    row_item: NDArray[np.int64]  # column in City.item_codes
    row_inspector: NDArray[np.int64]  # the team member recorded on the row
    result: NDArray[np.int8]  # the engine's result-code encoding
    found: NDArray[np.bool_]
    observed: NDArray[np.bool_]


@dataclass
class _Context:
    """What a month of one world leaves for judging it."""

    design: _Design
    truth: NDArray[np.float64]  # E[y | visited] per plan unit
    p: NDArray[np.float64]
    model: _Model
    columns: EnterpriseColumns
    missing: NDArray[np.bool_]  # per drawn visit
    found: NDArray[np.bool_]  # per completed visit
    observed: NDArray[np.bool_]
    rows: NDArray[np.int64]  # directory row per completed visit
    domains: tuple[DomainRow, ...] = ()

    def logit_observable(self, city: City) -> NDArray[np.float64]:
        """The observable part of the month's log-odds (the latent part taken out)."""
        return np.asarray(np.log(self.p) - np.log1p(-self.p) - city.latent)


# --------------------------------------------------------------------------- helpers


def _draw_seed(frames: Mapping[str, Frame], nonce: str, seed: int, first: date) -> str:
    """ie-draw-v1 seed: SHA256(nonce | contribution | group hash of the frames)."""
    pairs = [(c, protocol.frame_hash(f.codes(), f.lambda_texts())) for c, f in frames.items()]
    contribution = f"inspect-engine experiment seed {seed} month {first:%Y-%m}"
    return protocol.derive_seed(nonce, contribution, protocol.group_hash(pairs))


def _visit_pi(
    plan: Plan, visits: Sequence[Visit], codes: NDArray[np.str_], coordinated: bool
) -> NDArray[np.float64]:
    """The plan's π of each visited enterprise: every frame holding it counts."""
    pi = plan_inclusion(plan.task_inclusion(), coordinated=coordinated)
    rows = codes.searchsorted(np.array([v.credit_code for v in visits], dtype="<U18"))
    return np.asarray(pi[np.searchsorted(plan.rows, rows)])


def _weekdays(first_day: int, last_day: int) -> NDArray[np.int64]:
    days = np.arange(first_day, last_day + 1)
    return days[(days + 3) % 7 < 5]  # 1970-01-01 was a Thursday


def _standard_visit_probability(city: City, p: NDArray[np.float64]) -> NDArray[np.float64]:
    """P(one standard item, average team, finds a problem): the truth's visit_problem_prob."""
    found = np.where(city.shell, 1.0, np.where(city.dormant, 0.0, p))
    return np.asarray(np.where(city.active, found, 0.0))


def _domain_rows(
    estimates: PopulationEstimates, ctx: _Context, city: City
) -> tuple[DomainRow, ...]:
    """Each published domain estimate with the true rate of its enterprises."""
    rows = ctx.design.plan.rows
    keys = {
        "industry_section": np.char.upper(city.industry[rows].astype("<U1")),
        "district": city.district[rows],
    }
    out = []
    for estimate in (*estimates.by_section, *estimates.by_district):
        members = keys[estimate.dimension] == estimate.key
        out.append(
            DomainRow(
                dimension=estimate.dimension,
                key=estimate.key,
                population=estimate.population,
                observed=estimate.observed,
                share=estimate.share,
                ci_low=estimate.ci_low,
                ci_high=estimate.ci_high,
                true_rate=float(ctx.truth[members].mean()),
            )
        )
    return tuple(out)

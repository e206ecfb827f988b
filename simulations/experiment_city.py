"""The generated city as the closed-loop experiment sees it, and the truth that moves on.

`load_city(dir)` reads the import files of a generated city (enterprises, inspectors, items,
tasks and the five history files) straight into the kernels' columnar types, plus the hidden
truth (truth.csv, truth_inspectors.csv, truth.json), aligned on the directory sorted by
credit code. No database is involved.

The truth file describes the planned month only. Each strategy of the experiment lives in
its own copy of the city (`World`), which moves on month by month with the generator's
rules (docs/synthetic-city.md):
- p is recomputed every month from the static part of its log-odds, the age terms, a
  problem recorded in the last 365 days, and the abnormal / serious-violation lists;
- complaints arrive in proportion to exposure · exp(0.7 · logit p), pinned to the city's
  monthly volume, substantiated with P = 1 − (1 − p)^4;
- penalty cases follow visit results (at most one per visit) and fill up to the city's case
  rate from other sources; serious cases may list the enterprise as a serious violator;
- an `unreachable` result puts the enterprise on the abnormal list 5–30 days later.
Not simulated (held at the truth file's state): registrations, exits, the annual-report
cycle and the lists it feeds, list removals, complaint-driven checks and campaigns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from inspect_engine.formats.fields import split_list
from inspect_engine.publication import result_codes
from inspect_engine.risk.tables import (
    LISTS,
    SERIOUS_VIOLATION,
    SEVERITIES,
    AnnualReports,
    Complaints,
    EnterpriseTable,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
    factorize,
)
from inspect_engine.sampling.frames import (
    Coded,
    EnterpriseColumns,
    InspectionHistory,
    ItemScope,
    TagSet,
    TaskFilters,
    TaskSpec,
)
from simulations import catalogue as cat
from simulations.truth import CityTruth, load_truth, sigmoid

DAYS_PER_YEAR = 365.25
ABNORMAL = LISTS.index("abnormal")
NO_DAY = np.iinfo(np.int64).min // 2  # "never" as a day number, far in the past
DEPARTMENTS = ("SAMR", "HEALTH", "FIRE", "ECOENV")


def day_of(d: date) -> int:
    """Days since 1970-01-01 (the day numbers of numpy's datetime64[D])."""
    return (d - date(1970, 1, 1)).days


def month_starts(first: date, count: int) -> list[date]:
    """The first day of `count` consecutive months starting with `first`'s month."""
    index = first.year * 12 + first.month - 1
    return [date((index + k) // 12, (index + k) % 12 + 1, 1) for k in range(count + 1)]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _dates(values: Sequence[str]) -> NDArray[np.datetime64]:
    return np.array([v or "NaT" for v in values], dtype="datetime64[D]")


# --------------------------------------------------------------------------- the city


@dataclass(frozen=True, eq=False)
class City:
    """Directories, items, tasks, the history at `as_of` and the hidden truth, aligned."""

    dir: Path
    as_of: date
    codes: NDArray[np.str_]  # sorted credit codes: row i of every array below
    active: NDArray[np.bool_]
    industry: NDArray[np.str_]
    district: NDArray[np.str_]
    table: EnterpriseTable  # for the risk model
    sampling: EnterpriseColumns  # for frames; risk class and history are set per month
    items: dict[str, ItemScope]
    item_codes: tuple[str, ...]  # all items, the order of item columns everywhere
    item_weight: NDArray[np.float64]  # truth.json, per item_codes
    item_is_info: NDArray[np.bool_]
    tasks: dict[str, TaskSpec]  # the planned month's tasks as the city wrote them
    inspector_ids: tuple[str, ...]  # sorted
    inspector_strictness: NDArray[np.float64]  # hidden, per inspector_ids
    inspector_active: NDArray[np.bool_]
    inspector_expires: NDArray[np.datetime64]
    history: HistoryEvents  # the five history files
    truth: CityTruth
    static_logit: NDArray[np.float64]  # log-odds of p without the terms that move
    latent: NDArray[np.float64]
    shell: NDArray[np.bool_]
    dormant: NDArray[np.bool_]
    report_missing: NDArray[np.bool_]
    exposure: NDArray[np.float64]  # complaint exposure (shells and dormant ones damped)
    registered_day: NDArray[np.int64]
    last_problem_day: NDArray[np.int64]  # at as_of, from inspections.csv (NO_DAY: none)
    on_abnormal: NDArray[np.bool_]  # at as_of (truth.csv)
    on_serious: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def as_of_month(self) -> str:
        """The month the city's tasks were written for (the one after as_of), YYYY-MM."""
        first = month_starts(self.as_of, 1)[1]
        return f"{first:%Y-%m}"

    @property
    def scale(self) -> float:
        """The city's size relative to Guangzhou, for the monthly volumes."""
        return len(self) / cat.GZ_ENTITIES

    def columns(
        self, risk_class: NDArray[np.str_], history: InspectionHistory
    ) -> EnterpriseColumns:
        """The frames' view of the directory with this month's classes and history."""
        base = self.sampling
        return EnterpriseColumns(
            credit_code=base.credit_code,
            status=base.status,
            entity_type=base.entity_type,
            industry=base.industry,
            district=base.district,
            unit=base.unit,
            registered_on=base.registered_on,
            licences=base.licences,
            risk_class=risk_class,
            history=history,
        )


def load_city(city_dir: Path) -> City:
    """Read a city written by `simulations.city.generate_city`."""
    meta = json.loads((city_dir / "truth.json").read_text(encoding="utf-8"))
    as_of = date.fromisoformat(meta["as_of"])
    rows = sorted(_read(city_dir / "enterprises.csv"), key=lambda r: r["credit_code"])
    codes = np.array([r["credit_code"] for r in rows], dtype="<U18")
    truth = load_truth(city_dir)
    inspectors = sorted(_read(city_dir / "inspectors.csv"), key=lambda r: r["inspector_id"])
    inspector_ids = tuple(r["inspector_id"] for r in inspectors)
    strictness = dict(zip(truth.inspector_ids.tolist(), truth.strictness.tolist(), strict=True))
    items, item_codes = _items(city_dir)
    hidden = _hidden(city_dir, codes)
    registered = _dates([r["registered_on"] for r in rows])
    history = _history(city_dir, codes, inspector_ids)
    params = truth.params
    return City(
        dir=city_dir,
        as_of=as_of,
        codes=codes,
        active=np.array([r["status"] == "active" for r in rows]),
        industry=np.array([r["industry"] for r in rows], dtype=str),
        district=np.array([r["district"] for r in rows], dtype=str),
        table=_table(rows, codes),
        sampling=_sampling_columns(rows, codes, registered, as_of),
        items=items,
        item_codes=item_codes,
        item_weight=np.array([truth.item_weights.get(code, 1.0) for code in item_codes]),
        item_is_info=np.array([code in truth.info_items for code in item_codes]),
        tasks=_tasks(city_dir, items),
        inspector_ids=inspector_ids,
        inspector_strictness=np.array([strictness.get(i, 1.0) for i in inspector_ids]),
        inspector_active=np.array([r["active"] == "true" for r in inspectors]),
        inspector_expires=_dates([r["certificate_expires"] for r in inspectors]),
        history=history,
        truth=truth,
        static_logit=hidden["static_logit"],
        latent=hidden["latent"],
        shell=hidden["shell"].astype(bool),
        dormant=hidden["dormant"].astype(bool),
        report_missing=hidden["report_missing"].astype(bool),
        exposure=_exposure(meta, rows, hidden, params.complaint_inactive),
        registered_day=registered.astype(np.int64),
        last_problem_day=_last_problems(history),
        on_abnormal=hidden["on_abnormal"].astype(bool),
        on_serious=hidden["on_serious"].astype(bool),
    )


def _table(rows: list[dict[str, str]], codes: NDArray[np.str_]) -> EnterpriseTable:
    return EnterpriseTable.from_strings(
        codes.tolist(),
        [r["entity_type"] for r in rows],
        [r["industry"] for r in rows],
        [r["district"] for r in rows],
        [r["registered_on"] for r in rows],
        [float(r["registered_capital"]) if r["registered_capital"] else None for r in rows],
        [r["licences"] for r in rows],
        [r["tags"] for r in rows],
        [r["address"] for r in rows],
    )


def _sampling_columns(
    rows: list[dict[str, str]],
    codes: NDArray[np.str_],
    registered: NDArray[np.datetime64],
    as_of: date,
) -> EnterpriseColumns:
    n = len(rows)
    return EnterpriseColumns(
        credit_code=codes,
        status=Coded.encode([r["status"] for r in rows]),
        entity_type=Coded.encode([r["entity_type"] for r in rows]),
        industry=Coded.encode([r["industry"] for r in rows]),
        district=Coded.encode([r["district"] for r in rows]),
        unit=Coded.encode([r["unit"] for r in rows]),
        registered_on=registered,
        licences=TagSet.from_cells([r["licences"] or None for r in rows]),
        risk_class=np.full(n, "", dtype="<U1"),
        history=InspectionHistory(as_of.year, np.zeros(n, np.int32), {}),
    )


def _items(city_dir: Path) -> tuple[dict[str, ItemScope], tuple[str, ...]]:
    items = {
        r["item_code"]: ItemScope(
            item_code=r["item_code"],
            department=r["department"],
            kind=r["kind"],
            entity_types=split_list(r["entity_types"]),
            industries=split_list(r["industries"]),
            licences=split_list(r["licences"]),
            qualification=r["qualification"] or None,
            min_inspectors=int(r["min_inspectors"] or 2),
        )
        for r in _read(city_dir / "items.csv")
    }
    return items, tuple(sorted(items))


def _tasks(city_dir: Path, items: dict[str, ItemScope]) -> dict[str, TaskSpec]:
    tasks = {}
    for r in _read(city_dir / "tasks.csv"):
        filters = TaskFilters(
            split_list(r["entity_types"]),
            split_list(r["industries"]),
            split_list(r["districts"]),
            split_list(r["licences"]),
        )
        tasks[r["task_code"]] = TaskSpec(
            task_code=r["task_code"],
            title=r["title"],
            items=[items[code] for code in split_list(r["items"])],
            ratios={k: r[f"ratio_{k}"] for k in "ABCD"},  # type: ignore[misc]
            floor=r["floor"] or "0.002",  # type: ignore[arg-type]
            targeted=r["targeted"] == "true",
            filters=filters,
            mode=r["mode"] or "cross_office",
            team_size=int(r["team_size"] or 2),
        )
    return tasks


def _hidden(city_dir: Path, codes: NDArray[np.str_]) -> dict[str, NDArray[np.float64]]:
    """truth.csv columns aligned on the sorted codes, with the static log-odds."""
    rows = _read(city_dir / "truth.csv")
    order = np.argsort(np.array([r["credit_code"] for r in rows], dtype="<U18"), kind="stable")
    names = ("observable_logit", "latent", "shell", "dormant", "report_missing")
    out = {name: np.array([float(r[name]) for r in rows])[order] for name in names}
    out["on_abnormal"] = np.array([float(r["on_abnormal"]) for r in rows])[order]
    out["on_serious"] = np.array([float(r["on_serious"]) for r in rows])[order]
    sorted_codes = np.array([r["credit_code"] for r in rows], dtype="<U18")[order]
    if not np.array_equal(sorted_codes, codes):
        raise ValueError("truth.csv and enterprises.csv list different enterprises")
    out["static_logit"] = out["observable_logit"] + out["latent"]  # moving terms removed later
    return out


def _exposure(
    meta: dict[str, object],
    rows: list[dict[str, str]],
    hidden: dict[str, NDArray[np.float64]],
    inactive: float,
) -> NDArray[np.float64]:
    table = meta["industry_exposure"]
    assert isinstance(table, dict)
    base = np.array([float(table.get(r["industry"], 1.0)) for r in rows])
    damped = (hidden["shell"] > 0) | (hidden["dormant"] > 0)
    return np.asarray(base * np.where(damped, inactive, 1.0))


def _row_index(codes: NDArray[np.str_], wanted: Sequence[str]) -> NDArray[np.int64]:
    rows = np.searchsorted(codes, np.asarray(wanted, dtype="<U18")).astype(np.int64)
    if rows.size and not np.array_equal(codes[np.minimum(rows, len(codes) - 1)], wanted):
        raise ValueError("a history row names an enterprise outside the directory")
    return rows


def _history(
    city_dir: Path, codes: NDArray[np.str_], inspector_ids: tuple[str, ...]
) -> HistoryEvents:
    ins = _read(city_dir / "inspections.csv")
    inspector_row = {inspector: i for i, inspector in enumerate(inspector_ids)}
    department = np.array([DEPARTMENTS.index(r["department"]) for r in ins], dtype=np.int32)
    inspections = Inspections(
        enterprise=_row_index(codes, [r["credit_code"] for r in ins]),
        inspected_on=_dates([r["inspected_on"] for r in ins]),
        result=result_codes.encode([r["result"] for r in ins]),
        inspector=np.array([inspector_row.get(r["inspector_id"], -1) for r in ins]),
        inclusion_probability=np.array(
            [float(r["inclusion_probability"] or "nan") for r in ins], dtype=float
        ),
        department=department,
        departments=DEPARTMENTS,
    )
    pen = _read(city_dir / "penalties.csv")
    com = _read(city_dir / "complaints.csv")
    rep = _read(city_dir / "annual_reports.csv")
    lst = _read(city_dir / "lists.csv")
    return HistoryEvents(
        inspections=inspections,
        penalties=Penalties(
            _row_index(codes, [r["credit_code"] for r in pen]),
            _dates([r["decided_on"] for r in pen]),
            factorize([r["severity"] for r in pen], SEVERITIES)[0].astype(np.int8),
        ),
        complaints=Complaints(
            _row_index(codes, [r["credit_code"] for r in com]),
            _dates([r["received_on"] for r in com]),
            np.array([r["substantiated"] == "true" for r in com], dtype=bool),
        ),
        annual_reports=AnnualReports(
            _row_index(codes, [r["credit_code"] for r in rep]),
            np.array([int(r["year"]) for r in rep], dtype=np.int32),
            _dates([r["filed_on"] for r in rep]),
        ),
        lists=ListEntries(
            _row_index(codes, [r["credit_code"] for r in lst]),
            factorize([r["list"] for r in lst], LISTS)[0].astype(np.int8),
            _dates([r["listed_on"] for r in lst]),
            _dates([r["removed_on"] for r in lst]),
        ),
    )


def _last_problems(history: HistoryEvents) -> NDArray[np.int64]:
    ins = history.inspections
    n = int(ins.enterprise.max(initial=-1)) + 1
    last = np.full(max(n, 0), NO_DAY, dtype=np.int64)
    hit = result_codes.IS_PROBLEM[ins.result]
    np.maximum.at(last, ins.enterprise[hit], ins.inspected_on[hit].astype(np.int64))
    return last


# --------------------------------------------------------------------------- a moving world


@dataclass
class EventLog:
    """The events one world adds to the history after as_of (growing lists of arrays)."""

    columns: dict[str, list[NDArray[np.generic]]] = field(default_factory=dict)

    def add(self, **cols: NDArray[np.generic]) -> None:
        for name, values in cols.items():
            self.columns.setdefault(name, []).append(np.asarray(values))

    def get(self, name: str, dtype: str | type) -> NDArray[Any]:
        parts = self.columns.get(name, [])
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


class World:
    """One strategy's copy of the city after as_of: its own history and truth state."""

    def __init__(self, city: City) -> None:
        if city.truth.params.family != "additive":
            raise ValueError(
                f"the closed-loop experiment follows the additive truth only; this city's"
                f" truth family is {city.truth.params.family!r}"
            )
        self.city = city
        n = len(city)
        self.last_problem_day = _padded(city.last_problem_day, n)
        self.abnormal_from = np.where(city.on_abnormal, day_of(city.as_of), NO_DAY)
        self.serious_from = np.where(city.on_serious, day_of(city.as_of), NO_DAY)
        self.inspections = EventLog()
        self.complaints = EventLog()
        self.penalties = EventLog()
        self.lists = EventLog()
        # the moving terms at as_of, taken out of the truth's log-odds once
        self._static = city.static_logit - self._moving_terms(day_of(city.as_of) + 1)

    # ----- truth
    def logit(self, month_first: int) -> NDArray[np.float64]:
        """log-odds of p for the month starting on day `month_first` (latent included)."""
        return np.asarray(self._static + self._moving_terms(month_first))

    def problem_probability(self, month_first: int) -> NDArray[np.float64]:
        return np.asarray(sigmoid(self.logit(month_first)))

    def _moving_terms(self, month_first: int) -> NDArray[np.float64]:
        """Age, recent problem and list terms of the month's log-odds, as the generator
        computes them (age at the month's 15th, problems in the 365 days before it)."""
        c, params = self.city, self.city.truth.params
        age = (month_first + 14 - c.registered_day) / DAYS_PER_YEAR
        today = month_first - 1
        terms = (
            params.new_business * np.exp(-np.maximum(age, 0) / params.new_decay_years)
            + params.old_business * (age > 10)
            + params.recent_problem * ((today - self.last_problem_day) <= 365)
            + params.abnormal_list * (self.abnormal_from <= today)
            + params.serious_list * (self.serious_from <= today)
        )
        return np.asarray(terms, dtype=np.float64)

    def record_problems(self, enterprise: NDArray[np.int64], day: NDArray[np.int64]) -> None:
        np.maximum.at(self.last_problem_day, enterprise, day)

    def list_enterprises(
        self, enterprise: NDArray[np.int64], day: NDArray[np.int64], kind: int
    ) -> None:
        """New listings (never lifted in the experiment); an enterprise already listed
        keeps its earlier date."""
        state = self.abnormal_from if kind == ABNORMAL else self.serious_from
        fresh = state[enterprise] > day
        if not fresh.any():
            return
        ent, first = np.unique(enterprise[fresh], return_index=True)
        on = day[fresh][first]
        state[ent] = np.minimum(state[ent], on)
        self.lists.add(ent=ent, kind=np.full(ent.size, kind), listed=on)

    # ----- history for the kernels
    def history(self) -> HistoryEvents:
        """The city's history plus everything this world recorded since."""
        base = self.city.history
        log = self.inspections
        ins = Inspections(
            enterprise=np.concatenate([base.inspections.enterprise, log.get("ent", np.int64)]),
            inspected_on=np.concatenate(
                [base.inspections.inspected_on, log.get("day", np.int64).astype("datetime64[D]")]
            ),
            result=np.concatenate([base.inspections.result, log.get("result", np.int8)]),
            inspector=np.concatenate([base.inspections.inspector, log.get("inspector", np.int64)]),
            inclusion_probability=np.concatenate(
                [base.inspections.inclusion_probability, log.get("pi", np.float64)]
            ),
            department=np.concatenate([base.inspections.department, log.get("dept", np.int32)]),
            departments=DEPARTMENTS,
        )
        pen, com, lst = self.penalties, self.complaints, self.lists
        listed = lst.get("listed", np.int64).astype("datetime64[D]")
        return HistoryEvents(
            inspections=ins,
            penalties=Penalties(
                np.concatenate([base.penalties.enterprise, pen.get("ent", np.int64)]),
                np.concatenate(
                    [base.penalties.decided_on, pen.get("day", np.int64).astype("datetime64[D]")]
                ),
                np.concatenate([base.penalties.severity, pen.get("severity", np.int8)]),
            ),
            complaints=Complaints(
                np.concatenate([base.complaints.enterprise, com.get("ent", np.int64)]),
                np.concatenate(
                    [base.complaints.received_on, com.get("day", np.int64).astype("datetime64[D]")]
                ),
                np.concatenate([base.complaints.substantiated, com.get("sub", np.bool_)]),
            ),
            annual_reports=base.annual_reports,
            lists=ListEntries(
                np.concatenate([base.lists.enterprise, lst.get("ent", np.int64)]),
                np.concatenate([base.lists.list, lst.get("kind", np.int8)]),
                np.concatenate([base.lists.listed_on, listed]),
                np.concatenate([base.lists.removed_on, np.full(listed.size, np.datetime64("NaT"))]),
            ),
        )

    def inspection_history(self, month_first: date) -> InspectionHistory:
        """What the exclusions need on the month's first day: every inspection before it."""
        history = self.history().inspections
        before = history.inspected_on < np.datetime64(month_first, "D")
        return InspectionHistory.from_events(
            self.city.codes,
            month_first.year,
            self.city.codes[history.enterprise[before]],
            history.inspected_on[before],
            np.asarray(DEPARTMENTS)[history.department[before]],
            DEPARTMENTS,
        )

    # ----- the city's other monthly events
    def complaints_of_month(
        self, rng: np.random.Generator, first: int, last: int, logit: NDArray[np.float64]
    ) -> NDArray[np.int64]:
        """The month's complaints; returns the enterprises with a substantiated one."""
        c, params = self.city, self.city.truth.params
        rate = np.where(c.active, c.exposure * np.exp(params.complaint_latent * logit), 0.0)
        total = int(rng.poisson(cat.GZ_COMPLAINTS_5Y / 60 * c.scale))
        ent = np.sort(rng.choice(len(c), size=total, p=rate / rate.sum())).astype(np.int64)
        day = first + rng.integers(0, last - first + 1, ent.size)
        p = sigmoid(logit[ent])
        substantiated = rng.random(ent.size) < 1.0 - np.power(1.0 - p, params.substantiated_weight)
        self.complaints.add(ent=ent, day=day, sub=substantiated)
        return np.asarray(ent[substantiated])

    def penalties_after_visits(
        self,
        rng: np.random.Generator,
        row_visit: NDArray[np.int64],
        row_ent: NDArray[np.int64],
        row_day: NDArray[np.int64],
        row_result: NDArray[np.int8],
    ) -> None:
        """At most one case per visit, P(case | result) as in the truth parameters."""
        params = self.city.truth.params
        case_p = np.zeros(row_result.size)
        for code, prob in params.penalty_given.items():
            case_p[row_result == result_codes.ResultCode.parse(code).index] = prob
        opened = np.flatnonzero(rng.random(row_result.size) < case_p)
        _, first = np.unique(row_visit[opened], return_index=True)
        rows = opened[first]
        lo, hi = params.penalty_delay_days
        self._penalties(rng, row_ent[rows], row_day[rows] + rng.integers(lo, hi + 1, rows.size))

    def background_penalties(
        self,
        rng: np.random.Generator,
        first: int,
        last: int,
        p: NDArray[np.float64],
        substantiated: NDArray[np.int64],
    ) -> None:
        """Cases from other sources fill the month up to the city's case rate: half on
        enterprises with a substantiated complaint, half in proportion to p."""
        c = self.city
        decided = self.penalties.get("day", np.int64)
        so_far = int(((decided >= first) & (decided <= last)).sum())
        k = int(rng.poisson(max(cat.GZ_CASES_5Y / 60 * c.scale - so_far, 0.0)))
        if k == 0:
            return
        k_sub = min(k // 2, substantiated.size)
        chosen = rng.choice(substantiated, k_sub, replace=False) if k_sub else np.zeros(0, np.int64)
        weight = np.where(c.active & ~c.shell, p, 0.0)
        others = rng.choice(len(c), size=k - k_sub, p=weight / weight.sum())
        ent = np.concatenate([chosen, others]).astype(np.int64)
        self._penalties(rng, ent, first + rng.integers(0, last - first + 1, ent.size))

    def _penalties(
        self, rng: np.random.Generator, ent: NDArray[np.int64], day: NDArray[np.int64]
    ) -> None:
        params = self.city.truth.params
        z = self.city.latent[ent] / params.latent_sd
        p_serious = sigmoid(params.serious_intercept + params.serious_latent * z)
        u = rng.random(ent.size)
        severity = np.where(u < p_serious, 2, np.where(u < p_serious + params.general_share, 1, 0))
        self.penalties.add(ent=ent, day=day, severity=severity.astype(np.int8))
        serious = (severity == 2) & (
            rng.random(ent.size) < params.serious_list_after_serious_penalty
        )
        listed = day + rng.integers(5, 31, ent.size)
        self.list_enterprises(ent[serious], listed[serious], SERIOUS_VIOLATION)


def _padded(values: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    out = np.full(n, NO_DAY, dtype=np.int64)
    out[: values.size] = values
    return out

"""The synthetic city generator: a Guangzhou-like city in the import formats of the engine.

    generate_city("small", seed=1, out_dir=Path("city")) -> CitySummary

writes the two directories, the item list, a month of tasks, three years of history and
the latent truth (truth.csv, truth_inspectors.csv, truth.json: never imported). The model
and its calibration are documented in docs/synthetic-city.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np

from simulations import catalogue as cat
from simulations.families import check_family
from simulations.history import (
    ABNORMAL,
    SEVERITIES,
    Events,
    History,
    month_bounds,
    simulate_history,
)
from simulations.population import (
    DAYS_PER_YEAR,
    NEVER,
    Population,
    day_number,
    growth_rates,
    make_offices,
    make_population,
)
from simulations.scope import task_scope
from simulations.staff import (
    Conflicts,
    Leave,
    Staff,
    make_conflicts,
    make_leave,
    make_staff,
    staff_size,
)
from simulations.truth import (
    IS_OBSERVATION,
    IS_PROBLEM,
    NO_PROBLEM,
    RESULT_CODES,
    TruthParams,
)
from simulations.writer import (
    CHUNK,
    HEADERS,
    CsvFile,
    DateText,
    decimal_text,
    write_enterprises,
)

SCALES = {"small": 20_000, "city": 270_000, "guangzhou": cat.GZ_ENTITIES}
STAGES = (
    "offices",
    "kinds",
    "attributes",
    "addresses",
    "latent",
    "codes",
    "staff",
    "reports",
    "lists",
    "months",
    "leave",
    "conflicts",
    "family",  # last: the other stages' generators do not depend on the family
)
GENERATOR_VERSION = "synthetic-city-1"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CitySummary:
    """What was generated: row counts per file and the calibration figures."""

    scale: str
    seed: int
    n_enterprises: int
    n_inspectors: int
    as_of: date
    month: str  # the planned month, YYYY-MM
    out_dir: Path
    rows: dict[str, int]
    calibration: dict[str, dict[str, float]]
    seconds: float


def entity_count(scale: str) -> int:
    """Entities for a named scale, or a plain number of entities (e.g. "5000")."""
    if scale in SCALES:
        return SCALES[scale]
    if scale.isdigit() and int(scale) >= 500:
        return int(scale)
    raise ValueError(f"unknown scale {scale!r}: one of {', '.join(SCALES)} or a count ≥ 500")


def generate_city(
    scale: str,
    seed: int,
    out_dir: Path,
    *,
    as_of: date = date(2026, 11, 30),
    progress: Progress | None = None,
    family: str = "additive",
) -> CitySummary:
    """Generates the city into out_dir (created if needed); same seed, same bytes.
    `family` chooses the truth family (`simulations.families.FAMILIES`)."""
    started = time.perf_counter()
    n = entity_count(scale)
    out_dir.mkdir(parents=True, exist_ok=True)
    children = np.random.SeedSequence(seed).spawn(len(STAGES))
    rngs = {name: np.random.default_rng(s) for name, s in zip(STAGES, children, strict=True)}
    params = TruthParams(family=check_family(family))
    today = day_number(as_of)
    month = _next_month(as_of)

    def step(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    step("population", 0, 3)
    offices = make_offices(rngs["offices"], n)
    pop, naming = make_population(rngs, n, as_of, offices, params)
    step("population", 1, 3)
    staff = make_staff(rngs["staff"], staff_size(n), pop, offices, today, params.strictness_sd)
    step("population", 2, 3)

    dates = DateText(date(as_of.year + 6, 12, 31))
    rows: dict[str, int] = {}
    rows["enterprises.csv"] = write_enterprises(
        out_dir / "enterprises.csv", pop, naming, offices, dates
    )
    step("population", 3, 3)
    rows["inspectors.csv"] = _write_inspectors(out_dir / "inspectors.csv", staff, dates)
    rows["items.csv"] = _write_items(out_dir / "items.csv")
    tasks, expected_visits = _write_tasks(out_dir / "tasks.csv", pop, today, month)
    rows["tasks.csv"] = tasks

    history = simulate_history(rngs, pop, staff, params, as_of, progress)
    item_weight = history.item_weight
    step("writing", 0, 7)
    rows["inspections.csv"] = _write_inspections(out_dir, pop, staff, history, dates)
    step("writing", 1, 7)
    rows["penalties.csv"] = _write_penalties(out_dir, pop, history, dates)
    rows["complaints.csv"] = _write_complaints(out_dir, pop, history, dates)
    step("writing", 2, 7)
    rows["annual_reports.csv"] = _write_reports(out_dir, pop, history, dates, today)
    step("writing", 3, 7)
    rows["lists.csv"] = _write_lists(out_dir, pop, history, dates)
    month_start = day_number(date(int(month[:4]), int(month[5:]), 1))
    leave = make_leave(rngs["leave"], staff, month_start)
    rows["leave.csv"] = _write_leave(out_dir, staff, leave, dates)
    conflicts = make_conflicts(rngs["conflicts"], staff, pop, today)
    rows["conflicts.csv"] = _write_conflicts(out_dir, pop, staff, conflicts, dates)
    step("writing", 4, 7)
    rows["truth.csv"] = _write_truth(out_dir, pop, history, params, today)
    rows["truth_inspectors.csv"] = _write_truth_inspectors(out_dir, staff)
    step("writing", 5, 7)
    calibration = _calibration(pop, staff, history, as_of, expected_visits)
    _write_truth_json(out_dir, scale, seed, as_of, month, params, item_weight, rows, calibration)
    step("writing", 7, 7)
    return CitySummary(
        scale=scale,
        seed=seed,
        n_enterprises=n,
        n_inspectors=staff.n,
        as_of=as_of,
        month=month,
        out_dir=out_dir,
        rows=rows,
        calibration=calibration,
        seconds=time.perf_counter() - started,
    )


def _next_month(as_of: date) -> str:
    y, m = (as_of.year + 1, 1) if as_of.month == 12 else (as_of.year, as_of.month + 1)
    return f"{y:04d}-{m:02d}"


# --- directories, items and tasks ------------------------------------------------------------
def _write_inspectors(path: Path, staff: Staff, dates: DateText) -> int:
    quals = [
        ";".join(q for b, q in enumerate(cat.QUALIFICATIONS) if m >> b & 1)
        for m in staff.quals.tolist()
    ]
    with CsvFile(path, HEADERS["inspectors.csv"]) as out:
        out.write(
            [
                list(staff.ids),
                staff.names,
                [cat.DEPARTMENTS[d] for d in staff.dept.tolist()],
                list(staff.unit),
                [cat.DISTRICTS[d].code for d in staff.district.tolist()],
                quals,
                dates(staff.expires),
                ["true" if x else "false" for x in staff.lead.tolist()],
                [str(c) for c in staff.capacity.tolist()],
                ["true" if x else "false" for x in staff.active.tolist()],
            ]
        )
        return out.rows


def _write_items(path: Path) -> int:
    with CsvFile(path, HEADERS["items.csv"]) as out:
        out.write_rows(
            (
                it.code,
                it.department,
                it.title,
                it.legal_basis,
                it.kind,
                ";".join(it.entity_types),
                ";".join(it.industries),
                ";".join(it.licences),
                it.qualification,
                str(it.min_inspectors),
            )
            for it in cat.ITEMS
        )
        return out.rows


def _ratios(frame_size: int, target: float) -> tuple[list[float], float]:
    """Ratios per class A–D in the 1:3:10:30 profile so that the nominal class mix gives
    `target` visits; the floor sits at ratio A (at most the default 0.002)."""
    profile = np.array(cat.CLASS_RATIO_PROFILE)
    mean = float(np.dot(cat.NOMINAL_CLASS_SHARES, profile))
    unit = target / (max(frame_size, 1) * mean)
    ratios = [min(1.0, max(1e-6, float(f"{unit * r:.3g}"))) for r in profile]  # never 0
    return ratios, min(0.002, ratios[0])


def _write_tasks(path: Path, pop: Population, today: int, month: str) -> tuple[int, float]:
    """The month's tasks; returns (rows, visits expected under the nominal class mix)."""
    active = pop.exit_day > today
    scale = pop.n / cat.GZ_ENTITIES
    expected = 0.0
    with CsvFile(path, HEADERS["tasks.csv"]) as out:
        for t in cat.TASK_TEMPLATES:
            frame = int((task_scope(pop, t)[0] & active).sum())
            target = t.share * cat.GZ_VISITS_PER_MONTH * scale
            ratios, floor = _ratios(frame, target)
            expected += frame * float(np.dot(cat.NOMINAL_CLASS_SHARES, ratios))
            out.write_rows(
                [
                    (
                        f"{month}-{t.key}",
                        f"{month[:4]}年{int(month[5:])}月{t.title}",
                        ";".join(t.items),
                        "true" if t.targeted else "false",
                        ";".join(t.entity_types),
                        ";".join(t.industries),
                        ";".join(t.districts),
                        ";".join(t.licences),
                        *(decimal_text(r) for r in ratios),
                        decimal_text(floor),
                        t.mode,
                        str(t.team_size),
                    )
                ]
            )
        return out.rows, expected


# --- history ---------------------------------------------------------------------------------
def _codes(pop: Population, ent: np.ndarray) -> list[str]:
    return np.char.decode(pop.codes[ent], "ascii").tolist()  # type: ignore[no-any-return]


def _unique_rows(*cols: np.ndarray) -> np.ndarray:
    """Order (by the columns, first is the primary key) without exact duplicate rows."""
    order = np.lexsort(tuple(reversed(cols)))
    keep = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        same = np.ones(len(order) - 1, dtype=bool)
        for c in cols:
            s = c[order]
            same &= (
                (s[1:] == s[:-1]) | (np.isnan(s[1:]) & np.isnan(s[:-1]))
                if s.dtype.kind == "f"
                else s[1:] == s[:-1]
            )
        keep[1:] = ~same
    return order[keep]


def _write_inspections(
    out_dir: Path, pop: Population, staff: Staff, h: History, dates: DateText
) -> int:
    ev = h.inspections
    ent = ev.get("ent").astype(np.int64)
    day, item = ev.get("day").astype(np.int64), ev.get("item").astype(np.int64)
    insp, result, pi = (
        ev.get("insp").astype(np.int64),
        ev.get("result").astype(np.int64),
        ev.get("pi"),
    )
    order = _unique_rows(day, ent, item, insp, result, pi)
    item_codes = np.array([it.code for it in cat.ITEMS], dtype=object)
    item_dept = np.array([it.department for it in cat.ITEMS], dtype=object)
    results = np.array(RESULT_CODES, dtype=object)
    with CsvFile(out_dir / "inspections.csv", HEADERS["inspections.csv"]) as out:
        for lo in range(0, len(order), CHUNK):
            o = order[lo : lo + CHUNK]
            out.write(
                [
                    _codes(pop, ent[o]),
                    dates(day[o]),
                    list(item_dept[item[o]]),
                    list(item_codes[item[o]]),
                    list(staff.ids[insp[o]]),
                    list(results[result[o]]),
                    ["" if np.isnan(x) else decimal_text(x) for x in pi[o].tolist()],
                ]
            )
        return out.rows


def _write_penalties(out_dir: Path, pop: Population, h: History, dates: DateText) -> int:
    ev = h.penalties
    ent, day = ev.get("ent").astype(np.int64), ev.get("day").astype(np.int64)
    sev, amount = ev.get("severity").astype(np.int64), ev.get("amount").astype(float)
    order = _unique_rows(day, ent, sev, amount)
    with CsvFile(out_dir / "penalties.csv", HEADERS["penalties.csv"]) as out:
        out.write(
            [
                _codes(pop, ent[order]),
                dates(day[order]),
                [SEVERITIES[s] for s in sev[order].tolist()],
                ["" if np.isnan(a) else f"{a:.0f}" for a in amount[order].tolist()],
            ]
        )
        return out.rows


def _write_complaints(out_dir: Path, pop: Population, h: History, dates: DateText) -> int:
    ev = h.complaints
    ent, day = ev.get("ent").astype(np.int64), ev.get("day").astype(np.int64)
    category, sub = ev.get("cat").astype(np.int64), ev.get("sub").astype(np.int64)
    order = _unique_rows(day, ent, category, sub)
    cats = np.array(cat.COMPLAINT_CATEGORIES, dtype=object)
    with CsvFile(out_dir / "complaints.csv", HEADERS["complaints.csv"]) as out:
        for lo in range(0, len(order), CHUNK):
            o = order[lo : lo + CHUNK]
            out.write(
                [
                    _codes(pop, ent[o]),
                    dates(day[o]),
                    list(cats[category[o]]),
                    ["true" if s else "false" for s in sub[o].tolist()],
                ]
            )
        return out.rows


def reported_years(h: History, today: int) -> list[int]:
    """The three latest report years whose filing window (from 1 January) has opened."""
    opened = [y for y in h.report_years if day_number(date(y + 1, 1, 1)) <= today]
    return opened[-3:]


def _write_reports(out_dir: Path, pop: Population, h: History, dates: DateText, today: int) -> int:
    with CsvFile(out_dir / "annual_reports.csv", HEADERS["annual_reports.csv"]) as out:
        for y in reported_years(h, today):
            f = h.filed[:, h.report_years.index(y)]
            ent = np.flatnonzero(f >= 0)
            for lo in range(0, len(ent), CHUNK):
                e = ent[lo : lo + CHUNK]
                out.write([_codes(pop, e), [str(y)] * len(e), dates(f[e])])
        return out.rows


def _write_lists(out_dir: Path, pop: Population, h: History, dates: DateText) -> int:
    ev = h.lists
    ent, kind = ev.get("ent").astype(np.int64), ev.get("kind").astype(np.int64)
    on, off = ev.get("listed").astype(np.int64), ev.get("removed").astype(np.int64)
    order = _unique_rows(on, ent, kind, off)
    names = np.array(["abnormal", "serious_violation"], dtype=object)
    with CsvFile(out_dir / "lists.csv", HEADERS["lists.csv"]) as out:
        for lo in range(0, len(order), CHUNK):
            o = order[lo : lo + CHUNK]
            out.write([_codes(pop, ent[o]), list(names[kind[o]]), dates(on[o]), dates(off[o])])
        return out.rows


def _write_leave(out_dir: Path, staff: Staff, leave: Leave, dates: DateText) -> int:
    with CsvFile(out_dir / "leave.csv", HEADERS["leave.csv"]) as out:
        out.write(
            [
                list(staff.ids[leave.inspector]),
                dates(leave.starts),
                dates(leave.ends),
                [cat.LEAVE_REASONS[r] for r in leave.reason.tolist()],
            ]
        )
        return out.rows


def _write_conflicts(
    out_dir: Path, pop: Population, staff: Staff, conflicts: Conflicts, dates: DateText
) -> int:
    with CsvFile(out_dir / "conflicts.csv", HEADERS["conflicts.csv"]) as out:
        out.write(
            [
                list(staff.ids[conflicts.inspector]),
                _codes(pop, conflicts.entity),
                [cat.CONFLICT_REASONS[r] for r in conflicts.reason.tolist()],
                list(conflicts.raised_by),
                dates(conflicts.raised_on),
            ]
        )
        return out.rows


# --- truth -----------------------------------------------------------------------------------
TRUTH_HEADER = (
    "credit_code",
    "problem_prob",
    "visit_problem_prob",
    "observable_logit",
    "latent",
    "shell",
    "dormant",
    "active",
    "report_missing",
    "on_abnormal",
    "on_serious",
    "complaint_rate",
)


def _write_truth(
    out_dir: Path, pop: Population, h: History, params: TruthParams, today: int
) -> int:
    active = pop.exit_day > today
    p = h.month_problem_prob
    visit_p = np.where(pop.shell & active, 1.0, np.where(pop.dormant | ~active, 0.0, p))
    last_due = h.report_years.index(max(reported_years(h, today)))
    missing = h.filed[:, last_due] > today
    flags = np.array(["0", "1"], dtype=object)
    with CsvFile(out_dir / "truth.csv", TRUTH_HEADER) as out:
        for lo in range(0, pop.n, CHUNK):
            s = slice(lo, min(lo + CHUNK, pop.n))
            out.write(
                [
                    np.char.decode(pop.codes[s], "ascii").tolist(),
                    [f"{x:.6f}" for x in p[s].tolist()],
                    [f"{x:.6f}" for x in visit_p[s].tolist()],
                    [f"{x:.4f}" for x in h.month_observable_logit[s].tolist()],
                    [f"{x:.4f}" for x in (params.latent_sd * pop.latent[s]).tolist()],
                    list(flags[pop.shell[s].astype(int)]),
                    list(flags[pop.dormant[s].astype(int)]),
                    list(flags[active[s].astype(int)]),
                    list(flags[missing[s].astype(int)]),
                    list(flags[h.month_on_abnormal[s].astype(int)]),
                    list(flags[h.month_on_serious[s].astype(int)]),
                    [f"{x:.6f}" for x in h.complaint_rate[s].tolist()],
                ]
            )
        return out.rows


def _write_truth_inspectors(out_dir: Path, staff: Staff) -> int:
    with CsvFile(out_dir / "truth_inspectors.csv", ("inspector_id", "strictness")) as out:
        out.write([list(staff.ids), [f"{x:.6f}" for x in staff.strictness.tolist()]])
        return out.rows


def _write_truth_json(
    out_dir: Path,
    scale: str,
    seed: int,
    as_of: date,
    month: str,
    params: TruthParams,
    item_weight: np.ndarray,
    rows: dict[str, int],
    calibration: dict[str, dict[str, float]],
) -> None:
    doc = {
        "generator": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "month": month,
        "documentation": "docs/synthetic-city.md",
        "family": params.family,
        "model": (
            "logit p = intercept + entity_type + industry + licence_each*licences"
            " + cluster_log*ln(cluster) + small_capital + new_business*exp(-age/new_decay_years)"
            " + old_business*[age>10] + abnormal_list + serious_list + recent_problem + latent;"
            " P(item finds a problem) = 1-(1-p)^(weight*strictness), strictness = team mean"
        ),
        "parameters": asdict(params),
        "industry_beta": {ind.code: ind.beta for ind in cat.INDUSTRIES},
        "industry_exposure": {ind.code: ind.exposure for ind in cat.INDUSTRIES},
        "industry_shell": {ind.code: ind.shell for ind in cat.INDUSTRIES},
        "item_weights": {it.code: float(w) for it, w in zip(cat.ITEMS, item_weight, strict=True)},
        "info_items": [cat.INFO_ITEM],
        "truth_columns": {
            "problem_prob": "p for the planned month: standard item, average team",
            "visit_problem_prob": "P(a visit of one standard item finds a problem): 1 for"
            " shells, 0 for dormant or inactive entities, else problem_prob",
            "observable_logit": "the part of logit p computed from observable signals",
            "latent": "the hidden part of logit p (latent_sd * z)",
            "report_missing": "the last due annual report is not filed: the information"
            " check records not_disclosed",
            "complaint_rate": "expected complaints in the planned month",
        },
        "rows": rows,
        "calibration": calibration,
    }
    text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False)
    (out_dir / "truth.json").write_text(text + "\n", encoding="utf-8")


# --- calibration figures -----------------------------------------------------------------------
def _calibration(
    pop: Population, staff: Staff, h: History, as_of: date, expected_visits: float
) -> dict[str, dict[str, float]]:
    """Targets (scaled to the city) against what the generated files contain."""
    today = day_number(as_of)
    scale = pop.n / cat.GZ_ENTITIES
    out: dict[str, dict[str, float]] = {}

    def put(name: str, target: float | None, achieved: float) -> None:
        entry = {"achieved": round(float(achieved), 6)}
        if target is not None:
            entry["target"] = round(float(target), 6)
        out[name] = entry

    enterprise = pop.etype != cat.INDIVIDUAL
    put("entities", scale * cat.GZ_ENTITIES, pop.n)
    put("enterprise_share", cat.GZ_ENTERPRISES / cat.GZ_ENTITIES, enterprise.mean())
    counts = np.bincount(pop.district, minlength=len(cat.DISTRICTS)) / pop.n
    for d, share in zip(cat.DISTRICTS, counts.tolist(), strict=True):
        put(f"district_share_{d.code}", d.weight, share)
    g_ent, g_ind = growth_rates()
    young = (today - pop.reg_day) < 5 * DAYS_PER_YEAR
    put("enterprises_registered_last_5y", 1 - np.exp(-5 * g_ent), young[enterprise].mean())
    put("individuals_registered_last_5y", 1 - np.exp(-5 * g_ind), young[~enterprise].mean())
    put("active_share", None, (pop.exit_day > today).mean())
    put("shell_share_of_companies", None, pop.shell[pop.etype == cat.COMPANY].mean())
    put("largest_address_cluster", None, pop.cluster.max())

    full_years = _full_years(as_of)
    c_day = h.complaints.get("day").astype(np.int64)
    p_day = h.penalties.get("day").astype(np.int64)
    years = c_day.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    p_years = p_day.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    for y in full_years:
        put(f"complaints_{y}", cat.GZ_COMPLAINTS_5Y / 5 * scale, (years == y).sum())
        put(f"penalties_{y}", cat.GZ_CASES_5Y / 5 * scale, (p_years == y).sum())

    ev = h.inspections
    item, result = ev.get("item").astype(np.int64), ev.get("result").astype(np.int64)
    pi, insp = ev.get("pi"), ev.get("insp").astype(np.int64)
    food = item == cat.ITEM_INDEX[cat.FOOD_SAMPLING_ITEM]
    sampled = food & IS_OBSERVATION[result] & (result != 3)  # reached: not unreachable
    if sampled.any():
        put("food_sampling_pass_rate", cat.GZ_FOOD_PASS, (result[sampled] == NO_PROBLEM).mean())
    random_obs = ~np.isnan(pi) & IS_OBSERVATION[result]
    put("random_draw_problem_rate", None, IS_PROBLEM[result[random_obs]].mean())
    put("inspection_rows_per_month", None, len(result) / 36)
    put("random_visits_per_month", HISTORY_LEVEL_TARGET * scale, _random_visits(ev) / 36)
    # Inspector strictness shows as a wide spread of recorded problem rates.
    obs = IS_OBSERVATION[result] & (result != 3) & (result != 1)
    per = np.bincount(insp[obs], minlength=staff.n)
    hits = np.bincount(insp[obs], weights=IS_PROBLEM[result[obs]], minlength=staff.n)
    busy = per >= 30
    if busy.sum() >= 10:
        rate = hits[busy] / per[busy]
        put("inspector_problem_rate_p05", None, np.quantile(rate, 0.05))
        put("inspector_problem_rate_p95", None, np.quantile(rate, 0.95))

    last = h.report_years.index(max(reported_years(h, today)))
    f = h.filed[:, last]
    obliged = f >= 0
    put("annual_report_filing_rate", None, (f[obliged] < NEVER).mean())
    kind = h.lists.get("kind").astype(np.int64)
    put("on_abnormal_list_at_as_of", None, h.month_on_abnormal.mean())
    put("serious_violation_listings", None, (kind != ABNORMAL).sum())
    put("inspectors", cat.GZ_INSPECTORS * np.sqrt(scale), staff.n)
    put("inspectors_expired_certificates", None, (staff.expires < today).mean())
    put("month_visits_expected_nominal", cat.GZ_VISITS_PER_MONTH * scale, expected_visits)
    put("month_mean_problem_prob_active", None, h.month_problem_prob[pop.exit_day > today].mean())
    return out


HISTORY_LEVEL_TARGET = 0.9 * cat.GZ_VISITS_PER_MONTH


def _random_visits(ev: Events) -> int:
    pi = ev.get("pi")
    ent, day = ev.get("ent").astype(np.int64), ev.get("day").astype(np.int64)
    sel = ~np.isnan(pi)
    return len(np.unique(day[sel] * (2**32) + ent[sel]))


def _full_years(as_of: date) -> list[int]:
    first = month_bounds(as_of, 36)[0][0]
    start_year = int(np.datetime64(first, "D").astype("datetime64[Y]").astype(int) + 1970)
    last = day_number(as_of)
    return [
        y
        for y in range(start_year, as_of.year + 1)
        if day_number(date(y, 1, 1)) >= first and day_number(date(y, 12, 31)) <= last
    ]

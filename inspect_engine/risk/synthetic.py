"""A small simulated city with a known truth, for tests, benchmarks and the docs' figures.

Not the project's city generator (that is `simulations/`): this one exists so the risk
kernel can be checked against a truth it never sees. Each enterprise has a static log-odds
of a problem for an average inspector, made of observable parts (industry, district, type,
age, capital, licences, same-address cluster) and a hidden trait. The hidden trait also
drives complaints, late annual reports, list entries and penalties, so the history carries
it and a good model learns it. Inspectors have a strictness that shifts the log-odds of
the visits they make.

Sampling each month: random visits with a known π that depends on the industry's public
risk (so weights matter), plus complaint-driven visits with unknown π. Vectorised over
enterprises; the only loop is over months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inspect_engine.publication.result_codes import IS_PROBLEM, ResultCode
from inspect_engine.risk.inspectors import sigmoid
from inspect_engine.risk.tables import (
    AnnualReports,
    Complaints,
    EnterpriseTable,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
    as_day,
)

DISTRICTS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114",
             "440115", "440117", "440118")  # fmt: skip
LICENCES = ("food_business", "food_production", "drug_retail", "cosmetics", "special_equipment")
LICENCE_SHARE = (0.2, 0.03, 0.02, 0.02, 0.05)
LICENCE_RISK = (0.4, 0.5, 0.3, 0.3, 0.2)
TAGS = ("elevator_user", "school_canteen")
PROBLEM_CODES = (
    ResultCode.NOT_DISCLOSED, ResultCode.CORRECTED, ResultCode.PENDING, ResultCode.UNREACHABLE,
    ResultCode.FALSE_DISCLOSURE, ResultCode.NON_COOPERATION,
)  # fmt: skip
PROBLEM_CODE_SHARE = (0.3, 0.4, 0.15, 0.1, 0.04, 0.01)


@dataclass(frozen=True)
class SimulatedCity:
    enterprises: EnterpriseTable
    history: HistoryEvents
    start: np.datetime64
    end: np.datetime64  # history covers [start, end)
    static_logit: NDArray[np.float64]  # true log-odds for the average inspector, less youth
    hidden: NDArray[np.float64]  # the unobserved trait
    strictness: NDArray[np.float64]  # per inspector, log-odds shift
    general_pool: NDArray[np.int64]  # inspectors who may inspect anywhere

    def logit(self, day: np.datetime64) -> NDArray[np.float64]:
        """True log-odds of a problem on `day` for the average inspector."""
        return self.static_logit + _youth(self.enterprises.registered_on, day)

    def true_probability(
        self, day: np.datetime64 | None = None, n_teams: int = 64, seed: int = 0
    ) -> NDArray[np.float64]:
        """P(problem) of an inspection on `day` (default: the end of the history) by a
        random team of the general pool, per enterprise."""
        rng = np.random.default_rng(seed)
        a, b = _pairs(rng, self.general_pool, n_teams)
        team = 0.5 * (self.strictness[a] + self.strictness[b])
        logit = self.logit(self.end if day is None else day)
        p = np.zeros(len(logit))
        for t in team:
            p += sigmoid(logit + t)
        return p / n_teams


def _youth(registered: NDArray[np.datetime64], day: np.datetime64) -> NDArray[np.float64]:
    """Extra log-odds of young enterprises: 0.5 at registration, fading to 0 at 3 years."""
    age_days = (as_day(day) - registered).astype(np.float64)
    youth: NDArray[np.float64] = 0.5 * np.clip(1.0 - age_days / (3 * 365.25), 0.0, 1.0)
    return youth


def _pairs(
    rng: np.random.Generator, pool: NDArray[np.int64], n: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """n teams of two distinct inspectors from the pool."""
    first = rng.integers(len(pool), size=n)
    second = (first + 1 + rng.integers(len(pool) - 1, size=n)) % len(pool)
    return pool[first], pool[second]


def _uniform_days(
    rng: np.random.Generator, start: np.datetime64, end: np.datetime64, n: int
) -> NDArray[np.datetime64]:
    span = int((end - start).astype(np.int64))
    return start + rng.integers(span, size=n).astype("timedelta64[D]")


def simulate_city(
    n_enterprises: int = 20_000,
    months: int = 36,
    seed: int = 0,
    start: str = "2023-01-01",
    monthly_ratio: float = 0.02,
    n_inspectors: int = 200,
    strictness_sd: float = 0.5,
    hidden_weight: float = 1.0,
    base_logit: float = -2.6,
    strict_district: str | None = None,
    strict_shift: float = 1.5,
) -> SimulatedCity:
    """Simulate `months` of history for a city (see module docstring).

    With `strict_district`, a tenth of the inspectors are strict (+`strict_shift` log-odds)
    and make 70% of the visits in that district and none elsewhere: the confounded case a
    model must not mistake for the district's own risk."""
    rng = np.random.default_rng(seed)
    n = n_enterprises
    t0 = np.datetime64(start, "D")
    end = (np.datetime64(start, "M") + months).astype("datetime64[D]")

    # --- the directory ----------------------------------------------------------------------
    divisions = np.array(
        [f"{s}{d:02d}" for s, d in zip("CCCEFFFHHIKLMOOR", range(13, 29), strict=True)]
    )
    industry = rng.integers(len(divisions), size=n)
    industry_risk = rng.normal(0.0, 0.5, len(divisions))
    district = rng.integers(len(DISTRICTS), size=n)
    district_risk = rng.normal(0.0, 0.2, len(DISTRICTS))
    entity_type = rng.choice(5, size=n, p=[0.4, 0.54, 0.02, 0.03, 0.01])
    type_risk = np.array([0.0, 0.3, 0.1, -0.2, -0.3])
    age_days = rng.exponential(7 * 365.25, size=n).astype(np.int64)
    registered = end - age_days.astype("timedelta64[D]")
    capital = np.exp(rng.normal(13.0, 1.8, size=n))
    capital[(entity_type == 1) & (rng.random(n) < 0.6)] = np.nan
    licences = np.zeros(n, dtype=np.int64)
    licence_risk = np.zeros(n)
    for bit, (share, risk) in enumerate(zip(LICENCE_SHARE, LICENCE_RISK, strict=True)):
        has = rng.random(n) < share
        licences |= has.astype(np.int64) << bit
        licence_risk += risk * has
    tags = (rng.random(n) < 0.1).astype(np.int64) | ((rng.random(n) < 0.01).astype(np.int64) << 1)
    hubs = max(n // 2000, 1)
    in_hub = rng.random(n) < 0.08
    address = np.where(in_hub, rng.integers(hubs, size=n), hubs + np.arange(n))
    hidden = rng.normal(0.0, 1.0, size=n)
    small = np.nan_to_num(np.log10(capital) < 5.0, nan=1.0)
    logit = (
        base_logit + industry_risk[industry] + district_risk[district] + type_risk[entity_type]
        + 0.2 * small + licence_risk + 0.6 * in_hub + hidden_weight * hidden
    )  # fmt: skip
    enterprises = EnterpriseTable(
        credit_code=np.array([f"SIM{i:015d}" for i in range(n)]),
        entity_type=entity_type.astype(np.int32),
        industry=industry.astype(np.int32),
        district=district.astype(np.int32),
        registered_on=registered,
        registered_capital=capital,
        licences=licences,
        tags=tags,
        address=address,
        industries=tuple(str(d) for d in divisions),
        districts=DISTRICTS,
        licence_names=LICENCES,
        tag_names=TAGS,
    )

    # --- inspectors ------------------------------------------------------------------------
    strictness = rng.normal(0.0, strictness_sd, n_inspectors)
    strictness -= strictness.mean()
    if strict_district is not None:
        n_strict = max(n_inspectors // 10, 2)
        strictness[:n_strict] = strict_shift
        strict_pool = np.arange(n_strict)
        general_pool = np.arange(n_strict, n_inspectors)
        strict_code = DISTRICTS.index(strict_district)
    else:
        strict_pool = np.zeros(0, dtype=np.int64)
        general_pool = np.arange(n_inspectors)
        strict_code = -1

    # --- month by month --------------------------------------------------------------------
    pi_base = np.clip(monthly_ratio * np.exp(0.8 * industry_risk[industry]), 0.002, 1.0)
    visits: dict[str, list[NDArray[np.generic]]] = {
        k: [] for k in ("ent", "day", "res", "a", "b", "pi")
    }
    com: dict[str, list[NDArray[np.generic]]] = {k: [] for k in ("ent", "day", "sub")}
    month_start = np.datetime64(start, "M")
    for m in range(months):
        lo = (month_start + m).astype("datetime64[D]")
        hi = (month_start + m + 1).astype("datetime64[D]")
        exists = registered < lo
        # Complaints, and the visits the substantiated ones trigger.
        rate = exists * 0.004 * np.exp(0.9 * hidden + 0.3 * (licences & 1))
        counts = rng.poisson(rate)
        c_ent = np.repeat(np.arange(n), counts)
        c_day = _uniform_days(rng, lo, hi, len(c_ent))
        c_sub = rng.random(len(c_ent)) < sigmoid(-0.5 + 0.8 * hidden[c_ent])
        com["ent"].append(c_ent)
        com["day"].append(c_day)
        com["sub"].append(c_sub)
        triggered = c_sub & (rng.random(len(c_ent)) < 0.3)
        t_ent = c_ent[triggered]
        t_day = c_day[triggered] + rng.integers(1, 15, size=len(t_ent)).astype("timedelta64[D]")
        # Random visits with a known π.
        r_ent = np.flatnonzero(exists & (rng.random(n) < pi_base))
        r_day = _uniform_days(rng, lo, hi, len(r_ent))
        v_ent = np.r_[r_ent, t_ent]
        v_day = np.r_[r_day, t_day]
        v_pi = np.r_[pi_base[r_ent], np.full(len(t_ent), np.nan)]
        a, b = _pairs(rng, general_pool, len(v_ent))
        if strict_code >= 0:
            use_strict = (district[v_ent] == strict_code) & (rng.random(len(v_ent)) < 0.7)
            sa, sb = _pairs(rng, strict_pool, len(v_ent))
            a, b = np.where(use_strict, sa, a), np.where(use_strict, sb, b)
        team = 0.5 * (strictness[a] + strictness[b])
        v_logit = logit[v_ent] + _youth(registered[v_ent], lo)
        problem = rng.random(len(v_ent)) < sigmoid(v_logit + team)
        result = np.full(len(v_ent), ResultCode.NO_PROBLEM.index, dtype=np.int8)
        kinds = rng.choice(len(PROBLEM_CODES), size=len(v_ent), p=PROBLEM_CODE_SHARE)
        codes = np.array([c.index for c in PROBLEM_CODES], dtype=np.int8)
        result[problem] = codes[kinds[problem]]
        closed = rng.random(len(v_ent)) < 0.03
        result[closed] = ResultCode.CLOSED.index
        for key, value in (("ent", v_ent), ("day", v_day), ("res", result), ("a", a), ("b", b),
                           ("pi", v_pi)):  # fmt: skip
            visits[key].append(value)

    v = {key: np.concatenate(value) for key, value in visits.items()}
    in_window = v["day"] < end
    v = {key: value[in_window] for key, value in v.items()}
    # One row per team member: the rows of a visit share its result.
    inspections = Inspections(
        enterprise=np.r_[v["ent"], v["ent"]],
        inspected_on=np.r_[v["day"], v["day"]],
        result=np.r_[v["res"], v["res"]],
        inspector=np.r_[v["a"], v["b"]],
        inclusion_probability=np.r_[v["pi"], v["pi"]],
        department=np.zeros(2 * len(v["ent"]), dtype=np.int32),
        departments=("SAMR",),
    )
    complaints = Complaints(
        np.concatenate(com["ent"]), np.concatenate(com["day"]), np.concatenate(com["sub"])
    )
    penalties, serious = _penalties(rng, v["ent"], v["day"], v["res"], hidden, end)
    reports, abnormal = _annual_reports(rng, registered, hidden, t0, end)
    unreachable = v["res"] == ResultCode.UNREACHABLE.index
    lists = _lists((v["ent"][unreachable], v["day"][unreachable]), abnormal, serious, end)
    history = HistoryEvents(inspections, penalties, complaints, reports, lists)
    return SimulatedCity(
        enterprises, history, t0, end, logit, hidden, strictness, general_pool.astype(np.int64)
    )


def _penalties(
    rng: np.random.Generator,
    visit_ent: NDArray[np.int64],
    visit_day: NDArray[np.datetime64],
    result: NDArray[np.int8],
    hidden: NDArray[np.float64],
    end: np.datetime64,
) -> tuple[Penalties, tuple[NDArray[np.int64], NDArray[np.datetime64]]]:
    """Some problems lead to a penalty; serious ones may put the enterprise on the list."""
    # Draws for every visit, used or not, so that changing outcomes (e.g. inspector
    # strictness) leaves every other random draw of the city as it was.
    penalised = rng.random(len(result)) < 0.35
    delay = rng.integers(20, 120, len(result)).astype("timedelta64[D]")
    u_all = rng.random(len(result))
    u_list = rng.random(len(result))
    found = IS_PROBLEM[result] & penalised
    ent = visit_ent[found]
    day = visit_day[found] + delay[found]
    serious_p = np.where(hidden[ent] > 1.5, 0.2, 0.05)
    u = u_all[found]
    severity = np.where(u < serious_p, 2, np.where(u < serious_p + 0.38, 1, 0)).astype(np.int8)
    keep = day < end
    ent, day, severity = ent[keep], day[keep], severity[keep]
    to_list = (severity == 2) & (u_list[found][keep] < 0.3)
    listed_on = day[to_list] + np.timedelta64(30, "D")
    return Penalties(ent, day, severity), (ent[to_list], listed_on)


Listings = tuple[NDArray[np.int64], NDArray[np.datetime64], NDArray[np.datetime64]]


def _annual_reports(
    rng: np.random.Generator,
    registered: NDArray[np.datetime64],
    hidden: NDArray[np.float64],
    start: np.datetime64,
    end: np.datetime64,
) -> tuple[AnnualReports, Listings]:
    """A row per due report year; late and missing reports put enterprises on the list."""
    first_year = int(str(start)[:4]) - 3
    last_year = int(str(end)[:4]) - 1
    ents, years, filed_all = [], [], []
    l_ent, l_on, l_off = [], [], []
    for year in range(first_year, last_year + 1):
        jan = np.datetime64(f"{year + 1}-01-01")
        due = np.flatnonzero(registered < jan)
        u = rng.random(len(due))
        on_time = u < sigmoid(2.2 - 0.9 * hidden[due])
        late = ~on_time & (rng.random(len(due)) < 0.5)
        filed = np.full(len(due), np.datetime64("NaT"), dtype="datetime64[D]")
        filed[on_time] = jan + rng.integers(0, 181, on_time.sum()).astype("timedelta64[D]")
        deadline_next = np.datetime64(f"{year + 1}-07-01")
        filed[late] = deadline_next + rng.integers(0, 300, late.sum()).astype("timedelta64[D]")
        filed[filed >= end] = np.datetime64("NaT")
        ents.append(due)
        years.append(np.full(len(due), year, dtype=np.int32))
        filed_all.append(filed)
        listed = ~on_time & (rng.random(len(due)) < 0.9)
        on = deadline_next + rng.integers(0, 60, listed.sum()).astype("timedelta64[D]")
        off = filed[listed] + np.timedelta64(10, "D")  # NaT stays NaT: still listed
        l_ent.append(due[listed])
        l_on.append(on)
        l_off.append(off)
    reports = AnnualReports(np.concatenate(ents), np.concatenate(years), np.concatenate(filed_all))
    return reports, (np.concatenate(l_ent), np.concatenate(l_on), np.concatenate(l_off))


def _lists(
    unreachable: tuple[NDArray[np.int64], NDArray[np.datetime64]],
    abnormal: Listings,
    serious: tuple[NDArray[np.int64], NDArray[np.datetime64]],
    end: np.datetime64,
) -> ListEntries:
    """Abnormal list: late/missing reports and unreachable results; serious list: serious
    penalties. Dates after the end of the history are not known yet."""
    u_ent, u_day = unreachable
    a_ent, a_on, a_off = abnormal
    s_ent, s_on = serious
    ent = np.r_[a_ent, u_ent, s_ent]
    kind = np.r_[np.zeros(len(a_ent) + len(u_ent), np.int8), np.ones(len(s_ent), np.int8)]
    on = np.r_[a_on, u_day + np.timedelta64(10, "D"), s_on]
    never = np.full(len(u_ent) + len(s_ent), np.datetime64("NaT"), "datetime64[D]")
    off = np.r_[a_off, never]
    keep = on < end
    off = np.where(off >= end, np.datetime64("NaT"), off)
    return ListEntries(ent[keep], kind[keep], on[keep], off[keep])

"""A city made by someone else: a second, independent generator, to judge the risk model
as a new user's city would (issue 17 item 3).

It shares nothing with `simulations.truth`, `population` or `history` (no log-odds, no
latent normal trait, no catalogue): its districts, industries and licences are its own, and
its risk is a **decision tree over hidden traits and observable thresholds**, with its own
noise:

- hidden, never in the directory: management quality q ~ U(0, 1), a cash-stress flag
  (20 %), and a lognormal "temper" multiplier (sd 0.35) on the risk;
- the tree (monthly probability that a visit finds a problem, before the multiplier):
  cash stress and younger than 3 years → 0.42; food trade and q < 0.3 → 0.36;
  an individual business at an address shared by 5 or more → 0.26;
  a company with capital above 5 M CNY → 0.04; else 0.07, or 0.16 when q < 0.5;
- the history (36 months before as_of): random inspections by the city's old practice
  (π 1 %, 3 % after a recorded problem in the last two years), complaints at a rate rising
  with the risk, 30 % of them checked (π unknown), inspectors whose leniency multiplies
  what they find (0.6 to 1.4), penalties after a third of the pending problems, annual
  reports filed less often by poorly run enterprises, and the abnormal list for a missed
  report.

`true_risk` is the probability for the month after as_of (standard visit, average
inspector); `true_score` is the tree with its hidden traits averaged out (256 draws per
enterprise from their priors): the best a model of the directory alone could rank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inspect_engine.publication.result_codes import CODES
from inspect_engine.risk.tables import (
    AnnualReports,
    Complaints,
    EnterpriseTable,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
)

AS_OF = "2026-12-01"
MONTHS = 36
DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310110", "310112")
INDUSTRIES = ("F52", "F51", "H62", "H61", "I65", "L72", "C14", "C17", "O80", "R86", "M75", "E48")
FOOD = {"F52", "H62", "H61", "C14"}
LICENCES = ("food_business", "food_production", "cosmetics", "special_equipment")
TYPES = ("company", "individual", "branch")
NO_PROBLEM, CORRECTED, PENDING = (CODES.index(c) for c in ("no_problem", "corrected", "pending"))


@dataclass(frozen=True)
class OutsideCity:
    table: EnterpriseTable
    history: HistoryEvents
    as_of: str
    active: NDArray[np.bool_]
    true_risk: NDArray[np.float64]
    true_score: NDArray[np.float64]
    hidden_quality: NDArray[np.float64]


@dataclass(frozen=True)
class _Firms:
    etype: NDArray[np.int64]
    industry: NDArray[np.int64]
    district: NDArray[np.int64]
    registered: NDArray[np.int64]  # day number
    capital: NDArray[np.float64]  # NaN for individual businesses
    licences: NDArray[np.int64]
    address: NDArray[np.int64]
    crowd: NDArray[np.int64]  # enterprises at the same address


def _firms(rng: np.random.Generator, n: int, today: int) -> _Firms:
    etype = rng.choice(3, n, p=[0.55, 0.4, 0.05])
    industry = rng.choice(len(INDUSTRIES), n)
    district = rng.choice(len(DISTRICTS), n, p=[0.1, 0.12, 0.15, 0.13, 0.2, 0.15, 0.15])
    registered = today - np.floor(rng.exponential(6.0, n) * 365.25).astype(np.int64) - 1
    capital = np.where(etype == 1, np.nan, np.round(np.exp(rng.normal(13.0, 1.6, n)), -3))
    food = np.isin(np.array(INDUSTRIES)[industry], list(FOOD))
    licences = (food & (rng.random(n) < 0.9)).astype(np.int64)
    licences |= ((industry == INDUSTRIES.index("C14")) & (rng.random(n) < 0.7)) << 1
    licences |= ((industry == INDUSTRIES.index("O80")) & (rng.random(n) < 0.8)) << 2
    licences |= (rng.random(n) < 0.03).astype(np.int64) << 3
    # addresses: most alone, some business centres holding dozens
    hubs = max(n // 200, 1)
    at_hub = rng.random(n) < 0.18
    address = np.where(at_hub, rng.integers(0, hubs, n), hubs + np.arange(n))
    _, inverse, counts = np.unique(address, return_inverse=True, return_counts=True)
    return _Firms(
        etype, industry, district, registered, capital, licences, address, counts[inverse]
    )


Tree = Callable[
    [_Firms, NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]],
    NDArray[np.float64],
]


def _tree(
    f: _Firms,
    age: NDArray[np.float64],
    quality: NDArray[np.float64],
    stress: NDArray[np.bool_],
    temper: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The monthly problem probability of a standard visit by an average inspector."""
    food = np.isin(np.array(INDUSTRIES)[f.industry], list(FOOD))
    big = (f.etype == 0) & (np.nan_to_num(f.capital) > 5e6)
    leaf = np.select(
        [
            stress & (age < 3),
            food & (quality < 0.3),
            (f.etype == 1) & (f.crowd >= 5),
            big,
        ],
        [0.42, 0.36, 0.26, 0.04],
        np.where(quality < 0.5, 0.16, 0.07),
    )
    return np.asarray(np.minimum(leaf * temper, 0.95))


def _tree_visible(
    f: _Firms,
    age: NDArray[np.float64],
    quality: NDArray[np.float64],
    stress: NDArray[np.bool_],
    temper: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The "visible" variant: what the directory shows picks the leaf; the hidden traits
    only scale it (poor management × 1.3, cash stress in the first 3 years + 0.08, the
    temper's square root: a lognormal of sd 0.175)."""
    food = np.isin(np.array(INDUSTRIES)[f.industry], list(FOOD))
    big = (f.etype == 0) & (np.nan_to_num(f.capital) > 5e6)
    licensed = (f.licences & 0b1100) != 0  # cosmetics or special equipment
    leaf = np.select(
        [
            (f.crowd >= 5) & (age < 2),
            food & (f.etype == 1) & (age < 3),
            food & (f.etype == 1),
            licensed,
            big | (age > 12),
        ],
        [0.60, 0.40, 0.22, 0.25, 0.02],
        0.08,
    )
    leaf = leaf * np.where(quality < 0.3, 1.3, 1.0) + 0.08 * (stress & (age < 3))
    return np.asarray(np.minimum(leaf * np.sqrt(temper), 0.95))


VARIANTS = {"hidden": _tree, "visible": _tree_visible}


def make_outside_city(n: int, seed: int, variant: str = "hidden") -> OutsideCity:
    """The city of `n` enterprises for `seed` (same seed, same city); `variant` picks the
    tree: "hidden" (hidden traits pick most leaves) or "visible" (they only scale them)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown outside-city variant {variant!r}: one of {', '.join(VARIANTS)}")
    tree = VARIANTS[variant]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4242]))
    today = int(np.datetime64(AS_OF, "D").astype(np.int64))
    f = _firms(rng, n, today)
    quality = rng.random(n)
    stress = rng.random(n) < 0.2
    temper = np.exp(rng.normal(0.0, 0.35, n))
    exit_day = np.where(rng.random(n) < 0.12, today - rng.integers(0, 1500, n), 10**7)
    exit_day = np.maximum(exit_day, f.registered + 30)
    leniency = rng.uniform(0.6, 1.4, 60)

    ins: dict[str, list[NDArray[np.generic]]] = {k: [] for k in ("e", "d", "r", "i", "pi")}
    comp: dict[str, list[NDArray[np.generic]]] = {k: [] for k in ("e", "d", "s")}
    pen: dict[str, list[NDArray[np.generic]]] = {k: [] for k in ("e", "d", "s")}
    last_problem = np.full(n, -(10**7))
    for m in range(MONTHS):
        first = today - (MONTHS - m) * 30
        alive = (f.registered <= first) & (exit_day > first + 30)
        p = tree(f, (first - f.registered) / 365.25, quality, stress, temper)
        # random inspections, the city's old practice
        pi = np.where(first - last_problem < 730, 0.03, 0.01)
        drawn = alive & (rng.random(n) < pi)
        # complaints, and the checks that follow some of them
        rate = 0.01 * (1.0 + 12.0 * p) * alive
        c_ent = np.repeat(np.arange(n), rng.poisson(rate))
        c_sub = rng.random(len(c_ent)) < np.minimum(2.5 * p[c_ent], 1.0)
        comp["e"].append(c_ent)
        comp["d"].append(first + rng.integers(0, 30, len(c_ent)))
        comp["s"].append(c_sub)
        checked = np.unique(c_ent[rng.random(len(c_ent)) < 0.3])
        checked = checked[~drawn[checked]]
        ent = np.concatenate([np.flatnonzero(drawn), checked])
        vpi = np.concatenate([pi[drawn], np.full(len(checked), np.nan)])
        inspector = rng.integers(0, len(leniency), len(ent))
        found = rng.random(len(ent)) < np.minimum(p[ent] * leniency[inspector], 1.0)
        result = np.where(
            found, np.where(rng.random(len(ent)) < 0.6, CORRECTED, PENDING), NO_PROBLEM
        )
        day = first + rng.integers(0, 28, len(ent))
        for k, v in zip(
            ["e", "d", "r", "i", "pi"], (ent, day, result, inspector, vpi), strict=True
        ):
            ins[k].append(v)
        last_problem[ent[found]] = day[found]
        fined = (result == PENDING) & (rng.random(len(ent)) < 0.35)
        pen["e"].append(ent[fined])
        pen["d"].append(day[fined] + rng.integers(30, 90, int(fined.sum())))
        pen["s"].append(rng.choice(3, int(fined.sum()), p=[0.5, 0.4, 0.1]))

    history = HistoryEvents(
        inspections=_inspections(ins),
        penalties=_penalties(pen, today),
        complaints=Complaints(
            np.concatenate(comp["e"]),
            np.concatenate(comp["d"]).astype("datetime64[D]"),
            np.concatenate(comp["s"]),
        ),
        annual_reports=_reports(rng, f, quality, exit_day, today),
        lists=ListEntries.empty(),
    )
    history = _with_abnormal_list(history, today)
    age_next = (today + 15 - f.registered) / 365.25
    true_risk = tree(f, age_next, quality, stress, temper)
    true_score = _averaged_tree(rng, f, age_next, tree)
    table = EnterpriseTable.from_strings(
        [f"OC{seed % 1000:03d}{i:013d}" for i in range(n)],
        [TYPES[t] for t in f.etype.tolist()],
        [INDUSTRIES[i] for i in f.industry.tolist()],
        [DISTRICTS[d] for d in f.district.tolist()],
        f.registered.astype("datetime64[D]"),
        [None if np.isnan(c) else float(c) for c in f.capital.tolist()],
        [
            ";".join(LICENCES[b] for b in range(len(LICENCES)) if m >> b & 1)
            for m in f.licences.tolist()
        ],
        None,
        [f"addr-{a}" for a in f.address.tolist()],
    )
    active = exit_day > today
    return OutsideCity(table, history, AS_OF, active, true_risk, true_score, quality)


def _averaged_tree(
    rng: np.random.Generator, f: _Firms, age: NDArray[np.float64], tree: Tree
) -> NDArray[np.float64]:
    """The tree's probability with the hidden traits averaged over their priors."""
    n, draws = len(age), 256
    total = np.zeros(n)
    for _ in range(draws):
        total += tree(f, age, rng.random(n), rng.random(n) < 0.2, np.exp(rng.normal(0.0, 0.35, n)))
    return total / draws


def _inspections(ins: dict[str, list[NDArray[np.generic]]]) -> Inspections:
    joined = {k: np.concatenate(v) for k, v in ins.items()}
    return Inspections(
        enterprise=joined["e"],
        inspected_on=joined["d"].astype("datetime64[D]"),
        result=joined["r"],
        inspector=joined["i"],
        inclusion_probability=joined["pi"],
        department=np.zeros(len(joined["e"]), dtype=np.int32),
        departments=("market",),
    )


def _penalties(pen: dict[str, list[NDArray[np.generic]]], today: int) -> Penalties:
    e, d, s = (np.concatenate(pen[k]) for k in "eds")
    keep = d < today
    return Penalties(e[keep], d[keep].astype("datetime64[D]"), s[keep])


def _reports(
    rng: np.random.Generator,
    f: _Firms,
    quality: NDArray[np.float64],
    exit_day: NDArray[np.int64],
    today: int,
) -> AnnualReports:
    """Reports for 2021–2025: filed (in the first half of the next year) with probability
    0.55 + 0.44·q, a year at a time."""
    ent, year, filed = [], [], []
    for y in range(2021, 2026):
        start = int(np.datetime64(f"{y}-01-01", "D").astype(np.int64))
        due = int(np.datetime64(f"{y + 1}-06-30", "D").astype(np.int64))
        obliged = np.flatnonzero((f.registered < start) & (exit_day > due) & (due < today))
        ok = rng.random(len(obliged)) < 0.55 + 0.44 * quality[obliged]
        days = due - rng.integers(1, 150, len(obliged))
        ent.append(obliged)
        year.append(np.full(len(obliged), y))
        filed.append(np.where(ok, days, np.iinfo(np.int64).min))
    e, y_, d = np.concatenate(ent), np.concatenate(year), np.concatenate(filed)
    days = np.where(d == np.iinfo(np.int64).min, np.datetime64("NaT"), d.astype("datetime64[D]"))
    return AnnualReports(e, y_.astype(np.int32), days.astype("datetime64[D]"))


def _with_abnormal_list(history: HistoryEvents, today: int) -> HistoryEvents:
    """A missed report puts the enterprise on the abnormal list on 1 July after the due day
    (once; never removed in this city)."""
    r = history.annual_reports
    missed = np.isnat(r.filed_on)
    listed = (r.year[missed].astype(np.int64) - 1970 + 1).astype("datetime64[Y]").astype(
        "datetime64[D]"
    ) + 181
    ent, first = np.unique(r.enterprise[missed], return_index=True)
    day = listed[first]
    keep = day.astype(np.int64) < today
    lists = ListEntries(
        ent[keep],
        np.zeros(int(keep.sum()), np.int8),
        day[keep],
        np.full(int(keep.sum()), np.datetime64("NaT"), dtype="datetime64[D]"),
    )
    return HistoryEvents(
        history.inspections, history.penalties, history.complaints, history.annual_reports, lists
    )

"""The latent ground truth of the synthetic city, and the rules that turn it into results.

One function, `draw_results`, decides what an inspection records; the generator uses it for
three years of history and experiments use it (through `simulate_visit_results`) for the
month they plan, so that history and experiment follow the same rules. The formulas are
documented in docs/synthetic-city.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

RESULT_CODES = (
    "no_problem",
    "not_disclosed",
    "false_disclosure",
    "unreachable",
    "corrected",
    "pending",
    "non_cooperation",
    "no_activity",
    "closed",
    "deregistered",
)
(
    NO_PROBLEM,
    NOT_DISCLOSED,
    FALSE_DISCLOSURE,
    UNREACHABLE,
    CORRECTED,
    PENDING,
    NON_COOPERATION,
    NO_ACTIVITY,
    CLOSED,
    DEREGISTERED,
) = range(len(RESULT_CODES))
IS_PROBLEM = np.array([0, 1, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
IS_OBSERVATION = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)


@dataclass(frozen=True)
class TruthParams:
    """Coefficients of the truth model (log-odds unless said otherwise)."""

    # The truth family (`simulations.families`): "additive" is the model documented here;
    # the others add a term to logit p or thin the history.
    family: str = "additive"

    intercept: float = -3.5
    # company, individual, cooperative, branch, foreign_rep
    entity_type: tuple[float, ...] = (0.0, 0.15, 0.1, -0.3, -0.8)
    licence_each: float = 0.15
    cluster_log: float = 0.25  # × ln(size of the same-address cluster)
    small_capital: float = 0.25  # company with registered capital below 100,000 CNY
    new_business: float = 0.5  # × exp(-age_years / new_decay_years)
    new_decay_years: float = 1.5
    old_business: float = -0.2  # older than 10 years
    abnormal_list: float = 0.7  # currently on the abnormal-operations list
    serious_list: float = 1.0  # currently on the serious-violation list
    recent_problem: float = 0.5  # a problem was recorded in the last 365 days
    latent_sd: float = 0.9  # the hidden risk z ~ N(0, 1) enters as latent_sd · z
    strictness_sd: float = 0.7  # inspector multiplier ~ lognormal, mean 1
    # Shell companies (not at the registered address: every visit finds them unreachable).
    shell_intercept: float = -5.4
    shell_latent: float = 0.8  # × z
    shell_cluster: float = 0.9  # × ln(cluster size)
    shell_young: float = 0.6  # registered less than 3 years ago
    # Dormant entities (closed without deregistering: visits record `closed`).
    dormant_intercept: float = -4.0
    dormant_latent: float = 0.3
    dormant_age: float = 0.04  # per year of age
    # Annual reports: P(filed at all), then P(on time | filed).
    file_intercept: float = 3.2
    file_latent: float = -0.5
    file_shell: float = -5.0
    file_dormant: float = -2.5
    file_individual: float = -0.8
    ontime_intercept: float = 2.6
    ontime_latent: float = -0.4
    # What a found problem is recorded as.
    no_activity_prob: float = 0.02  # an item's activity is not carried on (not an observation)
    problem_mix: tuple[float, float, float] = (0.62, 0.35, 0.03)  # corrected, pending, non_coop
    info_mix: tuple[float, float, float] = (0.5, 0.3, 0.2)  # false_disclosure, corrected, pending
    # Complaints: monthly rate ∝ exposure(industry) · exp(complaint_latent · logit p).
    complaint_latent: float = 0.7
    complaint_inactive: float = 0.2  # shells and dormant entities still draw a few complaints
    substantiated_weight: float = 4.0  # P(substantiated) = 1 - (1 - p)^weight
    # Penalties: P(case | result), delay in days, severity.
    penalty_given: dict[str, float] = field(
        default_factory=lambda: {
            "pending": 0.5,
            "non_cooperation": 0.8,
            "false_disclosure": 0.3,
            "corrected": 0.03,
        }
    )
    penalty_delay_days: tuple[int, int] = (20, 120)
    serious_intercept: float = -2.9  # P(serious severity) = sigmoid(this + serious_latent·z/sd)
    serious_latent: float = 0.6
    general_share: float = 0.38
    serious_list_after_serious_penalty: float = 0.4


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def item_problem_probability(
    p: np.ndarray, weight: np.ndarray, strictness: np.ndarray
) -> np.ndarray:
    """P(an item records a problem) = 1 - (1 - p)^(weight · strictness).

    p is the entity's monthly problem probability for a standard item (weight 1) checked by
    an average team (strictness 1); small p gives ≈ p · weight · strictness."""
    return np.asarray(1.0 - np.power(1.0 - p, weight * strictness))


def draw_results(
    rng: np.random.Generator,
    params: TruthParams,
    *,
    p: np.ndarray,
    weight: np.ndarray,
    strictness: np.ndarray,
    is_info: np.ndarray,
    report_missing: np.ndarray,
    exited: np.ndarray,
    shell: np.ndarray,
    dormant: np.ndarray,
) -> np.ndarray:
    """Result codes (indices into RESULT_CODES) for inspection rows, one row per item.

    In order: an exited entity is `deregistered`; a shell is `unreachable`; a dormant one
    `closed`; the information check finds `not_disclosed` when the last due annual report is
    missing; otherwise a problem is found with `item_problem_probability` and recorded as a
    corrected / pending / non-cooperation case (information check: false disclosure first)."""
    n = len(p)
    u = rng.random((n, 3))
    found = u[:, 0] < item_problem_probability(p, weight, strictness)
    regular = np.select(
        [u[:, 1] < params.problem_mix[0], u[:, 1] < params.problem_mix[0] + params.problem_mix[1]],
        [CORRECTED, PENDING],
        NON_COOPERATION,
    )
    info = np.select(
        [u[:, 1] < params.info_mix[0], u[:, 1] < params.info_mix[0] + params.info_mix[1]],
        [FALSE_DISCLOSURE, CORRECTED],
        PENDING,
    )
    out = np.where(found, np.where(is_info, info, regular), NO_PROBLEM)
    out = np.where(~is_info & (u[:, 2] < params.no_activity_prob), NO_ACTIVITY, out)
    out = np.where(is_info & report_missing, NOT_DISCLOSED, out)
    out = np.where(dormant, CLOSED, out)
    out = np.where(shell, UNREACHABLE, out)
    out = np.where(exited, DEREGISTERED, out)
    return out.astype(np.int8)


# --- the truth of a generated city, for experiments ---------------------------------------
@dataclass(frozen=True)
class CityTruth:
    """truth.csv, truth_inspectors.csv and truth.json of a generated city."""

    credit_codes: np.ndarray  # str
    problem_prob: np.ndarray  # this month, standard item, average team
    latent: np.ndarray
    shell: np.ndarray
    dormant: np.ndarray
    active: np.ndarray
    report_missing: np.ndarray
    inspector_ids: np.ndarray
    strictness: np.ndarray
    item_weights: dict[str, float]
    info_items: frozenset[str]
    params: TruthParams
    month: str

    def index_of(self, credit_codes: Sequence[str]) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.credit_codes.tolist())}
        return np.array([lookup[c] for c in credit_codes], dtype=np.int64)

    def team_strictness(self, team: Sequence[str]) -> float:
        """Mean multiplier of the team's inspectors (unknown inspectors count as 1)."""
        lookup = dict(zip(self.inspector_ids.tolist(), self.strictness.tolist(), strict=True))
        values = [lookup.get(i, 1.0) for i in team]
        return float(np.mean(values)) if values else 1.0


def load_truth(city_dir: Path) -> CityTruth:
    meta = json.loads((city_dir / "truth.json").read_text(encoding="utf-8"))
    with (city_dir / "truth.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    with (city_dir / "truth_inspectors.csv").open(encoding="utf-8", newline="") as f:
        inspectors = list(csv.DictReader(f))
    raw = dict(meta["parameters"])
    for key in ("entity_type", "problem_mix", "info_mix", "penalty_delay_days"):
        raw[key] = tuple(raw[key])
    params = TruthParams(**raw)

    def column(name: str, kind: type) -> np.ndarray:
        if kind is bool:
            return np.array([r[name] == "1" for r in rows], dtype=bool)
        return np.array([kind(r[name]) for r in rows])

    return CityTruth(
        credit_codes=np.array([r["credit_code"] for r in rows]),
        problem_prob=column("problem_prob", float),
        latent=column("latent", float),
        shell=column("shell", bool),
        dormant=column("dormant", bool),
        active=column("active", bool),
        report_missing=column("report_missing", bool),
        inspector_ids=np.array([r["inspector_id"] for r in inspectors]),
        strictness=np.array([float(r["strictness"]) for r in inspectors]),
        item_weights={k: float(v) for k, v in meta["item_weights"].items()},
        info_items=frozenset(meta["info_items"]),
        params=params,
        month=meta["month"],
    )


@dataclass(frozen=True)
class VisitSpec:
    """One planned visit, as in visits.csv."""

    visit_id: str
    credit_code: str
    item_codes: tuple[str, ...]
    inspector_ids: tuple[str, ...]


def simulate_visit_results(
    truth: CityTruth,
    visits: Sequence[VisitSpec],
    inspected_on: date,
    rng: np.random.Generator,
) -> list[tuple[str, str, str, str]]:
    """Rows of results.csv (visit_id, item_code, result, inspected_on) for the month's visits,
    drawn by the same rules as the history."""
    rows = [(v, item) for v in visits for item in v.item_codes]
    if not rows:
        return []
    ent = truth.index_of([v.credit_code for v, _ in rows])
    strict = {v.visit_id: truth.team_strictness(v.inspector_ids) for v in visits}
    codes = draw_results(
        rng,
        truth.params,
        p=truth.problem_prob[ent],
        weight=np.array([truth.item_weights.get(item, 1.0) for _, item in rows]),
        strictness=np.array([strict[v.visit_id] for v, _ in rows]),
        is_info=np.array([item in truth.info_items for _, item in rows]),
        report_missing=truth.report_missing[ent],
        exited=~truth.active[ent],
        shell=truth.shell[ent],
        dormant=truth.dormant[ent],
    )
    day = inspected_on.isoformat()
    return [
        (v.visit_id, item, RESULT_CODES[c], day)
        for (v, item), c in zip(rows, codes.tolist(), strict=True)
    ]


def visit_problem_probability(
    truth: CityTruth, entity: np.ndarray, weight_sum: np.ndarray, strictness: np.ndarray
) -> np.ndarray:
    """P(a visit finds at least one problem), items independent given p (information check
    aside): 1 for shells, 0 for dormant or exited entities."""
    p = item_problem_probability(truth.problem_prob[entity], weight_sum, strictness)
    p = np.where(truth.dormant[entity] | ~truth.active[entity], 0.0, p)
    return np.where(truth.shell[entity] & truth.active[entity], 1.0, p)

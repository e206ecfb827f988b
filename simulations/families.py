"""Truth families: how the synthetic city's problem probability departs from the additive
log-odds of `truth.TruthParams` (the scorecard's own family).

    additive      logit p as documented in docs/synthetic-city.md (the default)
    interactions  thresholds and interactions of observable traits replace some main effects
    drift         district × industry-section shocks that follow a random walk month by month
    sparse        the additive truth, but a quarter of the inspections and complaints

Each family adds one term to logit p for a month (`FamilyTerm.logit`); `sparse` adds none
and thins the history instead (`history_level`). The term is part of `observable_logit` in
truth.csv, so p = sigmoid(observable_logit + latent) holds in every family.
"""

from __future__ import annotations

import numpy as np

from simulations import catalogue as cat
from simulations.population import Population

FAMILIES = ("additive", "interactions", "drift", "sparse")

# interactions: the effects (log-odds) that no sum of main effects can express
YOUNG_CROWDED = 1.6  # registered less than 2 years ago at an address of 8 or more entities
FOOD_INDIVIDUAL = 1.2  # an individual business with a food licence, in the "old" districts
FOOD_INDIVIDUAL_ELSEWHERE = -0.6  # the same in the other districts
ESTABLISHED_LARGE = -1.2  # company, capital ≥ 1 M CNY, older than 5 years
LICENCES_TWO_OR_MORE = 0.9  # replaces the linear effect of the number of licences
# drift: the shock of each (district, industry section) starts at N(0, DRIFT_START_SD²) and
# moves by N(0, DRIFT_STEP_SD²) a month; each district moves too.
DRIFT_START_SD = 0.3
DRIFT_STEP_SD = 0.15
DISTRICT_STEP_SD = 0.08
# sparse: share of the design load of random inspections, and of complaints and cases
SPARSE_LEVEL = 0.25


def check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown truth family {family!r}: one of {', '.join(FAMILIES)}")
    return family


def history_level(family: str) -> float:
    """Share of the usual volume of random inspections, complaints and other cases."""
    return SPARSE_LEVEL if family == "sparse" else 1.0


def industry_sections() -> np.ndarray:
    """Section index (0..) of each catalogue industry, from its letter."""
    letters = sorted({ind.code[0] for ind in cat.INDUSTRIES})
    return np.array([letters.index(ind.code[0]) for ind in cat.INDUSTRIES], dtype=np.int64)


class FamilyTerm:
    """The family's term of logit p for each month of the history and the planned month."""

    def __init__(
        self,
        family: str,
        pop: Population,
        months: int,
        rng: np.random.Generator,
        new_business: float,
        new_decay_years: float,
        licence_each: float,
    ) -> None:
        self.family = check_family(family)
        self.pop = pop
        self.new_business, self.new_decay = new_business, new_decay_years
        self.licence_each = licence_each
        self.offset = 0.0
        self.walk = np.zeros((months + 1, 1))
        if family == "drift":
            self._draw_walk(rng, months)
        if family == "interactions":
            # centred on the city as if every entity were 3 years old: the base rate stays close
            self.offset = float(np.mean(self._interactions(np.full(pop.n, 3.0))))

    def _draw_walk(self, rng: np.random.Generator, months: int) -> None:
        sections = industry_sections()
        n_d, n_s = len(cat.DISTRICTS), int(sections.max()) + 1
        cell = rng.normal(0.0, DRIFT_START_SD, (n_d, n_s))
        steps = rng.normal(0.0, DRIFT_STEP_SD, (months + 1, n_d, n_s))
        district_steps = rng.normal(0.0, DISTRICT_STEP_SD, (months + 1, n_d))
        walk = cell[None] + np.cumsum(steps, axis=0) + np.cumsum(district_steps, axis=0)[..., None]
        walk -= walk.mean(axis=(1, 2), keepdims=True)  # the city's level stays put
        key = self.pop.district.astype(np.int64) * n_s + sections[self.pop.industry]
        self.walk = walk.reshape(months + 1, n_d * n_s)[:, key]

    def logit(
        self, month: int, age_years: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """The term for month `month` (0 = first month of the history) of the entities
        `rows` (default all), whose ages are given."""
        if self.family == "drift":
            w = self.walk[month]
            return np.asarray(w if rows is None else w[rows])
        if self.family == "interactions":
            return self._interactions(age_years, rows) - self.offset
        return np.zeros(len(age_years))

    def _interactions(self, age: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        pop = self.pop
        sel = slice(None) if rows is None else rows
        etype, cluster = pop.etype[sel], pop.cluster[sel]
        capital = np.nan_to_num(pop.capital[sel], nan=0.0)
        licences = pop.licences[sel]
        n_licences = np.unpackbits(licences[:, None], axis=1).sum(axis=1)
        food = (licences & (1 << cat.LICENCES.index("food_business"))) != 0
        old_town = pop.district[sel] % 2 == 0
        individual = etype == cat.INDIVIDUAL
        company = etype == cat.COMPANY
        new = np.exp(-np.maximum(age, 0) / self.new_decay)
        return np.asarray(
            YOUNG_CROWDED * ((age < 2) & (cluster >= 8))
            + np.where(old_town, FOOD_INDIVIDUAL, FOOD_INDIVIDUAL_ELSEWHERE) * (food & individual)
            + ESTABLISHED_LARGE * (company & (capital >= 1e6) & (age > 5))
            # the linear licence effect of the additive truth is replaced by a threshold
            - self.licence_each * n_licences
            + LICENCES_TWO_OR_MORE * (n_licences >= 2)
            # new companies are careful, new individual businesses are not: the sign of the
            # "new business" effect depends on the entity type
            - 2.0 * self.new_business * new * company
        )

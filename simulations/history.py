"""Three years of supervision history before as_of, generated month by month by the truth
model: annual reports and the lists they feed, complaints, random draws, complaint-driven
checks and campaigns, their results, and the penalty cases that follow.

Every month: the entity's problem probability p is recomputed from its observable signals,
its hidden risk and its state (lists, recent problems); complaints arrive in proportion to
its consumer exposure and risk; inspections record results with `truth.draw_results`;
penalties, abnormal listings (unreachable) and serious-violation listings follow the results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from simulations import catalogue as cat
from simulations.families import FamilyTerm, history_level
from simulations.population import DAYS_PER_YEAR, NEVER, Population, day_number, industry_exposure
from simulations.scope import matches, task_scope
from simulations.staff import Staff
from simulations.truth import (
    IS_PROBLEM,
    RESULT_CODES,
    UNREACHABLE,
    TruthParams,
    draw_results,
    sigmoid,
)

HISTORY_MONTHS = 36
HISTORY_LEVEL = 0.9  # past random inspections ran at 90% of the design load
LEGACY_RATIO = np.array([0.5, 1.0, 3.0, 6.0])  # relative monthly ratio per legacy class A–D
ABNORMAL, SERIOUS = 0, 1
SEVERITIES = ("minor", "general", "serious")
REPORT_YEARS_KEPT = 8
# The food sampling weight is solved before the history exists, without the recent-problem
# term; measured over several cities, that leaves the failure rate about 8% high.
FOOD_SAMPLING_SLACK = 0.92
CATCH_UP = 0.8  # P(filing a later report also files the missing one and lifts the listing)

# Complaint categories by the entity's group (order of cat.COMPLAINT_CATEGORIES).
_COMPLAINT_MIX = np.array(
    [
        [0.45, 0.15, 0.05, 0.10, 0.03, 0.05, 0.00, 0.00, 0.00, 0.17],  # food licence
        [0.00, 0.15, 0.10, 0.15, 0.10, 0.02, 0.35, 0.03, 0.00, 0.10],  # drugs, devices
        [0.00, 0.15, 0.10, 0.20, 0.08, 0.00, 0.00, 0.20, 0.00, 0.27],  # cosmetics, salons
        [0.00, 0.15, 0.05, 0.25, 0.02, 0.00, 0.00, 0.00, 0.25, 0.28],  # elevator users
        [0.00, 0.15, 0.20, 0.35, 0.08, 0.04, 0.00, 0.00, 0.00, 0.18],  # everyone else
    ]
)


@dataclass
class Events:
    """Growing columns of one history file (lists of per-month arrays)."""

    columns: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _joined: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            self.columns.setdefault(k, []).append(np.asarray(v))
        self._joined.clear()

    def get(self, name: str) -> np.ndarray:
        if name not in self._joined:
            parts = self.columns.get(name, [])
            self._joined[name] = np.concatenate(parts) if parts else np.zeros(0)
        return self._joined[name]

    def __len__(self) -> int:
        first = next(iter(self.columns.values()), [])
        return int(sum(len(a) for a in first))


@dataclass
class History:
    inspections: Events
    complaints: Events
    penalties: Events
    lists: Events
    report_years: tuple[int, ...]
    filed: np.ndarray  # (n, years): filing day, -1 no obligation, NEVER not filed
    last_problem: np.ndarray  # day of the last recorded problem, -NEVER if none
    complaint_rate: np.ndarray  # expected complaints in the month after as_of
    month_problem_prob: np.ndarray  # p in the month after as_of
    month_observable_logit: np.ndarray
    month_on_abnormal: np.ndarray
    month_on_serious: np.ndarray
    item_weight: np.ndarray  # per catalogue item, food sampling calibrated


def month_bounds(as_of: date, count: int) -> list[tuple[int, int]]:
    """(first day, last day) of the `count` months ending with as_of's month."""
    out = []
    index = as_of.year * 12 + as_of.month - 1
    for k in range(count - 1, -1, -1):
        y, m0 = divmod(index - k, 12)
        start = date(y, m0 + 1, 1)
        nxt = date(y + (m0 == 11), (m0 + 1) % 12 + 1, 1)
        out.append((day_number(start), day_number(min(nxt - timedelta(days=1), as_of))))
    return out


def due_year(days: np.ndarray) -> np.ndarray:
    """Report year whose deadline (30 June of the next year) has most recently passed."""
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.where(month >= 7, year - 1, year - 2)


# --- annual reports and the abnormal list they feed -----------------------------------------
def annual_reports(
    rng: np.random.Generator, pop: Population, params: TruthParams, as_of: date
) -> tuple[tuple[int, ...], np.ndarray]:
    """Filing day per entity and report year: -1 when not obliged (registered after the year
    or gone before the deadline), NEVER when not filed by as_of."""
    today = day_number(as_of)
    years = tuple(range(as_of.year - REPORT_YEARS_KEPT, as_of.year))
    z = pop.latent
    p_file = sigmoid(
        params.file_intercept
        + params.file_latent * z
        + params.file_shell * pop.shell
        + params.file_dormant * pop.dormant
        + params.file_individual * (pop.etype == cat.INDIVIDUAL)
    )
    p_on_time = sigmoid(params.ontime_intercept + params.ontime_latent * z)
    filed = np.full((pop.n, len(years)), -1, dtype=np.int32)
    for yi, y in enumerate(years):
        opens, due = day_number(date(y + 1, 1, 1)), day_number(date(y + 1, 6, 30))
        obliged = (pop.reg_day <= day_number(date(y, 12, 31))) & (pop.exit_day > due)
        u = rng.random((pop.n, 4))
        # Most reports come in the last weeks before the deadline; late ones trickle in.
        on_time = np.maximum(due - np.floor(-40 * np.log(u[:, 2])), opens)
        late = due + 1 + np.floor(-120 * np.log(u[:, 3]))
        day = np.where(u[:, 1] < p_on_time, on_time, late)
        day = np.where((u[:, 0] < p_file) & (day <= today), day, NEVER)
        filed[:, yi] = np.where(obliged, day, -1)
    return years, filed


def report_listings(
    rng: np.random.Generator,
    pop: Population,
    years: tuple[int, ...],
    filed: np.ndarray,
    lists: Events,
    today: int,
) -> None:
    """Abnormal listing in July for each report missing at the deadline, removed a few days
    after the report is filed late or, usually, when a later report is filed with the missing
    ones (补报); enterprises three years on the list → serious-violation list."""
    ab_ent, ab_on, ab_off = [], [], []
    filings = np.where((filed >= 0) & (filed < NEVER), filed, NEVER)
    for yi, y in enumerate(years):
        due = day_number(date(y + 1, 6, 30))
        listed = due + 1 + int(rng.integers(0, 10)) + rng.integers(0, 15, pop.n)
        f = filed[:, yi]
        hit = (f > due) & (f > listed) & (listed <= today) & (pop.exit_day > listed)
        ent = np.flatnonzero(hit)
        later = filings[ent, yi + 1 :].min(axis=1, initial=NEVER)
        catch_up = np.where(rng.random(len(ent)) < CATCH_UP, later, NEVER)
        cured = np.minimum(np.where(f[ent] < NEVER, f[ent], NEVER), catch_up)
        removed = np.where(cured < NEVER, cured + 1 + rng.integers(0, 14, len(ent)), -1)
        removed = np.where(removed > today, -1, removed)
        ab_ent.append(ent)
        ab_on.append(listed[ent])
        ab_off.append(removed)
    ent = np.concatenate(ab_ent)
    on = np.concatenate(ab_on)
    off = np.concatenate(ab_off)
    lists.add(ent=ent, kind=np.full(len(ent), ABNORMAL), listed=on, removed=off)
    # Escalation to the serious-violation list (one listing per entity, the earliest).
    at = on + 3 * 365 + rng.integers(0, 30, len(ent))
    hit = (at <= today) & (pop.exit_day[ent] > at) & ((off < 0) | (off > at))
    hit &= pop.etype[ent] != cat.INDIVIDUAL
    order = np.lexsort((at[hit], ent[hit]))
    s_ent, s_at = ent[hit][order], at[hit][order]
    s_ent, first = np.unique(s_ent, return_index=True)
    s_at = s_at[first]
    repaired = rng.random(len(s_ent)) < 0.15
    s_off = np.where(repaired, s_at + rng.integers(365, 1000, len(s_ent)), -1)
    s_off = np.where(s_off > today, -1, s_off)
    lists.add(ent=s_ent, kind=np.full(len(s_ent), SERIOUS), listed=s_at, removed=s_off)


def on_list(lists: Events, kind: int, day: int, n: int) -> np.ndarray:
    ent, k = lists.get("ent").astype(np.int64), lists.get("kind")
    on, off = lists.get("listed"), lists.get("removed")
    live = (k == kind) & (on <= day) & ((off < 0) | (off > day))
    mask = np.zeros(n, dtype=bool)
    mask[ent[live]] = True
    return mask


def calibrated_item_weights(
    pop: Population, params: TruthParams, lists: Events, today: int
) -> np.ndarray:
    """Item weights of the catalogue; the food sampling weight is solved so that food
    businesses, weighted as the legacy draws pick them, pass sampling at Guangzhou's 98.41%
    (reached, operating entities; average team; recent problems left out)."""
    weights = np.array([it.weight for it in cat.ITEMS])
    food = cat.ITEMS[cat.ITEM_INDEX[cat.FOOD_SAMPLING_ITEM]]
    sel = matches(pop, licences=food.licences) & ~pop.shell & ~pop.dormant
    sel &= (pop.exit_day > today) & (pop.reg_day <= today)
    if not sel.any():
        return weights
    on_ab = on_list(lists, ABNORMAL, today, pop.n)[sel]
    on_sv = on_list(lists, SERIOUS, today, pop.n)[sel]
    age = (today - pop.reg_day[sel]) / DAYS_PER_YEAR
    sub = _subset(pop, sel)
    logit = problem_logit(sub, params, age, on_ab, on_sv, np.zeros(len(age), bool))
    p = sigmoid(logit)
    legacy = np.where(on_sv, 3, np.where(on_ab, 2, np.where(age >= 3, 0, 1)))
    w_draw = LEGACY_RATIO[legacy]
    target = (1.0 - cat.GZ_FOOD_PASS) * FOOD_SAMPLING_SLACK
    lo, hi = 1e-4, 5.0
    for _ in range(50):
        mid = (lo + hi) / 2
        rate = np.average(1.0 - np.power(1.0 - p, mid), weights=w_draw)
        lo, hi = (mid, hi) if rate < target else (lo, mid)
    weights[cat.ITEM_INDEX[cat.FOOD_SAMPLING_ITEM]] = round((lo + hi) / 2, 6)
    return weights


def _subset(pop: Population, sel: np.ndarray) -> Population:
    """The fields problem_logit reads, for a subset of entities."""
    return replace(pop, static_logit=pop.static_logit[sel], latent=pop.latent[sel])


# --- inspectors for past visits ----------------------------------------------------------
class TeamPicker:
    """Draws teams of valid inspectors for past visits (random, like the second random)."""

    def __init__(self, staff: Staff, month_end: int) -> None:
        self.staff = staff
        self.valid = staff.active & (staff.expires >= month_end)
        self._cache: dict[tuple[int, int, str, int], np.ndarray] = {}

    def pool(self, dept: int, qual: int, where: str, key: int) -> np.ndarray:
        """Valid inspectors of the department with the qualification (-1: any), in a
        district ('d'), an office ('o') or the whole city ('c')."""
        ck = (dept, qual, where, key)
        if ck not in self._cache:
            s = self.staff
            mask = self.valid & (s.dept == dept)
            if qual >= 0:
                mask &= (s.quals & (1 << qual)) != 0
            if where == "d":
                mask &= s.district == key
            elif where == "o":
                mask &= s.office == key
            self._cache[ck] = np.flatnonzero(mask)
        return self._cache[ck]

    def pick(
        self,
        rng: np.random.Generator,
        dept: int,
        qual: int,
        count: int,
        district: np.ndarray,
        office: np.ndarray,
        mode: str,
    ) -> np.ndarray:
        """(n, count) inspector indices, distinct per visit. cross_office avoids the
        entity's own office; local leads with an inspector of the entity's own office when
        one is qualified and fills the team from the district."""
        n = len(district)
        out = np.zeros((n, count), dtype=np.int64)
        by_office = mode == "local"
        groups = office if by_office else district
        for g in np.unique(groups):
            rows = np.flatnonzero(groups == g)
            own = self.pool(dept, qual, "o", int(g)) if by_office else np.zeros(0, np.int64)
            pool = own if len(own) >= count else self.pool(dept, qual, "d", int(district[rows[0]]))
            if len(pool) < count + 1:
                pool = self.pool(dept, qual, "c", 0)
            if len(pool) < count + 1:
                pool = self.pool(dept, -1, "c", 0)
            first = own if 0 < len(own) < count else None
            out[rows] = self._draw(rng, pool, rows, office, count, mode == "cross_office", first)
        return out

    def _draw(
        self,
        rng: np.random.Generator,
        pool: np.ndarray,
        rows: np.ndarray,
        office: np.ndarray,
        count: int,
        cross: bool,
        first: np.ndarray | None,
    ) -> np.ndarray:
        chosen = pool[rng.integers(0, len(pool), (len(rows), count))]
        if first is not None:
            chosen[:, 0] = first[rng.integers(0, len(first), len(rows))]
        for col in range(count):
            for _ in range(8):
                bad = np.zeros(len(rows), dtype=bool)
                if cross:
                    bad |= self.staff.office[chosen[:, col]] == office[rows]
                for prev in range(col):
                    bad |= chosen[:, col] == chosen[:, prev]
                if not bad.any():
                    break
                chosen[bad, col] = pool[rng.integers(0, len(pool), int(bad.sum()))]
        return chosen


@dataclass
class Visits:
    """One month's visits and their item rows, before results are drawn."""

    ent: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    strict: list[np.ndarray] = field(default_factory=list)
    row_visit: list[np.ndarray] = field(default_factory=list)
    row_item: list[np.ndarray] = field(default_factory=list)
    row_inspector: list[np.ndarray] = field(default_factory=list)
    row_pi: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add(
        self,
        ent: np.ndarray,
        day: np.ndarray,
        members: np.ndarray,
        member_dept: list[int],
        items: list[tuple[int, np.ndarray]],
        pi: np.ndarray | None,
        staff: Staff,
    ) -> None:
        """items: (item index, bool mask over these visits where the item applies)."""
        n = len(ent)
        if n == 0:
            return
        base = self.count
        self.ent.append(ent)
        self.day.append(day)
        self.strict.append(staff.strictness[members].mean(axis=1))
        for item_idx, mask in items:
            item = cat.ITEMS[item_idx]
            col = member_dept.index(cat.DEPARTMENTS.index(item.department))
            rows = np.flatnonzero(mask)
            self.row_visit.append(base + rows)
            self.row_item.append(np.full(len(rows), item_idx))
            self.row_inspector.append(members[rows, col])
            self.row_pi.append(np.full(len(rows), np.nan) if pi is None else pi[rows])
        self.count += n


def _team_spec(items: tuple[str, ...], team_size: int = 2) -> list[tuple[int, int, int]]:
    """(department, qualification or -1, count): one inspector of each department of the
    items, the first department filling the team up to team_size."""
    spec: list[tuple[int, int, int]] = []
    seen: dict[str, int] = {}
    for code in items:
        item = cat.ITEMS[cat.ITEM_INDEX[code]]
        qual = cat.QUALIFICATIONS.index(item.qualification) if item.qualification else -1
        if item.department not in seen:
            seen[item.department] = len(spec)
            spec.append((cat.DEPARTMENTS.index(item.department), qual, 1))
        elif spec[seen[item.department]][1] < 0 and qual >= 0:
            d, _, c = spec[seen[item.department]]
            spec[seen[item.department]] = (d, qual, c)
    d, q, c = spec[0]
    spec[0] = (d, q, c + max(team_size - len(spec), 0))
    return spec


def _teams(
    rng: np.random.Generator,
    picker: TeamPicker,
    spec: list[tuple[int, int, int]],
    mode: str,
    pop: Population,
    ent: np.ndarray,
) -> tuple[np.ndarray, list[int]]:
    parts, dept_of_col = [], []
    for dept, qual, count in spec:
        parts.append(picker.pick(rng, dept, qual, count, pop.district[ent], pop.office[ent], mode))
        dept_of_col += [dept] * count
    return np.concatenate(parts, axis=1), dept_of_col


def _weekdays(start: int, end: int) -> np.ndarray:
    days = np.arange(start, end + 1)
    return days[(days + 3) % 7 < 5]  # 1970-01-01 was a Thursday


# --- the monthly loop --------------------------------------------------------------------------
def simulate_history(
    rngs: dict[str, np.random.Generator],
    pop: Population,
    staff: Staff,
    params: TruthParams,
    as_of: date,
    progress: Callable[[str, int, int], None] | None = None,
) -> History:
    """The 36 months before as_of, then the state of the month after (the truth)."""
    run = _HistoryRun(rngs, pop, staff, params, as_of)
    months = month_bounds(as_of, HISTORY_MONTHS)
    run.family = FamilyTerm(
        params.family,
        pop,
        len(months),
        rngs["family"],
        params.new_business,
        params.new_decay_years,
        params.licence_each,
    )
    for mi, (first, last) in enumerate(months):
        run.month(first, last)
        if progress:
            progress("history", mi + 1, len(months))
    return run.result()


@dataclass(frozen=True)
class _MonthState:
    """The entities' state at the start of a month and their problem probability p."""

    first: int
    last: int
    alive: np.ndarray
    on_abnormal: np.ndarray
    on_serious: np.ndarray
    recent: np.ndarray
    age: np.ndarray
    logit: np.ndarray
    p: np.ndarray


class _HistoryRun:
    """The history being generated: fixed context, the growing event files, entity state."""

    def __init__(
        self,
        rngs: dict[str, np.random.Generator],
        pop: Population,
        staff: Staff,
        params: TruthParams,
        as_of: date,
    ) -> None:
        self.pop, self.staff, self.params = pop, staff, params
        self.today = day_number(as_of)
        self.scale = pop.n / cat.GZ_ENTITIES
        self.rng = rngs["months"]
        self.level = history_level(params.family)  # share of the usual volumes
        self.month_index = 0
        self.family: FamilyTerm | None = None
        self.inspections, self.complaints = Events(), Events()
        self.penalties, self.lists = Events(), Events()
        self.years, self.filed = annual_reports(rngs["reports"], pop, params, as_of)
        report_listings(rngs["lists"], pop, self.years, self.filed, self.lists, self.today)
        self.item_weight = calibrated_item_weights(pop, params, self.lists, self.today)
        self.is_info_item = np.array([it.code == cat.INFO_ITEM for it in cat.ITEMS])
        # Complaints.
        self.exposure = industry_exposure()[pop.industry] * np.where(
            pop.shell | pop.dormant, params.complaint_inactive, 1.0
        )
        self.group = _complaint_group(pop)
        self.complaint_cdf = np.cumsum(_COMPLAINT_MIX, axis=1)
        self.check_prob = np.array([cat.COMPLAINT_CHECK_PROB[c] for c in cat.COMPLAINT_CATEGORIES])
        self.complaint_item = np.array(
            [cat.ITEM_INDEX[cat.COMPLAINT_ITEM[c]] for c in cat.COMPLAINT_CATEGORIES]
        )
        self.complaint_target = cat.GZ_COMPLAINTS_5Y / 60 * self.scale * self.level
        self.penalty_target = cat.GZ_CASES_5Y / 60 * self.scale * self.level
        # Random draws and campaigns.
        self.tasks = [
            (t, *task_scope(pop, t), _team_spec(t.items, t.team_size)) for t in cat.TASK_TEMPLATES
        ]
        school = (pop.tags & (1 << cat.TAGS.index("school_canteen"))) != 0
        self.canteen = school & matches(pop, licences=("food_business",))
        fire = cat.TASK_TEMPLATES[[t.key for t in cat.TASK_TEMPLATES].index("FIRE")]
        self.fire_scope = task_scope(pop, fire)[1][0]
        self.h62 = matches(pop, industries=("H62",))
        # State that the months change.
        self.last_problem = np.full(pop.n, -NEVER, dtype=np.int64)
        self.unreachable_listed = np.zeros(pop.n, dtype=bool)

    def month(self, first: int, last: int) -> None:
        st = self._state(first, last)
        c_ent, c_day, c_cat, c_sub = self._complaints(st)
        picker = TeamPicker(self.staff, last)
        visits = Visits()
        self._complaint_checks(picker, visits, c_ent, c_day, c_cat)
        weekdays = _weekdays(first, last)
        self._random_draws(picker, visits, st, weekdays)
        self._campaigns(picker, visits, st, weekdays)
        self._results(visits, st)
        self._background_penalties(st, c_ent[c_sub])
        self.month_index += 1

    def _state(self, first: int, last: int) -> _MonthState:
        pop, n = self.pop, self.pop.n
        mid = min(first + 14, last)
        on_ab = on_list(self.lists, ABNORMAL, first, n)
        on_sv = on_list(self.lists, SERIOUS, first, n)
        recent = (first - self.last_problem) <= 365
        age = (mid - pop.reg_day) / DAYS_PER_YEAR
        logit = problem_logit(pop, self.params, age, on_ab, on_sv, recent)
        logit = logit + self._family_logit(age)
        alive = (pop.reg_day <= mid) & (pop.exit_day > mid)
        return _MonthState(first, last, alive, on_ab, on_sv, recent, age, logit, sigmoid(logit))

    def _family_logit(self, age: np.ndarray) -> np.ndarray:
        """The truth family's term of this month's log-odds (0 for the additive truth)."""
        if self.family is None:
            return np.zeros(len(age))
        return self.family.logit(self.month_index, age)

    def _complaints(self, st: _MonthState) -> tuple[np.ndarray, ...]:
        """The month's volume is pinned to the city's figure (a Poisson total spread
        multinomially: the law of one Poisson count per entity); who gets them follows
        exposure and risk."""
        pop, rng = self.pop, self.rng
        rate = np.where(
            st.alive, self.exposure * np.exp(self.params.complaint_latent * st.logit), 0.0
        )
        total = int(rng.poisson(self.complaint_target))
        ent = np.sort(rng.choice(pop.n, size=total, p=rate / rate.sum()))
        day = np.maximum(
            st.first + rng.integers(0, st.last - st.first + 1, len(ent)), pop.reg_day[ent]
        )
        category = (rng.random(len(ent))[:, None] > self.complaint_cdf[self.group[ent]]).sum(axis=1)
        category = np.minimum(category, len(cat.COMPLAINT_CATEGORIES) - 1)
        substantiated_p = 1.0 - np.power(1.0 - st.p[ent], self.params.substantiated_weight)
        substantiated = rng.random(len(ent)) < substantiated_p
        kept = day < pop.exit_day[ent]  # an entity that left this month gets no more
        out = ent[kept], day[kept], category[kept], substantiated[kept]
        self.complaints.add(ent=out[0], day=out[1], cat=out[2], sub=out[3])
        return out

    def _complaint_checks(
        self,
        picker: TeamPicker,
        visits: Visits,
        c_ent: np.ndarray,
        c_day: np.ndarray,
        c_cat: np.ndarray,
    ) -> None:
        """Some complaints lead to a check by the entity's own office within ten days."""
        rng = self.rng
        chk = rng.random(len(c_ent)) < self.check_prob[c_cat]
        ent, day = c_ent[chk], c_day[chk] + rng.integers(1, 11, int(chk.sum()))
        keep = day <= self.today
        ent, day, item = ent[keep], day[keep], self.complaint_item[c_cat[chk][keep]]
        for item_idx in np.unique(item):
            sel = item == item_idx
            spec = _team_spec((cat.ITEMS[item_idx].code,))
            members, depts = _teams(rng, picker, spec, "local", self.pop, ent[sel])
            applies = np.ones(int(sel.sum()), bool)
            visits.add(
                ent[sel], day[sel], members, depts, [(int(item_idx), applies)], None, self.staff
            )

    def _random_draws(
        self, picker: TeamPicker, visits: Visits, st: _MonthState, weekdays: np.ndarray
    ) -> None:
        """The legacy tasks: Poisson sampling by legacy class, π recorded on every row."""
        rng = self.rng
        recent_or_listed = st.on_abnormal | st.recent
        legacy = np.where(
            st.on_serious, 3, np.where(recent_or_listed, 2, np.where(st.age >= 3, 0, 1))
        )
        for task, frame, scopes, spec in self.tasks:
            members_of = np.flatnonzero(frame & st.alive)
            if not len(members_of):
                continue
            rel = LEGACY_RATIO[legacy[members_of]]
            target = task.share * cat.GZ_VISITS_PER_MONTH * self.scale * HISTORY_LEVEL * self.level
            pi = np.minimum(1.0, np.round(rel * target / rel.sum(), 9))  # recorded exactly
            drawn = rng.random(len(members_of)) < pi
            ent, pi = members_of[drawn], pi[drawn]
            day = weekdays[rng.integers(0, len(weekdays), len(ent))]
            members, depts = _teams(rng, picker, spec, task.mode, self.pop, ent)
            items = [(cat.ITEM_INDEX[c], s[ent]) for c, s in zip(task.items, scopes, strict=True)]
            visits.add(ent, day, members, depts, items, pi, self.staff)

    def _campaigns(
        self, picker: TeamPicker, visits: Visits, st: _MonthState, weekdays: np.ndarray
    ) -> None:
        """Not random, no π: school canteens before each term, fire safety in winter."""
        rng, n = self.rng, self.pop.n
        month_no = int(np.datetime64(st.first, "D").astype("datetime64[M]").astype(int) % 12 + 1)
        if month_no in (2, 8):
            ent = np.flatnonzero(self.canteen & st.alive & (rng.random(n) < 0.7))
            day = weekdays[rng.integers(0, len(weekdays), len(ent))]
            members, depts = _teams(
                rng, picker, _team_spec(("SAMR-FOOD-01",)), "any", self.pop, ent
            )
            items = [
                (cat.ITEM_INDEX["SAMR-FOOD-01"], np.ones(len(ent), bool)),
                (cat.ITEM_INDEX["SAMR-FOOD-02"], self.h62[ent]),
            ]
            visits.add(ent, day, members, depts, items, None, self.staff)
        if month_no == 1:
            ent = np.flatnonzero(self.fire_scope & st.alive & (rng.random(n) < 0.01))
            day = weekdays[rng.integers(0, len(weekdays), len(ent))]
            members, depts = _teams(rng, picker, _team_spec(("FIRE-01",)), "any", self.pop, ent)
            items = [(cat.ITEM_INDEX["FIRE-01"], np.ones(len(ent), bool))]
            visits.add(ent, day, members, depts, items, None, self.staff)

    def _results(self, visits: Visits, st: _MonthState) -> None:
        """Draws the month's results and records them with what follows from them."""
        if not visits.row_visit:
            return
        pop, rng = self.pop, self.rng
        v_ent = np.concatenate(visits.ent)
        v_day = np.maximum(np.concatenate(visits.day), pop.reg_day[v_ent])  # not before it exists
        r_visit = np.concatenate(visits.row_visit)
        r_item = np.concatenate(visits.row_item)
        ent, day = v_ent[r_visit], v_day[r_visit]
        yi = due_year(day) - self.years[0]
        due = self.filed[ent, np.clip(yi, 0, len(self.years) - 1)]
        result = draw_results(
            rng,
            self.params,
            p=st.p[ent],
            weight=self.item_weight[r_item],
            strictness=np.concatenate(visits.strict)[r_visit],
            is_info=self.is_info_item[r_item],
            report_missing=(yi >= 0) & (yi < len(self.years)) & (due > day),
            exited=pop.exit_day[ent] <= day,
            shell=pop.shell[ent],
            dormant=pop.dormant[ent],
        )
        self.inspections.add(
            ent=ent, day=day, item=r_item, insp=np.concatenate(visits.row_inspector),
            result=result, pi=np.concatenate(visits.row_pi),
        )  # fmt: skip
        problem = IS_PROBLEM[result]
        np.maximum.at(self.last_problem, ent[problem], day[problem])

        # Unreachable → abnormal list (通过登记的住所无法联系), once per entity.
        unr = np.flatnonzero((result == UNREACHABLE) & ~self.unreachable_listed[ent])
        u_ent, first = np.unique(ent[unr], return_index=True)
        u_day = day[unr][first] + rng.integers(5, 31, len(u_ent))
        keep = u_day <= self.today
        self.unreachable_listed[u_ent] = True
        k = int(keep.sum())
        self.lists.add(
            ent=u_ent[keep], kind=np.full(k, ABNORMAL), listed=u_day[keep], removed=np.full(k, -1)
        )

        # Penalty cases follow problems: at most one case per visit.
        case_p = np.zeros(len(result))
        for code, prob in self.params.penalty_given.items():
            case_p[result == RESULT_CODES.index(code)] = prob
        opened = np.flatnonzero(rng.random(len(result)) < case_p)
        _, first = np.unique(r_visit[opened], return_index=True)
        rows = opened[first]
        lo, hi = self.params.penalty_delay_days
        self._record_penalties(ent[rows], day[rows] + rng.integers(lo, hi + 1, len(rows)))

    def _background_penalties(self, st: _MonthState, substantiated: np.ndarray) -> None:
        """Cases from other sources (substantiated complaints, monitoring, lab sampling) fill
        the cases decided in the month up to the city's case rate: half on entities with a
        substantiated complaint this month, half drawn in proportion to p."""
        pop, rng = self.pop, self.rng
        decided_so_far = self.penalties.get("day")
        this_month = (decided_so_far >= st.first) & (decided_so_far <= st.last)
        k = int(rng.poisson(max(self.penalty_target - int(this_month.sum()), 0.0)))
        if k == 0:
            return
        k_sub = min(k // 2, len(substantiated))
        from_complaints = (
            substantiated[rng.choice(len(substantiated), k_sub, replace=False)]
            if k_sub
            else np.zeros(0, np.int64)
        )
        w = np.where(st.alive & ~pop.shell, st.p, 0.0)
        others = rng.choice(pop.n, size=k - k_sub, p=w / w.sum())
        ent = np.concatenate([from_complaints, others]).astype(np.int64)
        span = st.last - st.first + 1
        self._record_penalties(
            ent, np.maximum(st.first + rng.integers(0, span, len(ent)), pop.reg_day[ent])
        )

    def _record_penalties(self, ent: np.ndarray, decided: np.ndarray) -> None:
        """Cases with severity and amount; a serious case may lead to the serious list."""
        rng, params = self.rng, self.params
        keep = decided <= self.today  # later decisions are still pending at as_of
        ent, decided = ent[keep], decided[keep]
        n = len(ent)
        p_serious = sigmoid(params.serious_intercept + params.serious_latent * self.pop.latent[ent])
        u = rng.random(n)
        severity = np.where(u < p_serious, 2, np.where(u < p_serious + params.general_share, 1, 0))
        median = np.array([2_000.0, 20_000.0, 200_000.0])[severity]
        amount = np.maximum(np.round(np.exp(np.log(median) + rng.normal(0, 0.9, n)), -2), 100.0)
        # Half the minor cases end with a warning and no fine.
        amount = np.where((severity == 0) & (rng.random(n) < 0.5), np.nan, amount)
        self.penalties.add(ent=ent, day=decided, severity=severity, amount=amount)
        listed = decided + rng.integers(5, 31, n)
        hit = (severity == 2) & (rng.random(n) < params.serious_list_after_serious_penalty)
        hit &= listed <= self.today
        if hit.any():
            on_sv = on_list(self.lists, SERIOUS, self.today, self.pop.n)
            s_ent, first = np.unique(ent[hit], return_index=True)
            fresh = ~on_sv[s_ent]
            k = int(fresh.sum())
            self.lists.add(
                ent=s_ent[fresh], kind=np.full(k, SERIOUS), listed=listed[hit][first][fresh],
                removed=np.full(k, -1),
            )  # fmt: skip

    def result(self) -> History:
        """The history, with the state of the month after as_of: the truth experiments are
        judged against."""
        pop, params, today = self.pop, self.params, self.today
        on_ab = on_list(self.lists, ABNORMAL, today, pop.n)
        on_sv = on_list(self.lists, SERIOUS, today, pop.n)
        recent = (today - self.last_problem) <= 365
        age = (today + 15 - pop.reg_day) / DAYS_PER_YEAR
        observable = observable_logit(pop, params, age, on_ab, on_sv, recent)
        observable = observable + self._family_logit(age)  # month_index: the planned month
        logit = observable + params.latent_sd * pop.latent
        rate = np.where(
            pop.exit_day > today, self.exposure * np.exp(params.complaint_latent * logit), 0.0
        )
        return History(
            inspections=self.inspections,
            complaints=self.complaints,
            penalties=self.penalties,
            lists=self.lists,
            report_years=self.years,
            filed=self.filed,
            last_problem=self.last_problem,
            complaint_rate=rate * (self.complaint_target / rate.sum()),
            month_problem_prob=sigmoid(logit),
            month_observable_logit=observable,
            month_on_abnormal=on_ab,
            month_on_serious=on_sv,
            item_weight=self.item_weight,
        )


def problem_logit(
    pop: Population,
    params: TruthParams,
    age_years: np.ndarray,
    on_abnormal: np.ndarray,
    on_serious: np.ndarray,
    recent_problem: np.ndarray,
) -> np.ndarray:
    """Log-odds of the monthly problem probability p (latent included)."""
    return (
        observable_logit(pop, params, age_years, on_abnormal, on_serious, recent_problem)
        + params.latent_sd * pop.latent
    )


def observable_logit(
    pop: Population,
    params: TruthParams,
    age_years: np.ndarray,
    on_abnormal: np.ndarray,
    on_serious: np.ndarray,
    recent_problem: np.ndarray,
) -> np.ndarray:
    logit = (
        pop.static_logit
        + params.new_business * np.exp(-np.maximum(age_years, 0) / params.new_decay_years)
        + params.old_business * (age_years > 10)
        + params.abnormal_list * on_abnormal
        + params.serious_list * on_serious
        + params.recent_problem * recent_problem
    )
    return np.asarray(logit)


def _complaint_group(pop: Population) -> np.ndarray:
    lic = pop.licences.astype(np.int64)

    def has(name: str) -> np.ndarray:
        return np.asarray((lic & (1 << cat.LICENCES.index(name))) != 0)

    drug = has("drug_retail") | has("medical_device")
    food = has("food_business") | has("food_production")
    o80 = np.array([c == "O80" for c in cat.INDUSTRY_CODES])[pop.industry]
    cosmetics = has("cosmetics") | o80
    elevator = (pop.tags & (1 << cat.TAGS.index("elevator_user"))) != 0
    return np.select([drug, food, cosmetics, elevator], [1, 0, 2, 3], 4)

"""Features: leak-free, and equal to a slow per-enterprise reference written from the
definitions in docs/risk-model.md."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.publication.result_codes import RESULT_CODES
from inspect_engine.risk import (
    AnnualReports,
    Complaints,
    EnterpriseTable,
    FeatureSpec,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
    build_features,
)
from inspect_engine.risk.features import REPORT_STATUSES

NAT = np.datetime64("NaT")


FIRST_DAY = np.datetime64("2018-01-01")
SPAN_DAYS = 7 * 365


def _days(rng: np.random.Generator, n: int, nat_share: float = 0.0) -> np.ndarray:
    days = FIRST_DAY + rng.integers(0, SPAN_DAYS, n).astype("timedelta64[D]")
    days[rng.random(n) < nat_share] = np.datetime64("NaT")
    return days


def random_world(
    seed: int, n: int = 40, events: int = 120
) -> tuple[EnterpriseTable, HistoryEvents]:
    """A small city where every column takes awkward values: NaT, unknown inspectors,
    same-day visits, duplicate report rows, shared addresses, missing capital."""
    rng = np.random.default_rng(seed)
    enterprises = EnterpriseTable(
        credit_code=np.array([f"E{i:05d}" for i in range(n)]),
        entity_type=rng.integers(-1, 5, n).astype(np.int32),
        industry=rng.integers(0, 4, n).astype(np.int32),
        district=rng.integers(0, 3, n).astype(np.int32),
        registered_on=FIRST_DAY
        - 3000
        + rng.integers(0, SPAN_DAYS + 3000, n).astype("timedelta64[D]"),
        registered_capital=np.where(rng.random(n) < 0.3, np.nan, rng.lognormal(12, 2, n)),
        licences=rng.integers(0, 4, n),
        tags=rng.integers(0, 2, n),
        address=np.where(rng.random(n) < 0.3, -1, rng.integers(0, 8, n)),
        industries=("C13", "F52", "H62", "I65"),
        districts=("440103", "440104", "440106"),
        licence_names=("food_business", "drug_retail"),
        tag_names=("elevator_user",),
    )
    m = events
    visit_days = _days(rng, m)
    repeat = rng.random(m) < 0.3  # a second item on the same visit
    ent = rng.integers(0, n, m)
    inspections = Inspections(
        enterprise=np.r_[ent, ent[repeat]],
        inspected_on=np.r_[visit_days, visit_days[repeat]],
        result=rng.integers(0, len(RESULT_CODES), m + repeat.sum()).astype(np.int8),
        inspector=rng.integers(-1, 6, m + repeat.sum()),
        inclusion_probability=np.where(
            rng.random(m + repeat.sum()) < 0.3, np.nan, rng.uniform(0.01, 1.0, m + repeat.sum())
        ),
        department=np.zeros(m + repeat.sum(), dtype=np.int32),
    )
    penalties = Penalties(rng.integers(0, n, m), _days(rng, m), rng.integers(0, 3, m))
    complaints = Complaints(rng.integers(0, n, m), _days(rng, m), rng.random(m) < 0.5)
    reports = AnnualReports(
        rng.integers(0, n, 2 * m), rng.integers(2015, 2025, 2 * m), _days(rng, 2 * m, 0.3)
    )
    listed = _days(rng, m // 2)
    removed = listed + rng.integers(0, 900, m // 2).astype("timedelta64[D]")
    removed[rng.random(m // 2) < 0.4] = np.datetime64("NaT")
    lists = ListEntries(rng.integers(0, n, m // 2), rng.integers(0, 2, m // 2), listed, removed)
    return enterprises, HistoryEvents(inspections, penalties, complaints, reports, lists)


def _as_date(day: np.datetime64) -> date | None:
    return None if np.isnat(day) else date.fromisoformat(str(day))


def _features(enterprises: EnterpriseTable, history: HistoryEvents, as_of: np.datetime64):
    spec = FeatureSpec.from_table(enterprises)
    return build_features(spec, enterprises, history, np.arange(len(enterprises)), as_of)


# --- leakage --------------------------------------------------------------------------------


def _perturb_future(
    history: HistoryEvents, as_of: np.datetime64, rng: np.random.Generator, n: int
) -> HistoryEvents:
    """Change everything dated on or after `as_of`, add new such events; keep the past."""

    def future_days(k: int) -> np.ndarray:
        return as_of + rng.integers(0, 400, k).astype("timedelta64[D]")

    def resample(days: np.ndarray) -> np.ndarray:
        out = days.copy()
        late = ~np.isnat(out) & (out >= as_of)
        out[late] = future_days(int(late.sum()))
        return out

    ins = history.inspections
    extra = 25
    past = ins.inspected_on < as_of
    inspections = Inspections(
        enterprise=np.r_[ins.enterprise[past], rng.integers(0, n, extra)],
        inspected_on=np.r_[ins.inspected_on[past], future_days(extra)],
        result=np.r_[ins.result[past], rng.integers(0, len(RESULT_CODES), extra)],
        inspector=np.r_[ins.inspector[past], rng.integers(-1, 6, extra)],
        inclusion_probability=np.r_[ins.inclusion_probability[past], np.full(extra, 0.5)],
        department=np.zeros(int(past.sum()) + extra, dtype=np.int32),
    )
    pen = history.penalties
    penalties = Penalties(
        np.r_[pen.enterprise, rng.integers(0, n, extra)],
        np.r_[resample(pen.decided_on), future_days(extra)],
        np.r_[pen.severity, rng.integers(0, 3, extra)],
    )
    com = history.complaints
    future = com.received_on >= as_of
    substantiated = np.where(future, rng.random(len(future)) < 0.5, com.substantiated)
    complaints = Complaints(
        np.r_[com.enterprise, rng.integers(0, n, extra)],
        np.r_[resample(com.received_on), future_days(extra)],
        np.r_[substantiated, np.ones(extra, bool)],
    )
    rep = history.annual_reports
    filed = resample(rep.filed_on)
    never = rng.random(len(filed)) < 0.5
    filed[never & ~np.isnat(filed) & (filed >= as_of)] = NAT  # a future filing, or none
    reports = AnnualReports(
        np.r_[rep.enterprise, rng.integers(0, n, extra)],
        np.r_[rep.year, rng.integers(2015, 2026, extra)],
        np.r_[filed, future_days(extra)],
    )
    lst = history.lists
    removed = resample(lst.removed_on)
    drop_removal = (rng.random(len(removed)) < 0.5) & ~np.isnat(removed) & (removed >= as_of)
    removed[drop_removal] = NAT
    keep = lst.listed_on < as_of
    lists = ListEntries(
        np.r_[lst.enterprise[keep], rng.integers(0, n, extra)],
        np.r_[lst.list[keep], rng.integers(0, 2, extra)],
        np.r_[lst.listed_on[keep], future_days(extra)],
        np.r_[removed[keep], np.full(extra, NAT, dtype="datetime64[D]")],
    )
    return HistoryEvents(inspections, penalties, complaints, reports, lists)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), offset=st.integers(0, SPAN_DAYS))
def test_events_on_or_after_the_date_never_change_the_features(seed: int, offset: int) -> None:
    enterprises, history = random_world(seed)
    as_of = FIRST_DAY + np.timedelta64(offset, "D")
    rng = np.random.default_rng(seed + 1)
    changed = _perturb_future(history, as_of, rng, len(enterprises))
    # Enterprises registered on or after the date may register on another later day.
    registered = enterprises.registered_on.copy()
    late = registered >= as_of
    registered[late] = as_of + rng.integers(0, 300, int(late.sum())).astype("timedelta64[D]")
    moved = replace(enterprises, registered_on=registered)

    before = _features(enterprises, history, as_of)
    after = _features(moved, changed, as_of)
    np.testing.assert_array_equal(before.values, after.values)
    np.testing.assert_array_equal(before.has_history, after.has_history)


def test_an_event_on_the_day_itself_is_not_seen() -> None:
    enterprises, _ = random_world(3)
    as_of = np.datetime64("2021-06-15")
    on_the_day = Complaints(np.array([0]), np.array([as_of]), np.array([True]))
    day_before = Complaints(np.array([0]), np.array([as_of - 1]), np.array([True]))
    empty = HistoryEvents.empty()
    today = _features(enterprises, replace(empty, complaints=on_the_day), as_of)
    yesterday = _features(enterprises, replace(empty, complaints=day_before), as_of)
    assert today.column("complaints_substantiated")[0] == 0
    assert yesterday.column("complaints_substantiated")[0] == 1


# --- agreement with a slow reference --------------------------------------------------------


def _reference_row(
    spec: FeatureSpec, table: EnterpriseTable, history: HistoryEvents, e: int, t: date
) -> dict[str, float]:
    """Features of enterprise e as of day t, one plain loop per definition."""
    out: dict[str, float] = {}
    reg = _as_date(table.registered_on[e])
    assert reg is not None
    out["age_years"] = max((t - reg).days, 0) / 365.25
    code = table.entity_type[e]
    out["entity_type"] = (
        spec.entity_types.index(table.entity_types[code]) if code >= 0 else math.nan
    )
    division = table.industries[table.industry[e]]
    out["industry_division"] = spec.industries.index(division)
    out["industry_section"] = spec.sections.index(division[0])
    out["district"] = spec.districts.index(table.districts[table.district[e]])
    cap = table.registered_capital[e]
    out["capital_log10"] = math.log10(1 + cap) if cap >= 0 else math.nan
    for bit, name in enumerate(table.licence_names):
        out[f"licence:{name}"] = float((int(table.licences[e]) >> bit) & 1)
    for bit, name in enumerate(table.tag_names):
        out[f"tag:{name}"] = float((int(table.tags[e]) >> bit) & 1)
    address = table.address[e]
    out["address_cluster"] = (
        math.nan
        if address < 0
        else sum(
            1
            for j in range(len(table))
            if table.address[j] == address and _as_date(table.registered_on[j]) < t
        )
    )

    ins = history.inspections
    by_day: dict[date, list[int]] = {}
    for i in range(len(ins)):
        day = _as_date(ins.inspected_on[i])
        if ins.enterprise[i] == e and day < t:
            by_day.setdefault(day, []).append(int(ins.result[i]))
    observed = [d for d, rs in by_day.items() if any(RESULT_CODES[r].is_observation for r in rs)]
    problems = [d for d, rs in by_day.items() if any(RESULT_CODES[r].counts_as_problem for r in rs)]
    out["past_inspections"] = len(observed)
    out["past_problems"] = len(problems)
    if by_day:
        last = max(by_day)

        def rank(r: int) -> tuple[int, int]:
            c = RESULT_CODES[r]
            return (0 if c.counts_as_problem else 1 if c.is_observation else 2, r)

        out["last_result"] = min(by_day[last], key=rank)
        out["days_since_inspection"] = (t - last).days
    else:
        out["last_result"] = out["days_since_inspection"] = math.nan

    out["peer_problem_rate"] = _reference_peer_rate(spec, table, history, e, t)
    out["peer_complaint_ratio"] = _reference_peer_complaint_ratio(spec, table, history, e, t)

    pen = history.penalties
    for code, severity in enumerate(("minor", "general", "serious")):
        out[f"penalties_{severity}"] = sum(
            1
            for i in range(len(pen.enterprise))
            if pen.enterprise[i] == e
            and pen.severity[i] == code
            and t - timedelta(days=1095) <= _as_date(pen.decided_on[i]) < t
        )
    com = history.complaints
    window = [
        i
        for i in range(len(com.enterprise))
        if com.enterprise[i] == e and t - timedelta(days=365) <= _as_date(com.received_on[i]) < t
    ]
    out["complaints"] = len(window)
    out["complaints_substantiated"] = sum(1 for i in window if com.substantiated[i])

    latest = t.year - 1 if t > date(t.year, 6, 30) else t.year - 2
    rep = history.annual_reports
    missed = 0
    for year in range(latest, latest - 3, -1):
        deadline = date(year + 1, 6, 30)
        if reg >= date(year + 1, 1, 1):
            status = "not_due"
        else:
            filings = [
                _as_date(rep.filed_on[i])
                for i in range(len(rep.enterprise))
                if rep.enterprise[i] == e and rep.year[i] == year
            ]
            filed = sorted(f for f in filings if f is not None and f < t)
            status = "not_filed" if not filed else "late" if filed[0] > deadline else "on_time"
        if year == latest:
            out["annual_report_last"] = REPORT_STATUSES.index(status)
        missed += status in ("late", "not_filed")
    out["annual_reports_missed"] = missed

    lst = history.lists
    for code, name in ((0, "abnormal"), (1, "serious_violation")):
        entries = [
            _as_date(lst.removed_on[i])
            for i in range(len(lst.enterprise))
            if lst.enterprise[i] == e and lst.list[i] == code and _as_date(lst.listed_on[i]) < t
        ]
        active = any(r is None or r >= t for r in entries)
        out[f"{name}_listed"] = float(active)
        out[f"{name}_past"] = float(bool(entries) and not active)
    return out


def _reference_peer_rate(
    spec: FeatureSpec, table: EnterpriseTable, history: HistoryEvents, e: int, t: date
) -> float:
    """Problem share of the observation visits (enterprise, day) to e's district and
    industry section in the window before t, shrunk towards the city's share."""
    if table.district[e] < 0 or table.industry[e] < 0:
        return math.nan

    def cell(j: int) -> tuple[int, str] | None:
        if table.district[j] < 0 or table.industry[j] < 0:
            return None
        return int(table.district[j]), table.industries[table.industry[j]][0]

    ins = history.inspections
    visits: dict[tuple[int, date], list[int]] = {}
    for i in range(len(ins)):
        key = (int(ins.enterprise[i]), _as_date(ins.inspected_on[i]))
        visits.setdefault(key, []).append(int(ins.result[i]))
    start = t - timedelta(days=spec.config.peer_window_days)
    city = [0, 0]
    peers = [0, 0]
    for (j, day), results in visits.items():
        if not start <= day < t or not any(RESULT_CODES[r].is_observation for r in results):
            continue
        found = int(any(RESULT_CODES[r].counts_as_problem for r in results))
        city[0], city[1] = city[0] + 1, city[1] + found
        if cell(j) == cell(e):
            peers[0], peers[1] = peers[0] + 1, peers[1] + found
    city_rate = (city[1] + 0.5) / (city[0] + 1.0)
    k = spec.config.peer_prior_visits
    return (peers[1] + k * city_rate) / (peers[0] + k)


def _reference_peer_complaint_ratio(
    spec: FeatureSpec, table: EnterpriseTable, history: HistoryEvents, e: int, t: date
) -> float:
    """Complaints to e's district and section in the window before t, over its enterprises
    registered before t times their section's complaints per such enterprise city-wide."""
    if table.district[e] < 0 or table.industry[e] < 0:
        return math.nan

    def section(j: int) -> str | None:
        known = table.district[j] >= 0 and table.industry[j] >= 0
        return table.industries[table.industry[j]][0] if known else None

    def same_cell(j: int) -> bool:
        return section(j) == section(e) and table.district[j] == table.district[e]

    def registered(j: int) -> bool:
        day = _as_date(table.registered_on[j])
        return day is not None and day < t

    com = history.complaints
    start = t - timedelta(days=spec.config.complaint_window_days)
    recent = [
        int(com.enterprise[i])
        for i in range(len(com.enterprise))
        if com.enterprise[i] >= 0
        and (day := _as_date(com.received_on[i])) is not None
        and start <= day < t
    ]
    observed = sum(1 for j in recent if same_cell(j))
    in_section = sum(1 for j in recent if section(j) == section(e))
    cell_size = sum(1 for j in range(len(table)) if same_cell(j) and registered(j))
    section_size = sum(1 for j in range(len(table)) if section(j) == section(e) and registered(j))
    expected = cell_size * in_section / max(section_size, 1)
    k = spec.config.peer_prior_complaints
    return (observed + k) / (expected + k)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_vectorised_features_agree_with_a_slow_reference(seed: int) -> None:
    enterprises, history = random_world(seed, n=25, events=90)
    rng = np.random.default_rng(seed)
    spec = FeatureSpec.from_table(enterprises)
    queries = rng.integers(0, len(enterprises), 30)
    days = FIRST_DAY + rng.integers(0, SPAN_DAYS, 30).astype("timedelta64[D]")
    X = build_features(spec, enterprises, history, queries, days)
    for row, (e, day) in enumerate(zip(queries, days, strict=True)):
        expected = _reference_row(spec, enterprises, history, int(e), _as_date(day))
        assert set(expected) == set(X.names)
        for name, value in expected.items():
            got = float(X.column(name)[row])
            assert (math.isnan(value) and math.isnan(got)) or math.isclose(
                got, value, rel_tol=1e-5, abs_tol=1e-5
            ), f"{name} of enterprise {e} as of {day}: {got} != {value}"


# --- chosen definitions, spelled out --------------------------------------------------------


def _one_enterprise() -> EnterpriseTable:
    return EnterpriseTable.from_strings(
        credit_code=["X"],
        entity_type=["company"],
        industry=["H62"],
        district=["440106"],
        registered_on=["2015-03-01"],
    )


def test_list_membership_is_active_until_the_removal_day() -> None:
    lists = ListEntries(
        np.array([0]), np.array([0]), np.array(["2020-01-10"], "datetime64[D]"),
        np.array(["2020-05-01"], "datetime64[D]"),
    )  # fmt: skip
    history = replace(HistoryEvents.empty(), lists=lists)
    table = _one_enterprise()
    listed = {
        day: (_features(table, history, np.datetime64(day)).column("abnormal_listed")[0],
              _features(table, history, np.datetime64(day)).column("abnormal_past")[0])
        for day in ("2020-01-10", "2020-01-11", "2020-05-01", "2020-05-02")
    }  # fmt: skip
    assert listed == {
        "2020-01-10": (0, 0),  # listed that day: not yet known
        "2020-01-11": (1, 0),
        "2020-05-01": (1, 0),  # removed that day: still listed as of the day
        "2020-05-02": (0, 1),
    }


def test_annual_report_status_follows_the_june_deadline() -> None:
    table = _one_enterprise()
    reports = AnnualReports(
        np.array([0, 0]), np.array([2019, 2020]),
        np.array(["2020-06-30", "2021-08-01"], "datetime64[D]"),
    )  # fmt: skip
    history = replace(HistoryEvents.empty(), annual_reports=reports)

    def status(day: str) -> str:
        X = _features(table, history, np.datetime64(day))
        return REPORT_STATUSES[int(X.column("annual_report_last")[0])]

    assert status("2021-06-30") == "on_time"  # 2020's report not yet due: 2019 is the latest
    assert status("2021-07-01") == "not_filed"  # 2020's deadline passed, filed 1 August
    assert status("2021-08-02") == "late"


def test_peer_complaint_ratio_compares_a_district_with_its_trade_city_wide() -> None:
    """Two districts, one trade: six complaints in a year to the first district's two
    enterprises, none to the second's. The trade draws 6 / 4 complaints per enterprise, so
    each district expects 3; the prior (k = 5 complaints) keeps both near 1."""
    table = EnterpriseTable.from_strings(
        credit_code=["A1", "A2", "B1", "B2", "B3", "C1"],
        entity_type=["company"] * 6,
        industry=["H62", "H61", "H62", "H62", "H62", "F52"],
        district=["440103", "440103", "440104", "440104", "440104", "440103"],
        # B3 registers on the scoring day: not yet one of the peers
        registered_on=["2015-03-01"] * 4 + ["2021-06-15", "2015-03-01"],
    )
    as_of = np.datetime64("2021-06-15")
    days = np.array(["2020-07-01"] * 5 + ["2021-06-14", "2021-06-15", "2019-01-01"], "M8[D]")
    # A1 five, A2 one within the year; one to B1 on the day itself and one two years
    # before: neither is in the window.
    complaints = Complaints(np.array([0, 0, 0, 0, 0, 1, 2, 2]), days, np.zeros(8, bool))
    history = replace(HistoryEvents.empty(), complaints=complaints)
    ratio = _features(table, history, as_of).column("peer_complaint_ratio")
    k = FeatureSpec.from_table(table).config.peer_prior_complaints
    assert math.isclose(ratio[0], (6 + k) / (3 + k), rel_tol=1e-6)
    assert ratio[1] == ratio[0]  # same district and section (H), another division
    assert math.isclose(ratio[2], (0 + k) / (3 + k), rel_tol=1e-6)
    assert ratio[5] == 1.0  # the trade (F) had no complaints anywhere: nothing to compare
    # The complaint on the day becomes visible the day after, B3 counts from then too
    later = _features(table, history, as_of + 1).column("peer_complaint_ratio")
    assert math.isclose(later[2], (1 + k) / (7 * 3 / 5 + k), rel_tol=1e-6)


def test_peer_complaint_ratio_is_unknown_without_district_or_industry() -> None:
    table = EnterpriseTable.from_strings(
        credit_code=["A", "B"],
        entity_type=["company", "company"],
        industry=["H62", ""],
        district=["", "440103"],
        registered_on=["2015-03-01", "2015-03-01"],
    )
    complaints = Complaints(
        np.array([0, 1]), np.array(["2021-01-01"] * 2, "M8[D]"), np.ones(2, bool)
    )
    history = replace(HistoryEvents.empty(), complaints=complaints)
    ratio = _features(table, history, np.datetime64("2021-06-15")).column("peer_complaint_ratio")
    assert np.isnan(ratio).all()

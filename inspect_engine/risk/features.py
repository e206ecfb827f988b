"""Features of an enterprise as of a date, computed from events strictly before that date.

One function, `build_features`, serves both uses:
- scoring: every enterprise as of the scoring date;
- training: each labelled visit's enterprise as of the visit's own day, so a label is always
  explained by what was known the day before the inspection (no snapshot approximation).

Everything is vectorised: each event kind is sorted once by (enterprise, day) into one int64
key, and a query (enterprise, day) becomes np.searchsorted positions in it. An event dated
on or after the query day sorts after the query key and is never counted (no leakage).

The column catalogue (names, kinds, bins, reason texts) lives in `FeatureSpec`, fitted once
on the enterprise table at training time and stored with the model, so that scoring months
later encodes categories exactly as training did.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from inspect_engine.publication import result_codes
from inspect_engine.risk import vocabulary as zh
from inspect_engine.risk.labels import Visits, group_visits
from inspect_engine.risk.tables import (
    ABNORMAL,
    SERIOUS_VIOLATION,
    SEVERITIES,
    EnterpriseTable,
    HistoryEvents,
)

Kind = Literal["numeric", "categorical", "binary"]

_DAY_OFFSET = 200_000  # shifts day numbers (days since 1970) to positive for old dates
_DAY_SPAN = 1 << 20  # room for any day number after the offset
REPORT_STATUSES: tuple[str, ...] = ("on_time", "late", "not_filed", "not_due")


@dataclass(frozen=True)
class FeatureConfig:
    """Bins and windows. Bins are domain-fixed (not quantiles) so reasons read naturally."""

    age_edges_years: tuple[float, ...] = (1, 3, 5, 10)
    capital_edges_cny: tuple[float, ...] = (1e5, 1e6, 1e7, 1e8)
    address_edges: tuple[float, ...] = (2, 5, 20, 100)
    inspection_edges: tuple[float, ...] = (1, 2, 4)
    problem_edges: tuple[float, ...] = (1, 2, 3)
    recency_edges_days: tuple[float, ...] = (365, 730, 1095)
    penalty_edges: tuple[float, ...] = (1, 2, 3)
    complaint_edges: tuple[float, ...] = (1, 2, 3, 5)
    all_complaint_edges: tuple[float, ...] = (1, 3, 5, 10)
    missed_report_edges: tuple[float, ...] = (1, 2, 3)
    penalty_window_days: int = 1095
    # Peers: the enterprises of the same district and GB/T 4754 section. Their recent
    # problem rate follows risk that moves with place and trade over time (a campaign, a
    # local market's trouble), which three years of one's own history cannot show.
    peer_window_days: int = 365
    peer_prior_visits: float = 20.0  # the city's rate counts as this many peer visits
    peer_rate_edges: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
    # The peers' complaints in the complaint window over what their trade draws city-wide.
    # Complaints outnumber visits and arrive every month, so they follow a local shift
    # sooner than the visits' problem share; the trade's own rate takes out that some
    # trades face the public more. The ratio is (observed + k) / (expected + k).
    peer_prior_complaints: float = 5.0
    peer_complaint_edges: tuple[float, ...] = (0.5, 0.8, 1.25, 2.0)
    complaint_window_days: int = 365
    report_deadline: tuple[int, int] = (6, 30)  # 年报: 1 January - 30 June of the next year
    report_years: int = 3
    max_categories: int = 254  # HistGradientBoosting's categorical limit is 255 incl. missing


@dataclass(frozen=True)
class Column:
    """One feature column: how its value is binned (for the scorecard) and described."""

    name: str
    kind: Kind
    group: str  # reason group: columns of one group are explained together
    edges: tuple[float, ...] = ()  # numeric: bin i holds edges[i-1] <= x < edges[i]
    levels: tuple[str, ...] = ()  # categorical: the code -> level label
    texts: tuple[str, ...] = ()  # one reason text per level code (see n_levels)

    @property
    def n_levels(self) -> int:
        """numeric: bins + missing; categorical: levels + unknown; binary: 0 and 1."""
        if self.kind == "numeric":
            return len(self.edges) + 2
        if self.kind == "categorical":
            return len(self.levels) + 1
        return 2

    def level_codes(self, values: NDArray[np.floating]) -> NDArray[np.int16]:
        """The level (bin, category or 0/1) of each value; missing gets the last level."""
        missing = np.isnan(values)
        if self.kind == "numeric":
            codes = np.searchsorted(np.asarray(self.edges), values, side="right")
        elif self.kind == "categorical":
            codes = np.where(missing, 0, values).astype(np.int64)
        else:
            codes = (np.nan_to_num(values) > 0.5).astype(np.int64)
            missing = np.zeros_like(missing)
        return np.where(missing, self.n_levels - 1, codes).astype(np.int16)


@dataclass(frozen=True)
class FeatureMatrix:
    """Features of (enterprise, as-of day) queries: float32, NaN = missing/unknown."""

    values: NDArray[np.float32]
    columns: tuple[Column, ...]
    enterprise: NDArray[np.int64]  # row in the EnterpriseTable
    as_of: NDArray[np.datetime64]
    has_history: NDArray[np.bool_]  # any inspection record before the as-of day

    def __len__(self) -> int:
        return len(self.enterprise)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> NDArray[np.float32]:
        return self.values[:, self.names.index(name)]

    def take(self, rows: NDArray[np.int64]) -> FeatureMatrix:
        return FeatureMatrix(
            self.values[rows], self.columns, self.enterprise[rows], self.as_of[rows],
            self.has_history[rows],
        )  # fmt: skip

    def model_view(self, n_model: int) -> FeatureMatrix:
        """The first `n_model` columns (the model's, see build_features): a view, no copy."""
        if n_model == len(self.columns):
            return self
        return FeatureMatrix(
            self.values[:, :n_model], self.columns[:n_model], self.enterprise, self.as_of,
            self.has_history,
        )  # fmt: skip

    def without(self, names: Sequence[str]) -> FeatureMatrix:
        """The matrix without the named columns (training drops what it cannot learn from)."""
        if not set(names) & set(self.names):
            return self
        keep = [j for j, c in enumerate(self.columns) if c.name not in set(names)]
        return FeatureMatrix(
            np.asfortranarray(self.values[:, keep]), tuple(self.columns[j] for j in keep),
            self.enterprise, self.as_of, self.has_history,
        )  # fmt: skip

    def uninformative(self) -> dict[str, str]:
        """Columns a model cannot learn from here, each with why: empty for every row (a
        directory column nobody filled, e.g. registered capital in a city of 个体工商户) or
        one value for every row (a history file that was never imported)."""
        found: dict[str, str] = {}
        for j, col in enumerate(self.columns):
            values = self.values[:, j]
            known = values[~np.isnan(values)]
            if known.size == 0:
                found[col.name] = "empty for every visit"
            elif known.size == values.size and np.all(known == known[0]):
                found[col.name] = f"the same value ({known[0]:g}) for every visit"
        return found

    def level_codes(self) -> NDArray[np.int16]:
        """(n, p) level codes, column by column (the scorecard's encoding)."""
        codes = np.empty(self.values.shape, dtype=np.int16)
        for j, col in enumerate(self.columns):
            codes[:, j] = col.level_codes(self.values[:, j])
        return codes


@dataclass(frozen=True)
class FeatureSpec:
    """The column catalogue and the vocabularies, fitted on the enterprise table."""

    config: FeatureConfig
    entity_types: tuple[str, ...]
    sections: tuple[str, ...]
    industries: tuple[str, ...]
    districts: tuple[str, ...]
    licence_names: tuple[str, ...]
    tag_names: tuple[str, ...]
    columns: tuple[Column, ...] = field(default=())
    # Columns training found uninformative, with why: still built (override rules read
    # them) but never shown to the model. Older artefacts lack it and read the default.
    dropped: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_table(
        cls, enterprises: EnterpriseTable, config: FeatureConfig | None = None
    ) -> FeatureSpec:
        config = config or FeatureConfig()
        industries = _most_frequent(enterprises.industry, enterprises.industries, config)
        spec = cls(
            config=config,
            entity_types=tuple(enterprises.entity_types),
            sections=tuple(sorted({code[:1] for code in industries})),
            industries=industries,
            districts=_most_frequent(enterprises.district, enterprises.districts, config),
            licence_names=tuple(enterprises.licence_names),
            tag_names=tuple(enterprises.tag_names),
        )
        return replace(spec, columns=_catalogue(spec))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def dropped_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.dropped)

    @property
    def model_names(self) -> tuple[str, ...]:
        """The columns the model sees: the catalogue without the dropped ones."""
        return tuple(n for n in self.names if n not in self.dropped_names)

    @property
    def groups(self) -> tuple[str, ...]:
        """Reason groups in catalogue order."""
        return tuple(dict.fromkeys(c.group for c in self.columns))


def _most_frequent(
    codes: NDArray[np.int32], vocabulary: tuple[str, ...], config: FeatureConfig
) -> tuple[str, ...]:
    """The vocabulary, cut to the most frequent values if it is too long (rest = unknown)."""
    if len(vocabulary) <= config.max_categories:
        return tuple(vocabulary)
    counts = np.bincount(codes[codes >= 0], minlength=len(vocabulary))
    keep = np.sort(np.argsort(-counts, kind="stable")[: config.max_categories])
    return tuple(vocabulary[i] for i in keep)


# --- the catalogue --------------------------------------------------------------------------


def _bin_texts(edges: Sequence[float], describe: list[str], missing: str) -> tuple[str, ...]:
    if len(describe) != len(edges) + 1:
        raise ValueError("one description per bin is needed")
    return (*describe, missing)


def _count_texts(
    edges: Sequence[float], zero: str, template: str, unit: str = "次", missing: str = "不详"
) -> tuple[str, ...]:
    """Texts for count bins: 'template' gets '2次', '3至4次', '5次及以上'."""
    texts = [zero]
    bounds = [int(e) for e in edges]
    for lo, hi in zip(bounds, [*bounds[1:], None], strict=True):
        if hi is None:
            amount = f"{lo}{unit}及以上"
        elif hi - lo == 1:
            amount = f"{lo}{unit}"
        else:
            amount = f"{lo}至{hi - 1}{unit}"
        texts.append(template.format(amount))
    return (*texts, missing)


def _range_texts(edges: Sequence[float], unit: str, template: str) -> list[str]:
    """'不满1年', '1至3年', …, '10年以上' style texts for a numeric range."""
    out = [template.format(f"不满{_num(edges[0])}{unit}")]
    for lo, hi in itertools.pairwise(edges):
        out.append(template.format(f"{_num(lo)}至{_num(hi)}{unit}"))
    out.append(template.format(f"{_num(edges[-1])}{unit}以上"))
    return out


def _percent_texts(edges: Sequence[float], template: str) -> list[str]:
    """'低于10%', '10%至20%', …, '50%及以上' for a rate."""
    pct = [f"{round(100 * e)}%" for e in edges]
    out = [template.format(f"低于{pct[0]}")]
    out += [template.format(f"{lo}至{hi}") for lo, hi in itertools.pairwise(pct)]
    return [*out, template.format(f"{pct[-1]}及以上")]


def _ratio_texts(edges: Sequence[float], template: str) -> list[str]:
    """'0.5倍以下', '0.5至0.8倍', …, '2倍及以上' for a ratio to an average."""
    out = [template.format(f"{edges[0]:g}倍以下")]
    out += [template.format(f"{lo:g}至{hi:g}倍") for lo, hi in itertools.pairwise(edges)]
    return [*out, template.format(f"{edges[-1]:g}倍及以上")]


def _recency_texts(edges_days: Sequence[float]) -> list[str]:
    """'距上次检查1至2年' …, for every bin after the first."""
    return _range_texts([d / 365 for d in edges_days], "年", "距上次检查{}")[1:]


def _num(value: float) -> str:
    if value >= 1e8 and value % 1e8 == 0:
        return f"{value / 1e8:g}亿"
    if value >= 1e4 and value % 1e4 == 0:
        return f"{value / 1e4:g}万"
    return f"{value:g}"


def _flag(name: str, no: str, yes: str) -> Column:
    """A 0/1 column that is its own reason group."""
    return Column(name, "binary", name, texts=(no, yes))


def _catalogue(spec: FeatureSpec) -> tuple[Column, ...]:
    c = spec.config
    cols: list[Column] = [
        Column(
            "age_years",
            "numeric",
            "age",
            c.age_edges_years,
            texts=_bin_texts(
                c.age_edges_years, _range_texts(c.age_edges_years, "年", "成立{}"), "成立日期不详"
            ),
        ),
        Column(
            "entity_type",
            "categorical",
            "entity_type",
            levels=spec.entity_types,
            texts=(*(f"主体类型为{zh.entity_type(t)}" for t in spec.entity_types), "主体类型不详"),
        ),
        Column(
            "industry_section",
            "categorical",
            "industry",
            levels=spec.sections,
            texts=(*(f"所属行业门类：{zh.section(s)}" for s in spec.sections), "所属行业不详"),
        ),
        Column(
            "industry_division",
            "categorical",
            "industry",
            levels=spec.industries,
            texts=(
                *(f"所属行业：{d}（{zh.section(d[:1])}）" for d in spec.industries),
                "所属行业不详",
            ),
        ),
        Column(
            "district",
            "categorical",
            "district",
            levels=spec.districts,
            texts=(*(f"所在区域：{zh.district(d)}" for d in spec.districts), "所在区域不详"),
        ),
        Column(
            "capital_log10",
            "numeric",
            "capital",
            tuple(float(np.log10(1.0 + e)) for e in c.capital_edges_cny),
            texts=_bin_texts(
                c.capital_edges_cny,
                _range_texts(c.capital_edges_cny, "元", "注册资本{}"),
                "注册资本未登记",
            ),
        ),
    ]
    for name in spec.licence_names:
        label = zh.licence(name)
        cols.append(
            Column(
                f"licence:{name}",
                "binary",
                f"licence:{name}",
                texts=(f"未持有{label}许可", f"持有{label}许可"),
            )
        )
    for name in spec.tag_names:
        label = zh.tag(name)
        cols.append(
            Column(
                f"tag:{name}",
                "binary",
                f"tag:{name}",
                texts=(f"无监管标签：{label}", f"监管标签：{label}"),
            )
        )
    address_texts = _count_texts(
        c.address_edges, "登记地址无其他市场主体", "同一登记地址有{}市场主体", "户", "登记地址不详"
    )
    cols += [
        Column(
            "address_cluster",
            "numeric",
            "address_cluster",
            c.address_edges,
            texts=address_texts,
        ),
        Column(
            "past_inspections",
            "numeric",
            "past_inspections",
            c.inspection_edges,
            texts=_count_texts(c.inspection_edges, "以往未接受过有效检查", "以往接受检查{}"),
        ),
        Column(
            "past_problems",
            "numeric",
            "past_problems",
            c.problem_edges,
            texts=_count_texts(c.problem_edges, "以往检查均未发现问题", "以往检查中{}发现问题"),
        ),
        Column(
            "last_result",
            "categorical",
            "last_result",
            levels=result_codes.CODES,
            texts=(*(f"上次检查结果：{label}" for label in result_codes.LABELS), "无检查记录"),
        ),
        Column(
            "days_since_inspection",
            "numeric",
            "inspection_recency",
            c.recency_edges_days,
            texts=_bin_texts(
                c.recency_edges_days,
                ["近1年内接受过检查", *_recency_texts(c.recency_edges_days)],
                "从未接受检查",
            ),
        ),
        Column(
            "peer_problem_rate",
            "numeric",
            "peers",
            c.peer_rate_edges,
            texts=_bin_texts(
                c.peer_rate_edges,
                _percent_texts(
                    c.peer_rate_edges,
                    f"同区域同行业近{round(c.peer_window_days / 30.4)}个月检查问题发现率{{}}",
                ),
                "同区域同行业近期检查情况不详",
            ),
        ),
        Column(
            "peer_complaint_ratio",
            "numeric",
            "peers",
            c.peer_complaint_edges,
            texts=_bin_texts(
                c.peer_complaint_edges,
                _ratio_texts(
                    c.peer_complaint_edges,
                    f"同区域同行业近{round(c.complaint_window_days / 30.4)}个月投诉量"
                    "为全市同行业平均的{}",
                ),
                "同区域同行业近期投诉情况不详",
            ),
        ),
    ]
    years = c.penalty_window_days // 365
    for severity, label in zip(SEVERITIES, ("轻微", "一般", "严重"), strict=True):
        cols.append(
            Column(
                f"penalties_{severity}", "numeric", f"penalties_{severity}", c.penalty_edges,
                texts=_count_texts(
                    c.penalty_edges, f"近{years}年无{label}行政处罚",
                    f"近{years}年受到{{}}{label}行政处罚",
                ),
            )
        )  # fmt: skip
    months = round(c.complaint_window_days / 30.4)
    cols += [
        Column(
            "complaints_substantiated", "numeric", "complaints_substantiated", c.complaint_edges,
            texts=_count_texts(
                c.complaint_edges, f"近{months}个月无被证实的投诉",
                f"近{months}个月有{{}}被证实的投诉",
            ),
        ),
        Column(
            "complaints", "numeric", "complaints", c.all_complaint_edges,
            texts=_count_texts(
                c.all_complaint_edges, f"近{months}个月无投诉", f"近{months}个月收到{{}}投诉"
            ),
        ),
        Column(
            "annual_report_last", "categorical", "annual_report_last", levels=REPORT_STATUSES,
            texts=(
                "最近一个年度的年报按时报送",
                "最近一个年度的年报未按时报送（逾期补报）",
                "最近一个年度的年报未报送",
                "尚无应报送的年报",
                "年报情况不详",
            ),
        ),
        Column(
            "annual_reports_missed", "numeric", "annual_reports_missed", c.missed_report_edges,
            texts=_count_texts(
                c.missed_report_edges, f"近{c.report_years}个年度年报均按时报送",
                f"近{c.report_years}个年度中{{}}未按时报送年报",
            ),
        ),
        _flag("abnormal_listed", "未列入经营异常名录", "被列入经营异常名录"),
        _flag("serious_violation_listed", "未列入严重违法失信名单", "被列入严重违法失信名单"),
        _flag("abnormal_past", "此前未被列入经营异常名录", "曾被列入经营异常名录（已移出）"),
        _flag(
            "serious_violation_past",
            "此前未被列入严重违法失信名单",
            "曾被列入严重违法失信名单（已移出）",
        ),
    ]  # fmt: skip
    for col in cols:
        if len(col.texts) != col.n_levels or not all(col.texts):
            raise AssertionError(f"{col.name}: needs one non-empty text per level")
    return tuple(cols)


# --- event indexes --------------------------------------------------------------------------


def _day_numbers(days: NDArray[np.datetime64]) -> NDArray[np.int64]:
    return np.asarray(days, dtype="datetime64[D]").astype(np.int64) + _DAY_OFFSET


class _EventIndex:
    """Events of one kind sorted by (owner, day), for counting by np.searchsorted.

    Events with an unknown day (NaT) or owner (-1) are left out."""

    def __init__(self, owner: NDArray[np.int64], day: NDArray[np.datetime64]) -> None:
        ok = ~np.isnat(day) & (owner >= 0)
        key = owner[ok] * _DAY_SPAN + _day_numbers(day[ok])
        order = np.argsort(key, kind="stable")
        self.rows = np.flatnonzero(ok)[order]  # original event row of each sorted position
        self.key = key[order]

    def position(self, owner: NDArray[np.int64], day: NDArray[np.int64]) -> NDArray[np.int64]:
        """How many events sort before (owner, day): all earlier owners' and owner's < day."""
        pos: NDArray[np.int64] = np.searchsorted(self.key, owner * _DAY_SPAN + day, side="left")
        return pos

    def count_between(
        self, owner: NDArray[np.int64], first: NDArray[np.int64], before: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Events of `owner` with first <= day < before."""
        return self.position(owner, before) - self.position(owner, first)

    def count_before(
        self, owner: NDArray[np.int64], before: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        return self.count_between(owner, np.zeros_like(before), before)


def _first_of_year(year: NDArray[np.int64]) -> NDArray[np.datetime64]:
    return (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")


# --- building -------------------------------------------------------------------------------


def _remap(
    codes: NDArray[np.int32], source: Sequence[str], target: Sequence[str]
) -> NDArray[np.float32]:
    """Codes of the table's vocabulary turned into codes of the spec's (NaN if unknown)."""
    position = {v: i for i, v in enumerate(target)}
    table = np.array([position.get(v, np.nan) for v in source] + [np.nan], dtype=np.float32)
    return table[np.where(codes >= 0, codes, len(source))]


def _bits(masks: NDArray[np.int64], source: Sequence[str], name: str) -> NDArray[np.float32]:
    if name not in source:
        return np.zeros(len(masks), dtype=np.float32)
    return ((masks >> source.index(name)) & 1).astype(np.float32)


def build_features(
    spec: FeatureSpec,
    enterprises: EnterpriseTable,
    history: HistoryEvents,
    enterprise: NDArray[np.integer],
    as_of: np.datetime64 | NDArray[np.datetime64],
    extra: Sequence[str] = (),
) -> FeatureMatrix:
    """Features of each queried enterprise row as of its as-of day (scalar or per row).

    The columns are the model's (the catalogue without what training dropped), then the
    dropped columns named in `extra` (e.g. an override rule's list flag): `model_view`
    gives the model's part without copying. Only events dated strictly before the as-of
    day are used."""
    ent = np.asarray(enterprise, dtype=np.int64)
    if ent.size and (ent.min() < 0 or ent.max() >= len(enterprises)):
        raise ValueError("enterprise rows outside the enterprise table")
    as_of_days = np.broadcast_to(np.asarray(as_of, dtype="datetime64[D]"), ent.shape).copy()
    if np.isnat(as_of_days).any():
        raise ValueError("as-of dates must be known")
    t = _day_numbers(as_of_days)
    # Column-major: features are written and binned column by column.
    by_name = {c.name: c for c in spec.columns}
    dropped = set(spec.dropped_names)
    columns = (
        *(c for c in spec.columns if c.name not in dropped),
        *(by_name[name] for name in extra if name in dropped),
    )
    values = np.full((len(ent), len(columns)), np.nan, dtype=np.float32, order="F")
    put = _ColumnWriter(columns, values)

    _static_features(put, spec, enterprises, ent, as_of_days, t)
    visits = group_visits(history.inspections, with_teams=False)
    has_history = _inspection_features(put, visits, ent, t)
    _peer_features(put, spec.config, enterprises, visits, ent, t)
    _peer_complaint_features(put, spec.config, enterprises, history, ent, t)
    _penalty_and_complaint_features(put, spec.config, history, ent, t)
    _annual_report_features(put, spec.config, enterprises, history, ent, as_of_days)
    _list_features(put, history, ent, t)
    return FeatureMatrix(values, columns, ent, as_of_days, has_history)


class _ColumnWriter:
    """Writes the catalogue's columns that are kept; a dropped one is computed and let go."""

    def __init__(self, columns: Sequence[Column], values: NDArray[np.float32]) -> None:
        self.index = {c.name: j for j, c in enumerate(columns)}
        self.values = values

    def __call__(self, name: str, column: NDArray[np.number] | NDArray[np.bool_]) -> None:
        j = self.index.get(name)
        if j is not None:
            self.values[:, j] = column


def _static_features(
    put: _ColumnWriter,
    spec: FeatureSpec,
    table: EnterpriseTable,
    ent: NDArray[np.int64],
    as_of: NDArray[np.datetime64],
    t: NDArray[np.int64],
) -> None:
    registered = table.registered_on[ent]
    age_days = (as_of - registered).astype(np.float64)
    age_days[np.isnat(registered)] = np.nan
    put("age_years", np.maximum(age_days, 0.0) / 365.25)
    put("entity_type", _remap(table.entity_type, table.entity_types, spec.entity_types)[ent])
    put("industry_division", _remap(table.industry, table.industries, spec.industries)[ent])
    sections = [code[:1] for code in table.industries]
    put("industry_section", _remap(table.industry, sections, spec.sections)[ent])
    put("district", _remap(table.district, table.districts, spec.districts)[ent])
    capital = table.registered_capital[ent]
    put("capital_log10", np.log10(1.0 + np.where(capital >= 0, capital, np.nan)))
    for name in spec.licence_names:
        put(f"licence:{name}", _bits(table.licences, table.licence_names, name)[ent])
    for name in spec.tag_names:
        put(f"tag:{name}", _bits(table.tags, table.tag_names, name)[ent])
    # Same-address cluster: enterprises registered at the address before the as-of day
    # (every status: a cancelled shell at the address still says something about it).
    address = table.address[ent]
    by_address = _EventIndex(table.address, table.registered_on)
    cluster = by_address.count_before(np.maximum(address, 0), t).astype(np.float64)
    put("address_cluster", np.where(address >= 0, cluster, np.nan))


def _inspection_features(
    put: _ColumnWriter, visits: Visits, ent: NDArray[np.int64], t: NDArray[np.int64]
) -> NDArray[np.bool_]:
    every = _EventIndex(visits.enterprise, visits.day)
    n_visits = every.count_before(ent, t)
    observed = np.flatnonzero(visits.observed)
    obs = _EventIndex(visits.enterprise[observed], visits.day[observed])
    problems = np.flatnonzero(visits.problem)
    prob = _EventIndex(visits.enterprise[problems], visits.day[problems])
    put("past_inspections", obs.count_before(ent, t))
    put("past_problems", prob.count_before(ent, t))

    has_history = n_visits > 0
    last = every.rows[np.maximum(every.position(ent, t) - 1, 0)] if len(every.key) else None
    if last is None:
        put("last_result", np.full(len(ent), np.nan))
        put("days_since_inspection", np.full(len(ent), np.nan))
        return has_history
    last_day = _day_numbers(visits.day[last])
    put("last_result", np.where(has_history, visits.result[last], np.nan))
    put("days_since_inspection", np.where(has_history, t - last_day, np.nan))
    return has_history


def _peer_cell(table: EnterpriseTable) -> NDArray[np.int64]:
    """Each enterprise's (district, industry section) cell; -1 when either is unknown."""
    letters = sorted({code[:1] for code in table.industries})
    section = np.array([letters.index(code[:1]) for code in table.industries] + [-1])
    sec = section[np.where(table.industry >= 0, table.industry, len(table.industries))]
    known = (sec >= 0) & (table.district >= 0)
    return np.where(known, table.district.astype(np.int64) * (len(letters) + 1) + sec, -1)


def _peer_features(
    put: _ColumnWriter,
    config: FeatureConfig,
    table: EnterpriseTable,
    visits: Visits,
    ent: NDArray[np.int64],
    t: NDArray[np.int64],
) -> None:
    """Problem share of the observation visits to the enterprise's cell in the window
    before t, shrunk towards the city's share in the same window (`peer_prior_visits`)."""
    cell = _peer_cell(table)
    obs = np.flatnonzero(visits.observed)
    found = obs[visits.problem[obs]]
    start = t - config.peer_window_days
    city_visits = _EventIndex(np.zeros(len(obs), np.int64), visits.day[obs])
    city_found = _EventIndex(np.zeros(len(found), np.int64), visits.day[found])
    zero = np.zeros(len(ent), np.int64)
    n_city = city_visits.count_between(zero, start, t)
    rate_city = (city_found.count_between(zero, start, t) + 0.5) / (n_city + 1.0)
    by_cell = _EventIndex(cell[visits.enterprise[obs]], visits.day[obs])
    found_by_cell = _EventIndex(cell[visits.enterprise[found]], visits.day[found])
    own = np.maximum(cell[ent], 0)
    n_peer = by_cell.count_between(own, start, t)
    k = config.peer_prior_visits
    rate = (found_by_cell.count_between(own, start, t) + k * rate_city) / (n_peer + k)
    put("peer_problem_rate", np.where(cell[ent] >= 0, rate, np.nan))


def _peer_complaint_features(
    put: _ColumnWriter,
    config: FeatureConfig,
    table: EnterpriseTable,
    history: HistoryEvents,
    ent: NDArray[np.int64],
    t: NDArray[np.int64],
) -> None:
    """Complaints to the enterprise's cell in the complaint window before t, over those
    expected if each of its enterprises drew its section's city-wide complaints per
    enterprise in the same window (indirect standardisation by trade); both shrunk by
    `peer_prior_complaints`. Enterprises count from their registration (status has no
    date, as for the address cluster)."""
    cell = _peer_cell(table)
    letters = len({code[:1] for code in table.industries}) + 1
    section = np.where(cell >= 0, cell % letters, -1)
    com = history.complaints
    owner = np.where(com.enterprise >= 0, com.enterprise, len(table))
    cell_of = np.append(cell, -1)[owner]
    section_of = np.append(section, -1)[owner]
    start = t - config.complaint_window_days
    own_cell, own_section = np.maximum(cell[ent], 0), np.maximum(section[ent], 0)
    observed = _EventIndex(cell_of, com.received_on).count_between(own_cell, start, t)
    in_section = _EventIndex(section_of, com.received_on).count_between(own_section, start, t)
    cell_size = _EventIndex(cell, table.registered_on).count_before(own_cell, t)
    section_size = _EventIndex(section, table.registered_on).count_before(own_section, t)
    expected = cell_size * in_section / np.maximum(section_size, 1)
    k = config.peer_prior_complaints
    ratio = (observed + k) / (expected + k)
    put("peer_complaint_ratio", np.where(cell[ent] >= 0, ratio, np.nan))


def _penalty_and_complaint_features(
    put: _ColumnWriter,
    config: FeatureConfig,
    history: HistoryEvents,
    ent: NDArray[np.int64],
    t: NDArray[np.int64],
) -> None:
    pen = history.penalties
    for code, severity in enumerate(SEVERITIES):
        rows = np.flatnonzero(pen.severity == code)
        index = _EventIndex(pen.enterprise[rows], pen.decided_on[rows])
        put(f"penalties_{severity}", index.count_between(ent, t - config.penalty_window_days, t))
    com = history.complaints
    window_start = t - config.complaint_window_days
    every = _EventIndex(com.enterprise, com.received_on)
    put("complaints", every.count_between(ent, window_start, t))
    rows = np.flatnonzero(com.substantiated)
    true = _EventIndex(com.enterprise[rows], com.received_on[rows])
    put("complaints_substantiated", true.count_between(ent, window_start, t))


class _ReportIndex:
    """Annual-report rows as one sorted int64 key: (enterprise, year, filing day), so the
    earliest filing of an (enterprise, year) is the first key at or after its prefix."""

    _YEARS = 10_000
    _NEVER = _DAY_SPAN - 1  # not filed: sorts after every real filing

    def __init__(self, history: HistoryEvents) -> None:
        rep = history.annual_reports
        filed = np.where(np.isnat(rep.filed_on), self._NEVER, _day_numbers(rep.filed_on))
        prefix = rep.enterprise * self._YEARS + rep.year.astype(np.int64)
        self.key = np.sort(prefix * _DAY_SPAN + filed)

    def first_filed(self, ent: NDArray[np.int64], year: NDArray[np.int64]) -> NDArray[np.int64]:
        """Day number of the earliest filing of each (enterprise, year); -1 if none."""
        prefix = ent * self._YEARS + year
        pos = np.minimum(np.searchsorted(self.key, prefix * _DAY_SPAN), len(self.key) - 1)
        if len(self.key) == 0:
            return np.full(len(ent), -1, dtype=np.int64)
        hit = self.key[pos]
        found = (hit // _DAY_SPAN == prefix) & (hit % _DAY_SPAN != self._NEVER)
        return np.where(found, hit % _DAY_SPAN, -1)


def _deadline(config: FeatureConfig, year: NDArray[np.int64]) -> NDArray[np.datetime64]:
    """The day by which the report for `year` is due (30 June of the next year)."""
    month, day = config.report_deadline
    first_month = _first_of_year(year + 1).astype("datetime64[M]") + (month - 1)
    return first_month.astype("datetime64[D]") + (day - 1)


def report_status(
    config: FeatureConfig,
    registered_on: NDArray[np.datetime64],
    reports: _ReportIndex,
    ent: NDArray[np.int64],
    as_of: NDArray[np.datetime64],
    years_back: int,
) -> NDArray[np.int8]:
    """Status (index into REPORT_STATUSES) of the annual report for the year `years_back`
    before the latest one whose deadline passed before the as-of day.

    A report counts as filed only if filed before the as-of day; a year without a row is
    'not filed' (a missing row and a later filing look the same on the as-of day)."""
    year_now = as_of.astype("datetime64[Y]").astype(np.int64) + 1970
    latest = np.where(as_of > _deadline(config, year_now - 1), year_now - 1, year_now - 2)
    year = latest - years_back
    first_filed = reports.first_filed(ent, year)
    is_filed = (first_filed >= 0) & (first_filed < _day_numbers(as_of))
    late = is_filed & (first_filed > _day_numbers(_deadline(config, year)))

    status = np.full(len(ent), REPORT_STATUSES.index("not_filed"), dtype=np.int8)
    status[is_filed] = REPORT_STATUSES.index("on_time")
    status[late] = REPORT_STATUSES.index("late")
    registered = registered_on[ent]
    not_due = ~np.isnat(registered) & (registered >= _first_of_year(year + 1))
    status[not_due] = REPORT_STATUSES.index("not_due")
    return status


def _annual_report_features(
    put: _ColumnWriter,
    config: FeatureConfig,
    table: EnterpriseTable,
    history: HistoryEvents,
    ent: NDArray[np.int64],
    as_of: NDArray[np.datetime64],
) -> None:
    reports = _ReportIndex(history)
    missed = np.zeros(len(ent), dtype=np.int64)
    for back in range(config.report_years):
        status = report_status(config, table.registered_on, reports, ent, as_of, back)
        if back == 0:
            put("annual_report_last", status)
        missed += np.isin(status, (1, 2))
    put("annual_reports_missed", missed)


def _list_features(
    put: _ColumnWriter, history: HistoryEvents, ent: NDArray[np.int64], t: NDArray[np.int64]
) -> None:
    """Membership active on the as-of day (listed before it, not removed before it), and
    past membership (listed and removed before it)."""
    lists = history.lists
    for code, name in ((ABNORMAL, "abnormal"), (SERIOUS_VIOLATION, "serious_violation")):
        rows = np.flatnonzero(lists.list == code)
        index = _EventIndex(lists.enterprise[rows], lists.listed_on[rows])
        if len(index.key) == 0:
            put(f"{name}_listed", np.zeros(len(ent)))
            put(f"{name}_past", np.zeros(len(ent)))
            continue
        removed = lists.removed_on[rows][index.rows]
        removed_day = np.where(np.isnat(removed), _DAY_SPAN - 1, _day_numbers(removed))
        owner = lists.enterprise[rows][index.rows]
        # Latest removal among the owner's entries so far; owners are sorted, so a running
        # maximum of owner*span + removal never mixes two owners.
        running_max = np.maximum.accumulate(owner * _DAY_SPAN + removed_day)
        pos = index.position(ent, t)
        any_listed = pos > index.position(ent, np.zeros_like(t))
        latest_removal = running_max[np.maximum(pos - 1, 0)] - ent * _DAY_SPAN
        active = any_listed & (latest_removal >= t)
        put(f"{name}_listed", active)
        put(f"{name}_past", any_listed & ~active)

"""CSV output in the import formats of DATA-FORMATS.md (UTF-8, header, RFC 4180 quoting)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType

import numpy as np

from simulations import catalogue as cat
from simulations.names import trade_text
from simulations.population import (
    ADDR_CLUSTER,
    ADDR_PLOT,
    ADDR_SHOP,
    ADDR_STALL,
    EPOCH,
    Naming,
    Offices,
    Population,
)

HEADERS: dict[str, tuple[str, ...]] = {
    "enterprises.csv": (
        "credit_code",
        "name",
        "entity_type",
        "industry",
        "district",
        "unit",
        "registered_on",
        "registered_capital",
        "status",
        "licences",
        "tags",
        "address",
        "lat",
        "lon",
    ),
    "inspectors.csv": (
        "inspector_id",
        "name",
        "department",
        "unit",
        "district",
        "qualifications",
        "certificate_expires",
        "lead",
        "monthly_capacity",
        "active",
    ),
    "items.csv": (
        "item_code",
        "department",
        "title",
        "legal_basis",
        "kind",
        "entity_types",
        "industries",
        "licences",
        "qualification",
        "min_inspectors",
    ),
    "tasks.csv": (
        "task_code",
        "title",
        "items",
        "targeted",
        "entity_types",
        "industries",
        "districts",
        "licences",
        "ratio_A",
        "ratio_B",
        "ratio_C",
        "ratio_D",
        "floor",
        "mode",
        "team_size",
    ),
    "inspections.csv": (
        "credit_code",
        "inspected_on",
        "department",
        "item_code",
        "inspector_id",
        "result",
        "inclusion_probability",
    ),
    "penalties.csv": ("credit_code", "decided_on", "severity", "amount"),
    "complaints.csv": ("credit_code", "received_on", "category", "substantiated"),
    "annual_reports.csv": ("credit_code", "year", "filed_on"),
    "lists.csv": ("credit_code", "list", "listed_on", "removed_on"),
    "leave.csv": ("inspector_id", "starts_on", "ends_on", "reason"),
    "conflicts.csv": ("inspector_id", "credit_code", "reason", "raised_by", "raised_on"),
}
IMPORT_FILES = tuple(HEADERS)
CHUNK = 200_000


class CsvFile:
    """A CSV file written row block by row block; counts its data rows."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self._f = path.open("w", encoding="utf-8", newline="")
        self._w = csv.writer(self._f, lineterminator="\n")
        self._w.writerow(header)
        self.rows = 0

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        """Writes rows given column by column (equal lengths)."""
        block = list(zip(*columns, strict=True))
        self._w.writerows(block)
        self.rows += len(block)

    def write_rows(self, rows: Iterable[Sequence[str]]) -> None:
        for row in rows:
            self._w.writerow(row)
            self.rows += 1

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._f.close()


class DateText:
    """ISO dates for day numbers by table lookup; negative days and NEVER give ''."""

    def __init__(self, last: date) -> None:
        n = (last - EPOCH).days + 400
        table = [(EPOCH + timedelta(days=i)).isoformat() for i in range(n)]
        self._table = np.array([*table, ""], dtype=object)
        self._blank = n

    def __call__(self, days: np.ndarray) -> list[str]:
        d = np.asarray(days, dtype=np.int64)
        d = np.where((d < 0) | (d >= self._blank), self._blank, d)
        return list(self._table[d])


def decimal_text(x: float) -> str:
    """Canonical decimal: no exponent, at most 9 decimals, no trailing zeros."""
    if x >= 1:
        return "1" if x == 1 else f"{x:.9f}".rstrip("0").rstrip(".")
    text = f"{x:.9f}".rstrip("0").rstrip(".")
    return text if text != "0" else "0"


def _mask_table(names: Sequence[str]) -> np.ndarray:
    return np.array(
        [";".join(n for b, n in enumerate(names) if m >> b & 1) for m in range(1 << len(names))],
        dtype=object,
    )


def _address_text(keys: np.ndarray) -> list[str]:
    building = keys % 16
    room = keys // 16 % 4096
    number = keys // (16 * 4096) % 1024
    road = keys // (16 * 4096 * 1024) % 16
    fmt = keys // (16 * 4096 * 1024 * 16) % 8
    district = keys // (16 * 4096 * 1024 * 16 * 8)
    out = []
    for d, f, r, num, rm, b in zip(
        district.tolist(),
        fmt.tolist(),
        road.tolist(),
        number.tolist(),
        room.tolist(),
        building.tolist(),
        strict=True,
    ):
        dist = cat.DISTRICTS[d]
        head = f"广州市{dist.name}{dist.roads[r]}{num}号"
        if f == ADDR_CLUSTER:
            out.append(f"{head}（自编{b}号楼）{rm}房（仅限办公）")
        elif f == ADDR_SHOP:
            out.append(f"{head}首层{rm}号铺")
        elif f == ADDR_STALL:
            out.append(f"{head}综合市场{rm}号档")
        elif f == ADDR_PLOT:
            out.append(head)
        else:
            out.append(f"{head}{rm}房")
    return out


def _names(pop: Population, naming: Naming, lo: int, hi: int) -> list[str]:
    trade = trade_text(pop.trade[lo:hi])
    words = np.array(naming.words, dtype=object)[pop.word[lo:hi]]
    dname = np.array([d.name for d in cat.DISTRICTS], dtype=object)[pop.district[lo:hi]]
    variant = pop.name_variant[lo:hi].astype(np.int64)
    etype = pop.etype[lo:hi]
    out = []
    for t, tr, w, dn, v in zip(
        etype.tolist(),
        trade.tolist(),
        words.tolist(),
        dname.tolist(),
        variant.tolist(),
        strict=True,
    ):
        if t == cat.COMPANY:
            prefix = "广州" if v < 60 else "广州市" if v < 90 else "广东"
            form = "股份有限公司" if v % 20 == 0 else "有限公司"
            out.append(f"{prefix}{tr}{w}{form}")
        elif t == cat.INDIVIDUAL:
            out.append(f"广州市{dn}{tr}{w}")
        elif t == cat.BRANCH:
            out.append(f"广州{tr}{w}有限公司{dn}分公司")
        elif t == cat.COOPERATIVE:
            out.append(f"广州市{dn}{tr}{w}专业合作社")
        else:
            country, form = cat.FOREIGN_ORIGINS[v % len(cat.FOREIGN_ORIGINS)]
            out.append(f"{country}{tr}{w}{form}广州代表处")
    return out


def write_enterprises(
    path: Path, pop: Population, naming: Naming, offices: Offices, dates: DateText
) -> int:
    licences = _mask_table(cat.LICENCES)
    tags = _mask_table(cat.TAGS)
    etypes = np.array(cat.ENTITY_TYPES, dtype=object)
    industries = np.array(cat.INDUSTRY_CODES, dtype=object)
    districts = np.array([d.code for d in cat.DISTRICTS], dtype=object)
    units = np.array(offices.codes, dtype=object)
    statuses = np.array(cat.STATUSES, dtype=object)
    with CsvFile(path, HEADERS["enterprises.csv"]) as out:
        for lo in range(0, pop.n, CHUNK):
            hi = min(lo + CHUNK, pop.n)
            capital = pop.capital[lo:hi]
            out.write(
                [
                    np.char.decode(pop.codes[lo:hi], "ascii").tolist(),
                    _names(pop, naming, lo, hi),
                    list(etypes[pop.etype[lo:hi]]),
                    list(industries[pop.industry[lo:hi]]),
                    list(districts[pop.district[lo:hi]]),
                    list(units[pop.office[lo:hi]]),
                    dates(pop.reg_day[lo:hi]),
                    ["" if np.isnan(c) else f"{c:.0f}" for c in capital.tolist()],
                    list(statuses[pop.status[lo:hi]]),
                    list(licences[pop.licences[lo:hi]]),
                    list(tags[pop.tags[lo:hi]]),
                    _address_text(pop.address_key[lo:hi]),
                    [f"{x:.6f}" for x in pop.lat[lo:hi].tolist()],
                    [f"{x:.6f}" for x in pop.lon[lo:hi].tolist()],
                ]
            )
        return out.rows

"""Shared helpers of the simulation tests: a generated city and its rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from simulations.city import CitySummary

SEED = 7
AS_OF = date(2026, 11, 30)


@dataclass(frozen=True)
class City:
    summary: CitySummary
    dir: Path
    _rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def rows(self, name: str) -> list[dict[str, str]]:
        """The file's rows as dicts (read once)."""
        if name not in self._rows:
            with (self.dir / name).open(encoding="utf-8", newline="") as f:
                self._rows[name] = list(csv.DictReader(f))
        return self._rows[name]

    def header(self, name: str) -> list[str]:
        with (self.dir / name).open(encoding="utf-8", newline="") as f:
            return next(csv.reader(f))

"""The synthetic small city (the demo's) loads through the real import path without a
single error, and every generated row is stored."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from inspect_engine.workflows.imports import TABLES, import_file
from models import repositories as repo
from simulations.city import CitySummary, generate_city

ORDER = ("enterprises", "inspectors", "items", "inspections", "penalties", "complaints",
         "annual-reports", "lists", "leave", "conflicts")  # fmt: skip


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> CitySummary:
    return generate_city("small", 2026, tmp_path_factory.mktemp("small"))


def test_every_generated_file_imports_without_error(
    session: Session, small_city: CitySummary
) -> None:
    out: Path = small_city.out_dir
    for kind in ORDER:
        name = f"{kind.replace('-', '_')}.csv"
        report = import_file(session, kind, out / name)
        assert report.warnings == []
        assert report.rows == small_city.rows[name]
        assert repo.count(session, TABLES[kind]) == small_city.rows[name]

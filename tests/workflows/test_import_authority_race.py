"""A supervisor's import checks the stored owners of the codes it names; a concurrent
import that creates one of those codes must not slip in between the check and the write
(PostgreSQL: the upsert would wait for the other insert, then overwrite its department)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import models
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.users import Forbidden, Principal, Role
from tests.conftest import BACKENDS, own_database
from tests.workflows import tinycity

HEADER = "item_code,department,title,legal_basis,kind\n"


def supervisor(department: str) -> Principal:
    return Principal(1, f"sup_{department}", Role.SUPERVISOR, frozenset({department}), None)


@pytest.fixture(params=BACKENDS)
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    with own_database(request.param, tmp_path_factory, "importrace", 3) as factory:
        with factory.begin() as session:
            tinycity.build(session, enterprises=10)
        yield factory


def test_a_code_created_meanwhile_is_not_taken_over(
    city: sessionmaker[Session], tmp_path: Path
) -> None:
    mine = tmp_path / "samr.csv"
    mine.write_text(HEADER + "SAMR-NEW,SAMR,新事项,《条例》第一条,general\n", encoding="utf-8")
    theirs = tmp_path / "fire.csv"
    theirs.write_text(HEADER + "SAMR-NEW,FIRE,抢注,《消防法》第一条,key\n", encoding="utf-8")
    first = city()
    import_file(first, "items", mine, principal=supervisor("SAMR"))  # not yet committed
    outcome: list[BaseException | None] = []

    def fire() -> None:
        try:
            with city.begin() as session:
                import_file(session, "items", theirs, principal=supervisor("FIRE"))
            outcome.append(None)
        except Exception as exc:  # the refusal is what the test looks at
            outcome.append(exc)

    worker = threading.Thread(target=fire)
    worker.start()
    time.sleep(1.0)  # FIRE's import is now waiting for SAMR's transaction
    first.commit()
    first.close()
    worker.join(timeout=60)
    [refused] = outcome
    assert refused is not None, "the FIRE import went through"
    if city.kw["bind"].dialect.name == "postgresql":
        assert isinstance(refused, Forbidden) and "belongs to SAMR" in str(refused)
    with city() as session:
        department = session.scalar(
            select(models.Item.department).where(models.Item.item_code == "SAMR-NEW")
        )
    assert department == "SAMR"

"""Fixtures of the field tests: a month run on the tiny city inside the rolled-back
`session` of tests/conftest.py (workflow tests), and a served app on a fresh database per
module and backend (page tests), both on SQLite and PostgreSQL. Pages are served by the
production app (`api.app.create_app`): a router it forgets to mount fails these tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from inspect_engine.settings import Settings
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.field import fieldcity

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def month(session: Session, tmp_path: Path) -> Session:
    """The rolled-back session with December 2026 drawn and staffed."""
    fieldcity.run_month(session, tmp_path)
    return session


@dataclass
class Served:
    backend: str
    engine: Engine
    client: TestClient
    city: fieldcity.FieldCity
    settings: Settings

    def session(self) -> Session:
        return make_session_factory(self.engine)()


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = fresh_database_url(request.param, tmp_path_factory, "field")
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        fieldcity.run_month(session, tmp_path_factory.mktemp("fieldcity"))
        city = fieldcity.add_users(session)
        session.commit()
    settings = Settings(database_url=url, environment="test", secret_key="field-test-secret")
    try:
        with fieldcity.clock(fieldcity.TODAY), TestClient(create_app(settings)) as client:
            yield Served(request.param, engine, client, city, settings)
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)

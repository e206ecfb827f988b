"""API tests run against a real app on a fresh, migrated database per test module and
backend (SQLite and PostgreSQL): requests commit, so the rolled-back `session` fixture of
tests/conftest.py cannot be used here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from inspect_engine.settings import Settings
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.api import servicecity
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url


@dataclass
class Service:
    backend: str
    url: str
    engine: Engine
    client: TestClient
    city: servicecity.City

    def get(
        self, path: str, user: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """GET as `user` (None: the public)."""
        sent = {**(self.city.headers(user) if user else {}), **(headers or {})}
        return self.client.get(path, headers=sent)


@pytest.fixture(scope="module", params=BACKENDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    url = fresh_database_url(request.param, tmp_path_factory, "api")
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        city = servicecity.populate(session, tmp_path_factory.mktemp("city"))
        session.commit()
    app = create_app(Settings(database_url=url, environment="test"))
    try:
        with TestClient(app) as client:
            yield Service(request.param, url, engine, client, city)
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)

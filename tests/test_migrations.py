"""alembic upgrade head, alembic check and a downgrade of the newest migration, on both
databases."""

import pytest
from sqlalchemy import inspect

from models.db import make_engine
from models.migrate import check, downgrade, upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_check_downgrade(backend: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    url = fresh_database_url(backend, tmp_path_factory, "mig")
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert "enterprises" in inspect(engine).get_table_names()
        check(engine)  # raises if the models and the migrations disagree
        downgrade(engine, "-1")
        upgrade(engine)
        check(engine)
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)

"""Twenty supervisors press "draw" at once: exactly one draw happens, all see it."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

import models
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.planning import DrawResult, draw_month, freeze_month, plan_month
from tests.conftest import BACKENDS, own_database
from tests.workflows import tinycity

REQUESTS = 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_concurrent_draw_requests_make_one_draw(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    with own_database(backend, tmp_path_factory, "draws", REQUESTS) as factory:
        with factory.begin() as session:
            tinycity.build(session)
            plan_month(session, "2026-12", tinycity.tasks_file(tmp_path))
        with factory.begin() as session:
            freeze_month(session, "2026-12", ExclusionPolicy())

        barrier = threading.Barrier(REQUESTS)
        results: list[DrawResult] = []
        errors: list[BaseException] = []

        def request(number: int) -> None:
            try:
                barrier.wait()
                with factory.begin() as session:
                    results.append(draw_month(session, "2026-12", f"contribution {number}"))
            except BaseException as exc:  # collected and reported below
                errors.append(exc)

        threads = [threading.Thread(target=request, args=(i,)) for i in range(REQUESTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert len(results) == REQUESTS
        assert sum(r.first_request for r in results) == 1
        assert len({r.seed for r in results}) == 1
        assert len({tuple(sorted(str(r.records))) for r in results}) == 1
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(models.Draw)) == 2
            drawn = session.scalars(
                select(models.AuditEntry).where(models.AuditEntry.action == "plan.draw")
            ).all()
            assert len(drawn) == 1
            winner = next(r for r in results if r.first_request)
            assert drawn[0].details["seed"] == winner.seed

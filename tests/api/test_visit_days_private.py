"""visit_on (the scheduled day, ie-teams-v2) is never public: the public JSON, pages, feeds
and the scan-to-verify page show nothing of it, while the team's own pages may."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows.field import ensure_verify_code
from tests.api.conftest import Service
from tests.api.servicecity import MONTH

SENTINEL = date(2026, 9, 23)  # a working day of the month, set as every visit's day


def forms(day: date) -> tuple[str, ...]:
    return (day.isoformat(), f"{day.year}年{day.month}月{day.day}日", f"{day.month}月{day.day}日")


def public_texts(service: Service, code: str) -> dict[str, str]:
    paths = [
        "/public/plans", f"/public/plans/{MONTH}", "/public/plans.atom", "/public/results",
        "/public/results.atom", f"/public/draws/{MONTH}-INFO", f"/public/draws/{MONTH}-FOOD",
        f"/public/draws/{MONTH}-FOOD/record.json", "/", "/plans", f"/plans/{MONTH}",
        f"/draws/{MONTH}-INFO", f"/draws/{MONTH}-FOOD", "/results", f"/v/{code}",
    ]  # fmt: skip
    out = {}
    for path in paths:
        response = service.get(path)
        # the month is past: the verification page answers 410 (expired) with its page
        assert response.status_code == (410 if path.startswith("/v/") else 200), path
        out[path] = response.text
    return out


def test_visit_on_is_never_public(service: Service) -> None:
    with Session(service.engine) as session:
        visits = session.scalars(select(models.Visit).order_by(models.Visit.visit_code)).all()
        code = ensure_verify_code(session, visits[0])
        saved = {v.id: v.visit_on for v in visits}
        session.commit()
    before = public_texts(service, code)
    # the sentinel's spellings appear nowhere yet, so the check below can only fail on it
    assert not any(f in text for text in before.values() for f in forms(SENTINEL))
    with Session(service.engine) as session:
        for visit in session.scalars(select(models.Visit)):
            visit.visit_on = SENTINEL
        session.commit()
    try:
        after = public_texts(service, code)
        for path, text in after.items():
            assert "visit_on" not in text, path
            assert not any(f in text for f in forms(SENTINEL)), path
    finally:
        with Session(service.engine) as session:
            for visit in session.scalars(select(models.Visit)):
                visit.visit_on = saved[visit.id]
            session.commit()

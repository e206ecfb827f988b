"""The public list's search by part of an enterprise name: the same answers whichever way
the database finds them (SQLite's trigram index for rare names, the ordered walk for
common ones; PostgreSQL's pg_trgm index)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api import queries
from api.queries import ResultFilter, public_results
from models import Publication

NAMES = (
    "广州市天河区好味餐饮店",
    "广州市越秀区百草药房",
    "广州市海珠区五金店",
    "广州市番禺区ABC科技有限公司",
    "广州市白云区abc贸易商行",
    "广州市黄埔区100%纯净水店",
    "广州市花都区下划_线商店",
    '广州市南沙区"引号"食品店',
)
QUERIES = (
    "餐饮店",
    "药房",
    "五金店",
    "ABC",
    "abc",
    "100%",
    "_线商",
    '"引号"',
    "不存在的名字",
    "广州市",
)


def _publish(session: Session, count: int) -> None:
    """Publication rows alone: their results are not needed by the public list, so the
    foreign key to results is off for this (rolled back) transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("PRAGMA defer_foreign_keys = ON"))  # checked at a commit only
    first = date(2026, 1, 1)
    moment = datetime(2026, 11, 1)
    session.add_all(
        Publication(
            id=n,
            result_id=n,
            due_on=None,
            published_at=moment,
            updated_at=moment,
            state="current",
            visit_code=f"2026-01-{n:06d}",
            task_code="2026-01-SAMR-INFO",
            credit_code=f"91440101{n:010d}",
            enterprise_name=f"{NAMES[n % len(NAMES)]}{n}号",
            district="440106",
            department="SAMR",
            item_code="SAMR-INFO",
            result="no_problem",
            inspected_on=first + timedelta(days=n % 300),
            version=1,
        )
        for n in range(1, count + 1)
    )
    session.flush()


def _walked(session: Session, q: str) -> list[int]:
    """The answer without any index narrowing: the ordered walk with the LIKE alone."""
    query = queries._filtered(ResultFilter(q=q), None, None).limit(51)
    return [p.id for p in session.scalars(query)]


@pytest.mark.parametrize("rare_below", [5, 5000])
def test_the_index_gives_the_walks_answer(
    session: Session, monkeypatch: pytest.MonkeyPatch, rare_below: int
) -> None:
    monkeypatch.setattr(queries, "RARE_NAME_MATCHES", rare_below)
    _publish(session, 400)
    for q in (*QUERIES, "7号", "17号", "天河区好味餐饮店16号"):
        found = [p.id for p in public_results(session, ResultFilter(q=q), after=None, limit=51)]
        assert found == _walked(session, q), q
    assert [p.id for p in public_results(session, ResultFilter(q="天河区好味餐饮店16号"),
                                         after=None, limit=51)] == [16]  # fmt: skip


def test_sqlite_narrows_rare_names_only(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL answers from its pg_trgm index; nothing is narrowed")
    monkeypatch.setattr(queries, "RARE_NAME_MATCHES", 10)
    _publish(session, 400)
    assert queries._rare_name_ids(session, "餐饮店16号") is not None  # 1 match: narrowed
    assert queries._rare_name_ids(session, "餐饮店") is None  # 50 matches: the walk
    assert queries._rare_name_ids(session, "药房") is None  # no trigram in 2 characters
    # FTS5 refuses a NUL inside a phrase: such a search is the LIKE's alone, not a 500
    assert queries._rare_name_ids(session, "餐饮\x00店16号") is None
    assert public_results(session, ResultFilter(q="餐饮\x00店"), after=None, limit=51) == []


def test_the_trigram_index_follows_changes(session: Session) -> None:
    """Names are found after an insert, a change of name and a delete (the triggers)."""
    _publish(session, 30)
    target = session.get_one(Publication, 9)
    target.enterprise_name = "广州市从化区新名字小卖部"
    session.flush()
    assert [p.id for p in public_results(session, ResultFilter(q="新名字小卖"), after=None,
                                         limit=51)] == [9]  # fmt: skip
    old = f"{NAMES[9 % len(NAMES)]}9号"
    assert public_results(session, ResultFilter(q=old), after=None, limit=51) == []
    session.delete(target)
    session.flush()
    assert public_results(session, ResultFilter(q="新名字小卖"), after=None, limit=51) == []

"""publication names: a trigram full-text index of published enterprise names (SQLite)

The public list's name search is a substring match. PostgreSQL answers it from the pg_trgm
index of migration 0001; SQLite has no such index, so a rare name scanned every published
result. This adds an FTS5 table with the trigram tokenizer over publications.enterprise_name
(external content: it stores the index, not a second copy of the names), kept by triggers.
Nothing on PostgreSQL.

Note for later migrations: a batch ("move and copy") rebuild of `publications` on SQLite
drops these triggers; such a migration must create them again (see TRIGGERS).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "publication_names"
TRIGGERS = {
    "publication_names_ai": (
        "AFTER INSERT ON publications BEGIN "
        "INSERT INTO publication_names(rowid, enterprise_name) "
        "VALUES (new.id, new.enterprise_name); END"
    ),
    "publication_names_ad": (
        "AFTER DELETE ON publications BEGIN "
        "INSERT INTO publication_names(publication_names, rowid, enterprise_name) "
        "VALUES ('delete', old.id, old.enterprise_name); END"
    ),
    "publication_names_au": (
        "AFTER UPDATE OF enterprise_name ON publications BEGIN "
        "INSERT INTO publication_names(publication_names, rowid, enterprise_name) "
        "VALUES ('delete', old.id, old.enterprise_name); "
        "INSERT INTO publication_names(rowid, enterprise_name) "
        "VALUES (new.id, new.enterprise_name); END"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5(enterprise_name, "
        "content='publications', content_rowid='id', tokenize='trigram')"
    )
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")  # names already published


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")

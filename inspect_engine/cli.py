"""The `inspect-engine` command. Each command opens one transaction, calls a workflow and
commits; no business logic lives here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from inspect_engine.errors import DomainError
from inspect_engine.formats.spec import FORMATS
from inspect_engine.settings import Settings

app = typer.Typer(
    help="Risk-based 双随机、一公开 inspection scheduling engine.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
simulate_app = typer.Typer(help="The synthetic city and experiments.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(simulate_app, name="simulate")

console = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
    return Settings()


@contextmanager
def transaction() -> Iterator[Session]:
    """The command owns the transaction: commit on success, roll back on any error."""
    from models.db import make_engine, make_session_factory

    engine = make_engine(_settings().database_url)
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        engine.dispose()


def run(action: Callable[[], T]) -> T:
    """Runs a command body; a domain error is printed, never a stack trace."""
    try:
        return action()
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@contextmanager
def phase_progress() -> Iterator[Callable[[str, int, int], None]]:
    columns = (
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=max(total, 1))
            bar.update(tasks[phase], completed=done, total=max(total, 1))

        yield update


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (alembic upgrade head)."""
    from models.db import make_engine
    from models.migrate import upgrade

    settings = _settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    console.print(f"schema is up to date on {engine.url.render_as_string(hide_password=True)}")


KIND_HELP = "one of: " + ", ".join(FORMATS)


@app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=KIND_HELP)],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a directory or history file (all-or-nothing, idempotent)."""
    from inspect_engine.workflows.imports import import_file

    def body() -> Any:
        with transaction() as session, phase_progress() as progress:
            report = import_file(session, kind, file, progress=progress)
        for warning in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        console.print(f"{kind}: {report.rows} rows read, {report.new_rows} new rows stored")

    if kind not in FORMATS:
        console.print(f"[red]error:[/red] unknown file kind {kind!r}; {KIND_HELP}")
        raise typer.Exit(2)
    run(body)


@app.command("export")
def export_command(
    kind: Annotated[str, typer.Argument(help="enterprises, inspectors or items")],
    file: Annotated[Path, typer.Argument(dir_okay=False)],
) -> None:
    """Export a directory in its import format."""
    from inspect_engine.workflows.exports import EXPORTABLE, export_directory

    if kind not in EXPORTABLE:
        console.print(f"[red]error:[/red] cannot export {kind!r}; one of {', '.join(EXPORTABLE)}")
        raise typer.Exit(2)

    def body() -> None:
        with transaction() as session:
            rows = export_directory(session, kind, file)
        console.print(f"{kind}: {rows} rows written to {file}")

    run(body)


def main() -> None:
    app(prog_name="inspect-engine")


if __name__ == "__main__":
    main()

"""`inspect-engine users ...`, `results ...` and `serve`: the service's commands.

Registered by cli.py; like every command, each opens one transaction, calls a workflow and
commits, and prints a domain error without a stack trace. The helpers of cli.py are
imported inside the commands, so that cli.py may import this module at its top."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

users_app = typer.Typer(help="Users, roles, passwords and bearer tokens.", no_args_is_help=True)
results_app = typer.Typer(help="Inspection results: import and publish.", no_args_is_help=True)


def _print_token(token: str, username: str) -> None:
    from inspect_engine.cli import console

    console.print(f"token for {username} (shown once; only its SHA-256 is stored):")
    # the token alone on stdout, so that scripts can capture it
    typer.echo(token)


def _password_from_stdin() -> str:
    """One line of standard input, without its line ending (a password may hold spaces)."""
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="read the password (for /login) from one line of standard input",
    ),
]
ExpiresDays = Annotated[
    int | None,
    typer.Option("--expires-days", min=1, help="the token expires after N days (default: never)"),
]


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option("--role", help="admin, supervisor, inspector or auditor")],
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="a supervisor's department (repeat for several)"),
    ] = None,
    inspector_id: Annotated[
        str | None, typer.Option("--inspector-id", help="an inspector user's certificate number")
    ] = None,
    password_stdin: PasswordStdin = False,
    expires_days: ExpiresDays = None,
) -> None:
    """Create a user (with a password for the pages, given --password-stdin) and print his
    first API token on the last line."""
    from inspect_engine.cli import run, transaction
    from inspect_engine.workflows.signin import set_password
    from inspect_engine.workflows.users import create_user, issue_token
    from models.base import utcnow

    password = _password_from_stdin() if password_stdin else None

    def body() -> None:
        with transaction() as session:
            create_user(
                session, username, role, departments=department or (), inspector_id=inspector_id
            )
            if password is not None:
                set_password(session, username, password, actor="cli", now=utcnow())
            issued = issue_token(session, username, expires_days=expires_days)
        _print_token(issued.token, username)

    run(body)


@users_app.command("password")
def users_password(
    username: Annotated[str, typer.Argument()],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set or reset a user's password (read from standard input); ends his sessions."""
    from inspect_engine.cli import console, run, transaction
    from inspect_engine.workflows.signin import set_password
    from models.base import utcnow

    if not password_stdin:
        console.print("[red]error:[/red] give the password on standard input (--password-stdin)")
        raise typer.Exit(2)
    password = _password_from_stdin()

    def body() -> None:
        with transaction() as session:
            set_password(session, username, password, actor="cli", now=utcnow())
        console.print(f"password of {username} set; his browser sessions have ended")

    run(body)


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument()], expires_days: ExpiresDays = None
) -> None:
    """Issue another token for a user (earlier ones stay valid until revoked)."""
    from inspect_engine.cli import run, transaction
    from inspect_engine.workflows.users import issue_token

    def body() -> None:
        with transaction() as session:
            issued = issue_token(session, username, expires_days=expires_days)
        _print_token(issued.token, username)

    run(body)


@users_app.command("revoke")
def users_revoke(
    username: Annotated[str, typer.Argument()],
    token_id: Annotated[
        int | None, typer.Option("--token-id", help="only this token; default: all of them")
    ] = None,
) -> None:
    """Revoke a user's tokens."""
    from inspect_engine.cli import console, run, transaction
    from inspect_engine.workflows.users import revoke_tokens

    def body() -> None:
        with transaction() as session:
            revoked = revoke_tokens(session, username, token_id=token_id)
        console.print(f"{revoked} token(s) of {username} revoked")

    run(body)


@results_app.command("import")
def results_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import results.csv (visit_id, item_code, result, inspected_on, note); rows entered
    by a supervisor count as reviewed. All-or-nothing, idempotent."""
    from inspect_engine.cli import console, run, transaction
    from inspect_engine.workflows.results import import_results

    def body() -> None:
        with transaction() as session:
            report = import_results(session, file)
        for warning in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        console.print(
            f"results: {report.rows} rows read; {report.new} new, {report.updated} updated, "
            f"{report.unchanged} unchanged"
        )

    run(body)


@results_app.command("publish")
def results_publish(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
) -> None:
    """Publish every reviewed result of the month (公示) and add them to the history."""
    from inspect_engine.cli import console, run, transaction
    from inspect_engine.workflows.results import publish_month

    def body() -> None:
        with transaction() as session:
            report = publish_month(session, month)
        console.print(
            f"{month}: {report.published} result(s) of {report.visits} visit(s) published "
            f"({report.late} after their due date); {report.history_rows} new history rows"
        )

    run(body)


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the API and the public website on the configured database."""
    import uvicorn

    from api.app import create_app
    from inspect_engine.cli import _settings, console, warn_development_key, warn_development_secret

    settings = _settings()  # a wrong setting is named, never a stack trace
    if settings.sealing_key().development:
        warn_development_key()
    if settings.uses_development_secret():
        warn_development_secret()
    console.print(f"serving http://{host}:{port}/ (API docs at /docs)")
    # The app itself honours X-Forwarded-* from INSPECT_TRUSTED_PROXIES only (api/security.py):
    # uvicorn's own proxy handling, which trusts 127.0.0.1 by default, is turned off.
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False)

"""The `inspect-engine` command. Each command opens one transaction, calls a workflow and
commits; no business logic lives here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from inspect_engine.cli_service import results_app, serve, users_app
from inspect_engine.errors import DomainError
from inspect_engine.formats.spec import FORMATS
from inspect_engine.liaison import courier_from_settings
from inspect_engine.settings import Settings
from simulations.cli import experiment as simulate_experiment

app = typer.Typer(
    help="Risk-based 双随机、一公开 inspection scheduling engine.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
simulate_app = typer.Typer(help="The synthetic city and experiments.", no_args_is_help=True)
app.add_typer(db_app, name="db")
month_app = typer.Typer(
    help="A month's plan: plan, freeze, draw, assign, export.", no_args_is_help=True
)
app.add_typer(simulate_app, name="simulate")
simulate_app.command("experiment")(simulate_experiment)
app.add_typer(month_app, name="month")
scores_app = typer.Typer(help="Risk scores.", no_args_is_help=True)
app.add_typer(scores_app, name="scores")
model_app = typer.Typer(help="The risk model: backtest report.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(users_app, name="users")
app.add_typer(results_app, name="results")
app.command("serve")(serve)

MonthOption = Annotated[str, typer.Option("--month", help="YYYY-MM")]

console = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
    """The settings; a wrong one is named (INSPECT_ variable, reason), never a stack trace."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "INSPECT_" + "_".join(str(part) for part in error["loc"]).upper()
            reason = str(error["msg"]).removeprefix("Value error, ")
            console.print(f"[red]error:[/red] setting {name}: {escape(reason)}", soft_wrap=True)
        raise typer.Exit(2) from None


def _nonce_key() -> Any:
    """The key that seals the nonces; the public development key is announced loudly."""
    key = _settings().sealing_key()
    if key.development:
        warn_development_key()
    return key


def warn_development_key() -> None:
    console.print(
        "[bold yellow]warning: INSPECT_NONCE_KEY is not set: the plans' nonces are sealed "
        "under the public development key, which is NOT SECRET (anyone can open them). "
        "Production refuses to start without a key of its own.[/bold yellow]",
        soft_wrap=True,
    )


def warn_development_secret() -> None:
    console.print(
        "[bold red]WARNING: INSPECT_SECRET_KEY is not set: the service runs with the public "
        "development secret. Anyone can forge its CSRF tokens and reverse the hashed "
        "addresses of the scan-to-verify log. Set INSPECT_SECRET_KEY to a private value "
        "(python -c 'import secrets; print(secrets.token_hex(32))'); production refuses "
        "to start without one.[/bold red]",
        soft_wrap=True,
    )


@contextmanager
def transaction() -> Iterator[Session]:
    """The command owns the transaction: commit on success, roll back on any error."""
    from models.db import transaction as on

    with on(_settings().database_url) as session:
        yield session


def run(action: Callable[[], T]) -> T:
    """Runs a command body; a domain error is printed, never a stack trace."""
    try:
        return action()
    except DomainError as exc:
        console.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
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
AsUserOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="act as this user, with the rules of his role and departments; without it "
        "the operator acts as an administrator",
    ),
]


@app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=KIND_HELP)],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_user: AsUserOption = None,
) -> None:
    """Import a directory or history file (all-or-nothing, idempotent)."""
    from inspect_engine.workflows.authority import acting_as
    from inspect_engine.workflows.imports import import_file

    def body() -> Any:
        with transaction() as session, phase_progress() as progress:
            principal = acting_as(session, as_user)
            report = import_file(
                session,
                kind,
                file,
                actor=as_user or "cli",
                principal=principal,
                progress=progress,
            )
        for warning in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        console.print(
            f"{kind}: {report.rows} rows read, {report.new_rows} new rows stored, "
            f"{report.changed_rows} changed"
        )
        if kind == "holidays":
            console.print(f"due dates recomputed on the imported years: {report.due_dates_changed}")

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


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        console.print(f"[red]error:[/red] --as-of {text!r} is not a date YYYY-MM-DD")
        raise typer.Exit(2) from None


@app.command("score")
def score(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD: only events before it")],
    retrain: Annotated[
        bool, typer.Option("--retrain", help="train even if a model exists")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="random_state of the model")] = 0,
) -> None:
    """Train (or reuse) the risk model and class every active enterprise A/B/C/D."""
    from inspect_engine.workflows.scoring import score_city

    day = _day(as_of)

    def body() -> None:
        with transaction() as session:
            outcome = score_city(
                session, day, retrain=retrain, random_state=seed, policy=_class_policy()
            )
        verb = "trained" if outcome.trained else "reused"
        test = outcome.metrics.get("backtest", {}) or {}
        chosen = (test.get("candidates") or {}).get(test.get("chosen"), {}).get("test", {})
        console.print(f"model {outcome.model_version_id} ({outcome.kind}, {verb}) as of {day}")
        for note in outcome.notes:
            console.print(f"note: {note}")
        if chosen:
            console.print(
                f"backtest on later visits: AUC {chosen['auc']:.3f}, Brier {chosen['brier']:.4f},"
                f" lift at a {chosen['budget']:.0%} budget {chosen['lift']:.1f}x"
            )
        total = max(outcome.scored, 1)
        shares = ", ".join(f"{c} {n:,} ({n / total:.1%})" for c, n in outcome.classes.items())
        console.print(
            f"classes: {shares}; {outcome.overrides:,} raised by list rules; "
            f"{outcome.without_history:,} scored on the prior (no inspection history)"
        )

    run(body)


@scores_app.command("export")
def scores_export(file: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """credit_code, probability, risk_class, reasons of the latest model (internal use)."""
    from inspect_engine.workflows.scoring import export_scores

    def body() -> None:
        with transaction() as session:
            count = export_scores(session, file)
        console.print(f"{count:,} scores written to {file}")

    run(body)


@model_app.command("report")
def model_report(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--dir", file_okay=False)] = Path("var/model-report"),
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Backtest report: AUC, Brier, calibration chart, lift at the budget, class rates."""
    from inspect_engine.workflows.scoring import model_report as write_report

    day = _day(as_of)

    def body() -> None:
        with transaction() as session:
            path = write_report(session, day, out, random_state=seed)
        console.print(f"report written to {path}")

    run(body)


@simulate_app.command("city")
def simulate_city(
    scale: Annotated[
        str, typer.Option("--scale", help="small | city | guangzhou | a number of entities")
    ] = "small",
    seed: Annotated[int, typer.Option("--seed")] = 2026,
    out: Annotated[Path, typer.Option("--out", file_okay=False)] = Path("var/city"),
    family: Annotated[
        str,
        typer.Option("--family", help="truth family: additive | interactions | drift | sparse"),
    ] = "additive",
) -> None:
    """Write a synthetic city in the import formats (plus its hidden truth, for evaluation)."""
    from simulations.city import SCALES, generate_city

    if scale not in SCALES and not scale.isdigit():
        console.print(
            f"[red]error:[/red] unknown scale {scale!r}; one of {', '.join(SCALES)} "
            "or a number of entities"
        )
        raise typer.Exit(2)
    try:
        with phase_progress() as progress:
            summary = generate_city(scale, seed, out, progress=progress, family=family)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    rows = ", ".join(f"{name} {count:,}" for name, count in summary.rows.items())
    console.print(
        f"city {scale} (seed {seed}) in {out} in {summary.seconds:.1f} s: {rows}", soft_wrap=True
    )


def _class_policy() -> Any:
    from inspect_engine.risk.classes import ClassPolicy, list_rules

    return ClassPolicy(overrides=list_rules(_settings().list_rules))


def _policy() -> Any:
    from inspect_engine.sampling.frames import ExclusionPolicy

    settings = _settings()
    return ExclusionPolicy(
        recent_window_days=settings.recent_window_days,
        yearly_cap=settings.yearly_cap,
        grace_days=settings.grace_days,
    )


@month_app.command("plan")
def month_plan(
    month: MonthOption,
    tasks: Annotated[Path, typer.Option("--tasks", exists=True, dir_okay=False)],
    as_user: AsUserOption = None,
    fit_capacity: Annotated[
        bool,
        typer.Option(
            "--fit-capacity",
            help="size the draw to the staff: λ per task and class chosen by the optimiser",
        ),
    ] = False,
) -> None:
    """Create the month's plan from tasks.csv (or replace its tasks until it is frozen)."""
    from inspect_engine.workflows.authority import acting_as
    from inspect_engine.workflows.planning import plan_month
    from inspect_engine.workflows.preview import preview_month

    def body() -> None:
        with transaction() as session:
            principal = acting_as(session, as_user)
            summary = plan_month(
                session, month, tasks, actor=as_user or "cli", principal=principal,
                policy=_policy(), fit_capacity=fit_capacity,
                utilisation=_settings().utilisation,
            )  # fmt: skip
            # The frames as they would be frozen now: a floor a frame cannot honour refuses
            # the plan here, and each task's ratios are shown beside the π achieved.
            frames = preview_month(session, month, _policy())
        for warning in summary.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        console.print(
            f"plan {summary.month}: {len(summary.tasks)} task(s): " + ", ".join(summary.tasks)
        )
        print_promises(frames)
        if summary.sizing is not None:
            print_sizing(summary.sizing)

    run(body)


SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="where the public contribution will come from (e.g. '福彩3D 2026-12-08'), "
        "published with the commitment",
    ),
]


@month_app.command("freeze")
def month_freeze(month: MonthOption, source: SourceOption = None) -> None:
    """Freeze every task's frame and the staffing, and publish the commitment (no
    contribution here)."""
    from inspect_engine.workflows.planning import freeze_month

    def body() -> None:
        with transaction() as session:
            result = freeze_month(
                session, month, _policy(), source=source, nonce_key=_nonce_key(),
                recusal_window_days=_settings().recusal_window_days,
                max_visits_per_day=_settings().max_visits_per_day,
            )  # fmt: skip
        print_commitment(result)

    run(body)


def print_promises(frames: Any) -> None:
    """Per task and risk class: units, the ratio asked, the probability promised (scaled to
    a whole n), the λ drawn with and the exact π it achieves."""
    from rich.table import Table

    table = Table("task", "class", "units", "ratio", "promised", "λ drawn", "π achieved")
    for frame in frames:
        for c in frame.classes:
            if c.units:
                table.add_row(
                    frame.task_code, c.risk_class, f"{c.units:,}", c.ratio, c.target, c.lam, c.pi
                )
    console.print(table)


def print_sizing(sizing: dict[str, Any]) -> None:
    """The λ the optimiser chose per task and class, and the capacity they use."""
    from rich.table import Table

    table = Table("task", "λ A", "λ B", "λ C", "λ D", "n", "expected problems")
    for code, lambdas in sorted(sizing["lambdas"].items()):
        table.add_row(
            code, *(lambdas[c] for c in "ABCD"), str(sizing["sizes"][code]),
            f"{sizing['expected_problems'][code]:.1f}",
        )  # fmt: skip
    console.print(table)
    loads = Table("capacity row", "load", "capacity", "used")
    for row in sorted(sizing["loads"], key=lambda r: -r["load"] / max(r["capacity"], 1e-9))[:15]:
        used = row["load"] / row["capacity"] if row["capacity"] else float("inf")
        loads.add_row(row["where"], f"{row['load']:.1f}", f"{row['capacity']:.1f}", f"{used:.0%}")
    console.print(loads)
    console.print(
        f"sized to the staff by {sizing['solver']} in {sizing['seconds']:.2f} s: expected"
        f" visits {sizing['expected_visits']:.1f}, utilisation target {sizing['utilisation']}"
        f" ({len(sizing['loads'])} capacity rows; the 15 fullest shown)",
        soft_wrap=True,
    )


def print_commitment(result: Any) -> None:
    from rich.table import Table

    table = Table("task", "units", "expected n", "excluded", "frame hash")
    for frame in result.frames:
        table.add_row(
            frame.task_code,
            f"{frame.units:,}",
            f"{frame.expected_size:.1f}",
            f"{sum(frame.exclusions.values()):,}",
            frame.frame_hash,
        )
    console.print(table)
    console.print(f"group hash : {result.group_hash}")
    console.print(f"commitment : {result.commitment}")
    console.print(f"committed  : {result.committed_at}")
    console.print(f"staffing   : {result.staffing_hash}")
    if result.contribution_source:
        console.print(f"source     : {escape(result.contribution_source)}")
    console.print(
        "Publish the commitment now. Only after it is public, fix the contribution in a "
        "public act and run: inspect-engine month draw --month "
        f'{result.month} --contribution "..."',
        soft_wrap=True,
    )


@month_app.command("draw")
def month_draw(
    month: MonthOption,
    contribution: Annotated[
        str, typer.Option("--contribution", help="the public random value, used as entered")
    ],
) -> None:
    """The plan's one draw (a second call shows the first draw's result). A draw that
    fails after the contribution is accepted is recorded, and completes later only with
    the same contribution."""
    from inspect_engine.workflows.drawing import draw_recorded

    def body() -> None:
        result = draw_recorded(transaction, month, contribution, nonce_key=_nonce_key())
        print_draw(result)

    run(body)


def print_draw(result: Any) -> None:
    from rich.table import Table

    if not result.first_request:
        console.print(
            f"[yellow]the plan for {result.month} was already drawn; these are its records[/yellow]"
        )
    table = Table("task", "frame units", "n", "selected")
    for record in result.records:
        units = sum(c["units"] for c in record.get("classes", []))
        table.add_row(
            record["task_code"], f"{units:,}", str(record["n"]), str(len(record["selected"]))
        )
    console.print(table)
    console.print(f"seed   : {result.seed}")
    summary = result.summary
    console.print(
        f"visits : {summary.get('visits')} (one per enterprise) from "
        f"{summary.get('selections')} selections; independent seeds per task would need "
        f"{summary.get('visits_with_independent_seeds')} "
        f"(saved by coordination: {summary.get('visits_saved_by_coordination')})"
    )


@month_app.command("refreeze")
def month_refreeze(
    month: MonthOption,
    reason: Annotated[str, typer.Option("--reason", help="why, shown to the public")],
) -> None:
    """Freeze the plan again, in public, when its sealed nonce is lost (the key lost or
    changed): the old commitment is voided with the reason, a new one is published."""
    from inspect_engine.workflows.drawing import refreeze_month

    def body() -> None:
        with transaction() as session:
            result = refreeze_month(session, month, reason, nonce_key=_nonce_key())
        console.print(
            f"[yellow]voided commitment {result.voided_commitment} "
            f"(committed {result.voided_committed_at}): {escape(result.reason)}[/yellow]",
            soft_wrap=True,
        )
        print_commitment(result.freeze)

    run(body)


@month_app.command("run")
def month_run(
    month: MonthOption,
    tasks: Annotated[
        Path | None, typer.Option("--tasks", exists=True, dir_okay=False, help="phase one")
    ] = None,
    contribution: Annotated[
        str | None, typer.Option("--contribution", help="phase two, after the commitment")
    ] = None,
    out: Annotated[Path | None, typer.Option("--dir", file_okay=False, help="phase two")] = None,
    no_score: Annotated[bool, typer.Option("--no-score", help="keep the current classes")] = False,
    source: SourceOption = None,
    fit_capacity: Annotated[
        bool, typer.Option("--fit-capacity", help="phase one: size the draw to the staff")
    ] = False,
) -> None:
    """The month in two phases: --tasks (score, plan, freeze; prints the commitment), then
    later --contribution and --dir (draw, assign, export). Run again to resume after a crash."""
    from inspect_engine.workflows.month_run import run_phase_one, run_phase_two

    if tasks is not None and contribution is not None:
        console.print(
            "[red]error:[/red] the contribution is entered only after the commitment is "
            "published: run phase one with --tasks, publish, then phase two with --contribution"
        )
        raise typer.Exit(2)
    if tasks is None and (contribution is None or out is None):
        console.print("[red]error:[/red] give --tasks (phase one) or --contribution and --dir")
        raise typer.Exit(2)

    def body() -> bool:
        with phase_progress() as progress:
            if tasks is not None:
                one = run_phase_one(
                    transaction, month, tasks, _policy(), score=not no_score, progress=progress,
                    source=source, recusal_window_days=_settings().recusal_window_days,
                    nonce_key=_nonce_key(), fit_capacity=fit_capacity,
                    utilisation=_settings().utilisation,
                    max_visits_per_day=_settings().max_visits_per_day,
                    class_policy=_class_policy(),
                )  # fmt: skip
            else:
                assert contribution is not None and out is not None
                two = run_phase_two(
                    transaction,
                    month,
                    contribution,
                    out,
                    recusal_window_days=_settings().recusal_window_days,
                    progress=progress,
                    nonce_key=_nonce_key(),
                    courier=courier_from_settings(_settings()),
                )
        if tasks is not None:
            for warning in one.plan.warnings if one.plan else ():
                console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
            if one.plan is not None and one.plan.sizing is not None:
                print_sizing(one.plan.sizing)
            print_commitment(one.freeze)
            return False
        print_draw(two.draw)
        partial = print_assignment(two.assign)
        folder = two.export.visits_csv.parent
        console.print(
            f"{len(two.export.records)} draw record(s) in {folder / 'draws'}; "
            f"{two.export.visits} visits in {two.export.visits_csv}"
        )
        return partial

    if run(body):
        raise typer.Exit(PARTIAL_PLAN_EXIT)


PARTIAL_PLAN_EXIT = 3  # some visits could not be staffed lawfully; the partial plan is saved


@month_app.command("assign")
def month_assign(month: MonthOption) -> None:
    """Draw lawful random teams for the month's visits (exit 3: partial plan, see diagnosis)."""
    from inspect_engine.workflows.assignment import assign_month

    def body() -> Any:
        with transaction() as session:
            settings = _settings()
            outcome = assign_month(
                session,
                month,
                recusal_window_days=settings.recusal_window_days,
                courier=courier_from_settings(settings),
            )
        return print_assignment(outcome)

    if run(body):
        raise typer.Exit(PARTIAL_PLAN_EXIT)


@month_app.command("reassign")
def month_reassign(
    month: MonthOption,
    inspector: Annotated[str, typer.Option("--inspector", help="certificate number")],
    reason: Annotated[str, typer.Option("--reason")],
) -> None:
    """Replace an unavailable inspector's places after publication; keep all others."""
    from inspect_engine.workflows.assignment import reassign_inspector

    def body() -> Any:
        with transaction() as session:
            outcome = reassign_inspector(
                session,
                month,
                inspector,
                reason,
                recusal_window_days=_settings().recusal_window_days,
            )
        return print_assignment(outcome)

    if run(body):
        raise typer.Exit(PARTIAL_PLAN_EXIT)


def print_assignment(outcome: Any) -> bool:
    """Prints teams, fairness and the diagnosis; returns True for a partial plan."""
    fair = outcome.fairness
    if not outcome.first_request:
        console.print(
            f"[yellow]the plan for {outcome.month} already has teams; "
            "this is the stored result[/yellow]"
        )
    console.print(f"teams  : {outcome.staffed} of {outcome.visits} visits staffed")
    if fair.get("places"):
        console.print(
            f"load   : min {fair['load_min']} / median {fair['load_median']} / max "
            f"{fair['load_max']} visits per inspector (capacity min {fair['capacity_min']} / "
            f"median {fair['capacity_median']} / max {fair['capacity_max']})"
        )
        console.print(
            f"used   : {fair['inspectors_used']} of {fair['eligible_inspectors']} eligible "
            f"inspectors ({fair['share_used']:.0%})"
        )
    if outcome.partial:
        console.print(
            f"[red]partial plan: {len(outcome.unstaffed)} visit(s) cannot be staffed lawfully[/red]"
        )
        for visit, reason in outcome.unstaffed[:50]:
            console.print(f"  {visit}: {reason}", soft_wrap=True)
        if len(outcome.unstaffed) > 50:
            console.print(f"  ... and {len(outcome.unstaffed) - 50} more")
    return bool(outcome.partial)


@month_app.command("close")
def month_close(month: MonthOption) -> None:
    """At the month's end: list and carry over the drawn enterprises not yet visited."""
    from inspect_engine.workflows.closing import close_month

    def body() -> None:
        with transaction() as session:
            carried = close_month(session, month)
        console.print(f"{len(carried)} visit(s) of {month} carried over (no result yet)")
        for visit in carried[:100]:
            console.print(f"  {visit.visit_code} {visit.credit_code}")
        if len(carried) > 100:
            console.print(f"  ... and {len(carried) - 100} more")

    run(body)


@month_app.command("export")
def month_export(
    month: MonthOption,
    out: Annotated[Path, typer.Option("--dir", file_okay=False)],
) -> None:
    """Write OUT/draws/<task_code>.json (records with frames), OUT/visits.csv and
    OUT/audit-head.txt (the audit log's head, for `audit verify --expect-head`)."""
    from inspect_engine.workflows.month_export import export_month

    def body() -> None:
        with transaction() as session:
            result = export_month(session, month, out)
        console.print(
            f"{len(result.records)} draw record(s) in {out / 'draws'}; "
            f"{result.visits} visits in {result.visits_csv}"
        )
        console.print(f"audit log head: {result.audit_head} (keep it: audit-head.txt)")
        if result.records:
            console.print(f"verify: python -m inspect_engine.verify {result.records[0]}")

    run(body)


# --------------------------------------------------------------------------- audit

audit_app = typer.Typer(
    help="The hash-chained audit log: verify it, print its head.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


def _check_head(text: str | None) -> str | None:
    """A malformed head is a usage error (exit 2), not a broken log (exit 1)."""
    from inspect_engine.workflows.audit import ChainHead

    if text is not None:
        try:
            ChainHead.parse(text)
        except DomainError as exc:
            raise typer.BadParameter(exc.message) from None
    return text


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="SEQ:HASH",
            help="a head printed earlier: the log must still reach it (shows a cut end)",
            callback=_check_head,
        ),
    ] = None,
    published: Annotated[
        bool,
        typer.Option(
            "--published/--no-published",
            help="also check every head the engine published (as stored in the database)",
        ),
    ] = True,
) -> None:
    """Recompute the chain; exit 0 if intact, 1 naming the first broken entry."""
    from inspect_engine.workflows.audit import ChainHead, verify_audit_chain

    expected = ChainHead.parse(expect_head) if expect_head is not None else None

    def body() -> None:
        with transaction() as session, phase_progress() as progress:
            outcome = verify_audit_chain(session, expected, progress=progress, published=published)
        if not outcome.intact:
            _print_chain_problems(outcome)
            raise typer.Exit(1)
        reaches = f", reaching the expected head #{expected.sequence}" if expected else ""
        console.print(f"audit log intact: {outcome.entries} entries{reaches}")
        console.print("head (keep it to detect deleted last entries later):")
        typer.echo(str(outcome.head))  # alone on stdout, for scripts

    run(body)


def _print_chain_problems(outcome: Any) -> None:
    first = outcome.first
    where = f"entry id {first.entry_id}" if first.entry_id is not None else "the end"
    console.print(
        f"[red]audit log broken[/red] at {where} (#{first.sequence}): {first.kind}",
        highlight=False,
    )
    for problem in outcome.problems:
        # Messages quote stored (perhaps tampered) text: never read it as rich markup.
        console.print(f"  {problem.kind}: {problem.message}", markup=False, soft_wrap=True)
    if outcome.unlisted:
        console.print(f"  ... and {outcome.unlisted} more problem(s)")
    console.print(f"{outcome.entries} entries read; last head {outcome.head}", highlight=False)


@audit_app.command("head")
def audit_head() -> None:
    """Print the log's head SEQ:HASH (not verified) to keep outside the database."""
    from inspect_engine.workflows.audit import chain_head

    def body() -> None:
        with transaction() as session:
            head = chain_head(session)
        typer.echo(str(head))

    run(body)


@audit_app.command("publish-head")
def audit_publish_head() -> None:
    """Publish today's head (Asia/Shanghai) on the public site and feed; run it daily
    (cron). Once per day: a second run prints the head already published."""
    from inspect_engine.workflows.audit import publish_daily_head
    from inspect_engine.workflows.results import today_in_shanghai

    def body() -> None:
        with transaction() as session:
            row = publish_daily_head(session, today_in_shanghai().isoformat())
            text = f"{row.sequence}:{row.entry_hash}"
        typer.echo(text)

    run(body)


def main() -> None:
    app(prog_name="inspect-engine")


if __name__ == "__main__":
    main()

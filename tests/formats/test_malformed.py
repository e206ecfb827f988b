"""Malformed uploads of every import format of DATA-FORMATS.md, each through the reader,
the import use case (nothing stored), the API upload route (a 4xx problem) and the CLI
(exit 1, a message, no traceback).

Every file holds a good row 2 before the malformed one, so that "nothing stored" means
the all-or-nothing rule held. Error cases use good rows that are never committed (variant
1); the accepted cases use other rows (variant 2), since the API and the CLI commit."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import models
from api.app import create_app
from inspect_engine.cli import app as cli_app
from inspect_engine.formats.reader import FileRejected, ParsedRow, RowError, iter_rows
from inspect_engine.formats.spec import FORMATS, TASKS, FileFormat
from inspect_engine.settings import Settings
from inspect_engine.workflows.authority import REGISTRY_KINDS
from inspect_engine.workflows.imports import TABLES, ImportRejected, import_file
from inspect_engine.workflows.planning import plan_month
from inspect_engine.workflows.results import RESULTS_FORMAT, import_results
from models.base import Base
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.api import servicecity
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.workflows import tinycity

ALL_FORMATS: dict[str, FileFormat] = {**FORMATS, "tasks": TASKS, "results": RESULTS_FORMAT}
TASKS_MONTH = "2027-01"


@dataclass(frozen=True)
class Size:
    cell: int  # characters in the huge cell
    columns: int  # extra columns in the huge header


# Enterprises get the full sizes; the other kinds a tenth of them, past every limit all
# the same (the machine is shared: each huge case is parsed at four levels and twice).
FULL = Size(10_000_000, 1_000_000)
TENTH = Size(1_000_000, 100_000)
MAX_REASON = 400  # an error quotes a bad value, never all of it
Visit = tuple[str, str]  # (visit code, item code) of the drawn month


def enterprise_code(n: int) -> str:
    return tinycity.credit_code(n, tinycity.DISTRICTS[n % 2])


def good_row(kind: str, n: int, visits: tuple[Visit, Visit]) -> list[str]:
    """A row the import accepts in the service city; n (1 or 2) picks a distinct row."""
    known = enterprise_code(1)  # in the tiny city
    day = f"2025-05-0{n}"
    district = tinycity.DISTRICTS[n % 2]
    rows = {
        "enterprises": f"{enterprise_code(9000 + n)},新开企业{n},company,F52,{district}"
        f",{district}-01,{day},100000,active,liaison{n}@example.cn,food_business,,天河路{n}号"
        ",23.1,113.3",
        "inspectors": f"T0{n},测试检查员{n},SAMR,440106-01,440106,food,2028-12-31,false,10,true",
        "items": f"SAMR-NEW{n},SAMR,新检查事项{n},《条例》第{n}条,general,company,F52,,,2",
        "inspections": f"{known},{day},SAMR,SAMR-INFO,S01,no_problem,0.1",
        "penalties": f"{known},{day},minor,1000",
        "complaints": f"{known},{day},食品安全,true",
        "annual-reports": f"{known},20{10 + n},{day}",
        "lists": f"{known},abnormal,{day},",
        "leave": f"S01,2026-12-0{n},2026-12-0{n + 2},年休假",
        "conflicts": f"S01,{known},亲属关系{n},inspector,{day}",
        "holidays": f"2027-01-0{n + 3},holiday,假日{n}",  # Monday 4, Tuesday 5 January
        "tasks": f"2027-01-T{n},新的抽查任务,SAMR-INFO,false,,,,"
        ",0.05,0.1,0.2,0.4,0.01,cross_office,2,",
        "results": f"{visits[n - 1][0]},{visits[n - 1][1]},no_problem,2026-09-21,检查正常",
    }
    return rows[kind].split(",")


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Expect:
    """An error (row, column, reason pattern), or, with row None, an accepted file."""

    row: int | None = None
    column: str | None = None
    reason: str = ""
    rows: int = 1  # accepted: data rows read
    warning: str | None = None  # accepted: a warning matching this pattern


def lines(header: list[str], rows: list[list[str]], end: str = "\n") -> str:
    return "".join(",".join(cells) + end for cells in [header, *rows])


@cache
def extra_names(count: int) -> str:
    return ",".join(f"c{i}" for i in range(count))


def junk(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


Case = Callable[[FileFormat, list[str], Size], tuple[bytes, Expect]]


def _gbk(fmt: FileFormat, good: list[str], size: Size) -> tuple[bytes, Expect]:
    # A Chinese remark makes every kind hold GBK bytes, even those without a text column.
    text = lines([*fmt.names, "remark"], [[*good, "食品经营"]])
    return text.encode("gbk"), Expect(2, None, r"not UTF-8 text .*GBK/GB18030")


def _bad_value(fmt: FileFormat, good: list[str], value: str) -> list[list[str]]:
    return [good, [value, *good[1:]]]


def _first(fmt: FileFormat) -> str:
    return fmt.names[0]


CASES: dict[str, Case] = {
    "utf8_bom": lambda fmt, g, size: (
        ("\ufeff" + lines(list(fmt.names), [g])).encode(),
        Expect(),
    ),
    "gbk": _gbk,
    "utf16_with_bom": lambda fmt, g, size: (
        lines(list(fmt.names), [g]).encode("utf-16"),
        Expect(1, None, r"UTF-16 .*save it as UTF-8"),
    ),
    "utf16_without_bom": lambda fmt, g, size: (
        lines(list(fmt.names), [g]).encode("utf-16-le"),
        Expect(1, None, r"UTF-16"),
    ),
    "binary_junk": lambda fmt, g, size: (
        b"\xff\xd8\xff\xe0" + junk(4096, 9),
        Expect(1, None, r"not UTF-8 text .*binary data"),
    ),
    "xlsx_workbook": lambda fmt, g, size: (
        b"PK\x03\x04\x14\x00\x06\x00" + junk(4096, 10),
        Expect(1, None, r"not a readable \.xlsx workbook"),
    ),
    "bom_twice": lambda fmt, g, size: (
        ("\ufeff\ufeff" + lines(list(fmt.names), [g])).encode(),
        Expect(1, _first(fmt), r"required column is missing .*'\\ufeff"),
    ),
    "missing_required_column": lambda fmt, g, size: (
        lines(list(fmt.names[1:]), [g[1:]]).encode(),
        Expect(1, _first(fmt), r"required column is missing from the header"),
    ),
    "duplicated_column": lambda fmt, g, size: (
        lines([*fmt.names, _first(fmt)], [[*g, g[0]]]).encode(),
        Expect(1, _first(fmt), r"appears 2 times in the header"),
    ),
    "extra_unknown_column": lambda fmt, g, size: (
        lines([*fmt.names, "remark"], [[*g, "x"]]).encode(),
        Expect(warning=r"extra column 'remark' is ignored"),
    ),
    "empty_file": lambda fmt, g, size: (b"", Expect(1, None, r"the file is empty")),
    "blank_header": lambda fmt, g, size: (
        ("\n" + lines(list(fmt.names), [g])).encode(),
        Expect(1, None, r"header row is blank"),
    ),
    "header_only": lambda fmt, g, size: (
        lines(list(fmt.names), []).encode(),
        Expect(rows=0, warning=r"no rows below the header"),
    ),
    "huge_field": lambda fmt, g, size: (
        lines(list(fmt.names), _bad_value(fmt, g, "x" * size.cell)).encode(),
        Expect(3, _first(fmt), f"{size.cell:,}"),
    ),
    "million_columns": lambda fmt, g, size: (
        (",".join(fmt.names) + "," + extra_names(size.columns) + "\n").encode(),
        Expect(1, None, rf"header has {size.columns + len(fmt.names):,} columns"),
    ),
    "too_many_fields": lambda fmt, g, size: (
        lines(list(fmt.names), [g, [*g, "extra"]]).encode(),
        Expect(3, None, rf"has {len(g) + 1} fields, the header has {len(g)}"),
    ),
    "too_few_fields": lambda fmt, g, size: (
        lines(list(fmt.names), [g, g[:-2]]).encode(),
        Expect(3, fmt.names[-2], rf"has {len(g) - 2} fields, the header has {len(g)}"),
    ),
    "nul_in_value": lambda fmt, g, size: (
        lines(list(fmt.names), _bad_value(fmt, g, g[0][:4] + "\x00" + g[0][4:])).encode(),
        Expect(3, _first(fmt), r"NUL character"),
    ),
    "nul_in_header": lambda fmt, g, size: (
        lines([*fmt.names[:-1], fmt.names[-1] + "\x00"], [g]).encode(),
        Expect(1, None, r"header holds NUL characters"),
    ),
    "crlf_line_ends": lambda fmt, g, size: (lines(list(fmt.names), [g], "\r\n").encode(), Expect()),
    "cr_line_ends": lambda fmt, g, size: (lines(list(fmt.names), [g], "\r").encode(), Expect()),
    "quote_left_open_at_end": lambda fmt, g, size: (
        lines(list(fmt.names), _bad_value(fmt, g, '"' + g[0])).encode(),
        Expect(3, None, r"quoted value is never closed"),
    ),
    "markup_like_value": lambda fmt, g, size: (
        lines(list(fmt.names), _bad_value(fmt, g, "[/bold]")).encode(),
        Expect(3, _first(fmt), r"'\[/bold\]'"),
    ),
}


def read_expect(kind: str, case: str, size: Size = FULL) -> Expect:
    """What the reader makes of the case."""
    fmt = ALL_FORMATS[kind]
    return CASES[case](fmt, ["x"] * len(fmt.names), size)[1]


def write_case(
    folder: Path, kind: str, case: str, visits: tuple[Visit, Visit], size: Size = FULL
) -> Path:
    variant = 2 if read_expect(kind, case).row is None else 1
    content, _ = CASES[case](ALL_FORMATS[kind], good_row(kind, variant, visits), size)
    path = folder / f"{kind}.csv"
    path.write_bytes(content)
    return path


def size_of(kind: str) -> Size:
    return FULL if kind == "enterprises" else TENTH


def expected(kind: str, case: str) -> Expect:
    """What the use case, the API and the CLI make of it."""
    expect = read_expect(kind, case, size_of(kind))
    if case == "header_only" and kind in ("tasks", "results"):
        # These use cases refuse a file without rows; the reader only warns.
        return Expect(1, None, rf"the file has no {kind}")
    return expect


def find_error(errors: list[RowError], expect: Expect) -> RowError:
    assert all(len(e.reason) < MAX_REASON for e in errors), [e.reason[:80] for e in errors]
    for error in errors:
        if (error.row, error.column) == (expect.row, expect.column) and re.search(
            expect.reason, error.reason
        ):
            return error
    raise AssertionError(f"no error like {expect} among {errors}")


KINDS = list(ALL_FORMATS)
PARAMS = pytest.mark.parametrize(("kind", "case"), [(k, c) for k in KINDS for c in CASES])
# The API and the CLI differ by kind in their route or command and in the upload's scope
# check (department column, inspector column, none): every case runs for one kind of each,
# and the cases that reach kind-specific code (size, NUL, no rows, accepted) for every kind.
EVERY_CASE = ("enterprises", "inspections", "leave", "tasks", "results")
EVERY_KIND = (
    "gbk",
    "huge_field",
    "nul_in_value",
    "too_few_fields",
    "header_only",
    "extra_unknown_column",
)
OUTSIDE = [(k, c) for k in KINDS for c in CASES if k in EVERY_CASE or c in EVERY_KIND]
NO_VISITS: tuple[Visit, Visit] = (("V-1", "SAMR-INFO"), ("V-2", "SAMR-INFO"))


# --------------------------------------------------------------------------- the reader


def read(fmt: FileFormat, path: Path) -> tuple[list[ParsedRow], list[str]]:
    warnings: list[str] = []
    return list(iter_rows(fmt, path, warnings)), warnings


@PARAMS
def test_reader(tmp_path: Path, kind: str, case: str) -> None:
    fmt = ALL_FORMATS[kind]
    path = write_case(tmp_path, kind, case, NO_VISITS, size_of(kind))
    expect = read_expect(kind, case, size_of(kind))
    if expect.row is None:
        rows, warnings = read(fmt, path)
        assert [r.errors for r in rows] == [()] * expect.rows
        if rows:
            assert str(rows[0].values[fmt.names[0]]) == good_row(kind, 2, NO_VISITS)[0]
        if expect.warning:
            assert any(re.search(expect.warning, w) for w in warnings), warnings
        return
    try:
        rows, _ = read(fmt, path)
    except FileRejected as exc:
        errors = exc.errors
    else:
        errors = [e for row in rows for e in row.errors]
        assert all(r.errors for r in rows if r.row == expect.row)
    find_error(errors, expect)


# --------------------------------------------------------------------------- a city


@dataclass
class City:
    url: str
    engine: Engine
    visits: tuple[Visit, Visit]
    headers: dict[str, str]  # a supervisor of both departments
    admin: dict[str, str]  # the city's registry (enterprises, holidays, ...) is the admin's

    def headers_for(self, kind: str) -> dict[str, str]:
        return self.admin if kind in REGISTRY_KINDS else self.headers


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    url = fresh_database_url(request.param, tmp_path_factory, "malformed")
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        made = servicecity.populate(session, tmp_path_factory.mktemp("malformed-city"))
        session.commit()
    codes = sorted(made.visits)
    visits = ((codes[0], made.visits[codes[0]][1][0]), (codes[1], made.visits[codes[1]][1][0]))
    try:
        yield City(url, engine, visits, made.headers("sup_all"), made.headers("admin"))
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)


def written_by(kind: str) -> tuple[type[Base], ...]:
    """The tables an import of `kind` writes to, the audit log included."""
    if kind == "tasks":
        return (models.Plan, models.Task, models.AuditEntry)
    if kind == "results":
        return (models.Result, models.AuditEntry)
    return (TABLES[kind], models.Department, models.Unit, models.AuditEntry)


def stored(session: Session, kind: str) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in written_by(kind)
    }


def counts(city: City, kind: str) -> dict[str, int]:
    with Session(city.engine) as session:
        return stored(session, kind)


# --------------------------------------------------------------------------- the use case


def use_case(session: Session, kind: str, path: Path) -> tuple[int, list[str] | None]:
    """Rows read and warnings (None: the use case reports none)."""
    if kind == "tasks":
        planned = plan_month(session, TASKS_MONTH, path)
        return len(planned.tasks), list(planned.warnings)
    if kind == "results":
        report = import_results(session, path)
        return report.rows, report.warnings
    imported = import_file(session, kind, path)
    return imported.rows, imported.warnings


@PARAMS
def test_use_case(city: City, tmp_path: Path, kind: str, case: str) -> None:
    path = write_case(tmp_path, kind, case, city.visits, size_of(kind))
    expect = expected(kind, case)
    with city.engine.connect() as connection, connection.begin() as outer:
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        before = stored(session, kind)
        if expect.row is None:
            rows, warnings = use_case(session, kind, path)
            assert rows == expect.rows
            if warnings is not None and expect.warning:
                assert any(re.search(expect.warning, w) for w in warnings), warnings
        else:
            with pytest.raises(ImportRejected) as rejected:
                use_case(session, kind, path)
            find_error(rejected.value.errors, expect)
            session.flush()
            assert stored(session, kind) == before, "something of a rejected file was stored"
        session.close()
        outer.rollback()


# --------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def client(city: City) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=city.url, environment="test"))) as made:
        yield made


def upload_url(kind: str) -> str:
    if kind == "tasks":
        return f"/supervisor/plans/{TASKS_MONTH}/tasks"
    if kind == "results":
        return "/supervisor/results/import"
    return f"/supervisor/imports/{kind}"


@pytest.mark.parametrize(("kind", "case"), OUTSIDE)
def test_api_upload(city: City, client: TestClient, tmp_path: Path, kind: str, case: str) -> None:
    path = write_case(tmp_path, kind, case, city.visits, size_of(kind))
    expect = expected(kind, case)
    before = counts(city, kind)
    with path.open("rb") as upload:
        files = {"file": ("upload.csv", upload, "text/csv")}
        response = client.post(upload_url(kind), files=files, headers=city.headers_for(kind))
    if expect.row is None:
        assert response.status_code in (200, 201), response.text[:500]
        body = response.json()
        assert (len(body["tasks"]) if kind == "tasks" else body["rows"]) == expect.rows
        return
    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert len(response.content) < 100_000  # the bad value is never echoed whole
    problem = response.json()
    assert problem["type"] == "/problems/import-rejected"
    errors = [RowError(e["row"], e["column"], e["reason"]) for e in problem["errors"]]
    find_error(errors, expect)
    assert counts(city, kind) == before


# --------------------------------------------------------------------------- the CLI


def cli_args(kind: str, path: Path) -> list[str]:
    if kind == "tasks":
        return ["month", "plan", "--month", TASKS_MONTH, "--tasks", str(path)]
    if kind == "results":
        return ["results", "import", str(path)]
    return ["import", kind, str(path)]


CLI = typer.main.get_command(cli_app)  # built once: typer rebuilds it on every CliRunner call


@pytest.mark.parametrize(("kind", "case"), OUTSIDE)
def test_cli(
    city: City,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    case: str,
) -> None:
    """Any exception but the command's own exit would be a stack trace: it fails the test."""
    path = write_case(tmp_path, kind, case, city.visits, size_of(kind))
    expect = expected(kind, case)
    monkeypatch.setenv("INSPECT_DATABASE_URL", city.url)
    before = counts(city, kind)
    status = CLI.main(cli_args(kind, path), prog_name="inspect-engine", standalone_mode=False)
    captured = capsys.readouterr()
    output = captured.err
    if expect.row is None:
        assert status in (None, 0), output[-2000:]
        if expect.warning:  # the user is told what was ignored
            printed = captured.out + captured.err
            assert re.search(expect.warning, " ".join(printed.split())), printed[-2000:]
        return
    assert status == 1, output[-2000:]
    where = str(RowError(expect.row, expect.column, ""))
    assert where in output and re.search(expect.reason, output), output[-2000:]
    assert counts(city, kind) == before

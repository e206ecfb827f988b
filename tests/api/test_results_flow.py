"""Results through HTTP: inspectors submit, supervisors review, import and publish; the
public reads JSON, CSV and Atom with filters; corrections and withdrawals stay visible."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

import models
from inspect_engine.formats.csv_safety import unescape_formula
from inspect_engine.formats.xlsx_out import XLSX_MEDIA_TYPE
from tests.api.conftest import Service
from tests.api.servicecity import MONTH

FORMULA_NAME = '=HYPERLINK("http://evil.example","点击")'


def _post(service: Service, user: str, path: str, **kw: Any) -> Any:
    return service.client.post(path, headers=service.city.headers(user), **kw)


@pytest.fixture(scope="module")
def flow(service: Service) -> dict[str, Any]:
    """One month's results, entered every way, then published."""
    city = service.city
    mine = city.visits_of("S01", "SAMR-INFO")[:4]
    submitted: list[int] = []
    for visit, day in zip(
        mine, ("2026-09-24", "2026-09-24", "2026-09-25", "2026-09-24"), strict=True
    ):
        response = _post(
            service,
            "insp_s01",
            f"/inspector/visits/{visit}/results",
            json={"item_code": "SAMR-INFO", "result": "no_problem", "inspected_on": day},
        )
        assert response.status_code == 201, response.text
        submitted.append(response.json()["result_id"])
    queue = service.get("/supervisor/results?status=submitted", "sup_samr").json()["items"]
    assert sorted(r["result_id"] for r in queue) == sorted(submitted)
    for result_id in submitted[:2]:
        ok = _post(
            service,
            "sup_samr",
            f"/supervisor/results/{result_id}/review",
            json={"decision": "approve"},
        )
        assert ok.status_code == 200 and ok.json()["status"] == "reviewed"
    back = _post(
        service,
        "sup_samr",
        f"/supervisor/results/{submitted[2]}/review",
        json={"decision": "return", "reason": "请补充检查记录"},
    )
    assert back.json()["status"] == "returned"
    # submitted[3] stays submitted: it is the overdue one below
    theirs = city.visits_of("S02")
    lines = ["visit_id,item_code,result,inspected_on,note"]
    for number, visit in enumerate(theirs):
        code = ("not_disclosed", "no_problem", "unreachable")[number % 3]
        for item in city.visits[visit][1]:
            lines.append(f"{visit},{item},{code},2026-09-21,")
    imported = _post(
        service,
        "sup_all",
        "/supervisor/results/import",
        files={"file": ("results.csv", ("\n".join(lines) + "\n").encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    formula_code = service.city.visits[theirs[0]]
    with service.engine.begin() as connection:
        credit = (
            connection.execute(
                models.Visit.__table__.select().where(models.Visit.visit_code == theirs[0])
            )
            .one()
            .credit_code
        )
        connection.execute(
            update(models.Enterprise)
            .where(models.Enterprise.credit_code == credit)
            .values(name=FORMULA_NAME)
        )
    published = _post(service, "sup_all", "/supervisor/results/publish", json={"month": MONTH})
    assert published.status_code == 200, published.text
    return {
        "published": published.json()["published"],
        "imported_rows": len(lines) - 1,
        "submitted": submitted,
        "formula_credit_code": credit,
        "formula_items": formula_code[1],
    }


def _all(service: Service, query: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = f"/public/results?limit=7{query}" + (f"&cursor={cursor}" if cursor else "")
        body = service.get(url).json()
        rows.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def test_only_reviewed_and_published_results_are_public(
    service: Service, flow: dict[str, Any]
) -> None:
    assert flow["published"] == flow["imported_rows"] + 2
    rows = _all(service)
    assert len(rows) == flow["published"]
    assert len({r["id"] for r in rows}) == len(rows)
    keys = set(rows[0])
    assert not keys & {"risk_class", "lambda", "inspector_id", "inspectors", "note"}
    text = service.get("/public/results?limit=500").text
    assert "检查员" not in text  # inspectors' names never appear


def test_pages_walk_the_same_rows_as_one_big_page(service: Service, flow: dict[str, Any]) -> None:
    big = service.get("/public/results?limit=500").json()
    assert big["next_cursor"] is None
    assert [r["id"] for r in _all(service)] == [r["id"] for r in big["items"]]
    days = [r["inspected_on"] for r in big["items"]]
    assert days == sorted(days, reverse=True)
    assert service.get("/public/results?limit=501").status_code == 422
    assert service.get("/public/results?limit=0").status_code == 422
    tampered = service.get("/public/results?cursor=bm90LWEta2V5")
    assert tampered.status_code == 422
    assert tampered.json()["type"] == "/problems/invalid-input"


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-13-01",
        "date_to=yesterday",
        "district=44010",
        "department=SAMR;DROP",
        "result=fine",
        "format=xls",
        "date_from=2026-10-01&date_to=2026-09-01",
        "q=" + "x" * 101,
    ],
)
def test_an_invalid_filter_is_a_422_problem(service: Service, query: str) -> None:
    response = service.get(f"/public/results?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(problem)
    assert problem["status"] == 422 and problem["instance"] == "/public/results"


def test_filters_narrow_the_results(service: Service, flow: dict[str, Any]) -> None:
    everything = _all(service)
    for name, value in (("district", "440105"), ("department", "FIRE"), ("result", "unreachable")):
        found = _all(service, f"&{name}={value}")
        assert found and len(found) < len(everything)
        assert found == [r for r in everything if r[name] == value]
    early = _all(service, "&date_from=2026-09-22&date_to=2026-09-30")
    assert early == [r for r in everything if "2026-09-22" <= r["inspected_on"] <= "2026-09-30"]
    assert {r["inspected_on"] for r in early} == {"2026-09-24"}
    one = everything[-1]
    by_code = _all(service, f"&q={one['credit_code'].lower()}")
    assert by_code == [r for r in everything if r["credit_code"] == one["credit_code"]]
    by_name = _all(service, "&q=" + one["enterprise_name"][-3:])
    assert one in by_name and all(
        one["enterprise_name"][-3:] in r["enterprise_name"] for r in by_name
    )
    assert _all(service, "&q=100%25") == []  # a % is a character, not a wildcard


def test_csv_download_escapes_formulas(service: Service, flow: dict[str, Any]) -> None:
    response = service.get("/public/results?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == len(_all(service))
    formula = [r for r in rows if r["credit_code"] == flow["formula_credit_code"]]
    assert formula and {r["enterprise_name"] for r in formula} == {"'" + FORMULA_NAME}
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    fire = list(
        csv.DictReader(
            io.StringIO(
                service.get("/public/results?format=csv&department=FIRE").text.lstrip("\ufeff")
            )
        )
    )
    assert fire and {r["department"] for r in fire} == {"FIRE"}


def test_xlsx_download_holds_the_csv_rows_and_no_formula(
    service: Service, flow: dict[str, Any]
) -> None:
    response = service.get("/public/results?format=xlsx&department=SAMR")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert 'filename="results.xlsx"' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [list(row) for row in sheet.iter_rows()]
    assert not [c.coordinate for row in cells for c in row if c.data_type == "f"]
    header, *rows = [[c.value for c in row] for row in cells]
    text = service.get("/public/results?format=csv&department=SAMR").text.lstrip("\ufeff")
    listed = list(csv.DictReader(io.StringIO(text)))
    assert header == list(listed[0]) and len(rows) == len(listed) > 0
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    for line in listed:
        row = by_id[int(line["id"])]
        assert row["credit_code"] == line["credit_code"]
        assert row["inspected_on"] == line["inspected_on"]
        assert row["enterprise_name"] == unescape_formula(line["enterprise_name"])
    formula = [r for r in by_id.values() if r["credit_code"] == flow["formula_credit_code"]]
    assert formula and {r["enterprise_name"] for r in formula} == {FORMULA_NAME}


def test_atom_feed(service: Service, flow: dict[str, Any]) -> None:
    response = service.get("/public/results.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == min(50, flow["published"])
    for entry in entries:
        assert entry.find("a:updated", ns) is not None
        assert entry.find("a:link", ns).get("href").startswith("http")  # type: ignore[union-attr]


def test_corrections_and_withdrawals_stay_visible(service: Service, flow: dict[str, Any]) -> None:
    rows = _all(service, "&department=SAMR")
    target, other = rows[0], rows[1]
    result_id = service.get(
        f"/supervisor/results?month={MONTH}&status=published&limit=500", "sup_samr"
    ).json()["items"]
    by_visit = {(r["visit_code"], r["item_code"]): r["result_id"] for r in result_id}
    detail = service.get(f"/public/results/{target['id']}").json()
    ids = {}
    for row in (target, other):
        found = service.get(f"/public/results/{row['id']}").json()
        ids[row["id"]] = by_visit[(_visit_of(service, found), row["item_code"])]
    corrected = _post(
        service,
        "sup_samr",
        f"/supervisor/results/{ids[target['id']]}/correct",
        json={"result": "corrected", "reason": "企业提出异议，经复核更正"},
    )
    assert corrected.status_code == 200, corrected.text
    new_id = corrected.json()["publication_id"]
    now = {r["id"]: r for r in _all(service)}
    assert target["id"] not in now and now[new_id]["corrected"] is True
    assert (
        now[new_id]["result"] == "corrected" and now[new_id]["reason"] == "企业提出异议，经复核更正"
    )
    history = service.get(f"/public/results/{new_id}").json()["history"]
    assert [(h["version"], h["state"]) for h in history] == [(2, "current"), (1, "corrected")]
    assert service.get(f"/public/results/{target['id']}").json()["state"] == "corrected"
    assert detail["version"] == 1
    withdrawn = _post(
        service,
        "sup_samr",
        f"/supervisor/results/{ids[other['id']]}/withdraw",
        json={"reason": "检查无效"},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert other["id"] not in {r["id"] for r in _all(service)}
    gone = service.get(f"/public/results/{other['id']}").json()
    assert (gone["state"], gone["reason"]) == ("withdrawn", "检查无效")
    again = _post(
        service,
        "sup_samr",
        f"/supervisor/results/{ids[other['id']]}/withdraw",
        json={"reason": "again"},
    )
    assert again.status_code == 409 and again.json()["type"] == "/problems/conflict"
    feed = service.get("/public/results.atom").text
    assert "[撤回]" in feed and "[更正]" in feed
    page = service.get(f"/results/{new_id}", headers={"accept": "text/html"}).text
    assert "此结果已更正" in page and "企业提出异议" in page


def _visit_of(service: Service, public_row: dict[str, Any]) -> str:
    with service.engine.connect() as connection:
        return str(
            connection.execute(
                models.Publication.__table__.select().where(
                    models.Publication.id == public_row["id"]
                )
            )
            .one()
            .visit_code
        )


def test_overdue_over_national_day(service: Service, flow: dict[str, Any]) -> None:
    late = flow["submitted"][3]  # inspected 24 Sep 2026, still only submitted
    returned = flow["submitted"][2]  # inspected 25 Sep (a holiday), sent back
    on_due_day = service.get("/supervisor/overdue?as_of=2026-10-29", "sup_samr").json()
    assert late not in {r["result_id"] for r in on_due_day["items"]}
    after = service.get("/supervisor/overdue?as_of=2026-10-30", "sup_samr").json()["items"]
    # 25 Sep 2026 is Mid-Autumn: the count starts on 28 Sep as for 24 Sep, so the same
    # due date; plain weekdays would have made both overdue from 23 Oct
    assert {(r["result_id"], r["due_on"]) for r in after} == {
        (late, "2026-10-29"),
        (returned, "2026-10-29"),
    }
    early = service.get("/supervisor/overdue?as_of=2026-10-23", "sup_samr").json()["items"]
    assert early == []
    assert service.get("/supervisor/overdue?as_of=2026-11-02", "sup_fire").json()["items"] == []
    # a day in a year no calendar knows yet: answered (no 409), the 2026 deadlines final
    beyond = service.get("/supervisor/overdue?as_of=2031-01-05", "sup_samr")
    assert beyond.status_code == 200
    assert {
        (r["result_id"], r["due_on"], r["due_provisional"]) for r in beyond.json()["items"]
    } >= {
        (late, "2026-10-29", False),
        (returned, "2026-10-29", False),
    }


def test_a_rejected_results_file_names_its_rows(service: Service, flow: dict[str, Any]) -> None:
    text = "visit_id,item_code,result,inspected_on\n2026-09-000001,SAMR-INFO,great,2026-09-02\n"
    response = _post(
        service,
        "sup_all",
        "/supervisor/results/import",
        files={"file": ("bad.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/import-rejected"
    assert problem["errors"] == [
        {"row": 2, "column": "result", "reason": problem["errors"][0]["reason"]}
    ]
    assert "great" in problem["errors"][0]["reason"]


def test_invalid_bodies_are_problems_too(service: Service) -> None:
    visit = service.city.visits_of("S01", "SAMR-INFO")[-1]
    response = _post(
        service,
        "insp_s01",
        f"/inspector/visits/{visit}/results",
        json={"item_code": "SAMR-INFO", "result": "great", "inspected_on": "2026-09-31"},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert {tuple(e["location"]) for e in problem["errors"]} == {
        ("body", "result"),
        ("body", "inspected_on"),
    }


def test_the_site_finds_a_result_by_credit_code(service: Service, flow: dict[str, Any]) -> None:
    code = flow["formula_credit_code"]
    page = service.get(f"/results?q={code}", headers={"accept": "text/html"}).text
    assert code in page and "/public/results?q=" in page
    assert "&#34;" in page or "&quot;" in page  # the formula name is escaped HTML text
    enterprise = service.get(f"/enterprises/{code}").text
    assert code in enterprise and "<script" not in enterprise
    missing = service.get("/results/999999", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "未找到" in missing.text
    form = service.get(f"/results?q={code}&date_from=&date_to=&district=&department=&result=")
    assert form.status_code == 200 and code in form.text  # blank form fields: no filter
    bad = service.get("/results?date_from=nope", headers={"accept": "text/html"})
    assert bad.status_code == 422 and "查询条件有误" in bad.text


def test_population_estimates_follow_the_publication(
    service: Service, flow: dict[str, Any]
) -> None:
    """Each publication stores Horvitz–Thompson estimates with 95% intervals, served as JSON,
    as a chart and on the site; they count exactly the published visits."""
    body = service.get(f"/public/estimates/{MONTH}").json()
    overall = body["overall"]
    published_visits = len({r["credit_code"] for r in _all(service)})
    assert overall["visited"] == published_visits
    assert overall["drawn"] >= overall["visited"] > 0
    assert overall["population"] >= overall["drawn"]
    share = float(overall["share"])
    assert float(overall["ci_low"]) <= share <= float(overall["ci_high"])
    assert {d["dimension"] for d in body["by_district"]} == {"district"}
    assert sum(d["population"] for d in body["by_district"]) == overall["population"]
    # the plan's visit probability is simulated for the frozen frames, with its error
    assert body["plan_inclusion"]["method"].startswith("Rao-Blackwellised coordinated draws")
    assert body["plan_inclusion"]["source"] == "stored at the draw"
    assert body["plan_inclusion"]["max_std_error"] < 0.05
    # per task, over its own frame, with its recorded π and only its own items' results
    assert body["by_task"]
    for task in body["by_task"].values():
        assert task["dimension"] == "all" and task["population"] <= overall["population"]
        assert 0 < task["visited"] <= overall["visited"]
    chart = service.get(f"/public/estimates/{MONTH}/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content[:4] == b"\x89PNG"
    page = service.get(f"/estimates/{MONTH}")
    assert page.status_code == 200 and "95% 区间" in page.text
    assert service.get("/public/estimates/2031-01").status_code == 404

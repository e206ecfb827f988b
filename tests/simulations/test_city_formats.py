"""The generated files follow DATA-FORMATS.md: headers, enums, dates, codes, unique keys, and
every history row refers to something the directories hold."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from inspect_engine.uscc import is_valid
from tests.simulations.citykit import AS_OF, City

# Transcribed from DATA-FORMATS.md (the contract), not from the generator.
EXPECTED_HEADERS = {
    "enterprises.csv": "credit_code name entity_type industry district unit registered_on "
    "registered_capital status licences tags address lat lon",
    "inspectors.csv": "inspector_id name department unit district qualifications "
    "certificate_expires lead monthly_capacity active",
    "items.csv": "item_code department title legal_basis kind entity_types industries licences "
    "qualification min_inspectors",
    "tasks.csv": "task_code title items targeted entity_types industries districts licences "
    "ratio_A ratio_B ratio_C ratio_D floor mode team_size",
    "inspections.csv": "credit_code inspected_on department item_code inspector_id result "
    "inclusion_probability",
    "penalties.csv": "credit_code decided_on severity amount",
    "complaints.csv": "credit_code received_on category substantiated",
    "annual_reports.csv": "credit_code year filed_on",
    "lists.csv": "credit_code list listed_on removed_on",
    "leave.csv": "inspector_id starts_on ends_on reason",
    "conflicts.csv": "inspector_id credit_code reason raised_by raised_on",
}
RESULTS = {
    "no_problem", "not_disclosed", "false_disclosure", "unreachable", "corrected", "pending",
    "non_cooperation", "no_activity", "closed", "deregistered",
}  # fmt: skip
DISTRICTS = {
    "440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115",
    "440117", "440118",
}  # fmt: skip
LICENCES = {
    "food_production", "food_business", "drug_retail", "medical_device", "cosmetics",
    "special_equipment", "industrial_product",
}  # fmt: skip
CANONICAL_DECIMAL = re.compile(r"^(1|0\.\d{0,8}[1-9])$")


def is_date(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def listed(cell: str) -> list[str]:
    return cell.split(";") if cell else []


@pytest.mark.parametrize("name", sorted(EXPECTED_HEADERS))
def test_header_matches_the_contract(city: City, name: str) -> None:
    assert city.header(name) == EXPECTED_HEADERS[name].split()
    assert city.summary.rows[name] == len(city.rows(name)) > 0


def test_files_are_plain_utf8_without_bom(city: City) -> None:
    for name in EXPECTED_HEADERS:
        assert not (city.dir / name).read_bytes().startswith(b"\xef\xbb\xbf")


def test_every_credit_code_is_valid_unique_and_well_formed(city: City) -> None:
    rows = city.rows("enterprises.csv")
    codes = [r["credit_code"] for r in rows]
    assert all(is_valid(c) for c in codes)
    assert len(set(codes)) == len(codes)
    category = {"company": "1", "branch": "1", "foreign_rep": "1", "individual": "2"}
    category["cooperative"] = "3"
    for r in rows:
        code = r["credit_code"]
        assert code[0] == "9" and code[1] == category[r["entity_type"]]
        assert code[2:4] == "44"  # registered in Guangdong
    # Mostly the current district, but not always (moved, or registered by the city bureau).
    same = sum(r["credit_code"][2:8] == r["district"] for r in rows) / len(rows)
    assert 0.75 < same < 0.97


def test_enterprise_fields_use_the_enums(city: City) -> None:
    rows = city.rows("enterprises.csv")
    for r in rows:
        assert r["entity_type"] in {"company", "individual", "cooperative", "branch", "foreign_rep"}
        assert r["status"] in {"active", "revoked", "cancelled", "moved_out"}
        assert r["district"] in DISTRICTS
        assert re.fullmatch(r"[A-T]\d{2}", r["industry"])
        assert re.fullmatch(r"\d{6}-\d{2}", r["unit"]) and r["unit"][:6] == r["district"]
        assert is_date(r["registered_on"]) and r["registered_on"] <= AS_OF.isoformat()
        assert set(listed(r["licences"])) <= LICENCES
        assert r["registered_capital"] == "" or float(r["registered_capital"]) > 0
        assert 22.4 < float(r["lat"]) < 23.9 and 113.0 < float(r["lon"]) < 114.1
        assert r["name"] and r["address"].startswith("广州市")
    assert len({r["name"] for r in rows}) == len(rows)
    assert Counter(r["status"] for r in rows)["active"] / len(rows) > 0.8


def test_inspectors_are_certified_staff_of_known_units(city: City) -> None:
    rows = city.rows("inspectors.csv")
    ids = [r["inspector_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    units = {r["unit"] for r in city.rows("enterprises.csv")}
    for r in rows:
        assert r["department"] in {"SAMR", "HEALTH", "FIRE", "ECOENV"}
        assert r["district"] in DISTRICTS and r["unit"].startswith(r["district"] + "-")
        if r["department"] == "SAMR":
            assert r["unit"] in units
        assert is_date(r["certificate_expires"])
        assert r["lead"] in {"true", "false"} and r["active"] in {"true", "false"}
        assert 10 <= int(r["monthly_capacity"]) <= 30
    expired = sum(r["certificate_expires"] < "2026-12-01" for r in rows) / len(rows)
    soon = sum("2026-12-01" <= r["certificate_expires"] < "2027-03-01" for r in rows) / len(rows)
    assert 0 < expired < 0.1 and 0 < soon < 0.15


def test_items_have_legal_bases_and_lawful_teams(city: City) -> None:
    rows = city.rows("items.csv")
    assert 20 <= len(rows) <= 40
    assert len({r["item_code"] for r in rows}) == len(rows)
    assert {r["department"] for r in rows} == {"SAMR", "HEALTH", "FIRE", "ECOENV"}
    for r in rows:
        assert r["kind"] in {"key", "general"}
        assert r["legal_basis"].startswith("《") and "第" in r["legal_basis"]
        assert int(r["min_inspectors"]) >= 2
        assert set(listed(r["licences"])) <= LICENCES
    info = [r for r in rows if "公示信息" in r["title"]]
    assert info and set(listed(info[0]["entity_types"])) >= {"company", "branch"}


def test_history_refers_to_known_things(city: City) -> None:
    codes = {r["credit_code"] for r in city.rows("enterprises.csv")}
    items = {r["item_code"]: r["department"] for r in city.rows("items.csv")}
    inspectors = {r["inspector_id"] for r in city.rows("inspectors.csv")}
    for name in ("inspections.csv", "penalties.csv", "complaints.csv", "annual_reports.csv"):
        assert {r["credit_code"] for r in city.rows(name)} <= codes, name
    assert {r["credit_code"] for r in city.rows("lists.csv")} <= codes
    assert {r["credit_code"] for r in city.rows("conflicts.csv")} <= codes
    for r in city.rows("inspections.csv"):
        assert items[r["item_code"]] == r["department"]
        assert r["inspector_id"] in inspectors
    assert {r["inspector_id"] for r in city.rows("leave.csv")} <= inspectors
    assert {r["inspector_id"] for r in city.rows("conflicts.csv")} <= inspectors
    for task in city.rows("tasks.csv"):
        assert set(task["items"].split(";")) <= set(items)


def test_history_rows_are_valid_events(city: City) -> None:
    registered = {r["credit_code"]: r["registered_on"] for r in city.rows("enterprises.csv")}
    end = AS_OF.isoformat()
    for r in city.rows("inspections.csv"):
        assert r["result"] in RESULTS
        assert is_date(r["inspected_on"]) and registered[r["credit_code"]] <= r["inspected_on"]
        assert r["inspected_on"] <= end
        pi = r["inclusion_probability"]
        assert pi == "" or CANONICAL_DECIMAL.match(pi), pi
    for r in city.rows("penalties.csv"):
        assert r["severity"] in {"minor", "general", "serious"}
        assert registered[r["credit_code"]] <= r["decided_on"] <= end
        assert r["amount"] == "" or float(r["amount"]) > 0
    for r in city.rows("complaints.csv"):
        assert registered[r["credit_code"]] <= r["received_on"] <= end
        assert r["substantiated"] in {"true", "false"} and r["category"]
    for r in city.rows("annual_reports.csv"):
        assert r["filed_on"] == "" or (is_date(r["filed_on"]) and r["filed_on"][:4] > r["year"])
    for r in city.rows("lists.csv"):
        assert r["list"] in {"abnormal", "serious_violation"}
        assert registered[r["credit_code"]] <= r["listed_on"] <= end
        assert r["removed_on"] == "" or r["listed_on"] < r["removed_on"] <= end
    for r in city.rows("leave.csv"):
        assert r["starts_on"] <= r["ends_on"]
    for r in city.rows("conflicts.csv"):
        assert r["raised_by"] in {"inspector", "enterprise", "supervisor"}
        assert registered[r["credit_code"]] <= r["raised_on"] <= end


def test_no_duplicate_keys_or_events(city: City) -> None:
    reports = [(r["credit_code"], r["year"]) for r in city.rows("annual_reports.csv")]
    assert len(set(reports)) == len(reports)
    assert {int(y) for _, y in reports} == {2023, 2024, 2025}
    for name in EXPECTED_HEADERS:
        rows = [tuple(r.values()) for r in city.rows(name)]
        assert len(set(rows)) == len(rows), name
    pairs = [(r["inspector_id"], r["credit_code"]) for r in city.rows("conflicts.csv")]
    assert len(set(pairs)) == len(pairs)


def test_random_draws_record_pi_and_others_do_not(city: City) -> None:
    rows = city.rows("inspections.csv")
    drawn = [r for r in rows if r["inclusion_probability"]]
    other = [r for r in rows if not r["inclusion_probability"]]
    assert len(drawn) > len(other) > 0
    # Complaint-driven checks are made by the entity's own office: local inspectors.
    unit_of = {r["credit_code"]: r["unit"] for r in city.rows("enterprises.csv")}
    office_of = {r["inspector_id"]: r["unit"] for r in city.rows("inspectors.csv")}

    def own_office(rs: list[dict[str, str]]) -> float:
        return sum(office_of[r["inspector_id"]] == unit_of[r["credit_code"]] for r in rs) / len(rs)

    cross = [r for r in drawn if r["department"] == "SAMR" and r["item_code"] != "SAMR-METRO-01"]
    local = [r for r in drawn if r["item_code"] == "SAMR-METRO-01"]
    complaint_driven = [r for r in other if r["department"] == "SAMR"]
    assert own_office(cross) < 0.01  # cross-office mode
    # Local mode (the metrology task, complaint-driven checks) leads with the own office
    # whenever one of its few inspectors holds the qualification.
    assert own_office(local) > 0.3
    assert own_office(complaint_driven) > 0.5


def test_leave_and_conflicts_are_sparse_but_present(city: City) -> None:
    n = city.summary.n_inspectors
    assert 0.02 * n < len(city.rows("leave.csv")) < 0.2 * n
    assert 0.05 * n < len(city.rows("conflicts.csv")) < 0.3 * n
    month = [r for r in city.rows("leave.csv") if r["starts_on"] <= "2026-12-31"]
    assert any(r["ends_on"] >= "2026-12-01" for r in month)


def test_the_engine_reader_accepts_every_row(city: City) -> None:
    """Through the import path's own parser: no row error, no warning."""
    reader = pytest.importorskip("inspect_engine.formats.reader")
    spec = pytest.importorskip("inspect_engine.formats.spec")
    # the synthetic city writes no holidays.csv: its years are in the calendar package
    formats = {k: f for k, f in {**spec.FORMATS, "tasks": spec.TASKS}.items() if k != "holidays"}
    assert {f"{kind.replace('-', '_')}.csv" for kind in formats} == set(EXPECTED_HEADERS)
    for kind, fmt in formats.items():
        warnings: list[str] = []
        rows = list(reader.iter_rows(fmt, city.dir / f"{kind.replace('-', '_')}.csv", warnings))
        assert warnings == [], kind
        assert [r for r in rows if r.errors] == [], kind
        assert len(rows) == city.summary.rows[f"{kind.replace('-', '_')}.csv"]

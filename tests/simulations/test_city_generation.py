"""Determinism, scales, progress reporting and the month's tasks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from simulations.city import entity_count, generate_city
from tests.simulations.citykit import AS_OF, SEED, City


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    city: City, tmp_path: Path
) -> None:
    generate_city("small", SEED, tmp_path / "again", as_of=AS_OF)
    generate_city("small", SEED + 1, tmp_path / "other", as_of=AS_OF)
    first, again, other = (
        digests(city.dir),
        digests(tmp_path / "again"),
        digests(tmp_path / "other"),
    )
    assert first == again
    assert set(first) == set(other)
    differing = {name for name in first if first[name] != other[name]}
    assert differing >= {"enterprises.csv", "inspections.csv", "truth.csv", "inspectors.csv"}


def test_scales_and_custom_counts() -> None:
    assert entity_count("small") == 20_000
    assert entity_count("city") == 270_000
    assert entity_count("guangzhou") == 2_696_700
    assert entity_count("3000") == 3000
    for bad in ("huge", "12", "-5"):
        with pytest.raises(ValueError):
            entity_count(bad)


def test_progress_reports_every_stage(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    summary = generate_city(
        "2000", 3, tmp_path, as_of=AS_OF, progress=lambda s, d, t: calls.append((s, d, t))
    )
    stages = {s for s, _, _ in calls}
    assert {"population", "history", "writing"} <= stages
    assert all(0 <= d <= t for _, d, t in calls)
    assert ("history", 36, 36) in calls and ("writing", 7, 7) in calls
    assert summary.n_enterprises == 2000 and summary.month == "2026-12"


def test_the_month_exercises_every_kind_of_task(city: City) -> None:
    tasks = city.rows("tasks.csv")
    items = {r["item_code"]: r for r in city.rows("items.csv")}
    assert all(t["task_code"].startswith("2026-12-") for t in tasks)
    assert len({t["task_code"] for t in tasks}) == len(tasks)

    def departments(task: dict[str, str]) -> set[str]:
        return {items[i]["department"] for i in task["items"].split(";")}

    assert any(departments(t) == {"SAMR", "HEALTH"} for t in tasks)  # joint task
    assert any(t["targeted"] == "true" and (t["industries"] or t["districts"]) for t in tasks)
    assert any("SAMR-INFO-01" in t["items"].split(";") for t in tasks)
    assert any(departments(t) == {"FIRE"} for t in tasks)
    assert any(departments(t) == {"ECOENV"} for t in tasks)
    modes = [t["mode"] for t in tasks]
    assert modes.count("local") == 1 and modes.count("cross_office") == len(tasks) - 1
    for t in tasks:
        ratios = [float(t[f"ratio_{c}"]) for c in "ABCD"]
        assert 0 < ratios[0] <= ratios[1] <= ratios[2] <= ratios[3] <= 1
        assert 0 < float(t["floor"]) <= ratios[0]
        assert int(t["team_size"]) >= 2


def applies(entity: dict[str, str], rule: dict[str, str]) -> bool:
    """An items.csv scope or a tasks.csv filter, read as DATA-FORMATS says."""
    types = rule["entity_types"].split(";") if rule["entity_types"] else []
    prefixes = rule["industries"].split(";") if rule["industries"] else []
    licences = rule["licences"].split(";") if rule["licences"] else []
    districts = rule.get("districts", "").split(";") if rule.get("districts") else []
    held = set(entity["licences"].split(";")) if entity["licences"] else set()
    return (
        (not types or entity["entity_type"] in types)
        and (not prefixes or any(entity["industry"].startswith(p) for p in prefixes))
        and (not licences or bool(held & set(licences)))
        and (not districts or entity["district"] in districts)
    )


def test_task_ratios_give_the_planned_number_of_visits(city: City) -> None:
    """With a nominal class mix (30/50/15/5%) the month's frames yield about 20,000 visits
    per 2.7 million entities."""
    items = {r["item_code"]: r for r in city.rows("items.csv")}
    active = [e for e in city.rows("enterprises.csv") if e["status"] == "active"]
    expected = 0.0
    for t in city.rows("tasks.csv"):
        scopes = [items[i] for i in t["items"].split(";")]
        frame = sum(applies(e, t) and any(applies(e, s) for s in scopes) for e in active)
        ratios = [float(t[f"ratio_{c}"]) for c in "ABCD"]
        expected += frame * sum(w * r for w, r in zip((0.3, 0.5, 0.15, 0.05), ratios, strict=True))
    n = len(city.rows("enterprises.csv"))
    assert abs(expected / (20_000 * n / 2_696_700) - 1) < 0.15

"""Test vectors of the team protocol (ie-teams-v1).

1. `keys.team_seed` and `keys.pair_key` on fixed inputs, recomputed here with hashlib
   straight from the formulas of keys.py's docstring:

       team_seed = hex SHA256(UTF8(seed + "|" + staffing_hash + "|ie-teams-v1"))
       key(c, i) = first 8 bytes of SHA256(UTF8(team_seed + "|" + c + "|" + i)),
                   big-endian, shifted right by 4 (60 bits)

2. A small fixed month's teams, and one withdrawal's outcome, pinned in
   ie_teams_v1_vector.json. The file was produced by this module's `vector()` (run
   `PYTHONPATH=. python tests/assignment/test_assignment_vectors.py --write` from the
   repository root) on the kernel of the protocol's introduction, after the tests of
   tests/assignment passed on it; it was not edited by hand. Anyone re-implementing the
   protocol must get the same teams. If this test fails, the draw has changed: that is a
   new protocol, which must get a new version (keys.PROTOCOL) and a new vector, never an
   update of this one. ie-teams-v1 (teams without days) is what `assign` does without
   `max_per_day`; ie-teams-v2 is pinned in test_calendar_vectors.py.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from inspect_engine.assignment import (
    DateRange,
    DepartmentNeed,
    Inspector,
    Month,
    OfficeMode,
    Recusals,
    Visit,
    assign,
    keys,
    team_violations,
)
from inspect_engine.assignment.events import Change, Staffing, apply_change

VECTOR = Path(__file__).with_name("ie_teams_v1_vector.json")
PLAN_SEED = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
STAFFING_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
FIXED_SEED = "f20355e2aa4c61f12e17ddd805dc24be99a108c8456e88698cdc9b2d4e7bc781"
FIXED_KEY = 1116705259775560762
"""team_seed("seed", "hash") and pair_key(FIXED_SEED, "C", "I"), computed with hashlib."""


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def test_protocol_constants() -> None:
    # v1 stays readable (months frozen under it); new snapshots are v2 (test_calendar_vectors)
    assert keys.V1 == "ie-teams-v1" and keys.V1 in keys.PROTOCOLS
    assert (keys.KEY_BITS, keys.COST_BITS) == (60, 32)


def test_team_seed_follows_the_formula() -> None:
    expected = sha256(f"{PLAN_SEED}|{STAFFING_HASH}|ie-teams-v1").hex()
    assert keys.team_seed(PLAN_SEED, STAFFING_HASH, keys.V1) == expected
    # non-ASCII text is hashed as UTF-8
    assert keys.team_seed("种子", "快照", keys.V1) == sha256("种子|快照|ie-teams-v1").hex()
    # the seed is bound to the staffing: another snapshot, another team seed
    other = keys.team_seed(PLAN_SEED, "0" * 64, keys.V1)
    assert other != keys.team_seed(PLAN_SEED, STAFFING_HASH, keys.V1)


def test_pair_key_follows_the_formula() -> None:
    seed = keys.team_seed(PLAN_SEED, STAFFING_HASH, keys.V1)
    for code, inspector in [
        ("91440106MA59C8XX1F", "44010600123"),
        ("91440115MA5D0L4Y2K", "440115-INS-7"),
        ("91440106MA59C8XX1F", "visit"),  # the visit's own rank
        ("统一社会信用代码", "检查员"),
    ]:
        digest = sha256(f"{seed}|{code}|{inspector}")
        expected = int.from_bytes(digest[:8], "big") >> 4
        assert keys.pair_key(seed, code, inspector) == expected
        assert 0 <= expected < 1 << 60
        # the solver's cost is the key's top 32 bits
        cost = keys.cost_of(np.array([expected], dtype=np.uint64))
        assert int(cost[0]) == int.from_bytes(digest[:4], "big")


def test_pair_key_on_a_fixed_input_has_a_fixed_value() -> None:
    # Written out once, so that the formula above and the code cannot drift together.
    assert keys.team_seed("seed", "hash", keys.V1) == FIXED_SEED
    assert keys.pair_key(FIXED_SEED, "C", "I") == FIXED_KEY


def test_vectorised_keys_equal_the_scalar_key() -> None:
    seed = keys.team_seed(PLAN_SEED, STAFFING_HASH, keys.V1)
    codes = ["C1", "C2", "C3"]
    ids = ["I1", "I2", "I3", "I4"]
    visit_of = [0, 0, 1, 2, 2, 2]
    inspector_of = [1, 3, 0, 0, 2, 3]
    got = keys.pair_keys(seed, codes, ids, visit_of, inspector_of)
    pairs = zip(visit_of, inspector_of, strict=True)
    expected = [keys.pair_key(seed, codes[v], ids[i]) for v, i in pairs]
    assert got.tolist() == expected


# ------------------------------------------------------------------ the pinned scenario


def scenario() -> tuple[list[Visit], list[Inspector], Month, Recusals]:
    """Eight visits (one joint, one local_cross, two wanting a lead), twelve inspectors
    (half-month leave, a certificate ending mid-month), a conflict and a late window."""
    month = Month(
        first_day=date(2026, 12, 1),
        last_day=date(2026, 12, 31),
        working_days=tuple(
            date(2026, 12, d) for d in range(1, 32) if date(2026, 12, d).weekday() < 5
        ),
        calendar_source="weekdays",
        window_first=date(2026, 12, 3),
    )
    units = ["440106-01", "440106-02", "440115-01"]
    inspectors = []
    for k in range(12):
        unit = units[k % 3]
        inspectors.append(
            Inspector(
                inspector_id=f"4401{k:04d}",
                department="FIRE" if k in (2, 7, 10) else "SAMR",
                unit=unit,
                district=unit[:6],
                qualifications=frozenset({"food"}) if k % 2 == 0 else frozenset(),
                certificate_expires=date(2026, 12, 11) if k == 5 else date(2027, 12, 31),
                monthly_capacity=3 + k % 3,
                lead=k in (0, 7),
                leave={3: (DateRange(date(2026, 12, 1), date(2026, 12, 15)),),
                       8: (DateRange(date(2026, 12, 16), date(2026, 12, 31)),)}.get(k, ()),
            )
        )  # fmt: skip
    visits = []
    for k in range(8):
        unit = units[(k + 1) % 3]
        needs = [DepartmentNeed("SAMR", frozenset({"food"}) if k % 3 == 0 else frozenset())]
        if k == 4:
            needs.append(DepartmentNeed("FIRE"))
        visits.append(
            Visit(
                visit_id=f"2026-12-{k:03d}",
                credit_code=f"9144{k:014d}",
                unit=unit,
                district=unit[:6],
                needs=tuple(needs),
                mode=OfficeMode.LOCAL_CROSS if k == 6 else OfficeMode.CROSS_OFFICE,
                team_size=3 if k in (1, 4) else 2,
                want_lead=k in (0, 4),
            )
        )
    recusals = Recusals.build(conflicts=[("44010001", visits[2].credit_code)])
    return visits, inspectors, month, recusals


def vector() -> dict[str, Any]:
    visits, inspectors, month, recusals = scenario()
    seed = keys.team_seed(PLAN_SEED, STAFFING_HASH, keys.V1)
    result = assign(visits, inspectors, month, seed, recusals)
    busiest = max(result.loads, key=lambda i: (result.loads[i], i))
    staffing = Staffing(tuple(visits), tuple(inspectors), month, recusals)
    _, after, outcome = apply_change(staffing, result.teams, seed, Change("withdraw", busiest))
    return {
        "protocol": keys.V1,
        "plan_seed": PLAN_SEED,
        "staffing_hash": STAFFING_HASH,
        "team_seed": seed,
        "teams": {v: list(t) for v, t in result.teams.items()},
        "unstaffed": {u.visit_id: u.reason for u in result.unstaffed},
        "withdraw": busiest,
        "after_withdraw": {v: list(t) for v, t in after.items()},
        "outcome": outcome.as_dict(),
    }


def test_the_pinned_scenario_draws_the_pinned_teams() -> None:
    pinned = json.loads(VECTOR.read_text(encoding="utf-8"))
    assert pinned["protocol"] == keys.V1
    got = vector()
    assert got["team_seed"] == pinned["team_seed"]
    assert got["teams"] == pinned["teams"]
    assert got["unstaffed"] == pinned["unstaffed"]
    assert (got["withdraw"], got["after_withdraw"]) == (pinned["withdraw"],
                                                        pinned["after_withdraw"])  # fmt: skip
    assert got["outcome"] == pinned["outcome"]


def test_the_pinned_teams_are_lawful() -> None:
    # the vector pins a lawful draw, checked with the scalar rules, common day included
    pinned = json.loads(VECTOR.read_text(encoding="utf-8"))
    visits, inspectors, month, recusals = scenario()
    by_id = {i.inspector_id: i for i in inspectors}
    by_visit = {v.visit_id: v for v in visits}
    barred = recusals.barred_pairs(month)
    assert len(pinned["teams"]) == len(visits)
    for visit_id, team in pinned["teams"].items():
        members = [by_id[m] for m in team]
        assert team_violations(members, by_visit[visit_id], month, barred) == []


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    VECTOR.write_text(json.dumps(vector(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

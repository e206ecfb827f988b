"""The group hash sorts its lines by task code, not by whole line (DRAW-SPEC, group hash).

Task codes `A` and `A+`: the code `A` comes first, although the whole line `A+,…` sorts
before `A,…` (`+` is 0x2B, `,` is 0x2C). The record below was built by hand from the spec's
formulas with hashlib alone (not with either implementation), so it tests both of them.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from inspect_engine import verify
from inspect_engine.sampling import protocol

FRAME_HASH_A = "dfb615b34749882003ca4df582098b5810493afacf884020bc9f4b2589416a6e"
FRAME_HASH_A_PLUS = "f003c417c84bea8087bd0f2fb13f391cac173dc06e5ffb790b1a55e7bcb9dd1a"
GROUP_HASH = "247fe6ce8d88a483052a5ad36a67e4662bc2c8d718c59aa371a8a1d8d7c2c84a"
# What sorting whole lines would give instead:
WHOLE_LINE_GROUP_HASH = "c08635955f307a5e181c1af40422022b9cde38f207c6a2a6a970445c353d7fd9"

RECORD_A: dict[str, Any] = {
    "protocol": "ie-draw-v1",
    "task_code": "A",
    "title": "group order",
    "frame_hash": FRAME_HASH_A,
    "group": [
        {"task_code": "A", "frame_hash": FRAME_HASH_A},
        {"task_code": "A+", "frame_hash": FRAME_HASH_A_PLUS},
    ],
    "group_hash": GROUP_HASH,
    "commitment": "5559c770c343618466237478d0d0d3e50fd4756e69134a2d21265e571b875e74",
    "committed_at": "2026-11-20T02:00:00Z",
    "nonce": "30807bcf7c90fcf503e56b936727b00dd98c9d23973fb94c59a97135ecd56f09",
    "contribution": "3 1 4 1 5 9 2 6 5 3",
    "seed": "d1ecd7621986abb51d5dc3918d0c99a5075bbfc5c5712aeda2d7f1eb8fb487b1",
    "drawn_at": "2026-11-21T03:30:00Z",
    "n": 2,
    "selected": ["9144010611921476XH", "9144010641252226XW"],
    "frame": [
        {"credit_code": "92440106253728729C", "lambda": "0.5"},
        {"credit_code": "9144010611921476XH", "lambda": "0.5"},
        {"credit_code": "9144010641252226XW", "lambda": "1"},
    ],
}
GROUP = [("A", FRAME_HASH_A), ("A+", FRAME_HASH_A_PLUS)]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_vector_follows_the_spec_text() -> None:
    spec_order = f"A,{FRAME_HASH_A}\nA+,{FRAME_HASH_A_PLUS}\n"
    assert sha256(spec_order) == GROUP_HASH
    whole_lines = "".join(sorted(f"{task},{fh}\n" for task, fh in GROUP))
    assert whole_lines.startswith("A+,")  # the order the spec rules out
    assert sha256(whole_lines) == WHOLE_LINE_GROUP_HASH != GROUP_HASH


def test_verifier_accepts_the_vector() -> None:
    for order in (GROUP, GROUP[::-1]):  # the order of "group" in the record does not matter
        record = copy.deepcopy(RECORD_A)
        record["group"] = [{"task_code": t, "frame_hash": fh} for t, fh in order]
        results = verify.verify_record(record)
        assert all(r.ok for r in results), results


def test_verifier_refuses_the_whole_line_order() -> None:
    record = copy.deepcopy(RECORD_A)
    record["group_hash"] = WHOLE_LINE_GROUP_HASH
    failure = verify.first_failure(verify.verify_record(record))
    assert failure is not None and failure.name == "group_hash"


def test_kernel_agrees() -> None:
    assert protocol.group_hash(GROUP[::-1]) == GROUP_HASH
    plan = protocol.commit_plan(GROUP[::-1], RECORD_A["committed_at"], RECORD_A["nonce"])
    assert plan.group == tuple(GROUP) and plan.group_hash == GROUP_HASH
    codes = [unit["credit_code"] for unit in RECORD_A["frame"]]
    texts = [unit["lambda"] for unit in RECORD_A["frame"]]
    drawn = protocol.draw_frame(codes, texts, RECORD_A["seed"])
    assert drawn.frame_hash == FRAME_HASH_A and list(drawn.selected) == RECORD_A["selected"]

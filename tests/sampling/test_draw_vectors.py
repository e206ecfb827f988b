"""The kernel reproduces every published ie-draw-v1 test vector, step by step and as a record."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from inspect_engine.sampling import protocol


def frame_of(vector: dict[str, Any]) -> tuple[list[str], list[str]]:
    return (
        [line["credit_code"] for line in vector["frame"]],
        [line["lambda"] for line in vector["frame"]],
    )


def test_there_are_five_vectors_with_one_coordinated_plan(vectors: list[dict[str, Any]]) -> None:
    assert len(vectors) == 5
    food, info = (v for v in vectors if v["task_code"] in ("2026-12-FOOD", "2026-12-INFO"))
    assert food["seed"] == info["seed"] and food["group_hash"] == info["group_hash"]


def test_frame_hash(vectors: list[dict[str, Any]]) -> None:
    for vector in vectors:
        assert protocol.frame_hash(*frame_of(vector)) == vector["frame_hash"], vector["task_code"]


def test_frame_hash_ignores_frame_order(vectors: list[dict[str, Any]]) -> None:
    codes, texts = frame_of(vectors[0])
    assert protocol.frame_hash(codes[::-1], texts[::-1]) == vectors[0]["frame_hash"]


def test_group_hash(vectors: list[dict[str, Any]]) -> None:
    for vector in vectors:
        pairs = [(entry["task_code"], entry["frame_hash"]) for entry in vector["group"]]
        assert protocol.group_hash(reversed(pairs)) == vector["group_hash"], vector["task_code"]


def test_commitment_hashes_the_hex_text(vectors: list[dict[str, Any]]) -> None:
    for vector in vectors:
        assert protocol.commitment(vector["nonce"]) == vector["commitment"]
        raw = hashlib.sha256(bytes.fromhex(vector["nonce"])).hexdigest()
        assert raw != vector["commitment"]  # the spec hashes the text, not the bytes


def test_seed(vectors: list[dict[str, Any]]) -> None:
    for vector in vectors:
        seed = protocol.derive_seed(vector["nonce"], vector["contribution"], vector["group_hash"])
        assert seed == vector["seed"], vector["task_code"]


def test_n_and_selection(vectors: list[dict[str, Any]]) -> None:
    for vector in vectors:
        codes, texts = frame_of(vector)
        draw = protocol.draw_frame(codes, texts, vector["seed"])
        assert draw.n == vector["n"], vector["task_code"]
        assert list(draw.selected) == vector["selected"], vector["task_code"]
        assert draw.mask.sum() == vector["n"]


def test_half_way_sum_rounds_to_even(vectors: list[dict[str, Any]]) -> None:
    tie = next(v for v in vectors if v["task_code"] == "V-TIE")
    lambdas = protocol.parse_lambdas(frame_of(tie)[1])
    assert lambdas.sum() == 2.5
    assert protocol.sample_size(lambdas) == 2 == tie["n"]


def test_prn_matches_the_spec_formula(vectors: list[dict[str, Any]]) -> None:
    vector = vectors[0]
    codes, _ = frame_of(vector)
    u = protocol.prn(vector["seed"], codes)
    for code, value in zip(codes, u, strict=True):
        digest = hashlib.sha256(f"{vector['seed']}|{code}".encode()).digest()
        x = int.from_bytes(digest[:8], "big")
        assert value == ((x >> 12) + 0.5) / 2**52
    assert ((u > 0) & (u < 1)).all()


def test_record_builder_rebuilds_each_vector(vectors: list[dict[str, Any]]) -> None:
    """The builder the workflow uses gives the vectors back, field order included."""
    for vector in vectors:
        codes, texts = frame_of(vector)
        plan = protocol.commit_plan(
            [(g["task_code"], g["frame_hash"]) for g in vector["group"]],
            vector["committed_at"],
            vector["nonce"],
        )
        reveal = protocol.reveal_plan(
            plan, vector["nonce"], vector["contribution"], vector["drawn_at"]
        )
        draw = protocol.draw_frame(codes, texts, reveal.seed)
        record = protocol.draw_record(
            vector["task_code"], vector["title"], draw, plan, reveal, include_frame=True
        )
        assert record == vector
        assert list(record) == list(vector)
        public = protocol.draw_record(vector["task_code"], vector["title"], draw, plan, reveal)
        assert "frame" not in public and list(public) == list(vector)[:-1]


def test_record_class_summary(vectors: list[dict[str, Any]]) -> None:
    vector = next(v for v in vectors if v["task_code"] == "2026-12-INFO")
    codes, texts = frame_of(vector)
    # In this vector λ encodes the class: 0.01 A, 0.03 B, 0.1 C, 0.3 D.
    label = {"0.01": "A", "0.03": "B", "0.1": "C", "0.3": "D"}
    classes = [label[text] for text in texts]
    plan = protocol.commit_plan(
        [(g["task_code"], g["frame_hash"]) for g in vector["group"]],
        vector["committed_at"],
        vector["nonce"],
    )
    reveal = protocol.reveal_plan(plan, vector["nonce"], vector["contribution"], vector["drawn_at"])
    draw = protocol.draw_frame(codes, texts, reveal.seed)
    args = (vector["task_code"], vector["title"], draw, plan, reveal)
    public = protocol.draw_record(*args, risk_classes=classes)
    auditors = protocol.draw_record(*args, risk_classes=classes, include_frame=True)
    summary = auditors["classes"]
    assert [row["risk_class"] for row in summary] == ["A", "B", "C", "D"]
    selected = set(vector["selected"])
    for row in summary:
        members = [c for c, k in zip(codes, classes, strict=True) if k == row["risk_class"]]
        assert row["units"] == len(members)
        assert row["selected"] == len(selected.intersection(members))
        text = next(t for t, k in label.items() if k == row["risk_class"])
        assert row["lambda_min"] == row["lambda_max"] == text
    assert sum(row["selected"] for row in summary) == vector["n"]
    # The public record: the same classes without the count selected (DRAW-SPEC, classes).
    assert public["classes"] == [
        {k: v for k, v in row.items() if k != "selected"} for row in summary
    ]
    assert list(public)[-1] == "classes" and list(auditors)[-2:] == ["classes", "frame"]


def test_record_builder_refuses_parts_that_do_not_belong(vectors: list[dict[str, Any]]) -> None:
    mixed, tie = vectors[0], vectors[1]
    plan = protocol.commit_plan(
        [(mixed["task_code"], mixed["frame_hash"])], mixed["committed_at"], mixed["nonce"]
    )
    reveal = protocol.reveal_plan(plan, mixed["nonce"], mixed["contribution"], mixed["drawn_at"])
    other = protocol.draw_frame(*frame_of(tie), reveal.seed)
    with pytest.raises(ValueError, match="not in the plan"):
        protocol.draw_record(mixed["task_code"], "x", other, plan, reveal)
    with pytest.raises(ValueError, match="does not match"):
        protocol.reveal_plan(plan, tie["nonce"], mixed["contribution"], mixed["drawn_at"])


def test_a_new_nonce_is_fresh_hex() -> None:
    first, second = protocol.new_nonce(), protocol.new_nonce()
    assert first != second
    assert len(first) == 64 and int(first, 16) >= 0 and first == first.lower()
    assert len(protocol.commitment(first)) == 64


@pytest.mark.parametrize(
    ("nonce", "contribution"),
    [("AB" * 32, "dice"), ("ab" * 31, "dice"), ("ab" * 32, "")],
)
def test_seed_inputs_are_checked(nonce: str, contribution: str) -> None:
    with pytest.raises(ValueError):
        protocol.derive_seed(nonce, contribution, "cd" * 32)


def test_timestamps_are_utc_with_z() -> None:
    from datetime import datetime, timedelta, timezone

    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 20, 10, 0, 0, tzinfo=shanghai)
    assert protocol.utc_timestamp(moment) == "2026-11-20T02:00:00Z"
    with pytest.raises(ValueError):
        protocol.utc_timestamp(datetime(2026, 11, 20, 10, 0, 0))
    with pytest.raises(ValueError):
        protocol.utc_timestamp("2026-11-20 02:00:00")


def test_draw_arrays_are_aligned_with_the_frame(vectors: list[dict[str, Any]]) -> None:
    vector = vectors[0]
    codes, texts = frame_of(vector)
    draw = protocol.draw_frame(codes, texts, vector["seed"])
    certain = draw.lambdas >= 1
    assert np.isnan(draw.q[certain]).all() and draw.mask[certain].all()
    chosen = {codes[i] for i in np.flatnonzero(draw.mask)}
    assert chosen == set(vector["selected"])

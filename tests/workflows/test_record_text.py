"""The auditors' record file: the fast writer gives the same JSON as the plain encoder."""

from __future__ import annotations

import json

import pytest

from inspect_engine.workflows.month_export import record_text

RECORD = {
    "version": "ie-draw-v1",
    "task_code": "2026-12-FOOD",
    "selected": ["91440101MA5C000001", "91440101MA5C000002"],
    "lambda_policy": {"floor": "0.01", "note": '引号 " 与反斜杠 \\ 与换行\n'},
}
FRAME = [
    {"credit_code": "91440101MA5C000001", "lambda": "0.5"},
    {"credit_code": '91440101MA5C00000"2', "lambda": "1"},  # escaping is the encoder's
]


@pytest.mark.parametrize("frame", [FRAME, [], None])
def test_the_record_text_parses_to_the_record(frame: list[dict[str, str]] | None) -> None:
    record = dict(RECORD) if frame is None else {**RECORD, "frame": frame}
    text = record_text(record)
    assert json.loads(text) == record
    assert text.endswith("}\n")
    if frame:  # one frame unit per line, so a diff of two records shows units
        assert text.count('"credit_code"') == len(frame)
        assert all('"credit_code"' in line for line in text.splitlines() if '"lambda"' in line)


def test_a_frame_unit_with_other_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="keys"):
        record_text({**RECORD, "frame": [{"credit_code": "X", "lambda": "1", "class": "D"}]})

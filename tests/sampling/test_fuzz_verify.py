"""Fuzzing the standalone verifier: random mutations of valid auditor records, as JSON
values and as bytes, never make it raise; it answers 0, 1, 2 or 3 with a message, and 0
exactly when nothing it checks was changed."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_engine import verify

Record = dict[str, Any]
CHECKED = (
    "protocol",
    "task_code",
    "frame_hash",
    "group_hash",
    "commitment",
    "nonce",
    "contribution",
    "seed",
    "n",
    "selected",
)
MISSING = "<missing>"
VERDICTS = ("OK:", "FAILED:", "PARTIAL:", "ERROR:")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["credit_code", "lambda", "task_code", "frame_hash", "x"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-verify-") as made:
        yield Path(made)


def _multiset(value: object, first: str, second: str) -> object:
    """A list of {first, second} objects compared as a multiset, as the hashes sort them."""
    if isinstance(value, list) and all(isinstance(entry, dict) for entry in value):
        return sorted(json.dumps([e.get(first, MISSING), e.get(second, MISSING)]) for e in value)
    return value


def checked_part(record: object) -> str:
    """What the checks read; equal texts must get equal verdicts."""
    if not isinstance(record, dict):
        return json.dumps(["not an object", record])
    part = {name: record.get(name, MISSING) for name in CHECKED}
    part["group"] = _multiset(record.get("group", MISSING), "task_code", "frame_hash")
    part["frame"] = _multiset(record.get("frame", MISSING), "credit_code", "lambda")
    return json.dumps(part, sort_keys=True)


def run_verifier(path: Path) -> tuple[int, str]:
    """main() as on a console without Chinese: stdout strict ASCII, stderr as Python's."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    err = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="backslashreplace")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = verify.main([str(path)])
    text = ""
    for stream in (out, err):
        stream.flush()
        text += stream.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    return status, text


def assert_answered(status: int, text: str) -> None:
    """An exit status, a verdict on the last line, and nothing a terminal would act on: a
    record that holds a carriage return or an escape cannot rewrite the verdict."""
    assert status in (0, 1, 2, 3), status
    assert all(ch == "\n" or ch.isprintable() for ch in text), repr(text[-500:])
    last = text.strip().split("\n")[-1]
    assert last.startswith(VERDICTS), text[-500:]


# --------------------------------------------------------------------------- mutations


@st.composite
def mutated(draw: st.DrawFn, vectors: list[Record]) -> Record:
    """A vector with one value somewhere in it deleted, replaced, retyped or edited."""
    record = copy.deepcopy(draw(st.sampled_from(vectors)))
    holder: Any = {"root": record}
    key: Any = "root"
    while isinstance(holder[key], (dict, list)) and holder[key] and draw(st.booleans()):
        holder = holder[key]
        keys = list(holder) if isinstance(holder, dict) else list(range(len(holder)))
        key = draw(st.sampled_from(keys))
    action = draw(st.sampled_from(["delete", "replace", "edit", "duplicate"]))
    value = holder[key]
    if action == "delete" and key != "root":
        del holder[key]
    elif action == "duplicate" and isinstance(holder, list):
        holder.insert(key, copy.deepcopy(value))
    elif action == "edit" and isinstance(value, str):
        at = draw(st.integers(0, len(value)))
        holder[key] = value[:at] + draw(st.text(max_size=3)) + value[at + draw(st.integers(0, 2)) :]
    elif action == "edit" and isinstance(value, int) and not isinstance(value, bool):
        holder[key] = value + draw(st.sampled_from([-1, 1, 10**20, -(10**20)]))
    else:
        holder[key] = draw(JSON_VALUES)
    return holder["root"] if key == "root" else record  # type: ignore[no-any-return]


@FUZZ
@given(data=st.data())
def test_mutated_records_get_an_answer(
    vectors: list[Record], folder: Path, data: st.DataObject
) -> None:
    record = data.draw(mutated(vectors))
    path = folder / "record.json"
    path.write_text(json.dumps(record, ensure_ascii=True), encoding="utf-8")
    status, text = run_verifier(path)
    assert_answered(status, text)
    unchanged = any(checked_part(record) == checked_part(v) for v in vectors)
    assert (status == verify.EXIT_OK) == unchanged, (status, text[-500:])


@FUZZ
@given(data=st.data())
def test_mutated_bytes_get_an_answer(
    vectors: list[Record], folder: Path, data: st.DataObject
) -> None:
    original = data.draw(st.sampled_from(vectors[:2]))  # the small ones: bytes mutate anywhere
    content = bytearray(json.dumps(original, ensure_ascii=False).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(content)))
        edit = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = data.draw(st.integers(0, 255))
        if edit == "insert":
            content.insert(at, byte)
        elif at < len(content):
            if edit == "delete":
                del content[at]
            else:
                content[at] = byte
    path = folder / "record.json"
    path.write_bytes(bytes(content))
    status, text = run_verifier(path)
    assert_answered(status, text)
    try:
        parsed = json.loads(bytes(content).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        assert status == verify.EXIT_MALFORMED, text[-500:]
        return
    assert (status == verify.EXIT_OK) == (checked_part(parsed) == checked_part(original))


@FUZZ
@given(data=st.data())
def test_check_function_raises_only_malformed_record(
    vectors: list[Record], data: st.DataObject
) -> None:
    record = data.draw(mutated(vectors))
    try:
        results = verify.verify_record(record)
    except verify.MalformedRecord as exc:
        assert str(exc)
        return
    assert [r.name for r in results] == list(verify.CHECKS)
    assert all(r.detail for r in results)
    assert verify.exit_status(results) in (0, 1, 3)

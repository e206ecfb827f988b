#!/usr/bin/env python3
"""Check an ie-draw-v1 draw record: was this inspection sample drawn as the rules say?

Usage:   python verify.py RECORD.json [--expect-commitment HEX] [--expect-contribution TEXT]
         python -m inspect_engine.verify RECORD.json
         python -m inspect_engine.verify --teams ...   (the inspector teams: project installed)

This file stands alone: it needs Python 3.8 or newer and nothing else (no packages, no other
file of the project), so anyone can download it, read it, and run it. It recomputes the draw
from the record with SHA-256 and ordinary floating-point arithmetic and runs these checks in
order, naming the first that fails:

  protocol    the record says "ie-draw-v1"
  lambda      every frame line has one credit code (18 characters, none twice) and λ in
              canonical form ("0.1", "0.025", "1"; never "0.10", ".1", "1e-1", "+0.1")
  frame_hash  SHA-256 of the sorted frame lines equals the published frame hash
  group_hash  the published group hash covers every task of the plan, this one included
              (lines "<task_code>,<frame_hash>" sorted by task code)
  commitment  SHA-256 of the revealed nonce equals the commitment published before the draw
  seed        seed = SHA-256(nonce | public contribution | group hash)
  n           the sample size is round(sum of λ)
  selection   the selected enterprises are exactly those Pareto πps picks with this seed

Given what was announced, two more checks compare the record with it: announced_commitment
(after commitment: the commitment published before the draw, --expect-commitment) and
announced_contribution (after seed: the result of the public act, --expect-contribution,
compared exactly as typed). Without them, compare those two values yourself.

Exit status: 0 all checks passed; 1 a check failed; 2 the file cannot be read or is not a
draw record; 3 the record has no frame (the public record), so only the checks that do not
need it were run — ask for the auditors' export to check the selection itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable

PROTOCOL = "ie-draw-v1"
CHECKS = (
    "protocol",
    "lambda",
    "frame_hash",
    "group_hash",
    "commitment",
    "seed",
    "n",
    "selection",
)
NEEDS_FRAME = ("lambda", "frame_hash", "n", "selection")
ANNOUNCED_COMMITMENT, ANNOUNCED_CONTRIBUTION = "announced_commitment", "announced_contribution"

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
EXIT_OK, EXIT_FAILED, EXIT_MALFORMED, EXIT_PARTIAL = 0, 1, 2, 3

_HEX = "0123456789abcdef"
_DIGITS = "0123456789"
_TWO_POW_52 = 4503599627370496.0  # 2**52


class MalformedRecord(ValueError):
    """The input is not a draw record at all (missing field, wrong type): nothing to check."""


class CheckResult:
    """The outcome of one check: its name, "ok" / "failed" / "skipped", and a sentence."""

    __slots__ = ("detail", "name", "status")

    def __init__(self, name: str, status: str, detail: str) -> None:
        self.name = name
        self.status = status
        self.detail = detail

    @property
    def ok(self) -> bool:
        return self.status == OK

    def __repr__(self) -> str:
        return f"CheckResult({self.name!r}, {self.status!r}, {self.detail!r})"


class _Failed(Exception):
    """Raised inside a check with the sentence that explains the failure."""


# --------------------------------------------------------------------------- reading


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_hex64(value: str) -> bool:
    return len(value) == 64 and all(ch in _HEX for ch in value)


def _field(record: dict[str, object], name: str, kind: type) -> object:
    value = record.get(name)
    # bool is an int in Python, but true/false is not a sample size
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedRecord(f'field "{name}" is missing or not a {kind.__name__}')
    return value


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedRecord(f"{what} must be a list of strings")
    return value


def _pairs(value: object, what: str, first: str, second: str) -> tuple[list[str], list[str]]:
    """Two string columns from a list of objects, e.g. the frame's credit codes and λ."""
    if not isinstance(value, list):
        raise MalformedRecord(f'"{what}" must be a list')
    try:
        left = [entry[first] for entry in value]
        right = [entry[second] for entry in value]
    except (KeyError, TypeError, IndexError):
        raise MalformedRecord(f'every entry of "{what}" needs "{first}" and "{second}"') from None
    if not all(isinstance(item, str) for item in left + right):
        raise MalformedRecord(f'"{first}" and "{second}" in "{what}" must be strings')
    return left, right


class _Record:
    """The fields the checks read, type-checked once."""

    def __init__(self, record: dict[str, object]) -> None:
        self.task_code = str(_field(record, "task_code", str))
        self.frame_hash = str(_field(record, "frame_hash", str))
        self.group = _pairs(record.get("group"), "group", "task_code", "frame_hash")
        self.group_hash = str(_field(record, "group_hash", str))
        self.commitment = str(_field(record, "commitment", str))
        self.nonce = str(_field(record, "nonce", str))
        self.contribution = str(_field(record, "contribution", str))
        self.seed = str(_field(record, "seed", str))
        n = _field(record, "n", int)
        assert isinstance(n, int)
        self.n = n
        self.selected = _strings(record.get("selected"), '"selected"')
        self.has_frame = "frame" in record
        self.codes: list[str] = []
        self.lambda_texts: list[str] = []
        if self.has_frame:
            self.codes, self.lambda_texts = _pairs(
                record["frame"], "frame", "credit_code", "lambda"
            )
        self.lambdas: list[float] = []  # filled by the lambda check


# --------------------------------------------------------------------------- the checks


def _lambda_problem(text: str) -> str | None:
    """Why a λ text is not canonical, or None. Canonical: 0, 1, or 0.d…d (≤ 9, last not 0)."""
    if text in ("0", "1"):
        return None
    digits = text[2:]
    if (
        text.startswith("0.")
        and 1 <= len(digits) <= 9
        and all(ch in _DIGITS for ch in digits)
        and digits[-1] != "0"
    ):
        return None
    if not text:
        return "is empty"
    if text[0] in "+-":
        return "has a sign"
    if "e" in text or "E" in text:
        return "has an exponent"
    if text[0] == ".":
        return "needs a 0 before the point"
    if any(ch not in _DIGITS + "." for ch in text) or text.count(".") > 1 or text[-1] == ".":
        return "is not a plain decimal number"
    whole, _, fraction = text.partition(".")
    if len(whole) > 1 and whole[0] == "0":
        return "has leading zeros"
    if whole != "0" and (whole != "1" or fraction.strip("0")):
        return "is greater than 1"
    if fraction.endswith("0"):
        return "has trailing zeros"
    return "has more than 9 digits after the point"


def _check_protocol(record: dict[str, object]) -> str:
    protocol = record.get("protocol")
    if protocol != PROTOCOL:
        raise _Failed(f"protocol is {protocol!r}, this verifier checks {PROTOCOL!r}")
    return PROTOCOL


def _check_lambda(rec: _Record) -> str:
    codes, texts = rec.codes, rec.lambda_texts
    for line, code in enumerate(codes, start=1):
        if len(code) != 18 or not (code.isascii() and code.isprintable()) or "," in code:
            raise _Failed(f"frame line {line}: {code!r} is not an 18-character credit code")
        if " " in code:
            raise _Failed(f"frame line {line}: {code!r} contains a space")
    if len(set(codes)) != len(codes):
        seen: set[str] = set()
        for line, code in enumerate(codes, start=1):
            if code in seen:
                raise _Failed(f"frame line {line}: {code} appears twice in the frame")
            seen.add(code)
    values: dict[str, float] = {}
    bad: dict[str, str] = {}
    for text in set(texts):
        reason = _lambda_problem(text)
        if reason is None:
            values[text] = float(text)  # correctly rounded decimal-to-binary64
        else:
            bad[text] = reason
    if bad:
        line = min(texts.index(text) for text in bad)
        raise _Failed(
            f"frame line {line + 1} ({codes[line]}): λ {texts[line]!r} {bad[texts[line]]}"
        )
    rec.lambdas = [values[text] for text in texts]
    return f"{len(codes)} frame lines, {len(values)} distinct λ, all canonical"


def _check_frame_hash(rec: _Record) -> str:
    # The lambda check guarantees unique codes of equal length, so sorting whole lines sorts
    # by credit code; str order is code point order, the same as UTF-8 byte order.
    lines = [code + "," + text + "\n" for code, text in zip(rec.codes, rec.lambda_texts)]  # noqa: B905
    lines.sort()
    digest = hashlib.sha256()
    for start in range(0, len(lines), 65536):
        digest.update("".join(lines[start : start + 65536]).encode("utf-8"))
    computed = digest.hexdigest()
    if computed != rec.frame_hash:
        raise _Failed(f"the frame hashes to {computed}, the record says {rec.frame_hash}")
    return computed


def _check_group_hash(rec: _Record) -> str:
    tasks, hashes = rec.group
    if len(set(tasks)) != len(tasks):
        raise _Failed("a task appears twice in the group")
    if (rec.task_code, rec.frame_hash) not in zip(tasks, hashes):  # noqa: B905
        raise _Failed(f"the group does not list task {rec.task_code} with its frame hash")
    # Sorted by task code, not by whole line: "A" before "A+" although "," sorts after "+".
    # Task codes are unique, so sorting the pairs never compares the hashes.
    pairs = sorted(zip(tasks, hashes))  # noqa: B905
    computed = _sha256("".join(task + "," + fh + "\n" for task, fh in pairs))
    if computed != rec.group_hash:
        raise _Failed(f"the group hashes to {computed}, the record says {rec.group_hash}")
    return f"{len(tasks)} task(s) drawn with one seed"


def _check_commitment(rec: _Record) -> str:
    if not _is_hex64(rec.nonce):
        raise _Failed("the nonce is not 64 lower-case hex characters")
    computed = _sha256(rec.nonce)
    if computed != rec.commitment:
        raise _Failed(f"SHA-256 of the nonce is {computed}, the commitment is {rec.commitment}")
    return "the nonce is the one committed to"


def _check_seed(rec: _Record) -> str:
    computed = _sha256(rec.nonce + "|" + rec.contribution + "|" + rec.group_hash)
    if computed != rec.seed:
        raise _Failed(f"nonce | contribution | group hash gives {computed}, not {rec.seed}")
    return f"contribution {rec.contribution!r}"


def _check_announced_commitment(rec: _Record, announced: str) -> str:
    if rec.commitment != announced:
        raise _Failed(
            f"the record's commitment is {rec.commitment}, but the commitment announced "
            f"before the draw is {announced}: this is not the draw that was announced"
        )
    return "the record's commitment is the one announced before the draw"


def _check_announced_contribution(rec: _Record, announced: str) -> str:
    if rec.contribution != announced:
        raise _Failed(
            f"the record's contribution is {rec.contribution!r}, but the public act gave "
            f"{announced!r} (compared exactly, spaces included)"
        )
    return "the record's contribution is the result of the public act"


def _sample_size(lambdas: list[float]) -> int:
    return round(math.fsum(min(1.0, max(0.0, lam)) for lam in lambdas))


def _check_n(rec: _Record) -> str:
    computed = _sample_size(rec.lambdas)
    if computed != rec.n:
        raise _Failed(f"round(sum of λ) is {computed}, the record says n = {rec.n}")
    return f"n = {computed}"


def _draw(seed: str, codes: list[str], lambdas: list[float]) -> list[str]:
    """Pareto πps with permanent random numbers, written as plainly as the spec."""
    certain: list[str] = []
    ranked: list[tuple[float, str]] = []
    prefix = (seed + "|").encode("ascii")
    for code, lam in zip(codes, lambdas):  # noqa: B905
        if lam >= 1.0:
            certain.append(code)
        elif lam > 0.0:
            x = int.from_bytes(hashlib.sha256(prefix + code.encode("utf-8")).digest()[:8], "big")
            u = ((x >> 12) + 0.5) / _TWO_POW_52
            ranked.append(((u * (1.0 - lam)) / (lam * (1.0 - u)), code))
    wanted = _sample_size(lambdas) - len(certain)
    if wanted < 0 or wanted > len(ranked):
        raise _Failed("the frame is invalid: n is outside what its λ allow")
    if wanted == 0:
        return sorted(certain)
    # Only the units whose Q is at most the wanted-th smallest can be chosen; sort just those.
    cutoff = sorted(q for q, _ in ranked)[wanted - 1]
    chosen = sorted(pair for pair in ranked if pair[0] <= cutoff)[:wanted]
    return sorted(certain + [code for _, code in chosen])


def _check_selection(rec: _Record) -> str:
    computed = _draw(rec.seed, rec.codes, rec.lambdas)
    if computed != rec.selected:
        extra = sorted(set(rec.selected) - set(computed))
        missing = sorted(set(computed) - set(rec.selected))
        if not extra and not missing:
            raise _Failed("the record lists the right units, but not once each in sorted order")
        raise _Failed(
            f"{len(extra)} listed unit(s) were not drawn ({', '.join(extra[:3])}); "
            f"{len(missing)} drawn unit(s) are missing ({', '.join(missing[:3])})"
        )
    return f"{len(computed)} of {len(rec.codes)} units selected, as recorded"


def _steps(
    expect_commitment: str | None, expect_contribution: str | None
) -> list[tuple[str, Callable[[_Record], str]]]:
    """The checks after "protocol", in order; an announced value is compared right after
    the check of the same field, so the first failure named is still the earliest."""
    steps: list[tuple[str, Callable[[_Record], str]]] = [
        ("lambda", _check_lambda),
        ("frame_hash", _check_frame_hash),
        ("group_hash", _check_group_hash),
        ("commitment", _check_commitment),
    ]
    if expect_commitment is not None:
        announced = expect_commitment
        steps.append(
            (ANNOUNCED_COMMITMENT, lambda rec: _check_announced_commitment(rec, announced))
        )
    steps.append(("seed", _check_seed))
    if expect_contribution is not None:
        contribution = expect_contribution
        steps.append(
            (ANNOUNCED_CONTRIBUTION, lambda rec: _check_announced_contribution(rec, contribution))
        )
    return [*steps, ("n", _check_n), ("selection", _check_selection)]


def verify_record(
    record: object,
    expect_commitment: str | None = None,
    expect_contribution: str | None = None,
) -> list[CheckResult]:
    """Run every check in order; after the first failure the rest are skipped.

    `expect_commitment` (lower-case hex) and `expect_contribution`, when given, are the values
    announced outside the record; each adds a check that the record holds exactly that value.
    Raises MalformedRecord if `record` is not a draw record (not an object, a field missing or
    of the wrong type). A record without "frame" gets the frame checks skipped, not failed.
    """
    if not isinstance(record, dict):
        raise MalformedRecord("the file does not hold a JSON object")
    steps = _steps(expect_commitment, expect_contribution)
    results: list[CheckResult] = []
    try:
        results.append(CheckResult("protocol", OK, _check_protocol(record)))
    except _Failed as failure:
        results.append(CheckResult("protocol", FAILED, str(failure)))
        return results + [CheckResult(name, SKIPPED, "not run") for name, _ in steps]
    rec = _Record(record)
    failed = False
    for name, step in steps:
        if failed:
            results.append(CheckResult(name, SKIPPED, "not run: an earlier check failed"))
        elif name in NEEDS_FRAME and not rec.has_frame:
            results.append(CheckResult(name, SKIPPED, "not run: the record has no frame"))
        else:
            try:
                results.append(CheckResult(name, OK, step(rec)))
            except _Failed as failure:
                results.append(CheckResult(name, FAILED, str(failure)))
                failed = True
            except UnicodeEncodeError:  # a lone surrogate escaped in the JSON text
                results.append(CheckResult(name, FAILED, "a field holds invalid Unicode"))
                failed = True
    return results


def first_failure(results: list[CheckResult]) -> CheckResult | None:
    """The first failed check, or None."""
    return next((result for result in results if result.status == FAILED), None)


def exit_status(results: list[CheckResult]) -> int:
    if first_failure(results) is not None:
        return EXIT_FAILED
    if any(result.status == SKIPPED for result in results):
        return EXIT_PARTIAL
    return EXIT_OK


# --------------------------------------------------------------------------- command line


def _printable(text: str) -> str:
    """The text with control and other invisible characters escaped (\\r, \\x1b, ...): a
    record must not move the cursor or rewrite the verdict on the auditor's terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _say(text: str, to_stderr: bool = False) -> None:
    print(_printable(text), file=sys.stderr if to_stderr else sys.stdout)


def _load(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise MalformedRecord(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MalformedRecord(f"{path} is not UTF-8 text") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise MalformedRecord(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedRecord(f"{path} is nested too deeply to be a draw record") from None


def _report(path: str, record: dict[str, object], results: list[CheckResult]) -> int:
    width = max(len(result.name) for result in results)
    for result in results:
        _say(f"  {result.status:<7} {result.name:<{width}} {result.detail}")
    status = exit_status(results)
    failure = first_failure(results)
    names = {result.name for result in results}
    unchecked = [
        flag
        for flag, name in (
            ("--expect-commitment", ANNOUNCED_COMMITMENT),
            ("--expect-contribution", ANNOUNCED_CONTRIBUTION),
        )
        if name not in names
    ]
    if failure is None and unchecked:
        _say(f"  note: not compared with what was announced; give {' and '.join(unchecked)}")
    task = record.get("task_code")
    frame = record.get("frame")
    size = len(frame) if isinstance(frame, list) else 0
    if failure is not None:
        _say(f"FAILED: check '{failure.name}' failed for {path}: {failure.detail}")
    elif status == EXIT_PARTIAL:
        _say(
            f"PARTIAL: task {task}: commitment and seed check out, but this record has no "
            "frame, so the selection could not be recomputed (ask for the auditors' export)"
        )
    else:
        _say(
            f"OK: task {task}: {record.get('n')} of {size} units "
            f"selected exactly as ie-draw-v1 prescribes; all {len(results)} checks passed"
        )
    return status


def _verify_teams(argv: list[str]) -> int:
    """Hand over to the project's teams verifier. It needs numpy and OR-Tools, so it is
    imported only here: the draw check above stays standard library only, and this file
    still works when downloaded alone."""
    try:
        from inspect_engine import teams_verify  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        _say(
            "ERROR: --teams needs the project's teams verifier (inspect_engine/teams_verify.py), "
            f"which cannot be loaded here: {exc}. Alone, verify.py checks draw records only.",
            to_stderr=True,
        )
        return EXIT_MALFORMED
    return int(teams_verify.main(argv))


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="verify.py",
        description="Recompute an ie-draw-v1 inspection draw from its published record.",
        epilog="Exit status: 0 verified, 1 a check failed, 2 unreadable file or bad option, "
        "3 no frame. With --teams, the inspector teams are verified instead (project only).",
    )
    parser.add_argument("record", help="the draw record, a JSON file")
    parser.add_argument(
        "--expect-commitment",
        metavar="HEX",
        help="the commitment published before the draw; the record must hold the same",
    )
    parser.add_argument(
        "--expect-contribution",
        metavar="TEXT",
        help="the result of the public act (dice, lottery), exactly as announced "
        "(write --expect-contribution=TEXT if it begins with -)",
    )
    args = parser.parse_args(argv)
    if args.expect_commitment is not None:
        # Hex is case-blind and a pasted value may carry spaces; the value itself may not vary.
        args.expect_commitment = args.expect_commitment.strip().lower()
        if not _is_hex64(args.expect_commitment):
            parser.error("--expect-commitment must be 64 hexadecimal characters")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--teams" in argv:
        return _verify_teams(argv)
    args = _parse(argv)
    if hasattr(sys.stdout, "reconfigure"):  # never crash on a console that lacks Chinese
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        record = _load(args.record)
        results = verify_record(record, args.expect_commitment, args.expect_contribution)
    except MalformedRecord as exc:
        _say(f"ERROR: not a readable draw record: {exc}", to_stderr=True)
        return EXIT_MALFORMED
    except MemoryError:
        _say("ERROR: not enough memory to read this record", to_stderr=True)
        return EXIT_MALFORMED
    assert isinstance(record, dict)
    return _report(args.record, record, results)


if __name__ == "__main__":
    sys.exit(main())

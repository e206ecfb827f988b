"""ie-draw-v1: the verifiable random draw (DRAW-SPEC.md), as a pure kernel.

The protocol in one breath: each task's frame (credit code, λ) is hashed; the frame hashes of a
plan's tasks are hashed into a group hash; the system commits to a secret nonce by publishing
its SHA-256; after that a public contribution is entered, and
``seed = SHA256(nonce | contribution | group_hash)``. Every enterprise gets a permanent random
number (PRN) ``u`` from the seed and its credit code, and Pareto πps order sampling picks the
``n = round(Σλ)`` units with the smallest ``Q = u(1-λ) / (λ(1-u))``.

Everything here must agree bit for bit with the standalone verifier (``inspect_engine/verify.py``)
and the test vectors; the two are written separately on purpose so that each checks the other.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

PROTOCOL = "ie-draw-v1"
CODE_LENGTH = 18
LAMBDA_DECIMALS = 9

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CANONICAL_LAMBDA = re.compile(r"0|1|0\.[0-9]{0,8}[1-9]")
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_EXPONENT = re.compile(r"[0-9.]+[eE][+-]?[0-9]+")
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
_SCALE = 10**LAMBDA_DECIMALS
_TWO_POW_52 = float(2**52)


class LambdaSpellingError(ValueError):
    """A λ text that is not in the canonical decimal form of the protocol."""


class InvalidFrameError(ValueError):
    """A frame that cannot be drawn (mismatched lengths, bad λ or PRN, impossible n, …)."""


# --------------------------------------------------------------------------- λ spelling


def format_lambda(value: float | Decimal | Fraction) -> str:
    """The canonical spelling of an inclusion probability λ.

    The exact value (a float is taken at its exact binary value) is rounded half-even to 9
    decimals, then written without sign, exponent or trailing zeros, with ``0.`` before a
    fraction and ``0`` / ``1`` for the ends: ``0.1``, ``0.025``, ``0.000333333``, ``1``.

    Raises ValueError for NaN, infinities, values below 0 or above 1 after rounding, and for a
    positive value that would round to 0 (at most 5e-10, half-even): writing "0" would silently
    turn a unit the policy meant to keep drawable into one that can never be drawn, so the caller
    must decide (raise the floor, or exclude the unit with a recorded reason). A value just below 1
    may round to ``1`` (certain); that only over-inspects and is visible in the frame.
    """
    try:
        exact = Fraction(value)
    except (ValueError, OverflowError, TypeError, InvalidOperation) as exc:
        raise ValueError(f"λ must be a finite number, got {value!r}") from exc
    scaled = round(exact * _SCALE)  # Fraction.__round__ is half-even and exact
    if scaled == 0 and exact > 0:
        raise ValueError(
            f"λ = {value!r} is positive but rounds to 0 at {LAMBDA_DECIMALS} decimals; "
            "raise it to the floor or exclude the unit"
        )
    if scaled < 0 or scaled > _SCALE:
        raise ValueError(f"λ must lie in [0, 1], got {value!r}")
    if scaled == 0:
        return "0"
    if scaled == _SCALE:
        return "1"
    return "0." + f"{scaled:0{LAMBDA_DECIMALS}d}".rstrip("0")


def lambda_problem(text: object) -> str | None:
    """Why `text` is not a canonical λ spelling, or None if it is."""
    if not isinstance(text, str):
        return f"is not a string but {type(text).__name__}"
    if _CANONICAL_LAMBDA.fullmatch(text):
        return None
    if text == "":
        return "is empty"
    if text != text.strip():
        return "has surrounding white space"
    if text[0] in "+-":
        return "has a sign"
    if _EXPONENT.fullmatch(text):
        return "has an exponent"
    if text.startswith("."):
        return "needs a 0 before the point"
    if text.endswith("."):
        return "ends with a bare point"
    if not _PLAIN_DECIMAL.fullmatch(text):
        return "is not a plain decimal number"
    whole, _, decimals = text.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        return "has leading zeros"
    if Decimal(text) > 1:
        return "is greater than 1"
    if len(decimals.rstrip("0")) > LAMBDA_DECIMALS:
        return f"has more than {LAMBDA_DECIMALS} digits after the point"
    if decimals.endswith("0"):
        return f"has trailing zeros (write {format_lambda(Decimal(text))!r})"
    return "is not in canonical form"  # pragma: no cover - the cases above are exhaustive


def parse_lambda(text: str) -> float:
    """The binary64 value of a canonical λ text (correctly rounded, via ``float``).

    Raises LambdaSpellingError naming the reason for any other spelling ("0.10", "1.0", ".5",
    "5e-2", "+0.5", …): the published frame text is the contract, so there is one spelling.
    """
    reason = lambda_problem(text)
    if reason is not None:
        raise LambdaSpellingError(f"λ {text!r} {reason}")
    return float(text)


def parse_lambdas(texts: Sequence[str]) -> FloatArray:
    """Parse a frame's λ texts; a frame has few distinct texts, so each is parsed once."""
    values = {text: parse_lambda(text) for text in set(texts)}
    return np.fromiter(map(values.__getitem__, texts), dtype=np.float64, count=len(texts))


# --------------------------------------------------------------------------- hashes


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_hex64(value: str, what: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{what} must be 64 lower-case hex characters, got {value!r}")


def check_codes(codes: Sequence[str]) -> None:
    """Raise InvalidFrameError unless the codes are unique, 18 printable ASCII characters each.

    Stricter than the hash needs: these rules make one frame line per code, with no separator
    or line break hidden inside a code, and let lines be sorted as plain strings.
    """
    _check_code_text(codes)
    if len(set(codes)) != len(codes):
        duplicate = next(code for code, count in Counter(codes).items() if count > 1)
        raise InvalidFrameError(f"credit code {duplicate} appears more than once in the frame")


def frame_text(codes: Sequence[str] | npt.NDArray[np.str_], lambda_texts: Sequence[str]) -> str:
    """The text a frame hash covers: ``<credit_code>,<lambda>\n`` sorted by credit code.

    The λ texts must already be canonical (use `format_lambda`); a bad one raises. This is
    also the form in which a frozen frame is stored, so what is kept is what was hashed.
    """
    if len(codes) != len(lambda_texts):
        raise InvalidFrameError(f"{len(codes)} credit codes but {len(lambda_texts)} λ values")
    ascending = _strictly_ascending(codes)
    if ascending is not None:
        codes = ascending  # sorted and unique already: the common case of a built frame
        _check_code_text(codes)
    else:
        codes = list(codes.tolist()) if isinstance(codes, np.ndarray) else codes
        check_codes(codes)
    for text in set(lambda_texts):
        parse_lambda(text)
    # Codes are unique and all 18 characters long, so sorting whole lines is sorting by code;
    # Python compares str by code point, which for UTF-8 is byte order.
    lines = [f"{code},{text}\n" for code, text in zip(codes, lambda_texts, strict=True)]
    if ascending is None:
        lines.sort()
    return "".join(lines)


def _strictly_ascending(codes: Sequence[str] | npt.NDArray[np.str_]) -> list[str] | None:
    """The codes as a list when given as a numpy str array in strictly ascending order
    (hence unique; numpy compares str by code point, as Python does); else None."""
    if not isinstance(codes, np.ndarray) or codes.dtype.kind != "U" or codes.ndim != 1:
        return None
    if codes.size > 1 and not bool((codes[1:] > codes[:-1]).all()):
        return None
    return list(codes.tolist())


def _check_code_text(codes: Sequence[str]) -> None:
    """`check_codes` without the uniqueness test."""
    if set(map(len, codes)) - {CODE_LENGTH}:
        raise InvalidFrameError(f"credit codes must have {CODE_LENGTH} characters each")
    joined = "".join(codes)
    if not (joined.isascii() and joined.isprintable()) or " " in joined or "," in joined:
        raise InvalidFrameError("credit codes must be printable ASCII without spaces or commas")


def frame_hash(codes: Sequence[str], lambda_texts: Sequence[str]) -> str:
    """SHA-256 (hex) of the frame's text (`frame_text`)."""
    return sha256_hex(frame_text(codes, lambda_texts))


def group_hash(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the lines ``<task_code>,<frame_hash>\\n`` sorted by task code (byte order)."""
    # By task code alone, never by whole line ("A" before "A+", though "," sorts after "+").
    items = sorted(pairs, key=lambda pair: pair[0])
    codes = [task for task, _ in items]
    if not items:
        raise ValueError("a group has at least one task")
    if len(set(codes)) != len(codes):
        raise ValueError("a task appears twice in the group")
    for task, fh in items:
        if not task or any(ch in task for ch in ",\n\r"):
            raise ValueError(f"task code {task!r} is empty or holds a comma or line break")
        _check_hex64(fh, f"frame hash of {task}")
    return sha256_hex("".join(f"{task},{fh}\n" for task, fh in items))


def new_nonce() -> str:
    """32 bytes from the operating system's cryptographic source, as 64 lower-case hex."""
    return secrets.token_hex(32)


def commitment(nonce: str) -> str:
    """SHA-256 of the nonce's hex text (not of its raw bytes)."""
    _check_hex64(nonce, "nonce")
    return sha256_hex(nonce)


def derive_seed(nonce: str, contribution: str, group_hash: str) -> str:
    """``SHA256(nonce + "|" + contribution + "|" + group_hash)``; the contribution as entered."""
    _check_hex64(nonce, "nonce")
    _check_hex64(group_hash, "group hash")
    if not isinstance(contribution, str) or contribution == "":
        raise ValueError("the public contribution is required and must be a string")
    return sha256_hex(f"{nonce}|{contribution}|{group_hash}")


# --------------------------------------------------------------------------- PRN and selection


def prn(seed: str, codes: Sequence[str]) -> FloatArray:
    """Permanent random numbers u in (0, 1), one per credit code, in the order given.

    ``u = ((x >> 12) + 0.5) / 2^52`` with x the first 8 bytes (big-endian) of
    SHA256(seed + "|" + code). Every step is exact in binary64. Under 1 µs per code: 2.7 million
    codes take about 2 s.
    """
    _check_hex64(seed, "seed")
    prefix = (seed + "|").encode("ascii")
    sha256 = hashlib.sha256
    digests = b"".join([sha256(prefix + code.encode("utf-8")).digest() for code in codes])
    x = np.frombuffer(digests, dtype=">u8")[::4].astype(np.uint64)
    return ((x >> np.uint64(12)).astype(np.float64) + 0.5) / _TWO_POW_52


def sample_size(lambdas: npt.ArrayLike) -> int:
    """``n = round_half_even(fsum(min(1, max(0, λ))))`` over the frame."""
    lam = np.asarray(lambdas, dtype=np.float64)
    if np.isnan(lam).any():
        raise InvalidFrameError("λ is NaN")
    return round(math.fsum(np.clip(lam, 0.0, 1.0).tolist()))


def pareto_key(lambdas: FloatArray, u: FloatArray) -> FloatArray:
    """Pareto ranking key ``Q = (u * (1 - λ)) / (λ * (1 - u))``, in exactly the spec's order.

    numpy evaluates each operation separately in binary64 (no fused multiply-add), so this is
    the same number every other implementation of the spec gets.
    """
    return (u * (1.0 - lambdas)) / (lambdas * (1.0 - u))


def pareto_select(codes: Sequence[str], lambdas: npt.ArrayLike, u: npt.ArrayLike) -> BoolArray:
    """Pareto πps order sampling (Rosén 1997): which frame units are selected.

    All units with λ ≥ 1, plus the ``n − #certain`` units with 0 < λ < 1 that have the smallest
    ``(Q, credit_code)``; units with λ ≤ 0 never. Codes are only read to break exact ties of Q,
    so a list of str is fine at city scale. Raises InvalidFrameError for a frame that cannot be
    drawn (mismatched lengths, NaN λ, u outside (0, 1), n outside what the frame allows).
    """
    lam = np.asarray(lambdas, dtype=np.float64)
    prns = np.asarray(u, dtype=np.float64)
    if not (len(codes) == lam.shape[0] == prns.shape[0]) or lam.ndim != 1 or prns.ndim != 1:
        raise InvalidFrameError("credit codes, λ and u must be 1-d and of the same length")
    if not ((prns > 0.0) & (prns < 1.0)).all():
        raise InvalidFrameError("every PRN u must lie strictly between 0 and 1")
    n = sample_size(lam)
    certain = lam >= 1.0
    ranked = np.flatnonzero((lam > 0.0) & ~certain)
    wanted = n - int(certain.sum())
    if wanted < 0 or wanted > ranked.size:
        raise InvalidFrameError(
            f"invalid frame: n = {n} with {int(certain.sum())} certain and {ranked.size} "
            "ranked units"
        )
    selected = certain.copy()
    if wanted == ranked.size:
        selected[ranked] = True
    elif wanted > 0:
        q = pareto_key(lam[ranked], prns[ranked])
        selected[ranked[_smallest(codes, ranked, q, wanted)]] = True
    return selected


def _smallest(
    codes: Sequence[str], index: npt.NDArray[np.intp], q: FloatArray, k: int
) -> npt.NDArray[np.intp]:
    """Positions (into q) of the k smallest (Q, code), 0 < k < len(q)."""
    kth = np.partition(q, k - 1)[k - 1]
    below = np.flatnonzero(q < kth)
    tied = np.flatnonzero(q == kth)
    need = k - below.size
    if tied.size > need:  # rare: equal Q, ordered by credit code
        frame_pos = index[tied].tolist()
        order = sorted(range(tied.size), key=lambda i: codes[frame_pos[i]])
        tied = tied[np.array(order[:need], dtype=np.intp)]
    return np.concatenate([below, tied])


@dataclass(frozen=True, eq=False)
class FrameDraw:
    """One task's draw: the frame as given, its hash, and what the protocol made of it.

    Arrays are aligned with the frame order: `lambdas` (parsed), `u` (PRN), `q` (Pareto key,
    NaN for units that are certain or never drawn), `mask` (selected).
    """

    seed: str
    codes: Sequence[str]
    lambda_texts: Sequence[str]
    frame_hash: str
    n: int
    selected: tuple[str, ...]
    lambdas: FloatArray
    u: FloatArray
    q: FloatArray
    mask: BoolArray


def draw_frame(
    codes: Sequence[str], lambda_texts: Sequence[str], seed: str, *, hashed: str | None = None
) -> FrameDraw:
    """Draw one frozen frame with a revealed seed.

    Takes the λ texts (the frame as published), not floats, so the draw always uses exactly
    the values the frame hash covers. `hashed` is for a caller that holds the frame as the
    very text it hashed (a frozen frame, read back and its SHA-256 compared): the codes
    and λ are then in canonical order and form already, and are not checked again.
    """
    fh = hashed if hashed is not None else frame_hash(codes, lambda_texts)
    lam = parse_lambdas(lambda_texts)
    u = prn(seed, codes)
    mask = pareto_select(codes, lam, u)
    q = np.full(lam.shape, np.nan)
    ranked = (lam > 0.0) & (lam < 1.0)
    q[ranked] = pareto_key(lam[ranked], u[ranked])
    selected = tuple(sorted(codes[i] for i in np.flatnonzero(mask).tolist()))
    return FrameDraw(
        seed=seed,
        codes=codes,
        lambda_texts=lambda_texts,
        frame_hash=fh,
        n=sample_size(lam),
        selected=selected,
        lambdas=lam,
        u=u,
        q=q,
        mask=mask,
    )


# --------------------------------------------------------------------------- commit and reveal


def utc_timestamp(moment: datetime | str) -> str:
    """ISO 8601 in UTC with ``Z`` (``2026-11-20T02:00:00Z``); naive datetimes are refused."""
    if isinstance(moment, str):
        if not _UTC_TIME.fullmatch(moment):
            raise ValueError(f"time {moment!r} is not ISO 8601 UTC ending in Z")
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no time zone; pass an aware one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PlanCommitment:
    """What is published when a plan's frames are frozen: group, group hash, commitment, time.

    `group` holds (task_code, frame_hash) sorted by task code. The nonce is not here: the
    caller keeps it secret until the reveal.
    """

    group: tuple[tuple[str, str], ...]
    group_hash: str
    commitment: str
    committed_at: str


@dataclass(frozen=True)
class Reveal:
    """The reveal of a plan: nonce, public contribution, the seed they give, and the time."""

    nonce: str
    contribution: str
    seed: str
    drawn_at: str


def commit_plan(
    frame_hashes: Iterable[tuple[str, str]], committed_at: datetime | str, nonce: str
) -> PlanCommitment:
    """Commit to `nonce` for the group of (task_code, frame_hash); call `new_nonce()` first."""
    group = tuple(sorted(frame_hashes))
    return PlanCommitment(
        group=group,
        group_hash=group_hash(group),
        commitment=commitment(nonce),
        committed_at=utc_timestamp(committed_at),
    )


def reveal_plan(
    plan: PlanCommitment, nonce: str, contribution: str, drawn_at: datetime | str
) -> Reveal:
    """Open the commitment: check the nonce against it and derive the plan's one seed."""
    if commitment(nonce) != plan.commitment:
        raise ValueError("the nonce does not match the plan's commitment")
    return Reveal(
        nonce=nonce,
        contribution=contribution,
        seed=derive_seed(nonce, contribution, plan.group_hash),
        drawn_at=utc_timestamp(drawn_at),
    )


# --------------------------------------------------------------------------- the draw record


def class_summary(
    draw: FrameDraw, risk_classes: Sequence[str], *, selected: bool = False
) -> list[dict[str, Any]]:
    """Per risk class (sorted): units in the frame and the range of λ; with `selected`, also
    the units selected. That count is for auditors only: beside the public list of selected
    units it would reveal the class of the units of a small class."""
    if len(risk_classes) != len(draw.codes):
        raise ValueError("one risk class per frame unit is needed")
    labels = np.asarray(risk_classes, dtype=object)
    summary: list[dict[str, Any]] = []
    for label in sorted(set(risk_classes)):
        members = labels == label
        lam = draw.lambdas[members]
        row: dict[str, Any] = {
            "risk_class": label,
            "units": int(members.sum()),
            "lambda_min": format_lambda(float(lam.min())),
            "lambda_max": format_lambda(float(lam.max())),
        }
        if selected:
            row["selected"] = int(draw.mask[members].sum())
        summary.append(row)
    return summary


def draw_record(
    task_code: str,
    title: str,
    draw: FrameDraw,
    plan: PlanCommitment,
    reveal: Reveal,
    *,
    risk_classes: Sequence[str] | None = None,
    include_frame: bool = False,
) -> dict[str, Any]:
    """The JSON draw record of one task, fields in the spec's order.

    The public record has no `frame`; the auditors' export sets ``include_frame=True``.
    `classes` is added when risk classes (aligned with the frame) are given; the count
    selected per class only in the auditors' export. Raises ValueError
    if the parts do not belong together (frame hash not in the group, seed not from reveal).
    """
    if (task_code, draw.frame_hash) not in plan.group:
        raise ValueError(f"task {task_code} with this frame hash is not in the plan's group")
    if reveal.seed != draw.seed or commitment(reveal.nonce) != plan.commitment:
        raise ValueError("the draw was not made with this plan's revealed seed")
    record: dict[str, Any] = {
        "protocol": PROTOCOL,
        "task_code": task_code,
        "title": title,
        "frame_hash": draw.frame_hash,
        "group": [{"task_code": task, "frame_hash": fh} for task, fh in plan.group],
        "group_hash": plan.group_hash,
        "commitment": plan.commitment,
        "committed_at": plan.committed_at,
        "nonce": reveal.nonce,
        "contribution": reveal.contribution,
        "seed": reveal.seed,
        "drawn_at": reveal.drawn_at,
        "n": draw.n,
        "selected": list(draw.selected),
    }
    if risk_classes is not None:
        record["classes"] = class_summary(draw, risk_classes, selected=include_frame)
    if include_frame:
        record["frame"] = [
            {"credit_code": code, "lambda": text}
            for code, text in zip(draw.codes, draw.lambda_texts, strict=True)
        ]
    return record

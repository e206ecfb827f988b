"""Each drawn enterprise's probability of being visited by any task of its plan, computed
once from the frozen frames when the plan is drawn and stored (`visit_inclusion` table).

Under one shared PRN per enterprise the plan's probability is not the largest of the task
π (two 10-unit frames at 0.2 sharing a unit visit it with probability 0.266): the kernel
`sampling.population.visit_inclusion` estimates it by Rao–Blackwellised coordinated draws,
with a standard error, for the enterprises the plan drew. Its random numbers come from the
plan's seed, so a draw completed again (after a crash) stores the same numbers. None of it
is part of the draw record the public verifier checks (DRAW-SPEC): it is the engine's own
estimate, used by the month's estimates and the history's training weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from inspect_engine.sampling.population import (
    VISIT_INCLUSION_METHOD,
    VisitInclusion,
    pareto_inclusion,
    visit_inclusion,
)
from models import VisitInclusion as VisitInclusionRow

CODE = "S18"  # credit codes as bytes: np.unique over a city's frame rows is 4× cheaper


@dataclass(frozen=True)
class FrameLines:
    """One frozen frame as the draw reads it: codes and λ in frame order, and the π its
    freeze recorded per λ text (empty for frames frozen before π was recorded).

    The codes are kept as 18-byte strings: the draw holds every frame until the plan's π
    is computed, and a list of Python strings costs four times as much."""

    codes: np.ndarray
    lam: np.ndarray
    recorded_pi: Mapping[str, str]

    @classmethod
    def of(
        cls, codes: Sequence[str], lam: np.ndarray, recorded_pi: Mapping[str, str]
    ) -> FrameLines:
        return cls(np.asarray(codes, dtype=CODE), np.asarray(lam), recorded_pi)

    def pi(self) -> np.ndarray:
        """Each row's exact π in its frame (the recorded one, else computed from λ)."""
        if not self.recorded_pi:
            return pareto_inclusion(self.lam)
        # a few distinct λ: a binary search among them, not a sort of the frame
        pairs = sorted((float(lam), float(pi)) for lam, pi in self.recorded_pi.items())
        values = np.array([lam for lam, _ in pairs])
        at = np.minimum(np.searchsorted(values, self.lam), values.size - 1)
        if (values[at] != self.lam).any():
            raise ValueError("a frame row's λ has no recorded π")
        return np.array([pi for _, pi in pairs])[at]


def frame_union(frames: Sequence[Sequence[str] | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct codes of the frames (each given by its codes; bytes) and, for the
    concatenated frame rows, each row's position in them.

    Sorted as three big-endian integer keys (bytes 0–7, 8–15, 16–17 of the code): the same
    order as the byte strings, and at 9.9 million frame rows (twelve city-wide frames)
    several times faster than `np.unique` on strings."""
    if not frames:
        return np.zeros(0, CODE), np.zeros(0, np.intp)
    every = np.concatenate([np.asarray(codes, dtype=CODE) for codes in frames])
    raw = every.view(np.uint8).reshape(-1, 18)
    keys = [
        np.ascontiguousarray(raw[:, a:b]).view(dtype).reshape(-1).astype(native)
        for a, b, dtype, native in ((0, 8, ">u8", np.uint64), (8, 16, ">u8", np.uint64),
                                    (16, 18, ">u2", np.uint16))
    ]  # fmt: skip
    order = np.lexsort(keys[::-1])
    ranked = [k[order] for k in keys]
    new = np.ones(every.size, dtype=bool)
    new[1:] = (ranked[0][1:] != ranked[0][:-1]) | (ranked[1][1:] != ranked[1][:-1])
    new[1:] |= ranked[2][1:] != ranked[2][:-1]
    inverse = np.empty(every.size, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return every[order[new]], inverse


def compute(
    frames: Sequence[FrameLines], seed: str, drawn: Sequence[str]
) -> tuple[np.ndarray, VisitInclusion]:
    """The drawn enterprises (sorted, as bytes) and their plan-level π, deterministic from
    the plan's seed and the frozen frames."""
    union, inverse = frame_union([frame.codes for frame in frames])
    parts = []
    start = 0
    for frame in frames:
        parts.append((inverse[start : start + len(frame.codes)], frame.lam, frame.pi()))
        start += len(frame.codes)
    codes = np.unique(np.asarray(list(drawn), dtype=CODE))
    at = np.searchsorted(union, codes)
    found = (at < union.size) & (union[np.minimum(at, max(union.size - 1, 0))] == codes)
    if not found.all():
        raise ValueError("a drawn enterprise is in none of the plan's frames")
    # The first 64 bits of the plan's seed: reproducible, and unrelated to the PRNs the
    # draw derived from the same seed by SHA-256.
    rng = np.random.default_rng(int(seed[:16], 16))
    return codes, visit_inclusion(parts, int(union.size), at, rng=rng)


def store(session: Session, plan_id: int, codes: np.ndarray, made: VisitInclusion) -> None:
    """One row per drawn enterprise (one executemany)."""
    rows = [
        {"plan_id": plan_id, "credit_code": code, "pi": pi, "std_error": se, "reps": made.reps}
        for code, pi, se in zip(
            codes.astype(str).tolist(), made.pi.tolist(), made.std_error.tolist(), strict=True
        )
    ]
    if rows:
        session.execute(insert(cast(Table, VisitInclusionRow.__table__)), rows)


def stored(session: Session, plan_id: int) -> dict[str, tuple[float, float, int]]:
    """credit code → (π, standard error, replicates) stored for the plan (empty for plans
    drawn before it was stored)."""
    query = select(
        VisitInclusionRow.credit_code,
        VisitInclusionRow.pi,
        VisitInclusionRow.std_error,
        VisitInclusionRow.reps,
    ).where(VisitInclusionRow.plan_id == plan_id)
    return {code: (pi, se, reps) for code, pi, se, reps in session.execute(query)}


def describe(pi_rows: Sequence[tuple[float, float, int]], source: str) -> dict[str, Any]:
    """The estimates' "plan_inclusion": the method, replicates and largest standard error."""
    return {
        "method": VISIT_INCLUSION_METHOD,
        "source": source,
        "reps": max((r for _, _, r in pi_rows), default=0),
        "max_std_error": max((se for _, se, _ in pi_rows), default=0.0),
    }

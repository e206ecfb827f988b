"""The keys of the team draw (ie-teams-v1 and v2): every random choice is a function of the team
seed and of stable keys only, never of list positions, counts, the clock or free text.

    team_seed    = SHA256(UTF8(seed + "|" + staffing_hash + "|" + protocol))       (hex)
    key(c, i)    = first 8 bytes of SHA256(UTF8(team_seed + "|" + c + "|" + i)),
                   big-endian, shifted right by 4: a 60-bit integer

for the visit's enterprise credit code `c` and the inspector id `i`. A pair's key is its
random cost in the min-cost flow (its top 32 bits, see `cost_of`) and its rank when a
place is filled one by one (smallest key first; two equal keys are ordered by inspector
id). Adding or removing any other row changes no key.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

V1 = "ie-teams-v1"
V2 = "ie-teams-v2"
PROTOCOL = V2
"""The protocol of new snapshots; a month frozen under v1 keeps v1 (teams without days)."""
PROTOCOLS = (V1, V2)
KEY_BITS = 60
COST_BITS = 32
"""Solver costs keep the key's top 32 bits (OR-Tools scales costs by the node count, so the
full 60 bits would overflow); equal costs happen with probability 2^-32 per pair."""

U64 = npt.NDArray[np.uint64]


def team_seed(seed: str, staffing_hash: str, protocol: str = PROTOCOL) -> str:
    """The seed of the team draw: the plan's revealed seed bound to the frozen staffing and
    to the protocol version the snapshot names."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown team protocol {protocol!r}")
    return hashlib.sha256(f"{seed}|{staffing_hash}|{protocol}".encode()).hexdigest()


def pair_key(seed: str, credit_code: str, inspector_id: str) -> int:
    digest = hashlib.sha256(f"{seed}|{credit_code}|{inspector_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - KEY_BITS)


PARALLEL_PAIRS = 400_000
"""Above this many pairs the keys are hashed in worker processes, one chunk each (the
result does not depend on how the work is split)."""


def pair_keys(
    seed: str,
    credit_codes: Sequence[str],
    inspector_ids: Sequence[str],
    visit_of: npt.ArrayLike,
    inspector_of: npt.ArrayLike,
) -> U64:
    """Keys of the pairs (credit_codes[visit_of[k]], inspector_ids[inspector_of[k]]).

    The pairs come grouped by visit (CSR order); each visit's prefix is hashed once. A city
    month has millions of pairs: they are split over the machine's cores."""
    visits = np.asarray(visit_of, dtype=np.int64).reshape(-1)
    inspectors = np.asarray(inspector_of, dtype=np.int64).reshape(-1)
    workers = min(os.cpu_count() or 1, 8)
    if visits.size < PARALLEL_PAIRS or workers < 2:
        raw = _hash_pairs(seed, list(credit_codes), list(inspector_ids), visits, inspectors)
    else:
        bounds = np.linspace(0, visits.size, workers + 1).astype(np.int64).tolist()
        chunks = [(lo, hi) for lo, hi in itertools.pairwise(bounds) if hi > lo]
        # fork: the workers only hash (no solver, no database); spawn would re-import __main__
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(chunks), mp_context=context) as pool:
            parts = pool.map(
                _hash_pairs,
                *zip(
                    *[
                        (seed, list(credit_codes), list(inspector_ids), visits[lo:hi],
                         inspectors[lo:hi])
                        for lo, hi in chunks
                    ],
                    strict=True,
                ),
            )  # fmt: skip
            raw = b"".join(parts)
    keys = np.frombuffer(raw, dtype=">u8").astype(np.uint64)
    return keys >> np.uint64(64 - KEY_BITS)


def _hash_pairs(
    seed: str,
    credit_codes: list[str],
    inspector_ids: list[str],
    visits: npt.NDArray[np.int64],
    inspectors: npt.NDArray[np.int64],
) -> bytes:
    """The first 8 bytes of each pair's digest, concatenated."""
    ids = [f"|{i}".encode() for i in inspector_ids]
    if not visits.size:
        return b""
    starts = np.flatnonzero(np.r_[True, visits[1:] != visits[:-1]]).tolist()
    ends = [*starts[1:], int(visits.size)]
    out = []
    for lo, hi in zip(starts, ends, strict=True):
        copy = hashlib.sha256(f"{seed}|{credit_codes[int(visits[lo])]}".encode()).copy

        def digest(tail: bytes, copy: Any = copy) -> bytes:
            h = copy()
            h.update(tail)
            return bytes(h.digest()[:8])

        out.append(b"".join([digest(ids[i]) for i in inspectors[lo:hi].tolist()]))
    return b"".join(out)


def cost_of(keys: U64) -> npt.NDArray[np.int64]:
    """The solver's random cost of each pair: the key's top COST_BITS bits."""
    return (keys >> np.uint64(KEY_BITS - COST_BITS)).astype(np.int64)

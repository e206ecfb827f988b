"""The keys of the team draw (ie-teams-v1): every random choice is a function of the team
seed and of stable keys only, never of list positions, counts, the clock or free text.

    team_seed    = SHA256(UTF8(seed + "|" + staffing_hash + "|ie-teams-v1"))       (hex)
    key(c, i)    = first 8 bytes of SHA256(UTF8(team_seed + "|" + c + "|" + i)),
                   big-endian, shifted right by 4: a 60-bit integer

for the visit's enterprise credit code `c` and the inspector id `i`. A pair's key is its
random cost in the min-cost flow (its top 32 bits, see `cost_of`) and its rank when a
place is filled one by one (smallest key first; two equal keys are ordered by inspector
id). Adding or removing any other row changes no key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

PROTOCOL = "ie-teams-v1"
KEY_BITS = 60
COST_BITS = 32
"""Solver costs keep the key's top 32 bits (OR-Tools scales costs by the node count, so the
full 60 bits would overflow); equal costs happen with probability 2^-32 per pair."""

U64 = npt.NDArray[np.uint64]


def team_seed(seed: str, staffing_hash: str) -> str:
    """The seed of the team draw: the plan's revealed seed bound to the frozen staffing."""
    return hashlib.sha256(f"{seed}|{staffing_hash}|{PROTOCOL}".encode()).hexdigest()


def pair_key(seed: str, credit_code: str, inspector_id: str) -> int:
    digest = hashlib.sha256(f"{seed}|{credit_code}|{inspector_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - KEY_BITS)


def pair_keys(
    seed: str,
    credit_codes: Sequence[str],
    inspector_ids: Sequence[str],
    visit_of: npt.ArrayLike,
    inspector_of: npt.ArrayLike,
) -> U64:
    """Keys of the pairs (credit_codes[visit_of[k]], inspector_ids[inspector_of[k]]).

    The pairs come grouped by visit (CSR order); each visit's prefix is hashed once."""
    visits = np.asarray(visit_of, dtype=np.int64)
    inspectors = np.asarray(inspector_of, dtype=np.int64)
    ids = [f"|{i}".encode() for i in inspector_ids]
    out = bytearray(8 * visits.size)
    current, prefix = -1, hashlib.sha256()
    for k, (v, i) in enumerate(zip(visits.tolist(), inspectors.tolist(), strict=True)):
        if v != current:
            current, prefix = v, hashlib.sha256(f"{seed}|{credit_codes[v]}".encode())
        h = prefix.copy()
        h.update(ids[i])
        out[8 * k : 8 * k + 8] = h.digest()[:8]
    raw = np.frombuffer(bytes(out), dtype=">u8").astype(np.uint64)
    return raw >> np.uint64(64 - KEY_BITS)


def cost_of(keys: U64) -> npt.NDArray[np.int64]:
    """The solver's random cost of each pair: the key's top COST_BITS bits."""
    return (keys >> np.uint64(KEY_BITS - COST_BITS)).astype(np.int64)

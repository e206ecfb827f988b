"""The visit calendar of ie-teams-v2: a working day for every staffed visit.

After the teams, each visit gets a day of the window on which every member is on duty
(active, not on leave, certificate valid that day), no inspector holds more than
`max_per_day` visits a day, and one inspector's visits of a day are grouped by district
and office. The day solve is a keyed greedy, deterministic by construction:

    day_key(c, d) = key(team_seed, c, "day:" + d.isoformat())      (keys.pair_key)

Visits are taken in the order of their rank `key(c, "visit")` (then visit id). A visit
goes to the day, among those where all its members are on duty and have room, that adds
the fewest (district, inspector-day) pairs, then the fewest (office, inspector-day) pairs,
then has the smallest day key (then the earlier date). A visit's choice depends only on
the visits ranked before it, so the verifier recomputes it exactly.

The greedy's days are then improved by CP-SAT, one inspector's mixed days at a time
(`day_search.py`); events after the freeze reschedule the visits they hit by the greedy
rule alone (`rescheduling.py`).

`DayBook` holds, per inspector and window day, the visits booked and their districts and
offices; the team fallback (a member replaced by keyed rank when his days are full) is in
`optimiser.py`, the rescheduling after a change in `events.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from inspect_engine.assignment import keys

DEFAULT_MAX_VISITS_PER_DAY = 3
EMPTY = -1

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def day_label(day: date) -> str:
    """The inspector-id slot of a day key: "day:YYYY-MM-DD" (no inspector id has a colon
    followed by a date; the namespace keeps day keys apart from pair keys)."""
    return f"day:{day.isoformat()}"


def day_key(seed: str, credit_code: str, day: date) -> int:
    return keys.pair_key(seed, credit_code, day_label(day))


def day_keys(
    seed: str, credit_codes: Sequence[str], days: Sequence[date]
) -> npt.NDArray[np.uint64]:
    """(visits, days) matrix of day keys, hashed like the pair keys (in parallel when big)."""
    n, m = len(credit_codes), len(days)
    if not n or not m:
        return np.zeros((n, m), dtype=np.uint64)
    visit_of = np.repeat(np.arange(n, dtype=np.int64), m)
    day_of = np.tile(np.arange(m, dtype=np.int64), n)
    flat = keys.pair_keys(seed, credit_codes, [day_label(d) for d in days], visit_of, day_of)
    return flat.reshape(n, m)


@dataclass
class DayBook:
    """Bookings per (inspector, window day): how many visits, and each one's district and
    office code (slots of width `cap`, EMPTY where free)."""

    days: tuple[date, ...]
    cap: int
    count: IntArray  # (inspectors, days)
    district: IntArray  # (inspectors, days, cap)
    office: IntArray  # (inspectors, days, cap)

    @classmethod
    def empty(cls, inspectors: int, days: Sequence[date], cap: int) -> DayBook:
        if cap < 1:
            raise ValueError(f"max_visits_per_day must be at least 1, not {cap}")
        shape = (inspectors, len(days), cap)
        return cls(
            tuple(days),
            cap,
            np.zeros(shape[:2], dtype=np.int64),
            np.full(shape, EMPTY, dtype=np.int64),
            np.full(shape, EMPTY, dtype=np.int64),
        )

    def column(self, day: date) -> int | None:
        try:
            return self.days.index(day)
        except ValueError:
            return None

    def room(self, members: Sequence[int]) -> BoolArray:
        """Days on which every member holds fewer than `cap` visits."""
        return np.asarray((self.count[list(members)] < self.cap).all(axis=0), dtype=np.bool_)

    def book(self, members: Sequence[int], col: int, district: int, office: int) -> None:
        for m in members:
            slot = int(self.count[m, col])
            if slot >= self.cap:
                raise ValueError("a day over the cap")  # callers check room first
            self.district[m, col, slot] = district
            self.office[m, col, slot] = office
            self.count[m, col] += 1

    def release(self, members: Sequence[int], col: int, district: int, office: int) -> None:
        """Take one booking of (district, office) off each member's day."""
        for m in members:
            n = int(self.count[m, col])
            pairs = list(zip(self.district[m, col, :n].tolist(), self.office[m, col, :n].tolist(),
                             strict=True))  # fmt: skip
            pairs.remove((district, office))
            pairs += [(EMPTY, EMPTY)] * (self.cap - len(pairs))
            self.district[m, col] = [p[0] for p in pairs]
            self.office[m, col] = [p[1] for p in pairs]
            self.count[m, col] = n - 1

    def choose(
        self,
        members: Sequence[int],
        allowed: BoolArray,
        district: int,
        office: int,
        key_row: npt.NDArray[np.uint64],
    ) -> int | None:
        """The day column for a visit of `members` among `allowed` days with room: fewest
        new (district, inspector-day) pairs, then new (office, inspector-day) pairs, then
        the smallest day key, then the earliest day. None when no day is open."""
        team = np.asarray(members, dtype=np.int64)
        open_days = allowed & self.room(members)
        if not open_days.any():
            return None
        cols = np.flatnonzero(open_days)
        new_district = (~(self.district[np.ix_(team, cols)] == district).any(axis=2)).sum(axis=0)
        new_office = (~(self.office[np.ix_(team, cols)] == office).any(axis=2)).sum(axis=0)
        order = np.lexsort((cols, key_row[cols], new_office, new_district))
        return int(cols[order[0]])


def codes(values: Sequence[str]) -> dict[str, int]:
    """Integer codes of district or office labels (sorted: position-free)."""
    return {value: k for k, value in enumerate(sorted(set(values)))}

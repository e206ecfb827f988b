"""Inspectors of the synthetic city, their leave and their declared conflicts (回避)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulations import catalogue as cat
from simulations.names import person_names
from simulations.population import Offices, Population, allocate

DEPT_NUMBER = {"SAMR": 1, "HEALTH": 2, "FIRE": 3, "ECOENV": 4}


@dataclass(frozen=True)
class Staff:
    ids: np.ndarray  # object: certificate numbers
    names: list[str]
    dept: np.ndarray  # index into cat.DEPARTMENTS
    unit: np.ndarray  # object: unit code
    office: np.ndarray  # SAMR office index, -1 for other departments
    district: np.ndarray  # index into cat.DISTRICTS
    quals: np.ndarray  # bit mask over cat.QUALIFICATIONS
    expires: np.ndarray  # certificate expiry day
    lead: np.ndarray
    capacity: np.ndarray
    active: np.ndarray
    strictness: np.ndarray  # hidden: detection multiplier, mean 1

    @property
    def n(self) -> int:
        return len(self.ids)


def staff_size(n_entities: int) -> int:
    """3,000 at Guangzhou scale, shrinking with the square root of the city (at least 150,
    so that small cities still form lawful cross-office teams)."""
    return max(150, round(cat.GZ_INSPECTORS * math.sqrt(n_entities / cat.GZ_ENTITIES)))


def make_staff(
    rng: np.random.Generator,
    n: int,
    pop: Population,
    offices: Offices,
    today: int,
    strictness_sd: float,
) -> Staff:
    counts = allocate(n, np.array(cat.DEPARTMENT_SHARE))
    per_office = np.bincount(pop.office, minlength=len(offices.codes)).astype(float)
    per_district = np.bincount(pop.district, minlength=len(cat.DISTRICTS)).astype(float)
    dept: list[int] = []
    unit: list[str] = []
    office: list[int] = []
    district: list[int] = []
    for di_, dname in enumerate(cat.DEPARTMENTS):
        k = int(counts[di_])
        if dname == "SAMR":
            # Two per office at least; the rest follows the office's workload.
            n_off = len(offices.codes)
            alloc = 2 + allocate(max(k - 2 * n_off, 0), per_office + 1)
            for o, m in enumerate(alloc.tolist()):
                dept += [di_] * m
                unit += [offices.codes[o]] * m
                office += [o] * m
                district += [int(offices.district[o])] * m
        else:
            alloc = 2 + allocate(max(k - 2 * len(cat.DISTRICTS), 0), per_district + 1)
            for d, m in enumerate(alloc.tolist()):
                code = f"{cat.DISTRICTS[d].code}-{cat.DEPARTMENT_UNIT[dname]}"
                dept += [di_] * m
                unit += [code] * m
                office += [-1] * m
                district += [d] * m
    total = len(dept)
    dept_a = np.array(dept, dtype=np.int8)
    district_a = np.array(district, dtype=np.int8)
    quals = np.zeros(total, dtype=np.int32)
    for dname, table in cat.QUALIFICATION_PROBS.items():
        sel = np.flatnonzero(dept_a == cat.DEPARTMENTS.index(dname))
        for qname, prob in table:
            hit = rng.random(len(sel)) < prob
            quals[sel[hit]] |= 1 << cat.QUALIFICATIONS.index(qname)
        if dname == "HEALTH":
            none = sel[quals[sel] == 0]
            quals[none] |= 1 << cat.QUALIFICATIONS.index("public_health")
    serial = rng.choice(100_000, size=total, replace=False)
    ids = np.array(
        [
            f"ZF{cat.DISTRICTS[d].code}{DEPT_NUMBER[cat.DEPARTMENTS[p]]:02d}{s:05d}"
            for d, p, s in zip(district, dept, serial.tolist(), strict=True)
        ],
        dtype=object,
    )
    u = rng.random(total)
    expires = np.where(
        u < 0.03,
        today - rng.integers(1, 366, total),  # already expired
        np.where(
            u < 0.08, today + rng.integers(1, 91, total), today + rng.integers(91, 5 * 365, total)
        ),
    ).astype(np.int32)
    capacity = np.clip(np.round(rng.normal(20, 5, total)), 10, 30).astype(np.int32)
    sd = strictness_sd
    # A few inspectors are inactive (long leave, retired, seconded): 2%, at least one.
    active = np.ones(total, dtype=bool)
    active[rng.choice(total, size=max(1, round(0.02 * total)), replace=False)] = False
    strictness = np.exp(rng.normal(-sd * sd / 2, sd, total))
    return Staff(
        ids=ids,
        names=person_names(rng, total),
        dept=dept_a,
        unit=np.array(unit, dtype=object),
        office=np.array(office, dtype=np.int32),
        district=district_a,
        quals=quals,
        expires=expires,
        lead=rng.random(total) < 0.2,
        capacity=capacity,
        active=active,
        strictness=strictness,
    )


@dataclass(frozen=True)
class Leave:
    inspector: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    reason: np.ndarray  # index into cat.LEAVE_REASONS


def make_leave(rng: np.random.Generator, staff: Staff, month_start: int) -> Leave:
    """Sparse leave: about 6% of active inspectors are away some days of the planned month,
    4% had leave in the three months before."""
    lengths = ((3, 10), (2, 5), (1, 7), (1, 3), (30, 90), (98, 158))
    weights = np.array([0.45, 0.25, 0.12, 0.10, 0.05, 0.03])
    active = np.flatnonzero(staff.active)
    coming = active[rng.random(len(active)) < 0.06]
    past = active[rng.random(len(active)) < 0.04]
    who = np.concatenate([coming, past])
    starts = np.concatenate(
        [
            month_start + rng.integers(-10, 25, len(coming)),
            month_start - rng.integers(20, 92, len(past)),
        ]
    )
    reason = rng.choice(len(lengths), size=len(who), p=weights)
    lo = np.array([a for a, _ in lengths])[reason]
    hi = np.array([b for _, b in lengths])[reason]
    ends = starts + rng.integers(lo, hi + 1) - 1
    order = np.lexsort((starts, who))
    return Leave(
        who[order], starts[order].astype(np.int32), ends[order].astype(np.int32), reason[order]
    )


@dataclass(frozen=True)
class Conflicts:
    inspector: np.ndarray
    entity: np.ndarray
    reason: np.ndarray  # index into cat.CONFLICT_REASONS
    raised_by: np.ndarray  # object: inspector | enterprise | supervisor
    raised_on: np.ndarray


def make_conflicts(
    rng: np.random.Generator, staff: Staff, pop: Population, today: int
) -> Conflicts:
    """About one declared interest or recusal request per eight inspectors, mostly about
    active entities of the inspector's own district."""
    k = max(10, round(staff.n / 8))
    who = rng.integers(0, staff.n, k)
    alive = pop.exit_day > today
    by_district = [np.flatnonzero(alive & (pop.district == d)) for d in range(len(cat.DISTRICTS))]
    anywhere = np.flatnonzero(alive)
    entity = np.empty(k, dtype=np.int64)
    local = rng.random(k) < 0.85
    for i in range(k):
        pool = by_district[int(staff.district[who[i]])] if local[i] else anywhere
        pool = pool if len(pool) else anywhere
        entity[i] = pool[rng.integers(0, len(pool))]
    _, first = np.unique(who.astype(np.int64) * pop.n + entity, return_index=True)
    first = np.sort(first)
    who, entity = who[first], entity[first]
    reason = rng.integers(0, len(cat.CONFLICT_REASONS), len(who))
    # Declarations come from inspectors, recusal requests from enterprises.
    by = np.where(
        reason >= 3, "enterprise", np.where(rng.random(len(who)) < 0.85, "inspector", "supervisor")
    )
    raised_on = np.maximum(today - rng.integers(0, 730, len(who)), pop.reg_day[entity])
    raised_on = raised_on.astype(np.int32)
    order = np.lexsort((entity, who))
    return Conflicts(
        who[order], entity[order], reason[order], by[order].astype(object), raised_on[order]
    )

"""The rules of `rules.py`, applied to the whole directory at once.

Per-inspector rules (certificate, active, leave, capacity) are evaluated once per inspector
with the scalar functions. Per-visit rules depend only on a visit's *profile* (its
department needs, office mode and the office or district that mode looks at), and a city
month has a few hundred profiles for tens of thousands of visits: one boolean mask over the
directory per profile, then every visit's candidate list is its profile's list minus the
(sparse) recusals. The result is a CSR table: the candidates of visit v are
`inspector[ptr[v]:ptr[v+1]]`, sorted by inspector index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inspect_engine.assignment.rules import (
    available_in_month,
    capacity_in_month,
    certificate_valid,
    is_active,
    on_duty,
)
from inspect_engine.assignment.types import DepartmentNeed, Inspector, Month, OfficeMode, Visit

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


def _index(values: Iterable[str]) -> dict[str, int]:
    return {value: k for k, value in enumerate(sorted(set(values)))}


@dataclass(frozen=True, eq=False)
class InspectorTable:
    """The inspector directory as arrays, sorted by inspector_id (the canonical order)."""

    inspectors: tuple[Inspector, ...]
    index: dict[str, int]
    departments: dict[str, int]
    units: dict[str, int]
    districts: dict[str, int]
    qualifications: dict[str, int]
    department: Int32Array
    unit: Int32Array
    district: Int32Array
    holds: BoolArray  # (inspectors, qualifications)
    lead: BoolArray
    certified: BoolArray  # certificate_valid through the month
    active: BoolArray
    on_duty: BoolArray  # available_in_month: not on leave the whole month
    capacity: IntArray  # capacity_in_month
    duty: BoolArray  # (inspectors, window days): rules.on_duty on each working day

    @classmethod
    def build(
        cls, inspectors: Sequence[Inspector], month: Month, extra_departments: Iterable[str] = ()
    ) -> InspectorTable:
        ordered = tuple(sorted(inspectors, key=lambda i: i.inspector_id))
        index = {ins.inspector_id: k for k, ins in enumerate(ordered)}
        if len(index) != len(ordered):
            raise ValueError("an inspector_id appears twice in the directory")
        departments = _index([*(i.department for i in ordered), *extra_departments])
        units = _index(i.unit for i in ordered)
        districts = _index(i.district for i in ordered)
        quals = _index(q for i in ordered for q in i.qualifications)
        holds = np.zeros((len(ordered), len(quals)), dtype=np.bool_)
        for row, ins in enumerate(ordered):
            holds[row, [quals[q] for q in ins.qualifications]] = True

        def ints(values: Iterable[int]) -> Int32Array:
            return np.fromiter(values, dtype=np.int32, count=len(ordered))

        def flags(values: Iterable[bool]) -> BoolArray:
            return np.fromiter(values, dtype=np.bool_, count=len(ordered))

        return cls(
            inspectors=ordered,
            index=index,
            departments=departments,
            units=units,
            districts=districts,
            qualifications=quals,
            department=ints(departments[i.department] for i in ordered),
            unit=ints(units[i.unit] for i in ordered),
            district=ints(districts[i.district] for i in ordered),
            holds=holds,
            lead=flags(i.lead for i in ordered),
            certified=flags(certificate_valid(i, month) for i in ordered),
            active=flags(is_active(i) for i in ordered),
            on_duty=flags(available_in_month(i, month) for i in ordered),
            capacity=np.fromiter(
                (capacity_in_month(i, month) for i in ordered), dtype=np.int64, count=len(ordered)
            ),
            duty=np.array(
                [[on_duty(i, day) for day in month.window_days] for i in ordered], dtype=np.bool_
            ).reshape(len(ordered), len(month.window_days)),
        )

    @property
    def size(self) -> int:
        return len(self.inspectors)

    def of_department(self, department: str) -> BoolArray:
        code = self.departments.get(department)
        return np.zeros(self.size, np.bool_) if code is None else self.department == code

    def holding(self, qualifications: frozenset[str]) -> BoolArray:
        """Inspectors holding every one of `qualifications` (qualified_for, vectorised)."""
        if any(q not in self.qualifications for q in qualifications):
            return np.zeros(self.size, np.bool_)
        columns = [self.qualifications[q] for q in sorted(qualifications)]
        return np.asarray(self.holds[:, columns].all(axis=1), dtype=np.bool_)

    def outside_office(self, unit: str) -> BoolArray:
        return np.asarray(self.unit != self.units.get(unit, -1), dtype=np.bool_)

    def of_district(self, district: str) -> BoolArray:
        return np.asarray(self.district == self.districts.get(district, -1), dtype=np.bool_)

    def office_allows(self, visit: Visit) -> BoolArray:
        """office_mode_allows, vectorised."""
        allowed = np.ones(self.size, np.bool_)
        if visit.mode in (OfficeMode.CROSS_OFFICE, OfficeMode.LOCAL_CROSS):
            allowed &= self.outside_office(visit.unit)
        if visit.mode in (OfficeMode.LOCAL, OfficeMode.LOCAL_CROSS):
            allowed &= self.of_district(visit.district)
        return allowed

    def fills_place(self, need: DepartmentNeed) -> BoolArray:
        """Inspectors who may fill `need`'s department place (department + qualifications)."""
        return self.of_department(need.department) & self.holding(need.qualifications)

    def share_a_day(self, members: Sequence[int]) -> bool:
        """The members have a working day of the window on which all are on duty."""
        return bool(self.duty[list(members)].all(axis=0).any()) if len(members) else True

    def lawful_on_duty(self) -> BoolArray:
        """The per-inspector rules: certificate valid, active, not on leave all month."""
        return self.certified & self.active & self.on_duty


def profile_key(visit: Visit) -> Hashable:
    """What a visit's static eligibility depends on."""
    cross, local = (
        (OfficeMode.CROSS_OFFICE, OfficeMode.LOCAL_CROSS),
        (OfficeMode.LOCAL, OfficeMode.LOCAL_CROSS),
    )
    unit = visit.unit if visit.mode in cross else None
    district = visit.district if visit.mode in local else None
    return (frozenset(visit.needs), visit.mode, unit, district)


@dataclass(frozen=True, eq=False)
class CandidateTable:
    """Eligible (visit, inspector) pairs in CSR form over the visits given to `candidates`."""

    ptr: IntArray  # (visits + 1,)
    inspector: IntArray  # (arcs,), sorted by inspector within each visit
    visit: IntArray  # (arcs,), the visit of each pair (non-decreasing)

    @classmethod
    def from_ptr(cls, ptr: IntArray, inspector: IntArray) -> CandidateTable:
        counts = np.diff(ptr)
        return cls(ptr, inspector, np.repeat(np.arange(counts.size, dtype=np.int64), counts))

    @property
    def arcs(self) -> int:
        return int(self.inspector.size)

    def of(self, visit: int) -> IntArray:
        return self.inspector[self.ptr[visit] : self.ptr[visit + 1]]


def candidates(
    visits: Sequence[Visit],
    table: InspectorTable,
    barred: Collection[tuple[int, int]],
    usable: BoolArray,
) -> CandidateTable:
    """Every inspector eligible for each visit (capacity aside, which the solver handles).

    `barred` holds (visit position, inspector index) pairs removed on top of the rules:
    recusals, and in a re-assignment the members already on the team. `usable` is the
    per-inspector filter (the per-inspector rules and capacity left > 0).
    """
    profile_of: dict[Hashable, int] = {}
    masks: list[BoolArray] = []
    visit_profile = np.empty(len(visits), dtype=np.int64)
    for pos, visit in enumerate(visits):
        key = profile_key(visit)
        if key not in profile_of:
            profile_of[key] = len(masks)
            fills = np.zeros(table.size, np.bool_)
            for need in visit.needs:
                fills |= table.fills_place(need)
            masks.append(fills & table.office_allows(visit) & usable)
        visit_profile[pos] = profile_of[key]
    members = [np.flatnonzero(mask).astype(np.int64) for mask in masks]
    counts = np.array([members[p].size for p in visit_profile], dtype=np.int64)
    ptr = np.zeros(len(visits) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    flat = (
        np.concatenate([members[p] for p in visit_profile])
        if len(visits)
        else np.zeros(0, np.int64)
    )
    drop = _barred_positions(barred, visit_profile, masks, members, ptr)
    if drop.size == 0:
        return CandidateTable.from_ptr(ptr, flat)
    keep = np.ones(flat.size, dtype=np.bool_)
    keep[drop] = False
    removed = np.bincount(np.searchsorted(ptr, drop, side="right") - 1, minlength=len(visits))
    new_ptr = ptr.copy()
    new_ptr[1:] -= np.cumsum(removed)
    return CandidateTable.from_ptr(new_ptr, flat[keep])


def _barred_positions(
    barred: Collection[tuple[int, int]],
    visit_profile: IntArray,
    masks: list[BoolArray],
    members: list[IntArray],
    ptr: IntArray,
) -> IntArray:
    """Positions in the flat candidate array of barred pairs that would otherwise be there."""
    by_profile: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for visit, inspector in set(barred):
        profile = int(visit_profile[visit])
        if masks[profile][inspector]:
            by_profile[profile].append((visit, inspector))
    chunks = []
    for profile, pairs in by_profile.items():
        pair_array = np.array(pairs, dtype=np.int64)
        offset = np.searchsorted(members[profile], pair_array[:, 1])
        chunks.append(ptr[pair_array[:, 0]] + offset)
    return np.sort(np.concatenate(chunks)) if chunks else np.zeros(0, np.int64)

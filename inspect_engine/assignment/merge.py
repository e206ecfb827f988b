"""Build one visit's requirements from the several tasks and items merged into it.

A visit merges every selected task on one enterprise (进一次门、查多项事), so its office mode,
team size and qualifications come from all of them; these helpers are the single place
where that merging is defined.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspect_engine.assignment.types import MIN_TEAM_SIZE, DepartmentNeed, OfficeMode


def merge_office_mode(modes: Iterable[OfficeMode | str]) -> OfficeMode:
    """Every condition of the visit's tasks: a local task and a cross_office task make
    local_cross (the enterprise's district, not its own office); otherwise the strictest.

    No task at all means the tasks.csv default, cross_office.
    """
    parsed = {OfficeMode(mode) for mode in modes}
    if not parsed:
        return OfficeMode.CROSS_OFFICE
    local = bool(parsed & {OfficeMode.LOCAL, OfficeMode.LOCAL_CROSS})
    cross = bool(parsed & {OfficeMode.CROSS_OFFICE, OfficeMode.LOCAL_CROSS})
    if local and cross:
        return OfficeMode.LOCAL_CROSS
    if cross:
        return OfficeMode.CROSS_OFFICE
    return OfficeMode.LOCAL if local else OfficeMode.ANY


def merge_team_size(
    task_team_sizes: Iterable[int],
    item_min_inspectors: Iterable[int | None] = (),
    departments: int = 1,
) -> int:
    """Largest of the tasks' team_size and the items' min_inspectors, never below 2.

    A joint visit also needs one place per participating department, so the size is raised
    to the number of departments when that is larger.
    """
    sizes = [*task_team_sizes, *(m for m in item_min_inspectors if m is not None)]
    return max([MIN_TEAM_SIZE, departments, *sizes])


def department_needs(items: Iterable[tuple[str, str | None]]) -> tuple[DepartmentNeed, ...]:
    """Per department, the union of its items' qualifications, from (department, qualification).

    An item without a qualification still makes its department take part. The result is
    sorted by department code so that equal visits compare equal.
    """
    merged: dict[str, set[str]] = {}
    for department, qualification in items:
        quals = merged.setdefault(department, set())
        if qualification:
            quals.add(qualification)
    return tuple(DepartmentNeed(dept, frozenset(quals)) for dept, quals in sorted(merged.items()))

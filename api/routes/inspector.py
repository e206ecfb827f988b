"""Inspectors: their own assignments only, and the results of their own visits. Another
inspector's visit is simply not there (404), so nothing leaks about it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi import Path as PathParam

from api import schemas
from api.deps import InspectorUser, SessionDep, actor
from api.links import follow
from api.pagination import Cursor, Limit, decode_cursor, page
from api.schemas import MONTH_PATTERN, Page
from inspect_engine.workflows import results

router = APIRouter(prefix="/inspector", tags=["inspector"])

VisitCode = Annotated[str, PathParam(max_length=32, examples=["2026-12-000017"])]


def _inspector_id(user: InspectorUser) -> str:
    assert user.inspector_id is not None  # enforced when the user was created
    return user.inspector_id


def _visit(visit: results.AssignedVisit) -> schemas.AssignedVisitOut:
    return schemas.AssignedVisitOut.model_validate(visit, from_attributes=True)


@router.get(
    "/visits",
    responses={
        200: {
            "description": "a page of your visits",
            "links": {
                "visit": follow(
                    "/inspector/visits/{visit_code}",
                    visit_code="$response.body#/items/0/visit_code",
                ),
                "report": follow(
                    "/inspector/visits/{visit_code}/results",
                    "post",
                    visit_code="$response.body#/items/0/visit_code",
                ),
                "task_document": follow(
                    "/field/visits/{visit_code}/{kind}.pdf",
                    visit_code="$response.body#/items/0/visit_code",
                ),
            },
        }
    },
)
def my_visits(
    session: SessionDep,
    user: InspectorUser,
    month: Annotated[
        str | None, Query(pattern=MONTH_PATTERN, description="default: this month")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.AssignedVisitOut]:
    """Your visits of the month, open visits first: the enterprise, the items with their
    legal basis, and your team mates' certificate numbers."""
    key = decode_cursor(cursor, int, str)
    chosen = month or results.today_in_shanghai().strftime("%Y-%m")
    visits = results.inspector_visits(
        session,
        _inspector_id(user),
        chosen,
        after=(key[0], key[1]) if key else None,
        limit=limit + 1,
    )
    kept, next_cursor = page(visits, limit, lambda v: [int(v.status == "visited"), v.visit_code])
    return Page(items=[_visit(v) for v in kept], next_cursor=next_cursor)


@router.get("/visits/{visit_code}")
def my_visit(
    session: SessionDep, user: InspectorUser, visit_code: VisitCode
) -> schemas.AssignedVisitOut:
    return _visit(results.inspector_visit(session, _inspector_id(user), visit_code))


@router.post("/visits/{visit_code}/results", status_code=status.HTTP_201_CREATED)
def submit_result(
    session: SessionDep, user: InspectorUser, visit_code: VisitCode, body: schemas.ResultIn
) -> schemas.SubmittedOut:
    """Report one item's result (official result code, optional note). You may change it
    until a supervisor approves it."""
    row = results.submit_result(
        session,
        inspector_id=_inspector_id(user),
        visit_code=visit_code,
        item_code=body.item_code,
        result=body.result,
        inspected_on=body.inspected_on,
        note=body.note,
        actor=actor(user),
    )
    return schemas.SubmittedOut(
        result_id=row.id,
        visit_code=visit_code,
        item_code=row.item_code,
        result=row.result,
        inspected_on=row.inspected_on,
        status=row.status,
    )

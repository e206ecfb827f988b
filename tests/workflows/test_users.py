from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.workflows.users import (
    NotAuthenticated,
    Role,
    authenticate,
    create_user,
    deactivate_user,
    hash_token,
    issue_token,
    revoke_tokens,
)
from tests.workflows import tinycity


def _directories(session: Session) -> None:
    tinycity.build(session, enterprises=10)
    session.add(
        models.Inspector(
            inspector_id="S01",
            name="检查员甲",
            department="SAMR",
            unit="440106-01",
            district="440106",
            certificate_expires=date(2028, 1, 1),
            monthly_capacity=10,
        )
    )
    session.flush()


def test_each_role_signs_in_with_its_scope(session: Session) -> None:
    _directories(session)
    create_user(session, "root", "admin")
    create_user(session, "wang", "supervisor", departments=["SAMR", "FIRE"])
    create_user(session, "li", "inspector", inspector_id="S01")
    create_user(session, "zhao", "auditor")
    tokens = {name: issue_token(session, name).token for name in ("root", "wang", "li", "zhao")}
    wang = authenticate(session, tokens["wang"])
    assert wang.role is Role.SUPERVISOR and wang.departments == {"FIRE", "SAMR"}
    assert wang.covers(["SAMR"]) and not wang.covers(["SAMR", "HEALTH"])
    assert authenticate(session, tokens["li"]).inspector_id == "S01"
    assert authenticate(session, tokens["root"]).covers(["ANY"])  # admins cover everything
    assert authenticate(session, tokens["zhao"]).role is Role.AUDITOR


def test_only_the_hash_of_a_token_is_stored(session: Session) -> None:
    _directories(session)
    create_user(session, "root", "admin")
    issued = issue_token(session, "root")
    stored = session.scalars(select(models.ApiToken.token_hash)).all()
    assert stored == [hash_token(issued.token)]
    assert issued.token not in stored and len(issued.token) > 40
    dump = session.execute(text("SELECT * FROM api_tokens")).all()
    assert all(issued.token not in map(str, row) for row in dump)


@pytest.mark.parametrize(
    ("role", "kwargs", "error", "message"),
    [
        ("supervisor", {}, InvalidInput, "at least one department"),
        ("supervisor", {"departments": ["NOPE"]}, InvalidInput, "unknown department"),
        ("inspector", {}, InvalidInput, "needs the inspector_id"),
        ("inspector", {"inspector_id": "X99"}, InvalidInput, "unknown inspector"),
        ("auditor", {"departments": ["SAMR"]}, InvalidInput, "only supervisors"),
        ("admin", {"inspector_id": "S01"}, InvalidInput, "only inspector users"),
        ("root", {}, InvalidInput, "is not one of"),
    ],
)
def test_users_are_checked_when_created(
    session: Session, role: str, kwargs: dict[str, object], error: type, message: str
) -> None:
    _directories(session)
    with pytest.raises(error, match=message):
        create_user(session, "someone", role, **kwargs)  # type: ignore[arg-type]


def test_duplicate_and_bad_usernames(session: Session) -> None:
    _directories(session)
    create_user(session, "root", "admin")
    with pytest.raises(Conflict):
        create_user(session, "root", "auditor")
    with pytest.raises(InvalidInput, match="username"):
        create_user(session, "a b", "auditor")


def test_revoked_tokens_and_deactivated_users_are_refused(session: Session) -> None:
    _directories(session)
    create_user(session, "wang", "supervisor", departments=["SAMR"])
    first, second = issue_token(session, "wang"), issue_token(session, "wang")
    assert revoke_tokens(session, "wang", token_id=first.token_id) == 1
    with pytest.raises(NotAuthenticated):
        authenticate(session, first.token)
    assert authenticate(session, second.token).username == "wang"
    with pytest.raises(NotFound):
        revoke_tokens(session, "wang", token_id=first.token_id)  # already revoked
    third = issue_token(session, "wang")
    deactivate_user(session, "wang")
    for token in (second.token, third.token):
        with pytest.raises(NotAuthenticated):
            authenticate(session, token)
    with pytest.raises(Conflict):
        issue_token(session, "wang")
    for missing in (None, "", "ie_not-a-token"):
        with pytest.raises(NotAuthenticated):
            authenticate(session, missing)
    actions = session.scalars(select(models.AuditEntry.action)).all()
    assert actions.count("token.issue") == 3 and "user.deactivate" in actions

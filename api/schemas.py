"""Request and response bodies, with the examples shown in the OpenAPI document.

Public schemas never carry a risk class, a λ per enterprise or an inspector's name."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from inspect_engine.publication.result_codes import CODES

T = TypeVar("T")

ResultCodeName = Literal[
    "no_problem",
    "not_disclosed",
    "false_disclosure",
    "unreachable",
    "corrected",
    "pending",
    "non_cooperation",
    "no_activity",
    "closed",
    "deregistered",
]
assert set(ResultCodeName.__args__) == set(CODES)  # type: ignore[attr-defined]

MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"  # years 1000-9999: no year 0
CREDIT_CODE_EXAMPLE = "91440106MA5CXXXX0X"


def example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `?cursor=` for the next (null: last page)."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["WyIyMDI2LTEyIl0"])


# --------------------------------------------------------------------------- public


HASH_EXAMPLE = "9f2c" + "0" * 60


class PublishedHeadOut(BaseModel):
    """A head of the audit chain: `sequence` entries, the last hashing to `entry_hash`;
    `head` is both as `inspect-engine audit verify --expect-head` takes them."""

    sequence: int = Field(examples=[1834])
    entry_hash: str = Field(examples=[HASH_EXAMPLE])
    head: str = Field(examples=[f"1834:{HASH_EXAMPLE}"])
    occasion: str = Field(examples=["draw"], description="daily|freeze|draw|publication")
    subject: str = Field(examples=["2026-12"], description="the month, visit or day")
    published_at: datetime


class AuditHeadsOut(BaseModel):
    """The heads of the audit chain published daily and at every freeze, draw and
    publication, newest first, `latest` the newest of all. Keep copies: a log rewritten
    later no longer reaches them (docs/audit.md)."""

    latest: PublishedHeadOut | None
    published: Page[PublishedHeadOut]


class ItemRef(BaseModel):
    item_code: str = Field(examples=["SAMR-FOOD"])
    department: str = Field(examples=["SAMR"])
    title: str = Field(examples=["餐饮服务食品安全检查"])
    legal_basis: str = Field(examples=["《中华人民共和国食品安全法》第一百一十条"])
    kind: str = Field(examples=["general"])


class ClassCount(BaseModel):
    """One risk class of a task: how many units, at which λ. Class-level counts only: which
    enterprise is in which class is never public, hence not how many of a class were drawn
    either (beside the public list of drawn units it would reveal a small class)."""

    risk_class: str = Field(examples=["C"])
    units: int = Field(examples=[1200])
    lam: str = Field(examples=["0.1"], description="inclusion probability of the class")


class PublicTask(BaseModel):
    model_config = example(
        task_code="2026-12-SAMR-FOOD",
        title="2026年12月餐饮联合抽查",
        targeted=True,
        filters={"industries": ["H62"]},
        items=[],
        ratios={"A": "0.01", "B": "0.03", "C": "0.1", "D": "0.3"},
        floor="0.002",
        frame_hash="9f2c…",
        frame_units=5400,
        n=212,
        classes=[],
    )

    task_code: str
    title: str
    targeted: bool
    filters: dict[str, list[str]]
    items: list[ItemRef]
    ratios: dict[str, str]
    floor: str
    # λ per class chosen when the draw was sized to the staff (`--fit-capacity`); null:
    # the ratios were drawn with as they are
    sized_ratios: dict[str, str] | None = None
    min_ratio: str | None = None
    frame_hash: str | None = None
    frame_units: int | None = None
    n: int | None = Field(default=None, description="number drawn")
    classes: list[ClassCount] = []
    draw_url: str | None = None


class PublicPlanSummary(BaseModel):
    model_config = example(
        month="2026-12",
        status="drawn",
        task_count=2,
        commitment="5d41402abc4b2a76b9719d911017c592…",
        committed_at="2026-11-28T02:00:00Z",
        drawn_at="2026-11-30T02:00:00Z",
        published_at=None,
    )

    month: str
    status: str
    task_count: int
    group_hash: str | None = None
    commitment: str | None = None
    committed_at: datetime | None = None
    drawn_at: datetime | None = None
    published_at: datetime | None = None
    # The second random's commitment (the staffing snapshot's hash) and the declared source
    # of the contribution, both published at the freeze.
    staffing_hash: str | None = None
    contribution_source: str | None = None


class VoidedCommitment(BaseModel):
    """A commitment voided by a public refreeze: its nonce was lost before the draw."""

    commitment: str
    committed_at: datetime
    voided_at: datetime
    reason: str


class PublicPlan(PublicPlanSummary):
    contribution: str | None = None
    seed: str | None = None
    visits: int | None = None
    team_events: int = Field(
        default=0, description="changes to the staffing recorded after the freeze (events)"
    )
    voided_commitments: list[VoidedCommitment] = Field(default_factory=list)
    tasks: list[PublicTask] = Field(default_factory=list)


class Verification(BaseModel):
    verifier_url: str = Field(examples=["/public/verify.py"])
    record_url: str = Field(examples=["/public/draws/2026-12-SAMR-FOOD/record.json"])
    command: str = Field(examples=["python3 verify.py 2026-12-SAMR-FOOD.json"])
    instructions: str


class PublicDraw(BaseModel):
    """The public ie-draw-v1 record (without the frame) and how to check it."""

    record: dict[str, Any] = Field(
        examples=[{"protocol": "ie-draw-v1", "task_code": "2026-12-SAMR-FOOD", "n": 212}]
    )
    verification: Verification


class PublicResult(BaseModel):
    """One published result: what the publicity system shows (公示)."""

    model_config = example(
        id=1201,
        credit_code=CREDIT_CODE_EXAMPLE,
        enterprise_name="广州市某某餐饮有限公司",
        district="440106",
        department="SAMR",
        task_code="2026-12-SAMR-FOOD",
        item_code="SAMR-FOOD",
        item_title="餐饮服务食品安全检查",
        result="corrected",
        result_label="发现问题经责令已改正",
        inspected_on="2026-12-09",
        published_at="2026-12-20T03:00:00Z",
        version=2,
        state="current",
        corrected=True,
        reason="企业提出异议，经复核更正",
    )

    id: int
    credit_code: str
    enterprise_name: str
    district: str
    department: str
    task_code: str
    item_code: str
    item_title: str
    result: str
    result_label: str
    inspected_on: date
    published_at: datetime
    version: int
    state: Literal["current", "corrected", "withdrawn"]
    corrected: bool = Field(description="this version corrects an earlier publication")
    reason: str | None = Field(default=None, description="why it was corrected or withdrawn")


class PublicResultDetail(PublicResult):
    task_title: str | None = None
    history: list[PublicResult] = Field(
        default_factory=list, description="every published version, newest first"
    )


class PublicEnterprise(BaseModel):
    model_config = example(
        credit_code=CREDIT_CODE_EXAMPLE,
        name="广州市某某餐饮有限公司",
        district="440106",
        entity_type="company",
        industry="H62",
        status="active",
        results=[],
    )

    credit_code: str
    name: str
    district: str
    entity_type: str
    industry: str
    status: str
    results: list[PublicResult]


# --------------------------------------------------------------------------- supervisors


class ImportReportOut(BaseModel):
    model_config = example(kind="items", rows=120, new_rows=3, changed_rows=2, warnings=[])

    kind: str
    rows: int
    new_rows: int
    changed_rows: int = Field(0, description="stored rows whose values the file changed")
    warnings: list[str]


class PlanTasksOut(BaseModel):
    month: str = Field(examples=["2026-12"])
    tasks: list[str] = Field(examples=[["2026-12-INFO", "2026-12-FOOD"]])
    warnings: list[str] = Field(default_factory=list, examples=[[]])
    sizing: dict[str, Any] | None = None  # `fit_capacity`: the λ chosen and the loads


class SizingOut(BaseModel):
    """The draw sized to the staff: λ per task and class, sample sizes, expected problems
    found per task, and each capacity row's expected load beside its capacity
    (inspector-visits in the plan's window after leave, times the utilisation target)."""

    month: str
    stored: bool  # kept with the plan (the freeze draws with it) or only previewed
    sizing: dict[str, Any]


class PlanStatus(BaseModel):
    month: str
    status: str
    tasks: list[str]
    departments: list[str]
    commitment: str | None = None
    committed_at: datetime | None = None
    seed: str | None = None
    published_at: datetime | None = None
    summary: dict[str, Any] = {}


class FramePreview(BaseModel):
    """预览: a task's frame before freezing; counts only."""

    model_config = example(
        task_code="2026-12-INFO",
        in_scope=5100,
        units=4800,
        expected_size=212.4,
        classes={
            "A": {
                "units": 2000,
                "lambda": "0.05",
                "expected": 100.0,
                "ratio": "0.05",
                "target": "0.05",
                "pi": "0.049999998",
            }
        },
        inclusion=[{"lambda": "0.05", "pi": "0.049999998"}],
        exclusions={"status_not_active": 300},
    )

    task_code: str
    in_scope: int
    units: int
    expected_size: float
    # per class: units, λ drawn with, expected; the task's ratio, the promise, exact π
    classes: dict[str, dict[str, Any]]
    inclusion: list[dict[str, str]] = []  # each distinct λ with its exact π
    exclusions: dict[str, int]


class FrozenFrameOut(BaseModel):
    task_code: str
    frame_hash: str
    units: int
    expected_size: float
    exclusions: dict[str, int]


class FreezeOut(BaseModel):
    model_config = example(
        month="2026-12",
        group_hash="e3b0c442…",
        commitment="5d41402a…",
        committed_at="2026-11-28T02:00:00Z",
        frames=[],
        next_step="publish the commitment, then POST the public contribution to /draw",
    )

    month: str
    group_hash: str
    commitment: str
    staffing_hash: str | None = None
    contribution_source: str | None = None
    committed_at: str
    frames: list[FrozenFrameOut]
    next_step: str


class DrawIn(BaseModel):
    model_config = example(contribution="2026-11-30 福彩3D 第2026318期 开奖号码 5 8 2")

    contribution: str = Field(
        min_length=1,
        max_length=1000,
        description="the public random value, fixed in a public act after the commitment; "
        "used exactly as entered",
    )


class RefreezeIn(BaseModel):
    model_config = example(reason="the nonce key was lost with the old server's disk")

    reason: str = Field(
        min_length=1, max_length=1000, description="why, shown to the public with the voiding"
    )


class RefreezeOut(BaseModel):
    month: str
    voided_commitment: str
    voided_committed_at: str
    reason: str
    commitment: str
    committed_at: str
    group_hash: str


class DrawOut(BaseModel):
    month: str
    seed: str
    visits: int
    first_request: bool = Field(description="false: the plan had been drawn, these are its records")
    summary: dict[str, Any]
    tasks: list[dict[str, Any]] = Field(description="per task: task_code, n, selected count")


class AssignOut(BaseModel):
    month: str
    visits: int
    staffed: int
    unstaffed: list[list[str]]
    partial: bool
    first_request: bool
    fairness: dict[str, Any]


class ResultRowOut(BaseModel):
    model_config = example(
        result_id=17,
        visit_code="2026-12-000017",
        month="2026-12",
        credit_code=CREDIT_CODE_EXAMPLE,
        enterprise_name="广州市某某餐饮有限公司",
        item_code="SAMR-FOOD",
        department="SAMR",
        version=1,
        result="no_problem",
        inspected_on="2026-12-09",
        note=None,
        status="submitted",
        submitted_by="inspector1",
        review_note=None,
    )

    result_id: int
    visit_code: str
    month: str
    credit_code: str
    enterprise_name: str
    item_code: str
    department: str
    version: int
    result: str
    inspected_on: date
    note: str | None
    status: str
    submitted_by: str | None
    review_note: str | None


class ReviewIn(BaseModel):
    model_config = example(decision="return", reason="检查日期与检查记录不符，请核实")

    decision: Literal["approve", "return"]
    reason: str | None = Field(default=None, max_length=2000)


class CorrectionIn(BaseModel):
    model_config = example(
        result="corrected", reason="企业提出异议，经复核已整改完毕", note="复核记录 2026-12-20"
    )

    result: ResultCodeName
    reason: str = Field(min_length=1, max_length=2000)
    inspected_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)


class WithdrawIn(BaseModel):
    model_config = example(reason="检查人员未持有效执法证件，本次检查无效")

    reason: str = Field(min_length=1, max_length=2000)


class PublicationOut(BaseModel):
    publication_id: int
    result_id: int
    state: str
    version: int
    result: str
    reason: str | None


class PublishIn(BaseModel):
    month: str = Field(pattern=MONTH_PATTERN, examples=["2026-12"])


class PublishOut(BaseModel):
    model_config = example(month="2026-12", published=320, visits=150, late=0, history_rows=320)

    month: str
    published: int
    visits: int
    late: int
    history_rows: int


class ResultsImportOut(BaseModel):
    model_config = example(rows=40, new=38, updated=2, unchanged=0, warnings=[])

    rows: int
    new: int
    updated: int
    unchanged: int
    warnings: list[str]


class OverdueOut(BaseModel):
    result_id: int
    visit_code: str
    credit_code: str
    enterprise_name: str
    item_code: str
    department: str
    status: str
    inspected_on: date
    due_on: date
    due_provisional: bool = Field(
        description="暂定: counted on Monday–Friday for a year whose official calendar is not "
        "imported yet; recomputed when it is"
    )


class OutlierOut(BaseModel):
    model_config = example(
        inspector_id="S44010601",
        name="张三",
        visits=48,
        problems=2.0,
        expected=9.6,
        ratio=0.21,
        z=-3.4,
        flag=-1,
    )

    inspector_id: str
    name: str
    visits: int
    problems: float
    expected: float
    ratio: float
    z: float
    flag: int = Field(description="+1 finds more than expected, -1 fewer, 0 within limits")


class ItemOut(ItemRef):
    entity_types: str | None
    industries: str | None
    licences: str | None
    qualification: str | None
    min_inspectors: int


# --------------------------------------------------------------------------- inspectors


class TeamMateOut(BaseModel):
    inspector_id: str = Field(description="enforcement certificate number")
    name: str
    role: str


class VisitItemOut(BaseModel):
    item_code: str
    department: str
    title: str
    legal_basis: str
    result: str | None
    status: str | None
    review_note: str | None


class AssignedVisitOut(BaseModel):
    model_config = example(
        visit_code="2026-12-000017",
        month="2026-12",
        status="planned",
        credit_code=CREDIT_CODE_EXAMPLE,
        enterprise_name="广州市某某餐饮有限公司",
        address="广州市天河区某路1号",
        district="440106",
        task_codes=["2026-12-FOOD"],
        items=[],
        team=[],
    )

    visit_code: str
    month: str
    status: str
    credit_code: str
    enterprise_name: str
    address: str | None
    district: str
    task_codes: list[str]
    items: list[VisitItemOut]
    team: list[TeamMateOut]
    carried: bool = Field(
        False, description="carried over from last month (结转): scheduled first this month"
    )


class ResultIn(BaseModel):
    model_config = example(
        item_code="SAMR-FOOD", result="no_problem", inspected_on="2026-12-09", note=None
    )

    item_code: str = Field(min_length=1, max_length=64)
    result: ResultCodeName
    inspected_on: date
    note: str | None = Field(default=None, max_length=2000)


class SubmittedOut(BaseModel):
    result_id: int
    visit_code: str
    item_code: str
    result: str
    inspected_on: date
    status: str


# --------------------------------------------------------------------------- auditors


class FrameOut(BaseModel):
    task_code: str
    month: str
    frame_hash: str
    units: int
    classes: dict[str, Any]
    exclusions: dict[str, int]
    lambda_provenance: dict[str, Any]
    frozen_at: datetime


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    entry_hash: str


# --------------------------------------------------------------------------- admin


class UserIn(BaseModel):
    model_config = example(username="wang.supervisor", role="supervisor", departments=["SAMR"])

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["admin", "supervisor", "inspector", "auditor"]
    departments: list[str] = Field(default_factory=list, max_length=50)
    inspector_id: str | None = Field(default=None, max_length=32)


class UserOut(BaseModel):
    username: str
    role: str
    departments: list[str]
    inspector_id: str | None
    active: bool


class TokenIn(BaseModel):
    expires_days: int | None = Field(
        default=None, ge=1, le=3660, description="days until the token expires; omit: never"
    )


class TokenOut(BaseModel):
    model_config = example(
        token="ie_3q2…",
        token_id=4,
        username="wang.supervisor",
        expires_at="2027-03-01T08:00:00Z",
        issued_by="admin",
    )

    token: str = Field(description="shown once: only its SHA-256 is stored")
    token_id: int
    username: str
    expires_at: datetime | None = Field(default=None, description="null: until revoked")
    issued_by: str = Field(description="who issued it (recorded with the token)")


class RevokeIn(BaseModel):
    token_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="one token; omit to revoke all"
    )


class RevokeOut(BaseModel):
    revoked: int


class MeOut(BaseModel):
    username: str
    role: str
    departments: list[str]
    inspector_id: str | None

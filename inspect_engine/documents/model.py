"""What the printed documents of one visit say, as plain frozen dataclasses (no database).

`inspect_engine.workflows.field` fills them from a visit; `pdf` lays them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ROLE_LABELS = {"lead": "组长", "member": "组员"}


def group_code(code: str, size: int = 4) -> str:
    """A verification code in groups of four, easier to read aloud and to type."""
    return " ".join(code[k : k + size] for k in range(0, len(code), size))


@dataclass(frozen=True)
class DocTask:
    """抽查任务 that carried the enterprise into this visit."""

    task_code: str
    title: str
    targeted: bool

    @property
    def kind(self) -> str:
        return "定向" if self.targeted else "不定向"


@dataclass(frozen=True)
class DocItem:
    """抽查事项 with its legal basis (检查依据)."""

    item_code: str
    title: str
    legal_basis: str
    department: str  # the department's name as printed


@dataclass(frozen=True)
class DocMember:
    """One inspector of the team. The notice and the public page show only the
    certificate number; the name appears on the team's own task document."""

    inspector_id: str  # the enforcement certificate number (执法证号)
    name: str
    role: str  # lead | member
    department: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


@dataclass(frozen=True)
class DocEnterprise:
    name: str
    credit_code: str
    address: str | None


@dataclass(frozen=True)
class Verification:
    """The visit's verification code, where to check it, and when it is valid."""

    code: str
    url: str
    valid_from: date
    valid_until: date

    @property
    def grouped(self) -> str:
        return group_code(self.code)


@dataclass(frozen=True)
class VisitDocument:
    """Everything the task document (检查任务书) and the notice (告知书) print."""

    issuer: str  # the authority that sends the team, printed above the title
    visit_code: str
    plan_month: str  # YYYY-MM; the month's plan is numbered by its month
    departments: tuple[str, ...]  # names of the departments taking part
    enterprise: DocEnterprise
    tasks: tuple[DocTask, ...]
    items: tuple[DocItem, ...]
    team: tuple[DocMember, ...]
    verification: Verification
    issued_on: date
    contact: str | None = None  # whom the enterprise may call (recusal, questions)
    # The scheduled working day (ie-teams-v2): printed on the team's task document only,
    # never on the enterprise's notice (the day is not public).
    visit_on: date | None = None

    @property
    def joint(self) -> bool:
        """部门联合检查: several departments, one visit."""
        return len(self.departments) > 1

    @property
    def plan_title(self) -> str:
        year, month = self.plan_month.split("-")
        return f"{year}年{int(month)}月双随机抽查计划"

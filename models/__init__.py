"""SQLAlchemy 2.x typed models. No business rules live here."""

from models.audit import AuditEntry, ImportChangeLog, PublishedHead
from models.auth import ApiToken, SignInThrottle, User, WebSession
from models.base import Base
from models.calendar import CalendarEventVersion, CalendarLink
from models.directory import (
    CalendarDay,
    Conflict,
    Department,
    Enterprise,
    Inspector,
    Item,
    Leave,
    Unit,
)
from models.field import ConfirmationDelivery, VerifyMiss, VerifyScan, VisitFeedback
from models.history import AnnualReport, Complaint, Inspection, ListMembership, Penalty
from models.planning import (
    AssignmentRun,
    CarryOver,
    Draw,
    Frame,
    Plan,
    Publication,
    Result,
    Selection,
    StaffingSnapshot,
    Task,
    TeamEvent,
    TeamMember,
    Visit,
    VisitInclusion,
)
from models.risk import ModelVersion, RiskScore
from models.snapshots import ColumnSnapshot

__all__ = [
    "AnnualReport",
    "ApiToken",
    "AssignmentRun",
    "AuditEntry",
    "Base",
    "CalendarDay",
    "CalendarEventVersion",
    "CalendarLink",
    "CarryOver",
    "ColumnSnapshot",
    "Complaint",
    "ConfirmationDelivery",
    "Conflict",
    "Department",
    "Draw",
    "Enterprise",
    "Frame",
    "ImportChangeLog",
    "Inspection",
    "Inspector",
    "Item",
    "Leave",
    "ListMembership",
    "ModelVersion",
    "Penalty",
    "Plan",
    "Publication",
    "PublishedHead",
    "Result",
    "RiskScore",
    "Selection",
    "SignInThrottle",
    "StaffingSnapshot",
    "Task",
    "TeamEvent",
    "TeamMember",
    "Unit",
    "User",
    "VerifyMiss",
    "VerifyScan",
    "Visit",
    "VisitFeedback",
    "VisitInclusion",
    "WebSession",
]

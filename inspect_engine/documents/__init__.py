"""Printable documents of a visit: the task document (检查任务书) and the notice to the
enterprise (告知书), as PDFs in Chinese with the visit's verification QR code.

Rendering works on plain dataclasses (`model`), never on the database: the workflow
`inspect_engine.workflows.field` builds them from a visit."""

from inspect_engine.documents.fonts import FontMissing, find_cjk_font, register_cjk_font
from inspect_engine.documents.model import (
    DocEnterprise,
    DocItem,
    DocMember,
    DocTask,
    Verification,
    VisitDocument,
    group_code,
)
from inspect_engine.documents.pdf import render_notice, render_task_document
from inspect_engine.documents.qr import qr_matrix, qr_svg

__all__ = [
    "DocEnterprise",
    "DocItem",
    "DocMember",
    "DocTask",
    "FontMissing",
    "Verification",
    "VisitDocument",
    "find_cjk_font",
    "group_code",
    "qr_matrix",
    "qr_svg",
    "register_cjk_font",
    "render_notice",
    "render_task_document",
]

"""The task document (检查任务书) and the notice (告知书) as A4 PDFs, laid out like the
official forms: issuing authority and title centred, a document number, ruled tables with
label cells, the verification block with its QR code, a seal and date line.

The CJK font is embedded (subset), so the text layer extracts as printed. Rendering is
deterministic: the same document gives the same bytes (reportlab's invariant mode)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from inspect_engine.documents import texts
from inspect_engine.documents.fonts import register_cjk_font
from inspect_engine.documents.model import VisitDocument
from inspect_engine.documents.qr import QUIET_ZONE, dark_runs, qr_matrix

MARGIN = 20 * mm
WIDTH = A4[0] - 2 * MARGIN
LABEL_WIDTH = 36 * mm
QR_SIZE = 32 * mm
GRID = colors.black
LABEL_FILL = colors.Color(0.94, 0.94, 0.94)


@dataclass(frozen=True)
class Styles:
    font: str
    issuer: ParagraphStyle
    title: ParagraphStyle
    number: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    small: ParagraphStyle
    point: ParagraphStyle
    right: ParagraphStyle

    @classmethod
    def of(cls, font: str) -> Styles:
        def style(name: str, size: float, **extra: Any) -> ParagraphStyle:
            # wordWrap CJK: Chinese lines break between any two characters
            return ParagraphStyle(
                name, fontName=font, fontSize=size, leading=size * 1.5, wordWrap="CJK", **extra
            )

        return cls(
            font=font,
            issuer=style("issuer", 15, alignment=TA_CENTER),
            title=style("title", 20, alignment=TA_CENTER, spaceBefore=2 * mm, spaceAfter=2 * mm),
            number=style("number", 10, alignment=TA_RIGHT),
            heading=style("heading", 12, spaceBefore=4 * mm, spaceAfter=1.5 * mm),
            body=style("body", 10.5, firstLineIndent=21),
            cell=style("cell", 10),
            small=style("small", 8.5, textColor=colors.Color(0.3, 0.3, 0.3)),
            # numbered paragraphs: the number hangs, the text keeps its left edge
            point=style("point", 10, leftIndent=13, firstLineIndent=-13, spaceAfter=1),
            right=style("right", 10.5, alignment=TA_RIGHT),
        )


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class QrFlowable(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A QR code drawn as vector squares (sharp at any print resolution)."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.text, self.size = text, size
        self.width = self.height = size

    def draw(self) -> None:
        matrix = qr_matrix(self.text)
        cells = len(matrix) + 2 * QUIET_ZONE
        box = self.size / cells
        drawing = Drawing(self.size, self.size)
        for row, col, run in dark_runs(matrix):
            top = self.size - (row + QUIET_ZONE + 1) * box
            drawing.add(
                Rect(
                    (col + QUIET_ZONE) * box,
                    top,
                    run * box,
                    box,
                    fillColor=colors.black,
                    strokeColor=None,
                    strokeWidth=0,
                )
            )
        drawing.drawOn(self.canv, 0, 0)


def _ruled(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    header: bool = False,
    label_column: bool = False,
) -> Table:
    table = Table(list(rows), colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.6, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), LABEL_FILL))
    if label_column:
        commands.append(("BACKGROUND", (0, 0), (0, -1), LABEL_FILL))
    table.setStyle(TableStyle(commands))
    return table


def _head(doc: VisitDocument, title: str, s: Styles) -> list[Flowable]:
    return [
        _p(doc.issuer, s.issuer),
        _p(title, s.title),
        _p(f"编号：{doc.visit_code}", s.number),
        Spacer(1, 2 * mm),
    ]


def _items_table(doc: VisitDocument, s: Styles) -> Table:
    rows: list[list[Any]] = [[_p(h, s.cell) for h in ("序号", "抽查事项", "检查依据", "实施部门")]]
    for k, item in enumerate(doc.items, start=1):
        rows.append(
            [
                _p(str(k), s.cell),
                Paragraph(f"{escape(item.title)}<br/>（{escape(item.item_code)}）", s.cell),
                _p(item.legal_basis, s.cell),
                _p(item.department, s.cell),
            ]
        )
    return _ruled(rows, [12 * mm, 55 * mm, 73 * mm, WIDTH - 140 * mm], header=True)


def _verification_block(doc: VisitDocument, s: Styles) -> Table:
    v = doc.verification
    link = f'<a href="{escape(v.url)}" color="blue">{escape(v.url)}</a>'
    code_style = ParagraphStyle("code", parent=s.cell, fontSize=10.5, leading=15)
    inner_width = WIDTH - QR_SIZE - 8 * mm
    facts = Table(
        [
            [_p("核验码", s.cell), _p(v.grouped, code_style)],
            [_p("核验网址", s.cell), Paragraph(link, s.small)],
            [_p("有效期", s.cell), _p(f"{_day(v.valid_from)}至{_day(v.valid_until)}", s.cell)],
            [_p(texts.verify_instructions(doc), s.small), ""],
        ],
        colWidths=[18 * mm, inner_width - 24 * mm],
    )
    facts.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 3), (1, 3)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    block = Table([[QrFlowable(v.url, QR_SIZE), facts]], colWidths=[QR_SIZE + 8 * mm, inner_width])
    block.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return block


def _seal(doc: VisitDocument, who: str, s: Styles) -> list[Flowable]:
    return [
        Spacer(1, 8 * mm),
        _p(f"{who}（印章）", s.right),
        Spacer(1, 2 * mm),
        _p(_day(doc.issued_on), s.right),
    ]


def _task_flowables(doc: VisitDocument, s: Styles) -> list[Flowable]:
    e = doc.enterprise
    tasks = "<br/>".join(f"{escape(t.task_code)}　{escape(t.title)}（{t.kind}）" for t in doc.tasks)
    mode = ("部门联合检查：" if doc.joint else "单部门检查：") + "、".join(doc.departments)
    v = doc.verification
    facts = [
        ("抽查计划", _p(f"{doc.plan_title}（计划编号：{doc.plan_month}）", s.cell)),
        ("抽查任务", Paragraph(tasks, s.cell)),
        ("检查方式", _p(mode, s.cell)),
        ("检查对象", _p(e.name, s.cell)),
        ("统一社会信用代码", _p(e.credit_code, s.cell)),
        ("地址", _p(e.address or "—", s.cell)),
        ("检查期限", _p(f"{_day(v.valid_from)}至{_day(v.valid_until)}", s.cell)),
    ]
    if doc.visit_on is not None:
        facts.append(("计划检查日期", _p(_day(doc.visit_on), s.cell)))
    team_rows: list[list[Any]] = [
        [_p(h, s.cell) for h in ("序号", "姓名", "执法证号", "所属部门", "职责")]
    ]
    for k, member in enumerate(doc.team, start=1):
        team_rows.append(
            [
                _p(str(k), s.cell),
                _p(member.name, s.cell),
                _p(member.inspector_id, s.cell),
                _p(member.department, s.cell),
                _p(member.role_label, s.cell),
            ]
        )
    duties = [_p(f"{k}. {text}", s.point) for k, text in enumerate(texts.TEAM_DUTIES, start=1)]
    return [
        *_head(doc, texts.TASK_TITLE, s),
        _ruled(
            [(_p(a, s.cell), b) for a, b in facts],
            [LABEL_WIDTH, WIDTH - LABEL_WIDTH],
            label_column=True,
        ),
        _p("一、检查事项", s.heading),
        _items_table(doc, s),
        _p("二、检查组", s.heading),
        _ruled(team_rows, [12 * mm, 30 * mm, 45 * mm, WIDTH - 112 * mm, 25 * mm], header=True),
        KeepTogether([_p("三、核验", s.heading), _verification_block(doc, s)]),
        KeepTogether([_p("四、工作要求", s.heading), *duties]),
        KeepTogether(_seal(doc, "派出机关", s)),
    ]


def _notice_flowables(doc: VisitDocument, s: Styles) -> list[Flowable]:
    e = doc.enterprise
    team_rows: list[list[Any]] = [[_p(h, s.cell) for h in ("序号", "执法证号", "所属部门", "职责")]]
    for k, member in enumerate(doc.team, start=1):
        team_rows.append(
            [
                _p(str(k), s.cell),
                _p(member.inspector_id, s.cell),
                _p(member.department, s.cell),
                _p(member.role_label, s.cell),
            ]
        )
    rights = [
        _p(f"{k}. {text}", s.point) for k, text in enumerate(texts.enterprise_rights(doc), start=1)
    ]
    receipt = Table(
        [[_p("受检单位签收：", s.cell), "", _p("签收日期：", s.cell), ""]],
        colWidths=[32 * mm, 58 * mm, 24 * mm, WIDTH - 114 * mm],
    )
    receipt.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (1, 0), (1, 0), 0.6, GRID),
                ("LINEBELOW", (3, 0), (3, 0), 0.6, GRID),
            ]
        )
    )
    return [
        *_head(doc, texts.NOTICE_TITLE, s),
        _p(f"{e.name}（统一社会信用代码：{e.credit_code}）：", s.cell),
        Spacer(1, 1.5 * mm),
        _p(texts.notice_opening(doc), s.body),
        _p("一、检查事项", s.heading),
        _items_table(doc, s),
        _p("二、检查人员（请核对执法证件上的执法证号）", s.heading),
        _ruled(team_rows, [12 * mm, 55 * mm, WIDTH - 92 * mm, 25 * mm], header=True),
        KeepTogether([_p("三、核验本次检查", s.heading), _verification_block(doc, s)]),
        _p("四、你单位的权利", s.heading),
        *rights,
        _p("五、你单位的义务", s.heading),
        _p(texts.ENTERPRISE_DUTY, s.point),
        KeepTogether([*_seal(doc, doc.issuer, s), Spacer(1, 8 * mm), receipt]),
    ]


def _footer(doc: VisitDocument, title: str, font: str) -> Callable[[Any, Any], None]:
    def draw(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.Color(0.35, 0.35, 0.35))
        text = f"{title} · {doc.visit_code} · 第 {template.page} 页"
        canvas.drawCentredString(A4[0] / 2, 12 * mm, text)
        canvas.restoreState()

    return draw


def _render(
    doc: VisitDocument,
    title: str,
    build: Callable[[VisitDocument, Styles], list[Flowable]],
    font_path: str | os.PathLike[str] | None,
) -> bytes:
    font = register_cjk_font(font_path)
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{title} {doc.visit_code}",
        author=doc.issuer,
        subject=doc.enterprise.name,
        creator="inspect-engine",
        invariant=1,
    )
    footer = _footer(doc, title, font)
    template.build(build(doc, Styles.of(font)), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def render_task_document(
    doc: VisitDocument, font_path: str | os.PathLike[str] | None = None
) -> bytes:
    """检查任务书: what the team carries (names and certificate numbers of the team)."""
    return _render(doc, texts.TASK_TITLE, _task_flowables, font_path)


def render_notice(doc: VisitDocument, font_path: str | os.PathLike[str] | None = None) -> bytes:
    """告知书: what the enterprise receives (certificate numbers only, its rights)."""
    return _render(doc, texts.NOTICE_TITLE, _notice_flowables, font_path)

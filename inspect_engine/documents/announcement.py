"""公告: the printable announcement of a frozen month's commitment, posted before the draw.

It fixes in public what the draw will use: the commitment to the secret nonce, the group
hash of the frames, the staffing hash, the time of the freeze and where the public
contribution will come from (declared at the freeze). Once printed, none of them can
change unnoticed: the draw record repeats them and the verifier checks the commitment.

Rendering is deterministic (reportlab's invariant mode): the same plan, the same bytes."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inspect_engine.documents.fonts import register_cjk_font

MARGIN = 20 * mm
NO_SOURCE = "未声明（冻结时未填写）"


@dataclass(frozen=True)
class Announcement:
    month: str
    issuer: str
    commitment: str
    group_hash: str
    staffing_hash: str | None
    committed_at: str  # UTC, as the draw record prints it
    contribution_source: str | None
    tasks: tuple[tuple[str, str, int], ...]  # task code, title, frame units


def render_announcement(
    notice: Announcement, font_path: str | os.PathLike[str] | None = None
) -> bytes:
    font = register_cjk_font(font_path)

    def style(name: str, size: float, **extra: object) -> ParagraphStyle:
        extra.setdefault("wordWrap", "CJK")  # Chinese lines break between any two characters
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.5, **extra)

    title = style("title", 18, alignment=TA_CENTER, spaceAfter=4 * mm)
    body = style("body", 10.5)
    code = style("code", 9.5, wordWrap=None, splitLongWords=1)  # hashes break anywhere

    def p(text: str, where: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), where)

    year, month = notice.month.split("-")
    facts = [
        ("承诺值 (commitment)", notice.commitment),
        ("任务组哈希 (group hash)", notice.group_hash),
        ("人员名录哈希 (staffing hash)", notice.staffing_hash or "—"),
        ("冻结时间 (UTC)", notice.committed_at),
        ("公开随机数的来源", notice.contribution_source or NO_SOURCE),
    ]
    rows = [[p(label), p(value, code if "哈希" in label or "承诺" in label else body)]
            for label, value in facts]  # fmt: skip
    table = Table(rows, colWidths=[48 * mm, A4[0] - 2 * MARGIN - 48 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, "black"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    tasks = Table(
        [[p("任务编号"), p("任务名称"), p("检查对象名录（户）")]]
        + [[p(c, code), p(t), p(str(n))] for c, t, n in notice.tasks],
        colWidths=[45 * mm, 85 * mm, 40 * mm],
    )
    tasks.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "black")]))
    flow = [
        p(notice.issuer, style("issuer", 14, alignment=TA_CENTER)),
        p(f"{year}年{int(month)}月“双随机、一公开”抽查摇号公告", title),
        p(
            "本月抽查任务的检查对象名录已冻结。摇号使用的秘密随机数已由下列承诺值锁定，"
            "摇号时另取一个公开随机数；两者合成种子，任何人可用公开的核验程序复算抽取结果。"
        ),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 4 * mm),
        p("本月抽查任务"),
        tasks,
        Spacer(1, 4 * mm),
        p(
            "摇号后公布的摇号记录将载明上述承诺值、公开随机数及秘密随机数；"
            "若记录与本公告不一致，摇号结果无效。"
        ),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{notice.month} 摇号公告",
        invariant=1,
    ).build(flow)
    return out.getvalue()

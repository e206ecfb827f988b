"""The two PDFs of a joint visit: their text layer, the link and QR code they carry, and a
rendered page kept in artifacts/ (a CI artefact)."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from inspect_engine.documents import (
    DocEnterprise,
    DocItem,
    DocMember,
    DocTask,
    FontMissing,
    Verification,
    VisitDocument,
    find_cjk_font,
    qr_svg,
    render_notice,
    render_task_document,
)
from tests.field.conftest import ARTIFACTS

CODE = "K7QX2MZ4TB6WJ3NAPRD5VYC7HLE2SGUF4OIXQ6ZA"
URL = f"https://scjg.example.gov.cn/v/{CODE}"
ITEMS = (
    DocItem(
        "SAMR-FOOD",
        "餐饮服务食品安全检查",
        "《中华人民共和国食品安全法》第一百一十条",
        "市场监督管理局",
    ),
    DocItem(
        "FIRE-CATER", "餐饮场所消防安全检查", "《中华人民共和国消防法》第五十三条", "消防救援支队"
    ),
    DocItem("SAMR-INFO", "企业公示信息检查", "《企业信息公示暂行条例》第十五条", "市场监督管理局"),
)
TEAM = (
    DocMember("440106S0001", "王建国", "lead", "市场监督管理局"),
    DocMember("440106F0017", "李晓燕", "member", "消防救援支队"),
    DocMember("440105S0042", "陈志强", "member", "市场监督管理局"),
)
JOINT = VisitDocument(
    issuer="广州市天河区市场监督管理局",
    visit_code="2026-12-000017",
    plan_month="2026-12",
    departments=("市场监督管理局", "消防救援支队"),
    enterprise=DocEnterprise(
        "广州市天河区味道好餐饮有限公司", "91440106MA5CXXXX0X", "广州市天河区天河路100号"
    ),
    tasks=(
        DocTask("2026-12-FOOD", "餐饮联合抽查", True),
        DocTask("2026-12-INFO", "企业公示信息抽查", False),
    ),
    items=ITEMS,
    team=TEAM,
    verification=Verification(CODE, URL, date(2026, 12, 1), date(2027, 1, 5)),
    issued_on=date(2026, 11, 28),
    contact="020-12345678",
)


def text_of(pdf: bytes) -> str:
    """The text layer of every page, without whitespace (lines wrap anywhere in Chinese)."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def links_of(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    uris = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                uris.append(str(action["/URI"]))
    return uris


@pytest.fixture(scope="module")
def task_pdf() -> bytes:
    return render_task_document(JOINT)


@pytest.fixture(scope="module")
def notice_pdf() -> bytes:
    return render_notice(JOINT)


def test_the_task_document_lists_items_bases_and_the_team(task_pdf: bytes) -> None:
    text = text_of(task_pdf)
    assert "双随机抽查检查任务书" in text
    assert "编号：2026-12-000017" in text
    for item in ITEMS:
        assert item.title in text and item.legal_basis in text and item.item_code in text
    for member in TEAM:
        assert member.inspector_id in text and member.name in text
    assert "组长" in text and "组员" in text
    assert "2026-12-FOOD" in text and "餐饮联合抽查" in text and "（定向）" in text
    assert "部门联合检查" in text and "91440106MA5CXXXX0X" in text
    assert CODE in text  # the grouped code reads back whole once spaces are dropped
    assert "2026年12月1日至2027年1月5日" in text


def test_the_notice_states_rights_and_shows_certificates_not_names(notice_pdf: bytes) -> None:
    text = text_of(notice_pdf)
    assert "双随机抽查检查告知书" in text
    for item in ITEMS:
        assert item.title in text and item.legal_basis in text
    for member in TEAM:
        assert member.inspector_id in text
        assert member.name not in text  # the enterprise checks numbers, not people
    assert "申请回避" in text and "第四十三条" in text
    assert "出示执法证件" in text and "有权拒绝" in text
    assert "二十个工作日" in text and "020-12345678" in text
    assert CODE in text and "扫描" in text
    assert "广州市天河区味道好餐饮有限公司" in text


@pytest.mark.parametrize("kind", ["task", "notice"])
def test_the_documents_link_to_the_verification_page(
    kind: str, task_pdf: bytes, notice_pdf: bytes
) -> None:
    pdf = task_pdf if kind == "task" else notice_pdf
    links = links_of(pdf)
    assert links and set(links) == {URL}  # a wrapped link is one annotation per line


def test_rendering_is_reproducible_and_embeds_the_font(task_pdf: bytes) -> None:
    assert render_task_document(JOINT) == task_pdf
    fonts = PdfReader(io.BytesIO(task_pdf)).pages[0]["/Resources"]["/Font"]
    described = [f.get_object() for f in fonts.values()]
    embedded = [
        f for f in described if "/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"]
    ]
    assert embedded, "the CJK font must be embedded, not merely named"


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match=r"install-fonts\.sh"):
        find_cjk_font(tmp_path / "nothing.ttc")
    with pytest.raises(FontMissing, match=r"install-fonts\.sh"):
        render_notice(JOINT, tmp_path / "nothing.ttc")


def test_an_outline_font_reportlab_cannot_embed_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(b"OTTO" + b"\0" * 64)  # a CFF-flavoured header with nothing behind
    with pytest.raises(FontMissing, match="cannot be embedded"):
        find_cjk_font(fake)


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and os.environ.get("CI"):
        pytest.fail(f"{name} is missing: scripts/install-fonts.sh installs it")
    if found is None:
        pytest.skip(f"{name} not installed (scripts/install-fonts.sh)")
    return found


def test_a_rendered_page_is_kept_and_its_qr_code_reads_back(
    task_pdf: bytes, notice_pdf: bytes, tmp_path: Path
) -> None:
    pdftoppm = _tool("pdftoppm")
    zbarimg = _tool("zbarimg")
    assert pdftoppm and zbarimg
    ARTIFACTS.mkdir(exist_ok=True)
    for name, pdf in (("task-document", task_pdf), ("notice", notice_pdf)):
        source = tmp_path / f"{name}.pdf"
        source.write_bytes(pdf)
        (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
        prefix = ARTIFACTS / f"{name}-page"
        subprocess.run([pdftoppm, "-r", "110", "-png", str(source), str(prefix)], check=True)
        pages = sorted(ARTIFACTS.glob(f"{name}-page-*.png"))
        assert pages and pages[0].stat().st_size > 10_000
        decoded = subprocess.run(
            [zbarimg, "--quiet", "--raw", *map(str, pages)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert decoded.stdout.split() == [URL], decoded.stderr


def test_the_html_qr_code_is_an_svg_of_the_link() -> None:
    svg = qr_svg(URL, module=3, title='a<b>"c"')
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and 'aria-label="abc"' in svg
    # the size follows the QR version: 21 + 4k modules plus the quiet zone of 4 each side
    size = int(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    modules = size // 3 - 8
    assert size % 3 == 0 and modules >= 21 and (modules - 21) % 4 == 0


def test_the_visit_day_is_on_the_task_document_and_never_on_the_notice() -> None:
    scheduled = dataclasses.replace(JOINT, visit_on=date(2026, 12, 16))
    task = text_of(render_task_document(scheduled))
    assert "计划检查日期2026年12月16日" in task
    assert "计划检查日期" not in text_of(render_task_document(JOINT))  # unscheduled: no line
    notice = text_of(render_notice(scheduled))
    assert "12月16日" not in notice and "计划检查日期" not in notice

"""The fixed wording of the documents, kept apart from their layout so that the HTML pages
and the PDFs say the same thing.

Legal references: 《中华人民共和国行政处罚法》(2021) Art. 42 (at least two officers),
Art. 43 (recusal and the right to ask for it), Art. 55 (showing certificates; the right to
refuse officers who do not); 《企业信息公示暂行条例》 (publicity within 20 working days)."""

from __future__ import annotations

from inspect_engine.documents.model import VisitDocument

TASK_TITLE = "双随机抽查检查任务书"
NOTICE_TITLE = "双随机抽查检查告知书"

# What the team must do on the visit (工作要求).
TEAM_DUTIES = (
    "检查人员不得少于两人，检查时应当主动向检查对象出示执法证件（《中华人民共和国行政处罚法》"
    "第四十二条、第五十五条）。",
    "检查人员与检查对象有直接利害关系或者有其他关系可能影响公正执法的，应当主动回避；"
    "检查对象申请回避的，应当记录并报派出机关决定（《中华人民共和国行政处罚法》第四十三条）。",
    "本任务书所列事项应一次完成检查（进一次门、查多项事），逐项如实记录检查结果。",
    "检查结果应当自检查完成之日起二十个工作日内通过国家企业信用信息公示系统向社会公示。",
    "检查时向检查对象送达告知书，请其扫码或输入核验码核验本次检查。",
)


def notice_opening(doc: VisitDocument) -> str:
    tasks = "、".join(f"“{t.title}”" for t in doc.tasks)
    joint = "由" + "、".join(doc.departments) + "联合" if doc.joint else ""
    count = len(doc.team)
    return (
        f"根据{doc.plan_title}，经随机抽取，你单位被确定为{tasks}抽查任务的检查对象。"
        f"{joint}随机选派的执法检查人员{count}名将于{_day(doc, 'from')}至{_day(doc, 'until')}"
        "期间依法对你单位实施检查，检查事项及依据如下。"
    )


def _day(doc: VisitDocument, which: str) -> str:
    v = doc.verification
    day = v.valid_from if which == "from" else v.valid_until
    return f"{day.year}年{day.month}月{day.day}日"


def enterprise_rights(doc: VisitDocument) -> tuple[str, ...]:
    contact = f"（联系方式：{doc.contact}）" if doc.contact else ""
    return (
        "查验证件：检查人员不得少于两人，应当出示执法证件。你单位有权要求其出示执法证件，"
        "并与本告知书及核验页面所列执法证号逐一核对；执法人员不出示执法证件的，"
        "你单位有权拒绝接受检查（《中华人民共和国行政处罚法》第四十二条、第五十五条）。",
        "申请回避：你单位认为检查人员与你单位有直接利害关系或者有其他关系可能影响公正执法的，"
        "有权申请回避，可当场向检查人员提出，或向派出机关提出"
        f"{contact}（《中华人民共和国行政处罚法》第四十三条）。",
        "陈述、申辩：你单位有权对检查中发现的问题进行陈述和申辩。",
        "结果公示与异议：检查结果将于检查完成之日起二十个工作日内通过国家企业信用信息公示系统"
        "向社会公示；你单位对公示结果有异议的，可以向派出机关提出，经核实有误的予以更正。",
        "核验与评价：你单位可扫描本告知书上的二维码，或访问核验网址并输入核验码，核验本次检查"
        "是否真实、检查人员是否为本次选派人员。确认检查是否实施并匿名评价，请使用发送给你单位"
        "登记联络员的短信或电子邮件中的链接，该链接不经检查人员转交；未登记联络员的，"
        "可在核验页面记录，记录将标注“未经联络员渠道核实”。",
    )


ENTERPRISE_DUTY = (
    "你单位应当配合检查，如实回答询问、提供有关材料，不得拒绝、阻挠检查"
    "（《中华人民共和国行政处罚法》第五十五条）。"
)


def verify_instructions(doc: VisitDocument) -> str:
    v = doc.verification
    return (
        f"扫描二维码，或在浏览器打开 {v.url.rsplit('/', 1)[0]} 并输入核验码，即可核验本次检查。"
        f"核验码有效期：{_day(doc, 'from')}至{_day(doc, 'until')}；过期或伪造的核验码将被拒绝。"
    )

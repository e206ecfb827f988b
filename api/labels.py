"""Chinese labels for the public website (codes stay codes in the JSON API)."""

from __future__ import annotations

from api.queries import RESULT_LABELS
from inspect_engine.risk.vocabulary import DISTRICTS as DISTRICTS  # shared with risk reasons

# Codes without a label are shown as they are.
DEPARTMENTS = {
    "SAMR": "市场监督管理局",
    "HEALTH": "卫生健康委员会",
    "FIRE": "消防救援支队",
    "ECOENV": "生态环境局",
    "TAX": "税务局",
    "AGRI": "农业农村局",
}
PLAN_STATES = {
    "frozen": "名单库已冻结，承诺值已公布",
    "drawing": "已接受公开随机数，摇号进行中",
    "draw_failed": "摇号未完成（已记录），待以同一公开随机数重新完成",
    "drawn": "已摇号抽取",
    "assigned": "已选派检查人员",
    "published": "计划已发布",
}
PUBLICATION_STATES = {"current": "公示中", "corrected": "已更正", "withdrawn": "已撤回"}
ENTITY_TYPES = {
    "company": "企业",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "branch": "分支机构",
    "foreign_rep": "外国企业常驻代表机构",
}
ENTERPRISE_STATES = {"active": "存续", "revoked": "吊销", "cancelled": "注销", "moved_out": "迁出"}


def district(code: str) -> str:
    return DISTRICTS.get(code, code)


def department(code: str) -> str:
    return DEPARTMENTS.get(code, code)


def result(code: str) -> str:
    return RESULT_LABELS.get(code, code)


FILTERS = {
    "district": district,
    "department": department,
    "result_label": result,
    "plan_state": lambda s: PLAN_STATES.get(s, s),
    "publication_state": lambda s: PUBLICATION_STATES.get(s, s),
    "entity_type": lambda s: ENTITY_TYPES.get(s, s),
    "enterprise_state": lambda s: ENTERPRISE_STATES.get(s, s),
}

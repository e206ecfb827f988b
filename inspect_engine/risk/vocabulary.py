"""Chinese labels for the codes that appear in reasons (理由). Unknown codes fall back to
the code itself, so a city with its own licences or tags still gets readable text."""

from __future__ import annotations

ENTITY_TYPES = {
    "company": "公司",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "branch": "分支机构",
    "foreign_rep": "外国企业常驻代表机构",
}

# GB/T 4754-2017 sections (门类).
SECTIONS = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

# Guangzhou, the reference city (GB/T 2260).
DISTRICTS = {
    "440103": "荔湾区",
    "440104": "越秀区",
    "440105": "海珠区",
    "440106": "天河区",
    "440111": "白云区",
    "440112": "黄埔区",
    "440113": "番禺区",
    "440114": "花都区",
    "440115": "南沙区",
    "440117": "从化区",
    "440118": "增城区",
}

LICENCES = {
    "food_production": "食品生产",
    "food_business": "食品经营",
    "drug_retail": "药品零售",
    "medical_device": "医疗器械经营",
    "cosmetics": "化妆品",
    "special_equipment": "特种设备",
    "industrial_product": "工业产品生产",
}

TAGS = {
    "school_canteen": "学校食堂",
    "central_kitchen": "中央厨房",
    "elevator_user": "电梯使用单位",
}


def entity_type(code: str) -> str:
    return ENTITY_TYPES.get(code, code)


def section(letter: str) -> str:
    return SECTIONS.get(letter, letter)


def district(code: str) -> str:
    name = DISTRICTS.get(code)
    return f"{name}（{code}）" if name else code


def licence(code: str) -> str:
    return LICENCES.get(code, code)


def tag(code: str) -> str:
    return TAGS.get(code, code)

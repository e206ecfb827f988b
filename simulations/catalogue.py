"""Static tables of the synthetic Guangzhou: districts, entity types, industries, items, tasks.

Every number here is a modelling assumption, calibrated where DOMAIN.md gives a figure
(see docs/synthetic-city.md). District weights and industry shares are plausible estimates
for Guangzhou, not official statistics; the legal bases are the statutes that empower
each check, cited for realism and to be reviewed before real use.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Guangzhou reference figures (14th five-year plan of the city's market supervision) ---
GZ_ENTITIES = 2_696_700  # market entities at the end of 2020
GZ_ENTERPRISES = 1_570_000  # companies, branches, cooperatives, foreign reps
GZ_CASES_5Y = 43_600  # cases investigated 2016–2020
GZ_COMPLAINTS_5Y = 1_720_000  # complaints handled over five years
GZ_FOOD_PASS = 0.9841  # food sampling pass rate 2020
GZ_GROWTH_ALL_5Y = 2.03  # stock 2020 / stock 2015 (+103%)
GZ_GROWTH_ENTERPRISES_5Y = 3.01  # enterprises grew 2.01 times (+201%)
GZ_VISITS_PER_MONTH = 20_000  # the engine's design load at city scale
GZ_INSPECTORS = 3_000
GZ_OFFICES = 176  # about one supervision office per street / town


@dataclass(frozen=True)
class District:
    code: str
    name: str
    weight: float  # share of the city's market entities
    lat: float
    lon: float
    spread: float  # degrees: how far offices lie from the centre
    company_mult: float  # relative share of enterprises vs individual businesses
    cluster_share: float  # share of companies registered at cluster addresses
    roads: tuple[str, ...]


# fmt: off
DISTRICTS: tuple[District, ...] = (
    District("440103", "荔湾区", 0.060, 23.125, 113.244, 0.025, 0.85, 0.05,
             ("中山七路", "中山八路", "康王中路", "龙津西路", "芳村大道中", "花地大道南",
              "南岸路", "东漖北路", "荔湾路", "多宝路", "黄沙大道", "西华路")),
    District("440104", "越秀区", 0.075, 23.129, 113.267, 0.015, 0.90, 0.08,
             ("北京路", "中山五路", "东风中路", "环市东路", "解放北路", "农林下路",
              "越秀南路", "人民北路", "寺右新马路", "淘金路", "东湖路", "流花路")),
    District("440105", "海珠区", 0.100, 23.090, 113.317, 0.025, 0.95, 0.08,
             ("江南大道中", "新港中路", "工业大道中", "宝岗大道", "昌岗中路", "南洲路",
              "广州大道南", "琶洲大道", "赤岗路", "逸景路", "前进路", "石榴岗路")),
    District("440106", "天河区", 0.155, 23.135, 113.361, 0.030, 1.15, 0.12,
             ("天河路", "体育西路", "天河北路", "中山大道西", "黄埔大道西", "珠江东路",
              "花城大道", "林和西路", "五山路", "岑村路", "科韵路", "天河东路")),
    District("440111", "白云区", 0.175, 23.250, 113.273, 0.050, 0.95, 0.08,
             ("白云大道北", "机场路", "广园中路", "石井大道", "太和镇大源中路", "同和路",
              "三元里大道", "增槎路", "鹤龙一路", "嘉禾路", "黄石东路", "云城西路")),
    District("440112", "黄埔区", 0.070, 23.170, 113.470, 0.045, 1.10, 0.12,
             ("开创大道", "科学大道", "黄埔东路", "大沙地东路", "香雪大道", "神舟路",
              "开源大道", "萝岗大道", "丰乐北路", "长岭路", "护林路", "九龙大道")),
    District("440113", "番禺区", 0.140, 22.950, 113.384, 0.050, 1.00, 0.08,
             ("市桥街清河东路", "番禺大道北", "迎宾路", "亚运大道", "兴南大道",
              "南村镇汉溪大道东", "大石街105国道", "石基镇市莲路", "沙湾镇福涌路",
              "钟村街汉溪大道西", "市广路", "南大路")),
    District("440114", "花都区", 0.080, 23.404, 113.220, 0.060, 0.95, 0.06,
             ("新华街迎宾大道", "凤凰北路", "龙珠路", "云山大道", "狮岭镇阳光南路",
              "花山镇两龙路", "新雅街镜湖大道", "天贵路", "宝华路", "建设北路", "曙光路",
              "花港大道")),
    District("440115", "南沙区", 0.055, 22.800, 113.525, 0.060, 1.25, 0.25,
             ("丰泽东路", "进港大道", "环市大道中", "黄阁镇蕉门路", "金隆路", "港前大道",
              "凤凰大道", "海滨路", "双山大道", "南沙街金岭北路", "横沥镇明珠一街",
              "东涌镇市南公路")),
    District("440117", "从化区", 0.025, 23.548, 113.587, 0.080, 0.80, 0.04,
             ("街口街河滨北路", "江埔街从城大道", "城郊街新城东路", "太平镇广从南路",
              "温泉镇温泉东路", "鳌头镇龙潭中路", "良口镇良明路", "青云路", "中田路",
              "新村路", "河东北路", "西宁路")),
    District("440118", "增城区", 0.065, 23.261, 113.760, 0.070, 0.90, 0.06,
             ("荔城街府佑路", "新塘镇港口大道", "增江街增江大道", "荔湖街挂绿路",
              "永宁街香山大道", "石滩镇三江大道", "朱村街朱村大道", "中新镇福和路",
              "派潭镇环城路", "仙村镇沙头路", "荔景大道", "民营科技园路")),
)
# fmt: on

# Registration authorities outside Guangzhou's districts that appear in credit codes.
CITY_REGISTRY = "440101"  # registered at the municipal bureau
PROVINCE_REGISTRY = "440000"  # foreign representative offices
OTHER_CITIES = ("440300", "440600", "441900", "440400")  # Shenzhen, Foshan, Dongguan, Zhuhai

# --- entity types -------------------------------------------------------------------------
ENTITY_TYPES = ("company", "individual", "cooperative", "branch", "foreign_rep")
COMPANY, INDIVIDUAL, COOPERATIVE, BRANCH, FOREIGN_REP = range(5)
# Shares among enterprises (non-individual); enterprises are GZ_ENTERPRISES / GZ_ENTITIES.
ENTERPRISE_MIX = {COMPANY: 0.919, BRANCH: 0.066, COOPERATIVE: 0.005, FOREIGN_REP: 0.010}
# Second character of the credit code: 1 enterprise, 2 individual business, 3 cooperative.
USCC_CATEGORY = {COMPANY: "1", INDIVIDUAL: "2", COOPERATIVE: "3", BRANCH: "1", FOREIGN_REP: "1"}

STATUSES = ("active", "revoked", "cancelled", "moved_out")
ACTIVE, REVOKED, CANCELLED, MOVED_OUT = range(4)
# P(revoked, cancelled, moved_out) by entity type, before the latent boost for shells.
EXIT_PROBS = {
    COMPANY: (0.025, 0.070, 0.012),
    INDIVIDUAL: (0.015, 0.100, 0.002),
    COOPERATIVE: (0.050, 0.060, 0.000),
    BRANCH: (0.015, 0.080, 0.000),
    FOREIGN_REP: (0.010, 0.080, 0.000),
}

LICENCES = (
    "food_production",
    "food_business",
    "drug_retail",
    "medical_device",
    "cosmetics",
    "special_equipment",
    "industrial_product",
)
TAGS = ("school_canteen", "central_kitchen", "elevator_user", "cold_chain", "hazardous_chemicals")


@dataclass(frozen=True)
class Industry:
    """A GB/T 4754-2017 division with its shares per entity type and risk parameters."""

    code: str
    label: str
    shares: tuple[float, float, float, float, float]  # by ENTITY_TYPES order (unnormalised)
    beta: float  # effect on the problem log-odds
    exposure: float  # consumer-facing weight for complaints
    shell: float  # effect on the log-odds of being a shell company
    words: tuple[str, ...]  # business words for enterprise names
    shop_words: tuple[str, ...] = ()  # words for individual businesses
    licences: tuple[tuple[str, float], ...] = ()
    tags: tuple[tuple[str, float], ...] = ()


_I = Industry
# fmt: off
INDUSTRIES: tuple[Industry, ...] = (
    _I("A01", "农业", (0.2, 0.5, 65, 0, 0), -0.2, 0.1, -0.5, ("农业发展", "生态农业", "种植"),
       ("农场", "种植场", "果园")),
    _I("A03", "畜牧业", (0.1, 0.2, 12, 0, 0), 0.1, 0.1, -0.5, ("畜牧", "养殖"), ("养殖场",)),
    _I("A04", "渔业", (0.05, 0.2, 8, 0, 0), 0.0, 0.1, -0.5, ("水产养殖", "渔业"), ("渔场",)),
    _I("A05", "农林牧渔专业及辅助性活动", (0.2, 0, 15, 0, 0), -0.2, 0.1, 0.0,
       ("农业科技", "农机服务")),
    _I("C13", "农副食品加工业", (0.4, 0.4, 0, 0, 0), 0.5, 0.3, -1.0,
       ("食品", "粮油", "农产品加工"), ("米粉加工场", "豆制品加工场"),
       licences=(("food_production", 0.9),)),
    _I("C14", "食品制造业", (0.5, 0.6, 0, 1, 0), 0.5, 0.3, -1.0,
       ("食品", "烘焙食品", "饼业"), ("饼店", "糕点加工场"),
       licences=(("food_production", 0.9),)),
    _I("C15", "酒、饮料和精制茶制造业", (0.2, 0.1, 0, 0, 0), 0.4, 0.3, -1.0,
       ("饮料", "茶业", "酒业"), ("茶叶加工场",), licences=(("food_production", 0.9),)),
    _I("C17", "纺织业", (0.3, 0.1, 0, 0, 0), 0.1, 0.2, -0.8, ("纺织",), ("纺织加工场",)),
    _I("C18", "纺织服装、服饰业", (1.2, 1.0, 0, 0, 0), 0.1, 0.3, -0.5,
       ("服饰", "服装", "制衣"), ("制衣厂", "服装加工场")),
    _I("C19", "皮革、毛皮、羽毛及其制品和制鞋业", (0.4, 0.3, 0, 0, 0), 0.1, 0.3, -0.5,
       ("皮具", "鞋业"), ("皮具加工场",)),
    _I("C21", "家具制造业", (0.3, 0.2, 0, 0, 0), 0.2, 0.4, -0.8, ("家具",), ("家具厂",)),
    _I("C22", "造纸和纸制品业", (0.2, 0.1, 0, 0, 0), 0.2, 0.2, -0.8, ("纸业", "包装材料"),
       ("纸品加工场",), licences=(("industrial_product", 0.3),)),
    _I("C23", "印刷和记录媒介复制业", (0.3, 0.3, 0, 0, 0), 0.1, 0.2, -0.8, ("印刷", "印务"),
       ("图文快印店",), licences=(("industrial_product", 0.1),)),
    _I("C26", "化学原料和化学制品制造业", (0.5, 0, 0, 0, 0), 0.4, 0.3, -0.8,
       ("化工", "化妆品", "日用化学品"),
       licences=(("cosmetics", 0.15), ("industrial_product", 0.35)),
       tags=(("hazardous_chemicals", 0.4),)),
    _I("C27", "医药制造业", (0.1, 0, 0, 0, 0), 0.2, 0.3, -1.0, ("医药", "生物制药")),
    _I("C29", "橡胶和塑料制品业", (0.6, 0.2, 0, 0, 0), 0.2, 0.2, -0.8,
       ("塑料制品", "橡胶制品"), ("塑料加工场",), licences=(("industrial_product", 0.2),)),
    _I("C33", "金属制品业", (0.6, 0.3, 0, 0, 0), 0.2, 0.2, -0.8,
       ("金属制品", "五金制品"), ("五金加工场",), licences=(("industrial_product", 0.2),)),
    _I("C34", "通用设备制造业", (0.5, 0, 0, 0, 0), 0.1, 0.2, -0.8,
       ("机械设备", "通用设备"),
       licences=(("special_equipment", 0.25), ("industrial_product", 0.2))),
    _I("C35", "专用设备制造业", (0.4, 0, 0, 0, 0), 0.1, 0.2, -0.8,
       ("专用设备", "医疗器械"),
       licences=(("medical_device", 0.2), ("special_equipment", 0.1))),
    _I("C38", "电气机械和器材制造业", (0.7, 0.1, 0, 0, 0), 0.1, 0.3, -0.8,
       ("电器", "电气", "照明电器"), ("电器加工场",), licences=(("industrial_product", 0.3),)),
    _I("C39", "计算机、通信和其他电子设备制造业", (0.8, 0.1, 0, 1, 0), 0.0, 0.3, -0.6,
       ("电子科技", "电子"), ("电子加工场",), licences=(("industrial_product", 0.1),)),
    _I("D44", "电力、热力生产和供应业", (0.2, 0, 0, 0, 0), -0.3, 0.5, -0.5, ("电力", "能源")),
    _I("D46", "水的生产和供应业", (0.05, 0, 0, 0, 0), -0.2, 1.0, -1.0, ("水务", "供水")),
    _I("E48", "土木工程建筑业", (1.0, 0, 0, 0, 0), 0.0, 0.3, 0.2,
       ("建设工程", "市政工程")),
    _I("E49", "建筑安装业", (1.5, 0, 0, 0, 0), 0.0, 0.3, 0.2,
       ("机电安装工程", "电梯工程"), licences=(("special_equipment", 0.15),)),
    _I("E50", "建筑装饰、装修和其他建筑业", (3.0, 1.5, 0, 0, 0), 0.1, 1.5, 0.2,
       ("装饰工程", "建筑装饰"), ("装修店", "装饰材料店")),
    _I("F51", "批发业", (20.0, 6.0, 0, 10, 20), 0.0, 0.6, 0.6,
       ("贸易", "商贸", "进出口贸易", "供应链管理", "食品贸易"),
       ("批发部", "商行", "贸易商行"),
       licences=(("food_business", 0.15), ("medical_device", 0.05), ("cosmetics", 0.03),
                 ("drug_retail", 0.01)),
       tags=(("cold_chain", 0.05), ("hazardous_chemicals", 0.01))),
    _I("F52", "零售业", (7.0, 44.0, 0, 30, 0), 0.3, 2.5, 0.0,
       ("商贸", "超市", "百货", "便利店", "医药连锁"),
       ("便利店", "士多店", "商店", "水果店", "五金店", "服装店", "烟酒商行", "茶叶店",
        "超市", "杂货店"),
       licences=(("food_business", 0.45), ("drug_retail", 0.06), ("medical_device", 0.06),
                 ("cosmetics", 0.08)),
       tags=(("elevator_user", 0.02),)),
    _I("G54", "道路运输业", (2.0, 3.0, 0, 4, 0), 0.1, 1.5, 0.2,
       ("运输", "物流", "汽车客运"), ("货运部", "运输队")),
    _I("G58", "多式联运和运输代理业", (2.0, 0, 0, 0, 0), 0.0, 0.6, 0.5,
       ("国际货运代理", "物流")),
    _I("G59", "装卸搬运和仓储业", (0.8, 0, 0, 0, 0), 0.1, 0.4, 0.0, ("仓储", "冷链物流"),
       tags=(("cold_chain", 0.2),)),
    _I("H61", "住宿业", (0.5, 0.8, 0, 3, 0), 0.3, 2.0, -1.0,
       ("酒店管理", "酒店", "公寓管理"), ("旅馆", "旅店", "招待所"),
       licences=(("food_business", 0.3),), tags=(("elevator_user", 0.4),)),
    _I("H62", "餐饮业", (2.5, 20.0, 0, 12, 0), 0.6, 3.0, -1.5,
       ("餐饮管理", "餐饮", "饮食", "茶餐厅"),
       ("餐饮店", "小食店", "粉面店", "快餐店", "烧腊店", "糖水店", "奶茶店", "面包店"),
       licences=(("food_business", 0.97),),
       tags=(("school_canteen", 0.012), ("central_kitchen", 0.004))),
    _I("I63", "电信、广播电视和卫星传输服务", (0.3, 0, 0, 0, 0), -0.5, 2.0, 0.0,
       ("通信技术", "网络传媒")),
    _I("I64", "互联网和相关服务", (3.0, 0, 0, 0, 0), 0.2, 5.0, 0.6,
       ("网络科技", "互联网科技", "信息科技")),
    _I("I65", "软件和信息技术服务业", (7.0, 0.5, 0, 4, 5), -0.4, 0.4, 0.4,
       ("信息技术", "软件科技", "数据科技"), ("电脑维修部", "网络工作室")),
    _I("J66", "货币金融服务", (0.1, 0, 0, 6, 0), -0.8, 1.5, -1.5, ("小额贷款", "银行")),
    _I("J69", "其他金融业", (1.0, 0, 0, 2, 0), 0.1, 1.5, 0.8,
       ("投资管理", "融资租赁", "资产管理")),
    _I("K70", "房地产业", (3.0, 0.5, 0, 4, 0), 0.1, 2.5, 0.0,
       ("房地产开发", "物业管理", "房地产代理"), ("地产中介", "房屋中介"),
       tags=(("elevator_user", 0.35),)),
    _I("L71", "租赁业", (1.5, 0.5, 0, 0, 0), 0.0, 1.0, 0.4, ("设备租赁", "汽车租赁"),
       ("租赁部",)),
    _I("L72", "商务服务业", (14.0, 2.0, 0, 12, 60), 0.0, 0.6, 0.8,
       ("企业管理咨询", "商务服务", "广告", "人力资源", "会展服务", "投资咨询"),
       ("广告部", "图文设计工作室", "咨询服务部")),
    _I("M73", "研究和试验发展", (1.0, 0, 0, 0, 0), -0.5, 0.3, 0.2, ("生物科技", "研究院")),
    _I("M74", "专业技术服务业", (3.5, 0.5, 0, 4, 10), -0.3, 0.3, 0.2,
       ("检测技术", "工程设计", "技术服务"), ("设计工作室", "摄影工作室")),
    _I("M75", "科技推广和应用服务业", (9.0, 0, 0, 0, 5), -0.3, 0.3, 0.7,
       ("科技", "科技发展", "技术开发")),
    _I("N77", "生态保护和环境治理业", (0.4, 0, 0, 0, 0), 0.0, 0.3, 0.0,
       ("环保科技", "环境工程")),
    _I("O80", "居民服务业", (1.2, 10.0, 0, 3, 0), 0.3, 2.5, -0.5,
       ("家政服务", "美容", "洗衣服务"),
       ("美发店", "美容店", "理发店", "洗衣店", "足浴店", "家政服务部", "摄影店"),
       licences=(("cosmetics", 0.12),)),
    _I("O81", "机动车、电子产品和日用产品修理业", (0.8, 6.0, 0, 0, 0), 0.2, 2.0, -0.5,
       ("汽车维修", "汽车服务"), ("汽车维修店", "手机维修店", "家电维修部", "修车铺")),
    _I("O82", "其他服务业", (0.5, 2.0, 0, 0, 0), 0.1, 1.0, 0.0, ("清洁服务", "宠物服务"),
       ("宠物店", "清洁服务部")),
    _I("P83", "教育", (1.0, 0.3, 0, 2, 0), 0.3, 4.0, -0.5,
       ("教育咨询", "职业培训", "教育科技"), ("托管中心", "培训部"),
       licences=(("food_business", 0.1),),
       tags=(("school_canteen", 0.1), ("elevator_user", 0.2))),
    _I("Q84", "卫生", (0.4, 0, 0, 2, 0), 0.2, 2.0, -0.5, ("医疗管理", "门诊部"),
       licences=(("drug_retail", 0.15), ("medical_device", 0.2)),
       tags=(("elevator_user", 0.3),)),
    _I("R87", "广播、电视、电影和录音制作业", (0.6, 0, 0, 0, 0), 0.0, 1.0, 0.4,
       ("文化传播", "影视传媒")),
    _I("R88", "文化艺术业", (0.8, 0.3, 0, 0, 0), 0.0, 1.0, 0.3,
       ("文化艺术", "艺术培训"), ("艺术工作室",)),
    _I("R89", "体育", (0.4, 0.3, 0, 0, 0), 0.1, 2.0, 0.0, ("体育发展", "健身"),
       ("健身工作室",)),
    _I("R90", "娱乐业", (0.4, 1.0, 0, 0, 0), 0.4, 2.5, -0.5, ("娱乐", "文化娱乐"),
       ("棋牌室", "桌球室", "游戏厅"), tags=(("elevator_user", 0.1),)),
)
# fmt: on
INDUSTRY_CODES = tuple(ind.code for ind in INDUSTRIES)

# Words for cooperatives by industry: 广州市从化区XX荔枝种植专业合作社.
COOP_WORDS = {
    "A01": ("蔬菜种植", "水果种植", "荔枝种植", "花卉种植", "茶叶种植"),
    "A03": ("生猪养殖", "家禽养殖"),
    "A04": ("水产养殖",),
    "A05": ("农机服务", "农业技术服务"),
}
FOREIGN_ORIGINS = (
    ("香港", "有限公司"),
    ("日本", "株式会社"),
    ("美国", "公司"),
    ("韩国", "株式会社"),
    ("新加坡", "私人有限公司"),
    ("德国", "有限责任公司"),
    ("英国", "有限公司"),
    ("法国", "股份有限公司"),
    ("澳门", "有限公司"),
    ("澳大利亚", "有限公司"),
)

# --- departments and inspectors -------------------------------------------------------------
DEPARTMENTS = ("SAMR", "HEALTH", "FIRE", "ECOENV")
DEPARTMENT_SHARE = (0.72, 0.11, 0.09, 0.08)
# Non-SAMR departments are organised per district; their unit code is <district>-<suffix>.
DEPARTMENT_UNIT = {"HEALTH": "WJ", "FIRE": "XF", "ECOENV": "HB"}
QUALIFICATIONS = (
    "food",
    "drug",
    "special_equipment",
    "metrology",
    "industrial_product",
    "public_health",
    "occupational_health",
    "fire",
    "environment",
)
# P(qualification) for an inspector of the department.
QUALIFICATION_PROBS = {
    "SAMR": (
        ("food", 0.60),
        ("drug", 0.25),
        ("special_equipment", 0.20),
        ("metrology", 0.25),
        ("industrial_product", 0.25),
    ),
    "HEALTH": (("public_health", 0.85), ("occupational_health", 0.45)),
    "FIRE": (("fire", 1.0),),
    "ECOENV": (("environment", 1.0),),
}


# --- the inspection-item list ----------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    code: str
    department: str
    title: str
    legal_basis: str
    kind: str  # key | general
    entity_types: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()  # prefixes
    licences: tuple[str, ...] = ()  # any of
    qualification: str = ""
    min_inspectors: int = 2
    weight: float = 1.0  # truth model: exposure of the item to the entity's problems


ENTERPRISE_TYPES = ("company", "branch", "cooperative", "foreign_rep")
FOOD_SAMPLING_ITEM = "SAMR-FOOD-04"
INFO_ITEM = "SAMR-INFO-01"

# fmt: off
ITEMS: tuple[Item, ...] = (
    Item(INFO_ITEM, "SAMR", "企业公示信息抽查", "《企业信息公示暂行条例》第十四条", "key",
         entity_types=ENTERPRISE_TYPES, weight=0.5),
    Item("SAMR-REG-01", "SAMR", "市场主体登记事项检查",
         "《中华人民共和国市场主体登记管理条例》第三十八条", "general", weight=0.4),
    Item("SAMR-FOOD-01", "SAMR", "食品经营者落实食品安全主体责任情况检查",
         "《中华人民共和国食品安全法》第一百一十条", "key", licences=("food_business",),
         qualification="food", weight=1.0),
    Item("SAMR-FOOD-02", "SAMR", "餐饮服务食品安全操作规范执行情况检查",
         "《中华人民共和国食品安全法》第五十五条", "key", industries=("H62",),
         licences=("food_business",), qualification="food", weight=0.8),
    Item("SAMR-FOOD-03", "SAMR", "食品生产者生产过程控制情况检查",
         "《中华人民共和国食品安全法》第四十六条", "key", industries=("C13", "C14", "C15"),
         licences=("food_production",), qualification="food", weight=1.0),
    Item(FOOD_SAMPLING_ITEM, "SAMR", "食品安全监督抽检（抽样检验）",
         "《中华人民共和国食品安全法》第八十七条", "key",
         licences=("food_business", "food_production"), qualification="food",
         weight=0.0),  # calibrated at generation so that sampling passes at GZ_FOOD_PASS
    Item("SAMR-DRUG-01", "SAMR", "药品零售企业执行药品经营质量管理规范情况检查",
         "《中华人民共和国药品管理法》第九十九条", "key", licences=("drug_retail",),
         qualification="drug", weight=0.9),
    Item("SAMR-MD-01", "SAMR", "医疗器械经营企业质量管理情况检查",
         "《医疗器械监督管理条例》第七十条", "key", licences=("medical_device",),
         qualification="drug", weight=0.8),
    Item("SAMR-COSM-01", "SAMR", "化妆品经营者进货查验和贮存条件检查",
         "《化妆品监督管理条例》第四十六条", "general", licences=("cosmetics",),
         qualification="drug", weight=0.7),
    Item("SAMR-SE-01", "SAMR", "特种设备生产单位许可条件保持情况检查",
         "《中华人民共和国特种设备安全法》第五十七条", "key",
         licences=("special_equipment",), qualification="special_equipment", weight=0.8),
    Item("SAMR-SE-02", "SAMR", "电梯使用单位安全管理情况检查",
         "《中华人民共和国特种设备安全法》第五十七条", "key",
         entity_types=("company", "branch"), industries=("H61", "K70", "Q84", "P83"),
         qualification="special_equipment", weight=0.8),
    Item("SAMR-IP-01", "SAMR", "工业产品生产许可证获证企业检查",
         "《中华人民共和国产品质量法》第十五条", "key", licences=("industrial_product",),
         qualification="industrial_product", weight=0.9),
    Item("SAMR-PQ-01", "SAMR", "生产领域产品质量监督抽查", "《中华人民共和国产品质量法》第十五条",
         "general", entity_types=("company",), industries=("C",), weight=0.6),
    Item("SAMR-PRICE-01", "SAMR", "经营者明码标价和价格行为检查",
         "《中华人民共和国价格法》第十三条", "general",
         industries=("F52", "H61", "H62", "O80", "R89", "R90", "P83"), weight=0.6),
    Item("SAMR-AD-01", "SAMR", "广告发布内容合规情况检查", "《中华人民共和国广告法》第四十九条",
         "general", industries=("L72", "I64", "R87"), weight=0.6),
    Item("SAMR-METRO-01", "SAMR", "计量器具使用情况检查", "《中华人民共和国计量法》第十八条",
         "general", industries=("F52", "H62", "G54", "Q84"), qualification="metrology",
         weight=0.7),
    Item("SAMR-CONS-01", "SAMR", "经营者落实消费者权益保护义务情况检查",
         "《中华人民共和国消费者权益保护法》第三十二条", "general", weight=0.6),
    Item("HEALTH-PUB-01", "HEALTH", "公共场所卫生管理情况检查", "《公共场所卫生管理条例》第十条",
         "key", industries=("H61", "O80", "R89", "R90"), qualification="public_health",
         weight=0.9),
    Item("HEALTH-WATER-01", "HEALTH", "二次供水卫生管理情况检查",
         "《中华人民共和国传染病防治法》第五十三条", "general", industries=("K70", "D46"),
         qualification="public_health", weight=0.6),
    Item("HEALTH-OCC-01", "HEALTH", "用人单位职业病防治情况检查",
         "《中华人民共和国职业病防治法》第六十二条", "key", entity_types=("company",),
         industries=("C",), qualification="occupational_health", weight=0.9),
    Item("FIRE-01", "FIRE", "人员密集场所消防安全检查", "《中华人民共和国消防法》第五十三条", "key",
         industries=("H61", "H62", "F52", "R90", "P83"), qualification="fire", weight=1.0),
    Item("FIRE-02", "FIRE", "生产经营单位消防安全职责落实情况检查",
         "《中华人民共和国消防法》第十六条", "general", entity_types=("company",),
         industries=("C", "G59"), qualification="fire", weight=0.8),
    Item("ECOENV-01", "ECOENV", "排污单位污染物排放情况检查",
         "《中华人民共和国环境保护法》第二十四条", "key", entity_types=("company",),
         industries=("C", "D44"), qualification="environment", weight=1.0),
    Item("ECOENV-02", "ECOENV", "机动车维修企业挥发性有机物污染防治检查",
         "《中华人民共和国大气污染防治法》第二十九条", "general", industries=("O81",),
         qualification="environment", weight=0.8),
    Item("ECOENV-03", "ECOENV", "建设项目环境影响评价制度执行情况检查",
         "《中华人民共和国环境保护法》第十九条", "general", entity_types=("company",),
         industries=("C", "E48"), qualification="environment", weight=0.6),
)
# fmt: on
ITEM_INDEX = {item.code: i for i, item in enumerate(ITEMS)}


# --- a month's tasks ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskTemplate:
    """A recurring sampling task; the month's task_code is <YYYY-MM>-<key>."""

    key: str
    title: str  # without the month prefix
    items: tuple[str, ...]
    share: float  # share of the month's visits this task aims at
    targeted: bool = False
    entity_types: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    licences: tuple[str, ...] = ()
    mode: str = "cross_office"
    team_size: int = 2


# fmt: off
TASK_TEMPLATES: tuple[TaskTemplate, ...] = (
    TaskTemplate("SAMR-INFO", "企业公示信息抽查", (INFO_ITEM,), 0.30),
    TaskTemplate("SAMR-FOOD", "食品经营者食品安全抽查",
                 ("SAMR-FOOD-01", "SAMR-FOOD-02", FOOD_SAMPLING_ITEM), 0.20),
    TaskTemplate("SAMR-FOODPROD", "食品生产者定向抽查", ("SAMR-FOOD-03", FOOD_SAMPLING_ITEM), 0.02,
                 targeted=True, licences=("food_production",)),
    TaskTemplate("JOINT-PUBLIC", "公共场所经营者联合抽查（市场监管、卫生健康）",
                 ("SAMR-PRICE-01", "HEALTH-PUB-01"), 0.06, targeted=True,
                 industries=("H61", "O80", "R89", "R90")),
    TaskTemplate("SAMR-DRUG", "药品医疗器械化妆品经营者抽查",
                 ("SAMR-DRUG-01", "SAMR-MD-01", "SAMR-COSM-01"), 0.06),
    TaskTemplate("SAMR-SE", "特种设备生产和使用单位抽查", ("SAMR-SE-01", "SAMR-SE-02"), 0.06),
    TaskTemplate("SAMR-IP", "重点工业产品生产企业定向抽查", ("SAMR-IP-01", "SAMR-PQ-01"), 0.04,
                 targeted=True, entity_types=("company",),
                 districts=("440111", "440113", "440114", "440118")),
    TaskTemplate("SAMR-METRO", "计量器具使用情况属地抽查", ("SAMR-METRO-01",), 0.05,
                 mode="local"),
    TaskTemplate("FIRE", "人员密集场所及生产经营单位消防安全抽查", ("FIRE-01", "FIRE-02"), 0.08),
    TaskTemplate("ECOENV", "排污单位及机动车维修企业环境抽查",
                 ("ECOENV-01", "ECOENV-02", "ECOENV-03"), 0.05),
    TaskTemplate("JOINT-FACTORY", "化工塑料金属制品企业联合抽查（卫生健康、消防、生态环境）",
                 ("HEALTH-OCC-01", "FIRE-02", "ECOENV-01"), 0.02, targeted=True,
                 entity_types=("company",), industries=("C26", "C29", "C33"), team_size=3),
    TaskTemplate("SAMR-AD", "广告发布合规抽查", ("SAMR-AD-01",), 0.02),
)
# fmt: on

# Nominal risk-class shares used to size the month's ratios (the engine's classifier decides
# the real classes); relative ratios per class follow the published 1 : 3 : 10 : 30 pattern.
NOMINAL_CLASS_SHARES = (0.30, 0.50, 0.15, 0.05)
CLASS_RATIO_PROFILE = (1.0, 3.0, 10.0, 30.0)

# --- complaints -------------------------------------------------------------------------------
COMPLAINT_CATEGORIES = (
    "food_safety",
    "price",
    "product_quality",
    "contract",
    "advertising",
    "metrology",
    "drug",
    "cosmetics",
    "special_equipment",
    "service_quality",
)
# The item a complaint-driven check uses, per category.
COMPLAINT_ITEM = {
    "food_safety": "SAMR-FOOD-01",
    "price": "SAMR-PRICE-01",
    "product_quality": "SAMR-CONS-01",
    "contract": "SAMR-CONS-01",
    "advertising": "SAMR-AD-01",
    "metrology": "SAMR-METRO-01",
    "drug": "SAMR-DRUG-01",
    "cosmetics": "SAMR-COSM-01",
    "special_equipment": "SAMR-SE-02",
    "service_quality": "SAMR-CONS-01",
}
# P(a complaint of the category leads to an on-site check).
COMPLAINT_CHECK_PROB = {
    "food_safety": 0.15,
    "price": 0.03,
    "product_quality": 0.05,
    "contract": 0.02,
    "advertising": 0.03,
    "metrology": 0.10,
    "drug": 0.15,
    "cosmetics": 0.08,
    "special_equipment": 0.30,
    "service_quality": 0.02,
}

# Chinese labels for the docs and UIs.
COMPLAINT_LABELS = {
    "food_safety": "食品安全",
    "price": "价格收费",
    "product_quality": "产品质量",
    "contract": "合同纠纷",
    "advertising": "虚假广告",
    "metrology": "计量",
    "drug": "药品医疗器械",
    "cosmetics": "化妆品",
    "special_equipment": "特种设备",
    "service_quality": "服务质量",
}

LEAVE_REASONS = ("年休假", "培训", "病假", "事假", "借调", "产假")
CONFLICT_REASONS = (
    "近亲属在该企业任职",
    "曾在该企业任职",
    "与企业负责人有其他利害关系",
    "企业申请回避：曾参与对该企业的行政处罚",
    "企业申请回避：与企业存在民事纠纷",
)

"""The demo city 江城市: its units, users, categories, places, and the people and firms
its citizens are and call about. Everything here is fictional."""
from __future__ import annotations

from hotline.enums import Role, UnitKind

CITY = "江城市"
UNIT_PASSWORD = "unit12345"

# --- units ------------------------------------------------------------------------------
#: (code, name, kind, parent code). Level follows from the kind. Parents come first.
UNITS: list[tuple[str, str, UnitKind, str | None]] = [
    ("CENTRE", "江城市12345政务服务便民热线中心", UnitKind.CENTRE, None),
    # level 2: district governments, city departments, public utilities
    ("DC", "东城区人民政府", UnitKind.DISTRICT, "CENTRE"),
    ("JN", "江南区人民政府", UnitKind.DISTRICT, "CENTRE"),
    ("ZJ", "市住房和城乡建设局", UnitKind.DEPARTMENT, "CENTRE"),
    ("CG", "市城市管理局", UnitKind.DEPARTMENT, "CENTRE"),
    ("SJ", "市市场监督管理局", UnitKind.DEPARTMENT, "CENTRE"),
    ("JT", "市交通运输局", UnitKind.DEPARTMENT, "CENTRE"),
    ("HJ", "市生态环境局", UnitKind.DEPARTMENT, "CENTRE"),
    ("RS", "市人力资源和社会保障局", UnitKind.DEPARTMENT, "CENTRE"),
    ("JY", "市教育局", UnitKind.DEPARTMENT, "CENTRE"),
    ("WJ", "市卫生健康委员会", UnitKind.DEPARTMENT, "CENTRE"),
    ("WATER", "市自来水公司", UnitKind.ENTERPRISE, "CENTRE"),
    ("POWER", "国网江城供电公司", UnitKind.ENTERPRISE, "CENTRE"),
    ("GAS", "江城燃气集团有限公司", UnitKind.ENTERPRISE, "CENTRE"),
    # level 3: streets and townships
    ("DC-DH", "东华街道办事处", UnitKind.STREET, "DC"),
    ("DC-BG", "北关街道办事处", UnitKind.STREET, "DC"),
    ("DC-LS", "龙山镇人民政府", UnitKind.STREET, "DC"),
    ("JN-BJ", "滨江街道办事处", UnitKind.STREET, "JN"),
    ("JN-NH", "南湖街道办事处", UnitKind.STREET, "JN"),
    # level 4: communities and villages
    ("DC-DH-XF", "幸福社区居委会", UnitKind.COMMUNITY, "DC-DH"),
    ("DC-DH-CY", "朝阳社区居委会", UnitKind.COMMUNITY, "DC-DH"),
    ("DC-BG-BM", "北门社区居委会", UnitKind.COMMUNITY, "DC-BG"),
    ("DC-BG-WH", "文化路社区居委会", UnitKind.COMMUNITY, "DC-BG"),
    ("DC-LS-LS", "龙山村村民委员会", UnitKind.COMMUNITY, "DC-LS"),
    ("DC-LS-TY", "桃园村村民委员会", UnitKind.COMMUNITY, "DC-LS"),
    ("JN-BJ-JJ", "江景社区居委会", UnitKind.COMMUNITY, "JN-BJ"),
    ("JN-BJ-HY", "滨江花园社区居委会", UnitKind.COMMUNITY, "JN-BJ"),
    ("JN-NH-NH", "南湖社区居委会", UnitKind.COMMUNITY, "JN-NH"),
    ("JN-NH-CY", "翠苑社区居委会", UnitKind.COMMUNITY, "JN-NH"),
]

LEVEL_OF_KIND = {
    UnitKind.CENTRE: 1, UnitKind.DISTRICT: 2, UnitKind.DEPARTMENT: 2, UnitKind.ENTERPRISE: 2,
    UnitKind.STREET: 3, UnitKind.COMMUNITY: 4,
}

# --- users ------------------------------------------------------------------------------
#: (username, password, display name, roles, unit code). Documented in LOGINS.md.
USERS: list[tuple[str, str, str, tuple[Role, ...], str]] = [
    ("operator", "operator123", "王丽", (Role.OPERATOR,), "CENTRE"),
    ("dispatcher", "dispatcher123", "陈刚", (Role.DISPATCHER,), "CENTRE"),
    ("callback", "callback123", "刘芳", (Role.CALLBACK_AGENT,), "CENTRE"),
    ("supervisor", "supervisor123", "赵建国", (Role.SUPERVISOR,), "CENTRE"),
    ("manager", "manager123", "孙志明", (Role.MANAGER,), "CENTRE"),
    ("admin", "admin123", "李强", (Role.ADMIN,), "CENTRE"),
    ("leader", "leader123", "钱卫东", (Role.LEADER,), "CENTRE"),
    ("shiftlead", "shiftlead123", "周敏", (Role.OPERATOR, Role.DISPATCHER), "CENTRE"),
    ("dongcheng", UNIT_PASSWORD, "张伟", (Role.UNIT_STAFF,), "DC"),
    ("jiangnan", UNIT_PASSWORD, "黄晓燕", (Role.UNIT_STAFF,), "JN"),
    ("zhujian", UNIT_PASSWORD, "吴斌", (Role.UNIT_STAFF,), "ZJ"),
    ("chengguan", UNIT_PASSWORD, "徐磊", (Role.UNIT_STAFF,), "CG"),
    ("shijian", UNIT_PASSWORD, "胡静", (Role.UNIT_STAFF,), "SJ"),
    ("jiaotong", UNIT_PASSWORD, "朱海涛", (Role.UNIT_STAFF,), "JT"),
    ("huanjing", UNIT_PASSWORD, "高媛", (Role.UNIT_STAFF,), "HJ"),
    ("renshe", UNIT_PASSWORD, "林志勇", (Role.UNIT_STAFF,), "RS"),
    ("jiaoyu", UNIT_PASSWORD, "何丹", (Role.UNIT_STAFF,), "JY"),
    ("weijian", UNIT_PASSWORD, "郭振华", (Role.UNIT_STAFF,), "WJ"),
    ("zilaishui", UNIT_PASSWORD, "马俊", (Role.UNIT_STAFF,), "WATER"),
    ("gongdian", UNIT_PASSWORD, "罗雪梅", (Role.UNIT_STAFF,), "POWER"),
    ("ranqi", UNIT_PASSWORD, "梁国栋", (Role.UNIT_STAFF,), "GAS"),
    ("donghua", UNIT_PASSWORD, "宋佳", (Role.UNIT_STAFF,), "DC-DH"),
    ("beiguan", UNIT_PASSWORD, "郑凯", (Role.UNIT_STAFF,), "DC-BG"),
    ("longshan", UNIT_PASSWORD, "谢春生", (Role.UNIT_STAFF,), "DC-LS"),
    ("binjiang", UNIT_PASSWORD, "韩梅", (Role.UNIT_STAFF,), "JN-BJ"),
    ("nanhu", UNIT_PASSWORD, "唐勇", (Role.UNIT_STAFF,), "JN-NH"),
    ("xingfu", UNIT_PASSWORD, "冯桂兰", (Role.UNIT_STAFF,), "DC-DH-XF"),
    ("jiangjing", UNIT_PASSWORD, "董小红", (Role.UNIT_STAFF,), "JN-BJ-JJ"),
]

# --- categories -------------------------------------------------------------------------
#: (code, name, children); full names are built as "根 › 中 › 叶".
CATEGORY_TREE = [
    ("CJ", "城乡建设", [
        ("CJ-WY", "物业管理", [("CJ-WY-DT", "电梯故障"), ("CJ-WY-FW", "物业服务"), ("CJ-WY-ZJ", "维修资金")]),
        ("CJ-FW", "房屋管理", [("CJ-FW-BZ", "住房保障"), ("CJ-FW-JF", "商品房交付"), ("CJ-FW-ZL", "房屋质量")]),
        ("CJ-SG", "建筑施工", [("CJ-SG-RM", "施工扰民"), ("CJ-SG-YC", "工地扬尘")]),
    ]),
    ("SR", "市容环卫", [
        ("SR-HW", "环境卫生", [("SR-HW-LJ", "垃圾清运"), ("SR-HW-GC", "公厕管理")]),
        ("SR-RX", "市容秩序", [("SR-RX-ZD", "占道经营"), ("SR-RX-WJ", "违法建设"), ("SR-RX-GG", "户外广告")]),
    ]),
    ("SC", "市场监管", [
        ("SC-XF", "消费维权", [("SC-XF-YF", "预付卡消费"), ("SC-XF-ZL", "商品质量"), ("SC-XF-JG", "价格收费")]),
        ("SC-SP", "食品安全", [("SC-SP-CY", "餐饮服务"), ("SC-SP-GQ", "过期食品")]),
    ]),
    ("JT", "交通出行", [
        ("JT-GJ", "公共交通", [("JT-GJ-XL", "线路班次"), ("JT-GJ-FW", "公交服务")]),
        ("JT-CZ", "出租汽车", [("JT-CZ-JZ", "拒载绕路")]),
        ("JT-DL", "道路设施", [("JT-DL-PS", "路面破损")]),
    ]),
    ("HJ", "生态环境", [
        ("HJ-DQ", "大气污染", [("HJ-DQ-YY", "餐饮油烟"), ("HJ-DQ-FQ", "工业废气")]),
        ("HJ-ZS", "噪声污染", [("HJ-ZS-SH", "社会生活噪声")]),
        ("HJ-SW", "水污染", [("HJ-SW-HD", "河道污染")]),
    ]),
    ("LD", "劳动社保", [
        ("LD-GX", "劳动关系", [("LD-GX-QX", "拖欠工资"), ("LD-GX-HT", "劳动合同")]),
        ("LD-SB", "社会保险", [("LD-SB-YL", "养老保险"), ("LD-SB-SBK", "社保卡")]),
    ]),
    ("GG", "公共服务（水电气暖）", [
        ("GG-GS", "供水", [("GG-GS-TS", "停水"), ("GG-GS-SY", "水压不足"), ("GG-GS-SZ", "水质问题")]),
        ("GG-GD", "供电", [("GG-GD-TD", "停电"), ("GG-GD-DF", "电费电价")]),
        ("GG-GQ", "供气", [("GG-GQ-XL", "燃气泄漏"), ("GG-GQ-KT", "开户通气")]),
        ("GG-GN", "供暖", [("GG-GN-BR", "暖气不热")]),
    ]),
    ("JY", "教育", [
        ("JY-RX", "入学招生", [("JY-RX-YW", "义务教育入学")]),
        ("JY-PX", "校外培训", [("JY-PX-TF", "培训退费")]),
        ("JY-XX", "学校管理", [("JY-XX-AQ", "校园周边安全")]),
    ]),
    ("YL", "医疗卫生", [
        ("YL-FW", "医疗服务", [("YL-FW-TD", "服务态度"), ("YL-FW-SF", "医疗收费")]),
        ("YL-GW", "公共卫生", [("YL-GW-YM", "疫苗接种")]),
    ]),
    ("QT", "综合", [
        ("QT-BY", "表扬感谢", []),
        ("QT-QT", "其他事项", []),
    ]),
]

# --- places -----------------------------------------------------------------------------
#: street code -> (roads, [(compound, community code)])
PLACES = {
    "DC-DH": (["东华路", "解放大道", "人民路"],
              [("幸福小区", "DC-DH-XF"), ("阳光花园", "DC-DH-XF"), ("朝阳新村", "DC-DH-CY"), ("东华苑", "DC-DH-CY")]),
    "DC-BG": (["北关大街", "文化路", "建设路"],
              [("北门小区", "DC-BG-BM"), ("文化路宿舍", "DC-BG-WH"), ("书香门第", "DC-BG-WH")]),
    "DC-LS": (["龙山大道", "桃园路"],
              [("龙山村三组", "DC-LS-LS"), ("龙山新苑", "DC-LS-LS"), ("桃园村五组", "DC-LS-TY")]),
    "JN-BJ": (["滨江大道", "沿江路", "望江路"],
              [("江景豪庭", "JN-BJ-JJ"), ("滨江花园", "JN-BJ-HY"), ("江畔人家", "JN-BJ-JJ")]),
    "JN-NH": (["南湖路", "翠苑路", "湖滨东路"],
              [("南湖小区", "JN-NH-NH"), ("翠苑一区", "JN-NH-CY"), ("湖景苑", "JN-NH-NH")]),
}

SHOPS = ["好味道餐馆", "鑫鑫火锅店", "悦动健身会所", "优学教育培训中心", "美丽人生美容美发店",
         "家家乐超市", "老街烧烤店", "星光游泳馆", "启航英语培训学校", "惠民便利店"]
TRAINING = ["优学教育培训中心", "启航英语培训学校", "小天才美术培训班", "智慧树编程培训中心"]
BUILDERS = ["江城宏达建筑工程有限公司", "江城建工集团第三工程公司", "江城顺安建设有限公司"]
DEVELOPERS = ["江城华景房地产开发有限公司", "江城鼎盛置业有限公司"]
FACTORIES = ["江城鑫源化工有限公司", "江城恒信机械制造有限公司", "江城新材料科技有限公司"]
HOSPITALS = ["江城市第一人民医院", "江城市中医院", "东城区人民医院", "江南区妇幼保健院"]
SCHOOLS = ["江城市实验小学", "东华路小学", "滨江中学", "南湖小学"]

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
            "苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段")
GIVEN = ["建华", "秀英", "志强", "桂英", "海燕", "国庆", "丽娟", "文博", "晓明", "春梅", "俊杰", "玉兰",
         "德明", "淑芬", "子涵", "浩然", "雨萱", "红霞", "永刚", "嘉怡", "明辉", "静怡", "宏伟", "翠花"]

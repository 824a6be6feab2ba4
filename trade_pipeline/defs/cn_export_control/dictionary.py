"""The one maintained vocabulary of the cn_export_control layer: controlled items, issuers, countries, list names.

Every extraction rule in :mod:`.extract` reads its words from here, so adding a material (or an issuing body) is a
one-line change with a test, never an edit scattered over regexes. Patterns are Simplified Chinese as published by
MOFCOM; display names are Traditional Chinese (Taiwan) for the report.

Compound names are listed before element names and are *consumed* when matched (see
:func:`extract.find_controlled_items`), so "锑化铟" (indium antimonide, controlled under antimony in 公告2024年第33号)
counts as antimony and does not also add indium.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ControlledItem:
    key: str  # ASCII key, used in slugs and tests
    zh_tw: str  # display name in the report
    patterns: tuple[str, ...]  # Simplified Chinese spellings found in titles and bodies
    major: bool = True  # a strategic material whose new control leads the report
    generic: bool = False  # only reported when no specific item matched (e.g. "两用物项")


CONTROLLED_ITEMS: tuple[ControlledItem, ...] = (
    ControlledItem("rare_earth", "稀土", ("稀土",)),
    ControlledItem("gallium", "鎵", ("镓",)),
    ControlledItem("germanium", "鍺", ("锗",)),
    ControlledItem("antimony", "銻", ("锑",)),
    ControlledItem("graphite", "石墨", ("石墨",)),
    ControlledItem("tungsten", "鎢", ("钨",)),
    ControlledItem("indium", "銦", ("铟",)),
    ControlledItem("tellurium", "碲", ("碲",)),
    ControlledItem("bismuth", "鉍", ("铋",)),
    ControlledItem("molybdenum", "鉬", ("钼",)),
    ControlledItem("superhard_materials", "超硬材料", ("超硬材料", "人造金刚石", "金刚石")),
    ControlledItem("lithium_battery", "鋰電池", ("锂电池", "锂离子电池")),
    ControlledItem("cathode_materials", "正極材料", ("正极材料",)),
    ControlledItem("anode_materials", "負極材料", ("负极材料",)),
    ControlledItem("drones", "無人機", ("无人驾驶航空器", "无人机"), major=False),
    ControlledItem("aerospace", "航空航天物項", ("航空航天",), major=False),
    ControlledItem("dual_use_items", "兩用物項", ("两用物项",), major=False, generic=True),
)

# Compound names -> the item they are controlled under (consumed before element names are matched).
COMPOUND_ITEMS: dict[str, str] = {
    "锑化铟": "antimony",
    "磷化铟": "indium",
    "三甲基铟": "indium",
    "三乙基铟": "indium",
    "锗酸铋": "bismuth",
    "三苯基铋": "bismuth",
    "碲化镉": "tellurium",
    "碲锌镉": "tellurium",
    "碲镉汞": "tellurium",
    "偏钨酸铵": "tungsten",
    "碳化钨": "tungsten",
    "人造石墨负极材料": "anode_materials",
}

ITEMS_BY_KEY: dict[str, ControlledItem] = {i.key: i for i in CONTROLLED_ITEMS}

# Issuing bodies as written in document numbers (longest first when matching). Value: ASCII code for slugs.
ISSUERS: dict[str, str] = {
    "不可靠实体清单工作机制": "uel",
    "工业和信息化部": "miit",
    "中央军委装备发展部": "cmc-ed",
    "国家原子能机构": "caea",
    "国家密码管理局": "osca",
    "国家密码局": "osca",
    "国家禁毒委员会办公室": "nncc",
    "海关总署": "gacc",
    "商务部": "mofcom",
    "外交部": "mfa",
    "国务院": "state-council",
}
# Prefixes that decorate an issuer name without changing it.
ISSUER_PREFIXES: tuple[str, ...] = ("中华人民共和国",)

# Countries / economies concerned. Value: (zh-TW display, ISO-like code for slugs).
COUNTRIES: dict[str, tuple[str, str]] = {
    "美国": ("美國", "us"),
    "美方": ("美國", "us"),
    "日本": ("日本", "jp"),
    "日方": ("日本", "jp"),
    "欧盟": ("歐盟", "eu"),
    "欧方": ("歐盟", "eu"),
    "荷兰": ("荷蘭", "nl"),
    "荷方": ("荷蘭", "nl"),
    "韩国": ("韓國", "kr"),
    "台湾": ("台灣", "tw"),
    "英国": ("英國", "uk"),
    "德国": ("德國", "de"),
    "加拿大": ("加拿大", "ca"),
    "印度": ("印度", "in"),
    "瑞士": ("瑞士", "ch"),
    "新西兰": ("紐西蘭", "nz"),
    "爱尔兰": ("愛爾蘭", "ie"),
    "俄罗斯": ("俄羅斯", "ru"),
}

# Lists whose additions/removals are "list changes" (enforcement) — Chinese lists and their names.
ENTITY_LISTS: tuple[str, ...] = ("不可靠实体清单", "出口管制管控名单", "管控名单", "关注名单")

CATEGORIES: tuple[str, ...] = (
    "regulation_update",
    "controlled_item_change",
    "enforcement_action",
    "policy_guidance",
    "international_cooperation",
)
CATEGORY_ZH_TW: dict[str, str] = {
    "regulation_update": "法規更新",
    "controlled_item_change": "管制物項變更",
    "enforcement_action": "執法與清單措施",
    "policy_guidance": "政策說明",
    "international_cooperation": "國際合作與動態",
}

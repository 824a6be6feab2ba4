"""Comtrade code lists the layer reasons with: excluded partner areas, Taiwan's codes, names in Traditional Chinese.

All logic is keyed on numeric Comtrade codes (never on ISO text, which carries quirks such as ``"_X "``).
Country names come from the maintained CLDR data in babel (zh_Hant_TW), reached through ISO alpha-3 → pycountry →
alpha-2; only the non-country areas below (which CLDR has no names for) carry hand-written names.
"""

from __future__ import annotations

from functools import lru_cache

WORLD_CODE = 0
TAIWAN_PARTNER_CODE = 490  # "Other Asia, nes": in practice Taiwan (sources.md 1.9), reporter and partner
TAIWAN_ISO_CODE = 158  # ISO/M49 code; Comtrade has no reporter 158. Our tables use it for Taiwan's mirror rows.
TAIWAN_NAME_ZH = "台灣"

# THE one list of partner codes that are not countries and are kept out of rankings, shares and HHI
# (sources.md 1.8). 490 is deliberately absent: it is Taiwan, kept and labelled 台灣.
# code -> (Comtrade English name, Traditional Chinese label)
EXCLUDED_PARTNER_AREAS: dict[int, tuple[str, str]] = {
    0: ("World", "全世界"),
    129: ("Caribbean, nes", "加勒比海地區（未列明）"),
    221: ("Eastern Europe, nes", "東歐（未列明）"),
    290: ("Northern Africa, nes", "北非（未列明）"),
    471: ("CACM, nes", "中美洲共同市場（未列明）"),
    472: ("Africa CAMEU region, nes", "中非關稅同盟地區（未列明）"),
    473: ("LAIA, nes", "拉丁美洲整合協會（未列明）"),
    492: ("Europe EU, nes", "歐盟（未列明）"),
    527: ("Oceania, nes", "大洋洲（未列明）"),
    536: ("Neutral Zone", "中立區"),
    568: ("Other Europe, nes", "其他歐洲（未列明）"),
    577: ("Other Africa, nes", "其他非洲（未列明）"),
    636: ("Rest of America, nes", "其他美洲（未列明）"),
    637: ("North America and Central America, nes", "北美及中美洲（未列明）"),
    697: ("Europe EFTA, nes", "歐洲自由貿易協會（未列明）"),
    837: ("Bunkers", "船用燃料"),
    838: ("Free Zones", "自由區"),
    839: ("Special Categories", "特殊類別"),
    879: ("Western Asia, nes", "西亞（未列明）"),
    899: ("Areas, nes", "其他地區（未列明）"),
}
EXCLUDED_PARTNER_CODES: frozenset[int] = frozenset(EXCLUDED_PARTNER_AREAS)

# Reporters the layer follows (sources.md 4). 490 is fetched as a reporter for Taiwan's own filing.
TARGET_REPORTERS: tuple[int, ...] = (842, 156, 392, 410, 276)
ALL_REPORTERS: tuple[int, ...] = (*TARGET_REPORTERS, TAIWAN_PARTNER_CODE)

# Comtrade codes that differ from ISO 3166 numeric (Comtrade keeps its M49-era codes for these).
COMTRADE_TO_ISO_NUMERIC: dict[int, int] = {842: 840, 251: 250, 699: 356, 757: 756, 579: 578, 490: 158}


# Reporter-side groups (Reporters.json isGroup): never a partner country. 490 is Taiwan, not a group for us.
REPORTER_GROUP_CODES: frozenset[int] = frozenset({97, 975})

# Every area code of the Comtrade reference lists: the partner list (partnerAreas.json, 292 entries, legacy API) and
# the v1 reporter list (v1_Reporters.json, 2025-06-05, non-group entries; it adds the current codes 380 Italy and 652
# Saint Barthélemy the legacy list lacks) — the files of ../shared/realdata/raw/comtrade/reference (PROVENANCE.md);
# trade_pipeline_tests/bilateral_trade_flows/test_validate.py compares this table with them.
REFERENCE_AREA_CODES: frozenset[int] = frozenset(
    {
        0,
        4,
        8,
        10,
        12,
        16,
        20,
        24,
        28,
        31,
        32,
        36,
        40,
        44,
        48,
        50,
        51,
        52,
        56,
        58,
        60,
        64,
        68,
        70,
        72,
        74,
        76,
        80,
        84,
        86,
        90,
        92,
        96,
        100,
        104,
        108,
        112,
        116,
        120,
        124,
        129,
        132,
        136,
        140,
        144,
        148,
        152,
        156,
        162,
        166,
        170,
        174,
        175,
        178,
        180,
        184,
        188,
        191,
        192,
        196,
        200,
        203,
        204,
        208,
        212,
        214,
        218,
        221,
        222,
        226,
        230,
        231,
        232,
        233,
        234,
        238,
        239,
        242,
        246,
        251,
        254,
        258,
        260,
        262,
        266,
        268,
        270,
        275,
        276,
        278,
        280,
        288,
        290,
        292,
        296,
        300,
        304,
        308,
        312,
        316,
        320,
        324,
        328,
        332,
        334,
        336,
        340,
        344,
        348,
        352,
        356,
        360,
        364,
        368,
        372,
        376,
        380,
        381,
        384,
        388,
        392,
        398,
        400,
        404,
        408,
        410,
        414,
        417,
        418,
        422,
        426,
        428,
        430,
        434,
        440,
        442,
        446,
        450,
        454,
        457,
        458,
        459,
        461,
        462,
        466,
        470,
        471,
        472,
        473,
        474,
        478,
        480,
        484,
        490,
        492,
        496,
        498,
        499,
        500,
        504,
        508,
        512,
        516,
        520,
        524,
        527,
        528,
        530,
        531,
        532,
        533,
        534,
        535,
        536,
        540,
        548,
        554,
        558,
        562,
        566,
        568,
        570,
        574,
        577,
        579,
        580,
        581,
        582,
        583,
        584,
        585,
        586,
        588,
        590,
        591,
        592,
        598,
        600,
        604,
        608,
        612,
        616,
        620,
        624,
        626,
        634,
        636,
        637,
        638,
        642,
        643,
        646,
        647,
        652,
        654,
        658,
        659,
        660,
        662,
        666,
        670,
        674,
        678,
        682,
        686,
        688,
        690,
        694,
        697,
        698,
        699,
        702,
        703,
        704,
        705,
        706,
        710,
        711,
        716,
        717,
        720,
        724,
        728,
        729,
        732,
        736,
        740,
        748,
        752,
        757,
        760,
        762,
        764,
        768,
        772,
        776,
        780,
        784,
        788,
        792,
        795,
        796,
        798,
        800,
        804,
        807,
        810,
        818,
        826,
        834,
        835,
        836,
        837,
        838,
        839,
        841,
        842,
        849,
        850,
        854,
        858,
        860,
        862,
        866,
        868,
        876,
        879,
        882,
        886,
        887,
        890,
        891,
        894,
        899,
    }
)


@lru_cache(maxsize=1)
def known_area_codes() -> frozenset[int]:
    """Codes a partner row may carry: the Comtrade reference above, ISO 3166-1 numeric countries (Comtrade's codes
    are M49, and the reference snapshot predates codes Comtrade uses now), the non-country areas and Taiwan."""
    import pycountry

    iso = {int(c.numeric) for c in pycountry.countries}
    iso_to_comtrade = {v: k for k, v in COMTRADE_TO_ISO_NUMERIC.items()}
    return (
        frozenset(
            REFERENCE_AREA_CODES
            | iso
            | {iso_to_comtrade.get(c, c) for c in iso}
            | EXCLUDED_PARTNER_CODES
            | {TAIWAN_PARTNER_CODE, TAIWAN_ISO_CODE}
        )
        - REPORTER_GROUP_CODES
    )


def is_excluded_partner(code: int) -> bool:
    return int(code) in EXCLUDED_PARTNER_CODES


def canonical_partner_code(code: int) -> int:
    """158 and 490 are the same entity (sources.md 1.9); rows are merged under 490."""
    return TAIWAN_PARTNER_CODE if int(code) == TAIWAN_ISO_CODE else int(code)


@lru_cache(maxsize=1)
def _territories_zh() -> dict[str, str]:
    from babel import Locale

    return dict(Locale.parse("zh_Hant_TW").territories)


def _short_form(name: str) -> str:
    # CLDR's zh_Hant long forms for SARs ("中國香港特別行政區"); babel ships no alt-short form, the report wants 香港.
    if name.endswith("特別行政區"):
        name = name.removesuffix("特別行政區")
        name = name.removeprefix("中國")
    return name


@lru_cache(maxsize=4096)
def _zh_from_iso3(iso3: str) -> str | None:
    import pycountry

    country = pycountry.countries.get(alpha_3=iso3.strip().upper()) if iso3 and iso3.strip() else None
    if country is None:
        return None
    name = _territories_zh().get(country.alpha_2)
    return _short_form(name) if name else None


@lru_cache(maxsize=4096)
def _iso3_from_numeric(code: int) -> str | None:
    import pycountry

    iso_numeric = COMTRADE_TO_ISO_NUMERIC.get(code, code)
    country = pycountry.countries.get(numeric=f"{iso_numeric:03d}")
    return country.alpha_3 if country else None


def area_name_zh(code: int, iso3: str | None = None, fallback: str | None = None) -> str:
    """Traditional Chinese name of a Comtrade reporter/partner code (Taiwan's codes → 台灣)."""
    code = int(code)
    if code in (TAIWAN_PARTNER_CODE, TAIWAN_ISO_CODE):
        return TAIWAN_NAME_ZH
    if code in EXCLUDED_PARTNER_AREAS:
        return EXCLUDED_PARTNER_AREAS[code][1]
    for candidate in (iso3, _iso3_from_numeric(code)):
        if candidate:
            name = _zh_from_iso3(candidate)
            if name:
                return name
    return fallback or f"地區 {code}"


# HS 2022 chapter titles, shortened, in Traditional Chinese (Taiwan tariff wording). The English descriptions come
# from the wire (`cmdDesc`); Comtrade publishes no Chinese names, so this table is ours. Chapter 77 is reserved.
HS2_ZH: dict[str, str] = {
    "01": "活動物",
    "02": "肉及食用雜碎",
    "03": "魚類及甲殼、軟體動物",
    "04": "乳品、禽蛋、蜂蜜",
    "05": "其他動物產品",
    "06": "活樹及其他植物、花卉",
    "07": "食用蔬菜",
    "08": "食用果實及堅果",
    "09": "咖啡、茶及香料",
    "10": "穀類",
    "11": "製粉工業產品",
    "12": "油料種子及果實",
    "13": "蟲膠、植物汁液",
    "14": "編結用植物材料",
    "15": "動植物油脂",
    "16": "肉類、魚類調製品",
    "17": "糖及糖果",
    "18": "可可及其製品",
    "19": "穀類、粉、澱粉或奶製品",
    "20": "蔬菜、果實調製品",
    "21": "雜項調製食品",
    "22": "飲料、酒類及醋",
    "23": "食品工業殘渣、動物飼料",
    "24": "菸類",
    "25": "鹽、硫磺、土及石料、石灰及水泥",
    "26": "礦石、熔渣及礦灰",
    "27": "礦物燃料、礦油",
    "28": "無機化學品",
    "29": "有機化學產品",
    "30": "醫藥品",
    "31": "肥料",
    "32": "鞣革或染色萃取物、顏料、油漆",
    "33": "精油、香水、化妝品",
    "34": "肥皂、清潔劑、蠟",
    "35": "蛋白狀物質、膠",
    "36": "炸藥、火工品",
    "37": "感光或電影用品",
    "38": "雜項化學產品",
    "39": "塑膠及其製品",
    "40": "橡膠及其製品",
    "41": "生皮及皮革",
    "42": "皮革製品、手提袋",
    "43": "毛皮及其製品",
    "44": "木及木製品",
    "45": "軟木及其製品",
    "46": "編結材料製品",
    "47": "木漿",
    "48": "紙及紙板",
    "49": "書籍、印刷品",
    "50": "絲",
    "51": "羊毛、動物毛",
    "52": "棉花",
    "53": "其他植物紡織纖維",
    "54": "人造纖維絲",
    "55": "人造纖維棉",
    "56": "填充用材料、不織布、繩索",
    "57": "地毯",
    "58": "特殊梭織物、花邊",
    "59": "浸漬、塗布紡織物",
    "60": "針織品或鉤針織品",
    "61": "針織或鉤針織之衣著",
    "62": "非針織之衣著",
    "63": "其他製成紡織品",
    "64": "鞋靴",
    "65": "帽類",
    "66": "雨傘、手杖",
    "67": "羽毛製品、人造花",
    "68": "石料、水泥、石棉製品",
    "69": "陶瓷產品",
    "70": "玻璃及玻璃器",
    "71": "珍珠、寶石、貴金屬",
    "72": "鋼鐵",
    "73": "鋼鐵製品",
    "74": "銅及其製品",
    "75": "鎳及其製品",
    "76": "鋁及其製品",
    "78": "鉛及其製品",
    "79": "鋅及其製品",
    "80": "錫及其製品",
    "81": "其他卑金屬、金屬陶瓷",
    "82": "卑金屬製工具、刀具",
    "83": "雜項卑金屬製品",
    "84": "核子反應器、鍋爐、機器及機械用具",
    "85": "電機與設備及其零件",
    "86": "鐵道車輛及其零件",
    "87": "鐵道以外車輛及其零件",
    "88": "航空器、太空船及其零件",
    "89": "船舶及浮動構造體",
    "90": "光學、精密及醫療儀器",
    "91": "鐘錶及其零件",
    "92": "樂器",
    "93": "武器及彈藥",
    "94": "家具、寢具、燈具、組合式建築",
    "95": "玩具、遊戲及運動用品",
    "96": "雜項製品",
    "97": "藝術品、收藏品及古董",
    "99": "其他未分類商品",
}
HS2_CODES: tuple[str, ...] = tuple(c for c in HS2_ZH if c != "99")  # the chapters requested against World

FLOW_ZH = {"X": "出口", "M": "進口"}

"""Key provisions of an announcement, extracted deterministically from its stored body text.

Every rule is written here in words and in code; ``trade_pipeline_tests/cn_export_control/test_provisions.py`` pins
them on the sample articles and on the real quoted texts of ../shared/realdata.

Clauses (:func:`segment`)
    Four numbering levels, as MOFCOM announcements use them: ``一、`` (level 1, at the start of a paragraph),
    ``（一）`` (level 2), ``1．``/``1.``/``1、`` (level 3) and ``a．``/``a.`` (level 4). Levels 2–4 are recognised at the
    start of a paragraph and also *inside* one, right after ``：``, ``；`` or ``。`` (condensed bodies run
    "不得出口：（一）…；（二）…" in one paragraph). A control code such as ``1C117.c．`` is never a level-4 marker (it is
    not preceded by that punctuation). The clause number is the path of the open markers: ``一（二）3.a``; a
    level-3 marker under a level 1 with no level 2 reads ``一、3``. A paragraph without a marker is a level-0
    provision and is kept only when it carries a fact (an effective date, a suspension, an entity list and its
    count, an exemption, customs codes, a threshold); a level-0 paragraph stating several suspensions (separated by
    ``；``) gives one provision per suspension. Attachments are provisions of kind ``annex`` (``附件1``, …).

Kinds (:func:`classify`), first rule that fires
    entity (a numbered line naming a listed entity) → suspension (暂停 with a date or a period) → revocation
    (停止实施/废止/取消) → annex (a paragraph starting 附件) → an unnumbered paragraph starting 根据/依据/为落实 is the
    legal basis (``basis``, not kept) unless it lists entities (``entity_list``: "将3家…列入…名单") → exemption
    (说明…, 不管制, 无需申请许可) → procedure (starts with 出口经营者, 商务部应当, 经审查, 出口许可证件) → a lead-in
    by the category of the control code the clause *starts* with (``2C902.a``: C = item, B/A = equipment,
    E = technology, D = software; "非1C226项下" is a reference, not the clause's code) → a lead-in ending with ``：``
    that has sub-clauses is ``scope`` → technology (every control code is an E code, or the clause ends with 技术/工艺 — "…的技术及资料"
    — naming no material unless it starts with 用/生产) → prohibition (禁止, 不予许可, 不得参与/从事, with no customs
    code or threshold: a country or end-user measure even when it names materials) → equipment (设备, 压机, 炉, 窑, 槽, 罐, 生产线, 部件, with no dictionary material named) →
    technology (技术/工艺, no customs code, no material) → item (customs codes or a dictionary material) →
    entity_list → liability (追究…责任, 行政处罚) → prohibition (禁止/不予许可/不得) → item (a threshold alone) →
    exemption (除外, 豁免) → effective (an effective-date clause) → procedure (申请/许可证/报关/申报) → other; a
    numbered sub-clause that is "other" becomes a ``criterion`` (a characteristic) under a scope, item, equipment or
    technology clause, else takes its parent's kind (the document list under a licensing clause).

Parsed values
    customs codes: the digits after 参考海关商品编号 / 参考税则号列 / 海关商品编号 / 税则号列 (8 or 10 digits, as
    given); ``hs6`` = their first six digits (China's tariff follows HS 2022 at six digits). Control codes:
    ``\\d[A-E]\\d{3}`` with optional ``.a``/``.a.1``. Thresholds: a comparator (≥ ≤ > < 大于等于 小于等于 大于 小于
    不低于 不超过 高于 低于, or a trailing 及以上 以上 及以下 以下, which include the number as PRC legal usage does)
    with a number and unit, and the quantity named right before it (纯度, 重量能量密度, 价值比例 …; '' when a
    connector such as 或/和/用于 stands there); units are normalised (千瓦 → kW,
    克/立方厘米 → g/cm³ …). Entity counts: ``N家``. Suspension windows: ``于A至B暂停`` or ``自A起…暂停…一年``
    (one year from A, the last day inclusive), the start carried over within a sentence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from trade_pipeline.defs.cn_export_control.extract import (
    _date,
    _one_year_later,
    find_controlled_items,
    find_doc_numbers,
    find_effective_dates,
)
from trade_pipeline.defs.cn_export_control.zh_tw import to_zh_tw

_CN_NUM = "一二三四五六七八九十"
_L1_RE = re.compile(rf"^([{_CN_NUM}]{{1,3}})、")
_L2_RE = re.compile(rf"（([{_CN_NUM}]{{1,3}})）")
_L3_RE = re.compile(r"(\d{1,2})\s*[\.．、](?![\d])")
_L4_RE = re.compile(r"([a-z])\s*[\.．](?![\d])")
_INLINE_AFTER = "：:；;。"

_CUSTOMS_RE = re.compile(
    r"(?:参考海关商品编号|参考税则号列|海关商品编号|税则号列|商品编号)\s*[：:]\s*((?:\d{8,10}[、，,；;\s]*)+)"
)
_CONTROL_CODE_RE = re.compile(r"(?<![A-Za-z0-9])(\d[A-E]\d{3}(?:\.[a-z](?:\.\d{1,2})?)?)(?![0-9])")
_ENTITY_COUNT_RE = re.compile(r"(\d+)\s*家")
_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_SUSP_RANGE_RE = re.compile(r"于?\s*" + _DATE + r"\s*至\s*" + _DATE)
_SUSP_FROM_RE = re.compile(r"自\s*" + _DATE + r"\s*起")

_NUM = r"\d+(?:\.\d+)?(?:\s*×\s*10⁻⁶)?"
_UNITS = {
    "%": "%",
    "％": "%",
    "Wh/kg": "Wh/kg",
    "g/cm³": "g/cm³",
    "g/cm3": "g/cm³",
    "克/立方厘米": "g/cm³",
    "Mpa": "MPa",
    "MPa": "MPa",
    "GPa": "GPa",
    "千兆帕": "GPa",
    "MN": "MN",
    "kW": "kW",
    "千瓦": "kW",
    "min": "min",
    "μm": "μm",
    "微米": "μm",
    "mm": "mm",
    "毫米": "mm",
    "m³": "m³",
    "m3": "m³",
    "纳米": "nm",
    "nm": "nm",
    "层": "層",
    "英寸": "英寸",
    "兆赫": "MHz",
    "MHz": "MHz",
    "个/平方厘米": "個/cm²",
    "A/cm2": "A/cm²",
    "m": "m",
}
_UNIT_RE = "(?:" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + ")(?![A-Za-z])"
_PREFIX_OPS = {
    "大于等于": "≥",
    "小于等于": "≤",
    "不低于": "≥",
    "不超过": "≤",
    "大于": ">",
    "小于": "<",
    "高于": ">",
    "低于": "<",
    "≥": "≥",
    "≤": "≤",
    ">": ">",
    "<": "<",
    "＞": ">",
    "＜": "<",
    "&gt;": ">",
    "&lt;": "<",
}
_POSTFIX_OPS = {"及以上": "≥", "以上": "≥", "及以下": "≤", "以下": "≤"}
_PREFIX_RE = re.compile(
    r"(?P<op>"
    + "|".join(re.escape(o) for o in sorted(_PREFIX_OPS, key=len, reverse=True))
    + r")\s*(?P<num>"
    + _NUM
    + r")\s*(?P<unit>"
    + _UNIT_RE
    + r")?"
)
_POSTFIX_RE = re.compile(r"(?P<num>" + _NUM + r")\s*(?P<unit>" + _UNIT_RE + r")?\s*(?P<op>及以上|以上|及以下|以下)")
_NAME_RUN_RE = re.compile(r"[\u4e00-\u9fff]{1,12}$")
_NAME_TRAILING = ("达到", "为", "在", "的", "是")
_NAME_CUT = ("且", "的", "于", "和", "及", "或", "达到", "用于")
_CONNECTORS = ("或", "和", "及", "、", "，", "用于")

_EQUIPMENT_RE = re.compile(r"设备|压机|装置|炉|窑|萃取槽|电解槽|反应罐|生产线|机组|零部件|部件")
_TECH_RE = re.compile(r"技术|工艺")
_TECH_END_RE = re.compile(r"(技术|工艺)(及资料|及其载体)?(（[^）]*）)?[。；]?$")
_PROHIBIT_RE = re.compile(r"禁止|不予许可|不得")
_PROHIBIT_FIRST_RE = re.compile(r"禁止|不予许可|不得参与|不得从事")
_EXEMPT_RE = re.compile(r"无需申请许可|不管制|除外|豁免")
_PROCEDURE_RE = re.compile(r"出口经营者|申请|许可证|报关|申报|审查")
_REVOKE_RE = re.compile(r"停止实施|废止|取消")
_ENTITY_LIST_RE = re.compile(r"将[^。；]{0,40}列入[^。；]{0,30}(清单|名单)")
_LIABILITY_RE = re.compile(r"追究[^。；]{0,6}责任|给予行政处罚")
_PROCEDURE_START = ("出口经营者", "商务部应当", "经审查", "出口许可证件")

CODE_CATEGORY_KIND = {"A": "equipment", "B": "equipment", "C": "item", "D": "software", "E": "technology"}
KIND_ZH_TW = {
    "scope": "管制範圍",
    "item": "管制物項",
    "equipment": "設備",
    "technology": "技術",
    "software": "軟體",
    "entity": "列名實體",
    "entity_list": "列名決定",
    "suspension": "暫停措施",
    "revocation": "停止或廢止",
    "annex": "附件",
    "prohibition": "禁止或不予許可",
    "exemption": "豁免或除外",
    "effective": "生效條款",
    "procedure": "程序",
    "liability": "違規責任",
    "basis": "法律依據",
    "criterion": "技術特性",
    "other": "其他",
}
FACT_KINDS = frozenset(
    {
        "item",
        "equipment",
        "technology",
        "software",
        "entity",
        "entity_list",
        "suspension",
        "revocation",
        "annex",
        "prohibition",
        "exemption",
        "effective",
        "liability",
        "criterion",
    }
)


@dataclass(frozen=True)
class Threshold:
    name: str
    op: str
    value: str
    unit: str

    @property
    def text(self) -> str:
        return f"{self.name + ' ' if self.name else ''}{self.op} {self.value}{(' ' + self.unit) if self.unit else ''}"


@dataclass
class Provision:
    clause_no: str
    level: int
    text: str
    kind: str = "other"
    seq: int = 0
    control_codes: list[str] = field(default_factory=list)
    customs_codes: list[str] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    item_keys: list[str] = field(default_factory=list)
    entity_count: int | None = None
    entity_name: str = ""
    referenced_numbers: list[str] = field(default_factory=list)
    effective_date: date | None = None
    suspension_start: date | None = None
    suspension_until: date | None = None
    has_children: bool = False

    @property
    def hs6(self) -> list[str]:
        out: list[str] = []
        for code in self.customs_codes:
            if code[:6] not in out:
                out.append(code[:6])
        return out


def find_customs_codes(text: str) -> list[str]:
    out: list[str] = []
    for m in _CUSTOMS_RE.finditer(text):
        for code in re.findall(r"\d{8,10}", m.group(1)):
            if code not in out:
                out.append(code)
    return out


def find_control_codes(text: str) -> list[str]:
    out: list[str] = []
    for m in _CONTROL_CODE_RE.finditer(text):
        if m.group(1) not in out:
            out.append(m.group(1))
    return out


def _name_before(text: str, pos: int) -> str:
    """The quantity a threshold is about: the nearest words before ``pos`` (纯度, 重量能量密度, 价值比例 …), or ''."""
    before = text[:pos].rstrip()
    if before.endswith(_CONNECTORS):
        return ""
    m = _NAME_RUN_RE.search(before)
    if not m:
        return ""
    name = m.group(0)
    stripped = True
    while stripped and name:
        stripped = False
        for word in _NAME_TRAILING:
            if name.endswith(word):
                name, stripped = name[: -len(word)], True
    for word in _NAME_CUT:
        idx = name.rfind(word)
        if idx >= 0:
            name = name[idx + len(word) :]
    return name


def find_thresholds(text: str) -> list[Threshold]:
    """Technical thresholds in reading order (see module doc)."""
    text = text.replace("&gt;", ">").replace("&lt;", "<")
    hits: list[tuple[int, Threshold]] = []
    taken: list[tuple[int, int]] = []
    for m in _POSTFIX_RE.finditer(text):
        if not m.group("unit") and m.group("op") in ("以上", "以下"):
            continue
        hits.append(
            (
                m.start(),
                Threshold(
                    _name_before(text, m.start()),
                    _POSTFIX_OPS[m.group("op")],
                    re.sub(r"\s+", "", m.group("num")),
                    _UNITS.get(m.group("unit") or "", ""),
                ),
            )
        )
        taken.append((m.start(), m.end()))
    for m in _PREFIX_RE.finditer(text):
        if any(a <= m.start("num") < b for a, b in taken):
            continue
        hits.append(
            (
                m.start(),
                Threshold(
                    _name_before(text, m.start()),
                    _PREFIX_OPS[m.group("op")],
                    re.sub(r"\s+", "", m.group("num")),
                    _UNITS.get(m.group("unit") or "", ""),
                ),
            )
        )
    out: list[Threshold] = []
    for _, t in sorted(hits, key=lambda h: h[0]):
        if t not in out:
            out.append(t)
    return out


# --- segmentation ------------------------------------------------------------------------------------------------
def _split_inline(paragraph: str) -> list[tuple[int, str, str]]:
    """(level, marker, text) pieces of one paragraph; level 0 = text before any marker."""
    pieces: list[tuple[int, str, str]] = []
    cuts: list[tuple[int, int, int, str]] = []  # (start, end, level, marker)
    m = _L1_RE.match(paragraph)
    if m:
        cuts.append((0, m.end(), 1, m.group(1)))
    for level, regex in ((2, _L2_RE), (3, _L3_RE), (4, _L4_RE)):
        for hit in regex.finditer(paragraph):
            start = hit.start()
            before = paragraph[:start].rstrip()
            at_start = not before or (cuts and cuts[0][2] == 1 and start == cuts[0][1])
            if at_start or before[-1] in _INLINE_AFTER:
                if any(a <= start < b for a, b, _, _ in cuts):
                    continue
                cuts.append((start, hit.end(), level, hit.group(1)))
    cuts.sort()
    if not cuts:
        return [(0, "", paragraph)]
    if cuts[0][0] > 0:
        pieces.append((0, "", paragraph[: cuts[0][0]].strip()))
    for i, (_start, end, level, marker) in enumerate(cuts):
        stop = cuts[i + 1][0] if i + 1 < len(cuts) else len(paragraph)
        pieces.append((level, marker, paragraph[end:stop].strip()))
    return [p for p in pieces if p[2] or p[0]]


def _clause_no(path: dict[int, str]) -> str:
    parts = ""
    if 1 in path:
        parts += path[1]
    if 2 in path:
        parts += f"（{path[2]}）"
    if 3 in path:
        parts += ("、" if parts and 2 not in path else "") + path[3]
    if 4 in path:
        parts += ("." if parts else "") + path[4]
    return parts


def segment(paragraphs: list[str]) -> list[Provision]:
    """Clauses of a body, in order, with their numbering path (see module doc)."""
    out: list[Provision] = []
    path: dict[int, str] = {}
    for paragraph in paragraphs:
        for level, marker, text in _split_inline(paragraph):
            if level == 0:
                out.append(Provision("", 0, text))
                continue
            for deeper in [k for k in path if k >= level]:
                del path[deeper]
            path[level] = marker
            out.append(Provision(_clause_no(path), level, text))
    for i, p in enumerate(out):
        if p.level and i + 1 < len(out) and out[i + 1].level > p.level:
            p.has_children = True
    return out


# --- facts of one clause -----------------------------------------------------------------------------------------
def _suspension_parts(text: str) -> list[tuple[str, date | None, date | None]]:
    """(part text, start, until) of each suspension a clause states; a start date carries over within a sentence."""
    out: list[tuple[str, date | None, date | None]] = []
    for sentence in re.split(r"(?<=。)", text):
        carried: date | None = None
        for part in re.split(r"(?<=[；;])", sentence):
            rng = _SUSP_RANGE_RE.search(part)
            frm = _SUSP_FROM_RE.search(part)
            if frm:
                carried = _date(*frm.group(1, 2, 3))
            if "暂停" not in part:
                continue
            start = until = None
            if rng:
                start, until = _date(*rng.group(1, 2, 3)), _date(*rng.group(4, 5, 6))
            else:
                start = carried
                if start is not None and re.search(r"暂停[^。；;]{0,40}?一年|一年[^。；;]{0,6}暂停", part):
                    until = _one_year_later(start)
            out.append((part.strip(), start, until))
    return out


def classify(p: Provision, entities: set[str]) -> str:
    text = p.text
    name = re.split(r"[（(]", text, maxsplit=1)[0].strip(" ：:；;，,。")
    if p.level and name and name in entities:
        return "entity"
    if "暂停" in text and (p.suspension_start or p.suspension_until or "一年" in text):
        return "suspension"
    if _REVOKE_RE.search(text) and not p.customs_codes:
        return "revocation"
    if text.startswith("附件"):
        return "annex"
    if p.level == 0 and text.startswith(("根据", "依据", "为落实", "为贯彻")):
        return "entity_list" if _ENTITY_LIST_RE.search(text) else "basis"
    if text.startswith("说明") or re.search(r"不管制|无需申请许可", text):
        return "exemption"
    if text.startswith(_PROCEDURE_START):
        return "procedure"
    leading = _CONTROL_CODE_RE.match(text)
    if leading:
        return CODE_CATEGORY_KIND.get(leading.group(1)[1], "item")
    if p.has_children and text.rstrip().endswith(("：", ":")):
        return "scope"
    material = [k for k in p.item_keys if k != "dual_use_items"]
    if p.control_codes and all(c[1] == "E" for c in p.control_codes):
        return "technology"
    if _TECH_END_RE.search(text) and (not material or text.startswith(("用", "生产"))):
        return "technology"
    if _PROHIBIT_FIRST_RE.search(text) and not (p.customs_codes or p.thresholds):
        return "prohibition"
    if _EQUIPMENT_RE.search(text) and not material:
        return "equipment"
    if _TECH_RE.search(text) and not p.customs_codes and not material:
        return "technology"
    if p.customs_codes or material:
        return "item"
    if _ENTITY_LIST_RE.search(text):
        return "entity_list"
    if _LIABILITY_RE.search(text):
        return "liability"
    if _PROHIBIT_RE.search(text):
        return "prohibition"
    if p.thresholds:
        return "item"
    if _EXEMPT_RE.search(text):
        return "exemption"
    if p.effective_date:
        return "effective"
    if _PROCEDURE_RE.search(text):
        return "procedure"
    return "other"


def _facts(p: Provision, publish_date: date | None, entities: set[str]) -> Provision:
    p.customs_codes = find_customs_codes(p.text)
    p.control_codes = find_control_codes(p.text)
    p.thresholds = find_thresholds(p.text)
    p.item_keys = find_controlled_items(p.text)
    p.referenced_numbers = [d.text for d in find_doc_numbers(p.text)]
    counts = _ENTITY_COUNT_RE.findall(p.text)
    p.entity_count = int(counts[0]) if counts else None
    clauses = find_effective_dates(p.text, publish_date)
    p.effective_date = min((c.effective for c in clauses), default=None)
    if "暂停" in p.text:
        parts = _suspension_parts(p.text)
        if parts:
            p.suspension_start, p.suspension_until = parts[0][1], parts[0][2]
    p.kind = classify(p, entities)
    if p.kind == "entity":
        p.entity_name = re.split(r"[（(]", p.text, maxsplit=1)[0].strip(" ：:；;，,。")
        p.entity_count = None
    return p


def extract_provisions(
    paragraphs: list[str],
    *,
    publish_date: date | None = None,
    entities: list[str] = (),
    attachments: list[tuple[str, str]] = (),
) -> list[Provision]:
    """Every provision of one announcement (see module doc), numbered ``seq`` 1… in body order."""
    entity_set = set(entities)
    out: list[Provision] = []
    for p in segment(paragraphs):
        if p.level == 0 and "暂停" in p.text:
            parts = _suspension_parts(p.text)
            if len(parts) > 1:
                for text, _, _ in parts:
                    q = _facts(Provision("", 0, text), publish_date, entity_set)
                    # the carried-over start was computed over the whole sentence: take it from there
                    match = next(((s, u) for t, s, u in parts if t == text), (None, None))
                    q.suspension_start, q.suspension_until = match
                    q.kind = "suspension"
                    out.append(q)
                continue
        p = _facts(p, publish_date, entity_set)
        if p.level == 0 and p.kind not in FACT_KINDS and not (p.customs_codes or p.thresholds):
            continue
        out.append(p)
    # a sub-clause with nothing of its own (a document list under a licensing clause) takes its parent's kind
    parents: dict[int, str] = {}
    for p in out:
        if p.level:
            parent = next((parents[k] for k in sorted(parents, reverse=True) if k < p.level), None)
            if p.kind == "other" and parent is not None:
                # under a lead-in or an item/equipment clause: one of its characteristics
                p.kind = "criterion" if parent in ("scope", "item", "equipment", "technology", "criterion") else parent
            parents = {k: v for k, v in parents.items() if k < p.level}
            parents[p.level] = p.kind
    for i, (text, href) in enumerate(attachments, start=1):
        out.append(Provision(f"附件{i}", 0, text or href, kind="annex", item_keys=find_controlled_items(text or "")))
    for i, p in enumerate(out, start=1):
        p.seq = i
    return out


def provision_record(p: Provision) -> dict:
    """The warehouse columns of one provision (announcement columns are added by the asset)."""
    return {
        "seq": p.seq,
        "clause_no": p.clause_no,
        "level": p.level,
        "kind": p.kind,
        "kind_zh_tw": KIND_ZH_TW.get(p.kind, p.kind),
        "text_zh_hans": p.text,
        "text_zh_tw": to_zh_tw(p.text),
        "clause_no_zh_tw": to_zh_tw(p.clause_no),
        "control_codes": ";".join(p.control_codes),
        "customs_codes": ";".join(p.customs_codes),
        "hs6_codes": ";".join(p.hs6),
        "thresholds_zh_tw": "；".join(to_zh_tw(t.text) for t in p.thresholds),
        "thresholds_json": json.dumps([t.__dict__ for t in p.thresholds], ensure_ascii=False) if p.thresholds else "",
        "item_keys": ";".join(p.item_keys),
        "entity_count": p.entity_count,
        "entity_name": p.entity_name,
        "entity_name_zh_tw": to_zh_tw(p.entity_name),
        "referenced_numbers": ";".join(p.referenced_numbers),
        "referenced_numbers_zh_tw": ";".join(to_zh_tw(n) for n in p.referenced_numbers),
        "effective_date": p.effective_date,
        "suspension_start": p.suspension_start,
        "suspension_until": p.suspension_until,
    }

"""Deterministic extraction, classification and ranking of MOFCOM announcements.

Every rule is written here in words and in code; the tests in ``trade_pipeline_tests/cn_export_control`` pin them.

Document number (:func:`find_doc_numbers`)
    ``{issuer(s)}{公告|令}{YYYY}[年]第{N}号`` with optional whitespace between parts, the year in Arabic or Chinese
    numerals (二〇二五), joint issuers separated by ``、``, spaces or U+3000 (sources.md §3.6). Issuers are only the
    names of :data:`dictionary.ISSUERS` found immediately before ``公告``/``令``. Also ``国务院令第792号`` (no year).
    Normalised form: ``商务部、海关总署公告2025年第58号``. The announcement's *own* number is the first one in the
    title, else the one on the body's header line (a first paragraph of at most 40 characters, as in
    "商务部公告2025年第61号"); every other number in the body is *referenced* (a spokesperson's answer citing
    商务部公告2025年第13号 refers to it, it is not its own number).

Dates
    publish date: the article's ``var publishTime`` (more reliable per §3.5), else the list row's ``publishTimeStr``.
    effective date (:func:`find_effective_dates`): ``自YYYY年M月D日起…施行/实施/执行/生效`` (up to 8 characters
    between 起 and the verb, e.g. 起暂停实施), ``自公布/发布之日起…`` (= the publish date), ``YYYY年M月D日起执行``.
    When several clauses apply (公告2025年第61号: parts from 2025-12-01, the rest from publication) the row keeps the
    *earliest* date and the note lists all of them.

Controlled items (:func:`find_controlled_items`)
    Title and body are scanned against :data:`dictionary.CONTROLLED_ITEMS`; compound names are consumed first, and a
    *generic* item (两用物项) is only kept when nothing specific matched. Listed entity names and numbered entity
    lines are removed first (反无人机技术公司 is a company, not a drone control).

Entities
    Title pattern ``将X等N家…列入<list>`` (X and the count), and numbered lines ``1.名称（English）`` in a body that
    names one of :data:`dictionary.ENTITY_LISTS`.

Category (:func:`classify`) — the first rule that fires on the *title* wins:
    1. enforcement_action: the title names an entity list (不可靠实体清单, 管控名单, 关注名单) or 反制/制裁/处罚.
    2. controlled_item_change: the title says 出口管制 together with 实施/加强/调整/优化 and names a dictionary item or
       物项, or publishes a 管制清单.
    3. regulation_update: the title names a law or regulation (《…法》, 条例, 规定, 办法, 许可证管理目录).
    4. international_cooperation: 对话/磋商/会谈/合作, or the title is about a foreign government's action
       (starts with a country, or names 美方/欧方/荷方… without rules 1–3 firing).
    5. policy_guidance: 答记者问, 解读, 指南, 通知, 通告, 问答, 提醒.
    No title rule → the body keyword scores decide (confidence 低); no score either → ``policy_guidance`` with
    confidence 低 and the flag ``category_undecided``.
    Confidence: 高 = title rule and the body supports the same category; 中 = title rule but no body (title only) or
    the body does not support it; 低 = body-only or undecided.

Flags (``review_flags``, each prints [REVIEW_NEEDED])
    title_only (article not usable: failed/garbled/changed page), garbled_text, off_host_url, changed_structure,
    category_undecided, immediate_major_control (a controlled_item_change on a major item, or on all dual-use items
    to a country, effective the day it is published), content_title_mismatch (the body's own number differs from the
    title's, or items named in the title never appear in the body).

Importance (:func:`importance`) — higher first, for section 三 of the report:
    category base (controlled_item_change 50, enforcement_action 40, regulation_update 30, international_cooperation
    20, policy_guidance 10) + 30 published in the week + 25 effective date in the week + 15 list change (entities or
    an entity list in the title) + 10 a major item + 5 a numbered document + recency (12 − months since publication,
    floored at 0) − 20 when only the title is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from trade_pipeline.defs.cn_export_control.dictionary import (
    CATEGORY_ZH_TW,
    COMPOUND_ITEMS,
    CONTROLLED_ITEMS,
    COUNTRIES,
    ENTITY_LISTS,
    ISSUER_PREFIXES,
    ISSUERS,
    ITEMS_BY_KEY,
)
from trade_pipeline.defs.cn_export_control.zh_tw import to_zh_tw  # noqa: F401 (re-exported)

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_YEAR = r"(\d{4}|[〇零一二三四五六七八九]{4})"
_DOC_RE = re.compile(r"(公告|令)[\s\u3000]*" + _YEAR + r"[\s\u3000]*年?[\s\u3000]*第[\s\u3000]*(\d+)[\s\u3000]*号")
_ORDER_NO_YEAR_RE = re.compile(r"(国务院)令[\s\u3000]*第[\s\u3000]*(\d+)[\s\u3000]*号")
_ISSUER_NAMES = sorted(ISSUERS, key=len, reverse=True)
_SEPARATORS = "、 \u3000,，"

_DATE_CN = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_EFFECTIVE_FROM_RE = re.compile(r"自\s*" + _DATE_CN + r"\s*起[^。；;\n]{0,8}?(施行|实施|执行|生效)")
_EFFECTIVE_ON_PUBLISH_RE = re.compile(r"自?(?:本公告)?(?:公布|发布|印发)之日起[^。；;\n]{0,6}?(施行|实施|执行|生效)")
_EFFECTIVE_DATE_RE = re.compile(_DATE_CN + r"\s*起?\s*(正式)?(施行|生效|起执行|执行)")

# Suspensions: "于2025年11月10日至2026年11月9日暂停实施…" (a stated period) or "自2025年11月10日起…暂停实施…一年"
# (one year from the start, possibly in a later clause of the same sentence).
_SUSPENSION_RANGE_RE = re.compile(_DATE_CN + r"\s*至\s*" + _DATE_CN + r"[^。；;\n]{0,12}?暂停")
_SUSPENSION_START_RE = re.compile(r"自\s*" + _DATE_CN + r"\s*起")
_SUSPENSION_YEAR_RE = re.compile(r"暂停[^。]{0,80}?一年")

_UEL_TITLE_RE = re.compile(r"将(.{1,40}?)等(\d+)家(.{0,10}?)(?:企业|实体|机构)?列入(" + "|".join(ENTITY_LISTS) + ")")
_NUMBERED_LINE_RE = re.compile(r"^\s*(\d{1,3})\s*[\.、．]\s*(.+?)\s*$")


@dataclass(frozen=True)
class DocNumber:
    issuers: tuple[str, ...]
    kind: str  # 公告 | 令
    year: int | None
    number: int

    @property
    def text(self) -> str:
        year = f"{self.year}年" if self.year else ""
        return f"{'、'.join(self.issuers)}{self.kind}{year}第{self.number}号"

    @property
    def key(self) -> tuple:
        return (self.kind, self.year, self.number)


def _year(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int("".join(str(_CN_DIGITS[c]) for c in value))


def _issuers_before(text: str, end: int) -> tuple[str, ...]:
    """Known issuer names immediately before position ``end`` (joined by 、/spaces), in reading order."""
    found: list[str] = []
    pos = end
    while True:
        while pos > 0 and text[pos - 1] in _SEPARATORS:
            pos -= 1
        for name in _ISSUER_NAMES:
            if text.endswith(name, 0, pos):
                found.append(name)
                pos -= len(name)
                for prefix in ISSUER_PREFIXES:
                    if text.endswith(prefix, 0, pos):
                        pos -= len(prefix)
                break
        else:
            break
    canon = {"国家密码管理局": "国家密码局"}
    return tuple(canon.get(n, n) for n in reversed(found))


def find_doc_numbers(text: str) -> list[DocNumber]:
    """Every document number in ``text``, in order of appearance, duplicates removed."""
    out: list[DocNumber] = []
    seen: set[str] = set()
    hits: list[tuple[int, DocNumber]] = []
    for m in _DOC_RE.finditer(text):
        hits.append(
            (m.start(), DocNumber(_issuers_before(text, m.start()), m.group(1), _year(m.group(2)), int(m.group(3))))
        )
    for m in _ORDER_NO_YEAR_RE.finditer(text):
        hits.append((m.start(), DocNumber((m.group(1),), "令", None, int(m.group(2)))))
    for _, doc in sorted(hits, key=lambda h: h[0]):
        if doc.text not in seen:
            seen.add(doc.text)
            out.append(doc)
    return out


def find_issuers(text: str) -> list[str]:
    """Issuers named anywhere in ``text`` (dictionary order of appearance, longest names first)."""
    found: list[tuple[int, str]] = []
    consumed = text
    for name in _ISSUER_NAMES:
        idx = consumed.find(name)
        if idx >= 0:
            found.append((idx, "国家密码局" if name == "国家密码管理局" else name))
            consumed = consumed.replace(name, "\0" * len(name))
    out: list[str] = []
    for _, n in sorted(found):
        if n not in out:
            out.append(n)
    return out


@dataclass(frozen=True)
class EffectiveClause:
    effective: date
    phrase: str


def _date(y: str, m: str, d: str) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def find_effective_dates(text: str, publish_date: date | None) -> list[EffectiveClause]:
    """Effective-date clauses in body order (see module doc)."""
    clauses: list[tuple[int, EffectiveClause]] = []
    taken: list[tuple[int, int]] = []
    for m in _EFFECTIVE_FROM_RE.finditer(text):
        d = _date(m.group(1), m.group(2), m.group(3))
        if d:
            clauses.append((m.start(), EffectiveClause(d, m.group(0))))
            taken.append(m.span())
    if publish_date is not None:
        for m in _EFFECTIVE_ON_PUBLISH_RE.finditer(text):
            clauses.append((m.start(), EffectiveClause(publish_date, m.group(0))))
            taken.append(m.span())
    for m in _EFFECTIVE_DATE_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        d = _date(m.group(1), m.group(2), m.group(3))
        if d:
            clauses.append((m.start(), EffectiveClause(d, m.group(0))))
    return [c for _, c in sorted(clauses, key=lambda c: c[0])]


@dataclass(frozen=True)
class Suspension:
    start: date
    until: date
    phrase: str


def _one_year_later(start: date) -> date:
    try:
        return date(start.year + 1, start.month, start.day) - timedelta(days=1)
    except ValueError:  # 29 February
        return start + timedelta(days=364)


def find_suspension(text: str) -> Suspension | None:
    """The suspension period an announcement states, if any (the latest end when several are stated)."""
    found: list[Suspension] = []
    for m in _SUSPENSION_RANGE_RE.finditer(text):
        start, until = _date(*m.group(1, 2, 3)), _date(*m.group(4, 5, 6))
        if start and until and until >= start:
            found.append(Suspension(start, until, m.group(0)))
    for sentence in re.split(r"[。\n]", text):
        years = _SUSPENSION_YEAR_RE.search(sentence)
        starts = [m for m in _SUSPENSION_START_RE.finditer(sentence) if years and m.start() < years.end()]
        if years and starts:
            start = _date(*starts[-1].group(1, 2, 3))
            if start:
                found.append(Suspension(start, _one_year_later(start), sentence[starts[-1].start() : years.end()]))
    return max(found, key=lambda s: s.until) if found else None


def find_controlled_items(text: str) -> list[str]:
    """Dictionary item keys named in ``text`` (dictionary order). Compounds are consumed before element names."""
    found: set[str] = set()
    rest = text
    for compound in sorted(COMPOUND_ITEMS, key=len, reverse=True):
        if compound in rest:
            found.add(COMPOUND_ITEMS[compound])
            rest = rest.replace(compound, "\0")
    for item in CONTROLLED_ITEMS:
        for pattern in sorted(item.patterns, key=len, reverse=True):
            if pattern in rest:
                found.add(item.key)
                rest = rest.replace(pattern, "\0")
    specific = [i.key for i in CONTROLLED_ITEMS if i.key in found and not i.generic]
    if specific:
        return specific
    return [i.key for i in CONTROLLED_ITEMS if i.key in found]


def find_countries(text: str) -> list[str]:
    """zh-TW names of countries concerned, in order of first appearance, deduplicated."""
    hits: list[tuple[int, str]] = []
    for name, (zh_tw, _) in COUNTRIES.items():
        idx = text.find(name)
        if idx >= 0:
            hits.append((idx, zh_tw))
    out: list[str] = []
    for _, n in sorted(hits):
        if n not in out:
            out.append(n)
    return out


def country_codes(text: str) -> list[str]:
    hits = sorted((text.find(n), code) for n, (_, code) in COUNTRIES.items() if n in text)
    out: list[str] = []
    for _, c in hits:
        if c not in out:
            out.append(c)
    return out


def find_entities(title: str, paragraphs: Iterable[str]) -> list[str]:
    """Entities added to/adjusted on a list: from the title pattern and from numbered lines of a list body."""
    out: list[str] = []
    m = _UEL_TITLE_RE.search(title)
    if m:
        out.append(m.group(1).strip())
    paras = list(paragraphs)
    if any(name in p for p in paras for name in ENTITY_LISTS):
        for p in paras:
            lm = _NUMBERED_LINE_RE.match(p)
            if not lm:
                continue
            name = lm.group(2)
            # "1.拉法特集团（Rafat Group）" — keep the Chinese name; clauses ("1.禁止…") are not names.
            name = re.split(r"[（(]", name, maxsplit=1)[0].strip(" ：:；;，,。")
            if (
                not name
                or len(name) > 40
                or re.match(r"^(禁止|不得|对|在|自|根据|依据|本|上述|相关|其他|出口|有关)", name)
            ):
                continue
            if name not in out:
                out.append(name)
    return out


# --- classification ------------------------------------------------------------------------------------------
_ENFORCEMENT_TITLE = re.compile("|".join([*ENTITY_LISTS, "反制", "制裁", "处罚", "罚款"]))
_CONTROL_TITLE = re.compile(r"出口管制")
_CONTROL_VERB = re.compile(r"实施|加强|调整|优化|管制清单|管制措施")
_REGULATION_TITLE = re.compile(r"《[^》]*(法|条例|规定|办法|目录)》|条例|法$|法》|规定$|办法$|许可证管理目录|的规定")
_COOPERATION_TITLE = re.compile(r"对话|磋商|会谈|合作|会议|访问|会见")
_FOREIGN_START = re.compile("^(" + "|".join(sorted(COUNTRIES, key=len, reverse=True)) + "|联合国|核供应国集团)")
_FOREIGN_PARTY = re.compile(r"美方|欧方|荷方|日方|美国|欧盟|荷兰|日本|英国")
_GUIDANCE_TITLE = re.compile(r"答记者问|解读|指南|通知|通告|问答|提醒|说明")

_BODY_SUPPORT: dict[str, re.Pattern[str]] = {
    "enforcement_action": re.compile("列入|移出|反制措施|制裁|处罚|" + "|".join(ENTITY_LISTS)),
    "controlled_item_change": re.compile(
        r"实施出口管制|出口许可|未经许可|管制物项|不得出口|两用物项出口许可|原则上不予许可|禁止[^。]{0,60}出口"
    ),
    "regulation_update": re.compile(r"第[一二三四五六七八九十百]+条|施行|废止|修订"),
    "international_cooperation": re.compile(r"对话|磋商|共识|合作|会谈|宣布|发布"),
    "policy_guidance": re.compile(r"答记者问|记者问|发言人|表示|回答|指出"),
}


@dataclass(frozen=True)
class Classification:
    category: str
    confidence: str
    rule: str
    undecided: bool = False


def _title_rule(title: str) -> tuple[str, str] | None:
    if _ENFORCEMENT_TITLE.search(title):
        return "enforcement_action", "title names an entity list or a countermeasure"
    if (
        _CONTROL_TITLE.search(title)
        and _CONTROL_VERB.search(title)
        and (find_controlled_items(title) or "物项" in title or "管制清单" in title)
    ):
        if not _FOREIGN_START.match(title):
            return "controlled_item_change", "title: 出口管制 + 实施/加强/调整 + item"
    if _REGULATION_TITLE.search(title) and not _FOREIGN_START.match(title):
        return "regulation_update", "title names a law or regulation"
    if _COOPERATION_TITLE.search(title):
        return "international_cooperation", "title: dialogue/consultation/cooperation"
    if _FOREIGN_START.match(title):
        return "international_cooperation", "title reports a foreign government's action"
    if _GUIDANCE_TITLE.search(title):
        if _FOREIGN_PARTY.search(title):
            return "international_cooperation", "spokesperson answer about a foreign party's measure"
        return "policy_guidance", "title: 答记者问/指南/通知"
    return None


def classify(title: str, body: str) -> Classification:
    """Exactly one of the five categories, with a confidence (see module doc)."""
    rule = _title_rule(title)
    if rule is not None:
        category, why = rule
        if not body:
            return Classification(category, "中", f"{why}; no body (title only)")
        supported = bool(_BODY_SUPPORT[category].search(body))
        return Classification(
            category, "高" if supported else "中", f"{why}; body {'supports' if supported else 'does not support'} it"
        )
    if body:
        scores = {c: len(p.findall(body)) for c, p in _BODY_SUPPORT.items()}
        best = max(scores.values())
        leaders = [c for c, s in scores.items() if s == best]
        if best > 0 and len(leaders) == 1:
            return Classification(leaders[0], "低", f"no title rule; body keywords favour {leaders[0]} ({best})")
    return Classification(
        "policy_guidance", "低", "undecidable: no title rule and no clear body evidence", undecided=True
    )


# --- importance ----------------------------------------------------------------------------------------------
CATEGORY_BASE = {
    "controlled_item_change": 50,
    "enforcement_action": 40,
    "regulation_update": 30,
    "international_cooperation": 20,
    "policy_guidance": 10,
}


def importance(
    *,
    category: str,
    publish_date: date | None,
    effective_date: date | None,
    week_start: date,
    week_end: date,
    list_change: bool,
    major_item: bool,
    has_doc_number: bool,
    title_only: bool,
) -> int:
    """Rank score of one announcement within one week (see module doc). Higher leads section 三."""
    score = CATEGORY_BASE.get(category, 0)
    if publish_date is not None and week_start <= publish_date <= week_end:
        score += 30
    if effective_date is not None and week_start <= effective_date <= week_end:
        score += 25
    if list_change:
        score += 15
    if major_item:
        score += 10
    if has_doc_number:
        score += 5
    if publish_date is not None:
        months = (week_end.year - publish_date.year) * 12 + (week_end.month - publish_date.month)
        score += max(0, 12 - max(0, months))
    if title_only:
        score -= 20
    return score


# --- one announcement ----------------------------------------------------------------------------------------
@dataclass
class Extraction:
    doc_number: str = ""
    doc_numbers_key: tuple = ()
    referenced_numbers: list[str] = field(default_factory=list)
    issuers: list[str] = field(default_factory=list)
    effective_date: date | None = None
    effective_note: str = ""
    item_keys: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    classification: Classification = field(default_factory=lambda: Classification("policy_guidance", "低", "", True))
    suspension: Suspension | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def items_zh_tw(self) -> list[str]:
        return [ITEMS_BY_KEY[k].zh_tw for k in self.item_keys]

    @property
    def major_item(self) -> bool:
        return any(ITEMS_BY_KEY[k].major for k in self.item_keys)


def extract(
    title: str, paragraphs: list[str], publish_date: date | None, body_title: str = "", source: str = ""
) -> Extraction:
    """All facts of one announcement from its title (list row) and body paragraphs (may be empty)."""
    body = "\n".join(paragraphs)
    ex = Extraction()
    title_numbers = find_doc_numbers(title)
    # The body's own number is its header line (a short first paragraph that is just the number); numbers inside a
    # spokesperson's answer are references, never the article's own number.
    header = paragraphs[0] if paragraphs and len(paragraphs[0]) <= 40 else ""
    head_numbers = find_doc_numbers(header)
    body_numbers = find_doc_numbers(body)
    own = title_numbers[0] if title_numbers else (head_numbers[0] if head_numbers else None)
    if own is not None:
        # The title sometimes drops an issuer ("商务部公告2025第61号"); prefer the body header's fuller issuers.
        fuller = next((d for d in head_numbers if d.key == own.key and len(d.issuers) > len(own.issuers)), None)
        own = fuller or own
        ex.doc_number = own.text
        ex.doc_numbers_key = own.key
    ex.referenced_numbers = [d.text for d in body_numbers if own is None or d.key != own.key]
    if own is not None and own.issuers:
        ex.issuers = list(own.issuers)
    else:
        ex.issuers = find_issuers(title) or find_issuers(source) or find_issuers(" ".join(paragraphs[-3:]))
    clauses = find_effective_dates(body, publish_date)
    if clauses:
        ex.effective_date = min(c.effective for c in clauses)
        notes = []
        for c in clauses:
            note = f"{c.effective.isoformat()}：{c.phrase}"
            if note not in notes:
                notes.append(note)
        ex.effective_note = "；".join(notes)
    ex.suspension = find_suspension(body)
    if ex.suspension and (ex.effective_date is None or ex.suspension.start < ex.effective_date):
        # a stated period is also when the measure takes effect ("于…至…暂停实施")
        ex.effective_date = ex.suspension.start
        note = f"{ex.suspension.start.isoformat()}：{ex.suspension.phrase}"
        ex.effective_note = "；".join(n for n in (note, ex.effective_note) if n)
    ex.entities = find_entities(title, paragraphs)
    # Entity names ("反无人机技术公司") are not controlled items: scan the text with them removed.
    item_text = title + "\n" + "\n".join(p for p in paragraphs if not _NUMBERED_LINE_RE.match(p))
    for name in ex.entities:
        item_text = item_text.replace(name, "")
    title_items = find_controlled_items(item_text.split("\n", 1)[0])
    ex.item_keys = find_controlled_items(item_text)
    ex.countries = find_countries(title + "\n" + body)
    ex.classification = classify(title, body)
    if ex.classification.undecided:
        ex.flags.append("category_undecided")
    if body:
        body_items = set(find_controlled_items(body))
        own_in_body = next((d for d in head_numbers), None)
        mismatch = bool(set(title_items) - body_items - {"dual_use_items"}) or (
            own is not None and title_numbers and own_in_body is not None and own_in_body.key != title_numbers[0].key
        )
        if body_title and not mismatch:
            mismatch = _char_overlap(title, body_title) < 0.3
        if mismatch:
            ex.flags.append("content_title_mismatch")
    if (
        ex.classification.category == "controlled_item_change"
        and publish_date is not None
        and ex.effective_date == publish_date
        and (ex.major_item or ("dual_use_items" in ex.item_keys and ex.countries))
    ):
        ex.flags.append("immediate_major_control")
    return ex


def _char_overlap(a: str, b: str) -> float:
    sa, sb = set(re.sub(r"\s", "", a)), set(re.sub(r"\s", "", b))
    if not sa or not sb:
        return 1.0
    return len(sa & sb) / min(len(sa), len(sb))


def summary_zh_tw(
    *,
    issuers: list[str],
    publish_date: date | None,
    doc_number: str,
    category: str,
    items_zh_tw: list[str],
    entities: list[str],
    countries: list[str],
    effective_date: date | None,
    fetch_status: str,
) -> str:
    """One sentence built only from extracted facts (no interpretation)."""
    who = "、".join(issuers) or "發布機關未標示"
    when = publish_date.isoformat() if publish_date else "日期不明"
    what = f"「{doc_number}」" if doc_number else "本文"
    parts = [f"{who}於 {when} 發布{what}，類別：{CATEGORY_ZH_TW.get(category, category)}"]
    if items_zh_tw:
        parts.append(f"涉及物項：{'、'.join(items_zh_tw)}")
    if entities:
        parts.append(f"列名實體 {len(entities)} 筆（{'、'.join(entities[:3])}{'等' if len(entities) > 3 else ''}）")
    if countries:
        parts.append(f"涉及國家／地區：{'、'.join(countries)}")
    if effective_date:
        parts.append(f"生效日期：{effective_date.isoformat()}")
    if fetch_status != "ok":
        parts.append("僅取得標題，內文待人工補充")
    return to_zh_tw("；".join(parts) + "。")

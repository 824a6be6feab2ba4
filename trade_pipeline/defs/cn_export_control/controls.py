"""The controls table and the timeline, derived from a week's stored announcements and their provisions.

Measures (:func:`measures`)
    A *measure* is an announcement of category controlled_item_change or enforcement_action that is not a
    spokesperson's answer (答记者问) or a news item, and that has its own document number or is an entity-list
    decision. Its kind: ``entity_list`` (entities listed, or an entity list in the title), ``countermeasure`` (other
    enforcement), ``country_measure`` (a control aimed at named countries: 对美国/对日本…出口管制), ``extraterritorial``
    (境外… items re-exported abroad), ``technology`` (every item provision is a technology), ``item_control``.
    A document number that a stored text *suspends* (暂停, in any announcement of the week, answers included) or
    *revokes* (废止/停止实施) but that is not stored itself becomes a ``referenced`` measure: its number, what the
    citing clause says (entity count, items) and the citing announcement.

Status as of the week's end E (:func:`status`)
    suspended (a suspension citing the measure starts on/before E and has not ended: ``暫停至 …`` or, with no end
    stated, ``暫停中``; a suspension that ended before E leaves the measure in force) → expired (revoked on/before
    E) → not_yet_in_force (effective date after E) → partly_in_force (some clauses in force, others from a later
    date) → in_force → unknown (no effective date stated). Only stored announcements count: a suspension the crawl
    never saw is not known here.

Timeline (:func:`timeline`)
    Per material family, in the order of :data:`FAMILIES` (graphite → gallium/germanium → antimony → tungsten,
    tellurium, bismuth, molybdenum, indium → rare earths → superhard materials → lithium batteries → dual-use items
    to named countries → entity lists), one step per measure naming an item of the family (dated by its effective
    date, else its publication) and one per suspension or revocation of such a measure, numbered in date order.
    Every step cites its announcement (id, 文號, Extractor path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.defs.cn_export_control.dictionary import ENTITY_LISTS, ITEMS_BY_KEY
from trade_pipeline.defs.cn_export_control.zh_tw import to_zh_tw


@dataclass(frozen=True)
class Family:
    key: str
    zh_tw: str
    items: frozenset[str]


FAMILIES: tuple[Family, ...] = (
    Family("graphite", "石墨", frozenset({"graphite"})),
    Family("gallium_germanium", "鎵、鍺", frozenset({"gallium", "germanium"})),
    Family("antimony", "銻", frozenset({"antimony"})),
    Family(
        "minor_metals", "鎢、碲、鉍、鉬、銦", frozenset({"tungsten", "tellurium", "bismuth", "molybdenum", "indium"})
    ),
    Family("rare_earth", "稀土", frozenset({"rare_earth"})),
    Family("superhard", "超硬材料", frozenset({"superhard_materials"})),
    Family(
        "lithium_battery", "鋰電池及正負極材料", frozenset({"lithium_battery", "cathode_materials", "anode_materials"})
    ),
    Family("aerospace_drones", "航空航天物項、無人機", frozenset({"aerospace", "drones"})),
    Family("dual_use_country", "兩用物項（清單與國別措施）", frozenset({"dual_use_items"})),
    Family("entity_lists", "管控名單與不可靠實體清單", frozenset()),
)
FAMILY_BY_KEY = {f.key: f for f in FAMILIES}

MEASURE_KIND_ZH_TW = {
    "item_control": "物項出口管制",
    "country_measure": "對特定國家的管制",
    "extraterritorial": "境外再出口管制",
    "technology": "技術出口管制",
    "entity_list": "列入名單",
    "countermeasure": "反制措施",
    "referenced": "引用的措施",
}
EVENT_ZH_TW = {
    "item_control": "實施出口管制",
    "country_measure": "對特定國家加強管制",
    "extraterritorial": "管制延伸至境外再出口",
    "technology": "技術出口管制",
    "entity_list": "列入名單",
    "countermeasure": "反制措施",
    "suspension": "暫停實施",
    "revocation": "廢止或停止實施",
    "referenced": "引用的措施",
}
STATUS_ORDER = ("in_force", "partly_in_force", "not_yet_in_force", "suspended", "expired", "unknown")

CONTROL_COLUMNS: dict[str, pl.DataType] = {
    "measure_id": pl.Utf8,
    "announcement_id": pl.Utf8,
    "doc_number": pl.Utf8,
    "doc_number_zh_tw": pl.Utf8,
    "title_zh_tw": pl.Utf8,
    "measure_kind": pl.Utf8,
    "measure_kind_zh_tw": pl.Utf8,
    "publish_date": pl.Date,
    "effective_date": pl.Date,
    "later_effective_date": pl.Date,
    "item_keys": pl.Utf8,
    "items_zh_tw": pl.Utf8,
    "families": pl.Utf8,
    "has_goods": pl.Boolean,
    "countries": pl.Utf8,
    "entity_count": pl.Int64,
    "status": pl.Utf8,
    "status_zh_tw": pl.Utf8,
    "status_as_of": pl.Date,
    "suspended_from": pl.Date,
    "suspended_until": pl.Date,
    "revoked_on": pl.Date,
    "cited_by": pl.Utf8,
    "extractor_path": pl.Utf8,
    "review_flags": pl.Utf8,
}
TIMELINE_COLUMNS: dict[str, pl.DataType] = {
    "family_key": pl.Utf8,
    "family_order": pl.Int64,
    "family_zh_tw": pl.Utf8,
    "step_no": pl.Int64,
    "event_date": pl.Date,
    "event": pl.Utf8,
    "event_zh_tw": pl.Utf8,
    "measure_id": pl.Utf8,
    "announcement_id": pl.Utf8,
    "doc_number": pl.Utf8,
    "doc_number_zh_tw": pl.Utf8,
    "items_zh_tw": pl.Utf8,
    "status": pl.Utf8,
    "status_zh_tw": pl.Utf8,
    "summary_zh_tw": pl.Utf8,
    "extractor_path": pl.Utf8,
    "review_flags": pl.Utf8,
}

_QA_TITLE = re.compile(r"答记者问|记者问|应询|举行|磋商|对话")
_COUNTRY_TITLE = re.compile(r"对(美国|日本|欧盟|荷兰|韩国|印度|台湾|英国|加拿大)[^。]{0,8}出口管制")
_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})：")


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(";") if v]


def _doc_key(number: str) -> str:
    """A document number without its issuers, for matching citations ('商务部公告2025年第13号' → '公告2025年第13号')."""
    m = re.search(r"(公告|令)\s*(\d{4})?年?第\s*(\d+)\s*号", number or "")
    return f"{m.group(1)}{m.group(2) or ''}-{m.group(3)}" if m else (number or "")


def _quality(flags: str | None) -> str:
    return contract.join_flags(contract.quality_flags(contract.split_flags(flags)))


def status(
    *,
    effective: date | None,
    later_effective: date | None,
    suspended_from: date | None,
    suspended_until: date | None,
    revoked_on: date | None,
    as_of: date,
) -> tuple[str, str]:
    """(status, zh-TW words) of one measure as of ``as_of`` (see module doc)."""
    if suspended_from is not None and suspended_from <= as_of and (suspended_until is None or suspended_until >= as_of):
        if suspended_until is not None:
            return "suspended", f"暫停至 {suspended_until.isoformat()}"
        return "suspended", f"暫停中（自 {suspended_from.isoformat()} 起，未載明期限）"
    if revoked_on is not None and revoked_on <= as_of:
        return "expired", f"已失效（{revoked_on.isoformat()} 起廢止或停止實施）"
    if effective is None:
        return "unknown", "生效日期未載明"
    if effective > as_of:
        return "not_yet_in_force", f"尚未生效（{effective.isoformat()} 起實施）"
    if later_effective is not None and later_effective > as_of:
        return "partly_in_force", f"部分生效（其餘自 {later_effective.isoformat()} 起）"
    suffix = (
        f"；暫停期已於 {suspended_until.isoformat()} 結束"
        if suspended_until is not None and suspended_until < as_of
        else ""
    )
    return "in_force", f"生效中（自 {effective.isoformat()} 起{suffix}）"


def _measure_kind(row: dict, item_provision_kinds: set[str]) -> str | None:
    title = row["title"] or ""
    if row["category"] not in ("controlled_item_change", "enforcement_action") or _QA_TITLE.search(title):
        return None
    entity_list = bool(_split(row["entities"])) or any(name in title for name in ENTITY_LISTS)
    if not row["doc_number"] and not entity_list:
        return None
    if row["category"] == "enforcement_action":
        return "entity_list" if entity_list else "countermeasure"
    if _COUNTRY_TITLE.search(title):
        return "country_measure"
    if "境外" in title:
        return "extraterritorial"
    if item_provision_kinds and item_provision_kinds <= {"technology"}:
        return "technology"
    return "item_control"


def _families(item_keys: list[str], kind: str, entity_count: int | None = None) -> list[str]:
    if kind == "entity_list":
        return ["entity_lists"]
    out = [f.key for f in FAMILIES if f.items & set(item_keys)]
    if kind == "referenced" and not out and entity_count:
        out.append("entity_lists")
    return out


def measures(announcements: pl.DataFrame, provisions: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The controls table of one week (see module doc)."""
    prov_by_ann: dict[str, list[dict]] = {}
    if provisions.height:
        for p in provisions.sort(["announcement_id", "seq"]).iter_rows(named=True):
            prov_by_ann.setdefault(p["announcement_id"], []).append(p)
    rows: dict[str, dict] = {}
    by_doc: dict[str, str] = {}
    # suspensions / revocations cited anywhere this week: doc key -> (from, until, revoked_on, citing row, clause)
    cited: dict[str, dict] = {}
    for a in announcements.sort("publish_date", nulls_last=True).iter_rows(named=True):
        provs = prov_by_ann.get(a["announcement_id"], [])
        kinds = {p["kind"] for p in provs if p["kind"] in ("item", "equipment", "technology", "software", "criterion")}
        for p in provs:
            if p["kind"] not in ("suspension", "revocation"):
                continue
            for number in _split(p["referenced_numbers"]):
                key = _doc_key(number)
                if a["doc_number"] and key == _doc_key(a["doc_number"]):
                    continue
                entry = cited.setdefault(
                    key,
                    {
                        "number": number,
                        "from": None,
                        "until": None,
                        "revoked": None,
                        "by": [],
                        "items": set(),
                        "entities": None,
                        "flags": "",
                    },
                )
                if p["kind"] == "suspension":
                    entry["from"] = p["suspension_start"] or a["publish_date"]
                    entry["until"] = p["suspension_until"]
                else:
                    entry["revoked"] = p["effective_date"] or a["effective_date"] or a["publish_date"]
                entry["by"].append(a["announcement_id"])
                entry["items"] |= set(_split(p["item_keys"]))
                entry["entities"] = p["entity_count"] if p["entity_count"] is not None else entry["entities"]
                entry["flags"] = contract.join_flags(
                    [*contract.split_flags(entry["flags"]), *contract.split_flags(_quality(a["review_flags"]))]
                )
                entry["extractor_path"] = a["extractor_path"]
        kind = _measure_kind(a, kinds)
        if kind is None:
            continue
        item_keys = _split(a["controlled_item_keys"])
        later = [date.fromisoformat(d) for d in _DATE_RE.findall(a["effective_note"] or "")]
        entity_counts = [p["entity_count"] for p in provs if p["kind"] == "entity_list" and p["entity_count"]]
        entity_lines = sum(1 for p in provs if p["kind"] == "entity")
        rows[a["announcement_id"]] = {
            "measure_id": a["announcement_id"],
            "announcement_id": a["announcement_id"],
            "doc_number": a["doc_number"] or "",
            "doc_number_zh_tw": to_zh_tw(a["doc_number"] or ""),
            "title_zh_tw": a["title_zh_tw"],
            "measure_kind": kind,
            "publish_date": a["publish_date"],
            "effective_date": a["effective_date"],
            "later_effective_date": max(later) if later else None,
            "item_keys": item_keys,
            "countries": a["countries"] or "",
            "entity_count": entity_counts[0]
            if entity_counts
            else (entity_lines or (len(_split(a["entities"])) or None)),
            "has_goods": kind not in ("technology", "entity_list", "countermeasure")
            and bool(kinds & {"item", "equipment", "criterion"} or (item_keys and kinds == set())),
            "extractor_path": a["extractor_path"],
            "review_flags": _quality(a["review_flags"]),
            "cited_by": [],
            "suspended_from": None,
            "suspended_until": None,
            "revoked_on": None,
        }
        if a["doc_number"]:
            by_doc[_doc_key(a["doc_number"])] = a["announcement_id"]
    for key, c in cited.items():
        target = by_doc.get(key)
        if target is None:
            target = f"ref-{key}"
            rows[target] = {
                "measure_id": target,
                "announcement_id": c["by"][0],
                "doc_number": c["number"],
                "doc_number_zh_tw": to_zh_tw(c["number"]),
                "title_zh_tw": "",
                "measure_kind": "referenced",
                "publish_date": None,
                "effective_date": None,
                "later_effective_date": None,
                "item_keys": sorted(c["items"], key=lambda k: list(ITEMS_BY_KEY).index(k) if k in ITEMS_BY_KEY else 99),
                "countries": "",
                "entity_count": c["entities"],
                "has_goods": False,
                "extractor_path": c["extractor_path"],
                "review_flags": c["flags"],
                "cited_by": [],
                "suspended_from": None,
                "suspended_until": None,
                "revoked_on": None,
            }
        row = rows[target]
        row["suspended_from"], row["suspended_until"] = (
            c["from"] or row["suspended_from"],
            c["until"] or row["suspended_until"],
        )
        row["revoked_on"] = c["revoked"] or row["revoked_on"]
        row["cited_by"] = sorted(set(row["cited_by"]) | set(c["by"]))
    out = []
    for row in rows.values():
        st, words = status(
            effective=row["effective_date"],
            later_effective=row["later_effective_date"],
            suspended_from=row["suspended_from"],
            suspended_until=row["suspended_until"],
            revoked_on=row["revoked_on"],
            as_of=as_of,
        )
        if row["measure_kind"] == "referenced" and st == "unknown":
            words = "僅見於引用，生效日期未載明"
        item_keys = row.pop("item_keys")
        out.append(
            {
                **row,
                "item_keys": ";".join(item_keys),
                "items_zh_tw": "、".join(ITEMS_BY_KEY[k].zh_tw for k in item_keys if k in ITEMS_BY_KEY),
                "families": ";".join(_families(item_keys, row["measure_kind"], row["entity_count"])),
                "measure_kind_zh_tw": MEASURE_KIND_ZH_TW[row["measure_kind"]],
                "status": st,
                "status_zh_tw": words,
                "status_as_of": as_of,
                "cited_by": ";".join(row["cited_by"]),
            }
        )
    df = pl.DataFrame(out, schema=CONTROL_COLUMNS) if out else pl.DataFrame(schema=CONTROL_COLUMNS)
    return df.sort(["publish_date", "measure_id"], nulls_last=True).select(list(CONTROL_COLUMNS))


def timeline(controls: pl.DataFrame) -> pl.DataFrame:
    """Per family, the steps in date order, each citing its announcement (see module doc)."""
    steps: list[dict] = []
    for m in controls.iter_rows(named=True):
        families = _split(m["families"])
        base = {
            "measure_id": m["measure_id"],
            "announcement_id": m["announcement_id"],
            "doc_number": m["doc_number"],
            "doc_number_zh_tw": m["doc_number_zh_tw"],
            "items_zh_tw": m["items_zh_tw"],
            "status": m["status"],
            "status_zh_tw": m["status_zh_tw"],
            "extractor_path": m["extractor_path"],
            "review_flags": m["review_flags"],
        }
        events: list[tuple[date | None, str]] = []
        if m["measure_kind"] != "referenced":
            events.append((m["effective_date"] or m["publish_date"], m["measure_kind"]))
        if m["suspended_from"] is not None:
            events.append((m["suspended_from"], "suspension"))
        if m["revoked_on"] is not None:
            events.append((m["revoked_on"], "revocation"))
        for family_key in families:
            for when, event in events:
                steps.append({**base, "family_key": family_key, "event_date": when, "event": event})
    order = {f.key: i for i, f in enumerate(FAMILIES, start=1)}
    steps.sort(key=lambda s: (order[s["family_key"]], s["event_date"] or date.max, s["measure_id"], s["event"]))
    counters: dict[str, int] = {}
    for s in steps:
        counters[s["family_key"]] = counters.get(s["family_key"], 0) + 1
        fam = FAMILY_BY_KEY[s["family_key"]]
        s.update(
            family_order=order[s["family_key"]],
            family_zh_tw=fam.zh_tw,
            step_no=counters[s["family_key"]],
            event_zh_tw=EVENT_ZH_TW[s["event"]],
        )
        when = s["event_date"].isoformat() if s["event_date"] else "日期不明"
        what = s["doc_number_zh_tw"] or "（無文號）"
        items = f"（{s['items_zh_tw']}）" if s["items_zh_tw"] else ""
        s["summary_zh_tw"] = f"{when} {what}：{s['event_zh_tw']}{items}"
    df = pl.DataFrame(steps, schema=TIMELINE_COLUMNS) if steps else pl.DataFrame(schema=TIMELINE_COLUMNS)
    return df.select(list(TIMELINE_COLUMNS))

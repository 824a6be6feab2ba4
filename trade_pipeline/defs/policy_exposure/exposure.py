"""How much trade each listed measure touches: wire rows → stored rows → ``policy_trade_exposure``.

Parse boundary (:func:`comtrade_rows`, :func:`census_rows`)
    Comtrade: only rows of reporter 156, flow X, an asked HS6 code, an asked partner, partner2 World, all customs
    procedures and modes are kept; the value is ``primaryValue``. Census: rows of an asked code and country (5700 or
    '-' = all countries), month from ``time``, value ``GEN_VAL_MO`` (missing markers → NULL + ``value_missing``).
    A row that breaks its schema (a code that is not six digits, a partner or month out of range, a value that is
    not a finite non-negative number) is rejected into ``policy_exposure_requests.rejected_rows`` with the reason,
    and every figure of its request is flagged ``quarantined_rows``.

Figures (:func:`exposure_frame`), per measure × HS6 code of the week
    Codes of a measure: for each controlled item of the measure, the mapping rows that cite the measure's own
    document number when there are any, else the item's *material* rows (any basis; equipment rows count only for
    the announcement that lists them). Measures without goods (technology
    only, entity lists, measures known only by reference) have no rows; a goods measure whose items have no mapping
    gets one row with an empty ``hs6`` and the NOTICE ``no_hs_mapping``.

    China (Comtrade, latest year released for reporter 156 by the week's end): ``cn_export_world_usd`` = the World
    row; ``cn_export_to_<p>_usd`` for p in 842 392 410 276 490 (an absent partner row counts 0 and carries the
    NOTICE ``partner_row_absent``); ``cn_export_rest_usd`` = World − the five; ``share_to_<p>_pct`` = value / World ×
    100. US (Census, latest month released by the week's end): year to date = months 1..M of the latest year,
    ``us_import_ytd_usd`` (all countries), ``us_import_from_cn_ytd_usd``, ``cn_share_of_us_imports_pct`` = China /
    all × 100, and the same months of the year before with ``*_yoy_pct`` = (this / last − 1) × 100.

Flags: ``partial_http_failure`` / ``partial_fetch`` (the request failed), ``truncated`` (a capped reply),
``code_not_in_reply`` (an asked code missing from a successful reply: the figure is NULL, never 0),
``year_not_released`` (no Comtrade year yet), ``value_missing`` (a month missing or suppressed: the sum leaves it out),
``shares_inconsistent`` (the parts exceed the whole), ``quarantined_rows``.

Watch list (:data:`WATCH_RULES`): China supplies ≥ 50 % of US imports of a controlled code; China sends ≥ 25 % of its
exports of a controlled code to the US; US imports from China of a controlled code fell by half or more year on year.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from trade_pipeline.core import contract

CHINA = 156
PARTNERS = (842, 392, 410, 276, 490)
WORLD = 0
CENSUS_CHINA, CENSUS_ALL = "5700", "TOTAL"

COMTRADE_COLUMNS: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32,
    "hs6": pl.Utf8,
    "year": pl.Int32,
    "partner_code": pl.Int32,
    "value_usd": pl.Float64,
    "classification_code": pl.Utf8,
    "endpoint": pl.Utf8,
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
    "review_flags": pl.Utf8,
}
CENSUS_COLUMNS: dict[str, pl.DataType] = {
    "cty_code": pl.Utf8,
    "hs6": pl.Utf8,
    "year": pl.Int32,
    "month": pl.Int32,
    "value_usd": pl.Float64,
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
    "review_flags": pl.Utf8,
}
REQUEST_COLUMNS: dict[str, pl.DataType] = {
    "source": pl.Utf8,
    "kind": pl.Utf8,
    "year": pl.Int32,
    "first_month": pl.Int32,
    "last_month": pl.Int32,
    "codes": pl.Utf8,
    "endpoint": pl.Utf8,
    "status": pl.Utf8,
    "row_count": pl.Int32,
    "rejected_count": pl.Int32,
    "rejected_rows": pl.Utf8,
    "truncated": pl.Boolean,
    "request_id": pl.Utf8,
    "request": pl.Utf8,
    "error": pl.Utf8,
    "fetched_at": pl.Utf8,
}
_P = [str(p) for p in PARTNERS]
EXPOSURE_COLUMNS: dict[str, pl.DataType] = {
    "row_key": pl.Utf8,
    "measure_id": pl.Utf8,
    "announcement_id": pl.Utf8,
    "doc_number_zh_tw": pl.Utf8,
    "measure_status": pl.Utf8,
    "hs6": pl.Utf8,
    "hs6_desc_zh_tw": pl.Utf8,
    "item_keys": pl.Utf8,
    "items_zh_tw": pl.Utf8,
    "hs6_scope": pl.Utf8,
    "basis_kinds": pl.Utf8,
    "basis_refs": pl.Utf8,
    "mapping_confidence": pl.Utf8,
    "cn_export_year": pl.Int32,
    "cn_export_world_usd": pl.Float64,
    **{f"cn_export_to_{p}_usd": pl.Float64 for p in _P},
    "cn_export_rest_usd": pl.Float64,
    **{f"share_to_{p}_pct": pl.Float64 for p in _P},
    "share_rest_pct": pl.Float64,
    "us_import_year": pl.Int32,
    "us_import_through_month": pl.Int32,
    "us_import_ytd_usd": pl.Float64,
    "us_import_from_cn_ytd_usd": pl.Float64,
    "cn_share_of_us_imports_pct": pl.Float64,
    "us_import_ytd_prev_usd": pl.Float64,
    "us_import_from_cn_ytd_prev_usd": pl.Float64,
    "us_import_yoy_pct": pl.Float64,
    "us_import_from_cn_yoy_pct": pl.Float64,
    "cn_request_ids": pl.Utf8,
    "us_request_ids": pl.Utf8,
    "review_flags": pl.Utf8,
}
WATCH_COLUMNS: dict[str, pl.DataType] = {
    "rule_key": pl.Utf8,
    "rule_zh_tw": pl.Utf8,
    "threshold": pl.Float64,
    "column_name": pl.Utf8,
    "value": pl.Float64,
    "exposure_row_key": pl.Utf8,
    "measure_id": pl.Utf8,
    "doc_number_zh_tw": pl.Utf8,
    "hs6": pl.Utf8,
    "hs6_desc_zh_tw": pl.Utf8,
    "review_flags": pl.Utf8,
}


@dataclass(frozen=True)
class WatchRule:
    key: str
    column: str
    op: str  # '>=' or '<='
    threshold: float
    zh_tw: str


WATCH_RULES: tuple[WatchRule, ...] = (
    WatchRule(
        "cn_supplies_half_of_us_imports",
        "cn_share_of_us_imports_pct",
        ">=",
        50.0,
        "中國供應美國此管制 HS 碼進口的 50 % 以上",
    ),
    WatchRule("cn_exports_quarter_to_us", "share_to_842_pct", ">=", 25.0, "中國此管制 HS 碼出口有 25 % 以上輸往美國"),
    WatchRule(
        "us_imports_from_cn_halved",
        "us_import_from_cn_yoy_pct",
        "<=",
        -50.0,
        "美國自中國進口此管制 HS 碼年減 50 % 以上",
    ),
)


def _num(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _int(value: object) -> int | None:
    num = _num(value)
    return int(num) if num is not None and num == int(num) else None


# --- parse boundary ------------------------------------------------------------------------------------------------
def comtrade_rows(result, codes: Iterable[str], year: int) -> tuple[list[dict], list[dict]]:  # noqa: ANN001
    """(kept rows, rejected rows with reason) of one hs6_exports FetchResult."""
    asked = set(codes)
    partners = {WORLD, *PARTNERS}
    kept, rejected = [], []
    for raw in result.rows:
        reason = ""
        cmd = str(raw.get("cmdCode") or "").strip()
        partner = _int(raw.get("partnerCode"))
        value = _num(raw.get("primaryValue"))
        if not re.fullmatch(r"\d{6}", cmd):
            reason = f"cmdCode {cmd!r} is not a six-digit code"
        elif partner is None or partner < 0:
            reason = f"partnerCode {raw.get('partnerCode')!r} is not a code"
        elif raw.get("primaryValue") is not None and (value is None or value < 0):
            reason = f"primaryValue {raw.get('primaryValue')!r} is not a non-negative number"
        if reason:
            rejected.append(
                {"row": {k: raw.get(k) for k in ("cmdCode", "partnerCode", "primaryValue", "period")}, "reason": reason}
            )
            continue
        if (
            _int(raw.get("reporterCode")) != CHINA
            or str(raw.get("flowCode")) != "X"
            or cmd not in asked
            or partner not in partners
            or _int(raw.get("partner2Code") or 0) != 0
            or str(raw.get("customsCode") or "C00") != "C00"
            or _int(raw.get("motCode") or 0) != 0
            or (_int(raw.get("refYear")) or _int(str(raw.get("period") or "")[:4])) != year
        ):
            continue  # not what was asked (the 1.7 safety net): not a row of this table
        kept.append(
            {
                "reporter_code": CHINA,
                "hs6": cmd,
                "year": year,
                "partner_code": partner,
                "value_usd": value,
                "classification_code": str(raw.get("classificationCode") or ""),
                "endpoint": result.endpoint,
                "request_id": result.request_id,
                "fetched_at": result.fetched_at,
                "review_flags": "missing_value" if value is None else "",
            }
        )
    return kept, rejected


def census_rows(fetch, codes: Iterable[str]) -> tuple[list[dict], list[dict]]:  # noqa: ANN001
    """(kept rows, rejected rows with reason) of one CensusRawFetch."""
    from trade_pipeline.defs.us_trade_census.wire import to_number

    asked = set(codes)
    kept, rejected = [], []
    for raw in fetch.rows:
        code = (raw.get("I_COMMODITY") or "").strip()
        cty = (raw.get("CTY_CODE") or "").strip()
        time_value = (raw.get("time") or "").strip()
        m = re.fullmatch(r"(\d{4})-(\d{2})", time_value)
        reason = ""
        if "GEN_VAL_MO" not in raw:
            reason = "no GEN_VAL_MO column"
        elif not re.fullmatch(r"\d{6}", code):
            reason = f"I_COMMODITY {code!r} is not a six-digit code"
        elif not m or not 1 <= int(m.group(2)) <= 12:
            reason = f"time {time_value!r} is not YYYY-MM"
        if reason:
            rejected.append(
                {"row": {k: raw.get(k) for k in ("I_COMMODITY", "CTY_CODE", "GEN_VAL_MO", "time")}, "reason": reason}
            )
            continue
        if code not in asked or cty not in ("5700", "-") or (raw.get("COMM_LVL") or "HS6").upper() != "HS6":
            continue
        year, month = int(m.group(1)), int(m.group(2))
        if year != fetch.year or not fetch.first_month <= month <= fetch.last_month:
            continue
        value, flag = to_number(raw.get("GEN_VAL_MO"))
        if value is not None and value < 0:
            rejected.append(
                {
                    "row": {k: raw.get(k) for k in ("I_COMMODITY", "CTY_CODE", "GEN_VAL_MO", "time")},
                    "reason": "negative GEN_VAL_MO",
                }
            )
            continue
        kept.append(
            {
                "cty_code": CENSUS_CHINA if cty == "5700" else CENSUS_ALL,
                "hs6": code,
                "year": year,
                "month": month,
                "value_usd": value,
                "request_id": fetch.request_id,
                "fetched_at": fetch.fetched_at,
                "review_flags": flag or "",
            }
        )
    return kept, rejected


# --- figures -------------------------------------------------------------------------------------------------------
def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(";") if v]


def _doc_key(number: str) -> str:
    m = re.search(r"(公告|令)\s*(\d{4})?年?第\s*(\d+)\s*号", number or "")
    return f"{m.group(1)}{m.group(2) or ''}-{m.group(3)}" if m else ""


def measure_codes(measure: dict, mapping: pl.DataFrame) -> list[dict]:
    """Mapping rows of one measure (see module doc)."""
    own = _doc_key(measure.get("doc_number") or "")
    out: list[dict] = []
    for item in _split(measure["item_keys"]):
        rows = mapping.filter(pl.col("item_key") == item).to_dicts()
        bound = [r for r in rows if own and _doc_key(r["basis_doc_number"]) == own]
        out += bound or [r for r in rows if r["item_class"] == "material"]
    return out


def _pct(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole == 0:
        return None
    return part / whole * 100.0


def _yoy(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return (now / before - 1.0) * 100.0


def exposure_frame(
    *,
    controls: pl.DataFrame,
    mapping: pl.DataFrame,
    cn: pl.DataFrame,
    cn_year: int | None,
    cn_status: dict[str, set[str]],
    us: pl.DataFrame,
    us_latest: tuple[int, int] | None,
    us_status: dict[str, set[str]],
) -> pl.DataFrame:
    """policy_trade_exposure rows of one week. ``cn_status`` / ``us_status``: per HS6 code, the flags its requests
    earned (failed, truncated, quarantined); a code absent from them was not asked at all."""
    cn_by = {(r["hs6"], r["partner_code"]): r for r in cn.iter_rows(named=True)} if cn.height else {}
    us_by: dict[tuple[str, str, int], list[dict]] = {}
    for r in us.iter_rows(named=True) if us.height else []:
        us_by.setdefault((r["cty_code"], r["hs6"], r["year"]), []).append(r)
    out: list[dict] = []
    for m in controls.filter(pl.col("has_goods")).iter_rows(named=True) if controls.height else []:
        rows = measure_codes(m, mapping)
        by_code: dict[str, list[dict]] = {}
        for r in rows:
            by_code.setdefault(r["hs6"], []).append(r)
        base = {
            "measure_id": m["measure_id"],
            "announcement_id": m["announcement_id"],
            "doc_number_zh_tw": m["doc_number_zh_tw"],
            "measure_status": m["status"],
        }
        inherited = contract.split_flags(m["review_flags"])
        if not by_code:
            out.append(
                {
                    **base,
                    "row_key": f"{m['measure_id']}|",
                    "hs6": "",
                    "item_keys": m["item_keys"],
                    "items_zh_tw": m["items_zh_tw"],
                    "review_flags": contract.join_flags([*inherited, "no_hs_mapping"]),
                }
            )
            continue
        for code, maps in sorted(by_code.items()):
            flags = list(inherited)
            rec = {
                **base,
                "row_key": f"{m['measure_id']}|{code}",
                "hs6": code,
                "hs6_desc_zh_tw": maps[0]["hs6_desc_zh_tw"],
                "item_keys": ";".join(dict.fromkeys(r["item_key"] for r in maps)),
                "items_zh_tw": "、".join(dict.fromkeys(r["item_zh_tw"] for r in maps)),
                "hs6_scope": "exact" if all(r["hs6_scope"] == "exact" for r in maps) else "broader",
                "basis_kinds": ";".join(sorted({r["basis_kind"] for r in maps})),
                "basis_refs": "；".join(
                    dict.fromkeys(
                        (f"{r['basis_doc_number']} " if r["basis_doc_number"] else "") + r["basis_ref"] for r in maps
                    )
                ),
                "mapping_confidence": min((r["confidence"] for r in maps), key="高中低".index),
            }
            # -- China's exports
            if cn_year is None:
                flags.append("year_not_released")
            else:
                rec["cn_export_year"] = cn_year
                status = cn_status.get(code, {"code_not_in_reply"})
                flags += sorted(status - {"ok"})
                world = cn_by.get((code, WORLD))
                if world is None and not status & {"partial_http_failure"}:
                    flags.append("code_not_in_reply")
                if world is not None:
                    w = world["value_usd"]
                    flags += contract.split_flags(world["review_flags"])
                    rec["cn_export_world_usd"] = w
                    parts = 0.0
                    for p in PARTNERS:
                        row = cn_by.get((code, p))
                        v = row["value_usd"] if row is not None else 0.0
                        if row is None:
                            flags.append("partner_row_absent")
                        elif v is None:
                            flags.append("missing_value")
                        rec[f"cn_export_to_{p}_usd"] = v
                        rec[f"share_to_{p}_pct"] = _pct(v, w)
                        parts += v or 0.0
                    if w is not None:
                        rec["cn_export_rest_usd"] = w - parts
                        rec["share_rest_pct"] = _pct(w - parts, w)
                        if parts > w * (1 + 1e-9):
                            flags.append("shares_inconsistent")
                rec["cn_request_ids"] = ";".join(sorted({r["request_id"] for (c, _), r in cn_by.items() if c == code}))
            # -- US imports, year to date
            if us_latest is not None:
                year, month = us_latest
                rec["us_import_year"], rec["us_import_through_month"] = year, month
                status = us_status.get(code, {"code_not_in_reply"})
                flags += sorted(status - {"ok"})

                def ytd(cty: str, y: int, code=code, month=month) -> tuple[float | None, list[str], set[str]]:
                    got = [r for r in us_by.get((cty, code, y), []) if r["month"] <= month]
                    if not got:
                        return None, [], set()
                    missing = [f for r in got for f in contract.split_flags(r["review_flags"])]
                    return sum(r["value_usd"] or 0.0 for r in got), missing, {r["request_id"] for r in got}

                total, f1, ids1 = ytd(CENSUS_ALL, year)
                china, f2, ids2 = ytd(CENSUS_CHINA, year)
                total0, f3, ids3 = ytd(CENSUS_ALL, year - 1)
                china0, f4, ids4 = ytd(CENSUS_CHINA, year - 1)
                flags += f1 + f2 + f3 + f4
                if total is None and not status & {"partial_fetch"}:
                    flags.append("code_not_in_reply")
                if total is not None and china is None and not status & {"partial_fetch"}:
                    china = 0.0
                    flags.append("partner_row_absent")
                if total0 is not None and china0 is None and not status & {"partial_fetch"}:
                    china0 = 0.0
                rec.update(
                    us_import_ytd_usd=total,
                    us_import_from_cn_ytd_usd=china,
                    cn_share_of_us_imports_pct=_pct(china, total),
                    us_import_ytd_prev_usd=total0,
                    us_import_from_cn_ytd_prev_usd=china0,
                    us_import_yoy_pct=_yoy(total, total0),
                    us_import_from_cn_yoy_pct=_yoy(china, china0),
                    us_request_ids=";".join(sorted(ids1 | ids2 | ids3 | ids4)),
                )
                if total is not None and china is not None and china > total * (1 + 1e-9):
                    flags.append("shares_inconsistent")
            rec["review_flags"] = contract.join_flags(flags)
            out.append(rec)
    df = pl.DataFrame(out, schema=EXPOSURE_COLUMNS) if out else pl.DataFrame(schema=EXPOSURE_COLUMNS)
    return df.select(list(EXPOSURE_COLUMNS))


def watchlist_frame(exposure: pl.DataFrame) -> pl.DataFrame:
    """Rows of the exposure table that cross a watch-list threshold (one row per rule × exposure row)."""
    out: list[dict] = []
    for r in exposure.iter_rows(named=True) if exposure.height else []:
        for rule in WATCH_RULES:
            value = r.get(rule.column)
            if value is None:
                continue
            if (rule.op == ">=" and value >= rule.threshold) or (rule.op == "<=" and value <= rule.threshold):
                out.append(
                    {
                        "rule_key": rule.key,
                        "rule_zh_tw": rule.zh_tw,
                        "threshold": rule.threshold,
                        "column_name": rule.column,
                        "value": value,
                        "exposure_row_key": r["row_key"],
                        "measure_id": r["measure_id"],
                        "doc_number_zh_tw": r["doc_number_zh_tw"],
                        "hs6": r["hs6"],
                        "hs6_desc_zh_tw": r["hs6_desc_zh_tw"],
                        "review_flags": r["review_flags"],
                    }
                )
    df = pl.DataFrame(out, schema=WATCH_COLUMNS) if out else pl.DataFrame(schema=WATCH_COLUMNS)
    return df.select(list(WATCH_COLUMNS))

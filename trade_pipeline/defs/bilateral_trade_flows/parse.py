"""Wire rows (sources.md 1.5) → normalized rows of comtrade_partner_flows / comtrade_commodity_flows.

Tolerant of type drift (codes as strings, ``.0`` floats, nulls); strict about meaning: only TOTAL / all-customs /
all-modes / partner2=World rows are kept (the 1.7 safety net), the value is ``primaryValue`` and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime

import polars as pl

from trade_pipeline.defs.bilateral_trade_flows.codes import (
    TAIWAN_ISO_CODE,
    TAIWAN_NAME_ZH,
    TAIWAN_PARTNER_CODE,
    area_name_zh,
    canonical_partner_code,
    is_excluded_partner,
)
from trade_pipeline.core.memo import BoundedMemo
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult

MIRRORED_FLOW = {"M": "X", "X": "M"}  # partner P imports from Taiwan ≈ Taiwan exports to P, and vice versa

PARTNER_FLOW_SCHEMA: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32, "reporter_name": pl.Utf8, "reporter_name_zh": pl.Utf8,
    "partner_code": pl.Int32, "partner_iso3": pl.Utf8, "partner_name": pl.Utf8, "partner_name_zh": pl.Utf8,
    "flow": pl.Utf8, "year": pl.Int32, "primary_value_usd": pl.Float64, "cif_usd": pl.Float64, "fob_usd": pl.Float64,
    "is_reported": pl.Boolean, "is_aggregate": pl.Boolean, "legacy_flag": pl.Int32, "classification_code": pl.Utf8,
    "is_excluded_partner": pl.Boolean, "source_kind": pl.Utf8, "source_reporter_code": pl.Int32,
    "source_flow": pl.Utf8, "endpoint": pl.Utf8, "request_id": pl.Utf8, "fetched_at": pl.Utf8, "review_flags": pl.Utf8,
}

COMMODITY_FLOW_SCHEMA: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32, "reporter_name": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8, "primary_value_usd": pl.Float64, "classification_code": pl.Utf8, "endpoint": pl.Utf8,
    "request_id": pl.Utf8, "fetched_at": pl.Utf8, "review_flags": pl.Utf8,
}

AVAILABILITY_SCHEMA: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32, "year": pl.Int32, "first_released": pl.Utf8, "last_released": pl.Utf8,
    "total_records": pl.Int64,
}


def join_flags(flags: Iterable[str]) -> str:
    return ";".join(sorted({f for part in flags for f in str(part or "").split(";") if f}))


def _int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _float(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return None if value is None else bool(value)


def _year(row: dict) -> int | None:
    return _int(row.get("refYear")) or _int(str(row.get("period") or "")[:4])


def _result_flags(result: FetchResult) -> list[str]:
    return [f for f, on in (("truncated", result.truncated), ("count_mismatch", result.count_mismatch)) if on]


def _is_total_row(row: dict) -> bool:
    return (str(row.get("cmdCode", "")).strip().upper() == "TOTAL" and str(row.get("customsCode", "C00")).strip() == "C00"
            and _int(row.get("motCode", 0)) == 0 and _int(row.get("partner2Code", 0)) == 0)


#: Rows parsed from one response, by everything they are built from (body digest + the result's own fields), one memo
#: per parser; bounded by the number of rows kept.
ROWS_MEMOS: dict[str, BoundedMemo[list[dict]]] = {}


def _memo_rows(fn: Callable[[FetchResult], list[dict]]) -> Callable[[FetchResult], list[dict]]:
    """Memoize a FetchResult -> rows parser on the response body's digest and the result fields the rows carry, so
    the weeks of a backfill that get the same response parse it once. Results without a digest (built by hand) are
    parsed every time. The returned list and its dicts are shared: callers must not mutate them (none does: the
    frame builders copy, mirror_flow_rows builds new dicts)."""

    memo: BoundedMemo[list[dict]] = ROWS_MEMOS.setdefault(fn.__name__, BoundedMemo(fn.__name__, max_weight=400_000))

    @functools.wraps(fn)
    def wrapper(result: FetchResult) -> list[dict]:
        if not result.content_sha256:
            return fn(result)
        key = (result.content_sha256, result.kind, result.endpoint, result.request_key, result.request_id,
               result.fetched_at, result.count, result.truncated, result.count_mismatch)
        hit = memo.get(key)
        if hit is None:
            hit = memo.put(key, fn(result), weight=len(result.rows) + 1)
        return hit

    return wrapper


@_memo_rows
def partner_flow_rows(result: FetchResult) -> list[dict]:
    """Reported rows: one per reporter × partner × flow × year (TOTAL)."""
    out = []
    for row in result.rows:
        if not _is_total_row(row):
            continue
        reporter, partner, year = _int(row.get("reporterCode")), _int(row.get("partnerCode")), _year(row)
        flow = str(row.get("flowCode") or "").strip().upper()
        if reporter is None or partner is None or year is None or flow not in ("X", "M"):
            continue
        value = _float(row.get("primaryValue"))
        flags = _result_flags(result) + ([] if value is not None else ["missing_value"])
        partner_iso = (row.get("partnerISO") or "").strip() or None
        partner_canon = canonical_partner_code(partner)
        out.append({
            "reporter_code": reporter, "reporter_name": row.get("reporterDesc"),
            "reporter_name_zh": area_name_zh(reporter, row.get("reporterISO"), row.get("reporterDesc")),
            "partner_code": partner_canon, "partner_iso3": partner_iso, "partner_name": row.get("partnerDesc"),
            "partner_name_zh": area_name_zh(partner_canon, partner_iso, row.get("partnerDesc")),
            "flow": flow, "year": year, "primary_value_usd": value,
            "cif_usd": _float(row.get("cifvalue")), "fob_usd": _float(row.get("fobvalue")),
            "is_reported": _bool(row.get("isReported")), "is_aggregate": _bool(row.get("isAggregate")),
            "legacy_flag": _int(row.get("legacyEstimationFlag")),
            "classification_code": row.get("classificationCode"),
            "is_excluded_partner": is_excluded_partner(partner_canon), "source_kind": "reported",
            "source_reporter_code": reporter, "source_flow": flow, "endpoint": result.endpoint,
            "request_id": result.request_id, "fetched_at": result.fetched_at, "review_flags": join_flags(flags),
            "_raw_partner": partner,
        })
    return out


def mirror_flow_rows(result: FetchResult, released: set[tuple[int, int]] | None = None) -> list[dict]:
    """Taiwan (reporter 158 in our tables) built from every other reporter's trade with partner 490.

    Partner P's imports from 490 become Taiwan's exports to P (P's CIF value, so a few % above Taiwan's FOB) and
    P's exports to 490 become Taiwan's imports from P. Rows of a reporter-year not yet released by the as-of
    instant (``released``) are dropped; group reporters (EU, ASEAN, 490 itself) are not countries and are skipped.
    """
    out = []
    for row in partner_flow_rows(result):
        if canonical_partner_code(row["_raw_partner"]) != TAIWAN_PARTNER_CODE:
            continue
        source_reporter = row["reporter_code"]
        if source_reporter in MIRROR_SKIPPED_REPORTERS:
            continue
        if released is not None and (source_reporter, row["year"]) not in released:
            continue
        out.append({
            **row,
            "reporter_code": TAIWAN_ISO_CODE, "reporter_name": "Taiwan (mirror of partners' reports on 490)",
            "reporter_name_zh": TAIWAN_NAME_ZH,
            "partner_code": source_reporter, "partner_iso3": None, "partner_name": row["reporter_name"],
            "partner_name_zh": row["reporter_name_zh"], "flow": MIRRORED_FLOW[row["flow"]],
            "is_excluded_partner": is_excluded_partner(source_reporter), "source_kind": "mirror",
            "source_reporter_code": source_reporter, "source_flow": row["flow"],
        })
    return out


# Reporter-side groups (Reporters.json isGroup) would double count their members in a mirror; 490 is Taiwan itself.
MIRROR_SKIPPED_REPORTERS: frozenset[int] = frozenset({97, 975, TAIWAN_PARTNER_CODE, TAIWAN_ISO_CODE})


def merge_duplicates(rows: list[dict]) -> list[dict]:
    """One row per reporter × partner × flow × year × source_kind.

    Identical keys from overlapping calls keep the first row; 158 and 490 (both Taiwan) are summed and flagged,
    because the same trade could be booked under either code."""
    by_key: dict[tuple, dict] = {}
    raw_seen: set[tuple] = set()
    for row in rows:
        key = (row["reporter_code"], row["partner_code"], row["flow"], row["year"], row["source_kind"])
        raw_key = key + (row.get("_raw_partner"),)
        if raw_key in raw_seen:
            continue
        raw_seen.add(raw_key)
        if key in by_key:
            kept = by_key[key]
            if kept["primary_value_usd"] is not None and row["primary_value_usd"] is not None:
                kept["primary_value_usd"] += row["primary_value_usd"]
            kept["review_flags"] = join_flags([kept["review_flags"], row["review_flags"], "taiwan_dual_code"])
            continue
        by_key[key] = dict(row)
    return list(by_key.values())


def partner_flows_frame(rows: list[dict]) -> pl.DataFrame:
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in merge_duplicates(rows)]
    return pl.DataFrame(clean, schema=PARTNER_FLOW_SCHEMA, orient="row") if clean else pl.DataFrame(
        schema=PARTNER_FLOW_SCHEMA)


@_memo_rows
def commodity_rows(result: FetchResult) -> list[dict]:
    """HS2 rows against World (partnerCode 0) for one reporter."""
    out = []
    for row in result.rows:
        cmd = str(row.get("cmdCode") or "").strip()
        if (len(cmd) != 2 or not cmd.isdigit() or _int(row.get("partnerCode")) != 0
                or _int(row.get("partner2Code", 0)) != 0 or _int(row.get("motCode", 0)) != 0
                or str(row.get("customsCode", "C00")).strip() != "C00"):
            continue
        flow = str(row.get("flowCode") or "").strip().upper()
        reporter, year = _int(row.get("reporterCode")), _year(row)
        if reporter is None or year is None or flow not in ("X", "M"):
            continue
        value = _float(row.get("primaryValue"))
        out.append({
            "reporter_code": reporter, "reporter_name": row.get("reporterDesc"), "flow": flow, "year": year,
            "hs2": cmd, "hs2_desc": row.get("cmdDesc"), "primary_value_usd": value,
            "classification_code": row.get("classificationCode"), "endpoint": result.endpoint,
            "request_id": result.request_id, "fetched_at": result.fetched_at,
            "review_flags": join_flags(_result_flags(result) + ([] if value is not None else ["missing_value"])),
        })
    return out


def commodity_frame(rows: list[dict]) -> pl.DataFrame:
    seen, clean = set(), []
    for r in rows:
        key = (r["reporter_code"], r["flow"], r["year"], r["hs2"])
        if key not in seen:
            seen.add(key)
            clean.append(r)
    return pl.DataFrame(clean, schema=COMMODITY_FLOW_SCHEMA, orient="row") if clean else pl.DataFrame(
        schema=COMMODITY_FLOW_SCHEMA)


def _timestamp(value: object) -> datetime | None:
    """getDa timestamps such as '2022-10-06T10:53:32.8266667' (7 fractional digits, no zone: UTC)."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def availability_rows(result: FetchResult) -> list[dict]:
    out = []
    for row in result.rows:
        reporter, year = _int(row.get("reporterCode")), _int(str(row.get("period") or "")[:4])
        first = _timestamp(row.get("firstReleased"))
        if reporter is None or year is None or first is None:
            continue
        last = _timestamp(row.get("lastReleased"))
        out.append({"reporter_code": reporter, "year": year, "first_released": first.isoformat(),
                    "last_released": last.isoformat() if last else None,
                    "total_records": _int(row.get("totalRecords"))})
    return out

"""Wire rows (sources.md 1.5) → normalized rows of comtrade_partner_flows / comtrade_commodity_flows.

Every row first passes the declared wire schema (validate.py: codes, what the request asked, finite non-negative
values, countries only); refused rows become quarantine items, never silently skipped. Tolerant of type drift
(codes as digit strings, ``.0`` floats, nulls); strict about meaning: the value is ``primaryValue`` and nothing else.
Duplicates are resolved by value, never by row order (:func:`resolve_duplicates`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.core.quarantine import COLLAPSED, REJECTED, Quarantined
from trade_pipeline.defs.bilateral_trade_flows.codes import (
    TAIWAN_ISO_CODE,
    TAIWAN_NAME_ZH,
    TAIWAN_PARTNER_CODE,
    area_name_zh,
    canonical_partner_code,
    is_excluded_partner,
)
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult
from trade_pipeline.defs.bilateral_trade_flows.validate import check_replies, code_value, wire_year

MIRRORED_FLOW = {"M": "X", "X": "M"}  # partner P imports from Taiwan ≈ Taiwan exports to P, and vice versa

PARTNER_FLOW_SCHEMA: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32,
    "reporter_name": pl.Utf8,
    "reporter_name_zh": pl.Utf8,
    "partner_code": pl.Int32,
    "partner_iso3": pl.Utf8,
    "partner_name": pl.Utf8,
    "partner_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "primary_value_usd": pl.Float64,
    "cif_usd": pl.Float64,
    "fob_usd": pl.Float64,
    "is_reported": pl.Boolean,
    "is_aggregate": pl.Boolean,
    "legacy_flag": pl.Int32,
    "classification_code": pl.Utf8,
    "is_excluded_partner": pl.Boolean,
    "source_kind": pl.Utf8,
    "source_reporter_code": pl.Int32,
    "source_flow": pl.Utf8,
    "endpoint": pl.Utf8,
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
    "review_flags": pl.Utf8,
}

COMMODITY_FLOW_SCHEMA: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32,
    "reporter_name": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8,
    "primary_value_usd": pl.Float64,
    "classification_code": pl.Utf8,
    "endpoint": pl.Utf8,
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
    "review_flags": pl.Utf8,
}

AVAILABILITY_SCHEMA: dict[str, pl.DataType] = {
    "reporter_code": pl.Int32,
    "year": pl.Int32,
    "first_released": pl.Utf8,
    "last_released": pl.Utf8,
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


def _result_flags(result: FetchResult) -> list[str]:
    return [f for f, on in (("truncated", result.truncated), ("count_mismatch", result.count_mismatch)) if on]


def _once_per_result(fn: Callable[[FetchResult], list[dict]]) -> Callable[[FetchResult], list[dict]]:
    """Turn a result into rows once (``FetchResult.derive``): the weeks of a run that ask for the same request get
    the same result object, so each distinct request is parsed once per run. The returned list and its dicts are
    shared: callers must not mutate them (none does: the frame builders copy, mirror_flow_rows builds new dicts)."""

    @functools.wraps(fn)
    def wrapper(result: FetchResult) -> list[dict]:
        return result.derive(fn)

    return wrapper


@_once_per_result
def partner_flow_rows(result: FetchResult) -> list[dict]:
    """Reported rows that passed the wire schema (validate.py): one per reporter × partner × flow × year (TOTAL).
    Refused rows are in ``quarantined(result)``, never here."""
    out = []
    checked = check_replies([result], contract.COMTRADE_PARTNER_FLOWS)[0]
    for i in checked.accepted:
        row = result.rows[i]
        reporter, partner = code_value(row.get("reporterCode"))[0], code_value(row.get("partnerCode"))[0]
        year = wire_year(row)[0]
        flow = str(row.get("flowCode") or "").strip().upper()
        value = _float(row.get("primaryValue"))
        flags = _result_flags(result) + ([] if value is not None else ["missing_value"])
        partner_iso = (row.get("partnerISO") or "").strip() or None
        partner_canon = canonical_partner_code(partner)
        out.append(
            {
                "reporter_code": reporter,
                "reporter_name": row.get("reporterDesc"),
                "reporter_name_zh": area_name_zh(reporter, row.get("reporterISO"), row.get("reporterDesc")),
                "partner_code": partner_canon,
                "partner_iso3": partner_iso,
                "partner_name": row.get("partnerDesc"),
                "partner_name_zh": area_name_zh(partner_canon, partner_iso, row.get("partnerDesc")),
                "flow": flow,
                "year": year,
                "primary_value_usd": value,
                "cif_usd": _float(row.get("cifvalue")),
                "fob_usd": _float(row.get("fobvalue")),
                "is_reported": _bool(row.get("isReported")),
                "is_aggregate": _bool(row.get("isAggregate")),
                "legacy_flag": _int(row.get("legacyEstimationFlag")),
                "classification_code": row.get("classificationCode"),
                "is_excluded_partner": is_excluded_partner(partner_canon),
                "source_kind": "reported",
                "source_reporter_code": reporter,
                "source_flow": flow,
                "endpoint": result.endpoint,
                "request_id": result.request_id,
                "fetched_at": result.fetched_at,
                "review_flags": join_flags(flags),
                "_raw_partner": partner,
                "_row_index": i,
                "_request": result.request_key,
                "_raw": row,
            }
        )
    # a row refused for its value keeps its place with the value unknown (NULL, flagged): the partner is not
    # "absent" (which a balance would read as zero trade), its figure is missing
    for q in checked.quarantined:
        if q.reason_code in PLACEHOLDER_REASONS and q.row_index is not None:
            row = result.rows[q.row_index]
            reporter, partner = code_value(row.get("reporterCode"))[0], code_value(row.get("partnerCode"))[0]
            partner_canon = canonical_partner_code(partner)
            flow = str(row.get("flowCode") or "").strip().upper()
            out.append(
                {
                    "reporter_code": reporter,
                    "reporter_name": row.get("reporterDesc"),
                    "reporter_name_zh": area_name_zh(reporter, row.get("reporterISO"), row.get("reporterDesc")),
                    "partner_code": partner_canon,
                    "partner_iso3": (row.get("partnerISO") or "").strip() or None,
                    "partner_name": row.get("partnerDesc"),
                    "partner_name_zh": area_name_zh(partner_canon, row.get("partnerISO"), row.get("partnerDesc")),
                    "flow": flow,
                    "year": wire_year(row)[0],
                    "primary_value_usd": None,
                    "cif_usd": None,
                    "fob_usd": None,
                    "is_reported": _bool(row.get("isReported")),
                    "is_aggregate": _bool(row.get("isAggregate")),
                    "legacy_flag": _int(row.get("legacyEstimationFlag")),
                    "classification_code": row.get("classificationCode"),
                    "is_excluded_partner": is_excluded_partner(partner_canon),
                    "source_kind": "reported",
                    "source_reporter_code": reporter,
                    "source_flow": flow,
                    "endpoint": result.endpoint,
                    "request_id": result.request_id,
                    "fetched_at": result.fetched_at,
                    "review_flags": join_flags(_result_flags(result) + ["quarantined_rows"]),
                    "_raw_partner": partner,
                    "_row_index": q.row_index,
                    "_request": result.request_key,
                    "_raw": row,
                    "_placeholder": True,
                }
            )
    return out


#: reasons whose row identity is sound (only its value is not): stored as a NULL placeholder, flagged
PLACEHOLDER_REASONS = frozenset({"value_not_numeric", "value_not_finite", "value_negative"})


def quarantined(result: FetchResult, table: str = contract.COMTRADE_PARTNER_FLOWS) -> list[Quarantined]:
    """The rows of ``result`` the wire schema refused (memoized with the accepted ones)."""
    return list(check_replies([result], table)[0].quarantined)


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
        out.append(
            {
                **row,
                "reporter_code": TAIWAN_ISO_CODE,
                "reporter_name": "Taiwan (mirror of partners' reports on 490)",
                "reporter_name_zh": TAIWAN_NAME_ZH,
                "partner_code": source_reporter,
                "partner_iso3": None,
                "partner_name": row["reporter_name"],
                "partner_name_zh": row["reporter_name_zh"],
                "flow": MIRRORED_FLOW[row["flow"]],
                "is_excluded_partner": is_excluded_partner(source_reporter),
                "source_kind": "mirror",
                "source_reporter_code": source_reporter,
                "source_flow": row["flow"],
            }
        )
    return out


# Reporter-side groups (Reporters.json isGroup) would double count their members in a mirror; 490 is Taiwan itself.
MIRROR_SKIPPED_REPORTERS: frozenset[int] = frozenset({97, 975, TAIWAN_PARTNER_CODE, TAIWAN_ISO_CODE})


def _values(row: dict) -> tuple:
    return tuple(row.get(k) for k in ("primary_value_usd", "cif_usd", "fob_usd"))


def _dup_item(row: dict, reason: str, words: str, action: str, table: str) -> Quarantined:
    return Quarantined(
        source="comtrade",
        request=row.get("_request") or "",
        row=row.get("_raw") or {},
        reason_code=reason,
        reason=words,
        group_table=table,
        group={"reporter_code": row["reporter_code"], "flow": row["flow"], "year": row["year"]},
        action=action,
        row_index=row.get("_row_index"),
        request_id=row.get("request_id") or "",
        fetched_at=row.get("fetched_at") or "",
    )


def resolve_duplicates(
    rows: list[dict], key_cols: Sequence[str], what: str, table: str
) -> tuple[list[dict], list[Quarantined]]:
    """Rows that arrived more than once under ``key_cols``: copies with the same values are kept once (the others
    become ``collapsed`` quarantine items, a trace); copies whose values differ are all refused
    (``conflicting_duplicate``, the group flagged) — never resolved by row order."""
    by_key: dict[tuple, list[dict]] = {}
    for row in rows:
        by_key.setdefault(tuple(row[c] for c in key_cols), []).append(row)
    kept: list[dict] = []
    items: list[Quarantined] = []
    for key, copies in by_key.items():
        if len(copies) == 1:
            kept.append(copies[0])
            continue
        values = {_values(c) for c in copies}
        label = ", ".join(f"{c}={v!r}" for c, v in zip(key_cols, key) if not c.startswith("_"))
        if any(c.get("_placeholder") for c in copies):  # a refused copy: its twin's value cannot be trusted either
            values.add(("refused",))
        if len(values) == 1:
            kept.append(copies[0])
            items += [
                _dup_item(
                    c,
                    "exact_duplicate",
                    f"{what} {label} arrived {len(copies)} times with the same values; kept once",
                    COLLAPSED,
                    table,
                )
                for c in copies[1:]
            ]
        else:
            seen = sorted({str(v[0]) for v in values})
            items += [
                _dup_item(
                    c,
                    "conflicting_duplicate",
                    f"{what} {label} arrived {len(copies)} times with different values ({', '.join(seen)}); none used",
                    REJECTED,
                    table,
                )
                for c in copies
                if not c.get("_placeholder")
            ]
            # the key keeps its place with the value unknown (NULL, flagged), never one copy chosen by row order
            kept.append(
                {
                    **copies[0],
                    "primary_value_usd": None,
                    **({"cif_usd": None, "fob_usd": None} if "cif_usd" in copies[0] else {}),
                    "review_flags": join_flags([copies[0].get("review_flags"), "quarantined_rows"]),
                    "_placeholder": True,
                }
            )
    return kept, items


def merge_duplicates(rows: list[dict], table: str = "comtrade_partner_flows") -> tuple[list[dict], list[Quarantined]]:
    """One row per reporter × partner × flow × year × source_kind, and the quarantine items of the duplicates.

    The same wire key twice (identical or conflicting, see :func:`resolve_duplicates`); 158 and 490 (both Taiwan)
    are summed and flagged, because the same trade could be booked under either code."""
    unique, items = resolve_duplicates(
        [{**r, "_raw_key": r.get("_raw_partner", r["partner_code"])} for r in rows],
        ["reporter_code", "partner_code", "flow", "year", "source_kind", "_raw_key"],
        "partner row",
        table,
    )
    by_key: dict[tuple, dict] = {}
    for row in unique:
        key = (row["reporter_code"], row["partner_code"], row["flow"], row["year"], row["source_kind"])
        if key in by_key:
            kept = by_key[key]
            if kept["primary_value_usd"] is not None and row["primary_value_usd"] is not None:
                kept["primary_value_usd"] += row["primary_value_usd"]
            kept["review_flags"] = join_flags([kept["review_flags"], row["review_flags"], "taiwan_dual_code"])
            continue
        by_key[key] = dict(row)
    return list(by_key.values()), items


def partner_flows_frame(rows: list[dict]) -> pl.DataFrame:
    return partner_flows_frame_and_quarantine(rows)[0]


def partner_flows_frame_and_quarantine(rows: list[dict]) -> tuple[pl.DataFrame, list[Quarantined]]:
    merged, items = merge_duplicates(rows)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in merged]
    frame = (
        pl.DataFrame(clean, schema=PARTNER_FLOW_SCHEMA, orient="row")
        if clean
        else pl.DataFrame(schema=PARTNER_FLOW_SCHEMA)
    )
    return frame, items


@_once_per_result
def commodity_rows(result: FetchResult) -> list[dict]:
    """HS2 rows against World (partnerCode 0) for one reporter that passed the wire schema (validate.py)."""
    out = []
    checked = check_replies([result], contract.COMTRADE_COMMODITY_FLOWS)[0]
    for i in checked.accepted:
        row = result.rows[i]
        cmd = str(row.get("cmdCode") or "").strip()
        flow = str(row.get("flowCode") or "").strip().upper()
        reporter, year = code_value(row.get("reporterCode"))[0], wire_year(row)[0]
        value = _float(row.get("primaryValue"))
        out.append(
            {
                "reporter_code": reporter,
                "reporter_name": row.get("reporterDesc"),
                "flow": flow,
                "year": year,
                "hs2": cmd,
                "hs2_desc": row.get("cmdDesc"),
                "primary_value_usd": value,
                "classification_code": row.get("classificationCode"),
                "endpoint": result.endpoint,
                "request_id": result.request_id,
                "fetched_at": result.fetched_at,
                "review_flags": join_flags(_result_flags(result) + ([] if value is not None else ["missing_value"])),
                "_row_index": i,
                "_request": result.request_key,
                "_raw": row,
            }
        )
    return out


def commodity_frame(rows: list[dict]) -> pl.DataFrame:
    return commodity_frame_and_quarantine(rows)[0]


def commodity_frame_and_quarantine(rows: list[dict]) -> tuple[pl.DataFrame, list[Quarantined]]:
    kept, items = resolve_duplicates(
        rows, ["reporter_code", "flow", "year", "hs2"], "HS2 row", contract.COMTRADE_COMMODITY_FLOWS
    )
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in kept]
    frame = (
        pl.DataFrame(clean, schema=COMMODITY_FLOW_SCHEMA, orient="row")
        if clean
        else pl.DataFrame(schema=COMMODITY_FLOW_SCHEMA)
    )
    return frame, items


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
        out.append(
            {
                "reporter_code": reporter,
                "year": year,
                "first_released": first.isoformat(),
                "last_released": last.isoformat() if last else None,
                "total_records": _int(row.get("totalRecords")),
            }
        )
    return out

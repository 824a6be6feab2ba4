"""Census intltrade wire format: a JSON array of arrays, row 0 = variable names, every cell a string (or null).

Parsing is by header name (first occurrence wins: a predicate also listed in ``get`` may come back twice), values are
strings turned into numbers here, and suppressed/missing markers never become zeros.

The parse boundary is declared once (``reply_schema``, pandera's polars backend): every row of a reply must be an
individual country the request asked for, an HS2 chapter (or the country total) at the level it asked for, a month
inside its window, and a finite value ≥ 0 or a suppression marker (``(D)``, blank, ``-``, null → NULL, never 0);
codes are normalised (``05700`` → 5700, ``085`` → 85) before the rules run. Two copies of one cell with different
values are a conflict. A row that fails is rejected with its reasons (the caller quarantines it); none is dropped
silently or used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

from trade_pipeline.core.hs_chapters import hs2_name_en
from trade_pipeline.core.quarantine import loads_keeping_literals

SOURCE = "census"
MISSING_MARKERS = frozenset({"", "-", "(D)", "(X)", "(S)", "(NA)", "N/A", "NULL"})

# flow -> (commodity variable, monthly value variable, year-to-date value variable)
FLOW_VARIABLES: dict[str, tuple[str, str, str]] = {
    "export": ("E_COMMODITY", "ALL_VAL_MO", "ALL_VAL_YR"),
    "import": ("I_COMMODITY", "GEN_VAL_MO", "GEN_VAL_YR"),
}
FLOW_ENDPOINT = {"export": "exports/hs", "import": "imports/hs"}


class CensusFormatError(ValueError):
    """The body is not the Census array-of-arrays format (truncated JSON, HTML page, ragged rows, no header)."""


@dataclass
class CensusRecord:
    """One normalized row: partner × flow × month × HS2 (hs2 = 'TOTAL' for the country total)."""

    cty_code: str
    cty_name: str
    flow: str
    year: int
    month: int
    hs2: str
    hs2_desc: str
    value_usd: float | None
    ytd_usd: float | None
    flags: list[str] = field(default_factory=list)


def parse_table(body: bytes | str, request: str = "") -> list[dict[str, str | None]]:
    """Array-of-arrays → list of {header: cell}. Duplicate header names keep their first column.

    Raises CensusFormatError (naming the request) for anything that is not that format.
    """
    text = body.decode("utf-8-sig", errors="replace") if isinstance(body, bytes) else body
    where = f" — request: {request}" if request else ""
    if text.lstrip().startswith("<"):
        raise CensusFormatError(
            f"[{SOURCE}] got an HTML page instead of JSON (invalid API key or an error page){where}"
        )
    try:
        data = loads_keeping_literals(text)
    except json.JSONDecodeError as exc:
        raise CensusFormatError(
            f"[{SOURCE}] body is not valid JSON ({exc.msg} at char {exc.pos}; {len(text)} chars, truncated?){where}"
        ) from exc
    if not isinstance(data, list) or not data or not isinstance(data[0], list):
        raise CensusFormatError(
            f"[{SOURCE}] expected a JSON array of arrays with a header row, got {type(data).__name__}{where}"
        )
    header = data[0]
    if not header or not all(isinstance(h, str) and h for h in header):
        raise CensusFormatError(f"[{SOURCE}] header row is not a list of variable names: {header[:10]!r}{where}")
    first_index: dict[str, int] = {}
    for i, name in enumerate(header):
        first_index.setdefault(name, i)
    rows: list[dict[str, str | None]] = []
    for n, row in enumerate(data[1:], start=1):
        if not isinstance(row, list) or len(row) != len(header):
            raise CensusFormatError(
                f"[{SOURCE}] row {n} has {len(row) if isinstance(row, list) else 'no'} cells, "
                f"header has {len(header)}{where}"
            )
        # cells are strings on the wire; anything else is kept as its text (a non-finite literal as sent, e.g. 1e400)
        rows.append(
            {
                name: (
                    None
                    if row[i] is None
                    else row[i]
                    if isinstance(row[i], str)
                    else json.dumps(row[i])
                    if isinstance(row[i], bool | list | dict)
                    else str(row[i])
                )
                for name, i in first_index.items()
            }
        )
    return rows


def to_number(cell: str | None) -> tuple[float | None, str | None]:
    """Census cell → (value, flag). Missing markers → (None, 'value_missing'); garbage → (None, 'value_unparseable')."""
    if cell is None:
        return None, "value_missing"
    text = cell.strip()
    if text.upper() in MISSING_MARKERS:
        return None, "value_missing"
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None, "value_unparseable"
    if not math.isfinite(value):
        return None, "value_unparseable"
    return value, None


# --- the parse boundary: every row of a reply checked against what its request asked --------------------------------
NOT_ASKED = {  # rules that compare a row with its request: a failing row answers another question
    "partner": "partner not asked for by the request",
    "total": "a country-total row in a chapter request",
    "chapter": "a chapter row in a country-total request",
    "level": "commodity level is not the HS2 the request asked for",
    "year": "year not asked for by the request",
    "month": "month outside the window the request asked for",
}

COUNTRY_CODE_PATTERN = r"^[1-9][0-9]{3}$"  # an individual country (Schedule C); aggregates are '-', '0003', '1XXX', …
HS2_PATTERN = r"^(TOTAL|0[1-9]|[1-9][0-9])$"
KEY = ("cty_code", "flow", "year", "month", "hs2")
#: Columns whose failure leaves the row's identity intact: the row is the cell its request asked for, only its value is
#: unusable (that cell is then missing, flagged); any other failure means the row is not what the request asked for.
VALUE_COLUMNS = frozenset({"value_usd", "value_text"})


@dataclass(frozen=True)
class ReplyRequest:
    """What one request asked for; the boundary compares every row of its reply with it.

    ``level``: 'HS2' (chapter rows only), 'TOTAL' (country totals only) or None (either). ``partners``: the CTY_CODE
    predicates sent (None: any individual country). ``year`` None: any year; months ``first_month..last_month``.
    """

    flow: str
    level: str | None = None
    year: int | None = None
    first_month: int = 1
    last_month: int = 12
    partners: frozenset[str] | None = None


@dataclass(frozen=True)
class RejectedRow:
    """A reply row the boundary did not use as it came: kept as received, with its reasons (the asset quarantines
    it, core/quarantine.py). ``action``: 'rejected' (not used), 'repaired' (the cell is kept with its value NULL,
    flagged) or 'collapsed' (a verbatim repeat of a kept row)."""

    row_index: int  # 0-based data row of the reply (the header is not counted)
    row: dict  # the row as received: {variable: cell}
    reason_code: str  # contract.QUARANTINE_REASONS
    reason: str  # every failed rule, in words, '; '-joined
    action: str = "rejected"
    cell: tuple[str, str, int, int, str] | None = None  # (cty_code, flow, year, month, hs2) when the row IS a cell
    # the request asked for and only its value (or a conflicting copy) failed; None when the row is not one it asked for


@dataclass
class Reply:
    """A validated reply: the rows that passed as records, the rest rejected; ``error`` when the reply as a whole is
    not an answer to its request (then every row is rejected)."""

    records: list[CensusRecord]
    rejected: list[RejectedRow] = field(default_factory=list)
    merged_duplicates: int = 0  # rows repeated verbatim (same cell, same value): one copy kept
    error: str = ""


def _normalized_code(col: str) -> pl.Expr:
    """'05700' → '5700', ' 085 ' → '85' (digits: leading zeros dropped); anything else stays as received."""
    text = pl.col(col).str.strip_chars()
    as_int = text.cast(pl.Int64, strict=False)
    return pl.when(text.str.contains(r"^[0-9]{1,12}$")).then(as_int.cast(pl.Utf8)).otherwise(text)


def _number(col: str) -> pl.Expr:
    text = pl.col(col).str.strip_chars().str.replace_all(",", "")
    return pl.when(_marker(col)).then(None).otherwise(text.cast(pl.Float64, strict=False))


def _marker(col: str) -> pl.Expr:
    return pl.col(col).is_null() | pl.col(col).str.strip_chars().str.to_uppercase().is_in(sorted(MISSING_MARKERS))


def wire_frame(rows: list[dict[str, str | None]], flow: str) -> pl.DataFrame:
    """Reply rows → one typed frame: codes normalised, time split, values parsed (markers → NULL, never 0).

    Cells that cannot be coerced stay NULL (codes: as received) so the schema can name what failed.
    """
    commodity_var, month_var, ytd_var = FLOW_VARIABLES[flow]
    raw_cols = {
        "CTY_CODE": "cty_raw",
        "CTY_NAME": "cty_name",
        commodity_var: "commodity_raw",
        "COMM_LVL": "comm_lvl",
        "SUMMARY_LVL": "summary_lvl",
        "time": "time_raw",
        "YEAR": "year_raw",
        "MONTH": "month_raw",
        month_var: "value_text",
        ytd_var: "ytd_text",
        f"{commodity_var}_LDESC": "ldesc",
        f"{commodity_var}_SDESC": "sdesc",
    }
    raw = pl.DataFrame(
        {dst: [r.get(src) for r in rows] for src, dst in raw_cols.items()},
        schema={dst: pl.Utf8 for dst in raw_cols.values()},
    )
    has_commodity = any(commodity_var in r for r in rows)
    time_parts = pl.col("time_raw").str.strip_chars().str.extract_groups(r"^(\d{4})-(\d{2})$")
    year = pl.coalesce(
        time_parts.struct.field("1").cast(pl.Int32, strict=False),
        pl.col("year_raw").str.strip_chars().cast(pl.Int32, strict=False),
    )
    month = pl.coalesce(
        time_parts.struct.field("2").cast(pl.Int32, strict=False),
        pl.col("month_raw").str.strip_chars().cast(pl.Int32, strict=False),
    )
    commodity = _normalized_code("commodity_raw")
    hs2 = (
        pl.when(pl.col("commodity_raw").str.strip_chars().str.to_uppercase().is_in(["-", "TOTAL"]))
        .then(pl.lit("TOTAL"))
        .when(commodity.str.contains(r"^[0-9]$"))
        .then(pl.lit("0") + commodity)
        .otherwise(commodity)
    )
    return (
        raw.with_row_index("row_index")
        .with_columns(
            cty_code=_normalized_code("cty_raw"),
            cty_name=pl.col("cty_name").str.strip_chars().fill_null(""),
            flow=pl.lit(flow),
            year=year,
            month=month,
            hs2=hs2 if has_commodity else pl.lit("TOTAL"),
            comm_lvl=pl.col("comm_lvl").str.strip_chars().str.to_uppercase(),
            value_usd=_number("value_text"),
            value_missing=_marker("value_text"),
            ytd_usd=_number("ytd_text"),
            ytd_bad=pl.col("ytd_text").is_not_null()
            & ~_marker("ytd_text")
            & ~_number("ytd_text").is_finite().fill_null(False),
            hs2_desc=pl.coalesce("ldesc", "sdesc").str.strip_chars(),
        )
        .with_columns(
            ytd_usd=pl.when(pl.col("ytd_usd").is_finite() & (pl.col("ytd_usd") >= 0)).then(pl.col("ytd_usd")),
            ytd_bad=pl.col("ytd_bad") | (pl.col("ytd_usd") < 0).fill_null(False),
        )
    )


def _vector(expr_of: Callable[[str], pl.Expr]) -> Callable:
    """A pandera polars check body from an expression over the checked column (NULLs pass: nullability is separate)."""
    return lambda data: data.lazyframe.select(expr_of(data.key) | pl.col(data.key).is_null())


def reply_schema(ask: ReplyRequest) -> pa.DataFrameSchema:
    """The declared rules every row of a reply to ``ask`` must pass (pandera, polars backend)."""
    partner_checks = [
        pa.Check.str_matches(
            COUNTRY_CODE_PATTERN, error="partner code is not an individual country (aggregate or malformed)"
        )
    ]
    if ask.partners is not None:
        partner_checks.append(pa.Check.isin(sorted(ask.partners), error=NOT_ASKED["partner"]))
    hs2_checks = [pa.Check.str_matches(HS2_PATTERN, error="commodity code is not an HS2 chapter")]
    if ask.level == "HS2":
        hs2_checks.append(pa.Check.ne("TOTAL", error=NOT_ASKED["total"]))
    elif ask.level == "TOTAL":
        hs2_checks.append(pa.Check.eq("TOTAL", error=NOT_ASKED["chapter"]))
    year_checks = [pa.Check.eq(ask.year, error=NOT_ASKED["year"])] if ask.year is not None else []
    return pa.DataFrameSchema(
        {
            "cty_code": pa.Column(pl.Utf8, nullable=False, checks=partner_checks),
            "summary_lvl": pa.Column(
                pl.Utf8, nullable=True, checks=pa.Check.isin(["DET"], error="a summary (aggregate) row")
            ),
            "hs2": pa.Column(pl.Utf8, nullable=False, checks=hs2_checks),
            "comm_lvl": pa.Column(
                pl.Utf8,
                nullable=True,
                checks=([pa.Check.isin(["HS2"], error=NOT_ASKED["level"])] if ask.level == "HS2" else []),
            ),
            "year": pa.Column(pl.Int32, nullable=False, checks=year_checks),
            "month": pa.Column(
                pl.Int32,
                nullable=False,
                checks=[pa.Check.in_range(ask.first_month, ask.last_month, error=NOT_ASKED["month"])],
            ),
            "value_text": pa.Column(
                pl.Utf8,
                nullable=True,
                checks=pa.Check(
                    _vector(lambda c: _marker(c) | _number(c).is_not_null()),
                    error="value is neither a number nor a suppression marker",
                ),
            ),
            "value_usd": pa.Column(
                pl.Float64,
                nullable=True,
                checks=[
                    pa.Check(_vector(lambda c: pl.col(c).is_finite()), error="value is not finite"),
                    pa.Check.ge(0, error="value is negative"),
                ],
            ),
        },
        unique=list(KEY),
        report_duplicates="all",
        name="census_reply",
        description="One Census intltrade reply after coercion, before any row becomes a census_monthly_flows row.",
    )


REPLY_SCHEMA_FOR_UI = reply_schema(ReplyRequest(flow="export", level="HS2", partners=frozenset({"5700"})))

_CHECK_WORDS = {
    "not_nullable": "{column} missing",
    "multiple_fields_uniqueness": "conflicting duplicate of the same cell",
}


#: Census aggregate codes: '-' (all countries), '0003' (EU), '1XXX' (a continent), … — areas, not countries.
AGGREGATE_CODE = re.compile(r"^(-|[0-9]{1,4}|[0-9]XXX)$", re.IGNORECASE)
REASON_PRIORITY = [
    "aggregate_partner",
    "code_invalid",
    "not_requested",
    "conflicting_duplicate",
    "value_not_numeric",
    "value_not_finite",
    "value_negative",
]


def _reason_code(column: str | None, check: str) -> str:
    """The registered quarantine reason (contract.QUARANTINE_REASONS) of one failed rule."""
    if check == "multiple_fields_uniqueness":
        return "conflicting_duplicate"
    if check in NOT_ASKED.values():
        return "not_requested"
    if column == "cty_code" or column == "summary_lvl":
        return "aggregate_partner" if check != "not_nullable" else "code_invalid"
    if column == "value_text":
        return "value_not_numeric"
    if column == "value_usd":
        return "value_negative" if "negative" in check else "value_not_finite"
    return "code_invalid"  # hs2, comm_lvl, year/month that are not codes


def validate_reply(rows: list[dict[str, str | None]], ask: ReplyRequest, request: str = "") -> Reply:
    """Validate a parsed reply against its request: passing rows become records; every other row is rejected with its
    reasons (never dropped silently, never used). Rows repeated verbatim are kept once (the copies: 'collapsed')."""
    _, month_var, _ = FLOW_VARIABLES[ask.flow]
    if rows and not any(month_var in r for r in rows):
        error = (
            f"[{SOURCE}] reply lacks the {month_var} column: not an answer to a {FLOW_ENDPOINT[ask.flow]} "
            f"request — request: {request}"
        )
        return Reply(
            records=[],
            error=error,
            rejected=[
                RejectedRow(i, r, "not_requested", f"reply lacks the {month_var} column (not a {ask.flow}s reply)")
                for i, r in enumerate(rows)
            ],
        )
    df = wire_frame(rows, ask.flow)
    # verbatim repeats (same cell, same value) are one row; copies that disagree are a conflict the schema reports
    same = [*KEY, "value_text", "ytd_text", "cty_name", "summary_lvl", "comm_lvl"]
    first = df.select(pl.struct(same).is_first_distinct()).to_series()
    repeats = df.filter(~first)
    deduped = df.filter(first)
    failures: dict[int, list[tuple[str | None, str]]] = {}
    try:
        reply_schema(ask).validate(deduped, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for column, check, index in exc.failure_cases.select("column", "check", "index").iter_rows():
            targets = range(deduped.height) if index is None else (int(index),)  # None: about the whole frame
            for i in targets:
                failures.setdefault(i, []).append((column, str(check)))
    records: list[CensusRecord] = []
    rejected: list[RejectedRow] = []
    collapsed_into = {}
    for r in repeats.iter_rows(named=True):
        key = tuple(r[c] for c in KEY)
        collapsed_into[key] = collapsed_into.get(key, 0) + 1
        rejected.append(
            RejectedRow(
                r["row_index"],
                rows[r["row_index"]],
                "exact_duplicate",
                "the same row arrived more than once; the first copy is kept",
                "collapsed",
                key,
            )
        )
    for i, r in enumerate(deduped.iter_rows(named=True)):
        failed = failures.get(i)
        key = tuple(r[c] for c in KEY)
        if failed:
            reasons, codes = [], []
            for column, check in failed:
                words = _CHECK_WORDS.get(check, check).format(column=column)
                if words not in reasons:
                    reasons.append(words)
                codes.append(_reason_code(column, check))
            if "aggregate_partner" in codes and not AGGREGATE_CODE.match((r["cty_raw"] or "").strip()):
                codes = ["code_invalid" if c == "aggregate_partner" else c for c in codes]
            codes.sort(key=REASON_PRIORITY.index)
            value_only = all(c in VALUE_COLUMNS or check == "multiple_fields_uniqueness" for c, check in failed)
            received = f" (received {r['value_text']!r})" if any(c in VALUE_COLUMNS for c, _ in failed) else ""
            # a cell the request asked for whose value is unusable is kept as NULL (repaired); any other row is not used
            action = "repaired" if value_only and "conflicting_duplicate" not in codes else "rejected"
            rejected.append(
                RejectedRow(
                    r["row_index"],
                    rows[r["row_index"]],
                    codes[0],
                    "; ".join(reasons) + received,
                    action,
                    key if value_only else None,
                )
            )
            continue
        flags = ["value_missing"] if r["value_missing"] else []
        if r["ytd_bad"]:
            flags.append("ytd_unparseable")
        if key in collapsed_into:
            flags.append("duplicate_collapsed")
        desc = r["hs2_desc"] or (hs2_name_en(r["hs2"]) if r["hs2"] != "TOTAL" else "TOTAL")
        records.append(
            CensusRecord(
                cty_code=r["cty_code"],
                cty_name=r["cty_name"],
                flow=ask.flow,
                year=r["year"],
                month=r["month"],
                hs2=r["hs2"],
                hs2_desc=desc,
                value_usd=r["value_usd"],
                ytd_usd=r["ytd_usd"],
                flags=flags,
            )
        )
    rejected.sort(key=lambda x: x.row_index)
    return Reply(records=records, rejected=rejected, merged_duplicates=repeats.height)

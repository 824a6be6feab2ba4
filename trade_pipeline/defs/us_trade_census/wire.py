"""Census intltrade wire format: a JSON array of arrays, row 0 = variable names, every cell a string (or null).

Parsing is by header name (first occurrence wins: a predicate also listed in ``get`` may come back twice), values are
strings turned into numbers here, and suppressed/missing markers never become zeros.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from trade_pipeline.core.hs_chapters import hs2_name_en, normalize_hs2

SOURCE = "census"
PARTNER_CODE_RE = re.compile(r"^[1-9][0-9]{3}$")
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
        raise CensusFormatError(f"[{SOURCE}] got an HTML page instead of JSON (invalid API key or an error page){where}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CensusFormatError(f"[{SOURCE}] body is not valid JSON ({exc.msg} at char {exc.pos}; "
                                f"{len(text)} chars, truncated?){where}") from exc
    if not isinstance(data, list) or not data or not isinstance(data[0], list):
        raise CensusFormatError(f"[{SOURCE}] expected a JSON array of arrays with a header row, got "
                                f"{type(data).__name__}{where}")
    header = data[0]
    if not header or not all(isinstance(h, str) and h for h in header):
        raise CensusFormatError(f"[{SOURCE}] header row is not a list of variable names: {header[:10]!r}{where}")
    first_index: dict[str, int] = {}
    for i, name in enumerate(header):
        first_index.setdefault(name, i)
    rows: list[dict[str, str | None]] = []
    for n, row in enumerate(data[1:], start=1):
        if not isinstance(row, list) or len(row) != len(header):
            raise CensusFormatError(f"[{SOURCE}] row {n} has {len(row) if isinstance(row, list) else 'no'} cells, "
                                    f"header has {len(header)}{where}")
        rows.append({name: (None if row[i] is None else str(row[i])) for name, i in first_index.items()})
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


def _year_month(row: dict[str, str | None]) -> tuple[int, int]:
    time_value = row.get("time")
    if time_value:
        m = re.match(r"^(\d{4})-(\d{2})$", time_value.strip())
        if m:
            return int(m.group(1)), int(m.group(2))
    if row.get("YEAR") and row.get("MONTH"):
        return int(str(row["YEAR"])), int(str(row["MONTH"]))
    raise CensusFormatError(f"[{SOURCE}] row has neither time=YYYY-MM nor YEAR/MONTH: {row!r}")


def normalize_rows(rows: list[dict[str, str | None]], flow: str, partners: frozenset[str] | None = None,
                   request: str = "") -> list[CensusRecord]:
    """Parsed rows → CensusRecords for individual countries (``^[1-9][0-9]{3}$``, SUMMARY_LVL DET when present).

    Rows without a commodity column (or with commodity '-') are country totals (hs2 = 'TOTAL'); commodity rows that
    are not HS2 chapters (e.g. an all-commodities total) are dropped before anyone sums them.
    """
    commodity_var, month_var, ytd_var = FLOW_VARIABLES[flow]
    out: list[CensusRecord] = []
    for row in rows:
        code = (row.get("CTY_CODE") or "").strip()
        if not PARTNER_CODE_RE.match(code):
            continue
        if row.get("SUMMARY_LVL") not in (None, "DET"):
            continue
        if partners is not None and code not in partners:
            continue
        if month_var not in row:
            raise CensusFormatError(f"[{SOURCE}] reply lacks the {month_var} column — request: {request}")
        year, month = _year_month(row)
        if commodity_var in row:
            try:
                hs2 = normalize_hs2(row[commodity_var] or "")
            except ValueError:
                continue  # HS4+ or an odd code: not a chapter
            level = (row.get("COMM_LVL") or "HS2").upper()
            if hs2 != "TOTAL" and level != "HS2":
                continue
        else:
            hs2 = "TOTAL"
        desc = row.get(f"{commodity_var}_LDESC") or row.get(f"{commodity_var}_SDESC") or hs2_name_en(hs2)
        flags: list[str] = []
        value, flag = to_number(row.get(month_var))
        if flag:
            flags.append(flag)
        ytd, ytd_flag = to_number(row.get(ytd_var)) if ytd_var in row else (None, None)
        if ytd_flag == "value_unparseable":
            flags.append("ytd_unparseable")
        out.append(CensusRecord(cty_code=code, cty_name=(row.get("CTY_NAME") or "").strip(), flow=flow, year=year,
                                month=month, hs2=hs2, hs2_desc=desc.strip(), value_usd=value, ytd_usd=ytd,
                                flags=flags))
    return out

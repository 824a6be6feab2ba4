"""Declared validation of Comtrade data replies at the parse boundary (pandera, polars backend).

Every row of every partner-total, mirror and HS2 reply goes through one schema, :data:`WIRE_SCHEMA`, whose checks are
named by the quarantine reason they stand for (``contract.QUARANTINE_REASONS``):

| check | rows refused |
|---|---|
| ``code_invalid``        | reporterCode / partnerCode / partner2Code / motCode not an integer code ('0842' → 842 and 842.0 → 842 are codes; '84x', 8.5, true are not), flowCode not X/M, no year in refYear/period |
| ``not_requested``       | reporterCode, partnerCode, period (year), flowCode, cmdCode, partner2Code, motCode or customsCode other than the request asked (read back from its request key) |
| ``value_not_numeric``   | primaryValue / cifvalue / fobvalue present but not a JSON number (a string such as "NaN" or "123", a boolean) |
| ``value_not_finite``    | NaN, Infinity, a literal beyond float64 such as 1e400 |
| ``value_negative``      | a value below 0 (Comtrade values are non-negative) |
| ``aggregate_partner``   | ``isAggregate`` true on a partner that is not World or a known non-country area; a reporter group (EU 97, ASEAN 975) as partner |
| ``unknown_partner_code`` | a partner (for mirror replies: the reporter, who becomes Taiwan's partner) in neither the Comtrade partner reference nor ISO 3166 (codes.is_known_area) |

A refused row becomes a :class:`~trade_pipeline.core.quarantine.Quarantined` item (first failing check wins, in
the order above) whose group is the reporter × flow × year it would have been counted in. The schema is validated
once over all rows of all replies not checked before (a batch), and each reply's outcome is kept on its result
(``FetchResult.derive_all``: one result per answered request and run, so each distinct request is checked once per run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors
from pandera.polars import Check, Column, DataFrameSchema

from trade_pipeline.core import contract
from trade_pipeline.core.quarantine import REJECTED, Quarantined, WireNumber
from trade_pipeline.defs.bilateral_trade_flows.codes import (
    EXCLUDED_PARTNER_CODES,
    HS2_CODES,
    REPORTER_GROUP_CODES,
    TAIWAN_ISO_CODE,
    known_area_codes,
)
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult

SOURCE = "comtrade"
CODE_FIELDS = ("reporterCode", "partnerCode", "partner2Code", "motCode")
VALUE_FIELDS = ("primaryValue", "cifvalue", "fobvalue")
MIRRORED_FLOW = {"M": "X", "X": "M"}
#: reason order: the first failing check of a row names its reason
REASON_ORDER = (
    "code_invalid",
    "not_requested",
    "value_not_numeric",
    "value_not_finite",
    "value_negative",
    "aggregate_partner",
    "unknown_partner_code",
)


# ---------------------------------------------------------------------------------------------------------------------
# what a request asked
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    """The identity a reply's rows must have, read back from the request key (``GET url?k=v&…``)."""

    kind: str
    reporter: int | None
    partner: int | None
    flows: tuple[str, ...]
    years: tuple[int, ...]
    cmds: tuple[str, ...]
    partner2: int | None
    mot: int | None
    customs: str | None

    @classmethod
    def of(cls, kind: str, request_key: str) -> Ask:
        query = request_key.split("?", 1)[1].split(" | ", 1)[0] if "?" in request_key else ""
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        params = {k: unquote(v) for k, v in params.items()}

        def ints(name: str) -> int | None:
            value = params.get(name)
            return int(value) if value is not None and value.strip().lstrip("-").isdigit() else None

        hs2 = kind == "hs2_world"
        # a key without a parameter (a hand-built result) asks for the plain total of sources.md 1.7
        default_cmds = ",".join(HS2_CODES) if hs2 else "TOTAL"
        partner = ints("partnerCode")
        return cls(
            kind=kind,
            reporter=ints("reporterCode"),
            partner=0 if hs2 and partner is None else partner,
            flows=tuple(f for f in params.get("flowCode", "X,M").split(",") if f),
            years=tuple(int(y) for y in params.get("period", "").split(",") if y.strip().isdigit()),
            cmds=tuple(c.strip().upper() for c in params.get("cmdCode", default_cmds).split(",") if c.strip()),
            partner2=ints("partner2Code") if "partner2Code" in params else 0,
            mot=ints("motCode") if "motCode" in params else 0,
            customs=params.get("customsCode", "C00"),
        )

    def group(self, flow: str | None, year: int | None, reporter: int | None) -> dict:
        """The reporter × flow × year (as stored) a row of this reply would have been counted in; a value the row
        cannot vouch for (invalid or not asked) becomes the request's own scope (a list when it asked several)."""
        mirror = self.kind == "mirror"
        flows = [flow] if flow in self.flows else list(self.flows)
        if mirror:
            flows = [MIRRORED_FLOW.get(f, f) for f in flows]
        years = [year] if year in self.years else list(self.years)
        rep = TAIWAN_ISO_CODE if mirror else (self.reporter if self.reporter is not None else reporter)
        return {
            "reporter_code": rep,
            "flow": flows[0] if len(flows) == 1 else sorted(flows),
            "year": years[0] if len(years) == 1 else sorted(years),
        }


# ---------------------------------------------------------------------------------------------------------------------
# wire rows → typed frame (the values as received, classified; nothing decided yet)
# ---------------------------------------------------------------------------------------------------------------------
def code_value(value: object) -> tuple[int | None, bool]:
    """(code, bad): an int, a digit string ('0842' → 842) or an integral float is a code; None/'' is missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    if isinstance(value, bool) or isinstance(value, WireNumber):
        return None, True
    if isinstance(value, int):
        return value, value < 0
    if isinstance(value, float):
        return (int(value), False) if value.is_integer() and value >= 0 else (None, True)
    if isinstance(value, str):
        text = value.strip()
        return (int(text), False) if text.isdigit() else (None, True)
    return None, True


def number_value(value: object) -> tuple[float | None, str]:
    """(value, kind): kind 'number' for JSON numbers (non-finite literals included), 'null', else what it was."""
    if value is None:
        return None, "null"
    if isinstance(value, bool):
        return None, "boolean"
    if isinstance(value, WireNumber):
        return value.value, "number"
    if isinstance(value, (int, float)):
        return float(value), "number"
    return None, type(value).__name__


def wire_year(row: dict) -> tuple[int | None, bool]:
    year, bad = code_value(row.get("refYear"))
    if year is not None and not bad:
        return (year, False) if 1900 <= year <= 2100 else (None, True)
    period = str(row.get("period") or "").strip()
    if len(period) >= 4 and period[:4].isdigit():
        return int(period[:4]), False
    return None, True


WIRE_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "_reply": pl.Int64,
    "_row": pl.Int64,
    **{c: pl.Int64 for c in CODE_FIELDS},
    **{f"{c}__bad": pl.Boolean for c in CODE_FIELDS},
    "flowCode": pl.Utf8,
    "year": pl.Int64,
    "year__bad": pl.Boolean,
    "cmdCode": pl.Utf8,
    "customsCode": pl.Utf8,
    **{v: pl.Float64 for v in VALUE_FIELDS},
    **{f"{v}__kind": pl.Utf8 for v in VALUE_FIELDS},
    "isAggregate": pl.Boolean,
    "is_mirror": pl.Boolean,
    "ask_reporter": pl.Int64,
    "ask_partner": pl.Int64,
    "ask_flows": pl.Utf8,
    "ask_years": pl.Utf8,
    "ask_cmds": pl.Utf8,
    "ask_partner2": pl.Int64,
    "ask_mot": pl.Int64,
    "ask_customs": pl.Utf8,
}


def _bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return None if value is None else bool(value)


def wire_frame(replies: Sequence[tuple[int, list[dict], Ask]]) -> pl.DataFrame:
    """One typed row per wire row of ``replies`` ((reply number, rows, ask)), with what its request asked."""
    cols: dict[str, list] = {name: [] for name in WIRE_FRAME_SCHEMA}
    for number, rows, ask in replies:
        for i, row in enumerate(rows):
            cols["_reply"].append(number)
            cols["_row"].append(i)
            for c in CODE_FIELDS:
                default = 0 if c in ("partner2Code", "motCode") else None  # absent → the plain total (sources.md 1.7)
                code, bad = code_value(row.get(c, default))
                cols[c].append(code)
                cols[f"{c}__bad"].append(bad)
            cols["flowCode"].append(str(row.get("flowCode") or "").strip().upper())
            year, bad = wire_year(row)
            cols["year"].append(year)
            cols["year__bad"].append(bad)
            cols["cmdCode"].append(str(row.get("cmdCode") or "").strip().upper())
            cols["customsCode"].append(str(row.get("customsCode", "C00") or "").strip().upper())
            for v in VALUE_FIELDS:
                value, kind = number_value(row.get(v))
                cols[v].append(value)
                cols[f"{v}__kind"].append(kind)
            cols["isAggregate"].append(bool(_bool(row.get("isAggregate"))))
            cols["is_mirror"].append(ask.kind == "mirror")
            cols["ask_reporter"].append(ask.reporter)
            cols["ask_partner"].append(ask.partner)
            cols["ask_flows"].append(",".join(ask.flows))
            cols["ask_years"].append(",".join(str(y) for y in ask.years))
            cols["ask_cmds"].append(",".join(ask.cmds))
            cols["ask_partner2"].append(ask.partner2)
            cols["ask_mot"].append(ask.mot)
            cols["ask_customs"].append(ask.customs)
    return pl.DataFrame(cols, schema=WIRE_FRAME_SCHEMA)


# ---------------------------------------------------------------------------------------------------------------------
# the schema
# ---------------------------------------------------------------------------------------------------------------------
def _wide(name: str, expr: pl.Expr, error: str) -> Check:
    """A row-wise check over several columns: ``expr`` is True for rows that pass."""
    return Check(
        lambda data, expr=expr: data.lazyframe.select(expr.fill_null(False)),
        name=name,
        description=error,
        ignore_na=False,
    )


def _in_list(value: pl.Expr, listed: str) -> pl.Expr:
    """``value`` is one of the comma-listed values (an empty list: the request did not say, anything goes)."""
    return (pl.col(listed) == "") | pl.col(listed).str.split(",").list.contains(value.cast(pl.Utf8))


def _equal_or_unasked(field: str, asked: str) -> pl.Expr:
    return pl.col(asked).is_null() | (pl.col(field) == pl.col(asked))


_KNOWN = sorted(known_area_codes())
_EXCLUDED = sorted(EXCLUDED_PARTNER_CODES)
_GROUPS = sorted(REPORTER_GROUP_CODES)
_CHECKS: list[tuple[str, str, pl.Expr, str]] = [
    # (reason, field, passes, words)
    *[
        (
            "code_invalid",
            c,
            ~pl.col(f"{c}__bad") & (pl.col(c).is_not_null() if c in ("reporterCode", "partnerCode") else pl.lit(True)),
            f"{c} is an integer code",
        )
        for c in CODE_FIELDS
    ],
    ("code_invalid", "flowCode", pl.col("flowCode").is_in(["X", "M"]), "flowCode is X or M"),
    ("code_invalid", "period", ~pl.col("year__bad") & pl.col("year").is_not_null(), "refYear/period is a year"),
    ("not_requested", "reporterCode", _equal_or_unasked("reporterCode", "ask_reporter"), "reporterCode as asked"),
    ("not_requested", "partnerCode", _equal_or_unasked("partnerCode", "ask_partner"), "partnerCode as asked"),
    ("not_requested", "period", _in_list(pl.col("year"), "ask_years"), "year among the periods asked"),
    ("not_requested", "flowCode", _in_list(pl.col("flowCode"), "ask_flows"), "flowCode among the flows asked"),
    ("not_requested", "cmdCode", _in_list(pl.col("cmdCode"), "ask_cmds"), "cmdCode among the commodities asked"),
    ("not_requested", "partner2Code", _equal_or_unasked("partner2Code", "ask_partner2"), "partner2Code as asked"),
    ("not_requested", "motCode", _equal_or_unasked("motCode", "ask_mot"), "motCode as asked"),
    (
        "not_requested",
        "customsCode",
        pl.col("ask_customs").is_null() | (pl.col("customsCode") == pl.col("ask_customs")),
        "customsCode as asked",
    ),
    *[
        ("value_not_numeric", v, pl.col(f"{v}__kind").is_in(["number", "null"]), f"{v} is a JSON number or null")
        for v in VALUE_FIELDS
    ],
    *[("value_not_finite", v, pl.col(v).is_null() | pl.col(v).is_finite(), f"{v} is finite") for v in VALUE_FIELDS],
    *[
        ("value_negative", v, pl.col(v).is_null() | pl.col(v).is_nan() | (pl.col(v) >= 0), f"{v} >= 0")
        for v in VALUE_FIELDS
    ],
    (
        "aggregate_partner",
        "partnerCode",
        ~(pl.col("isAggregate") & ~pl.col("partnerCode").is_in(_EXCLUDED)) & ~pl.col("partnerCode").is_in(_GROUPS),
        "partner is a country (World and nes areas are kept as non-countries)",
    ),
    (
        "unknown_partner_code",
        "partnerCode",
        pl.col("partnerCode").is_in(_KNOWN),
        "partnerCode in the Comtrade partner reference or ISO 3166",
    ),
    (
        "unknown_partner_code",
        "reporterCode",
        ~pl.col("is_mirror") | pl.col("reporterCode").is_in(_KNOWN),
        "a mirror reporter (Taiwan's partner) is a known area",
    ),
]

WIRE_SCHEMA = DataFrameSchema(
    columns={
        "_reply": Column(pl.Int64),
        "_row": Column(pl.Int64),
        **{c: Column(pl.Int64, nullable=True, description="code normalised to an integer") for c in CODE_FIELDS},
        "flowCode": Column(pl.Utf8, description="X / M"),
        "year": Column(pl.Int64, nullable=True),
        "cmdCode": Column(pl.Utf8),
        "customsCode": Column(pl.Utf8),
        **{v: Column(pl.Float64, nullable=True, description="USD; a JSON number, finite, >= 0") for v in VALUE_FIELDS},
    },
    checks=[_wide(f"{reason}:{field}", expr, words) for reason, field, expr, words in _CHECKS],
    name="comtrade_wire_rows",
    title="Comtrade wire rows (partner totals, mirror, HS2 vs World)",
    description="Every data row of a Comtrade reply, as received, before it may be stored.",
    strict=False,
)


def failures(frame: pl.DataFrame) -> dict[int, tuple[str, str]]:
    """Frame row number → (reason, field) of its first failing check (absent: the row passes)."""
    if frame.is_empty():
        return {}
    try:
        WIRE_SCHEMA.validate(frame, lazy=True)
        return {}
    except SchemaErrors as exc:
        cases = exc.failure_cases
    out: dict[int, tuple[str, str]] = {}
    rank = {r: i for i, r in enumerate(REASON_ORDER)}
    for check, index in cases.filter(pl.col("index").is_not_null()).select("check", "index").iter_rows():
        reason, _, field = str(check).partition(":")
        if reason not in rank:  # a dtype/column-level failure: the frame builder is wrong, never the data
            raise RuntimeError(f"[comtrade] wire schema failed outside a row check: {check}")
        old = out.get(int(index))
        if old is None or rank[reason] < rank[old[0]]:
            out[int(index)] = (reason, field)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# replies → accepted rows and quarantined items
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    """One reply's outcome: indices of rows that passed, and the quarantined rest."""

    accepted: tuple[int, ...]
    quarantined: tuple[Quarantined, ...]


def _words(reason: str, field: str, row: dict, ask: Ask) -> str:
    received = row.get(field if field != "period" else "refYear", row.get("period"))
    asked = {
        "reporterCode": ask.reporter,
        "partnerCode": ask.partner,
        "period": list(ask.years),
        "flowCode": list(ask.flows),
        "cmdCode": list(ask.cmds)[:5],
        "partner2Code": ask.partner2,
        "motCode": ask.mot,
        "customsCode": ask.customs,
    }.get(field)
    if reason == "not_requested":
        return f"{field} {received!r} was not asked for (the request asked {asked!r})"
    if reason == "code_invalid":
        return f"{field} {received!r} is not a valid code"
    if reason in ("value_not_numeric", "value_not_finite", "value_negative"):
        what = {
            "value_not_numeric": "is not a JSON number",
            "value_not_finite": "is not a finite number",
            "value_negative": "is negative",
        }[reason]
        return f"{field} {str(received)!r} {what}"
    if reason == "aggregate_partner":
        return (
            f"partner {row.get('partnerCode')!r} ({row.get('partnerDesc')!r}, isAggregate="
            f"{row.get('isAggregate')!r}) is an aggregate, not a country"
        )
    return f"{field} {row.get(field)!r} is neither in the Comtrade partner reference nor an ISO 3166 country"


def check_replies(results: Sequence[FetchResult], table: str) -> list[Checked]:
    """Validate the rows of every (not failed) result against what its request asked; one :class:`Checked` per
    result, in order. Replies not checked before are validated together in one pandera pass; each outcome is kept on
    its result (``FetchResult.derive_all``), so each distinct request is checked once per run."""
    passed = iter(FetchResult.derive_all([r for r in results if not r.failed], _check_batch, table))
    return [Checked((), ()) if result.failed else next(passed) for result in results]


def _check_batch(results: list[FetchResult], table: str) -> list[Checked]:
    """One pandera pass over the rows of all ``results`` (none failed): one :class:`Checked` per result, in order."""
    todo = [(n, result.rows, Ask.of(result.kind, result.request_key)) for n, result in enumerate(results)]
    out: list[Checked] = []
    frame = wire_frame(todo)
    failed = failures(frame)
    by_reply: dict[int, list[tuple[int, tuple[str, str]]]] = {}
    for i, (reply, row) in enumerate(frame.select("_reply", "_row").iter_rows()):
        if i in failed:
            by_reply.setdefault(reply, []).append((row, failed[i]))
    norm = frame.select("_reply", "flowCode", "year", "reporterCode")
    for n, rows, ask in todo:
        result = results[n]
        bad = dict(by_reply.get(n, []))
        items = []
        mine = norm.filter(pl.col("_reply") == n) if bad else None
        for row_index, (reason, field) in sorted(bad.items()):
            flow, year, reporter = mine.row(row_index)[1:] if mine is not None else (None, None, None)
            items.append(
                Quarantined(
                    source=SOURCE,
                    request=result.request_key,
                    row=rows[row_index],
                    reason_code=reason,
                    reason=_words(reason, field, rows[row_index], ask),
                    group_table=table,
                    group=ask.group(flow, year, reporter),
                    action=REJECTED,
                    row_index=row_index,
                    request_id=result.request_id,
                    fetched_at=result.fetched_at,
                )
            )
        out.append(Checked(tuple(i for i in range(len(rows)) if i not in bad), tuple(items)))
    return out


def schema_metadata():  # noqa: ANN201 - dagster TableSchema metadata value
    """The wire schema as Dagster shows it (dagster-pandera): columns, dtypes and every named check."""
    from dagster_pandera import pandera_schema_to_dagster_type

    return pandera_schema_to_dagster_type(WIRE_SCHEMA).metadata["schema"]


assert contract.QUARANTINE_REASONS.keys() >= set(REASON_ORDER)
_ = pa  # pandera.polars is the backend the schema above is declared with

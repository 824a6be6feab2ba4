"""Extractor markdown for the us_trade_census layer (the files the briefing cites).

``Extractor/us_trade_census/{monthly_export,monthly_import,trade_balance,country_detail}/us-{export,import,balance,
detail}-<cty>-<year>.md`` where <year> is the **data year** (the year of the latest released month), not the year
the data were fetched. Every figure goes through core.formatting with the format kind the report uses for the same
column (億 amounts ``usd_amount``, balances ``signed_usd``, shares ``pct``, MoM/YoY ``signed_pct``; the exact USD
next to them ``usd_exact``), so a figure reads the same in the report and in the file it cites; NULL prints ``--``.
A value that is not a finite number stops the render with an error naming the file, table and column.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import (
    MISSING,
    cell,
    figure_source,
    optional,
    pct,
    signed_pct,
    signed_usd,
    signed_usd_exact,
    usd_amount,
    usd_exact,
)
from trade_pipeline.defs.us_trade_census.resources import PARTNERS

AS_OF_MARKER = re.compile(r"<!-- as_of_partition: (\d{4}-\d{2}-\d{2}) -->")
FLOW_ZH = {"export": "出口", "import": "進口"}


relative_path = contract.census_extractor_path


def existing_as_of(text: str) -> str | None:
    m = AS_OF_MARKER.search(text)
    return m.group(1) if m else None


def _amt(row: dict, column: str) -> str:
    """An amount in 億 ('1,051 億'), '--' when NULL."""
    return cell(usd_amount, row, column)


def _usd(row: dict, column: str) -> str:
    """The exact USD amount ('105,123,456,789'), '--' when NULL."""
    return cell(usd_exact, row, column)


def _bal(row: dict, column: str) -> str:
    """A balance in 億 with its sign ('+6,971 億', '-1,754 億'), '--' when NULL."""
    return cell(signed_usd, row, column)


def _p(row: dict, column: str, signed: bool = True) -> str:
    return cell(signed_pct if signed else pct, row, column)


def _source(view: str, cty: str, status: dict, partition: str, tables: str) -> AbstractContextManager[None]:
    """Name the file and tables a render formats, for the error a non-finite value raises."""
    path = relative_path(view, cty, status["latest_year"])
    return figure_source(f"[census] {path} from {tables} (week {partition}, partner {cty})")


def _flags(text: str | None) -> str:
    return f"[REVIEW_NEEDED] {text}" if text else ""


def _why(rows: pl.DataFrame) -> str:
    """The reader-facing reasons (zh-TW) behind the QUALITY flags of ``rows``, '；'-joined."""
    codes: list[str] = []
    for text in rows["review_flags"].to_list() if rows.height else []:
        codes += [c for c in contract.quality_flags(contract.split_flags(text)) if c not in codes]
    return "；".join(contract.flag_words(sorted(codes)))


def _withheld(rows: pl.DataFrame, columns: list[str], what: str) -> list[str]:
    """A note under a table whose printed figures include NULLs: which figures are withheld and why."""
    if not rows.height:
        return []
    gaps = rows.filter(pl.any_horizontal([pl.col(c).is_null() for c in columns]))
    if not gaps.height:
        return []
    why = _why(gaps)
    return ["", f"> [REVIEW_NEEDED] {what}從缺（{gaps.height} 列，以 -- 表示）" + (f"：{why}。" if why else "。")]


def _empty_note(flagged_rows: pl.DataFrame, what: str) -> str:
    why = _why(flagged_rows)
    return f"> [REVIEW_NEEDED] {what}從缺：{why}。" if why else f"> {what}：無資料列。"


def _header(title: str, cty: str, status: dict, week_label: str, partition: str, endpoint: str) -> list[str]:
    name_en, name_zh = PARTNERS[cty]
    return [
        f"<!-- as_of_partition: {partition} -->",
        f"# {title}",
        "",
        f"- **Source**: US Census Bureau international trade API ({endpoint})",
        f"- **Partner**: {name_zh} {name_en.title()} ({cty})",
        f"- **Data through**: {status['latest_year']}-{status['latest_month']:02d} "
        f"(released {status['latest_release_date']}; next: {status['next_year']}-{status['next_month']:02d} "
        f"expected {status['next_release_date']})",
        f"- **As of**: {week_label} (partition {partition}, snapshot {status['as_of']})",
        f"- **File year**: {status['latest_year']} = the data year of the latest released month",
        "- **Valuation**: exports FAS, general imports customs value; USD, nominal, not seasonally adjusted",
        f"- **confidence**: {'中' if status.get('review_flags') else '高'}",
        "",
    ]


def render_monthly(monthly: pl.DataFrame, cty: str, flow: str, status: dict, week_label: str, partition: str) -> str:
    with _source(f"monthly_{flow}", cty, status, partition, "census_monthly_flows"):
        return _render_monthly(monthly, cty, flow, status, week_label, partition)


def _render_monthly(monthly: pl.DataFrame, cty: str, flow: str, status: dict, week_label: str, partition: str) -> str:
    year = status["latest_year"]
    endpoint = "exports/hs ALL_VAL_MO" if flow == "export" else "imports/hs GEN_VAL_MO"
    lines = _header(
        f"美國對{PARTNERS[cty][1]}{FLOW_ZH[flow]} — 每月（US {flow}s, {cty}）",
        cty,
        status,
        week_label,
        partition,
        endpoint,
    )
    lines += [
        "## 每月總額",
        "",
        f"| 年 | 月 | {FLOW_ZH[flow]} (USD) | 億美元 | 年初至今 (億) | MoM | YoY | 標記 |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    tot = monthly.filter((pl.col("cty_code") == cty) & (pl.col("flow") == flow) & (pl.col("hs2") == "TOTAL")).sort(
        ["year", "month"], descending=True
    )
    for r in tot.iter_rows(named=True):
        lines.append(
            f"| {r['year']} | {r['month']:02d} | {_usd(r, 'value_usd')} | {_amt(r, 'value_usd')} | "
            f"{_amt(r, 'ytd_usd')} | {_p(r, 'mom_pct')} | {_p(r, 'yoy_pct')} | {_flags(r['review_flags'])} |"
        )
    lines += _withheld(tot, ["value_usd", "ytd_usd"], "部分月值或累計值")
    latest_month = status["latest_month"]
    chapters = (
        monthly.filter(
            (pl.col("cty_code") == cty)
            & (pl.col("flow") == flow)
            & (pl.col("hs2") != "TOTAL")
            & (pl.col("year") == year)
            & (pl.col("month") == latest_month)
        )
        .sort("ytd_usd", "value_usd", descending=True, nulls_last=True)
        .head(15)
    )
    lines += [
        "",
        f"## HS2 章別（{year} 年 1–{latest_month} 月累計前 15 章）",
        "",
        f"| HS2 | 章名 | {year}-{latest_month:02d} (億) | 年初至今 (億) | MoM | YoY | 標記 |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in chapters.iter_rows(named=True):
        lines.append(
            f"| {r['hs2']} | {r['hs2_desc_zh']} | {_amt(r, 'value_usd')} | {_amt(r, 'ytd_usd')} | "
            f"{_p(r, 'mom_pct')} | {_p(r, 'yoy_pct')} | {_flags(r['review_flags'])} |"
        )
    lines += _withheld(chapters, ["value_usd", "ytd_usd"], "部分章別月值或累計值")
    if not chapters.height:
        lines += ["", _empty_note(tot.filter(pl.col("year") == year), "本月章別資料")]
    return "\n".join(lines) + "\n"


def render_balance(
    balance: pl.DataFrame, monthly: pl.DataFrame, cty: str, status: dict, week_label: str, partition: str
) -> str:
    with _source("trade_balance", cty, status, partition, "census_trade_balance, census_monthly_flows"):
        return _render_balance(balance, monthly, cty, status, week_label, partition)


def _render_balance(
    balance: pl.DataFrame, monthly: pl.DataFrame, cty: str, status: dict, week_label: str, partition: str
) -> str:
    year, through = status["latest_year"], status["latest_month"]
    lines = _header(
        f"美國與{PARTNERS[cty][1]}貿易差額（US trade balance, {cty}）",
        cty,
        status,
        week_label,
        partition,
        "exports/hs − imports/hs",
    )
    rows = balance.filter(pl.col("cty_code") == cty)
    total = rows.filter(pl.col("hs2") == "TOTAL")
    lines += [
        f"## {year} 年 1–{through} 月累計",
        "",
        "| 項目 | 出口 (億) | 進口 (億) | 差額 (億) | 去年同期差額 (億) | 標記 |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in total.iter_rows(named=True):
        lines.append(
            f"| 總計 | {_amt(r, 'export_ytd_usd')} | {_amt(r, 'import_ytd_usd')} | {_bal(r, 'balance_usd')} | "
            f"{_bal(r, 'prev_year_balance_usd')} | {_flags(r['review_flags'])} |"
        )
    lines += _withheld(total, ["export_ytd_usd", "import_ytd_usd", "balance_usd", "prev_year_balance_usd"], "總計數字")
    denominators = (
        rows.filter(pl.col("hs2") != "TOTAL")["deficit_chapters_usd"].drop_nulls()
        if "deficit_chapters_usd" in rows.columns
        else pl.Series([], dtype=pl.Float64)
    )
    denominator = f"（{signed_usd(denominators[0])}）" if denominators.len() else "（從缺）"
    lines += [
        "",
        "## HS2 章別差額（逆差由大到小）",
        "",
        f"占逆差 = 該章逆差 ÷ 各逆差章別之逆差合計{denominator}（順差章別不抵銷），各章合計 100%。",
        "",
        "| HS2 | 章名 | 出口 (億) | 進口 (億) | 差額 (億) | 占逆差 | 標記 |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    # known deficits first (largest first); chapters whose balance is withheld after them, by imports
    chapters = (
        rows.filter(pl.col("hs2") != "TOTAL")
        .sort(["balance_usd", "import_ytd_usd", "hs2"], descending=[False, True, False], nulls_last=True)
        .head(20)
    )
    for r in chapters.iter_rows(named=True):
        lines.append(
            f"| {r['hs2']} | {r['hs2_desc_zh']} | {_amt(r, 'export_ytd_usd')} | {_amt(r, 'import_ytd_usd')} | "
            f"{_bal(r, 'balance_usd')} | {_p(r, 'share_of_deficit_pct', signed=False)} | "
            f"{_flags(r['review_flags'])} |"
        )
    lines += _withheld(chapters, ["export_ytd_usd", "import_ytd_usd", "balance_usd"], "部分章別的出口、進口或差額")
    if (
        chapters.height
        and chapters["share_of_deficit_pct"].null_count() == chapters.height
        and chapters["balance_usd"].null_count()
    ):
        lines += [
            "",
            f"> [REVIEW_NEEDED] 占逆差從缺：有章別差額未知，逆差合計無法得出（{_why(chapters) or '章別資料不完整'}）。",
        ]
    lines += ["", "## 每月差額", "", "| 年 | 月 | 出口 (億) | 進口 (億) | 差額 (億) |", "|---|---|---:|---:|---:|"]
    tot = (
        monthly.filter((pl.col("cty_code") == cty) & (pl.col("hs2") == "TOTAL"))
        .pivot(on="flow", index=["year", "month"], values="value_usd")
        .sort(["year", "month"], descending=True)
    )
    for r in tot.iter_rows(named=True):
        ex, im = r.get("export"), r.get("import")
        bal = signed_usd(ex - im) if ex is not None and im is not None else MISSING
        lines.append(
            f"| {r['year']} | {r['month']:02d} | {optional(usd_amount, ex)} | {optional(usd_amount, im)} | {bal} |"
        )
    return "\n".join(lines) + "\n"


def render_detail(
    detail: pl.DataFrame,
    revisions: pl.DataFrame,
    cty: str,
    status: dict,
    week_label: str,
    partition: str,
    balance: pl.DataFrame | None = None,
) -> str:
    with _source("country_detail", cty, status, partition, "census_country_detail, census_revisions"):
        return _render_detail(detail, revisions, cty, status, week_label, partition, balance)


def _render_detail(
    detail: pl.DataFrame,
    revisions: pl.DataFrame,
    cty: str,
    status: dict,
    week_label: str,
    partition: str,
    balance: pl.DataFrame | None = None,
) -> str:
    year, through = status["latest_year"], status["latest_month"]
    balance = (
        balance
        if balance is not None
        else pl.DataFrame(schema={"cty_code": pl.Utf8, "hs2": pl.Utf8, "review_flags": pl.Utf8})
    )
    lines = _header(
        f"美國與{PARTNERS[cty][1]}貿易商品明細（US trade detail, {cty}）",
        cty,
        status,
        week_label,
        partition,
        "exports/hs, imports/hs, COMM_LVL=HS2",
    )
    for flow in ("export", "import"):
        lines += [
            f"## {FLOW_ZH[flow]}前十大章（{year} 年 1–{through} 月累計）",
            "",
            "| 排名 | HS2 | 章名 | 金額 (億) | 占比 | YoY | 標記 |",
            "|---:|---|---|---:|---:|---:|---|",
        ]
        top = (
            detail.filter((pl.col("cty_code") == cty) & (pl.col("flow") == flow)).sort("rank")
            if detail.height
            else detail
        )
        for r in top.iter_rows(named=True):
            lines.append(
                f"| {r['rank']} | {r['hs2']} | {r['hs2_desc_zh']} | {_amt(r, 'value_usd')} | "
                f"{_p(r, 'share_pct', signed=False)} | {_p(r, 'yoy_pct')} | {_flags(r['review_flags'])} |"
            )
        if not top.height:
            # why the table is empty: the partner's chapter balance rows say (e.g. chapter exports never fetched)
            chapters = (
                balance.filter((pl.col("cty_code") == cty) & (pl.col("hs2") != "TOTAL")) if balance.height else balance
            )
            unknown = chapters.filter(pl.col(f"{flow}_ytd_usd").is_null()) if chapters.height else chapters
            lines += ["", _empty_note(unknown if unknown.height else chapters, f"{FLOW_ZH[flow]}章別排名")]
        lines.append("")
    rev = revisions.filter(pl.col("cty_code") == cty) if revisions.height else revisions
    lines += ["## 較上週修正", ""]
    if rev.height:
        lines += ["| 流向 | 年月 | HS2 | 上週 (USD) | 本週 (USD) | 變動 (USD) |", "|---|---|---|---:|---:|---:|"]
        for r in rev.iter_rows(named=True):
            lines.append(
                f"| {FLOW_ZH[r['flow']]} | {r['year']}-{r['month']:02d} | {r['hs2']} | {_usd(r, 'previous_usd')} | "
                f"{_usd(r, 'revised_usd')} | {cell(signed_usd_exact, r, 'change_usd')} |"
            )
    else:
        lines.append("本週無修正。")
    return "\n".join(lines) + "\n"

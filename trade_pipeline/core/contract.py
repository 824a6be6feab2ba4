"""The contract between the layers and the briefing, defined once: table names, Extractor paths, HHI bands, review
flags (code → kind and reader-facing words) and lineage (which upstream rows a derived row is computed from).

Every module that names a warehouse table, builds or reads an Extractor path, bands an HHI or prints a flag takes it
from here; docs/TABLES.md describes the same tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# --- warehouse tables ------------------------------------------------------------------------------------------------
# bilateral_trade_flows (UN Comtrade)
COMTRADE_PARTNER_FLOWS = "comtrade_partner_flows"
COMTRADE_COMMODITY_FLOWS = "comtrade_commodity_flows"
COMTRADE_REQUESTS = "comtrade_requests"
COMTRADE_COMMODITY_REQUESTS = "comtrade_commodity_requests"
COMTRADE_AVAILABILITY = "comtrade_data_availability"
PARTNER_RANKINGS = "partner_rankings"
TRADE_BALANCES = "trade_balances"
MARKET_CONCENTRATION = "market_concentration"
COMMODITY_STRUCTURE = "commodity_structure"
# us_trade_census (US Census)
CENSUS_MONTHLY_FLOWS = "census_monthly_flows"
CENSUS_RELEASE_STATUS = "census_release_status"
CENSUS_TRADE_BALANCE = "census_trade_balance"
CENSUS_COUNTRY_DETAIL = "census_country_detail"
CENSUS_REVISIONS = "census_revisions"
# every expected partner × flow × month × level (TOTAL / HS2) of a week: answered, derived or missing, and why
CENSUS_COVERAGE = "census_series_coverage"
# cn_export_control (MOFCOM)
MOFCOM_ANNOUNCEMENTS = "mofcom_announcements"
MOFCOM_PROVISIONS = "mofcom_provisions"
MOFCOM_CONTROLS = "mofcom_controls"
MOFCOM_CONTROL_TIMELINE = "mofcom_control_timeline"
# policy_exposure (controlled items → HS 2022 → trade)
CONTROLLED_HS_MAP = "controlled_hs_map"
COMTRADE_CN_HS6_EXPORTS = "comtrade_cn_hs6_exports"
CENSUS_HS6_IMPORTS = "census_hs6_imports"
EXPOSURE_REQUESTS = "policy_exposure_requests"
POLICY_TRADE_EXPOSURE = "policy_trade_exposure"
POLICY_EXPOSURE_WATCHLIST = "policy_exposure_watchlist"
# trade_briefing
BRIEFING_FACTS = "briefing_facts"
BRIEFING_CLAIMS = "briefing_claims"
BRIEFING_CHARTS = "briefing_charts"  # one row per chart and week: file, title, alt text, key figure and its source
BRIEFING_CHART_DATA = "briefing_chart_data"  # one row per plotted point: value and the layer cell it comes from
# rows rejected at a parse boundary, every source (week, source, request, row as received, reason)
QUARANTINED_ROWS = "quarantined_rows"
#: The fetching assets that quarantine rows (asset name → source). Each writes its own staging table
#: (quarantine_staging_table(asset), see core/quarantine.py); the quarantined_rows asset depends on all of them and
#: unions their weeks. A new fetching asset that quarantines rows is added here.
QUARANTINE_CONTRIBUTORS: dict[str, str] = {
    COMTRADE_PARTNER_FLOWS: "comtrade",
    COMTRADE_COMMODITY_FLOWS: "comtrade",
    CENSUS_MONTHLY_FLOWS: "census",
    MOFCOM_ANNOUNCEMENTS: "mofcom",
}


def quarantine_staging_table(asset: str) -> str:
    """'quarantine_staging_comtrade_partner_flows': one fetching asset's quarantined rows, per week."""
    return f"quarantine_staging_{asset}"


#: Warehouse tables that are deliberately not assets, each with why (docs/TABLES.md says the same). Every other table a
#: run writes is an asset: the asset of that name, or a side table of the step that writes it (core.table_assets).
NOT_ASSETS: dict[str, str] = {
    quarantine_staging_table(asset): f"{asset}'s hand-off to quarantined_rows, the asset that shows each of its rows"
    for asset in QUARANTINE_CONTRIBUTORS
}


#: Reason codes of quarantined rows (core/quarantine.py) → what they mean; the row's ``reason`` column says the
#: particulars (field, value received, value expected).
QUARANTINE_REASONS: dict[str, str] = {
    # any source
    "reply_unreadable": "the reply could not be read as the source's format (kept as received, up to a limit)",
    "not_requested": "the row answers another reporter/partner/year/flow/commodity than the request asked for",
    "code_invalid": "a code field is not a code (not an integer, or not in the field's domain)",
    "value_not_numeric": "a value field holds something other than a JSON number (a string, a boolean, an object)",
    "value_not_finite": "a value field is a number that is not finite (NaN, Infinity, beyond float64)",
    "value_negative": "a value field that the source defines as non-negative is negative",
    "conflicting_duplicate": "the same key arrived more than once with different values; no copy is used",
    "exact_duplicate": "the same row arrived more than once; one copy is kept",
    # UN Comtrade
    "aggregate_partner": "the partner is an aggregate (isAggregate, a reporter group such as the EU), not a country",
    "unknown_partner_code": "the partner code is in neither the Comtrade partner reference nor ISO 3166",
    # MOFCOM
    "date_invalid": "a date on the list or the page is not a calendar date (e.g. 2025-02-30)",
    "date_conflict": "the page states a later publication date than the list (the list cannot show it earlier)",
}

#: The columns that identify one row of a table within its week (a figure's source row is week_start + these).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    COMTRADE_PARTNER_FLOWS: ("reporter_code", "partner_code", "flow", "year", "source_kind"),
    COMTRADE_COMMODITY_FLOWS: ("reporter_code", "flow", "year", "hs2"),
    PARTNER_RANKINGS: ("reporter_code", "flow", "year", "rank"),
    TRADE_BALANCES: ("reporter_code", "partner_code", "year"),
    MARKET_CONCENTRATION: ("reporter_code", "flow", "year"),
    COMMODITY_STRUCTURE: ("reporter_code", "flow", "year", "hs2"),
    CENSUS_MONTHLY_FLOWS: ("cty_code", "flow", "year", "month", "hs2"),
    CENSUS_TRADE_BALANCE: ("cty_code", "year", "hs2"),
    CENSUS_COUNTRY_DETAIL: ("cty_code", "flow", "rank"),
    CENSUS_REVISIONS: ("cty_code", "flow", "year", "month", "hs2"),
    CENSUS_RELEASE_STATUS: (),
    CENSUS_COVERAGE: ("cty_code", "flow", "year", "month", "level"),
    MOFCOM_ANNOUNCEMENTS: ("announcement_id",),
    MOFCOM_PROVISIONS: ("announcement_id", "seq"),
    MOFCOM_CONTROLS: ("measure_id",),
    MOFCOM_CONTROL_TIMELINE: ("family_key", "step_no"),
    COMTRADE_CN_HS6_EXPORTS: ("reporter_code", "hs6", "year", "partner_code"),
    CENSUS_HS6_IMPORTS: ("cty_code", "hs6", "year", "month"),
    POLICY_TRADE_EXPOSURE: ("row_key",),
    POLICY_EXPOSURE_WATCHLIST: ("rule_key", "exposure_row_key"),
}

#: Layer tables a report figure may come from.
SOURCE_TABLES = frozenset(
    {
        COMTRADE_PARTNER_FLOWS,
        COMTRADE_COMMODITY_FLOWS,
        PARTNER_RANKINGS,
        TRADE_BALANCES,
        MARKET_CONCENTRATION,
        COMMODITY_STRUCTURE,
        CENSUS_MONTHLY_FLOWS,
        CENSUS_TRADE_BALANCE,
        CENSUS_COUNTRY_DETAIL,
        CENSUS_REVISIONS,
        CENSUS_RELEASE_STATUS,
        MOFCOM_ANNOUNCEMENTS,
        MOFCOM_PROVISIONS,
        MOFCOM_CONTROLS,
        MOFCOM_CONTROL_TIMELINE,
        CONTROLLED_HS_MAP,
        COMTRADE_CN_HS6_EXPORTS,
        CENSUS_HS6_IMPORTS,
        POLICY_TRADE_EXPOSURE,
        POLICY_EXPOSURE_WATCHLIST,
    }
)

# --- HHI bands (US DOJ/FTC merger guidelines, as the seed report uses them) ------------------------------------------
HHI_LOW_BELOW = 1500.0  # HHI < 1500: 低 (unconcentrated)
HHI_HIGH_ABOVE = 2500.0  # HHI > 2500: 高 (highly concentrated); 1500..2500: 中
HHI_MAX = 10_000.0


def concentration_level(hhi: float | None) -> str | None:
    """'低' / '中' / '高' for an HHI (None for a missing one)."""
    if hhi is None or hhi != hhi:
        return None
    return "低" if hhi < HHI_LOW_BELOW else ("中" if hhi <= HHI_HIGH_ABOVE else "高")


# --- Extractor files (site-relative paths; writers and readers both build them here) ---------------------------------
EXTRACTOR_ROOT = "Extractor"
COMTRADE_LAYER = "bilateral_trade_flows"
CENSUS_LAYER = "us_trade_census"
MOFCOM_LAYER = "cn_export_control"
COMTRADE_VIEWS = {
    "export_flow": "export",
    "import_flow": "import",
    "trade_balance": "balance",
    "market_concentration": "hhi",
    "commodity_structure": "commodity",
}
CENSUS_VIEWS = {
    "monthly_export": "export",
    "monthly_import": "import",
    "trade_balance": "balance",
    "country_detail": "detail",
}
MOFCOM_EXTRACTOR_DIR = f"{EXTRACTOR_ROOT}/{MOFCOM_LAYER}"


def comtrade_extractor_path(view: str, reporter_code: int, year: int) -> str:
    """'Extractor/bilateral_trade_flows/market_concentration/156-hhi-2024.md'."""
    return f"{EXTRACTOR_ROOT}/{COMTRADE_LAYER}/{view}/{int(reporter_code)}-{COMTRADE_VIEWS[view]}-{int(year)}.md"


def census_extractor_path(view: str, cty_code: str, year: int) -> str:
    """'Extractor/us_trade_census/trade_balance/us-balance-5700-2025.md' (year = data year of the latest month)."""
    return f"{EXTRACTOR_ROOT}/{CENSUS_LAYER}/{view}/us-{CENSUS_VIEWS[view]}-{cty_code}-{int(year)}.md"


def mofcom_extractor_path(slug: str) -> str:
    return f"{MOFCOM_EXTRACTOR_DIR}/{slug}.md"


# --- report charts (site-relative; beside the reports, one folder per ISO week) -------------------------------------
REPORT_DIR = "Narrator/trade_briefing"
CHARTS_DIR = f"{REPORT_DIR}/charts"


def chart_relpath(iso_week: str, chart_id: str) -> str:
    """'Narrator/trade_briefing/charts/2026-W05/us_balance_monthly.svg'."""
    return f"{CHARTS_DIR}/{iso_week}/{chart_id}.svg"


def chart_report_link(iso_week: str, chart_id: str) -> str:
    """The chart's link relative to the week's report file (Narrator/trade_briefing/<week>-trade-briefing.md)."""
    return f"charts/{iso_week}/{chart_id}.svg"


# --- review flags ----------------------------------------------------------------------------------------------------
QUALITY = "quality"  # the figure may be wrong or incomplete: propagates to every row derived from the flagged one
NOTICE = "notice"  # the figure is right but worth a look (a genuine swing, an immediate control): this row only


@dataclass(frozen=True)
class Flag:
    code: str
    kind: str  # QUALITY or NOTICE
    zh: str  # reader-facing words, Traditional Chinese (never a rule key; no digits except a stated threshold)
    en: str
    #: the flagged row may not be what it claims to be (e.g. a list item pointing off the site): a count of such rows
    #: (how many announcements) carries the flag too, where other flags only touch the row's own figures
    doubts_row: bool = False


FLAGS: dict[str, Flag] = {
    f.code: f
    for f in (
        # UN Comtrade
        Flag(
            "truncated", QUALITY, "回覆筆數達上限，資料可能不完整", "reply hit the record cap; data may be incomplete"
        ),
        Flag("partial_http_failure", QUALITY, "部分請求失敗，資料不完整", "some requests failed; data incomplete"),
        Flag("zero_records", QUALITY, "請求的年度或流向沒有資料列", "no rows for a requested year or flow"),
        Flag("count_mismatch", QUALITY, "回覆筆數與宣告不符", "reply row count differs from its stated count"),
        Flag("missing_value", QUALITY, "數值缺漏", "value missing"),
        Flag("mirror_low_coverage", QUALITY, "鏡像統計涵蓋夥伴過少", "mirror estimate covers too few partners"),
        Flag("hhi_out_of_range", QUALITY, "HHI 超出可能範圍", "HHI outside its possible range"),
        Flag("yoy_gt_50pct", NOTICE, "年增減幅度逾五成，請確認", "moved more than half year on year; please confirm"),
        Flag(
            "years_differ_2x",
            NOTICE,
            "兩個年度總額相差逾一倍，請確認",
            "the two years' totals differ more than twofold",
        ),
        # US Census
        Flag("value_missing", QUALITY, "月份數值缺漏或遭隱藏（D）", "monthly value missing or suppressed (D)"),
        Flag("value_unparseable", QUALITY, "數值無法解析", "value could not be parsed"),
        Flag(
            "ytd_unparseable",
            NOTICE,
            "官方累計值無法解析（以月值加總為準）",
            "the API's year-to-date value could not be parsed (sum of months used)",
        ),
        Flag(
            "total_derived_from_hs2",
            QUALITY,
            "國家總額請求失敗，以章別加總推得",
            "country total request failed; derived from chapters",
        ),
        Flag("mom_gt_30pct", NOTICE, "月增減幅度逾三成", "moved more than thirty percent month on month"),
        Flag("total_ne_hs2_sum", QUALITY, "章別加總與國家總額不符", "chapters do not sum to the country total"),
        Flag("ytd_mismatch", NOTICE, "月值累計與官方累計值不符", "sum of months differs from the API's year to date"),
        Flag(
            "hs2_fetch_failed",
            QUALITY,
            "章別資料請求失敗，章別數字不完整",
            "chapter requests failed; chapter figures incomplete",
        ),
        Flag("cty_name_unexpected", NOTICE, "國家名稱與代碼不符，請確認", "country name does not match its code"),
        Flag("partial_fetch", QUALITY, "部分請求失敗，資料不完整", "some requests failed; data incomplete"),
        Flag("series_missing", QUALITY, "應有的資料序列缺漏", "an expected series is missing"),
        Flag(
            "ytd_month_missing",
            QUALITY,
            "累計期間有月份缺漏或遭隱藏，累計值從缺",
            "a month of the year to date is missing or suppressed; the sum is withheld",
        ),
        Flag(
            "base_month_missing",
            QUALITY,
            "比較基期的月份缺漏，增減率從缺",
            "the month compared with is missing; the change is withheld",
        ),
        # MOFCOM
        Flag("title_only", QUALITY, "僅有標題，內文未能取得", "title only; the text could not be fetched"),
        Flag("garbled_text", QUALITY, "內文為亂碼", "text is garbled"),
        Flag("changed_structure", QUALITY, "頁面結構改變，內文未能解析", "page structure changed; text not parsed"),
        Flag("off_host_url", QUALITY, "連結指向站外，未擷取", "link points off the site; not fetched", doubts_row=True),
        Flag("category_undecided", QUALITY, "無法判定類別", "category could not be decided"),
        Flag("content_title_mismatch", QUALITY, "內文與標題不符", "text does not match the title"),
        Flag(
            "immediate_major_control", NOTICE, "重大管制自公布日起立即生效", "major control in force from publication"
        ),
        Flag(
            "reply_mismatch",
            QUALITY,
            "回覆內容與請求不符，該組資料未採用",
            "the reply does not answer the request; its rows were not used",
        ),
        Flag("partners_exceed_world", QUALITY, "各夥伴加總超過全世界總額", "partners sum to more than the World total"),
        Flag("share_out_of_range", QUALITY, "占比超出可能範圍", "a share outside its possible range"),
        Flag("balance_mismatch", QUALITY, "差額不等於出口減進口", "balance differs from exports minus imports"),
        Flag("taiwan_dual_code", QUALITY, "台灣以兩個代碼出現，已合併加總", "Taiwan appeared under two codes; summed"),
        # MOFCOM dates
        Flag(
            "publish_date_invalid",
            QUALITY,
            "公告日期無效，日期不明或取自另一來源",
            "the publication date is not a valid date; unknown or taken from the other source",
        ),
        Flag(
            "publish_date_conflict",
            QUALITY,
            "內文的公告日期晚於列表日期，採較早者",
            "the page states a later publication date than the list; the earlier one is used",
        ),
        Flag(
            "list_date_later",
            NOTICE,
            "列表日期晚於內文的公告日期，採內文日期",
            "the list shows a later date than the article page; the page's date is used",
        ),
        # policy_exposure (controlled HS codes × trade)
        Flag(
            "code_not_in_reply",
            QUALITY,
            "回覆中沒有此 HS 碼的資料列，數字從缺",
            "the reply has no row for this HS code; figure missing",
        ),
        Flag("year_not_released", QUALITY, "截至本週尚無已發布的年度資料", "no year released by the week's end"),
        Flag(
            "shares_inconsistent",
            QUALITY,
            "分項加總超過總額，資料不一致",
            "the parts exceed the total; data inconsistent",
        ),
        Flag("partner_row_absent", NOTICE, "夥伴國無資料列，以零計", "no row for a partner; counted as zero"),
        Flag(
            "no_hs_mapping",
            NOTICE,
            "此管制物項沒有對應的 HS 碼，無法估算貿易額",
            "no HS code maps to this controlled item; trade not estimated",
        ),
        # any layer table: a stored number that is NaN or infinite (never printed as a number)
        Flag("value_not_finite", QUALITY, "數值不是有限數（NaN 或無限大）", "value is not finite (NaN or infinity)"),
        # any source: rows of the group were rejected at the parse boundary (see quarantined_rows)
        Flag(
            "quarantined_rows",
            QUALITY,
            "部分原始資料列未通過驗證而被隔離",
            "some source rows failed validation and were quarantined",
        ),
    )
}

UNKNOWN_FLAG = Flag("unknown", QUALITY, "未登錄的資料檢核旗標", "unregistered data-check flag")


def doubts_row(codes: Iterable[str]) -> bool:
    """Does one of these flags put the row's own existence in doubt (so counts of rows carry it)?"""
    return any(code in FLAGS and FLAGS[code].doubts_row for code in codes)


def flag_info(code: str) -> Flag:
    """The registered flag (an unregistered code is treated as a quality problem, and labelled without its key)."""
    return FLAGS.get(code, UNKNOWN_FLAG)


def split_flags(value: str | None) -> list[str]:
    """';'-joined codes → list (order kept, blanks and repeats dropped)."""
    out: list[str] = []
    for code in (value or "").split(";"):
        code = code.strip()
        if code and code not in out:
            out.append(code)
    return out


def join_flags(codes: Iterable[str]) -> str:
    return ";".join(sorted({c for c in codes if c}))


def quality_flags(codes: Iterable[str]) -> list[str]:
    return [c for c in codes if flag_info(c).kind == QUALITY]


def flag_words(codes: Iterable[str], lang: str = "zh") -> list[str]:
    """Reader-facing words of flag codes, de-duplicated, in code order."""
    out: list[str] = []
    for c in codes:
        words = getattr(flag_info(c), lang)
        if words not in out:
            out.append(words)
    return out


# --- lineage ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lineage:
    """A derived row of ``table`` is computed from the rows of ``upstream`` (same week) that match ``on`` —
    pairs (derived column, upstream column) that must be equal — and the static predicate ``where`` (SQL over the
    aliases ``d`` = derived row, ``u`` = upstream row; code constants, never data). A quality flag on any such
    upstream row (or on its own upstream rows, recursively) makes the derived row's figures need review."""

    table: str
    upstream: str
    on: tuple[tuple[str, str], ...]
    where: str = ""


def _same(*cols: str) -> tuple[tuple[str, str], ...]:
    return tuple((c, c) for c in cols)


LINEAGE: tuple[Lineage, ...] = (
    # shares, ranks, HHI and totals of a reporter × flow × year are computed over all its partner rows
    Lineage(PARTNER_RANKINGS, COMTRADE_PARTNER_FLOWS, _same("reporter_code", "flow", "year")),
    Lineage(MARKET_CONCENTRATION, COMTRADE_PARTNER_FLOWS, _same("reporter_code", "flow", "year")),
    # a balance needs both flows of the pair
    Lineage(TRADE_BALANCES, COMTRADE_PARTNER_FLOWS, _same("reporter_code", "partner_code", "year")),
    Lineage(COMMODITY_STRUCTURE, COMTRADE_COMMODITY_FLOWS, _same("reporter_code", "flow", "year")),
    # US Census (us_trade_census/metrics.py). A census_monthly_flows row already carries the QUALITY flags of the
    # months its ytd_usd / mom_pct / yoy_pct use (the layer puts them there: no self-lineage).
    # A balance year to date = January..through_month of this year (and of last year, for the comparison columns) of
    # the row's own series (the chapter; TOTAL for the TOTAL row), both flows (balance = exports − imports)
    Lineage(
        CENSUS_TRADE_BALANCE,
        CENSUS_MONTHLY_FLOWS,
        _same("cty_code", "hs2"),
        "u.year IN (d.year, d.year - 1) AND u.month <= d.through_month",
    ),
    # a chapter's shares: of the summed deficits of ALL the partner's chapters (share_of_deficit_pct) and of the
    # partner's total balance (share_of_net_deficit_pct), latest year
    Lineage(
        CENSUS_TRADE_BALANCE,
        CENSUS_MONTHLY_FLOWS,
        _same("cty_code"),
        "d.hs2 <> 'TOTAL' AND u.year = d.year AND u.month <= d.through_month",
    ),
    # expected months with no row at all (a failed or unanswered request) are census_series_coverage rows
    Lineage(
        CENSUS_TRADE_BALANCE,
        CENSUS_COVERAGE,
        _same("cty_code"),
        "u.level = CASE WHEN d.hs2 = 'TOTAL' THEN 'TOTAL' ELSE 'HS2' END AND u.year IN (d.year, d.year - 1) "
        "AND u.month <= d.through_month",
    ),
    Lineage(
        CENSUS_TRADE_BALANCE,
        CENSUS_COVERAGE,
        _same("cty_code"),
        "d.hs2 <> 'TOTAL' AND u.year = d.year AND u.month <= d.through_month",
    ),
    # ranks and shares of the top chapters are computed from the partner's balance rows (every chapter, the total)
    Lineage(CENSUS_COUNTRY_DETAIL, CENSUS_TRADE_BALANCE, _same("cty_code", "year", "through_month")),
    Lineage(CENSUS_REVISIONS, CENSUS_MONTHLY_FLOWS, _same("cty_code", "flow", "year", "month", "hs2")),
    # cn_export_control: provisions and measures come from their announcement; timeline steps from their measure
    Lineage(MOFCOM_PROVISIONS, MOFCOM_ANNOUNCEMENTS, _same("announcement_id")),
    Lineage(MOFCOM_CONTROLS, MOFCOM_ANNOUNCEMENTS, _same("announcement_id")),
    Lineage(MOFCOM_CONTROL_TIMELINE, MOFCOM_CONTROLS, _same("measure_id")),
    # exposure: China's exports of the code in its year (all six partner rows); US imports of the code, both years'
    # months through the latest month (China and all countries)
    Lineage(POLICY_TRADE_EXPOSURE, COMTRADE_CN_HS6_EXPORTS, (("hs6", "hs6"), ("cn_export_year", "year"))),
    Lineage(
        POLICY_TRADE_EXPOSURE,
        CENSUS_HS6_IMPORTS,
        _same("hs6"),
        "u.year IN (d.us_import_year, d.us_import_year - 1) AND u.month <= d.us_import_through_month",
    ),
    Lineage(POLICY_TRADE_EXPOSURE, MOFCOM_CONTROLS, _same("measure_id")),
    Lineage(POLICY_EXPOSURE_WATCHLIST, POLICY_TRADE_EXPOSURE, (("exposure_row_key", "row_key"),)),
)

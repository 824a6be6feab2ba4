"""Assets of the cn_export_control layer: MOFCOM announcements crawled, parsed, classified, deduplicated, ranked.

``mofcom_announcements`` crawls the list columns once per run, fetches every article once, extracts the facts
(:mod:`.extract`) and writes, for each week of the run, one row per announcement published by that week's as-of
day (and on/after the lookback start, ``MofcomClient.lookback_start``, default 2023-01-01). The same article seen in
several columns or pages is one row (``announcement_id`` = ``mofcom-<article number>``, ``column_ids`` joined).
``importance`` is computed per week, so an announcement published or taking effect in the week leads section 三.

``mofcom_extractor_files`` writes one markdown file per announcement of the week under
``Extractor/cn_export_control/<slug>.md`` (facts, source URL, original title, flags).
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from trade_pipeline.core import contract, quarantine
from trade_pipeline.core.markdown import md_escape, md_list
from trade_pipeline.core.partitions import iso_week_label, week_end, week_start, weekly_partitions
from trade_pipeline.core.quarantine import REPAIRED, Quarantined
from trade_pipeline.core.site import Site
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_log, week_rows
from trade_pipeline.defs.cn_export_control import controls as control_rules
from trade_pipeline.defs.cn_export_control.dictionary import CATEGORY_ZH_TW, ENTITY_LISTS, ISSUERS, ITEMS_BY_KEY
from trade_pipeline.defs.cn_export_control.extract import (
    country_codes,
    extract,
    find_controlled_items,
    find_doc_numbers,
    importance,
    summary_zh_tw,
    to_zh_tw,
)
from trade_pipeline.defs.cn_export_control.parse import ListRow, date_problem, parse_article_html, parse_publish_date
from trade_pipeline.defs.cn_export_control.provisions import extract_provisions, provision_record
from trade_pipeline.defs.cn_export_control.resources import (
    ArticleFetch,
    MofcomClient,
    article_number,
    canonical_url,
)

TABLE = contract.MOFCOM_ANNOUNCEMENTS
T_PROVISIONS = contract.MOFCOM_PROVISIONS
T_CONTROLS = contract.MOFCOM_CONTROLS
T_TIMELINE = contract.MOFCOM_CONTROL_TIMELINE
GROUP = "cn_export_control"
OWNERS = ["team:trade-intel"]
EXTRACTOR_DIR = contract.MOFCOM_EXTRACTOR_DIR
REVIEW_FLAGS_TITLE_ONLY = {"title_only"}

CHECK_TITLE_ONLY = "article_text_fetched"
CHECK_CATEGORY = "category_decidable"
CHECK_IMMEDIATE = "no_unreviewed_immediate_major_control"
CHECK_MISMATCH = "content_matches_title"

COLUMNS: list[tuple[str, pl.DataType, str]] = [
    ("announcement_id", pl.Utf8, "stable id: mofcom-<site-wide article number>"),
    ("article_no", pl.Int64, "site-wide article number from the URL"),
    ("url", pl.Utf8, "canonical article URL (http://exportcontrol.mofcom.gov.cn/…)"),
    ("column_ids", pl.Utf8, "list columns the article was seen in, e.g. '1,9'"),
    ("title", pl.Utf8, "original title (Simplified Chinese), from the list row"),
    ("title_zh_tw", pl.Utf8, "title in Traditional Chinese (OpenCC s2tw + glossary)"),
    ("publish_date", pl.Date, "article publishTime (else the list date)"),
    ("effective_date", pl.Date, "earliest effective date found in the body"),
    ("effective_note", pl.Utf8, "every effective-date clause found (date：phrase)"),
    ("suspended_until", pl.Date, "last day of a suspension the announcement states (至… / …一年), else NULL"),
    ("suspension_note", pl.Utf8, "the phrase that states the suspension period"),
    ("doc_number", pl.Utf8, "own document number, e.g. 商务部公告2025年第61号"),
    ("doc_number_zh_tw", pl.Utf8, "the document number for readers (繁體), e.g. 商務部公告2025年第61號"),
    ("effective_note_zh_tw", pl.Utf8, "effective_note for readers (繁體)"),
    ("suspension_note_zh_tw", pl.Utf8, "suspension_note for readers (繁體)"),
    ("issuers", pl.Utf8, "issuing bodies, '、'-joined"),
    ("referenced_numbers", pl.Utf8, "other document numbers cited in the body, ';'-joined"),
    ("controlled_items", pl.Utf8, "controlled items (繁體), ';'-joined"),
    ("controlled_item_keys", pl.Utf8, "dictionary keys of the items, ';'-joined"),
    ("entities", pl.Utf8, "entities listed, ';'-joined"),
    ("countries", pl.Utf8, "countries concerned (繁體), ';'-joined"),
    ("category", pl.Utf8, "one of the five categories"),
    ("category_rule", pl.Utf8, "the classification rule that fired"),
    ("confidence", pl.Utf8, "高/中/低"),
    ("importance", pl.Int64, "rank score within the week (higher first)"),
    ("importance_rank", pl.Int64, "1 = leads section 三 this week"),
    ("is_new_this_week", pl.Boolean, "published within the week"),
    ("fetch_status", pl.Utf8, "ok / title_only / garbled / failed"),
    ("fetch_problem", pl.Utf8, "why the article text is missing (empty when ok)"),
    ("source", pl.Utf8, "issuing unit as stated by the page (var source) or the list"),
    ("attachments", pl.Utf8, "attachment links (text|url), ';'-joined"),
    ("body_text", pl.Utf8, "article body paragraphs (original text), newline-joined"),
    ("slug", pl.Utf8, "Extractor file name without .md"),
    ("extractor_path", pl.Utf8, "site-relative path of the Extractor file"),
    ("summary_zh_tw", pl.Utf8, "one sentence from extracted facts only"),
    ("request_id", pl.Utf8, "request id of the article fetch"),
    ("fetched_at", pl.Utf8, "when the article reply was recorded"),
    ("review_flags", pl.Utf8, "';'-joined flag codes ('' when clean)"),
]
SCHEMA = {name: dtype for name, dtype, _ in COLUMNS}


@dataclass
class Announcement:
    """Week-independent facts of one deduplicated article."""

    announcement_id: str
    article_no: int | None
    url: str
    column_ids: list[int]
    title: str
    publish_date: date | None
    fetch_status: str
    fetch_problem: str
    source: str
    attachments: list[str]
    paragraphs: list[str]
    slug: str
    facts: object = None
    flags: list[str] = field(default_factory=list)
    request_id: str = ""
    fetched_at: str = ""
    quarantined: list = field(default_factory=list)  # core.quarantine.Quarantined items (dates that could not be used)


def _list_row_as_received(row: ListRow) -> dict:
    return {
        "id": row.row_id,
        "url": row.url,
        "title": row.title,
        "publishTimeStr": row.publish_date_raw,
        "columnID": row.column_id,
        "columnName": row.column_name,
        "source": row.source,
    }


def resolve_publish_date(
    ann_id: str,
    rows: list[ListRow],
    page_raw: str | None,
    page_request: str,
    page_request_id: str = "",
    page_fetched_at: str = "",
) -> tuple[date | None, list[str], list]:
    """The announcement's publication date from the list rows and the article page, never dropping it.

    The page's ``publishTime`` is the publication date (sources.md §3.5: more reliable than the list); the list's
    ``publishTimeStr`` is the date the index shows, which can lag publication (1072: list 2024-12-17, published
    2024-12-03 as its page says).

    - a stated date that is not a calendar date (2025-02-30) is not used: the other source's date is, else NULL —
      flagged ``publish_date_invalid`` (QUALITY) with a quarantine item ('repaired') keeping what was received;
    - the list later than the page: the index lagging, the page's date is used and is right — flagged
      ``list_date_later`` (NOTICE, this row only), nothing quarantined;
    - the page later than the list: the announcement was listed before the page says it was published, which the
      index cannot do; the earlier (list) date is used (it existed by then) — flagged ``publish_date_conflict``
      (QUALITY) with a quarantine item ('repaired') holding both dates as received."""
    items, flags = [], []
    group = {"announcement_id": ann_id}

    def item(reason: str, words: str, request: str, row: object, rid: str = "", at: str = "") -> None:
        items.append(
            Quarantined(
                source="mofcom",
                request=request,
                row=row,
                reason_code=reason,
                reason=words,
                group_table=TABLE,
                group=group,
                action=REPAIRED,
                request_id=rid,
                fetched_at=at,
            )
        )

    for r in rows:
        problem = date_problem(r.publish_date_raw)
        if problem:
            item("date_invalid", f"list publishTimeStr {problem}; not used", r.request, _list_row_as_received(r))
    page_problem = date_problem(page_raw)
    if page_problem:
        item(
            "date_invalid",
            f"page publishTime {page_problem}; not used",
            page_request,
            {"publishTime": page_raw},
            page_request_id,
            page_fetched_at,
        )
    list_date = min((r.publish_date for r in rows if r.publish_date), default=None)
    page_date = parse_publish_date(page_raw) if page_raw else None
    notices: list[str] = []
    if list_date and page_date and page_date > list_date:
        publish = list_date
        flags.append("publish_date_conflict")
        item(
            "date_conflict",
            f"list says {list_date.isoformat()}, page says {page_date.isoformat()} (later than "
            f"listed); {publish.isoformat()} (the earlier) used",
            page_request,
            {"list": [_list_row_as_received(r) for r in rows], "page": {"publishTime": page_raw}},
            page_request_id,
            page_fetched_at,
        )
    else:
        publish = page_date or list_date
        if list_date and page_date and list_date > page_date:
            notices.append("list_date_later")
    if items and not flags:
        flags.append("publish_date_invalid")
    if publish is None and "publish_date_invalid" not in flags:
        flags.append("publish_date_invalid")  # no source stated a usable date: kept, date unknown
    if items:
        flags.append("quarantined_rows")
    return publish, flags + notices, items


def _slug_for(title: str, article_no: str, url: str) -> str:
    """Stable ASCII slug from the list title (always known) and the article number: survives a later re-fetch."""
    parts: list[str] = []
    numbers = find_doc_numbers(title)
    if numbers:
        d = numbers[0]
        issuers = "-".join(ISSUERS.get(i, "x") for i in d.issuers) or "doc"
        parts.append(f"{issuers}-{'order-' if d.kind == '令' else ''}{d.year or 'n'}-{d.number}")
    else:
        parts.append("mofcom")
    parts += [ITEMS_BY_KEY[k].key.replace("_", "-") for k in find_controlled_items(title)[:2]]
    parts += country_codes(title)[:1]
    ident = article_no or hashlib.sha256(url.encode()).hexdigest()[:10]
    parts.append(f"a{ident}")
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def _dedupe(rows: list[ListRow]) -> dict[str, list[ListRow]]:
    grouped: dict[str, list[ListRow]] = {}
    for row in rows:
        no = article_number(row.url)
        key = f"mofcom-{no}" if no else "mofcom-u" + hashlib.sha256(row.url.encode()).hexdigest()[:12]
        grouped.setdefault(key, []).append(row)
    return grouped


def collect_announcements(client: MofcomClient, log=None) -> list[Announcement]:
    """Crawl the columns, fetch each distinct article once, extract facts. Bad pages become flagged rows."""
    grouped = _dedupe(client.crawl())
    out: list[Announcement] = []
    for ann_id, rows in sorted(grouped.items()):
        rows = sorted(rows, key=lambda r: (r.column_id, r.url))
        first = rows[0]
        no = article_number(first.url)
        fetch: ArticleFetch = client.fetch_article(first.url)
        flags: list[str] = []
        paragraphs: list[str] = []
        attachments: list[str] = []
        status, problem = "ok", ""
        page_raw: str | None = None
        source = first.source
        body_title = ""
        if fetch.status == "off_host":
            status, problem = "failed", fetch.problem
            flags += ["off_host_url", "title_only"]
        elif fetch.status == "garbled":
            status, problem = "garbled", fetch.problem
            flags += ["garbled_text", "title_only"]
        elif fetch.status == "failed":
            status, problem = "failed", fetch.problem
            flags.append("title_only")
        else:
            page = parse_article_html(fetch.text)
            if not page.has_body_block:
                status, problem = "title_only", "[mofcom] page has no div.bd (site structure changed?)"
                flags += ["changed_structure", "title_only"]
            elif not page.paragraphs:
                status, problem = "title_only", "[mofcom] div.bd is empty"
                flags.append("title_only")
            else:
                paragraphs = page.paragraphs
                attachments = [f"{text}|{href}" for text, href in page.attachments]
                page_raw = page.script_vars.get("publishTime")
                source = page.source or source
                body_title = page.title
        if problem and log is not None:
            log.warning(f"{ann_id}: {problem}")
        target = client.article_fetch_url(first.url)
        publish, date_flags, date_items = resolve_publish_date(
            ann_id, rows, page_raw, f"GET {target}" if target else first.url, fetch.request_id, fetch.fetched_at
        )
        flags += date_flags
        if log is not None:
            for q in date_items:
                log.warning(f"{ann_id}: {q.reason_code}: {q.reason} — kept, flagged")
        facts = extract(first.title, paragraphs, publish, body_title=body_title, source=source)
        flags += [f for f in facts.flags if f not in flags]
        url = canonical_url(first.url) if client.article_fetch_url(first.url) else first.url
        out.append(
            Announcement(
                announcement_id=ann_id,
                article_no=int(no) if no else None,
                url=url,
                column_ids=sorted({r.column_id for r in rows}),
                title=first.title,
                publish_date=publish,
                fetch_status=status,
                fetch_problem=problem,
                source=source,
                attachments=attachments,
                paragraphs=paragraphs,
                slug=_slug_for(first.title, no, first.url),
                facts=facts,
                flags=flags,
                request_id=fetch.request_id,
                fetched_at=fetch.fetched_at,
                quarantined=date_items,
            )
        )
    return out


def week_frame(announcements: list[Announcement], partition_key: str, lookback_start: date) -> pl.DataFrame:
    """Rows of one week: announcements published by the week's as-of day, ranked by importance."""
    start, end = week_start(partition_key), week_end(partition_key)
    records: list[dict] = []
    for a in announcements:
        # an announcement whose date is unknown (no usable date on list or page) is kept in every week, flagged:
        # never dropped for want of a date
        if a.publish_date is not None and (a.publish_date > end or a.publish_date < lookback_start):
            continue
        f = a.facts
        list_change = bool(f.entities) or any(name in a.title for name in ENTITY_LISTS)
        score = importance(
            category=f.classification.category,
            publish_date=a.publish_date,
            effective_date=f.effective_date,
            week_start=start,
            week_end=end,
            list_change=list_change,
            major_item=f.major_item,
            has_doc_number=bool(f.doc_number),
            title_only="title_only" in a.flags,
        )
        records.append(
            {
                "announcement_id": a.announcement_id,
                "article_no": a.article_no,
                "url": a.url,
                "column_ids": ",".join(str(c) for c in a.column_ids),
                "title": a.title,
                "title_zh_tw": to_zh_tw(a.title),
                "publish_date": a.publish_date,
                "effective_date": f.effective_date,
                "effective_note": f.effective_note,
                "suspended_until": f.suspension.until if f.suspension else None,
                "suspension_note": f.suspension.phrase if f.suspension else "",
                "doc_number": f.doc_number,
                "issuers": "、".join(f.issuers),
                "doc_number_zh_tw": to_zh_tw(f.doc_number),
                "effective_note_zh_tw": to_zh_tw(f.effective_note),
                "suspension_note_zh_tw": to_zh_tw(f.suspension.phrase) if f.suspension else "",
                "referenced_numbers": ";".join(f.referenced_numbers),
                "controlled_items": ";".join(f.items_zh_tw),
                "controlled_item_keys": ";".join(f.item_keys),
                "entities": ";".join(f.entities),
                "countries": ";".join(f.countries),
                "category": f.classification.category,
                "category_rule": f.classification.rule,
                "confidence": f.classification.confidence,
                "importance": score,
                "importance_rank": 0,
                "is_new_this_week": a.publish_date is not None and start <= a.publish_date <= end,
                "fetch_status": a.fetch_status,
                "fetch_problem": a.fetch_problem,
                "source": a.source,
                "attachments": ";".join(a.attachments),
                "body_text": "\n".join(a.paragraphs),
                "slug": a.slug,
                "extractor_path": contract.mofcom_extractor_path(a.slug),
                "summary_zh_tw": summary_zh_tw(
                    issuers=f.issuers,
                    publish_date=a.publish_date,
                    doc_number=f.doc_number,
                    category=f.classification.category,
                    items_zh_tw=f.items_zh_tw,
                    entities=f.entities,
                    countries=f.countries,
                    effective_date=f.effective_date,
                    fetch_status=a.fetch_status,
                ),
                "request_id": a.request_id,
                "fetched_at": a.fetched_at,
                "review_flags": ";".join(a.flags),
            }
        )
    df = pl.DataFrame(records, schema=SCHEMA)
    if df.height:
        df = df.sort(["importance", "publish_date", "article_no"], descending=[True, True, True], nulls_last=True)
        df = df.with_columns(pl.int_range(1, df.height + 1, dtype=pl.Int64).alias("importance_rank"))
    return df


def _schema_metadata() -> TableSchema:
    sql = {pl.Utf8: "VARCHAR", pl.Int64: "BIGINT", pl.Date: "DATE", pl.Boolean: "BOOLEAN"}
    return TableSchema(columns=[TableColumn(n, sql.get(t, str(t)), description=d) for n, t, d in COLUMNS])


def _flagged(frames: dict[str, pl.DataFrame], flag: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, df in frames.items():
        if df.height == 0:
            continue
        hit = df.filter(pl.col("review_flags").str.split(";").list.contains(flag))
        if hit.height:
            out[key] = [f"{r['announcement_id']} {r['title'][:40]}" for r in hit.iter_rows(named=True)]
    return out


def _check(name: str, flag: str, frames: dict[str, pl.DataFrame], what: str) -> AssetCheckResult:
    flagged = _flagged(frames, flag)
    latest = flagged.get(max(flagged)) if flagged else []
    return AssetCheckResult(
        check_name=name,
        passed=not flagged,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "weeks_with_findings": MetadataValue.json({iso_week_label(k): len(v) for k, v in flagged.items()}),
            "latest_week_rows": MetadataValue.json(latest or []),
            "meaning": what + " → [REVIEW_NEEDED]",
        },
    )


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    description="MOFCOM export-control announcements (columns 1, 2, 9) published by each week's as-of day: "
    "parsed, classified (five categories + confidence), deduplicated by article number, ranked.",
    check_specs=[
        AssetCheckSpec(CHECK_TITLE_ONLY, asset=TABLE, description="Article text fetched (not title only)."),
        AssetCheckSpec(CHECK_CATEGORY, asset=TABLE, description="Category decided by a rule."),
        AssetCheckSpec(
            CHECK_IMMEDIATE, asset=TABLE, description="Major controls effective on publication need a human look."
        ),
        AssetCheckSpec(CHECK_MISMATCH, asset=TABLE, description="Body matches the title (number, items)."),
    ],
)
def mofcom_announcements(
    context: AssetExecutionContext, warehouse: Warehouse, mofcom: MofcomClient
) -> MaterializeResult:
    announcements = collect_announcements(mofcom, context.log)
    lookback = date.fromisoformat(mofcom.lookback_start)
    frames: dict[str, pl.DataFrame] = {}
    with week_log(context) as lines:  # the weeks' lines: one event-log write
        for key in sorted(context.partition_keys):
            df = week_frame(announcements, key, lookback)
            frames[key] = df
            lines.append(f"{TABLE} {iso_week_label(key)}: {df.height} announcements")
    by_id = {a.announcement_id: a for a in announcements}
    staging = {
        key: quarantine.frame(
            [q for ann_id in df["announcement_id"].to_list() for q in by_id[ann_id].quarantined], TABLE
        )
        for key, df in frames.items()
    }
    with warehouse.session():
        warehouse.replace_partitions(TABLE, frames)  # the weeks' delete + insert in one transaction
        quarantine.write_staging(warehouse, TABLE, staging)
    last = frames[max(frames)]
    status_counts = {s: int(n) for s, n in last.group_by("fetch_status").len().iter_rows()} if last.height else {}
    add_week_metadata(context, week_rows(frames))
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(df.height for df in frames.values()),
            "dagster/column_schema": _schema_metadata(),
            "weeks": MetadataValue.json({iso_week_label(k): df.height for k, df in frames.items()}),
            "articles_seen": len(announcements),
            "fetch_status_latest_week": MetadataValue.json(status_counts),
            "top_latest_week": MetadataValue.json(
                last.head(5).select("announcement_id", "title", "importance").to_dicts() if last.height else []
            ),
            "embedded_sample": mofcom.uses_embedded_sample(),
        },
        check_results=[
            _check(CHECK_TITLE_ONLY, "title_only", frames, "article fetch failed; only the title is known"),
            _check(CHECK_CATEGORY, "category_undecided", frames, "no classification rule fired"),
            _check(CHECK_IMMEDIATE, "immediate_major_control", frames, "major control effective on publication"),
            _check(CHECK_MISMATCH, "content_title_mismatch", frames, "content does not match the title"),
        ],
    )


PROVISION_COLUMNS: dict[str, pl.DataType] = {
    "announcement_id": pl.Utf8,
    "doc_number": pl.Utf8,
    "doc_number_zh_tw": pl.Utf8,
    "seq": pl.Int64,
    "clause_no": pl.Utf8,
    "clause_no_zh_tw": pl.Utf8,
    "level": pl.Int64,
    "kind": pl.Utf8,
    "kind_zh_tw": pl.Utf8,
    "text_zh_hans": pl.Utf8,
    "text_zh_tw": pl.Utf8,
    "control_codes": pl.Utf8,
    "customs_codes": pl.Utf8,
    "hs6_codes": pl.Utf8,
    "thresholds_zh_tw": pl.Utf8,
    "thresholds_json": pl.Utf8,
    "item_keys": pl.Utf8,
    "entity_count": pl.Int64,
    "entity_name": pl.Utf8,
    "entity_name_zh_tw": pl.Utf8,
    "referenced_numbers": pl.Utf8,
    "referenced_numbers_zh_tw": pl.Utf8,
    "effective_date": pl.Date,
    "suspension_start": pl.Date,
    "suspension_until": pl.Date,
    "extractor_path": pl.Utf8,
    "review_flags": pl.Utf8,
}


def provisions_frame(announcements: pl.DataFrame, memo: dict | None = None) -> pl.DataFrame:
    """Provisions of every announcement of one week (a memo keyed by id + body shares the work across weeks)."""
    records: list[dict] = []
    for a in announcements.iter_rows(named=True):
        key = (a["announcement_id"], a["body_text"], a["attachments"], a["publish_date"], a["entities"])
        found = memo.get(key) if memo is not None else None
        if found is None:
            paragraphs = [p for p in (a["body_text"] or "").split("\n") if p.strip()]
            attachments = [tuple(item.partition("|")[::2]) for item in (a["attachments"] or "").split(";") if item]
            found = [
                provision_record(p)
                for p in extract_provisions(
                    paragraphs,
                    publish_date=a["publish_date"],
                    entities=[e for e in (a["entities"] or "").split(";") if e],
                    attachments=attachments,
                )
            ]
            if memo is not None:
                memo[key] = found
        flags = contract.join_flags(contract.quality_flags(contract.split_flags(a["review_flags"])))
        for rec in found:
            records.append(
                {
                    **rec,
                    "announcement_id": a["announcement_id"],
                    "doc_number": a["doc_number"] or "",
                    "doc_number_zh_tw": to_zh_tw(a["doc_number"] or ""),
                    "extractor_path": a["extractor_path"],
                    "review_flags": flags,
                }
            )
    df = pl.DataFrame(records, schema=PROVISION_COLUMNS) if records else pl.DataFrame(schema=PROVISION_COLUMNS)
    return df.select(list(PROVISION_COLUMNS))


def _table_schema(columns: dict[str, pl.DataType]) -> TableSchema:
    return TableSchema(columns=[TableColumn(n, str(t)) for n, t in columns.items()])


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    deps=[mofcom_announcements],
    description="Key provisions of each stored announcement, extracted deterministically from its text: numbered "
    "clauses (一、/（一）/1./a.) with kind, control codes, customs codes (→ HS 2022 six digits), technical "
    "thresholds, listed entities and counts, suspension windows, annexes; original text verbatim and zh-TW.",
)
def mofcom_provisions(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    with warehouse.session():
        weeks = warehouse.read_partitions(TABLE, keys)
        memo: dict = {}
        frames = {
            key: provisions_frame(weeks[key], memo) if weeks[key].height else pl.DataFrame(schema=PROVISION_COLUMNS)
            for key in keys
        }
        warehouse.replace_partitions(T_PROVISIONS, frames)
    last = frames[max(frames)]
    kinds = {k: int(n) for k, n in last.group_by("kind").len().iter_rows()} if last.height else {}
    add_week_metadata(context, week_rows(frames))
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(f.height for f in frames.values()),
            "dagster/column_schema": _table_schema(PROVISION_COLUMNS),
            "weeks": MetadataValue.json({iso_week_label(k): f.height for k, f in frames.items()}),
            "kinds_latest_week": MetadataValue.json(kinds),
        }
    )


@table_asset(
    side_tables={
        T_TIMELINE: "The build-up of controls per material family (graphite → gallium/germanium → antimony → …): one "
        "row per step, citing its announcement and status as of the week's end."
    },
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    deps=[mofcom_announcements, mofcom_provisions],
    description="The controls table (mofcom_controls: one row per listed measure with 文號, items, effective date "
    "and status as of the week's end) and the timeline per material family (mofcom_control_timeline), "
    "each row citing its announcement.",
)
def mofcom_controls(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    with warehouse.session():
        anns = warehouse.read_partitions(TABLE, keys)
        provs = warehouse.read_partitions(T_PROVISIONS, keys)
        controls: dict[str, pl.DataFrame] = {}
        steps: dict[str, pl.DataFrame] = {}
        for key in keys:
            if anns[key].height == 0:
                controls[key] = pl.DataFrame(schema=control_rules.CONTROL_COLUMNS)
            else:
                controls[key] = control_rules.measures(
                    anns[key],
                    provs[key] if provs[key].height else pl.DataFrame(schema=PROVISION_COLUMNS),
                    week_end(key),
                )
            steps[key] = control_rules.timeline(controls[key])
        warehouse.replace_partitions(T_CONTROLS, controls)
        warehouse.replace_partitions(T_TIMELINE, steps)
    last = controls[max(controls)]
    status_counts = {k: int(n) for k, n in last.group_by("status").len().iter_rows()} if last.height else {}
    add_week_metadata(context, week_rows(controls, **{T_TIMELINE: steps}))
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(f.height for f in controls.values()),
            "dagster/column_schema": _table_schema(control_rules.CONTROL_COLUMNS),
            "rows/mofcom_control_timeline": sum(f.height for f in steps.values()),
            "status_latest_week": MetadataValue.json(status_counts),
        }
    )


_FETCH_STATUS_ZH = {"ok": "已取得內文", "title_only": "僅有標題", "garbled": "內文為亂碼", "failed": "擷取失敗"}


def _money(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1e6:,.1f} 百萬美元"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} %"


def render_extractor_markdown(
    row: dict, provisions: list[dict] | None = None, control: dict | None = None, exposure: list[dict] | None = None
) -> str:
    """The cited Extractor file of one announcement: facts only, original text quoted, flags visible.

    Every scraped value is escaped (``core.markdown``): a title carrying HTML, Liquid ``{{ }}``, table pipes or
    newlines stays one line of inert text when the site is published."""
    e, lst = md_escape, md_list
    flags = [f for f in (row.get("review_flags") or "").split(";") if f]
    lines = []
    if flags:
        lines.append("[REVIEW_NEEDED]")
        lines.append("")
    lines += [
        f"# {e(row['title_zh_tw'])}",
        "",
        f"- **原始標題（簡體）**: {e(row['title'])}",
        f"- **來源網址**: {e(row['url'])}",
        f"- **文號**: {e(row.get('doc_number_zh_tw') or to_zh_tw(row['doc_number'])) or '（未標示）'}",
        *([f"- **文號（簡體原文）**: {e(row['doc_number'])}"] if row.get("doc_number") else []),
        f"- **發布機關**: {e(to_zh_tw(row['issuers'])) or '（未標示）'}",
        f"- **發布日期**: {row['publish_date'] or '不明'}",
        f"- **生效日期**: {row['effective_date'] or '未載明'}",
        f"- **生效條款**: {e(row.get('effective_note_zh_tw') or to_zh_tw(row['effective_note'])) or '—'}",
        *(
            [
                f"- **暫停期間**: {row['effective_date'] or '?'} 至 {row['suspended_until']}"
                f"（{e(row.get('suspension_note_zh_tw') or to_zh_tw(row['suspension_note']))}）"
            ]
            if row.get("suspended_until")
            else []
        ),
        *([f"- **措施狀態（截至 {control['status_as_of']}）**: {e(control['status_zh_tw'])}"] if control else []),
        f"- **管制物項**: {lst(row['controlled_items']) or '—'}",
        f"- **列名實體**: {lst(to_zh_tw(row['entities'])) or '—'}",
        f"- **涉及國家／地區**: {lst(row['countries']) or '—'}",
        f"- **引用文號**: {lst(to_zh_tw(row['referenced_numbers'])) or '—'}",
        f"- **類別**: {CATEGORY_ZH_TW.get(row['category'], '未分類')}",
        f"- **信心度**: {row['confidence']}",
        f"- **擷取狀態**: {_FETCH_STATUS_ZH.get(row['fetch_status'], '不明')}",
        f"- **欄目**: {row['column_ids']}",
        f"- **資料檢核**: {'；'.join(contract.flag_words(flags)) if flags else '無'}",
        "",
        "## 摘要（由萃取事實組成）",
        "",
        e(row["summary_zh_tw"]),
        "",
    ]
    kept = [p for p in (provisions or []) if p["kind"] not in ("procedure", "other")]
    if kept:
        lines += [
            "## 重點條款（依原文萃取，繁體）",
            "",
            "| 條次 | 類型 | 內容 | 技術門檻 | 海關商品編號（HS 六位碼） |",
            "|---|---|---|---|---|",
        ]
        for p in kept:
            codes = p["customs_codes"].replace(";", "、")
            hs6 = p["hs6_codes"].replace(";", "、")
            lines.append(
                f"| {e(p['clause_no_zh_tw']) or '—'} | {p['kind_zh_tw']} | {e(p['text_zh_tw'])} | "
                f"{e(p['thresholds_zh_tw']) or '—'} | {(e(codes) + '（' + hs6 + '）') if codes else '—'} |"
            )
        lines.append("")
    if exposure:
        lines += [
            "## 貿易曝險（HS 六位碼，範圍可能大於管制物項）",
            "",
            "| HS 碼 | 品項 | 中國出口（年度） | 輸美占比 | 美國進口（年初至今） | 自中國 | 中國占比 | 自中國年增減 | 資料檢核 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for x in exposure:
            xf = contract.split_flags(x["review_flags"])
            mark = "[REVIEW_NEEDED] " if contract.quality_flags(xf) else ""
            lines.append(
                f"| {x['hs6'] or '—'} | {e(x['items_zh_tw'])} | {_money(x['cn_export_world_usd'])}"
                f"（{x['cn_export_year'] or '—'}） | {_pct(x['share_to_842_pct'])} | {_money(x['us_import_ytd_usd'])} | "
                f"{_money(x['us_import_from_cn_ytd_usd'])} | {_pct(x['cn_share_of_us_imports_pct'])} | "
                f"{_pct(x['us_import_from_cn_yoy_pct'])} | {mark}{'；'.join(contract.flag_words(xf)) or '無'} |"
            )
        lines.append("")
    if row.get("attachments"):
        lines += ["## 附件", ""]
        for item in row["attachments"].split(";"):
            text, _, href = item.partition("|")
            lines.append(f"- {e(text) or '附件'}: {e(href)}")
        lines.append("")
    body = (row.get("body_text") or "").split("\n")
    if any(body):
        lines += ["## 原文摘錄（簡體原文，前 6 段）", ""]
        lines += [f"> {e(p)}" for p in body[:6] if p.strip()]
        lines.append("")
    lines += ["---", "", f"*來源：中華人民共和國商務部出口管制資訊網 {e(row['url'])}*", ""]
    return "\n".join(lines)


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"markdown"},
    owners=OWNERS,
    deps=[mofcom_announcements, mofcom_provisions, mofcom_controls, "policy_trade_exposure"],
    description="One Extractor markdown file per announcement of the week: Extractor/cn_export_control/<slug>.md "
    "(facts, key provisions, status, exposure figures, original text).",
)
def mofcom_extractor_files(context: AssetExecutionContext, warehouse: Warehouse, site: Site) -> MaterializeResult:
    written: dict[str, int] = {}
    flagged = 0
    keys = sorted(context.partition_keys)
    with warehouse.session(read_only=True):
        weeks = {key: warehouse.read_partition(TABLE, key) for key in keys}
        provs = warehouse.read_partitions(T_PROVISIONS, keys)
        ctrls = warehouse.read_partitions(T_CONTROLS, keys)
        expos = warehouse.read_partitions(contract.POLICY_TRADE_EXPOSURE, keys)

    def grouped(df: pl.DataFrame, col: str) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for r in df.iter_rows(named=True) if df.height else []:
            out.setdefault(r[col], []).append(r)
        return out

    # Weeks in ascending order as before: the newest week's version of a file is the one left on disk. A file whose
    # text an earlier week of this run already wrote identically is not written again.
    last_text: dict[str, str] = {}
    for key, df in weeks.items():
        p_by, c_by, x_by = (
            grouped(provs[key], "announcement_id"),
            grouped(ctrls[key], "measure_id"),
            grouped(expos[key], "measure_id"),
        )
        for row in df.iter_rows(named=True):
            aid = row["announcement_id"]
            text = render_extractor_markdown(row, p_by.get(aid), (c_by.get(aid) or [None])[0], x_by.get(aid))
            if last_text.get(row["extractor_path"]) != text:
                site.write(row["extractor_path"], text)
                last_text[row["extractor_path"]] = text
            flagged += bool(row["review_flags"])
        written[iso_week_label(key)] = df.height
    add_week_metadata(context, week_rows(weeks))  # one file per announcement of the week
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(written.values()),
            "files_per_week": MetadataValue.json(written),
            "flagged_files": flagged,
            "dagster/column_schema": TableSchema(
                columns=[
                    TableColumn(
                        "path", "VARCHAR", description="Extractor/cn_export_control/<slug>.md, one per announcement"
                    ),
                    TableColumn("review_needed", "BOOLEAN", description="the file starts with [REVIEW_NEEDED]"),
                ]
            ),
            "directory": MetadataValue.path(str(site.path(EXTRACTOR_DIR))),
        }
    )


ASSETS = [mofcom_announcements, mofcom_provisions, mofcom_controls, mofcom_extractor_files]

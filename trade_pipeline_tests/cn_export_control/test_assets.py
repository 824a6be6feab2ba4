"""Replayed materializations (embedded sample and hostile captures), dedup, point in time, ranking, Extractor files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from dagster import materialize

from trade_pipeline.core.http import CAPTURE_FORMAT, CaptureStore, request_key
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.cn_export_control.assets import (
    ASSETS,
    TABLE,
    collect_announcements,
    render_extractor_markdown,
    week_frame,
)
from trade_pipeline.defs.cn_export_control.resources import LIST_PATH, MofcomClient, MofcomListError

BASE = "http://exportcontrol.mofcom.gov.cn"


def _run(key: str, client: MofcomClient):
    return materialize(
        ASSETS, resources={"warehouse": Warehouse(), "site": Site(), "mofcom": client}, partition_key=key
    )


def test_replayed_materialize_2026_w05(isolated_data_dir: Path):
    result = _run("2026-01-26", MofcomClient())
    assert result.success
    df = Warehouse().read_partition(TABLE, "2026-01-26")
    ids = df["announcement_id"].to_list()
    assert len(ids) == len(set(ids)) == 31  # deduplicated, pre-2023 rows excluded
    assert "mofcom-1209" not in ids  # published 2026-02-24: not yet known in W05
    row = df.filter(df["announcement_id"] == "mofcom-1171").row(0, named=True)
    assert row["column_ids"] == "1,9"
    assert row["doc_number"] == "商务部公告2025年第61号"
    assert row["title_zh_tw"].startswith("商務部公告2025第61號")
    assert row["controlled_items"] == "稀土"
    assert row["extractor_path"] == "Extractor/cn_export_control/mofcom-2025-61-rare-earth-a1171.md"
    customs = df.filter(df["announcement_id"].is_in(["mofcom-1180", "mofcom-1181"]))
    assert sorted(customs["fetch_status"].to_list()) == ["failed", "garbled"]
    assert all("title_only" in f and "category_undecided" in f for f in customs["review_flags"])
    assert df["importance_rank"].to_list() == list(range(1, 32))
    assert set(df["category"]) <= {
        "regulation_update",
        "controlled_item_change",
        "enforcement_action",
        "policy_guidance",
        "international_cooperation",
    }
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {
        "article_text_fetched": False,
        "category_decidable": False,
        "no_unreviewed_immediate_major_control": False,
        "content_matches_title": True,
    }
    md = (isolated_data_dir / "site" / row["extractor_path"]).read_text(encoding="utf-8")
    assert "[REVIEW_NEEDED]" in md and row["url"] in md and row["title"] in md
    assert (isolated_data_dir / "site" / "Extractor/cn_export_control/gacc-2025-61-a1180.md").is_file()


def test_point_in_time_and_ranking_across_weeks():
    announcements = collect_announcements(MofcomClient())
    before = week_frame(announcements, "2025-12-29", date(2023, 1, 1))
    w02 = week_frame(announcements, "2026-01-05", date(2023, 1, 1))
    assert "mofcom-1206" not in before["announcement_id"].to_list()
    assert w02["announcement_id"].to_list()[:2] == ["mofcom-1206", "mofcom-1204"]  # new control of the week leads
    assert w02.filter(w02["announcement_id"] == "mofcom-1206")["is_new_this_week"].item() is True
    w03 = week_frame(announcements, "2026-01-12", date(2023, 1, 1))
    assert w03.filter(w03["announcement_id"] == "mofcom-1206")["is_new_this_week"].item() is False
    late = week_frame(announcements, "2026-02-23", date(2023, 1, 1))
    assert late["announcement_id"].to_list()[0] == "mofcom-1209"
    recent_only = week_frame(announcements, "2026-01-05", date(2025, 1, 1))
    assert "mofcom-912" not in recent_only["announcement_id"].to_list()


# --- hostile captures -----------------------------------------------------------------------------------------
def _put(store: CaptureStore, method: str, url: str, form: dict | None, status: int, body: str) -> None:
    doc = {
        "format": CAPTURE_FORMAT,
        "source": "mofcom",
        "request": {"method": method, "url": url, "params": [], "form": form},
        "response": {"status": status, "headers": {"content-type": "text/html"}, "body": body},
        "recorded_at": "2026-01-28T00:00:00+00:00",
    }
    store.put(request_key(method, url, [], form), doc)


def _page(title: str, no: int, body: str) -> str:
    return (
        f"<html><body><div class=\"u-art-box\"><script>var title = '{title}'; var source = '商务部'; "
        f"var publishTime = '2026-01-27'; var articleId = '{no}';</script>{body}"
        '<div class="u-disclaimer-box">x</div></div></body></html>'
    )


HOSTILE_TITLE = "商务部公告2026年第5号 <script>alert('x')</script> {{ config }} | 锂电池 | 正极材料"


def _hostile_captures(root: Path, list_body: str | None = None) -> Path:
    store = CaptureStore(root / "mofcom")
    rows = [
        {
            "id": 1,
            "title": HOSTILE_TITLE,
            "url": "/article/zcfg/gnzcfg/zcfggzqd/202601/1301.html",
            "publishTimeStr": "2026-01-27 00:00:00",
        },
        {
            "id": 2,
            "title": "商务部公告2026年第6号 关于稀土的公告",
            "url": "/article/zcfg/gnzcfg/zcfggzqd/202601/1302.html",
            "publishTimeStr": "2026-01-27",
        },
        {
            "id": 3,
            "title": "商务部公告2026年第7号 空白",
            "url": "https://exportcontrol.mofcom.gov.cn/article/gndt/202601/1303.html",
            "publishTimeStr": "2026-01-27",
        },
        {
            "id": 4,
            "title": "外站转载",
            "url": "http://evil.example.com/article/gndt/202601/1304.html",
            "publishTimeStr": "2026-01-27",
        },
        {
            "id": 5,
            "title": "商务部公告2026年第8号 关于镓的公告",
            "url": "/article/zcfg/gnzcfg/zcfggzqd/202601/1305.html",
            "publishTimeStr": "2026-01-27",
        },
        {
            "id": 6,
            "title": "商务部公告2026年第9号 改版页面",
            "url": "/article/zcfg/gnzcfg/zcfggzqd/202601/1306.html",
            "publishTimeStr": "2026-01-27",
        },
    ]
    body = list_body or json.dumps({"pageInfo": {"total": 6, "maxPageNum": 1, "rows": rows}}, ensure_ascii=False)
    _put(store, "POST", BASE + LIST_PATH, {"pageNumber": "1", "columnID": "9", "title": ""}, 200, body)
    _put(
        store,
        "GET",
        BASE + "/article/zcfg/gnzcfg/zcfggzqd/202601/1301.html",
        None,
        200,
        _page(
            "x",
            1301,
            '<div class="bd"><p>商务部公告2026年第5号</p><p>对锂电池、正极材料实施出口管制，未经许可不得出口。</p>'
            "<p>本公告自2026年3月1日起正式实施。</p></div>",
        ),
    )
    _put(
        store,
        "GET",
        BASE + "/article/zcfg/gnzcfg/zcfggzqd/202601/1302.html",
        None,
        200,
        _page("??????", 1302, '<div class="bd"><p>???????2026?6?</p></div>'),
    )
    _put(store, "GET", BASE + "/article/gndt/202601/1303.html", None, 200, "")
    _put(
        store,
        "GET",
        BASE + "/article/zcfg/gnzcfg/zcfggzqd/202601/1305.html",
        None,
        200,
        _page(
            "商务部公告2026年第8号",
            1305,
            '<div class="bd"><p>商务部公告2026年第8号</p><p>对镓相关物项实施出口管制，自公布之日起实施。</p></div>',
        ),
    )
    _put(
        store,
        "GET",
        BASE + "/article/zcfg/gnzcfg/zcfggzqd/202601/1306.html",
        None,
        200,
        _page("商务部公告2026年第9号", 1306, '<div class="article-content"><p>新版页面正文</p></div>'),
    )
    return root


def test_hostile_pages_are_flagged_and_do_not_stop_the_others(tmp_path: Path, isolated_data_dir: Path):
    client = MofcomClient(capture_dir=str(_hostile_captures(tmp_path / "cap")), columns="9")
    assert _run("2026-01-26", client).success
    df = Warehouse().read_partition(TABLE, "2026-01-26")
    rows = {r["announcement_id"]: r for r in df.iter_rows(named=True)}
    assert len(rows) == 6
    good = rows["mofcom-1301"]
    assert good["title"] == HOSTILE_TITLE  # stored as data, verbatim
    assert good["fetch_status"] == "ok" and good["effective_date"] == date(2026, 3, 1)
    assert good["controlled_items"] == "鋰電池;正極材料"
    assert rows["mofcom-1302"]["fetch_status"] == "garbled" and rows["mofcom-1302"]["body_text"] == ""
    assert "garbled_text" in rows["mofcom-1302"]["review_flags"]
    assert rows["mofcom-1303"]["fetch_status"] == "failed" and "title_only" in rows["mofcom-1303"]["review_flags"]
    off = rows["mofcom-1304"]
    assert off["fetch_status"] == "failed" and "off_host_url" in off["review_flags"]
    assert off["url"] == "http://evil.example.com/article/gndt/202601/1304.html"
    assert rows["mofcom-1305"]["fetch_status"] == "ok"
    assert "immediate_major_control" in rows["mofcom-1305"]["review_flags"]
    changed = rows["mofcom-1306"]
    assert changed["fetch_status"] == "title_only" and "changed_structure" in changed["review_flags"]
    md = render_extractor_markdown(good)
    # markdown is inert text, not a template or HTML: the title is escaped for markdown and Liquid/Jekyll
    assert "<script>" not in md and "{{" not in md and " | 锂电池 | " not in md
    assert "&lt;script&gt;" in md and "&#123;&#123; config &#125;&#125;" in md and "\\| 锂电池 \\|" in md


def test_garbled_list_reply_is_a_clear_error(tmp_path: Path):
    garbled = json.dumps(
        {
            "pageInfo": {
                "total": 1,
                "maxPageNum": 1,
                "rows": [
                    {
                        "id": 1,
                        "title": "?????2025?61? ????????????????",
                        "url": "/article/x/1.html",
                        "publishTimeStr": "2025-10-09",
                    }
                ],
            }
        }
    )
    client = MofcomClient(capture_dir=str(_hostile_captures(tmp_path / "cap", garbled)), columns="9")
    with pytest.raises(MofcomListError, match=r"\[mofcom\].*garbled.*columnID=9"):
        client.list_page(9, 1)


def test_malformed_list_reply_is_a_clear_error(tmp_path: Path):
    client = MofcomClient(capture_dir=str(_hostile_captures(tmp_path / "cap", '{"pageInfo": {"rows": [')), columns="9")
    with pytest.raises(MofcomListError, match="not JSON"):
        client.crawl()


def test_crawler_stops_at_rows_older_than_lookback():
    client = MofcomClient(columns="9")
    rows = client.crawl()  # page 3 (maxPageNum) was never recorded: a request for it would be a ReplayMissError
    assert client.http.stats.replayed == 2
    assert all(r.publish_date >= date(2023, 1, 1) for r in rows)
    page = client.list_page(9, 1)
    assert page.max_page_num == 3 and len(page.rows) == 20

"""Scraped text is data: a hostile MOFCOM title (HTML, jinja/Liquid syntax, table breakers, a newline) is stored
verbatim, never evaluated as a template, and escaped wherever the report prints it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from trade_pipeline.core.partitions import iso_week_label
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.facts import week_facts
from trade_pipeline.defs.trade_briefing.render import render_report
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.support import CANONICAL, WEEK_B
from trade_pipeline_tests.reliability.test_fault_matrix import ARTICLE_1301, _article_page, mofcom_list_request

HOSTILE = "商务部公告2026年第5号 关于对锂电池 <script>alert(1)</script> {{ 7*7 }} {% if true %}x{% endif %} | 正极材料 | 实施出口管制的公告"
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _inject(captures: Path) -> None:
    def edit(body: str) -> str:
        doc = json.loads(body)
        doc["pageInfo"]["rows"].insert(
            1,
            {
                "id": 1301,
                "title": HOSTILE,
                "url": ARTICLE_1301,
                "publishTimeStr": "2026-01-27 00:00:00",
                "source": "商务部",
                "content": "",
                "columnName": "管制清单",
            },
        )
        return json.dumps(doc, ensure_ascii=False)

    support.rewrite_capture(captures, "mofcom", mofcom_list_request(), edit=edit)
    support.add_capture(
        captures,
        "mofcom",
        "GET",
        CANONICAL["mofcom"] + ARTICLE_1301,
        200,
        _article_page(
            "x",
            '<div class="bd"><p>商务部公告2026年第5号</p><p>对锂电池、正极材料实施出口管制，未经许可不得出口。</p>'
            "<p>{{ 7*7 }} <script>alert(2)</script> | 本公告自2026年3月1日起正式实施。</p></div>",
        ),
    )


def test_hostile_title_is_data_in_tables_extractor_and_report(world, captures: Path) -> None:
    _inject(captures)
    result = support.run(
        "mofcom", WEEK_B, support.MofcomClient(capture_dir=str(captures)), support.layer_assets("mofcom")
    )
    assert result.success
    row = (
        Warehouse()
        .query(
            "SELECT * FROM mofcom_announcements WHERE week_start = ?::DATE AND announcement_id = 'mofcom-1301'",
            [WEEK_B],
        )
        .row(0, named=True)
    )
    assert row["title"] == HOSTILE and row["fetch_status"] == "ok"  # stored verbatim, as data

    # Extractor markdown: inert text, never a template — escaped like the report (no raw HTML, no Liquid braces,
    # no table breakers), and nothing evaluated to 49.
    md = (support.data_dir() / "site" / row["extractor_path"]).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)" in md and "&#123;&#123; 7\\*7 &#125;&#125;" in md
    for raw in ("<script>", "{{", "{%", " | 正极材料 | "):
        assert raw not in md, raw
    assert "49" not in md.replace("2026", "")

    # The report: the title is printed escaped — no raw HTML, no template syntax, no extra table columns.
    site = support.data_dir() / "site"
    ((_, facts),) = list(week_facts(Warehouse(), [WEEK_B], site))
    report = render_report(list(facts), iso_week_label(WEEK_B), site, datetime(2026, 2, 2, tzinfo=UTC), []).markdown
    assert "alert(1)" in report, "the hostile announcement is not in the report (test would prove nothing)"
    assert "&lt;script&gt;alert(1)" in report
    for raw in ("<script>", "{{ 7*7 }}", "{%", "%}", "{{", "}}", " 49 "):
        assert raw not in report, raw
    table: list[str] = []
    for line in report.split("\n") + [""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            widths = {len(UNESCAPED_PIPE.findall(t)) for t in table}
            assert len(widths) == 1, f"a table row has extra columns: {table}"
            table = []

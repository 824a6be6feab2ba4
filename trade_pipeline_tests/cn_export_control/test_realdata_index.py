"""The rules over the 235 real index titles (../shared/realdata; skipped when absent)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from trade_pipeline.defs.cn_export_control.extract import classify, find_doc_numbers
from trade_pipeline.defs.cn_export_control.resources import article_number


def test_index_titles_numbers_and_categories(realdata: Path):
    path = realdata / "mofcom" / "weiqi_cn_export_control_index_at_5315732.tsv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 235
    numbered = [r for r in rows if re.search(r"公告\s*\d{4}\s*年?第\d+号", r["title"])]
    assert numbered, "the index has numbered announcements"
    for r in numbered:
        docs = find_doc_numbers(r["title"])
        assert docs, r["title"]
        assert docs[0].text.endswith("号") and docs[0].issuers, r["title"]
    for r in rows:
        assert article_number(r["url"]).isdigit(), r["url"]
        assert classify(r["title"], "").category in {
            "regulation_update",
            "controlled_item_change",
            "enforcement_action",
            "policy_guidance",
            "international_cooperation",
        }
    t = next(r["title"] for r in rows if "2025年第10号" in r["title"])
    assert find_doc_numbers(t)[0].text == "商务部、海关总署公告2025年第10号"

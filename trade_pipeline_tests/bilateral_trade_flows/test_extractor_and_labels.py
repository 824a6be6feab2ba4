"""The replayed sample week: Extractor markdown files (names, source, period, fetch time, confidence) and the Taiwan
labels in the tables (158 = mirror, 490 = Taiwan's own filing)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.codes import ALL_REPORTERS, TAIWAN_ISO_CODE

from .conftest import FastComtradeClient, run_layer

WEEK = "2026-01-26"
LAYER = Path("site/Extractor/bilateral_trade_flows")
FETCHED = "2026-02-16T08:00:00+00:00"  # recorded_at of the sample captures


def header(text: str) -> dict[str, str]:
    return dict(line[2:].split("：", 1) for line in text.splitlines() if line.startswith("- ") and "：" in line)


def test_sample_week_writes_every_extractor_file_with_provenance(isolated_data_dir: Path) -> None:
    result = run_layer(WEEK, FastComtradeClient())
    assert result.success
    root = isolated_data_dir / LAYER
    reporters = [*ALL_REPORTERS, TAIWAN_ISO_CODE]
    expected = {
        "export_flow": {f"{r}-export-{y}.md" for r in reporters for y in (2023, 2024)},
        "import_flow": {f"{r}-import-{y}.md" for r in reporters for y in (2023, 2024)},
        "trade_balance": {f"{r}-balance-{y}.md" for r in reporters for y in (2023, 2024)},
        "market_concentration": {f"{r}-hhi-{y}.md" for r in reporters for y in (2023, 2024)},
        # HS2 structure exists for reporters only (the mirror has no HS2 breakdown)
        "commodity_structure": {f"{r}-commodity-{y}.md" for r in ALL_REPORTERS for y in (2023, 2024)},
    }
    for folder, names in expected.items():
        assert {p.name for p in (root / folder).glob("*.md")} == names, folder

    flagged = set()
    for path in root.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        h = header(text)
        year = re.search(r"-(\d{4})\.md$", path.name).group(1)
        assert h["來源"].startswith("UN Comtrade API v1"), path
        assert h["期間"].startswith(f"{year} 年（單一年度"), path
        assert h["截至週次"].startswith("2026-W05"), path
        assert h["擷取時間"] == FETCHED, path  # every view, balances included
        assert h["信心度"] in ("高", "中"), path  # the clean sample: no 低
        if h["審核旗標"] != "無":
            flagged.add((str(path.relative_to(root)), h["審核旗標"]))
    # the one finding of the sample: Korea's overall balance swung from a USD 10.4 bn deficit to a 51.6 bn surplus
    assert flagged == {("trade_balance/410-balance-2024.md", "[REVIEW_NEEDED] yoy_gt_50pct")}
    hhi = (root / "market_concentration/156-hhi-2024.md").read_text("utf-8")
    assert "美國、香港、越南" in hhi and "HHI" in hhi
    mirror = header((root / "market_concentration/158-hhi-2024.md").read_text("utf-8"))
    assert mirror["資料種類"].startswith("鏡像統計") and mirror["信心度"] == "中"
    own = (root / "export_flow/490-export-2024.md").read_text("utf-8")
    assert header(own)["資料種類"].startswith("申報數據") and "490「Other Asia, nes」" in own
    hs2 = header((root / "commodity_structure/842-commodity-2024.md").read_text("utf-8"))
    assert "partnerCode=0" in hs2["來源"] and "cmdCode=TOTAL" not in hs2["來源"]

    wh = Warehouse()
    conc = wh.read_partition("market_concentration", WEEK)
    taiwan = conc.filter(pl.col("reporter_code") == TAIWAN_ISO_CODE)
    assert taiwan.height == 4 and taiwan["is_mirror"].all() and set(taiwan["confidence"]) == {"中"}
    assert taiwan["hhi"].is_not_null().all() and set(taiwan["reporter_name_zh"]) == {"台灣"}
    own_rows = conc.filter(pl.col("reporter_code") == 490)
    assert own_rows.height == 4 and not own_rows["is_mirror"].any() and set(own_rows["confidence"]) == {"中"}
    others = conc.filter(~pl.col("reporter_code").is_in([158, 490]))
    assert set(others["confidence"]) == {"高"} and not others["is_mirror"].any()
    flows = wh.read_partition("comtrade_partner_flows", WEEK)
    assert set(flows.filter(pl.col("reporter_code") == 158)["source_kind"]) == {"mirror"}
    assert set(flows.filter(pl.col("reporter_code") != 158)["source_kind"]) == {"reported"}

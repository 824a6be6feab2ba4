"""Controlled item → HS 2022 subheading mapping, kept as data (``controlled_hs_map.csv`` next to this file).

One row per item × six-digit HS 2022 subheading. ``basis_kind`` says where the row comes from:

- ``announcement``: the announcement's own reference codes (参考海关商品编号 / 参考税则号列, China's 8- or 10-digit
  tariff lines, whose first six digits are the HS 2022 subheading); ``basis_doc_number`` names the announcement and
  ``basis_ref`` quotes its codes.
- ``concordance``: the announcement gives no code (or its code is not in the stored text). ``basis_ref`` names the
  published concordance used: a USITC Harmonized Tariff Schedule 2025 statistical line that names the product, or
  the HS 2022 heading/subheading text (WCO nomenclature). "classification judgement" marks rows where neither names
  the product (confidence 低).

``item_class`` is ``material`` or ``equipment`` (production equipment and its parts): a measure that names an
item without listing codes of its own is mapped to the item's *material* rows only; equipment rows count only for
the announcement that lists them.

``hs6_scope`` is ``exact`` when the subheading holds only the controlled item, ``broader`` when it holds more (e.g.
2931.90 other organo-inorganic compounds): trade figures of a broader subheading are an upper bound of the trade the
control touches. ``confidence`` is 高 (own code or a subheading that names the item), 中 (a tariff line naming it)
or 低 (judgement).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from trade_pipeline.defs.cn_export_control.dictionary import ITEMS_BY_KEY

MAP_PATH = Path(__file__).with_name("controlled_hs_map.csv")
MAP_COLUMNS: dict[str, pl.DataType] = {
    "item_key": pl.Utf8,
    "item_zh_tw": pl.Utf8,
    "item_class": pl.Utf8,
    "hs6": pl.Utf8,
    "hs6_desc_zh_tw": pl.Utf8,
    "hs6_scope": pl.Utf8,
    "basis_kind": pl.Utf8,
    "basis_doc_number": pl.Utf8,
    "basis_ref": pl.Utf8,
    "confidence": pl.Utf8,
}
BASIS_KINDS = frozenset({"announcement", "concordance"})
SCOPES = frozenset({"exact", "broader"})
ITEM_CLASSES = frozenset({"material", "equipment"})
CONFIDENCE = frozenset({"高", "中", "低"})


class MappingError(ValueError):
    """The mapping file breaks its own rules (names the file, the line and the rule)."""


def load_map(path: Path = MAP_PATH) -> pl.DataFrame:
    """The mapping as a frame, every row validated (see module doc); raises MappingError naming the bad line."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header != list(MAP_COLUMNS):
            raise MappingError(f"{path.name}: header {header} is not {list(MAP_COLUMNS)}")
        rows: list[dict] = []
        for line_no, cells in enumerate(reader, start=2):
            if not any(cells):
                continue
            if len(cells) != len(header):
                raise MappingError(
                    f"{path.name}:{line_no}: {len(cells)} cells, expected {len(header)} (a comma "
                    f"inside a field must be quoted)"
                )
            row = dict(zip(header, (c.strip() for c in cells)))
            problems = []
            if row["item_key"] not in ITEMS_BY_KEY:
                problems.append(f"item_key {row['item_key']!r} is not in the cn_export_control dictionary")
            if not re.fullmatch(r"\d{6}", row["hs6"]):
                problems.append(f"hs6 {row['hs6']!r} is not six digits")
            if row["basis_kind"] not in BASIS_KINDS:
                problems.append(f"basis_kind {row['basis_kind']!r} not in {sorted(BASIS_KINDS)}")
            if row["basis_kind"] == "announcement":
                if not row["basis_doc_number"]:
                    problems.append("an announcement row needs basis_doc_number")
                quoted = re.findall(r"\d{8,10}", row["basis_ref"])
                if not quoted or any(code[:6] != row["hs6"] for code in quoted):
                    problems.append(
                        f"basis_ref {row['basis_ref']!r} must quote the announcement's codes of {row['hs6']}"
                    )
            if row["basis_kind"] == "concordance" and not row["basis_ref"]:
                problems.append("a concordance row must name its concordance in basis_ref")
            if row["item_class"] not in ITEM_CLASSES:
                problems.append(f"item_class {row['item_class']!r} not in {sorted(ITEM_CLASSES)}")
            if row["hs6_scope"] not in SCOPES:
                problems.append(f"hs6_scope {row['hs6_scope']!r} not in {sorted(SCOPES)}")
            if row["confidence"] not in CONFIDENCE:
                problems.append(f"confidence {row['confidence']!r} not in 高/中/低")
            if problems:
                raise MappingError(f"{path.name}:{line_no}: " + "; ".join(problems))
            rows.append(row)
    df = pl.DataFrame(rows, schema=MAP_COLUMNS)
    dupes = df.group_by("item_key", "hs6", "basis_doc_number").len().filter(pl.col("len") > 1)
    if dupes.height:
        raise MappingError(f"{path.name}: duplicate item × hs6 × basis rows: {dupes.to_dicts()}")
    return df


def all_codes(mapping: pl.DataFrame) -> list[str]:
    return sorted(mapping["hs6"].unique().to_list())

"""English names for the English edition, derived from codes (pure functions: facts use them as ``transform`` of a
code cell, so ``verify`` recomputes the same name).

- Comtrade reporters/partners: the code → ISO 3166 (pycountry, with Comtrade's own codes mapped as the layer does)
  → the CLDR English short name (babel), e.g. 410 → South Korea, 344 → Hong Kong; Taiwan's codes (490, 158) →
  Taiwan; the non-country areas carry the layer's English names.
- US Census partners: the Census country code → ISO alpha-2 → CLDR (5800 → South Korea), else the Census name.
- HS2 chapters: ``core.hs_chapters.hs2_short_en`` (one short name per chapter, as in zh-TW).
"""

from __future__ import annotations

from functools import lru_cache

from trade_pipeline.core.hs_chapters import hs2_short_en
from trade_pipeline.defs.bilateral_trade_flows.codes import (
    COMTRADE_TO_ISO_NUMERIC,
    EXCLUDED_PARTNER_AREAS,
    TAIWAN_ISO_CODE,
    TAIWAN_PARTNER_CODE,
)

TAIWAN_NAME_EN = "Taiwan"
#: US Census country codes of the partners the Census layer follows → ISO 3166 alpha-2 (no published crosswalk).
CENSUS_TO_ISO2 = {"5700": "CN", "5830": "TW", "5880": "JP", "5800": "KR", "4280": "DE"}
#: CLDR long forms the report shortens ("Hong Kong SAR China" → Hong Kong).
_SUFFIXES = (" SAR China",)


@lru_cache(maxsize=1)
def _territories_en() -> dict[str, str]:
    from babel import Locale

    return dict(Locale.parse("en").territories)


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def iso2_name_en(alpha_2: str) -> str | None:
    name = _territories_en().get(alpha_2.upper())
    return _short(name) if name else None


@lru_cache(maxsize=4096)
def area_name_en(code: object) -> str:
    """English name of a Comtrade reporter/partner code ('Area 123' for a code with no name)."""
    import pycountry

    try:
        c = int(float(str(code)))
    except ValueError:
        return str(code)
    if c in (TAIWAN_PARTNER_CODE, TAIWAN_ISO_CODE):
        return TAIWAN_NAME_EN
    if c in EXCLUDED_PARTNER_AREAS:
        return EXCLUDED_PARTNER_AREAS[c][0]
    country = pycountry.countries.get(numeric=f"{COMTRADE_TO_ISO_NUMERIC.get(c, c):03d}")
    name = iso2_name_en(country.alpha_2) if country else None
    return name or f"Area {c}"


def census_name_en(cty_code: object) -> str:
    """English name of a US Census partner code (5800 → South Korea)."""
    from trade_pipeline.defs.us_trade_census.resources import PARTNERS

    code = str(cty_code).strip()
    iso2 = CENSUS_TO_ISO2.get(code)
    name = iso2_name_en(iso2) if iso2 else None
    if name:
        return name
    census = PARTNERS.get(code, (None,))[0]
    return census.title() if census else f"Census partner {code}"


def hs2_desc_en(code: object) -> str:
    try:
        return hs2_short_en(str(code))
    except ValueError:
        return str(code)


#: English names that take "the" in running text (CLDR short names).
_THE_NAMES = frozenset(
    {
        "Netherlands",
        "Philippines",
        "Bahamas",
        "Gambia",
        "Maldives",
        "Comoros",
        "Seychelles",
        "Czech Republic",
        "Dominican Republic",
        "Central African Republic",
        "Vatican City",
        "Palestinian Territories",
        "World",
    }
)


def needs_the(name: object) -> bool:
    """Does this English country name take "the" in running text ("the United States", "the Netherlands")?"""
    if not isinstance(name, str):
        return False
    return name.startswith("United ") or name.endswith(" Islands") or name in _THE_NAMES

"""The one number-formatting module: every figure in every output goes through these functions.

Rules (one rounding rule everywhere: decimal ROUND_HALF_UP on the value as printed by ``repr``):

- USD amounts print in 億 (1e8) or 兆 (1e12):
    |v| rounds to >= 10,000 億  -> 兆 with two decimals          1.0304e12 -> "1.03 兆"
    |v| rounds to >= 10 億      -> 億 as an integer, grouped     7.0118e11 -> "7,012 億"
    |v| rounds to >= 1 億       -> 億 with one decimal           1.46e8    -> "1.5 億"
    smaller                     -> 億 with two decimals          3.5e7     -> "0.35 億"
  A deficit keeps its minus sign ("-6,193 億"); ``signed_usd`` also prints "+" for a surplus.
- Percentages (shares, YoY) print with two decimals: "14.76%", signed ones "+3.20%" / "-4.05%".
- HHI prints with two decimals and no grouping (the seed's "1188.50"), counts as grouped integers.

English forms (``lang="en"``, the English edition of the report): the same rounding, USD in billions/trillions:

    |v| rounds to >= 1,000 bn   -> tn with two decimals          1.0304e12 -> "1.03 tn"
    |v| rounds to >= 1 bn       -> bn with one decimal, grouped  3.601e11  -> "360.1 bn"
    smaller                     -> mn with one decimal           3.5e7     -> "35.0 mn"
  (one decimal of bn is 1 億: both editions print a figure to the same precision); signs, percentages, HHI and
  counts print as in zh-TW. :func:`format_as` takes the language.

Because a figure is always formatted from the stored value by the same function, the same figure prints
identically everywhere (report and Extractor files alike), and the report's claim check can re-format a stored
value and compare strings. A NULL prints ``--`` (:func:`optional`, :func:`cell`); a value that is not a finite
number (NaN, ±inf) is never printed: it raises :class:`NonFiniteValueError`, and callers name the figure's source
with :func:`figure_source` so the error says which table, row, column and output file it came from.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal

YI = Decimal(100_000_000)  # 億
ZHAO = Decimal(1_000_000_000_000)  # 兆
MISSING = "--"


class NonFiniteValueError(ValueError):
    """A figure that is not a finite number (NaN, ±inf, None) reached formatting: it has no printed form."""


@contextlib.contextmanager
def figure_source(label: str) -> Iterator[None]:
    """Name where the figures formatted inside the block come from (a table, row and column; an output file).

    A :class:`NonFiniteValueError` raised inside is re-raised with ``label`` in front, so nested blocks read from
    the outside in: ``"[comtrade] Extractor/…/842-hhi-2024.md from market_concentration week 2026-01-26: column
    hhi: cannot format non-finite value nan"``.
    """
    try:
        yield
    except NonFiniteValueError as exc:
        raise NonFiniteValueError(f"{label}: {exc}") from None


def _dec(value: float | int) -> Decimal:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise NonFiniteValueError(f"cannot format non-finite value {value!r}")
    # str() of a float is its shortest round-trip repr, so 0.125 rounds half-up to 0.13 as a reader expects.
    return Decimal(str(value))


def round_half_up(value: float | int | Decimal, places: int) -> Decimal:
    """Round with the module's single rounding rule (ROUND_HALF_UP)."""
    d = value if isinstance(value, Decimal) else _dec(value)
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _grouped(d: Decimal, places: int) -> str:
    return f"{d:,.{places}f}"


def usd_amount(value: float | int) -> str:
    """USD amount in 億/兆 without the currency prefix: '7,012 億', '1.03 兆', '-6,193 億'."""
    d = _dec(value)
    sign = "-" if d < 0 else ""
    mag = abs(d)
    yi = round_half_up(mag / YI, 0)
    if yi >= 10_000:
        text = f"{_grouped(round_half_up(mag / ZHAO, 2), 2)} 兆"
    elif (one := round_half_up(mag / YI, 1)) >= 10:
        text = f"{_grouped(yi, 0)} 億"
    elif one >= 1:  # 1–10 億: one decimal (as an integer, 0.5–1.5 億 would all print "1 億")
        text = f"{one} 億"
    else:
        text = f"{_grouped(round_half_up(mag / YI, 2), 2)} 億"
    # "-0.00 億" would be a sign without a value: a rounded zero prints unsigned.
    if text.startswith(("0 ", "0.00 ")):
        sign = ""
    return sign + text


def usd(value: float | int) -> str:
    """'USD 7,012 億' (the form used in running text)."""
    return f"USD {usd_amount(value)}"


def signed_usd(value: float | int) -> str:
    """Balance with an explicit sign: '+6,971 億' (surplus), '-1,754 億' (deficit), '0 億'."""
    text = usd_amount(value)
    if text.startswith("-") or text.startswith(("0 ", "0.00 ")):
        return text
    return "+" + text


def usd_signed(value: float | int) -> str:
    """A balance in running text, currency and sign shown: 'USD +6,971 億', 'USD -1,754 億'."""
    return f"USD {signed_usd(value)}"


def pct(value: float | int) -> str:
    """Percent value (14.76 means 14.76 %) with two decimals: '14.76%'."""
    d = round_half_up(value, 2)
    if d == 0:
        d = abs(d)
    return f"{d:.2f}%"


def signed_pct(value: float | int) -> str:
    """Change in percent with an explicit sign: '+3.20%', '-4.05%', '0.00%'."""
    d = round_half_up(value, 2)
    if d == 0:
        return "0.00%"
    return f"{'+' if d > 0 else ''}{d:.2f}%"


def hhi(value: float | int) -> str:
    """Herfindahl-Hirschman index (0-10,000) with two decimals, no grouping: '1188.50'."""
    d = round_half_up(value, 2)
    if d == 0:
        d = abs(d)
    return f"{d:.2f}"


def usd_exact(value: float | int) -> str:
    """An exact USD amount, whole dollars, grouped: '123,456,789' (Extractor files print it next to the 億 form)."""
    return _grouped(round_half_up(value, 0), 0)


def signed_usd_exact(value: float | int) -> str:
    """An exact USD change with an explicit sign: '+1,234', '-56', '0'."""
    d = round_half_up(value, 0)
    if d == 0:
        return "0"
    return f"{'+' if d > 0 else ''}{_grouped(d, 0)}"


def count(value: int | float) -> str:
    """A count of things (partners, announcements): '220', '1,024'."""
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"a count must be whole, got {value!r}")
        value = int(value)
    return f"{value:,}"


def number(value: float | int, places: int = 2) -> str:
    """A plain decimal (used for thresholds and other constants)."""
    return _grouped(round_half_up(value, places), places)


# --- English forms (the English edition) ----------------------------------------------------------------------

BN = Decimal(1_000_000_000)
TN = Decimal(1_000_000_000_000)
MN = Decimal(1_000_000)


def usd_amount_en(value: float | int) -> str:
    """USD amount in mn/bn/tn without the currency prefix: '360.1 bn', '1.03 tn', '-318.1 bn', '35.0 mn'."""
    d = _dec(value)
    sign = "-" if d < 0 else ""
    mag = abs(d)
    bn = round_half_up(mag / BN, 1)
    if bn >= 1_000:
        text = f"{_grouped(round_half_up(mag / TN, 2), 2)} tn"
    elif bn >= 1:
        text = f"{_grouped(bn, 1)} bn"
    else:
        mn = round_half_up(mag / MN, 1)
        text = f"{_grouped(mn, 1)} mn"
    if text.startswith(("0.0 ", "0.00 ")):  # a rounded zero prints unsigned
        sign = ""
    return sign + text


def usd_en(value: float | int) -> str:
    """'USD 360.1 bn' (running text)."""
    return f"USD {usd_amount_en(value)}"


def signed_usd_en(value: float | int) -> str:
    """Balance with an explicit sign: '+24.2 bn' (surplus), '-318.1 bn' (deficit), '0.0 mn'."""
    text = usd_amount_en(value)
    if text.startswith("-") or text.startswith(("0.0 ", "0.00 ")):
        return text
    return "+" + text


def usd_signed_en(value: float | int) -> str:
    """A balance in running text, currency and sign shown: 'USD +24.2 bn', 'USD -318.1 bn'."""
    return f"USD {signed_usd_en(value)}"


#: Format kinds by name, so a recorded claim can say how its value was printed and be re-checked later.
FORMATTERS = {
    "usd": usd,
    "usd_amount": usd_amount,
    "signed_usd": signed_usd,
    "usd_signed": usd_signed,
    "pct": pct,
    "signed_pct": signed_pct,
    "hhi": hhi,
    "count": count,
    "usd_exact": usd_exact,
    "signed_usd_exact": signed_usd_exact,
    "int": lambda v: f"{int(round_half_up(v, 0))}",
}


#: The English edition's forms of the kinds that differ by language (the others print the same in every language).
FORMATTERS_EN = {
    **FORMATTERS,
    "usd": usd_en,
    "usd_amount": usd_amount_en,
    "signed_usd": signed_usd_en,
    "usd_signed": usd_signed_en,
}
#: Languages with their own forms; any other language tag (zh-TW, zh) prints the zh-TW forms.
FORMATTERS_BY_LANG = {"en": FORMATTERS_EN}
DEFAULT_LANG = "zh-TW"


def formatters(lang: str | None = None) -> dict[str, Callable[[float | int], str]]:
    """The format kinds of a language ('en' → English forms; None / 'zh-TW' → the report's zh-TW forms)."""
    return FORMATTERS_BY_LANG.get((lang or DEFAULT_LANG).split("-")[0].lower(), FORMATTERS)


def optional(fn: Callable[[float | int], str], value: float | int | None) -> str:
    """``fn(value)``, or ``--`` when the value is NULL (a NaN still raises :class:`NonFiniteValueError`)."""
    return MISSING if value is None else fn(value)


def cell(fn: Callable[[float | int], str], row: Mapping[str, object], column: str) -> str:
    """``row[column]`` formatted with ``fn`` (``--`` when NULL); a non-finite value's error names the column."""
    value = row.get(column)
    if value is None:
        return MISSING
    with figure_source(f"column {column}"):
        return fn(value)  # type: ignore[arg-type]


def format_as(kind: str, value: float | int, lang: str | None = None) -> str:
    """``value`` printed as format ``kind`` in ``lang`` (default zh-TW)."""
    table = formatters(lang)
    try:
        fn = table[kind]
    except KeyError:
        raise ValueError(f"unknown format kind {kind!r} (known: {sorted(table)})") from None
    return fn(value)

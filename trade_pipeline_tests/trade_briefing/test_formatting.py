"""The single number-formatting module: 億/兆 boundaries, half-up rounding, signs, percentages."""

import pytest

from trade_pipeline.core import formatting as fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (701.18e9, "7,012 億"),  # seed: 加拿大 USD 7,012 億
        (1.0304e12, "1.03 兆"),  # seed: 中國對美國出口 USD 1.03 兆
        (13.8e9, "138 億"),
        (-619.3e9, "-6,193 億"),  # deficits keep their sign
        (105.15e9, "1,052 億"),  # half-up: 1,051.5 -> 1,052, never 1,051 elsewhere
        (999_949_999_999, "9,999 億"),
        (999_950_000_000, "1.00 兆"),  # rounds to 10,000 億 -> switches to 兆
        (1.46e8, "1.5 億"),  # 1–10 億: one decimal
        (9.5e8, "9.5 億"),
        (-5.04e8, "-5.0 億"),
        (9.96e8, "10 億"),  # rounds to 10.0 -> integer
        (99.5e6, "1.0 億"),  # 0.995 rounds to 1.0 at one decimal
        (35e6, "0.35 億"),
        (-1e5, "0.00 億"),  # a rounded zero is unsigned
    ],
)
def test_usd_amount(value: float, expected: str) -> None:
    assert fmt.usd_amount(value) == expected
    assert fmt.usd(value) == f"USD {expected}"


def test_signed_usd_marks_surplus_and_deficit() -> None:
    assert fmt.signed_usd(697.1e9) == "+6,971 億"
    assert fmt.signed_usd(-175.4e9) == "-1,754 億"
    assert fmt.signed_usd(0.0) == "0.00 億"


def test_percentages_two_decimals_half_up() -> None:
    assert fmt.pct(14.755) == "14.76%"
    assert fmt.pct(0.125) == "0.13%"
    assert fmt.pct(-0.001) == "0.00%"
    assert fmt.signed_pct(3.2) == "+3.20%"
    assert fmt.signed_pct(-4.049) == "-4.05%"
    assert fmt.signed_pct(0.004) == "0.00%"


def test_hhi_and_counts() -> None:
    assert fmt.hhi(1188.5) == "1188.50"
    assert fmt.hhi(447.175) == "447.18"
    assert fmt.count(220) == "220"
    assert fmt.count(1024.0) == "1,024"
    with pytest.raises(ValueError):
        fmt.count(2.5)


def test_non_finite_and_unknown_kind_are_errors() -> None:
    with pytest.raises(ValueError):
        fmt.usd(float("nan"))
    with pytest.raises(ValueError):
        fmt.format_as("euros", 1.0)
    assert fmt.format_as("hhi", 723.514) == "723.51"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (360.1e9, "360.1 bn"),  # 3,601 億: one decimal of bn is the precision of 億
        (1.0304e12, "1.03 tn"),
        (999.94e9, "999.9 bn"),
        (999.95e9, "1.00 tn"),  # rounds to 1,000.0 bn -> switches to tn
        (-318.1e9, "-318.1 bn"),
        (35e6, "35.0 mn"),
        (-1e4, "0.0 mn"),  # a rounded zero is unsigned
    ],
)
def test_usd_amount_in_english(value: float, expected: str) -> None:
    assert fmt.format_as("usd_amount", value, "en") == expected
    assert fmt.format_as("usd", value, "en") == f"USD {expected}"


def test_signed_english_forms_and_language_selection() -> None:
    assert fmt.format_as("signed_usd", 24.2e9, "en") == "+24.2 bn"
    assert fmt.format_as("usd_signed", -189.4e9, "en") == "USD -189.4 bn"
    assert fmt.format_as("usd_signed", 0.0, "en") == "USD 0.0 mn"
    # languages without forms of their own print the zh-TW forms; kinds that do not differ print alike
    assert fmt.format_as("usd", 360.1e9, "zh-TW") == fmt.format_as("usd", 360.1e9) == "USD 3,601 億"
    assert fmt.format_as("pct", 14.755, "en") == fmt.format_as("pct", 14.755) == "14.76%"
    assert fmt.format_as("hhi", 2013.867, "en") == "2013.87"

"""The capitals (大写) of amounts on approval forms, after 中国人民银行《正确填写票据和结算凭证的
基本规定》, and the "¥12,345.60" form. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xietong.workflow.money import DIGITS, MAX_AMOUNT, format_yuan, to_chinese_uppercase


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        # The standard cases: 零 inside, 整 after whole 元, zero, 角 without 分.
        ("12345.60", "壹万贰仟叁佰肆拾伍元陆角"),
        ("10005", "壹万零伍元整"),
        ("10", "壹拾元整"),
        ("0", "零元整"),
        ("0.12", "壹角贰分"),
        # The examples of the 基本规定 (rules 1–4; where either form is allowed, the one without 零).
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万零柒仟元伍角叁分"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        # Single digits and the fractional part alone.
        ("1", "壹元整"),
        ("9", "玖元整"),
        ("0.01", "壹分"),
        ("0.05", "伍分"),
        ("0.10", "壹角"),
        ("0.5", "伍角"),
        ("0.99", "玖角玖分"),
        ("1.01", "壹元零壹分"),
        ("10.05", "壹拾元零伍分"),
        ("100.50", "壹佰元伍角"),
        # 拾 is always written with its digit in the financial form.
        ("11", "壹拾壹元整"),
        ("19.90", "壹拾玖元玖角"),
        ("110", "壹佰壹拾元整"),
        ("100010", "壹拾万零壹拾元整"),
        # Zeros inside the number: one 零 for a run, none at the end.
        ("100", "壹佰元整"),
        ("101", "壹佰零壹元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1100", "壹仟壹佰元整"),
        ("10000", "壹万元整"),
        ("10100", "壹万零壹佰元整"),
        ("11000", "壹万壹仟元整"),
        ("100000", "壹拾万元整"),
        ("1000000", "壹佰万元整"),
        ("20000000", "贰仟万元整"),
        ("20000001", "贰仟万零壹元整"),
        ("20010000", "贰仟零壹万元整"),
        # 亿, and 万亿 above it.
        ("100000000", "壹亿元整"),
        ("100000005", "壹亿零伍元整"),
        ("100010000", "壹亿零壹万元整"),
        ("105000000", "壹亿零伍佰万元整"),
        ("150000000", "壹亿伍仟万元整"),
        ("100000000005", "壹仟亿零伍元整"),
        ("1000000000000", "壹万亿元整"),
        ("1000000000001", "壹万亿零壹元整"),
        ("1000100000000", "壹万零壹亿元整"),
        ("1000000010000", "壹万亿零壹万元整"),
        ("2300450000000000", "贰仟叁佰万零肆仟伍佰亿元整"),
        ("9999999999999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        # Negative amounts.
        ("-3.50", "负叁元伍角"),
        ("-10005", "负壹万零伍元整"),
        ("-0.01", "负壹分"),
        # Rounded half up to the fen, as cashiers do.
        ("0.005", "壹分"),
        ("0.004", "零元整"),
        ("-0.004", "零元整"),
        ("1.995", "贰元整"),
        ("2.675", "贰元陆角捌分"),
    ],
)
def test_capitals(amount: str, capitals: str) -> None:
    assert to_chinese_uppercase(Decimal(amount)) == capitals


def test_whole_numbers_are_accepted() -> None:
    assert to_chinese_uppercase(10005) == "壹万零伍元整"


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "10000000000000000", "-1E+16", "1E+40"])
def test_amounts_without_capitals_are_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        to_chinese_uppercase(Decimal(amount))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("12345.6", "¥12,345.60"),
        ("0", "¥0.00"),
        ("0.005", "¥0.01"),
        ("999", "¥999.00"),
        ("1000", "¥1,000.00"),
        ("-12", "-¥12.00"),
        ("-0.001", "¥0.00"),
        ("9999999999999999.99", "¥9,999,999,999,999,999.99"),
    ],
)
def test_format_yuan(amount: str, text: str) -> None:
    assert format_yuan(Decimal(amount)) == text


# ---------------------------------------------------------------------------------------------
# Properties: the capitals read back to the amount, and follow the rules of form


_SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def read_capitals(text: str) -> Decimal:
    """An independent reader of capitals, the way a person adds them up."""
    negative = text.startswith("负")
    text = text.removeprefix("负").removesuffix("整")
    yuan_text, _sep, fraction = text.partition("元") if "元" in text else ("", "", text)
    total = section = digit = 0
    for char in yuan_text:
        if char in DIGITS:
            digit = DIGITS.index(char)
        elif char in _SMALL:
            section += digit * _SMALL[char]
            digit = 0
        elif char == "万":
            section = (section + digit) * 10_000
            digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
        else:
            raise AssertionError(f"unexpected {char!r} in {text!r}")
    yuan = total + section + digit
    jiao = fen = 0
    previous = ""
    for char in fraction:
        if char == "角":
            jiao = DIGITS.index(previous)
        elif char == "分":
            fen = DIGITS.index(previous)
        previous = char
    value = Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100
    return -value if negative else value


amounts = st.decimals(
    min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False
)


@given(amounts)
def test_capitals_read_back_to_the_amount(amount: Decimal) -> None:
    assert read_capitals(to_chinese_uppercase(amount)) == amount


@given(amounts)
def test_capitals_follow_the_rules_of_form(amount: Decimal) -> None:
    text = to_chinese_uppercase(amount)
    body = text.removeprefix("负")
    assert text.startswith("负") == (amount < 0)
    assert "零零" not in text
    # 零 is never followed by a unit and never ends the yuan part.
    for unit in "拾佰仟万亿元角":
        assert "零" + unit not in body.replace("零元整", "")
    assert not body.startswith("零") or body == "零元整"
    # 整 exactly when there are no 角 and 分; 分 is never followed by 整.
    cents = int(abs(amount) * 100) % 100
    assert body.endswith("整") == (cents == 0)
    assert ("角" in body) == (cents // 10 != 0)
    assert ("分" in body) == (cents % 10 != 0)
    # Every 拾 carries its digit (壹拾, never a bare 拾).
    for index, char in enumerate(body):
        if char in "拾佰仟":
            assert body[index - 1] in DIGITS[1:]


@given(st.integers(min_value=-(10**16) + 1, max_value=10**16 - 1))
def test_whole_amounts_end_with_zheng(yuan: int) -> None:
    text = to_chinese_uppercase(yuan)
    assert text.endswith("元整")
    assert read_capitals(text) == yuan

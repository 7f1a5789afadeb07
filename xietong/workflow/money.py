"""Amounts of money as people read them on a form: "¥12,345.60" and the financial capitals
(大写) that banks and accountants require on approval forms and vouchers.

The capitals follow 中国人民银行《正确填写票据和结算凭证的基本规定》:
- a run of zeros between two non-zero digits of the yuan part is written as one 零
  (1409.50 → 壹仟肆佰零玖元伍角, 6007.14 → 陆仟零柒元壹角肆分, 10005 → 壹万零伍元整);
- 零 after 元 when the 角 digit is zero and the 分 digit is not (325.04 → 叁佰贰拾伍元零肆分);
- where the rules allow either form (a zero 元 digit before a non-zero 角), no 零 is written
  (1680.32 → 壹仟陆佰捌拾元叁角贰分);
- 整 after 元 when there are no 角 and 分, none after 角 (12345.60 → 壹万贰仟叁佰肆拾伍元陆角);
- the financial form always writes 壹拾 (10 → 壹拾元整).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
# The unit inside a group of four digits, by position (ones, tens, hundreds, thousands).
_SMALL_UNITS = ("", "拾", "佰", "仟")

CENT = Decimal("0.01")
#: The largest amount that has capitals: 9999万亿 and change (16 digits before the point).
MAX_AMOUNT = Decimal("9999999999999999.99")


def quantize_cents(amount: Decimal | int) -> Decimal:
    """``amount`` rounded to the fen the way cashiers do (half up)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_chinese_uppercase(amount: Decimal | int) -> str:
    """The 大写 of ``amount`` in yuan, rounded half up to the fen.

    Raises ``ValueError`` for NaN, infinities and amounts of 亿亿 (10^16) and beyond.
    """
    try:
        cents = int(quantize_cents(amount).scaleb(2))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if abs(cents) > int(MAX_AMOUNT.scaleb(2)):
        raise ValueError(f"amount out of range: {amount!r}")
    if cents < 0:
        return "负" + _capitals(-cents)
    return _capitals(cents)


def _capitals(cents: int) -> str:
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    text = _yuan_capitals(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return text


def _yuan_capitals(yuan: int) -> str:
    """The capitals of a positive whole number below 10^16, without the 元."""
    digits = [int(d) for d in reversed(str(yuan))]  # digits[p] is the digit of 10^p
    parts: list[str] = []
    zeros_pending = False
    for position in range(len(digits) - 1, -1, -1):
        digit = digits[position]
        if digit:
            if zeros_pending:
                parts.append("零")
                zeros_pending = False
            parts.append(DIGITS[digit] + _SMALL_UNITS[position % 4])
        elif parts:
            zeros_pending = True
        if position in (4, 12) and any(digits[position : position + 4]):
            parts.append("万")
        elif position == 8 and any(digits[8:]):
            # 亿 counts everything above it: 10^12 is 壹万亿, 10^12 + 10^8 is 壹万零壹亿.
            parts.append("亿")
    return "".join(parts)


def format_yuan(amount: Decimal | int) -> str:
    """ "¥12,345.60"; a negative amount as "-¥12.00"."""
    value = quantize_cents(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"

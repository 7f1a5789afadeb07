"""Form specifications of approval flows: what a form holds, how submitted data is checked and
normalised, what a condition compares and how a filled-in form is shown and printed.

A specification is JSON stored on a flow version (``{"fields": [...]}``, see ``parse_form``).
``FormSpec.clean`` is the only way data enters an instance: it checks every value, drops what
the form does not know, keeps read-only and hidden fields at their previous value whatever was
sent, and computes the formula fields itself — a client never supplies them.

Normalised values (what ``clean`` returns and the runtime stores):
text/textarea/select → ``str`` or None; number/money/computed → ``Decimal`` or None (money with
2 places); date → "YYYY-MM-DD" or None; daterange → ["YYYY-MM-DD", "YYYY-MM-DD"] or None;
multiselect → list of options in the order of the specification; user/unit → id or None, a list
of ids when ``multiple``; attachments → list of file keys (uuid strings); table → list of row
dicts (every column present). Stored as JSON (``DjangoJSONEncoder``), decimals come back as
strings: every reader here accepts both.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, datetime
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import partial
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from xietong.core.errors import DomainError
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org.models import OrgUnit
from xietong.workflow import money

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")

# Field permissions of a flow node.
HIDDEN = "hidden"
READONLY = "readonly"
EDITABLE = "editable"
REQUIRED = "required"
PERMISSION_LEVELS = (HIDDEN, READONLY, EDITABLE, REQUIRED)

#: Largest magnitude of a number or an amount: what still has capitals (9999万亿).
MAX_NUMBER = money.MAX_AMOUNT
MAX_DECIMALS = 6
MAX_FIELDS = 200
MAX_COLUMNS = 30
MAX_ROWS = 500
MAX_EXPRESSION_LENGTH = 500
MAX_ID = 2**63 - 1  # larger ids overflow the database's integer parameters


class FormSpecError(DomainError):
    """The specification itself is wrong; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            _("表单定义有误：%(problems)s") % {"problems": "；".join(self.problems)}, details=self.problems
        )


class FormDataError(DomainError):
    """Submitted data does not fit the form; ``errors`` maps a field key (or "items.2.qty" for a
    cell of a table, 0-based row) to a Chinese message naming the field."""

    SHOWN_IN_MESSAGE = 3

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        messages = list(self.errors.values())
        message = _("表单填写有误：%(errors)s") % {"errors": "；".join(messages[: self.SHOWN_IN_MESSAGE])}
        if len(messages) > self.SHOWN_IN_MESSAGE:
            message += _("（共 %(count)d 处）") % {"count": len(messages)}
        super().__init__(message, details=self.errors)


class _Invalid(Exception):
    """One value is wrong; the message names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------
# Parsing of single values, shared by field options and submitted data


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|[+-]?\.[0-9]+")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class OutOfRangeError(ValueError):
    """A number, but beyond ``MAX_NUMBER``."""


def parse_decimal(value: Any) -> Decimal:
    """A finite number within ``MAX_NUMBER`` from a number or a text such as "1,234.5" or
    "１２３" (full-width digits of a Chinese input method); ``OutOfRangeError`` beyond it,
    ``ValueError`` for anything else."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER:
            raise OutOfRangeError("out of range")
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not finite")
        number = Decimal(repr(value))  # the shortest text of the float: 0.1 stays 0.1
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value[:100]).strip()
        if len(value) > 100 or len(text) > 40 or not _NUMBER_TEXT.fullmatch(text):
            raise ValueError("not a number")
        number = Decimal(text.replace(",", ""))
    else:
        raise ValueError("not a number")
    if not number.is_finite():
        raise ValueError("not finite")
    if abs(number) > MAX_NUMBER:
        raise OutOfRangeError("out of range")
    if number.as_tuple().exponent < -30:  # type: ignore[operator]  # finite, so an int
        raise ValueError("too many decimal places")
    return abs(number) if number == 0 else number  # no "-0"


def _decimal_or_none(value: Any) -> Decimal | None:
    try:
        return parse_decimal(value)
    except ValueError:
        return None


def parse_date(value: Any) -> date:
    """A date from "YYYY-MM-DD" (or a ``date``); ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _DATE_TEXT.fullmatch(text):
            return date.fromisoformat(text)
    raise ValueError("not a date")


def _date_or_none(value: Any) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def _plain(number: Decimal) -> str:
    """A bound as people write it: 0 rather than 0.00, 100 rather than 1E+2."""
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "0") else text


def chinese_date(day: date) -> str:
    """The date as "2026年11月29日": digits without leading zeros, as on official documents."""
    return f"{day.year}年{day.month}月{day.day}日"


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _check_characters(text: str, label: str, *, multiline: bool) -> None:
    for char in text:
        if char == "\n" and not multiline:
            raise _Invalid(_("“%(label)s”不能换行") % {"label": label})
        # Control characters and lone surrogates: PostgreSQL refuses NUL in JSON, UTF-8 cannot
        # encode a surrogate, and neither is anything a person typed.
        if char not in "\n\t" and unicodedata.category(char) in ("Cc", "Cs"):
            raise _Invalid(_("“%(label)s”含有无法显示的控制字符") % {"label": label})


# ---------------------------------------------------------------------------------------------
# Reading a field's options from the specification


class _Options:
    """The raw attributes of one field and the problems found reading them."""

    def __init__(self, raw: Mapping[str, Any], where: str, problems: list[str]) -> None:
        self.raw = raw
        self.where = where
        self.problems = problems

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.where}：{message}")

    def text(self, name: str, *, default: str = "", max_length: int = 200, required: bool = False) -> str:
        value = self.raw.get(name)
        if value is None:
            if required:
                self.problem(_("缺少“%(name)s”") % {"name": name})
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(_("“%(name)s”必须是非空文本") % {"name": name})
            return default
        if len(value) > max_length:
            self.problem(_("“%(name)s”不能超过 %(max)d 个字") % {"name": name, "max": max_length})
            return default
        return value

    def flag(self, name: str, *, default: bool = False) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            self.problem(_("“%(name)s”必须是 true 或 false") % {"name": name})
            return default
        return value

    def integer(self, name: str, *, default: int | None, low: int, high: int) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(
                _("“%(name)s”必须是 %(low)d 到 %(high)d 之间的整数")
                % {"name": name, "low": low, "high": high}
            )
            return default
        return value

    def number(self, name: str, *, default: Decimal | None = None) -> Decimal | None:
        value = self.raw.get(name)
        if value is None:
            return default
        try:
            return parse_decimal(value)
        except ValueError:
            self.problem(_("“%(name)s”必须是数字") % {"name": name})
            return default

    def day(self, name: str) -> date | None:
        value = self.raw.get(name)
        if value is None:
            return None
        try:
            if isinstance(value, str):
                return parse_date(value)
        except ValueError:
            pass
        self.problem(_("“%(name)s”必须是 YYYY-MM-DD 格式的日期") % {"name": name})
        return None

    def choices(self, name: str) -> tuple[str, ...]:
        value = self.raw.get(name)
        if not isinstance(value, list) or not value:
            self.problem(_("缺少选项“%(name)s”（至少一个）") % {"name": name})
            return ()
        if len(value) > 200:
            self.problem(_("选项不能超过 200 个"))
            return ()
        options: list[str] = []
        for option in value:
            if not isinstance(option, str) or not option.strip() or len(option) > 100:
                self.problem(_("选项必须是 1 到 100 个字的文本"))
            elif option in options:
                self.problem(_("选项“%(option)s”重复") % {"option": option})
            else:
                options.append(option)
        return tuple(options)


# ---------------------------------------------------------------------------------------------
# The field types


def _as_is(message: str) -> str:
    return message


@dataclass
class _At:
    """Where a value sits: its error key and how to word a message about it (a table cell's
    message names the table and the row)."""

    path: str
    wrap: Callable[[str], str] = _as_is


@dataclass
class _Reference:
    path: str
    ids: list[Any]
    message: str


@dataclass
class _Cleaning:
    """The state of one ``clean``: errors so far, and the ids to look up once per kind."""

    partial: bool
    check_references: bool = True
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    references: dict[str, list[_Reference]] = dataclasses.field(default_factory=dict)

    def refer(self, kind: str, ids: list[Any], at: _At, message: str) -> None:
        if self.check_references and ids:
            self.references.setdefault(kind, []).append(_Reference(at.path, ids, at.wrap(message)))


class _Names:
    """Names of the users, units and files a display shows: one query per kind."""

    def __init__(self) -> None:
        self.user_ids: set[int] = set()
        self.unit_ids: set[int] = set()
        self.file_keys: set[uuid.UUID] = set()
        self.users: dict[int, str] = {}
        self.units: dict[int, str] = {}
        self.files: dict[str, tuple[str, int]] = {}

    def load(self) -> None:
        if self.user_ids:
            self.users = dict(User.objects.filter(pk__in=self.user_ids).values_list("pk", "name"))
        if self.unit_ids:
            self.units = dict(OrgUnit.objects.filter(pk__in=self.unit_ids).values_list("pk", "name"))
        if self.file_keys:
            self.files = {
                str(key): (name, size)
                for key, name, size in StoredFile.objects.filter(key__in=self.file_keys).values_list(
                    "key", "name", "size"
                )
            }


class FieldSpec:
    """One field of a form. Subclasses read their options and clean, compare and show values."""

    type: ClassVar[str] = ""
    #: The attributes this type accepts besides the common ones.
    OPTIONS: ClassVar[frozenset[str]] = frozenset()
    COMMON: ClassVar[frozenset[str]] = frozenset({"key", "type", "label", "required", "placeholder", "help"})
    #: False for description fields, which show text and hold no value.
    holds_value: ClassVar[bool] = True
    #: Numeric values: usable in formulas and column sums.
    numeric: ClassVar[bool] = False

    def __init__(self, options: _Options) -> None:
        self.raw = dict(options.raw)
        self.key: str = options.raw["key"]
        self.label: str = options.raw["label"]
        self.required = options.flag("required")
        self.placeholder = options.text("placeholder")
        self.help = options.text("help", max_length=500)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"

    # -- data ------------------------------------------------------------------------------

    def empty(self) -> Any:
        return None

    def is_empty(self, value: Any) -> bool:
        return _is_empty(value)

    def required_message(self) -> str:
        return _("请填写“%(label)s”") % {"label": self.label}

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        """The normalised value, ``empty()`` for an empty one; raises ``_Invalid``."""
        raise NotImplementedError

    def restore(self, value: Any) -> Any:
        """A value kept from before (read-only, hidden): normalised when it still reads as one,
        else kept as it was — it was checked when it was entered."""
        if _is_empty(value):
            return self.empty()
        cleaning = _Cleaning(partial=True, check_references=False)
        try:
            restored = self.clean_value(value, cleaning, _At(self.key))
        except _Invalid:
            return deepcopy(value)  # a copy: formulas fill in rows, the caller's data stays as it was
        return deepcopy(value) if cleaning.errors else restored

    def condition_value(self, value: Any) -> Any:
        return None if _is_empty(value) else value

    def number_value(self, value: Any) -> Decimal | None:
        """The value in a formula or a column sum (numeric fields only)."""
        return None

    # -- display ---------------------------------------------------------------------------

    def collect_names(self, value: Any, names: _Names) -> None:
        """Note the users, units and files ``value`` refers to."""

    def format(self, value: Any, names: _Names) -> str:
        return "" if _is_empty(value) else str(value)

    def format_sum(self, total: Decimal | None, names: _Names) -> str:
        """A column sum under a table."""
        return self.format(total, names)

    def uppercase(self, value: Any) -> str:
        return ""


class TextField(FieldSpec):
    type = "text"
    OPTIONS = frozenset({"max_length", "min_length", "pattern", "pattern_message"})
    multiline = False
    DEFAULT_MAX_LENGTH = 200
    LONGEST = 2000

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        longest = self.LONGEST
        self.max_length = options.integer("max_length", default=self.DEFAULT_MAX_LENGTH, low=1, high=longest)
        self.min_length = options.integer("min_length", default=0, low=0, high=longest) or 0
        if self.max_length is not None and self.min_length > self.max_length:
            options.problem(_("“min_length”不能大于“max_length”"))
        self.pattern: re.Pattern[str] | None = None
        source = options.text("pattern", max_length=200)
        if source:
            try:
                self.pattern = re.compile(source)
            except (re.error, RecursionError, OverflowError):
                options.problem(_("“pattern”不是有效的正则表达式"))
        self.pattern_message = options.text("pattern_message", max_length=100)

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**20:
            value = str(value)  # a phone or an order number sent as a number
        if not isinstance(value, str):
            raise _Invalid(_("“%(label)s”必须是文本") % {"label": self.label})
        text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if not text:
            return None
        if self.max_length is not None and len(text) > self.max_length:
            raise _Invalid(
                _("“%(label)s”不能超过 %(max)d 个字（现为 %(count)d 个）")
                % {"label": self.label, "max": self.max_length, "count": len(text)}
            )
        _check_characters(text, self.label, multiline=self.multiline)
        if len(text) < self.min_length:
            raise _Invalid(
                _("“%(label)s”至少需要 %(min)d 个字") % {"label": self.label, "min": self.min_length}
            )
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise _Invalid(
                _("“%(label)s”%(message)s") % {"label": self.label, "message": self.pattern_message}
                if self.pattern_message
                else _("“%(label)s”的格式不正确") % {"label": self.label}
            )
        return text


class TextareaField(TextField):
    type = "textarea"
    multiline = True
    DEFAULT_MAX_LENGTH = 5000
    LONGEST = 20000


class DescriptionField(FieldSpec):
    """说明文字: text shown on the form; no value."""

    type = "description"
    OPTIONS = frozenset({"text"})
    holds_value = False

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.text = options.text("text", max_length=2000)
        if self.required:
            options.problem(_("说明文字不能设为必填"))


class NumberField(FieldSpec):
    type = "number"
    OPTIONS = frozenset({"min", "max", "decimals", "unit"})
    numeric = True
    DEFAULT_MIN: ClassVar[Decimal | None] = None

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.min = options.number("min", default=self.DEFAULT_MIN)
        self.max = options.number("max")
        if self.min is not None and self.max is not None and self.min > self.max:
            options.problem(_("“min”不能大于“max”"))
        self.decimals = self._read_decimals(options)
        self.unit = options.text("unit", max_length=10)

    def _read_decimals(self, options: _Options) -> int | None:
        return options.integer("decimals", default=None, low=0, high=MAX_DECIMALS)

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            number = parse_decimal(value)
        except OutOfRangeError:
            raise _Invalid(_("“%(label)s”超出允许的范围") % {"label": self.label}) from None
        except ValueError:
            raise _Invalid(_("“%(label)s”必须是数字") % {"label": self.label}) from None
        places = MAX_DECIMALS if self.decimals is None else self.decimals
        step = Decimal(1).scaleb(-places)
        if number.quantize(step) != number:
            if places == 0:
                raise _Invalid(_("“%(label)s”必须是整数") % {"label": self.label})
            raise _Invalid(
                _("“%(label)s”最多保留 %(places)d 位小数") % {"label": self.label, "places": places}
            )
        if self.min is not None and number < self.min:
            raise _Invalid(_("“%(label)s”不能小于 %(min)s") % {"label": self.label, "min": _plain(self.min)})
        if self.max is not None and number > self.max:
            raise _Invalid(_("“%(label)s”不能大于 %(max)s") % {"label": self.label, "max": _plain(self.max)})
        if self.decimals is not None:
            return number.quantize(step)
        # As entered (1.50 stays 1.50), but never in exponent form (1E+2 → 100).
        exponent: int = number.as_tuple().exponent  # type: ignore[assignment]  # finite
        return number.quantize(Decimal(1).scaleb(min(0, exponent)))

    def condition_value(self, value: Any) -> Any:
        return self.number_value(value)

    def number_value(self, value: Any) -> Decimal | None:
        return None if _is_empty(value) else _decimal_or_none(value)

    def format(self, value: Any, names: _Names) -> str:
        number = self.number_value(value)
        if number is None:
            return "" if _is_empty(value) else str(value)
        text = f"{number:,f}"
        return f"{text} {self.unit}" if self.unit else text


class MoneyField(NumberField):
    """金额: never negative unless the form says so, always two decimals, shown with 大写."""

    type = "money"
    OPTIONS = frozenset({"min", "max"})
    DEFAULT_MIN = Decimal(0)

    def _read_decimals(self, options: _Options) -> int | None:
        return 2

    def format(self, value: Any, names: _Names) -> str:
        number = self.number_value(value)
        if number is None:
            return "" if _is_empty(value) else str(value)
        return money.format_yuan(number)

    def uppercase(self, value: Any) -> str:
        number = self.number_value(value)
        return "" if number is None else money.to_chinese_uppercase(number)


class DateField(FieldSpec):
    type = "date"
    OPTIONS = frozenset({"min", "max"})

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.min = options.day("min")
        self.max = options.day("max")
        if self.min is not None and self.max is not None and self.min > self.max:
            options.problem(_("“min”不能晚于“max”"))

    def required_message(self) -> str:
        return _("请选择“%(label)s”") % {"label": self.label}

    def _day(self, value: Any) -> date:
        try:
            return parse_date(value)
        except ValueError:
            raise _Invalid(
                _("“%(label)s”不是有效的日期（格式为 YYYY-MM-DD）") % {"label": self.label}
            ) from None

    def _check_bounds(self, day: date) -> None:
        if self.min is not None and day < self.min:
            raise _Invalid(
                _("“%(label)s”不能早于 %(min)s") % {"label": self.label, "min": chinese_date(self.min)}
            )
        if self.max is not None and day > self.max:
            raise _Invalid(
                _("“%(label)s”不能晚于 %(max)s") % {"label": self.label, "max": chinese_date(self.max)}
            )

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "":
            return None
        day = self._day(value)
        self._check_bounds(day)
        return day.isoformat()

    def condition_value(self, value: Any) -> Any:
        return None if _is_empty(value) else _date_or_none(value)

    def format(self, value: Any, names: _Names) -> str:
        day = None if _is_empty(value) else _date_or_none(value)
        return chinese_date(day) if day else ("" if _is_empty(value) else str(value))


class DateRangeField(DateField):
    """日期区间: [start, end], both days included; its duration in days is what conditions and
    formulas use (请假 3 天)."""

    type = "daterange"
    OPTIONS = frozenset({"min", "max", "max_days"})
    numeric = True

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.max_days = options.integer("max_days", default=None, low=1, high=36600)

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "" or value == []:
            return None
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _Invalid(_("“%(label)s”必须包含开始和结束两个日期") % {"label": self.label})
        if all(part is None or part == "" for part in value):
            return None
        if any(part is None or part == "" for part in value):
            raise _Invalid(_("请填写完整的“%(label)s”") % {"label": self.label})
        start, end = self._day(value[0]), self._day(value[1])
        if end < start:
            raise _Invalid(_("“%(label)s”的结束日期不能早于开始日期") % {"label": self.label})
        self._check_bounds(start)
        self._check_bounds(end)
        if self.max_days is not None and (end - start).days + 1 > self.max_days:
            raise _Invalid(
                _("“%(label)s”不能超过 %(days)d 天") % {"label": self.label, "days": self.max_days}
            )
        return [start.isoformat(), end.isoformat()]

    @staticmethod
    def bounds(value: Any) -> tuple[date, date] | None:
        if not isinstance(value, list | tuple) or len(value) != 2:
            return None
        start, end = _date_or_none(value[0]), _date_or_none(value[1])
        return (start, end) if start and end else None

    def days(self, value: Any) -> int | None:
        """The duration in days, both ends included."""
        bounds = self.bounds(value)
        return (bounds[1] - bounds[0]).days + 1 if bounds else None

    def condition_value(self, value: Any) -> Any:
        return self.number_value(value)

    def number_value(self, value: Any) -> Decimal | None:
        days = self.days(value)
        return None if days is None else Decimal(days)

    def format_sum(self, total: Decimal | None, names: _Names) -> str:
        return "" if total is None else _("共 %(days)s 天") % {"days": _plain(total)}

    def format(self, value: Any, names: _Names) -> str:
        bounds = self.bounds(value)
        if bounds is None:
            return "" if _is_empty(value) else str(value)
        start, end = bounds
        return _("%(start)s 至 %(end)s（共 %(days)d 天）") % {
            "start": chinese_date(start),
            "end": chinese_date(end),
            "days": (end - start).days + 1,
        }


class SelectField(FieldSpec):
    type = "select"
    OPTIONS = frozenset({"options"})

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.options = options.choices("options")

    def required_message(self) -> str:
        return _("请选择“%(label)s”") % {"label": self.label}

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value not in self.options:
            raise _Invalid(_("“%(label)s”的选项无效") % {"label": self.label})
        return value


class MultiSelectField(SelectField):
    type = "multiselect"
    OPTIONS = frozenset({"options", "min_choices", "max_choices"})

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        count = len(self.options)
        self.min_choices = options.integer("min_choices", default=0, low=0, high=max(count, 0)) or 0
        self.max_choices = options.integer("max_choices", default=None, low=1, high=max(count, 1))
        if self.max_choices is not None and self.min_choices > self.max_choices:
            options.problem(_("“min_choices”不能大于“max_choices”"))

    def empty(self) -> Any:
        return []

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "":
            return []
        if not isinstance(value, list | tuple) or not all(isinstance(choice, str) for choice in value):
            raise _Invalid(_("“%(label)s”必须是选项的列表") % {"label": self.label})
        if any(choice not in self.options for choice in value):
            raise _Invalid(_("“%(label)s”包含无效的选项") % {"label": self.label})
        chosen = [option for option in self.options if option in value]  # the order of the form
        if chosen and len(chosen) < self.min_choices and not cleaning.partial:
            raise _Invalid(
                _("“%(label)s”至少选择 %(min)d 项") % {"label": self.label, "min": self.min_choices}
            )
        if self.max_choices is not None and len(chosen) > self.max_choices:
            raise _Invalid(
                _("“%(label)s”最多选择 %(max)d 项") % {"label": self.label, "max": self.max_choices}
            )
        return chosen

    def condition_value(self, value: Any) -> Any:
        return list(value) if isinstance(value, list | tuple) else []

    def format(self, value: Any, names: _Names) -> str:
        return "、".join(str(choice) for choice in value) if isinstance(value, list | tuple) else ""


class _ReferenceField(FieldSpec):
    """A field that holds ids of rows elsewhere (users, units): checked in one query per kind."""

    OPTIONS = frozenset({"multiple", "max_count"})
    kind: ClassVar[str] = ""

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.multiple = options.flag("multiple")
        self.max_count = options.integer("max_count", default=50, low=1, high=200) or 50

    def empty(self) -> Any:
        return [] if self.multiple else None

    def required_message(self) -> str:
        return _("请选择“%(label)s”") % {"label": self.label}

    def missing_message(self) -> str:
        raise NotImplementedError

    @staticmethod
    def _id(value: Any) -> int | None:
        """A positive id from an int or a text of ASCII digits; None for anything else."""
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return value if 0 < value <= MAX_ID else None

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "" or (self.multiple and value == []):
            return self.empty()
        if self.multiple:
            if not isinstance(value, list | tuple):
                raise _Invalid(_("“%(label)s”必须是列表") % {"label": self.label})
            ids = [self._id(item) for item in value]
        else:
            ids = [self._id(value)]
        if any(item is None for item in ids):
            raise _Invalid(_("“%(label)s”的取值无效") % {"label": self.label})
        unique = list(dict.fromkeys(item for item in ids if item is not None))
        if len(unique) > self.max_count:
            raise _Invalid(_("“%(label)s”最多选择 %(max)d 个") % {"label": self.label, "max": self.max_count})
        cleaning.refer(self.kind, unique, at, self.missing_message())
        return unique if self.multiple else unique[0]

    def _ids(self, value: Any) -> list[int]:
        items = value if isinstance(value, list | tuple) else [value]
        return [item for item in (self._id(item) for item in items) if item is not None]

    def condition_value(self, value: Any) -> Any:
        ids = self._ids(value)
        return ids if self.multiple else (ids[0] if ids else None)

    def _names(self, names: _Names) -> dict[int, str]:
        raise NotImplementedError

    def format(self, value: Any, names: _Names) -> str:
        known = self._names(names)
        return "、".join(known.get(item, _("（已删除）")) for item in self._ids(value))


class UserField(_ReferenceField):
    type = "user"
    kind = "user"

    def missing_message(self) -> str:
        return _("“%(label)s”中的人员不存在或已停用") % {"label": self.label}

    def collect_names(self, value: Any, names: _Names) -> None:
        names.user_ids.update(self._ids(value))

    def _names(self, names: _Names) -> dict[int, str]:
        return names.users


class UnitField(_ReferenceField):
    type = "unit"
    kind = "unit"

    def missing_message(self) -> str:
        return _("“%(label)s”中的部门不存在或已撤销") % {"label": self.label}

    def collect_names(self, value: Any, names: _Names) -> None:
        names.unit_ids.update(self._ids(value))

    def _names(self, names: _Names) -> dict[int, str]:
        return names.units


class AttachmentsField(FieldSpec):
    """附件: keys of files uploaded beforehand through ``xietong.files.services``."""

    type = "attachments"
    OPTIONS = frozenset({"max_count"})

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self.max_count = options.integer("max_count", default=10, low=1, high=100) or 10

    def empty(self) -> Any:
        return []

    def required_message(self) -> str:
        return _("请上传“%(label)s”") % {"label": self.label}

    @staticmethod
    def _key(value: Any) -> str | None:
        if not isinstance(value, str) or len(value) > 45:
            return None
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            return None

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "" or value == []:
            return []
        if not isinstance(value, list | tuple):
            raise _Invalid(_("“%(label)s”必须是文件的列表") % {"label": self.label})
        keys = [self._key(item) for item in value]
        if any(key is None for key in keys):
            raise _Invalid(_("“%(label)s”中的文件标识无效") % {"label": self.label})
        unique = list(dict.fromkeys(key for key in keys if key is not None))
        if len(unique) > self.max_count:
            raise _Invalid(
                _("“%(label)s”最多上传 %(max)d 个文件") % {"label": self.label, "max": self.max_count}
            )
        cleaning.refer("file", unique, at, _("“%(label)s”中的文件不存在") % {"label": self.label})
        return unique

    def _keys(self, value: Any) -> list[str]:
        items = value if isinstance(value, list | tuple) else []
        return [key for key in (self._key(item) for item in items) if key is not None]

    def condition_value(self, value: Any) -> Any:
        return self._keys(value)

    def collect_names(self, value: Any, names: _Names) -> None:
        names.file_keys.update(uuid.UUID(key) for key in self._keys(value))

    def files(self, value: Any, names: _Names) -> tuple[DisplayFile, ...]:
        shown = []
        for key in self._keys(value):
            if key in names.files:
                name, size = names.files[key]
                shown.append(DisplayFile(key, name, size))
            else:
                shown.append(DisplayFile(key, _("（文件已删除）"), None))
        return tuple(shown)

    def format(self, value: Any, names: _Names) -> str:
        return "、".join(file.name for file in self.files(value, names))


class ComputedField(FieldSpec):
    """计算公式: computed by the server from other fields, never taken from the client."""

    type = "computed"
    OPTIONS = frozenset({"expression", "format", "decimals", "unit"})
    numeric = True

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        if self.required:
            options.problem(_("计算字段由系统计算，不能设为必填"))
        self.expression = options.text("expression", max_length=MAX_EXPRESSION_LENGTH, required=True)
        self.format_as = options.text("format", default="number")
        if self.format_as not in ("number", "money"):
            options.problem(_("“format”只能是 number 或 money"))
            self.format_as = "number"
        default_places = 2
        self.decimals = options.integer("decimals", default=default_places, low=0, high=MAX_DECIMALS)
        if self.format_as == "money" and self.decimals != 2:
            options.problem(_("金额格式的计算字段固定保留 2 位小数"))
        self.unit = options.text("unit", max_length=10)
        # Set by parse_form once every field is known.
        self.formula: _Node | None = None
        self.dependencies: frozenset[str] = frozenset()

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        return None  # whatever the client sent: computed later from the other values

    def restore(self, value: Any) -> Any:
        return None

    def compute(
        self, lookup: Callable[[str], Decimal | None], column: Callable[[str, str], list[Any]]
    ) -> Any:
        if self.formula is None:
            return None
        evaluation = _Evaluation(lookup, column)
        try:
            with localcontext(_FORMULA_CONTEXT):
                result = self.formula.evaluate(evaluation)
                # A formula over fields stays empty until one of them is filled in.
                unfilled = bool(self.dependencies) and not evaluation.seen
                if result is None or unfilled or abs(result) > MAX_NUMBER:
                    return None
                result = result.quantize(Decimal(1).scaleb(-(self.decimals or 0)), rounding=ROUND_HALF_UP)
        except (DecimalException, ArithmeticError):
            return None  # division by zero and the like: no result rather than an error
        return abs(result) if result == 0 else result

    def condition_value(self, value: Any) -> Any:
        return self.number_value(value)

    def number_value(self, value: Any) -> Decimal | None:
        return None if _is_empty(value) else _decimal_or_none(value)

    def format(self, value: Any, names: _Names) -> str:
        number = self.number_value(value)
        if number is None:
            return ""
        if self.format_as == "money":
            return money.format_yuan(number)
        text = f"{number:,f}"
        return f"{text} {self.unit}" if self.unit else text

    def uppercase(self, value: Any) -> str:
        number = self.number_value(value)
        return "" if number is None or self.format_as != "money" else money.to_chinese_uppercase(number)


class TableField(FieldSpec):
    """明细: repeating rows of columns; numeric columns may be summed (shown and usable in
    conditions and formulas as ``sum(items.subtotal)``)."""

    type = "table"
    OPTIONS = frozenset({"columns", "min_rows", "max_rows", "sum"})

    def __init__(self, options: _Options, columns: list[FieldSpec]) -> None:
        super().__init__(options)
        self.columns = columns
        self.columns_by_key = {column.key: column for column in columns}
        self.min_rows = options.integer("min_rows", default=0, low=0, high=MAX_ROWS) or 0
        self.max_rows = options.integer("max_rows", default=100, low=1, high=MAX_ROWS) or 100
        if self.min_rows > self.max_rows:
            options.problem(_("“min_rows”不能大于“max_rows”"))
        sums = options.raw.get("sum", [])
        self.sums: tuple[str, ...] = ()
        if not isinstance(sums, list) or not all(isinstance(key, str) for key in sums):
            options.problem(_("“sum”必须是列名的列表"))
        else:
            for key in sums:
                column = self.columns_by_key.get(key)
                if column is None:
                    options.problem(_("合计列“%(key)s”不存在") % {"key": key})
                elif not column.numeric:
                    options.problem(_("合计列“%(label)s”不是数字列") % {"label": column.label})
            self.sums = tuple(dict.fromkeys(key for key in sums if key in self.columns_by_key))

    def column(self, key: str) -> FieldSpec:
        return self.columns_by_key[key]

    def has_column(self, key: str) -> bool:
        return key in self.columns_by_key

    def empty(self) -> Any:
        return []

    def required_message(self) -> str:
        return _("请至少填写一行“%(label)s”") % {"label": self.label}

    def _cell_wrap(self, row: int) -> Callable[[str], str]:
        def wrap(message: str) -> str:
            return _("“%(table)s”第 %(row)d 行：%(message)s") % {
                "table": self.label,
                "row": row + 1,
                "message": message,
            }

        return wrap

    def clean_value(self, value: Any, cleaning: _Cleaning, at: _At) -> Any:
        if value is None or value == "" or value == []:
            rows_in: list[Any] = []
        elif not isinstance(value, list | tuple):
            raise _Invalid(_("“%(label)s”必须是行的列表") % {"label": self.label})
        else:
            rows_in = list(value)
        too_many = _("“%(label)s”最多 %(max)d 行") % {"label": self.label, "max": self.max_rows}
        if len(rows_in) > MAX_ROWS:
            raise _Invalid(too_many)
        if not all(isinstance(row, Mapping) for row in rows_in):
            raise _Invalid(_("“%(label)s”的每一行必须是一个对象") % {"label": self.label})
        rows: list[dict[str, Any]] = []
        for index, row_in in enumerate(rows_in):
            if all(_is_empty(row_in.get(column.key)) for column in self.columns if column.type != "computed"):
                continue  # a blank row left in the form is not a row
            rows.append(self._clean_row(row_in, index, cleaning, at))
        if len(rows) > self.max_rows:
            raise _Invalid(too_many)
        if rows and len(rows) < self.min_rows and not cleaning.partial:
            raise _Invalid(_("“%(label)s”至少需要 %(min)d 行") % {"label": self.label, "min": self.min_rows})
        return rows

    def _clean_row(
        self, row_in: Mapping[str, Any], index: int, cleaning: _Cleaning, at: _At
    ) -> dict[str, Any]:
        wrap = self._cell_wrap(index)
        row: dict[str, Any] = {}
        for column in self.columns:
            cell = _At(f"{at.path}.{index}.{column.key}", wrap)
            try:
                value = column.clean_value(row_in.get(column.key), cleaning, cell)
            except _Invalid as invalid:
                cleaning.errors.setdefault(cell.path, wrap(invalid.message))
                value = column.empty()
            else:
                if column.required and not cleaning.partial and column.is_empty(value):
                    cleaning.errors.setdefault(cell.path, wrap(column.required_message()))
            row[column.key] = value
        return row

    def rows(self, value: Any) -> list[Mapping[str, Any]]:
        return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list | tuple) else []

    def column_sum(self, value: Any, key: str) -> Decimal | None:
        """The sum of a numeric column over the rows; None when no row has a value."""
        column = self.columns_by_key[key]
        numbers = [
            number for row in self.rows(value) if (number := column.number_value(row.get(key))) is not None
        ]
        return sum(numbers, Decimal(0)) if numbers else None

    def condition_value(self, value: Any) -> Any:
        return [dict(row) for row in self.rows(value)]  # conditions ask whether it is empty

    def collect_names(self, value: Any, names: _Names) -> None:
        for row in self.rows(value):
            for column in self.columns:
                column.collect_names(row.get(column.key), names)

    def table(self, value: Any, names: _Names) -> DisplayTable:
        rows = self.rows(value)
        cells = tuple(
            tuple(column.format(row.get(column.key), names) for column in self.columns) for row in rows
        )
        sums: tuple[str, ...] | None = None
        if self.sums:
            sums = tuple(
                column.format_sum(self.column_sum(value, column.key), names)
                if column.key in self.sums
                else ""
                for column in self.columns
            )
        return DisplayTable(
            columns=tuple(column.label for column in self.columns),
            numeric=tuple(column.numeric for column in self.columns),
            rows=cells,
            sums=sums,
        )

    def format(self, value: Any, names: _Names) -> str:
        count = len(self.rows(value))
        return _("共 %(count)d 行") % {"count": count} if count else ""


FIELD_TYPES: dict[str, type[FieldSpec]] = {
    cls.type: cls
    for cls in (
        TextField,
        TextareaField,
        DescriptionField,
        NumberField,
        MoneyField,
        DateField,
        DateRangeField,
        SelectField,
        MultiSelectField,
        UserField,
        UnitField,
        AttachmentsField,
        TableField,
        ComputedField,
    )
}
_NOT_IN_TABLES = frozenset({"table", "description"})


# ---------------------------------------------------------------------------------------------
# Formulas: a tiny language over numbers, parsed with ``ast`` and evaluated node by node


_FORMULA_CONTEXT = Context(
    prec=40, rounding=ROUND_HALF_UP, traps=[DivisionByZero, InvalidOperation, Overflow]
)
_FORMULA_FUNCTIONS = ("sum", "round", "min", "max")


class _Evaluation:
    def __init__(
        self, lookup: Callable[[str], Decimal | None], column: Callable[[str, str], list[Any]]
    ) -> None:
        self.lookup = lookup
        self.column = column
        # Whether any referenced field had a value: a formula over empty fields stays empty.
        self.seen = False


class _Node:
    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        raise NotImplementedError


@dataclass(frozen=True)
class _Literal(_Node):
    value: Decimal

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        return self.value


@dataclass(frozen=True)
class _FieldRef(_Node):
    key: str

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        value = evaluation.lookup(self.key)
        if value is not None:
            evaluation.seen = True
        return value


@dataclass(frozen=True)
class _ColumnSum(_Node):
    table: str
    column: str

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        numbers = [number for number in evaluation.column(self.table, self.column) if number is not None]
        if not numbers:
            return None
        evaluation.seen = True
        return sum(numbers, Decimal(0))


@dataclass(frozen=True)
class _Arithmetic(_Node):
    operator: str
    left: _Node
    right: _Node

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        left, right = self.left.evaluate(evaluation), self.right.evaluate(evaluation)
        if left is None and right is None:
            return None
        # An empty operand counts as zero, as in a spreadsheet: 交通费 + 住宿费 with one left blank.
        a, b = left or Decimal(0), right or Decimal(0)
        if self.operator == "+":
            return a + b
        if self.operator == "-":
            return a - b
        if self.operator == "*":
            return a * b
        return a / b  # DivisionByZero is trapped: the formula has no result


@dataclass(frozen=True)
class _Negate(_Node):
    operand: _Node

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        value = self.operand.evaluate(evaluation)
        return None if value is None else -value


@dataclass(frozen=True)
class _Round(_Node):
    operand: _Node
    places: int

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        value = self.operand.evaluate(evaluation)
        if value is None:
            return None
        return value.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class _Extreme(_Node):
    function: str  # "min" | "max"
    operands: tuple[_Node, ...]

    def evaluate(self, evaluation: _Evaluation) -> Decimal | None:
        values = [value for operand in self.operands if (value := operand.evaluate(evaluation)) is not None]
        if not values:
            return None
        return min(values) if self.function == "min" else max(values)


_OPERATORS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class _FormulaCompiler:
    """Turns one expression into ``_Node``s, allowing only the whitelisted syntax.

    ``scope`` holds the fields a bare name may refer to (the columns of the row inside a
    table), ``tables`` the tables ``sum(table.column)`` may add up. ``dependencies`` collects
    the graph nodes used: "key" for a field of the form, "table.column" for a column.
    """

    def __init__(
        self,
        owner: ComputedField,
        where: str,
        scope: Mapping[str, FieldSpec],
        scope_prefix: str,
        tables: Mapping[str, TableField],
        problems: list[str],
    ) -> None:
        self.owner = owner
        self.where = where
        self.scope = scope
        self.scope_prefix = scope_prefix
        self.tables = tables
        self.problems = problems
        self.dependencies: set[str] = set()
        self.failed = False

    def problem(self, message: str) -> None:
        self.failed = True
        self.problems.append(f"{self.where}：{message}")

    def compile(self, expression: str) -> _Node | None:
        try:
            tree = ast.parse(expression.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.problem(_("公式“%(expression)s”有语法错误") % {"expression": expression})
            return None
        try:
            node = self._node(tree.body)
        except RecursionError:
            self.problem(_("公式嵌套过深"))
            return None
        return None if self.failed else node

    def _not_allowed(self) -> None:
        self.problem(_("公式只能包含数字、字段、+ - * /、括号以及 sum、round、min、max"))

    def _node(self, node: ast.expr) -> _Node:
        placeholder = _Literal(Decimal(0))
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _Arithmetic(_OPERATORS[type(node.op)], self._node(node.left), self._node(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self._node(node.operand)
            return _Negate(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Constant):
            return self._literal(node.value) or placeholder
        if isinstance(node, ast.Name):
            return self._field(node.id) or placeholder
        if isinstance(node, ast.Call):
            return self._call(node) or placeholder
        if isinstance(node, ast.Attribute):
            self.problem(_("表格列只能用在 sum(表格.列) 中"))
            return placeholder
        self._not_allowed()
        return placeholder

    def _literal(self, value: Any) -> _Node | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._not_allowed()
            return None
        try:
            return _Literal(parse_decimal(value))
        except ValueError:
            self.problem(_("公式中的数值过大"))
            return None

    def _field(self, key: str) -> _Node | None:
        target = self.scope.get(key)
        if isinstance(target, TableField):
            self.problem(_("表格“%(key)s”只能以 sum(%(key)s.列) 的方式引用") % {"key": key})
            return None
        if target is None:
            self.problem(_("公式引用了不存在的字段“%(key)s”") % {"key": key})
            return None
        if target is self.owner:
            self.problem(_("公式不能引用字段自身"))
            return None
        if not target.numeric:
            self.problem(_("公式引用的“%(label)s”不是数字字段") % {"label": target.label})
            return None
        self.dependencies.add(self.scope_prefix + key)
        return _FieldRef(key)

    def _call(self, node: ast.Call) -> _Node | None:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if (
            name not in _FORMULA_FUNCTIONS
            or node.keywords
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            self.problem(_("公式只能调用 sum、round、min、max"))
            return None
        args = node.args
        if name == "sum":
            return self._sum(args)
        if name == "round":
            if len(args) not in (1, 2):
                self.problem(_("round() 需要一个数值和可选的小数位数"))
                return None
            places = 0
            if len(args) == 2:
                given = args[1]
                if not (
                    isinstance(given, ast.Constant)
                    and isinstance(given.value, int)
                    and not isinstance(given.value, bool)
                    and 0 <= given.value <= MAX_DECIMALS
                ):
                    self.problem(_("round() 的小数位数必须是 0 到 %(max)d 的整数") % {"max": MAX_DECIMALS})
                    return None
                places = given.value
            return _Round(self._node(args[0]), places)
        if not 1 <= len(args) <= 20:
            self.problem(_("%(name)s() 需要 1 到 20 个参数") % {"name": name})
            return None
        return _Extreme(str(name), tuple(self._node(arg) for arg in args))

    def _sum(self, args: list[ast.expr]) -> _Node | None:
        target = args[0] if len(args) == 1 else None
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
            self.problem(_("sum() 只能对表格的列求和，写作 sum(表格.列)"))
            return None
        table = self.tables.get(target.value.id)
        if table is None:
            self.problem(_("sum() 引用了不存在的表格“%(key)s”") % {"key": target.value.id})
            return None
        if not table.has_column(target.attr):
            self.problem(_("表格“%(table)s”没有列“%(key)s”") % {"table": table.label, "key": target.attr})
            return None
        column = table.column(target.attr)
        if not column.numeric:
            self.problem(_("“%(label)s”不是数字列，不能用 sum() 求和") % {"label": column.label})
            return None
        if column is self.owner:
            self.problem(_("公式不能引用字段自身"))
            return None
        self.dependencies.add(f"{table.key}.{column.key}")
        return _ColumnSum(table.key, column.key)


# ---------------------------------------------------------------------------------------------
# What a template shows


@dataclass(frozen=True)
class DisplayFile:
    key: str
    name: str
    size: int | None


@dataclass(frozen=True)
class DisplayTable:
    columns: tuple[str, ...]
    #: Per column: right-align it (numbers and amounts).
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]
    #: The 合计 row (empty text under columns not summed), None when nothing is summed.
    sums: tuple[str, ...] | None


@dataclass(frozen=True)
class DisplayRow:
    """One line of a filled-in form for a page or a print-out."""

    key: str
    label: str
    type: str
    #: The formatted value ("" when empty): "¥12,345.60", "2026年11月29日", "张伟、李四" …
    text: str
    #: Amounts: the capitals, "壹万贰仟叁佰肆拾伍元陆角".
    uppercase: str = ""
    table: DisplayTable | None = None
    files: tuple[DisplayFile, ...] = ()


# ---------------------------------------------------------------------------------------------
# The form


def _level(permissions: Mapping[str, str] | None, key: str) -> str:
    if permissions is None:
        return EDITABLE
    level = permissions.get(key, READONLY)
    return level if level in PERMISSION_LEVELS else READONLY  # an unknown word never opens a field


def fill_permissions(
    form: FormSpec, listed: Mapping[str, str] | None, *, default: str = READONLY
) -> dict[str, str]:
    """Every field's permission on a node: the ones listed there, ``default`` for the others
    (``readonly`` on approval nodes, ``editable`` for the initiator)."""
    listed = listed or {}
    return {key: listed.get(key, default) for key in form.keys}


class FormSpec:
    """A parsed, valid form specification (``parse_form``)."""

    def __init__(self, fields: list[FieldSpec], spec: Mapping[str, Any], computed_order: list[str]) -> None:
        self.fields = fields
        self.keys: list[str] = [spec_field.key for spec_field in fields]
        self.spec = spec
        self._by_key = {spec_field.key: spec_field for spec_field in fields}
        # The formula fields, dependencies first, with the table whose rows they are computed in.
        self._formulas: list[tuple[TableField | None, ComputedField]] = []
        for node in computed_order:
            head, _dot, column_key = node.partition(".")
            owner = self._by_key[head]
            table = owner if isinstance(owner, TableField) else None
            formula = table.column(column_key) if table is not None else owner
            assert isinstance(formula, ComputedField)  # noqa: S101  (parse_form lists formulas only)
            self._formulas.append((table, formula))

    def __repr__(self) -> str:
        return f"<FormSpec {', '.join(self.keys)}>"

    def field(self, key: str) -> FieldSpec:
        """The field ``key``; ``KeyError`` when the form has none."""
        return self._by_key[key]

    # -- cleaning --------------------------------------------------------------------------

    def clean(
        self,
        data: Any,
        *,
        permissions: Mapping[str, str] | None = None,
        previous: Mapping[str, Any] | None = None,
        partial: bool = False,
    ) -> dict[str, Any]:
        """The validated, normalised data including the computed fields.

        Without ``permissions`` every field is editable (the initiator's form). With them, a
        field not listed is read-only; hidden and read-only fields keep their ``previous``
        value whatever was sent; ``required`` fields must be filled in; editable ones are
        checked as the form says. Keys the form does not know are dropped. ``partial`` (a draft)
        skips the rules about what must be filled in. Raises ``FormDataError``.
        """
        if not isinstance(data, Mapping):
            raise FormDataError({"__all__": _("表单数据格式不正确")})
        before: Mapping[str, Any] = previous if isinstance(previous, Mapping) else {}
        cleaning = _Cleaning(partial=partial)
        result: dict[str, Any] = {}
        for spec_field in self.fields:
            if not spec_field.holds_value:
                continue
            key = spec_field.key
            level = _level(permissions, key)
            if level in (HIDDEN, READONLY):
                result[key] = spec_field.restore(before.get(key))
                continue
            try:
                value = spec_field.clean_value(data.get(key), cleaning, _At(key))
            except _Invalid as invalid:
                cleaning.errors.setdefault(key, invalid.message)
                value = spec_field.empty()
            else:
                must = (level == REQUIRED or spec_field.required) and spec_field.type != "computed"
                if must and not partial and spec_field.is_empty(value):
                    cleaning.errors.setdefault(key, spec_field.required_message())
            result[key] = value
        self._check_references(cleaning)
        if cleaning.errors:
            raise FormDataError(cleaning.errors)
        self.compute(result)
        return result

    @staticmethod
    def _check_references(cleaning: _Cleaning) -> None:
        """One query per kind for every id of every field and row: do they exist (and are the
        users and units active)?"""
        for kind, references in cleaning.references.items():
            wanted = {item for reference in references for item in reference.ids}
            if kind == "user":
                found = {
                    str(pk)
                    for pk in User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True)
                }
            elif kind == "unit":
                found = {
                    str(pk)
                    for pk in OrgUnit.objects.filter(pk__in=wanted, is_active=True).values_list(
                        "pk", flat=True
                    )
                }
            else:
                found = {
                    str(key)
                    for key in StoredFile.objects.filter(key__in=wanted).values_list("key", flat=True)
                }
            for reference in references:
                if any(str(item) not in found for item in reference.ids):
                    cleaning.errors.setdefault(reference.path, reference.message)

    def compute(self, data: dict[str, Any]) -> None:
        """Fill in the computed fields of ``data`` (normalised values), dependencies first."""

        def column(table_key: str, column_key: str) -> list[Decimal | None]:
            table = self._by_key[table_key]
            assert isinstance(table, TableField)  # noqa: S101  (checked by parse_form)
            target = table.column(column_key)
            return [target.number_value(row.get(column_key)) for row in table.rows(data.get(table_key))]

        for table, formula in self._formulas:
            if table is None:
                data[formula.key] = formula.compute(partial(_number_in, self._by_key, data), column)
                continue
            for row in table.rows(data.get(table.key)):
                if isinstance(row, dict):
                    row[formula.key] = formula.compute(partial(_number_in, table.columns_by_key, row), column)

    def file_keys(self, data: Mapping[str, Any]) -> set[str]:
        """The keys of every file ``data`` attaches, in fields and in table rows: what the
        runtime checks the acting user may attach (a new key must be their own upload) and
        what it lets the readers of an instance download."""
        keys: set[str] = set()
        for spec_field in self.fields:
            value = data.get(spec_field.key)
            if isinstance(spec_field, AttachmentsField):
                keys.update(spec_field.condition_value(value))
            elif isinstance(spec_field, TableField):
                for column in spec_field.columns:
                    if isinstance(column, AttachmentsField):
                        for row in spec_field.rows(value):
                            keys.update(column.condition_value(row.get(column.key)))
        return keys

    # -- conditions ------------------------------------------------------------------------

    def _resolve(self, path: str) -> tuple[FieldSpec, TableField | None]:
        """The field of ``path`` ("amount", "items.subtotal", "period.days") and its table."""
        head, _dot, rest = path.partition(".")
        spec_field = self._by_key[head]
        if not rest:
            return spec_field, None
        if isinstance(spec_field, TableField):
            return spec_field.column(rest), spec_field
        if isinstance(spec_field, DateRangeField) and rest == "days":
            return spec_field, None
        raise KeyError(path)

    def value_for_condition(self, data: Mapping[str, Any], field: str, agg: str | None = None) -> Any:
        """The value a condition compares: numbers and amounts as ``Decimal`` (None when
        empty), dates as ``date``, a daterange as its days, user/unit ids, a multiselect as a
        list; ``agg="sum"`` on a table column ("items.subtotal") gives the column sum
        (0 without rows). ``KeyError`` for an unknown field, ``ValueError`` for a wrong agg."""
        target, table = self._resolve(field)
        if table is None:
            if agg is not None:
                raise ValueError(f"agg {agg!r} applies to table columns only")
            return target.condition_value(data.get(target.key))
        if agg != "sum" or not target.numeric:
            raise ValueError(f"{field}: only agg='sum' of a numeric column")
        return table.column_sum(data.get(table.key), target.key) or Decimal(0)

    # -- display ---------------------------------------------------------------------------

    def display(
        self, data: Mapping[str, Any], *, permissions: Mapping[str, str] | None = None
    ) -> list[DisplayRow]:
        """Label and formatted value of every field the viewer may see (hidden ones and
        description texts left out): one query per kind for user, unit and file names."""
        visible = [
            spec_field
            for spec_field in self.fields
            if spec_field.holds_value and _level(permissions, spec_field.key) != HIDDEN
        ]
        names = _Names()
        for spec_field in visible:
            spec_field.collect_names(data.get(spec_field.key), names)
        names.load()
        rows: list[DisplayRow] = []
        for spec_field in visible:
            value = data.get(spec_field.key)
            rows.append(
                DisplayRow(
                    key=spec_field.key,
                    label=spec_field.label,
                    type=spec_field.type,
                    text=spec_field.format(value, names),
                    uppercase=_safe_uppercase(spec_field, value),
                    table=spec_field.table(value, names) if isinstance(spec_field, TableField) else None,
                    files=spec_field.files(value, names) if isinstance(spec_field, AttachmentsField) else (),
                )
            )
        return rows


def _number_in(fields: Mapping[str, FieldSpec], values: Mapping[str, Any], key: str) -> Decimal | None:
    """The number a formula sees for field ``key`` of a form or of a table row."""
    return fields[key].number_value(values.get(key))


def _safe_uppercase(spec_field: FieldSpec, value: Any) -> str:
    try:
        return spec_field.uppercase(value)
    except ValueError:
        return ""


# ---------------------------------------------------------------------------------------------
# Parsing a specification


_TOP_LEVEL_KEYS = frozenset({"fields"})


def parse_form(spec: Any) -> FormSpec:
    """Check a form specification and return it parsed. Raises ``FormSpecError`` listing every
    problem: unknown types or attributes, bad or duplicate keys, select fields without options,
    formulas referring to unknown or non-numeric fields or to each other in a cycle, sums of
    non-numeric columns, tables inside tables."""
    problems: list[str] = []
    if not isinstance(spec, Mapping):
        raise FormSpecError([_("表单定义必须是一个对象")])
    for name in spec:
        if name not in _TOP_LEVEL_KEYS:
            problems.append(_("表单定义含有未知的属性“%(name)s”") % {"name": name})
    raw_fields = spec.get("fields", [])
    if not isinstance(raw_fields, list):
        problems.append(_("“fields”必须是字段的列表"))
        raw_fields = []
    if len(raw_fields) > MAX_FIELDS:
        problems.append(_("字段不能超过 %(max)d 个") % {"max": MAX_FIELDS})
        raw_fields = raw_fields[:MAX_FIELDS]
    fields = _parse_fields(raw_fields, problems, table_label=None)
    order = _compile_formulas(fields, problems)
    if problems:
        raise FormSpecError(problems)
    return FormSpec(fields, spec, order)


def _parse_fields(raw_fields: list[Any], problems: list[str], *, table_label: str | None) -> list[FieldSpec]:
    fields: list[FieldSpec] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_fields, start=1):
        if table_label is None:
            where = _("第 %(n)d 个字段") % {"n": position}
        else:
            where = _("“%(table)s”的第 %(n)d 列") % {"table": table_label, "n": position}
        if not isinstance(raw, Mapping):
            problems.append(_("%(where)s必须是一个对象") % {"where": where})
            continue
        key, kind, label = raw.get("key"), raw.get("type"), raw.get("label")
        usable = True
        if isinstance(label, str) and label.strip() and len(label) <= 100:
            where = f"{where}“{label}”"
        else:
            problems.append(_("%(where)s：名称必须是 1 到 100 个字的文本") % {"where": where})
            usable = False
        if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
            where = f"{where}（{key}）"
            if key in seen:
                problems.append(_("%(where)s：标识“%(key)s”重复") % {"where": where, "key": key})
                usable = False
            seen.add(key)
        else:
            problems.append(
                _("%(where)s：标识必须以小写字母开头，由小写字母、数字和下划线组成，最长 32 个字符")
                % {"where": where}
            )
            usable = False
        cls = FIELD_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            problems.append(_("%(where)s：未知的字段类型“%(type)s”") % {"where": where, "type": kind})
            continue
        if table_label is not None and kind in _NOT_IN_TABLES:
            problems.append(_("%(where)s：表格中不能放“%(type)s”字段") % {"where": where, "type": kind})
            continue
        for name in raw:
            if name not in cls.COMMON and name not in cls.OPTIONS:
                problems.append(_("%(where)s：未知的属性“%(name)s”") % {"where": where, "name": name})
        if not usable:
            continue
        options = _Options(raw, where, problems)
        if cls is TableField:
            fields.append(TableField(options, _parse_columns(raw, str(label), problems, where)))
        else:
            fields.append(cls(options))
    return fields


def _parse_columns(raw: Mapping[str, Any], label: str, problems: list[str], where: str) -> list[FieldSpec]:
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        problems.append(_("%(where)s：表格至少需要一列（columns）") % {"where": where})
        return []
    if len(columns) > MAX_COLUMNS:
        problems.append(_("%(where)s：表格不能超过 %(max)d 列") % {"where": where, "max": MAX_COLUMNS})
        columns = columns[:MAX_COLUMNS]
    return _parse_fields(columns, problems, table_label=label)


def _compile_formulas(fields: list[FieldSpec], problems: list[str]) -> list[str]:
    """Compile every formula, then order them so that each runs after what it uses; a cycle
    is a problem. Returns the graph nodes of the formulas in that order."""
    top_level = {spec_field.key: spec_field for spec_field in fields}
    tables = {key: spec_field for key, spec_field in top_level.items() if isinstance(spec_field, TableField)}
    formulas: dict[str, ComputedField] = {}
    for spec_field in fields:
        scopes: list[tuple[str, ComputedField, Mapping[str, FieldSpec]]] = []
        if isinstance(spec_field, ComputedField):
            scopes.append(("", spec_field, top_level))
        elif isinstance(spec_field, TableField):
            row_scope = {column.key: column for column in spec_field.columns}
            scopes.extend(
                (f"{spec_field.key}.", column, row_scope)
                for column in spec_field.columns
                if isinstance(column, ComputedField)
            )
        for prefix, formula, scope in scopes:
            if not formula.expression:
                continue
            where = _("公式字段“%(label)s”（%(key)s）") % {
                "label": formula.label,
                "key": prefix + formula.key,
            }
            compiler = _FormulaCompiler(formula, where, scope, prefix, tables, problems)
            formula.formula = compiler.compile(formula.expression)
            formula.dependencies = frozenset(compiler.dependencies)
            formulas[prefix + formula.key] = formula
    return _formula_order(formulas, problems)


def _formula_order(formulas: Mapping[str, ComputedField], problems: list[str]) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" | "done"
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "visiting":
            cycle = [*trail[trail.index(node) :], node]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                labels = " → ".join(formulas[step].label for step in cycle)
                problems.append(_("公式之间存在循环引用：%(cycle)s") % {"cycle": labels})
            return
        state[node] = "visiting"
        for dependency in sorted(formulas[node].dependencies):
            if dependency in formulas:
                visit(dependency, [*trail, node])
        state[node] = "done"
        order.append(node)

    for node in formulas:
        visit(node, [])
    return order

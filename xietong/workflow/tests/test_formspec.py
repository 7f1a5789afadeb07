"""Form specifications of approval flows: the specification's own checks, every field type with
good and bad values, formulas, field permissions (forged read-only values), the values
conditions compare, the display, and clean() on arbitrary input."""

from __future__ import annotations

import contextlib
import json
import uuid
from copy import deepcopy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.fixtures import make_user
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org.models import OrgUnit
from xietong.workflow.formspec import (
    EDITABLE,
    FIELD_TYPES,
    HIDDEN,
    READONLY,
    REQUIRED,
    DisplayRow,
    FormDataError,
    FormSpec,
    FormSpecError,
    MoneyField,
    TableField,
    fill_permissions,
    parse_form,
)

# The example of the shared contract.
EXAMPLE: dict[str, Any] = {
    "fields": [
        {"key": "title", "type": "text", "label": "标题", "required": True, "max_length": 100},
        {"key": "reason", "type": "textarea", "label": "事由", "required": True},
        {"key": "note", "type": "description", "label": "说明", "text": "请如实填写"},
        {"key": "days", "type": "number", "label": "天数", "min": 0, "max": 365, "decimals": 1},
        {"key": "amount", "type": "money", "label": "金额", "min": 0},
        {"key": "date", "type": "date", "label": "日期"},
        {"key": "period", "type": "daterange", "label": "起止日期"},
        {"key": "kind", "type": "select", "label": "类型", "options": ["采购", "维修"]},
        {"key": "tags", "type": "multiselect", "label": "标签", "options": ["A", "B"]},
        {"key": "owner", "type": "user", "label": "经办人", "multiple": False},
        {"key": "dept", "type": "unit", "label": "部门", "multiple": False},
        {"key": "files", "type": "attachments", "label": "附件"},
        {
            "key": "items",
            "type": "table",
            "label": "明细",
            "columns": [
                {"key": "name", "type": "text", "label": "名称", "required": True},
                {"key": "qty", "type": "number", "label": "数量"},
                {"key": "price", "type": "money", "label": "单价"},
                {"key": "subtotal", "type": "computed", "label": "小计", "expression": "qty * price"},
            ],
            "sum": ["subtotal"],
        },
        {
            "key": "total",
            "type": "computed",
            "label": "合计",
            "expression": "sum(items.subtotal)",
            "format": "money",
        },
    ]
}
FILLED: dict[str, Any] = {
    "title": "  采购笔记本电脑 ",
    "reason": "新员工入职\r\n需要配置电脑",
    "days": "2.5",
    "amount": "12,345.6",
    "date": "2026-11-29",
    "period": ["2026-11-01", "2026-11-03"],
    "kind": "采购",
    "tags": ["B", "A"],
    "items": [
        {"name": "笔记本电脑", "qty": 2, "price": "4999.5", "subtotal": "1"},
        {"name": "", "qty": None, "price": ""},  # a blank row left in the form
        {"name": "鼠标", "qty": "3", "price": 20, "colour": "黑"},
    ],
    "total": "1",  # forged: computed by the server
    "note": "ignored",
    "unknown": "dropped",
}


def form(*fields: dict[str, Any]) -> FormSpec:
    return parse_form({"fields": list(fields)})


def one(field: dict[str, Any]) -> FormSpec:
    return form({"key": "x", "label": "字段", **field})


def value(spec: FormSpec, raw: Any) -> Any:
    return spec.clean({"x": raw})["x"]


def error(spec: FormSpec, data: dict[str, Any], key: str = "x", **options: Any) -> str:
    with pytest.raises(FormDataError) as raised:
        spec.clean(data, **options)
    assert key in raised.value.errors, raised.value.errors
    return raised.value.errors[key]


def problems(spec: Any) -> list[str]:
    with pytest.raises(FormSpecError) as raised:
        parse_form(spec)
    assert raised.value.problems
    return raised.value.problems


def stored(data: dict[str, Any]) -> dict[str, Any]:
    """What the runtime reads back from its JSON column."""
    read_back: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return read_back


# ---------------------------------------------------------------------------------------------
# The specification


def test_the_example_of_the_contract_parses() -> None:
    spec = parse_form(EXAMPLE)
    assert spec.keys == [f["key"] for f in EXAMPLE["fields"]]
    assert spec.field("amount").type == "money"
    assert isinstance(spec.field("amount"), MoneyField)
    items = spec.field("items")
    assert isinstance(items, TableField)
    assert [column.key for column in items.columns] == ["name", "qty", "price", "subtotal"]
    assert items.sums == ("subtotal",)
    with pytest.raises(KeyError):
        spec.field("nothing")


def test_an_empty_form_is_allowed() -> None:
    assert parse_form({"fields": []}).clean({"x": 1}) == {}
    assert parse_form({}).keys == []


@pytest.mark.parametrize("spec", [None, [], "fields", 3])
def test_a_specification_must_be_an_object(spec: Any) -> None:
    assert problems(spec) == ["表单定义必须是一个对象"]


def test_every_problem_is_listed_at_once() -> None:
    found = problems(
        {
            "fields": [
                {"key": "Title", "type": "text", "label": "标题"},
                {"key": "a", "type": "text", "label": "甲"},
                {"key": "a", "type": "text", "label": "乙"},
                {"key": "kind", "type": "select", "label": "类型"},
                {"key": "b", "type": "widget", "label": "控件"},
                {"key": "c", "type": "text", "label": "丙", "max_lenght": 5},
                {"key": "sum_of", "type": "computed", "label": "合计", "expression": "a + nothing"},
            ],
            "layout": "two-columns",
        }
    )
    assert len(found) == 8, found
    text = "\n".join(found)
    for part in ["layout", "标识必须以小写字母开头", "标识“a”重复", "缺少选项“options”"]:
        assert part in text
    for part in [
        "未知的字段类型“widget”",
        "未知的属性“max_lenght”",
        "公式引用的“甲”不是数字字段",
        "不存在的字段“nothing”",
    ]:
        assert part in text


@pytest.mark.parametrize("key", ["Title", "1a", "a-b", "a b", "_a", "", "a" * 33, "a\n", "标题", None, 7])
def test_keys_follow_the_pattern(key: Any) -> None:
    found = problems({"fields": [{"key": key, "type": "text", "label": "标题"}]})
    assert "标识必须以小写字母开头" in found[0]


@pytest.mark.parametrize("key", ["a", "a1", "amount_2", "a" * 32])
def test_good_keys(key: str) -> None:
    assert parse_form({"fields": [{"key": key, "type": "text", "label": "标题"}]}).keys == [key]


@pytest.mark.parametrize("label", [None, "", "   ", 5, "长" * 101])
def test_a_field_needs_a_label(label: Any) -> None:
    assert "名称必须是" in problems({"fields": [{"key": "a", "type": "text", "label": label}]})[0]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"type": "text", "max_length": 0}, "“max_length”必须是 1 到 2000 之间的整数"),
        ({"type": "text", "max_length": "10"}, "“max_length”必须是"),
        ({"type": "text", "min_length": 5, "max_length": 3}, "“min_length”不能大于“max_length”"),
        ({"type": "text", "pattern": "(["}, "“pattern”不是有效的正则表达式"),
        ({"type": "text", "required": "yes"}, "“required”必须是 true 或 false"),
        ({"type": "number", "min": 10, "max": 1}, "“min”不能大于“max”"),
        ({"type": "number", "min": "abc"}, "“min”必须是数字"),
        ({"type": "number", "decimals": 7}, "“decimals”必须是 0 到 6 之间的整数"),
        ({"type": "money", "decimals": 3}, "未知的属性“decimals”"),
        ({"type": "date", "min": "2026/01/01"}, "“min”必须是 YYYY-MM-DD 格式的日期"),
        ({"type": "date", "min": "2026-12-01", "max": "2026-01-01"}, "“min”不能晚于“max”"),
        ({"type": "select"}, "缺少选项“options”"),
        ({"type": "select", "options": []}, "缺少选项“options”"),
        ({"type": "select", "options": "采购,维修"}, "缺少选项“options”"),
        ({"type": "select", "options": ["采购", "采购"]}, "选项“采购”重复"),
        ({"type": "select", "options": ["采购", ""]}, "选项必须是 1 到 100 个字的文本"),
        ({"type": "multiselect", "options": ["A", "B"], "max_choices": 3}, "“max_choices”必须是 1 到 2"),
        (
            {"type": "multiselect", "options": ["A", "B", "C"], "min_choices": 3, "max_choices": 2},
            "“min_choices”不能大于“max_choices”",
        ),
        ({"type": "user", "multiple": "yes"}, "“multiple”必须是 true 或 false"),
        ({"type": "attachments", "max_count": 0}, "“max_count”必须是 1 到 100"),
        ({"type": "description", "required": True}, "说明文字不能设为必填"),
        ({"type": "computed"}, "缺少“expression”"),
        ({"type": "computed", "expression": "1", "required": True}, "不能设为必填"),
        ({"type": "computed", "expression": "1", "format": "percent"}, "“format”只能是 number 或 money"),
        ({"type": "computed", "expression": "1", "format": "money", "decimals": 0}, "固定保留 2 位小数"),
        ({"type": "table"}, "表格至少需要一列"),
        ({"type": "table", "columns": []}, "表格至少需要一列"),
        (
            {"type": "table", "columns": [{"key": "a", "type": "text", "label": "甲"}], "sum": ["a"]},
            "不是数字列",
        ),
        (
            {"type": "table", "columns": [{"key": "a", "type": "number", "label": "甲"}], "sum": ["b"]},
            "“b”不存在",
        ),
        (
            {"type": "table", "columns": [{"key": "a", "type": "number", "label": "甲"}], "sum": "a"},
            "列名的列表",
        ),
        (
            {
                "type": "table",
                "columns": [{"key": "a", "type": "number", "label": "甲"}],
                "min_rows": 5,
                "max_rows": 2,
            },
            "“min_rows”不能大于“max_rows”",
        ),
    ],
)
def test_bad_options_are_problems(field: dict[str, Any], expected: str) -> None:
    found = problems({"fields": [{"key": "x", "label": "字段", **field}]})
    assert any(expected in problem for problem in found), found
    assert all("“字段”（x）" in problem or "公式字段" in problem for problem in found), found


def test_tables_cannot_hold_tables_or_descriptions() -> None:
    inner = {
        "key": "inner",
        "type": "table",
        "label": "内表",
        "columns": [{"key": "a", "type": "text", "label": "甲"}],
    }
    note = {"key": "note", "type": "description", "label": "说明"}
    found = problems(
        {"fields": [{"key": "items", "type": "table", "label": "明细", "columns": [inner, note]}]}
    )
    assert found == [
        "“明细”的第 1 列“内表”（inner）：表格中不能放“table”字段",
        "“明细”的第 2 列“说明”（note）：表格中不能放“description”字段",
    ]


def test_column_keys_are_checked_within_their_table() -> None:
    columns = [{"key": "a", "type": "text", "label": "甲"}, {"key": "a", "type": "text", "label": "乙"}]
    found = problems({"fields": [{"key": "items", "type": "table", "label": "明细", "columns": columns}]})
    assert found == ["“明细”的第 2 列“乙”（a）：标识“a”重复"]
    # The same key in a table and outside it is fine: a column lives in its row.
    form(
        {"key": "a", "type": "text", "label": "甲"},
        {"key": "t", "type": "table", "label": "表", "columns": columns[:1]},
    )


# ---------------------------------------------------------------------------------------------
# Formulas in the specification

NUMBERS: list[dict[str, Any]] = [
    {"key": "a", "type": "number", "label": "甲"},
    {"key": "b", "type": "money", "label": "乙"},
    {"key": "name", "type": "text", "label": "名称"},
    {"key": "period", "type": "daterange", "label": "期间"},
    {
        "key": "items",
        "type": "table",
        "label": "明细",
        "columns": [
            {"key": "qty", "type": "number", "label": "数量"},
            {"key": "what", "type": "text", "label": "品名"},
            {"key": "span", "type": "daterange", "label": "日期"},
        ],
    },
]


def formula(expression: str, **options: Any) -> FormSpec:
    return form(
        *NUMBERS, {"key": "c", "type": "computed", "label": "结果", "expression": expression, **options}
    )


def formula_problems(expression: str) -> list[str]:
    return problems(
        {"fields": [*NUMBERS, {"key": "c", "type": "computed", "label": "结果", "expression": expression}]}
    )


@pytest.mark.parametrize(
    "expression",
    [
        "a + b",
        "a - b * 2 / (a + 1)",
        "-a + +b",
        "round(a / 3, 2)",
        "round(a)",
        "min(a, b, 10)",
        "max(a)",
        "sum(items.qty) * 1.5",
        "period * 200",
        "sum(items.span) * 100",  # the days of every row's period
        "  a  ",
        "1 + 2",
    ],
)
def test_good_formulas(expression: str) -> None:
    formula(expression)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a +", "语法错误"),
        ("x = 1", "语法错误"),
        ("a; b", "语法错误"),
        ("a\x00", "语法错误"),
        ("(" * 240 + "a" + ")" * 240, "语法错误"),  # more nesting than Python's parser takes
        ("a ** 2", "公式只能包含"),
        ("a // 2", "公式只能包含"),
        ("a % 2", "公式只能包含"),
        ("a > b", "公式只能包含"),
        ("a if b else 1", "公式只能包含"),
        ("[a, b]", "公式只能包含"),
        ("lambda: 1", "公式只能包含"),
        ("'1' + a", "公式只能包含"),
        ("True + a", "公式只能包含"),
        ("1j * a", "公式只能包含"),
        ("not a", "公式只能包含"),
        ("__import__('os').system('true')", "公式只能调用 sum、round、min、max"),
        ("abs(a)", "公式只能调用"),
        ("a.real", "表格列只能用在 sum(表格.列) 中"),
        ("items.qty", "表格列只能用在 sum(表格.列) 中"),
        ("round(a, b)", "round() 的小数位数必须是 0 到 6 的整数"),
        ("round(a, 7)", "round() 的小数位数"),
        ("round(a, 1, 2)", "round() 需要一个数值"),
        ("round(a, ndigits=2)", "公式只能调用"),
        ("max()", "max() 需要 1 到 20 个参数"),
        ("min(*a)", "公式只能调用"),
        ("sum(a)", "sum() 只能对表格的列求和"),
        ("sum(items)", "sum() 只能对表格的列求和"),
        ("sum(items.qty, 1)", "sum() 只能对表格的列求和"),
        ("sum(nothing.qty)", "sum() 引用了不存在的表格“nothing”"),
        ("sum(items.price)", "表格“明细”没有列“price”"),
        ("sum(items.what)", "“品名”不是数字列，不能用 sum() 求和"),
        ("nothing * 2", "公式引用了不存在的字段“nothing”"),
        ("name * 2", "公式引用的“名称”不是数字字段"),
        ("items * 2", "表格“items”只能以 sum(items.列) 的方式引用"),
        ("c + 1", "公式不能引用字段自身"),
        ("9" * 30, "公式中的数值过大"),
        ("1e999", "公式中的数值过大"),
    ],
)
def test_bad_formulas(expression: str, expected: str) -> None:
    found = formula_problems(expression)
    assert any(expected in problem for problem in found), found
    assert all(problem.startswith("公式字段“结果”（c）") for problem in found), found


def test_a_formula_cannot_be_too_long() -> None:
    assert "“expression”不能超过 500 个字" in formula_problems("a + " * 200 + "a")[0]


def test_formulas_inside_a_table_see_their_row() -> None:
    columns = [
        {"key": "qty", "type": "number", "label": "数量"},
        {"key": "line", "type": "computed", "label": "小计", "expression": "qty * rate"},
    ]
    found = problems(
        {
            "fields": [
                {"key": "rate", "type": "number", "label": "单价"},
                {"key": "items", "type": "table", "label": "明细", "columns": columns},
            ]
        }
    )
    assert found == ["公式字段“小计”（items.line）：公式引用了不存在的字段“rate”"]


@pytest.mark.parametrize(
    ("fields", "cycle"),
    [
        (
            [
                {"key": "p", "type": "computed", "label": "P", "expression": "q + 1"},
                {"key": "q", "type": "computed", "label": "Q", "expression": "p * 2"},
            ],
            "P → Q → P",
        ),
        (
            [
                {"key": "p", "type": "computed", "label": "P", "expression": "q"},
                {"key": "q", "type": "computed", "label": "Q", "expression": "r"},
                {"key": "r", "type": "computed", "label": "R", "expression": "p"},
            ],
            "P → Q → R → P",
        ),
        (
            [
                {
                    "key": "t",
                    "type": "table",
                    "label": "T",
                    "columns": [{"key": "share", "type": "computed", "label": "S", "expression": "total"}],
                },
                {"key": "total", "type": "computed", "label": "Total", "expression": "sum(t.share)"},
            ],
            "不存在的字段“total”",  # a row sees its columns only: no cycle possible through a bare name
        ),
        (
            [
                {
                    "key": "t",
                    "type": "table",
                    "label": "T",
                    "columns": [
                        {"key": "v", "type": "number", "label": "V"},
                        {"key": "share", "type": "computed", "label": "S", "expression": "v / sum(t.share)"},
                    ],
                },
            ],
            "公式不能引用字段自身",
        ),
        (
            [
                {
                    "key": "t",
                    "type": "table",
                    "label": "T",
                    "columns": [
                        {"key": "m", "type": "computed", "label": "M", "expression": "sum(t.n)"},
                        {"key": "n", "type": "computed", "label": "N", "expression": "m"},
                    ],
                },
            ],
            "M → N → M",
        ),
    ],
)
def test_cycles_between_formulas_are_refused(fields: list[dict[str, Any]], cycle: str) -> None:
    found = problems({"fields": fields})
    assert any(cycle in problem for problem in found), found


# ---------------------------------------------------------------------------------------------
# Cleaning: the example form


@pytest.mark.django_db
def test_the_example_is_cleaned_and_computed(django_assert_num_queries: Any) -> None:
    spec = parse_form(EXAMPLE)
    with django_assert_num_queries(0):  # no user, unit or file given: nothing to look up
        cleaned = spec.clean(FILLED)
    assert cleaned == {
        "title": "采购笔记本电脑",
        "reason": "新员工入职\n需要配置电脑",
        "days": Decimal("2.5"),
        "amount": Decimal("12345.60"),
        "date": "2026-11-29",
        "period": ["2026-11-01", "2026-11-03"],
        "kind": "采购",
        "tags": ["A", "B"],
        "owner": None,
        "dept": None,
        "files": [],
        "items": [
            {
                "name": "笔记本电脑",
                "qty": Decimal("2"),
                "price": Decimal("4999.50"),
                "subtotal": Decimal("9999.00"),
            },
            {"name": "鼠标", "qty": Decimal("3"), "price": Decimal("20.00"), "subtotal": Decimal("60.00")},
        ],
        "total": Decimal("10059.00"),
    }
    # Stored as JSON and cleaned again, nothing changes.
    assert spec.clean(stored(cleaned)) == cleaned


def test_data_must_be_an_object() -> None:
    spec = one({"type": "text"})
    not_objects: list[Any] = [None, [], "x", 3]
    for data in not_objects:
        assert error(spec, data, "__all__") == "表单数据格式不正确"


def test_unknown_keys_and_description_values_are_dropped() -> None:
    spec = form(
        {"key": "x", "type": "text", "label": "字段"}, {"key": "n", "type": "description", "label": "说明"}
    )
    assert spec.clean({"x": "a", "n": "text", "extra": {"deep": [1]}}) == {"x": "a"}


def test_the_error_message_lists_the_first_errors_and_counts_them() -> None:
    spec = form(*({"key": f"f{i}", "type": "text", "label": f"字段{i}", "required": True} for i in range(5)))
    with pytest.raises(FormDataError) as raised:
        spec.clean({})
    assert raised.value.message == "表单填写有误：请填写“字段0”；请填写“字段1”；请填写“字段2”（共 5 处）"
    assert raised.value.details == raised.value.errors
    assert list(raised.value.errors) == ["f0", "f1", "f2", "f3", "f4"]


# ---------------------------------------------------------------------------------------------
# Text


def test_text_is_stripped_and_empty_text_is_none() -> None:
    spec = one({"type": "text"})
    assert value(spec, "  你好 ") == "你好"
    assert value(spec, "   ") is None
    assert value(spec, None) is None
    assert value(spec, 13800138000) == "13800138000"  # a phone number sent as a number


@pytest.mark.parametrize("raw", [["a"], {"a": 1}, 1.5, True])
def test_text_must_be_text(raw: Any) -> None:
    assert error(one({"type": "text"}), {"x": raw}) == "“字段”必须是文本"


def test_text_length() -> None:
    spec = one({"type": "text", "max_length": 5, "min_length": 2})
    assert value(spec, "五个字正好") == "五个字正好"
    assert error(spec, {"x": "六个字就超了"}) == "“字段”不能超过 5 个字（现为 6 个）"
    assert error(spec, {"x": "一"}) == "“字段”至少需要 2 个字"


def test_text_defaults_to_200_characters() -> None:
    spec = one({"type": "text"})
    assert value(spec, "长" * 200)
    assert "不能超过 200 个字" in error(spec, {"x": "长" * 201})


def test_text_pattern_with_its_own_message() -> None:
    spec = one({"type": "text", "pattern": r"1[3-9][0-9]{9}", "pattern_message": "必须是 11 位手机号"})
    assert value(spec, "13800138000") == "13800138000"
    assert error(spec, {"x": "1380013800"}) == "“字段”必须是 11 位手机号"
    assert error(spec, {"x": "13800138000x"}) == "“字段”必须是 11 位手机号"  # the whole text must match
    assert error(one({"type": "text", "pattern": "[0-9]+"}), {"x": "12a"}) == "“字段”的格式不正确"


def test_single_line_text_refuses_line_breaks_and_textarea_keeps_them() -> None:
    assert error(one({"type": "text"}), {"x": "第一行\n第二行"}) == "“字段”不能换行"
    assert value(one({"type": "textarea"}), "第一行\r\n第二行\r第三行\t完") == "第一行\n第二行\n第三行\t完"


@pytest.mark.parametrize("raw", ["a\x00b", "a\x1bb", "a\ud800b", "a\x7fb"])
def test_control_characters_are_refused(raw: str) -> None:
    assert error(one({"type": "textarea"}), {"x": raw}) == "“字段”含有无法显示的控制字符"


def test_textarea_defaults_to_5000_characters() -> None:
    spec = one({"type": "textarea"})
    assert value(spec, "长" * 5000)
    assert "不能超过 5000 个字" in error(spec, {"x": "长" * 5001})


def test_required_text() -> None:
    spec = one({"type": "text", "required": True})
    assert error(spec, {}) == "请填写“字段”"
    assert error(spec, {"x": "  "}) == "请填写“字段”"
    assert spec.clean({}, partial=True) == {"x": None}  # a draft may leave it empty


# ---------------------------------------------------------------------------------------------
# Numbers and money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (3, Decimal("3")),
        ("3", Decimal("3")),
        (" 2.50 ", Decimal("2.50")),
        (0.1, Decimal("0.1")),
        ("1,234.5", Decimal("1234.5")),
        ("１２３．５", Decimal("123.5")),  # full-width digits of a Chinese input method
        ("-0", Decimal("0")),
        ("+7", Decimal("7")),
        (".5", Decimal("0.5")),
        (Decimal("1E+2"), Decimal("100")),
        ("", None),
        (None, None),
    ],
)
def test_numbers(raw: Any, expected: Decimal | None) -> None:
    result = value(one({"type": "number"}), raw)
    assert result == expected
    if expected is not None:
        assert str(result) == str(expected)
        assert not str(result).startswith("-")


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "1e5",
        "NaN",
        "Infinity",
        "1,23",
        "1.2.3",
        "12 34",
        True,
        [1],
        {"v": 1},
        float("nan"),
        float("inf"),
    ],
)
def test_not_numbers(raw: Any) -> None:
    assert error(one({"type": "number"}), {"x": raw}) == "“字段”必须是数字"


@pytest.mark.parametrize("raw", [10**16, -(10**16), "10000000000000000", 1e300, 10**4000])
def test_numbers_out_of_range(raw: Any) -> None:
    assert error(one({"type": "number"}), {"x": raw}) == "“字段”超出允许的范围"


def test_number_bounds_and_decimals() -> None:
    spec = one({"type": "number", "min": 0, "max": 365, "decimals": 1})
    assert value(spec, "2") == Decimal("2.0")
    assert value(spec, "365") == Decimal("365.0")
    assert value(spec, "2.50") == Decimal("2.5")  # a trailing zero is not a second decimal
    assert error(spec, {"x": "2.25"}) == "“字段”最多保留 1 位小数"
    assert error(spec, {"x": "-0.5"}) == "“字段”不能小于 0"
    assert error(spec, {"x": "365.1"}) == "“字段”不能大于 365"
    assert error(one({"type": "number", "decimals": 0}), {"x": "1.5"}) == "“字段”必须是整数"
    assert error(one({"type": "number", "min": "0.5"}), {"x": "0.4"}) == "“字段”不能小于 0.5"
    assert error(one({"type": "number"}), {"x": "0.0000001"}) == "“字段”最多保留 6 位小数"


def test_money_is_never_negative_by_default_and_has_two_decimals() -> None:
    spec = form({"key": "amount", "type": "money", "label": "金额"})
    assert spec.clean({"amount": "12345.6"})["amount"] == Decimal("12345.60")
    assert str(spec.clean({"amount": 5})["amount"]) == "5.00"
    assert error(spec, {"amount": "-1"}, "amount") == "“金额”不能小于 0"
    assert error(spec, {"amount": "1.005"}, "amount") == "“金额”最多保留 2 位小数"
    assert error(spec, {"amount": "一百"}, "amount") == "“金额”必须是数字"
    refunds = form({"key": "amount", "type": "money", "label": "金额", "min": -1000, "max": 1000})
    assert refunds.clean({"amount": "-12.5"})["amount"] == Decimal("-12.50")
    assert error(refunds, {"amount": "1000.01"}, "amount") == "“金额”不能大于 1000"


# ---------------------------------------------------------------------------------------------
# Dates


def test_dates() -> None:
    spec = one({"type": "date", "min": "2026-01-01", "max": "2026-12-31"})
    assert value(spec, "2026-11-29") == "2026-11-29"
    assert value(spec, " 2026-11-29 ") == "2026-11-29"
    assert value(spec, date(2026, 3, 5)) == "2026-03-05"
    assert value(spec, "") is None
    assert error(spec, {"x": "2025-12-31"}) == "“字段”不能早于 2026年1月1日"
    assert error(spec, {"x": "2027-01-01"}) == "“字段”不能晚于 2026年12月31日"


@pytest.mark.parametrize(
    "raw", ["2026-02-30", "2026/11/29", "20261129", "2026-1-5", "明天", 20261129, ["2026-11-29"]]
)
def test_not_dates(raw: Any) -> None:
    assert error(one({"type": "date"}), {"x": raw}) == "“字段”不是有效的日期（格式为 YYYY-MM-DD）"


def test_required_date_asks_to_choose() -> None:
    assert error(one({"type": "date", "required": True}), {}) == "请选择“字段”"


def test_date_ranges_and_their_duration() -> None:
    spec = form({"key": "period", "type": "daterange", "label": "请假期间", "max_days": 15})
    cleaned = spec.clean({"period": ("2026-11-01", "2026-11-03")})
    assert cleaned == {"period": ["2026-11-01", "2026-11-03"]}
    assert spec.value_for_condition(cleaned, "period") == Decimal(3)  # both days included
    assert spec.value_for_condition(cleaned, "period.days") == Decimal(3)
    assert spec.clean({"period": ["2026-11-01", "2026-11-01"]})["period"] == ["2026-11-01", "2026-11-01"]
    assert spec.clean({"period": ["", None]}) == {"period": None}
    assert (
        error(spec, {"period": ["2026-11-03", "2026-11-01"]}, "period")
        == "“请假期间”的结束日期不能早于开始日期"
    )
    assert error(spec, {"period": ["2026-11-03", ""]}, "period") == "请填写完整的“请假期间”"
    assert error(spec, {"period": "2026-11-03"}, "period") == "“请假期间”必须包含开始和结束两个日期"
    assert error(spec, {"period": ["2026-11-01", "2026-11-02", "2026-11-03"]}, "period").endswith("两个日期")
    assert error(spec, {"period": ["2026-11-01", "2026-11-31"]}, "period").endswith("（格式为 YYYY-MM-DD）")
    assert error(spec, {"period": ["2026-11-01", "2026-11-16"]}, "period") == "“请假期间”不能超过 15 天"


def test_date_range_bounds() -> None:
    spec = one({"type": "daterange", "min": "2026-01-01", "max": "2026-12-31"})
    assert error(spec, {"x": ["2025-12-31", "2026-01-02"]}) == "“字段”不能早于 2026年1月1日"
    assert error(spec, {"x": ["2026-12-30", "2027-01-02"]}) == "“字段”不能晚于 2026年12月31日"


# ---------------------------------------------------------------------------------------------
# Choices


def test_select() -> None:
    spec = one({"type": "select", "options": ["采购", "维修"], "required": True})
    assert value(spec, "维修") == "维修"
    assert error(spec, {"x": "报销"}) == "“字段”的选项无效"
    assert error(spec, {"x": ["采购"]}) == "“字段”的选项无效"
    assert error(spec, {"x": " 采购"}) == "“字段”的选项无效"
    assert error(spec, {"x": ""}) == "请选择“字段”"


def test_multiselect() -> None:
    spec = one({"type": "multiselect", "options": ["A", "B", "C", "D"], "min_choices": 2, "max_choices": 3})
    assert value(spec, ["C", "A", "C"]) == ["A", "C"]  # in the order of the form, once each
    assert value(spec, []) == []
    assert value(spec, None) == []
    assert error(spec, {"x": ["A"]}) == "“字段”至少选择 2 项"
    assert spec.clean({"x": ["A"]}, partial=True) == {"x": ["A"]}
    assert error(spec, {"x": ["A", "B", "C", "D"]}) == "“字段”最多选择 3 项"
    assert error(spec, {"x": ["A", "E"]}) == "“字段”包含无效的选项"
    assert error(spec, {"x": "A"}) == "“字段”必须是选项的列表"
    assert error(spec, {"x": ["A", 1]}) == "“字段”必须是选项的列表"
    assert (
        error(one({"type": "multiselect", "options": ["A"], "required": True}), {"x": []}) == "请选择“字段”"
    )


# ---------------------------------------------------------------------------------------------
# Users, units and files: one query per kind


@pytest.fixture
def people(db: Any) -> dict[str, User]:
    return {
        "zhang": make_user("zhangwei", name="张伟"),
        "li": make_user("lisi", name="李四"),
        "gone": make_user("wangwu", name="王五", is_active=False),
    }


def stored_file(name: str = "报价单.pdf") -> StoredFile:
    return StoredFile.objects.create(
        name=name, blob=f"files/{name}", size=1024, content_type="application/pdf", sha256="0" * 64,
        context="workflow.attachment", scanned_by="builtin",
    )  # fmt: skip


@pytest.mark.django_db
def test_user_fields(people: dict[str, User]) -> None:
    zhang, li, gone = people["zhang"], people["li"], people["gone"]
    single = one({"type": "user"})
    assert value(single, zhang.pk) == zhang.pk
    assert value(single, str(zhang.pk)) == zhang.pk
    assert value(single, None) is None
    assert error(single, {"x": gone.pk}) == "“字段”中的人员不存在或已停用"
    assert error(single, {"x": 999_999}) == "“字段”中的人员不存在或已停用"
    many = one({"type": "user", "multiple": True, "max_count": 2})
    assert value(many, [li.pk, str(zhang.pk), li.pk]) == [li.pk, zhang.pk]
    assert value(many, []) == []
    assert error(many, {"x": [zhang.pk, gone.pk]}) == "“字段”中的人员不存在或已停用"
    assert error(many, {"x": zhang.pk}) == "“字段”必须是列表"
    assert error(many, {"x": [1, 2, 3]}) == "“字段”最多选择 2 个"


@pytest.mark.parametrize("raw", [True, 0, -1, 1.0, "abc", "1.5", " ", [1], {"id": 1}, 2**63, "9" * 20, "１"])
def test_bad_user_ids_are_refused_without_a_query(raw: Any) -> None:
    assert error(one({"type": "user"}), {"x": raw}) == "“字段”的取值无效"  # no database here: no query


@pytest.mark.django_db
def test_unit_fields(org_tree: dict[str, OrgUnit]) -> None:
    office, finance = org_tree["office"], org_tree["finance"]
    OrgUnit.objects.filter(pk=finance.pk).update(is_active=False)
    spec = form({"key": "dept", "type": "unit", "label": "部门"})
    assert spec.clean({"dept": office.pk}) == {"dept": office.pk}
    assert error(spec, {"dept": finance.pk}, "dept") == "“部门”中的部门不存在或已撤销"
    assert error(spec, {"dept": 999_999}, "dept") == "“部门”中的部门不存在或已撤销"


@pytest.mark.django_db
def test_attachments() -> None:
    first, second = stored_file("报价单.pdf"), stored_file("合同.pdf")
    spec = form({"key": "files", "type": "attachments", "label": "附件", "max_count": 2, "required": True})
    upper = str(second.key).upper()
    assert spec.clean({"files": [str(first.key), upper, str(first.key)]}) == {
        "files": [str(first.key), str(second.key)]
    }
    assert error(spec, {"files": [str(uuid.uuid4())]}, "files") == "“附件”中的文件不存在"
    assert error(spec, {"files": ["not-a-key"]}, "files") == "“附件”中的文件标识无效"
    assert error(spec, {"files": [7]}, "files") == "“附件”中的文件标识无效"
    assert error(spec, {"files": str(first.key)}, "files") == "“附件”必须是文件的列表"
    keys = [str(uuid.uuid4()) for _ in range(3)]
    assert error(spec, {"files": keys}, "files") == "“附件”最多上传 2 个文件"
    assert error(spec, {"files": []}, "files") == "请上传“附件”"


@pytest.mark.django_db
def test_one_query_per_kind_for_every_field_and_row(
    people: dict[str, User], org_tree: dict[str, OrgUnit], django_assert_num_queries: Any
) -> None:
    zhang, li = people["zhang"], people["li"]
    attachment = stored_file()
    spec = form(
        {"key": "owner", "type": "user", "label": "经办人"},
        {"key": "cc", "type": "user", "label": "知会", "multiple": True},
        {"key": "dept", "type": "unit", "label": "部门"},
        {"key": "depts", "type": "unit", "label": "协办部门", "multiple": True},
        {"key": "files", "type": "attachments", "label": "附件"},
        {
            "key": "trips",
            "type": "table",
            "label": "行程",
            "columns": [
                {"key": "who", "type": "user", "label": "出差人"},
                {"key": "unit", "type": "unit", "label": "接待单位"},
                {"key": "receipt", "type": "attachments", "label": "票据"},
            ],
        },
    )
    data = {
        "owner": zhang.pk,
        "cc": [zhang.pk, li.pk],
        "dept": org_tree["office"].pk,
        "depts": [org_tree["finance"].pk, org_tree["east"].pk],
        "files": [str(attachment.key)],
        "trips": [{"who": li.pk, "unit": org_tree["suzhou"].pk, "receipt": [str(attachment.key)]}] * 20,
    }
    with django_assert_num_queries(3):
        cleaned = spec.clean(data)
    assert cleaned["trips"][19] == {
        "who": li.pk,
        "unit": org_tree["suzhou"].pk,
        "receipt": [str(attachment.key)],
    }
    data["trips"] = [*data["trips"], {"who": people["gone"].pk}]
    with django_assert_num_queries(3), pytest.raises(FormDataError) as raised:
        spec.clean(data)
    assert raised.value.errors == {"trips.20.who": "“行程”第 21 行：“出差人”中的人员不存在或已停用"}


# ---------------------------------------------------------------------------------------------
# Tables

TABLE = {
    "key": "items",
    "type": "table",
    "label": "明细",
    "min_rows": 2,
    "max_rows": 3,
    "required": True,
    "columns": [
        {"key": "name", "type": "text", "label": "名称", "required": True},
        {"key": "qty", "type": "number", "label": "数量", "min": 1, "decimals": 0},
        {"key": "price", "type": "money", "label": "单价"},
        {
            "key": "subtotal",
            "type": "computed",
            "label": "小计",
            "expression": "qty * price",
            "format": "money",
        },
    ],
    "sum": ["qty", "subtotal"],
}


def test_table_rows_are_cleaned_and_computed() -> None:
    spec = form(TABLE)
    rows = [
        {"name": "纸", "qty": "2", "price": "1.5", "subtotal": "999"},
        {"name": "笔", "qty": 1, "extra": 1},
    ]
    assert spec.clean({"items": rows})["items"] == [
        {"name": "纸", "qty": Decimal("2"), "price": Decimal("1.50"), "subtotal": Decimal("3.00")},
        {"name": "笔", "qty": Decimal("1"), "price": None, "subtotal": Decimal("0.00")},
    ]


def test_cell_errors_are_keyed_by_row_and_column() -> None:
    spec = form(TABLE)
    rows = [{"name": "纸", "qty": 1}, {"name": "笔", "qty": 1}, {"qty": "0", "price": "-1"}]
    with pytest.raises(FormDataError) as raised:
        spec.clean({"items": rows})
    assert raised.value.errors == {
        "items.2.name": "“明细”第 3 行：请填写“名称”",
        "items.2.qty": "“明细”第 3 行：“数量”不能小于 1",
        "items.2.price": "“明细”第 3 行：“单价”不能小于 0",
    }


def test_blank_rows_are_not_rows_but_keep_their_index_in_errors() -> None:
    spec = form(TABLE)
    rows = [
        {"name": "纸", "qty": 1},
        {},
        {"name": "", "qty": None, "subtotal": "5"},
        {"name": "笔", "qty": "x"},
    ]
    assert error(spec, {"items": rows}, "items.3.qty") == "“明细”第 4 行：“数量”必须是数字"


def test_table_row_counts() -> None:
    spec = form(TABLE)
    row = {"name": "纸", "qty": 1}
    assert error(spec, {"items": []}, "items") == "请至少填写一行“明细”"
    assert error(spec, {"items": [row]}, "items") == "“明细”至少需要 2 行"
    assert error(spec, {"items": [row] * 4}, "items") == "“明细”最多 3 行"
    assert error(spec, {"items": {"0": row}}, "items") == "“明细”必须是行的列表"
    assert error(spec, {"items": [row, "纸"]}, "items") == "“明细”的每一行必须是一个对象"
    # A draft may hold fewer rows and rows without their required cells.
    assert spec.clean({"items": [{"qty": 1}]}, partial=True)["items"][0]["name"] is None
    assert spec.clean({}, partial=True) == {"items": []}


def test_days_of_date_ranges_add_up_in_a_table() -> None:
    spec = form(
        {
            "key": "trips",
            "type": "table",
            "label": "行程",
            "columns": [
                {"key": "city", "type": "text", "label": "城市"},
                {"key": "span", "type": "daterange", "label": "日期"},
            ],
            "sum": ["span"],
        },
        {"key": "allowance", "type": "computed", "label": "补助", "expression": "sum(trips.span) * 100"},
    )
    trips = [
        {"city": "苏州", "span": ["2026-11-01", "2026-11-03"]},
        {"city": "上海", "span": ["2026-11-05", "2026-11-05"]},
    ]
    cleaned = spec.clean({"trips": trips})
    assert cleaned["allowance"] == Decimal("400.00")
    assert spec.value_for_condition(cleaned, "trips.span", "sum") == Decimal(4)
    table = spec.display(cleaned)[0].table
    assert table is not None
    assert table.sums == ("", "共 4 天")


# ---------------------------------------------------------------------------------------------
# Formulas at work


def test_formulas_are_never_taken_from_the_client() -> None:
    spec = formula("a + b")
    assert spec.clean({"a": 1, "b": "2", "c": "1000000"})["c"] == Decimal("3.00")
    assert spec.clean({"c": "1000000"})["c"] is None


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("a + b", {"a": 1, "b": "2.5"}, "3.50"),
        ("a + b", {"a": 1}, "1.00"),  # an empty field counts as zero, as in a spreadsheet
        ("a + b", {}, None),  # nothing filled in: no result yet
        ("a * 2", {}, None),
        ("1 + 2", {}, "3.00"),  # a constant has a value whatever is filled in
        ("a / b", {"a": 1, "b": 0}, None),  # division by zero: no result, no crash
        ("a / b", {"a": 1}, None),
        ("0 / a", {"a": "0"}, None),
        ("a / 3", {"a": 10}, "3.33"),
        ("a / 3 * 3", {"a": 10}, "10.00"),
        ("round(a / 3, 1)", {"a": 10}, "3.30"),
        ("round(a, 0)", {"a": "2.5"}, "3.00"),  # half up, like a cashier
        ("round(a)", {"a": "-2.5"}, "-3.00"),
        ("min(a, b, 100)", {"a": 7, "b": 3}, "3.00"),
        ("max(a, b)", {"a": 7}, "7.00"),  # empty fields are left out of min and max
        ("max(a, b)", {}, None),
        ("-a", {"a": 4}, "-4.00"),
        ("-(a - b)", {"a": 4, "b": 4}, "0.00"),
        ("(a + b) * (a - b)", {"a": 5, "b": 3}, "16.00"),
        ("period * 200", {"period": ["2026-11-01", "2026-11-03"]}, "600.00"),
        ("sum(items.qty)", {"items": [{"qty": 2}, {"qty": "3.5"}, {"what": "x"}]}, "5.50"),
        ("sum(items.qty)", {"items": []}, None),
        ("a * 1000000000000 * 1000000", {"a": 9}, None),  # beyond what the form can hold
    ],
)
def test_formula_results(expression: str, data: dict[str, Any], expected: str | None) -> None:
    result = formula(expression).clean(data)["c"]
    assert (None if result is None else str(result)) == expected


def test_formula_decimals_and_money_format() -> None:
    assert str(formula("a / 3", decimals=0).clean({"a": 10})["c"]) == "3"
    assert str(formula("a / 3", decimals=4).clean({"a": 10})["c"]) == "3.3333"
    assert str(formula("a / 3", format="money").clean({"a": 10})["c"]) == "3.33"


def test_formulas_run_after_what_they_use() -> None:
    spec = form(
        {"key": "tax", "type": "computed", "label": "税额", "expression": "net * 0.13", "format": "money"},
        {"key": "net", "type": "computed", "label": "不含税金额", "expression": "sum(items.line)"},
        {
            "key": "items",
            "type": "table",
            "label": "明细",
            "columns": [
                {"key": "amount", "type": "money", "label": "金额"},
                {
                    "key": "share",
                    "type": "computed",
                    "label": "占比%",
                    "expression": "line / sum(items.line) * 100",
                },
                {"key": "line", "type": "computed", "label": "金额(取整)", "expression": "round(amount)"},
            ],
        },
        {
            "key": "gross",
            "type": "computed",
            "label": "价税合计",
            "expression": "net + tax",
            "format": "money",
        },
    )
    cleaned = spec.clean({"items": [{"amount": "100.4"}, {"amount": "299.6"}]})
    assert [row["line"] for row in cleaned["items"]] == [Decimal("100.00"), Decimal("300.00")]
    assert [row["share"] for row in cleaned["items"]] == [Decimal("25.00"), Decimal("75.00")]
    assert (cleaned["net"], cleaned["tax"], cleaned["gross"]) == (
        Decimal("400.00"),
        Decimal("52.00"),
        Decimal("452.00"),
    )


# ---------------------------------------------------------------------------------------------
# Field permissions of a node

APPROVAL: list[dict[str, Any]] = [
    {"key": "title", "type": "text", "label": "标题", "required": True},
    {"key": "amount", "type": "money", "label": "金额", "required": True},
    {"key": "salary", "type": "money", "label": "薪资"},
    {"key": "opinion", "type": "textarea", "label": "财务意见"},
    {"key": "pay_date", "type": "date", "label": "付款日期"},
    {"key": "total", "type": "computed", "label": "合计", "expression": "amount + salary", "format": "money"},
]
BEFORE = stored(
    {
        "title": "采购",
        "amount": Decimal("100.00"),
        "salary": Decimal("9000.00"),
        "opinion": None,
        "pay_date": None,
        "total": Decimal("9100.00"),
    }
)


def test_r74_forged_readonly_and_hidden_values_are_ignored() -> None:
    spec = form(*APPROVAL)
    permissions = {"title": READONLY, "amount": READONLY, "salary": HIDDEN, "opinion": EDITABLE}
    forged = {"title": "改过的标题", "amount": "1", "salary": "0", "opinion": "同意付款", "total": "1"}
    cleaned = spec.clean(forged, permissions=permissions, previous=BEFORE)
    assert cleaned == {
        "title": "采购",
        "amount": Decimal("100.00"),  # kept, and read back as an amount
        "salary": Decimal("9000.00"),
        "opinion": "同意付款",
        "pay_date": None,  # not listed: read-only on an approval node, kept empty
        "total": Decimal("9100.00"),  # recomputed from the kept values
    }


def test_fields_not_listed_are_readonly() -> None:
    spec = form(*APPROVAL)
    cleaned = spec.clean({"title": "改", "amount": "5"}, permissions={}, previous=BEFORE)
    assert cleaned["title"] == "采购"
    assert cleaned["amount"] == Decimal("100.00")


def test_an_unknown_permission_word_never_opens_a_field() -> None:
    spec = form(*APPROVAL)
    cleaned = spec.clean({"title": "改"}, permissions={"title": "write"}, previous=BEFORE)
    assert cleaned["title"] == "采购"


def test_readonly_fields_are_not_required_and_not_looked_up(django_assert_num_queries: Any, db: Any) -> None:
    spec = form(*APPROVAL, {"key": "owner", "type": "user", "label": "经办人", "required": True})
    with django_assert_num_queries(0):  # the kept user may have left since: no query, no error
        cleaned = spec.clean({}, permissions={"opinion": EDITABLE}, previous={**BEFORE, "owner": 999})
    assert cleaned["owner"] == 999
    # With nothing before, a required read-only field stays empty: nobody here can fill it.
    assert spec.clean({}, permissions={}, previous=None)["title"] is None


def test_required_permission_makes_a_field_mandatory() -> None:
    spec = form(*APPROVAL)
    permissions = {"opinion": REQUIRED, "pay_date": REQUIRED}
    with pytest.raises(FormDataError) as raised:
        spec.clean({"opinion": " "}, permissions=permissions, previous=BEFORE)
    assert raised.value.errors == {"opinion": "请填写“财务意见”", "pay_date": "请选择“付款日期”"}
    cleaned = spec.clean(
        {"opinion": "同意", "pay_date": "2026-12-01"}, permissions=permissions, previous=BEFORE
    )
    assert (cleaned["opinion"], cleaned["pay_date"]) == ("同意", "2026-12-01")
    assert spec.clean({}, permissions=permissions, previous=BEFORE, partial=True)["opinion"] is None


def test_editable_fields_are_validated_as_the_form_says() -> None:
    spec = form(*APPROVAL)
    permissions = {"amount": EDITABLE, "pay_date": EDITABLE}
    assert (
        error(spec, {"amount": "-5"}, "amount", permissions=permissions, previous=BEFORE)
        == "“金额”不能小于 0"
    )
    assert error(spec, {}, "amount", permissions=permissions, previous=BEFORE) == "请填写“金额”"
    assert error(spec, {"amount": 1, "pay_date": "x"}, "pay_date", permissions=permissions).endswith(
        "YYYY-MM-DD）"
    )
    cleaned = spec.clean({"amount": "250"}, permissions=permissions, previous=BEFORE)
    assert (cleaned["amount"], cleaned["total"]) == (Decimal("250.00"), Decimal("9250.00"))


def test_a_computed_field_cannot_be_forced_in_even_when_listed_editable() -> None:
    spec = form(*APPROVAL)
    permissions = {"total": REQUIRED, "amount": EDITABLE}
    assert spec.clean({"amount": 1, "total": "5"}, permissions=permissions, previous=BEFORE)[
        "total"
    ] == Decimal("9001.00")


def test_kept_values_that_no_longer_read_are_kept_as_they_were() -> None:
    spec = form(*APPROVAL)
    cleaned = spec.clean({}, permissions={}, previous={"title": ["odd"], "amount": "not money"})
    assert cleaned["title"] == ["odd"]
    assert cleaned["amount"] == "not money"
    assert cleaned["total"] is None


def test_kept_values_are_copied_not_changed_in_place() -> None:
    spec = form(TABLE)
    before = {"items": [{"name": "纸", "qty": "x", "price": "1", "subtotal": "9"}]}  # no longer reads
    frozen = deepcopy(before)
    cleaned = spec.clean({}, permissions={}, previous=before)
    assert before == frozen
    assert cleaned["items"][0]["subtotal"] == Decimal("0.00")  # recomputed in the copy


def test_file_keys_of_fields_and_rows() -> None:
    spec = form(
        {"key": "files", "type": "attachments", "label": "附件"},
        {
            "key": "trips",
            "type": "table",
            "label": "行程",
            "columns": [{"key": "receipt", "type": "attachments", "label": "票据"}],
        },
    )
    one_key, two_key = str(uuid.uuid4()), str(uuid.uuid4())
    data = {"files": [one_key], "trips": [{"receipt": [two_key, one_key]}, {"receipt": None}, "junk"]}
    assert spec.file_keys(data) == {one_key, two_key}
    assert spec.file_keys({}) == set()


def test_fill_permissions() -> None:
    spec = form(*APPROVAL)
    assert fill_permissions(spec, {"amount": HIDDEN}) == {
        "title": READONLY,
        "amount": HIDDEN,
        "salary": READONLY,
        "opinion": READONLY,
        "pay_date": READONLY,
        "total": READONLY,
    }
    assert fill_permissions(spec, None, default=EDITABLE)["title"] == EDITABLE


# ---------------------------------------------------------------------------------------------
# What conditions compare


def test_values_for_conditions() -> None:
    spec = parse_form(EXAMPLE)
    data = stored(spec.clean({**FILLED, "owner": None}))  # as read back from the database
    assert spec.value_for_condition(data, "amount") == Decimal("12345.60")
    assert isinstance(spec.value_for_condition(data, "amount"), Decimal)
    assert spec.value_for_condition(data, "days") == Decimal("2.5")
    assert spec.value_for_condition(data, "total") == Decimal("10059.00")
    assert spec.value_for_condition(data, "items.subtotal", agg="sum") == Decimal("10059.00")
    assert spec.value_for_condition(data, "items.qty", "sum") == Decimal(5)
    assert spec.value_for_condition(data, "date") == date(2026, 11, 29)
    assert spec.value_for_condition(data, "period") == Decimal(3)
    assert spec.value_for_condition(data, "kind") == "采购"
    assert spec.value_for_condition(data, "tags") == ["A", "B"]
    assert spec.value_for_condition(data, "title") == "采购笔记本电脑"
    assert spec.value_for_condition(data, "owner") is None
    assert spec.value_for_condition(data, "files") == []
    assert len(spec.value_for_condition(data, "items")) == 2
    assert spec.value_for_condition({}, "amount") is None
    assert spec.value_for_condition({}, "items.subtotal", "sum") == Decimal(0)
    assert spec.value_for_condition({}, "items") == []
    assert spec.value_for_condition({"owner": "7"}, "owner") == 7
    with pytest.raises(KeyError):
        spec.value_for_condition(data, "nothing")
    with pytest.raises(KeyError):
        spec.value_for_condition(data, "items.nothing", "sum")
    with pytest.raises(ValueError, match="agg"):
        spec.value_for_condition(data, "amount", "sum")
    with pytest.raises(ValueError, match="sum"):
        spec.value_for_condition(data, "items.name", "sum")


def test_multiple_users_compare_as_a_list() -> None:
    spec = form({"key": "cc", "type": "user", "label": "知会", "multiple": True})
    assert spec.value_for_condition({"cc": [3, "4"]}, "cc") == [3, 4]
    assert spec.value_for_condition({}, "cc") == []


# ---------------------------------------------------------------------------------------------
# Display


@pytest.mark.django_db
def test_display_for_a_page_and_a_print_out(
    people: dict[str, User], org_tree: dict[str, OrgUnit], django_assert_num_queries: Any
) -> None:
    spec = parse_form(EXAMPLE)
    attachment = stored_file("报价单.pdf")
    data = stored(
        spec.clean(
            {
                **FILLED,
                "owner": people["zhang"].pk,
                "dept": org_tree["office"].pk,
                "files": [str(attachment.key)],
            }
        )
    )
    with django_assert_num_queries(3):  # users, units, files
        rows = spec.display(data)
    shown = {row.key: row for row in rows}
    assert list(shown) == [key for key in spec.keys if key != "note"]  # descriptions hold no value
    assert shown["amount"].text == "¥12,345.60"
    assert shown["amount"].uppercase == "壹万贰仟叁佰肆拾伍元陆角"
    assert shown["total"] == DisplayRow(
        key="total", label="合计", type="computed", text="¥10,059.00", uppercase="壹万零伍拾玖元整"
    )
    assert shown["days"].text == "2.5"
    assert shown["date"].text == "2026年11月29日"
    assert shown["period"].text == "2026年11月1日 至 2026年11月3日（共 3 天）"
    assert shown["tags"].text == "A、B"
    assert shown["owner"].text == "张伟"
    assert shown["dept"].text == "综合办公室"
    assert shown["files"].text == "报价单.pdf"
    assert shown["files"].files[0].key == str(attachment.key)
    assert shown["files"].files[0].size == 1024
    table = shown["items"].table
    assert table is not None
    assert shown["items"].text == "共 2 行"
    assert table.columns == ("名称", "数量", "单价", "小计")
    assert table.numeric == (False, True, True, True)
    assert table.rows == (("笔记本电脑", "2", "¥4,999.50", "9,999.00"), ("鼠标", "3", "¥20.00", "60.00"))
    assert table.sums == ("", "", "", "10,059.00")


@pytest.mark.django_db
def test_display_leaves_out_hidden_fields_and_names_what_is_gone(
    people: dict[str, User], django_assert_num_queries: Any
) -> None:
    spec = form(
        {"key": "owner", "type": "user", "label": "经办人", "multiple": True},
        {"key": "salary", "type": "money", "label": "薪资"},
        {"key": "files", "type": "attachments", "label": "附件"},
        {"key": "empty", "type": "money", "label": "空金额"},
    )
    gone_key = str(uuid.uuid4())
    data = {"owner": [people["gone"].pk, 999_999], "salary": "9000", "files": [gone_key], "empty": None}
    with django_assert_num_queries(2):
        rows = spec.display(data, permissions={"salary": HIDDEN})
    shown = {row.key: row for row in rows}
    assert "salary" not in shown
    assert shown["owner"].text == "王五、（已删除）"  # a departed colleague keeps his name on old forms
    assert shown["files"].text == "（文件已删除）"
    assert shown["empty"].text == ""
    assert shown["empty"].uppercase == ""


def test_display_without_names_makes_no_query(django_assert_num_queries: Any, db: Any) -> None:
    with django_assert_num_queries(0):
        assert formula("a + b").display({"a": "1", "b": "2", "c": "3.00"})[-1].text == "3.00"


def test_display_survives_data_that_does_not_fit() -> None:
    spec = parse_form(EXAMPLE)
    odd = {
        "amount": "lots",
        "days": ["x"],
        "date": "someday",
        "period": "always",
        "tags": "A",
        "items": [{"qty": "many"}, "junk"],
        "total": "1E+400",
    }
    shown = {row.key: row.text for row in spec.display(odd)}
    assert shown["amount"] == "lots"
    assert shown["date"] == "someday"
    assert shown["tags"] == ""
    assert shown["items"] == "共 1 行"
    assert shown["total"] == ""


def test_huge_amounts_show_without_capitals() -> None:
    shown = form({"key": "m", "type": "money", "label": "金额"}).display({"m": "99999999999999999"})
    assert shown[0].uppercase == ""


# ---------------------------------------------------------------------------------------------
# Properties: clean() and parse_form() on arbitrary input never crash

EXAMPLE_SPEC = parse_form(EXAMPLE)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["2026-11-29", "12.50", "-1", "采购", "A", "1", str(uuid.UUID(int=1)), ""]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
iso_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)).map(date.isoformat)
# Values that mostly fit the example form, so that many examples get through to the formulas,
# the display and the round trip; each may also be anything at all.
printable = st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=12)
rows_that_fit = st.lists(
    st.fixed_dictionaries(
        {"name": printable},
        optional={
            "qty": st.integers(0, 1000) | st.decimals(min_value=-1, max_value=10**6, places=3),
            "price": st.decimals(min_value=0, max_value=10**6, places=2).map(str),
            "subtotal": json_values,
        },
    ),
    max_size=4,
)
fitting: dict[str, st.SearchStrategy[Any]] = {
    "title": printable,
    "reason": printable,
    "days": st.decimals(min_value=0, max_value=365, places=1).map(str),
    "amount": st.decimals(min_value=0, max_value=10**9, places=2) | st.integers(0, 10**6),
    "date": iso_dates,
    "period": st.lists(iso_dates, min_size=2, max_size=2).map(sorted),
    "kind": st.sampled_from(["采购", "维修", ""]),
    "tags": st.lists(st.sampled_from(["A", "B"]), max_size=3),
    "items": rows_that_fit,
    "total": json_values,
}
data_that_fits = st.fixed_dictionaries(
    {"title": printable, "reason": printable},
    optional={key: strategy for key, strategy in fitting.items() if key not in ("title", "reason")},
)
form_data = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(EXAMPLE_SPEC.keys, json_values),
        **{key: strategy | json_values for key, strategy in fitting.items()},
        "other": json_values,
    },
)
permission_maps = st.none() | st.dictionaries(
    st.sampled_from(EXAMPLE_SPEC.keys), st.sampled_from([HIDDEN, READONLY, EDITABLE, REQUIRED, "write"])
)


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=form_data | json_values,
    permissions=permission_maps,
    previous=st.none() | form_data,
    partial=st.booleans(),
)
def test_clean_never_crashes(data: Any, permissions: Any, previous: Any, partial: bool) -> None:
    failure: FormDataError | None = None
    try:
        cleaned = EXAMPLE_SPEC.clean(data, permissions=permissions, previous=previous, partial=partial)
    except FormDataError as raised:
        failure = raised
    if failure is not None:
        event("refused")
        assert failure.errors
        assert all(isinstance(message, str) and message for message in failure.errors.values())
        return
    event("cleaned")
    assert set(cleaned) == {key for key in EXAMPLE_SPEC.keys if key != "note"}
    EXAMPLE_SPEC.display(cleaned, permissions=permissions)
    for key in ("amount", "days", "total", "period", "date", "tags"):
        EXAMPLE_SPEC.value_for_condition(cleaned, key)
    EXAMPLE_SPEC.value_for_condition(cleaned, "items.subtotal", "sum")


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=data_that_fits | form_data, partial=st.booleans())
def test_clean_is_stable_through_storage(data: dict[str, Any], partial: bool) -> None:
    """What clean() returns, stored as JSON and cleaned again, comes back the same."""
    try:
        cleaned = EXAMPLE_SPEC.clean(data, partial=partial)
    except FormDataError:
        event("refused")
        return
    event("cleaned")
    assert EXAMPLE_SPEC.clean(stored(cleaned), partial=partial) == cleaned
    # And a node where everything is read-only keeps it all.
    assert EXAMPLE_SPEC.clean(data, permissions={}, previous=stored(cleaned)) == cleaned


odd = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.text(max_size=4)
    | st.lists(st.integers(0, 3), max_size=2)
)
keys = st.sampled_from(["a", "b", "c", "t"])
choices = st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, unique=True)
option_values: dict[str, st.SearchStrategy[Any]] = {
    "required": st.booleans(),
    "max_length": st.integers(1, 30),
    "min_length": st.integers(0, 30),
    "pattern": st.sampled_from(["[0-9]+", "(", "a|b", ".*"]),
    "pattern_message": st.text(max_size=5),
    "min": st.integers(-5, 5) | st.sampled_from(["1.5", "-0.5"]),
    "max": st.integers(0, 10) | st.sampled_from(["9.5", 1e20]),
    "decimals": st.integers(0, 6),
    "min_choices": st.integers(0, 3),
    "max_choices": st.integers(1, 3),
    "multiple": st.booleans(),
    "max_count": st.integers(1, 3),
    "min_rows": st.integers(0, 3),
    "max_rows": st.integers(1, 3),
    "sum": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
    "format": st.sampled_from(["money", "number"]),
    "decimals_of_formula": st.integers(0, 6),
    "text": st.text(max_size=5),
    "unit": st.sampled_from(["天", "件"]),
    "max_days": st.integers(1, 5),
    "placeholder": st.text(max_size=5),
    "help": st.text(max_size=5),
}
date_bounds = st.sampled_from(["2026-01-01", "2026-06-30", "2026-12-31"])
expressions = st.sampled_from(
    ["a + b", "sum(t.c)", "round(a / 3, 2)", "b / 0", "c * 2", "1", "max(a, b) - min(a, 1)", "-a", "(", "t"]
)


def typed_field(
    kind: str, columns: st.SearchStrategy[list[dict[str, Any]]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A field of type ``kind`` with options of that type: specifications that often parse."""
    base: dict[str, st.SearchStrategy[Any]] = {"key": keys, "type": st.just(kind), "label": st.just(kind)}
    optional = {name: option_values[name] for name in FIELD_TYPES[kind].OPTIONS | {"required", "help"}
                if name in option_values}  # fmt: skip
    if kind in ("date", "daterange"):
        optional.update(min=date_bounds, max=date_bounds)
    if kind in ("select", "multiselect"):
        base["options"] = choices
    if kind == "computed":
        base["expression"] = expressions
        optional["decimals"] = option_values["decimals_of_formula"]
    if kind == "table":
        base["columns"] = columns
    return st.fixed_dictionaries(base, optional=optional)


def unique_keys(fields: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(fields, min_size=1, max_size=4, unique_by=lambda field: field["key"])


column_types = sorted(set(FIELD_TYPES) - {"table", "description"})
typed_column = st.sampled_from(column_types).flatmap(lambda kind: typed_field(kind, st.nothing()))
typed = st.sampled_from(sorted(FIELD_TYPES)).flatmap(
    lambda kind: typed_field(kind, unique_keys(typed_column))
)
# Anything else: unknown types and attributes, wrong option values, tables in tables.
anything = st.fixed_dictionaries(
    {"key": keys | odd, "type": st.sampled_from([*FIELD_TYPES, "other"]) | odd, "label": st.just("甲") | odd},
    optional={"columns": st.lists(typed | odd, max_size=2), **dict.fromkeys(option_values, odd)},
)


@given(
    spec=st.fixed_dictionaries({"fields": unique_keys(typed)})
    | st.fixed_dictionaries({"fields": st.lists(typed | anything, max_size=4)})
    | json_values
)
@settings(max_examples=400, deadline=None)
def test_parse_form_never_crashes(spec: Any) -> None:
    failure: FormSpecError | None = None
    try:
        parsed = parse_form(deepcopy(spec))
    except FormSpecError as raised:
        failure = raised
    if failure is not None:
        event("refused")
        assert failure.problems
        assert all(isinstance(problem, str) and problem for problem in failure.problems)
        return
    event(f"parsed with {len(parsed.keys)} fields")
    if not any(parsed.field(key).type in ("user", "unit", "attachments") for key in parsed.keys):
        with contextlib.suppress(FormDataError):
            parsed.display(parsed.clean(dict.fromkeys(parsed.keys, "1")))

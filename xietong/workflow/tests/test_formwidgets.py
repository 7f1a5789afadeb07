"""The form widgets: every field type becomes what the template needs, permissions hide and
lock fields, errors land on fields and table cells, and posted inputs read back into the data
the services accept — the round trip through ``FormSpec.clean`` included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.http import QueryDict
from django.template.loader import render_to_string

from tests.fixtures import make_user
from xietong.files.models import StoredFile
from xietong.org.models import OrgUnit
from xietong.workflow import formspec, formwidgets

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "fields": [
        {"key": "intro", "type": "description", "label": "说明", "text": "请如实填写"},
        {"key": "subject", "type": "text", "label": "事由", "required": True, "max_length": 50},
        {"key": "detail", "type": "textarea", "label": "详细说明"},
        {"key": "count", "type": "number", "label": "人数", "decimals": 0, "unit": "人"},
        {"key": "amount", "type": "money", "label": "金额"},
        {"key": "day", "type": "date", "label": "日期"},
        {"key": "period", "type": "daterange", "label": "期间"},
        {"key": "kind", "type": "select", "label": "类别", "options": ["差旅", "办公"]},
        {"key": "tags", "type": "multiselect", "label": "标签", "options": ["急", "常规", "重要"]},
        {"key": "who", "type": "user", "label": "经办人"},
        {"key": "units", "type": "unit", "label": "相关部门", "multiple": True},
        {"key": "files", "type": "attachments", "label": "附件"},
        {
            "key": "items",
            "type": "table",
            "label": "明细",
            "columns": [
                {"key": "name", "type": "text", "label": "品名"},
                {"key": "qty", "type": "number", "label": "数量"},
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


@pytest.fixture
def spec() -> formspec.FormSpec:
    return formspec.parse_form(FORM)


def by_key(widgets: list[formwidgets.Widget]) -> dict[str, formwidgets.Widget]:
    return {widget.key: widget for widget in widgets}


def test_every_field_type_has_a_widget(spec: formspec.FormSpec) -> None:
    widgets = by_key(formwidgets.fields_for(spec, {}))
    assert list(widgets) == spec.keys
    assert widgets["intro"].text == "请如实填写"
    assert widgets["subject"].required
    assert widgets["subject"].max_count == 50
    assert widgets["subject"].name == "f.subject"
    assert widgets["count"].step == "1"
    assert widgets["count"].unit == "人"
    assert widgets["amount"].step == "0.01"
    assert widgets["amount"].min == "0"
    assert widgets["kind"].options == ("差旅", "办公")
    assert widgets["units"].multiple
    assert not widgets["who"].multiple
    table = widgets["items"]
    assert [column.key for column in table.columns] == ["name", "qty", "price", "subtotal"]
    assert table.columns[1].name == "f.items.__ROW__.qty"
    assert len(table.rows) == 1  # an empty table offers one blank row
    assert table.sums == ("qty", "subtotal")
    assert widgets["total"].expression == "sum(items.subtotal)"
    assert widgets["total"].format_as == "money"


def test_values_fill_the_widgets_with_names_in_one_query_per_kind(
    spec: formspec.FormSpec, org_tree: dict[str, OrgUnit], django_assert_max_num_queries: Any
) -> None:
    user = make_user("jingban", name="经办人甲")
    unit = org_tree["finance"]
    stored = StoredFile.objects.create(name="发票.pdf", blob="x", size=2048, context="workflow.attachment")
    values = {
        "subject": "出差",
        "amount": Decimal("12345.60"),
        "period": ["2026-03-01", "2026-03-03"],
        "tags": ["急", "重要"],
        "who": user.pk,
        "units": [unit.pk],
        "files": [str(stored.key)],
        "items": [{"name": "纸", "qty": "2", "price": "3.50", "subtotal": "7.00"}],
        "total": "7.00",
    }
    with django_assert_max_num_queries(3):
        widgets = by_key(formwidgets.fields_for(spec, values))
    assert widgets["subject"].value == "出差"
    assert widgets["amount"].value == "12345.60"
    assert widgets["amount"].uppercase == "壹万贰仟叁佰肆拾伍元陆角"
    assert (widgets["period"].start, widgets["period"].end) == ("2026-03-01", "2026-03-03")
    assert widgets["tags"].values == ["急", "重要"]
    assert [choice.label for choice in widgets["who"].choices] == ["经办人甲"]
    assert [choice.label for choice in widgets["units"].choices] == [unit.name]
    assert widgets["files"].choices[0].label == "发票.pdf"
    assert widgets["files"].choices[0].detail == "2 KB"
    row = widgets["items"].rows[0]
    assert [cell.name for cell in row.cells] == [
        "f.items.0.name",
        "f.items.0.qty",
        "f.items.0.price",
        "f.items.0.subtotal",
    ]
    assert row.cells[2].uppercase == "叁元伍角"
    assert widgets["total"].uppercase == "柒元整"


def test_permissions_hide_and_lock_fields(spec: formspec.FormSpec) -> None:
    permissions = {"subject": "readonly", "amount": "editable", "detail": "hidden", "kind": "required"}
    widgets = by_key(
        formwidgets.fields_for(spec, {"subject": "出差", "amount": "5"}, permissions=permissions)
    )
    assert "detail" not in widgets
    assert widgets["subject"].readonly
    assert widgets["subject"].display is not None
    assert widgets["subject"].display.text == "出差"
    assert not widgets["amount"].readonly
    assert widgets["kind"].required
    assert not widgets["kind"].readonly
    assert widgets["count"].readonly  # not listed: read-only
    assert not widgets["intro"].readonly  # a description holds no value


def test_errors_land_on_fields_and_cells(spec: formspec.FormSpec) -> None:
    errors = formwidgets.error_map(
        {"subject": "请填写“事由”", "items.1.qty": "“明细”第 2 行：“数量”必须是数字"}
    )
    values = {"items": [{"name": "a"}, {"name": "b", "qty": "x"}]}
    widgets = by_key(formwidgets.fields_for(spec, values, errors=errors))
    assert widgets["subject"].errors == ["请填写“事由”"]
    rows = widgets["items"].rows
    assert rows[0].cells[1].errors == []
    assert rows[1].cells[1].errors == ["“明细”第 2 行：“数量”必须是数字"]
    assert rows[1].cells[1].value == "x"


def posted(pairs: list[tuple[str, str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in pairs:
        query.appendlist(name, value)
    return query


def test_read_posted_builds_the_data_and_clean_accepts_it(spec: formspec.FormSpec) -> None:
    user = make_user("jingban2", name="经办人乙")
    post = posted(
        [
            ("f.subject", " 出差北京 "),
            ("f.count", "3"),
            ("f.amount", "1,234.5"),
            ("f.period.start", "2026-03-01"),
            ("f.period.end", "2026-03-02"),
            ("f.kind", "差旅"),
            ("f.tags", "重要"),
            ("f.tags", "急"),
            ("f.who", str(user.pk)),
            ("f.items.0.name", "机票"),
            ("f.items.0.qty", "2"),
            ("f.items.0.price", "800"),
            ("f.items.0.subtotal", "999999"),  # never taken from the client
            ("f.items.3.name", ""),  # a blank row left in the form
            ("f.items.5.name", "酒店"),
            ("f.items.5.qty", "1"),
            ("f.items.5.price", "450.5"),
            ("f.total", "1"),
            ("title", "not a field"),
        ]
    )
    data = formwidgets.read_posted(spec, post)
    assert data["items"] == [
        {"name": "机票", "qty": "2", "price": "800"},
        {"name": "酒店", "qty": "1", "price": "450.5"},
    ]
    assert "total" not in data
    assert "title" not in data
    assert "intro" not in data
    assert data["period"] == ["2026-03-01", "2026-03-02"]
    assert data["units"] == []
    assert data["files"] == []
    clean = spec.clean(data)
    assert clean["subject"] == "出差北京"
    assert clean["amount"] == Decimal("1234.50")
    assert clean["tags"] == ["急", "重要"]
    assert clean["who"] == user.pk
    assert clean["items"][0]["subtotal"] == Decimal("1600.00")
    assert clean["total"] == Decimal("2050.50")


def test_read_posted_reads_only_editable_fields(spec: formspec.FormSpec) -> None:
    post = posted([("f.subject", "改了"), ("f.amount", "9")])
    data = formwidgets.read_posted(spec, post, permissions={"subject": "readonly", "amount": "editable"})
    assert data == {"amount": "9"}


def test_read_posted_caps_the_rows(spec: formspec.FormSpec) -> None:
    post = posted([(f"f.items.{index}.name", "x") for index in range(formspec.MAX_ROWS + 50)])
    data = formwidgets.read_posted(spec, post)
    assert len(data["items"]) == formspec.MAX_ROWS + 1
    with pytest.raises(formspec.FormDataError):
        spec.clean(data)


def test_the_template_renders_every_widget(spec: formspec.FormSpec) -> None:
    widgets = formwidgets.fields_for(
        spec, {"amount": "100", "items": [{"qty": "1", "price": "2"}]}, errors={"subject": ["请填写“事由”"]}
    )
    html = render_to_string("workflow/run_fields.html", {"fields": widgets})
    for name in ("f.subject", "f.detail", "f.count", "f.amount", "f.day", "f.period.start", "f.period.end"):
        assert f'name="{name}"' in html
    assert "壹佰元整" in html
    assert 'data-wf-formula="qty * price"' in html
    assert "f.items.__ROW__.qty" in html
    assert 'name="f.items.0.qty"' in html
    assert 'data-wf-sum="subtotal"' in html
    assert "请填写“事由”" in html
    assert 'data-wf-picker="user"' in html
    assert 'data-wf-picker="unit"' in html
    assert "data-wf-files" in html

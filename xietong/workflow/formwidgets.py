"""Rendering a flow's form as inputs and reading the posted inputs back.

Interface:

- ``fields_for(spec, values, *, permissions=None, errors=None) -> list[Widget]`` — one
  ``Widget`` per field to render, in the order of the form: fields ``hidden`` under
  ``permissions`` are left out, ``readonly`` ones come with ``readonly=True`` and their
  formatted value in ``display`` (a ``formspec.DisplayRow``). ``permissions`` None means every
  field is editable (the initiator's form). ``values`` may be normalised data (a saved
  draft, an instance) or what ``read_posted`` returned (the form shown again after an
  error). ``errors`` maps a field key, or ``"table.row.column"`` for a cell (0-based row, as
  ``formspec.FormDataError.errors`` does), to a message or a list of messages.
- ``read_posted(spec, post, *, permissions=None) -> dict[str, Any]`` — the data dict that
  ``services.draft_save`` / ``instance_start`` / ``approve(edits=…)`` / ``resubmit`` accept,
  built from the posted inputs of the fields editable under ``permissions`` (None = all);
  computed, read-only and hidden fields are not read (``FormSpec.clean`` keeps or computes
  them). Detail-table rows come from indexed names (``f.items.0.qty``, gaps allowed, blank
  rows dropped); attachments are the posted file keys.
- template ``workflow/run_fields.html`` renders the list::

      {% include "workflow/run_fields.html" with fields=fields %}

  inside a ``<form>`` that also loads the ``workflow-form`` JS bundle (live 大写, table rows
  and sums, formulas, pickers and uploads). Pickers search ``workflow:pick_people`` /
  ``workflow:pick_units``; attachments upload to ``workflow:upload``.

Input names: every field's inputs are named ``f.<key>`` (a date range ``f.<key>.start`` and
``f.<key>.end``; a table cell ``f.<table>.<row>.<column>``), so they never collide with the
page's own inputs (标题, 急办, request_id …).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org.models import OrgUnit
from xietong.workflow import formspec, money

PREFIX = "f."
ROW_PLACEHOLDER = "__ROW__"
_INDEX = re.compile(r"[0-9]{1,4}")


@dataclass
class Choice:
    """A chosen user, unit or file shown in a picker: its value and how to show it."""

    value: str
    label: str
    detail: str = ""


@dataclass
class TableRow:
    index: str
    cells: list[Widget]


@dataclass
class Widget:
    """What the template needs to render one field (or one cell of a detail table)."""

    key: str
    type: str
    label: str
    #: The input name: ``f.amount``, ``f.items.0.qty`` (``f.items.__ROW__.qty`` in a row template).
    name: str
    required: bool = False
    readonly: bool = False
    help: str = ""
    placeholder: str = ""
    errors: list[str] = field(default_factory=list)
    #: The value of a one-input field as the input shows it.
    value: str = ""
    #: The values of a multi-valued field: chosen options, user/unit ids, file keys.
    values: list[str] = field(default_factory=list)
    #: Date range.
    start: str = ""
    end: str = ""
    max_days: int | None = None
    #: select / multiselect.
    options: tuple[str, ...] = ()
    #: user / unit / attachments: what is chosen, with names.
    choices: list[Choice] = field(default_factory=list)
    multiple: bool = False
    max_count: int | None = None
    #: number / money / date: bounds as the browser's input takes them.
    min: str = ""
    max: str = ""
    step: str = ""
    unit: str = ""
    #: money and money formulas: the 大写 of the value.
    uppercase: str = ""
    #: computed: the formula the browser evaluates live, its output format and decimals.
    expression: str = ""
    format_as: str = ""
    decimals: int | None = None
    #: description: the text shown.
    text: str = ""
    #: table: one widget per column (a new row's cells), the rows, the summed column keys.
    columns: list[Widget] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)
    sums: tuple[str, ...] = ()
    min_rows: int = 0
    max_rows: int | None = None
    #: Read-only fields: the formatted value (names, 大写, table, files).
    display: formspec.DisplayRow | None = None

    @property
    def dom_id(self) -> str:
        return "fld-" + self.name[len(PREFIX) :].replace(".", "-")

    @property
    def numeric(self) -> bool:
        return self.type in ("number", "money", "computed", "daterange")

    @property
    def wide(self) -> bool:
        """Takes a whole line of the form grid."""
        return self.type in ("textarea", "table", "description", "attachments", "multiselect")


# --------------------------------------------------------------------------------- values


def _text(value: Any) -> str:
    """A value as an input shows it."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float | str):
        return str(value)
    return ""


def _texts(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [text for text in (_text(item) for item in items) if text]


def _uppercase(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return money.to_chinese_uppercase(formspec.parse_decimal(value))
    except ValueError:
        return ""


def _bound(number: Decimal | None) -> str:
    return "" if number is None else f"{number.normalize():f}"


def _messages(errors: Mapping[str, Sequence[str] | str] | None, path: str) -> list[str]:
    if not errors or path not in errors:
        return []
    found = errors[path]
    return [found] if isinstance(found, str) else [str(message) for message in found]


def _level(permissions: Mapping[str, str] | None, key: str) -> str:
    if permissions is None:
        return formspec.EDITABLE
    level = permissions.get(key, formspec.READONLY)
    return level if level in formspec.PERMISSION_LEVELS else formspec.READONLY


class _Lookup:
    """The ids and keys every picker shows, named in one query per kind at the end."""

    def __init__(self) -> None:
        self.wanted: list[tuple[Widget, str]] = []

    def add(self, widget: Widget, kind: str) -> None:
        self.wanted.append((widget, kind))

    def load(self) -> None:
        user_ids = {int(v) for w, k in self.wanted if k == "user" for v in w.values if v.isdigit()}
        unit_ids = {int(v) for w, k in self.wanted if k == "unit" for v in w.values if v.isdigit()}
        file_keys: set[uuid.UUID] = set()
        for widget, kind in self.wanted:
            if kind == "file":
                for value in widget.values:
                    try:
                        file_keys.add(uuid.UUID(value))
                    except ValueError:
                        continue
        users: dict[str, Choice] = {}
        if user_ids:
            users = {
                str(pk): Choice(str(pk), name)
                for pk, name in User.objects.filter(pk__in=user_ids).values_list("pk", "name")
            }
        units: dict[str, Choice] = {}
        if unit_ids:
            units = {
                str(pk): Choice(str(pk), name)
                for pk, name in OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name")
            }
        files: dict[str, Choice] = {}
        if file_keys:
            files = {
                str(key): Choice(str(key), name, size_text(size))
                for key, name, size in StoredFile.objects.filter(key__in=file_keys).values_list(
                    "key", "name", "size"
                )
            }
        known = {"user": users, "unit": units, "file": files}
        for widget, kind in self.wanted:
            names = known[kind]
            widget.choices = [names.get(value) or Choice(value, _("（已删除）")) for value in widget.values]


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


# --------------------------------------------------------------------------------- widgets


def _widget(
    spec_field: formspec.FieldSpec,
    value: Any,
    name: str,
    path: str,
    errors: Mapping[str, Sequence[str] | str] | None,
    lookup: _Lookup,
) -> Widget:
    widget = Widget(
        key=spec_field.key,
        type=spec_field.type,
        label=spec_field.label,
        name=name,
        required=spec_field.required,
        help=spec_field.help,
        placeholder=spec_field.placeholder,
        errors=_messages(errors, path),
    )
    if isinstance(spec_field, formspec.DescriptionField):
        widget.text = spec_field.text
    elif isinstance(spec_field, formspec.TableField):
        _table(widget, spec_field, value, path, errors, lookup)
    elif isinstance(spec_field, formspec.ComputedField):
        widget.expression = spec_field.expression
        widget.format_as = spec_field.format_as
        widget.decimals = spec_field.decimals
        widget.unit = spec_field.unit
        widget.value = _text(value)
        if spec_field.format_as == "money":
            widget.uppercase = _uppercase(value)
    elif isinstance(spec_field, formspec.NumberField):  # money too
        widget.value = _text(value)
        widget.min = _bound(spec_field.min)
        widget.max = _bound(spec_field.max)
        places = spec_field.decimals
        widget.decimals = places
        widget.step = "any" if places is None else ("1" if places == 0 else f"{Decimal(1).scaleb(-places):f}")
        widget.unit = spec_field.unit
        if isinstance(spec_field, formspec.MoneyField):
            widget.uppercase = _uppercase(value)
    elif isinstance(spec_field, formspec.DateRangeField):
        parts = list(value) if isinstance(value, list | tuple) and len(value) == 2 else ["", ""]
        widget.start, widget.end = _text(parts[0]), _text(parts[1])
        widget.min, widget.max = _day(spec_field.min), _day(spec_field.max)
        widget.max_days = spec_field.max_days
    elif isinstance(spec_field, formspec.DateField):
        widget.value = _text(value)
        widget.min, widget.max = _day(spec_field.min), _day(spec_field.max)
    elif isinstance(spec_field, formspec.MultiSelectField):
        widget.options = spec_field.options
        widget.values = _texts(value)
        widget.max_count = spec_field.max_choices
    elif isinstance(spec_field, formspec.SelectField):
        widget.options = spec_field.options
        widget.value = _text(value)
    elif isinstance(spec_field, formspec.UserField | formspec.UnitField):
        widget.multiple = spec_field.multiple
        widget.max_count = spec_field.max_count if spec_field.multiple else 1
        widget.values = _texts(value)
        lookup.add(widget, spec_field.kind)
    elif isinstance(spec_field, formspec.AttachmentsField):
        widget.multiple = True
        widget.max_count = spec_field.max_count
        widget.values = _texts(value)
        lookup.add(widget, "file")
    else:  # text, textarea
        widget.value = _text(value)
        if isinstance(spec_field, formspec.TextField):
            widget.max_count = spec_field.max_length
    return widget


def _day(day: Any) -> str:
    return day.isoformat() if day is not None else ""


def _table(
    widget: Widget,
    table: formspec.TableField,
    value: Any,
    path: str,
    errors: Mapping[str, Sequence[str] | str] | None,
    lookup: _Lookup,
) -> None:
    widget.sums = table.sums
    widget.min_rows = table.min_rows
    widget.max_rows = table.max_rows
    template_lookup = _Lookup()  # a new row's cells are empty: nothing to name
    widget.columns = [
        _widget(column, None, f"{widget.name}.{ROW_PLACEHOLDER}.{column.key}", "", None, template_lookup)
        for column in table.columns
    ]
    rows = table.rows(value)
    if not rows:
        rows = [{} for _ in range(max(table.min_rows, 1))]
    for index, row in enumerate(rows):
        widget.rows.append(
            TableRow(
                index=str(index),
                cells=[
                    _widget(
                        column,
                        row.get(column.key),
                        f"{widget.name}.{index}.{column.key}",
                        f"{path}.{index}.{column.key}",
                        errors,
                        lookup,
                    )
                    for column in table.columns
                ],
            )
        )


def fields_for(
    spec: formspec.FormSpec,
    values: Mapping[str, Any],
    *,
    permissions: Mapping[str, str] | None = None,
    errors: Mapping[str, Sequence[str]] | Mapping[str, str] | None = None,
) -> list[Widget]:
    """The widgets of ``spec`` filled with ``values`` (see the module docstring)."""
    values = values if isinstance(values, Mapping) else {}
    lookup = _Lookup()
    widgets: list[Widget] = []
    readonly: list[Widget] = []
    for spec_field in spec.fields:
        level = _level(permissions, spec_field.key)
        if level == formspec.HIDDEN:
            continue
        path = spec_field.key
        widget = _widget(spec_field, values.get(spec_field.key), PREFIX + path, path, errors, lookup)
        if level == formspec.REQUIRED and spec_field.type != "computed":
            widget.required = True
        if spec_field.holds_value and level == formspec.READONLY:
            widget.readonly = True
            readonly.append(widget)
        widgets.append(widget)
    lookup.load()
    if readonly:
        shown = {row.key: row for row in spec.display(values)}
        for widget in readonly:
            widget.display = shown.get(widget.key)
    return widgets


# --------------------------------------------------------------------------------- posted data


def _editable(permissions: Mapping[str, str] | None, key: str) -> bool:
    return _level(permissions, key) in (formspec.EDITABLE, formspec.REQUIRED)


def _read(spec_field: formspec.FieldSpec, post: QueryDict, name: str) -> Any:
    if isinstance(spec_field, formspec.TableField):
        return _read_table(spec_field, post, name)
    if isinstance(spec_field, formspec.DateRangeField):
        start, end = post.get(f"{name}.start", ""), post.get(f"{name}.end", "")
        return [start, end] if (start or end) else None
    if isinstance(spec_field, formspec.MultiSelectField | formspec.AttachmentsField):
        return [value for value in post.getlist(name) if value != ""]
    if isinstance(spec_field, formspec.UserField | formspec.UnitField):
        picked = [value for value in post.getlist(name) if value.strip() != ""]
        if spec_field.multiple:
            return picked
        return picked[0] if len(picked) == 1 else (picked or None)
    return post.get(name)


def _read_table(table: formspec.TableField, post: QueryDict, name: str) -> list[dict[str, Any]]:
    start = f"{name}."
    indices: set[int] = set()
    for posted in post:
        if posted.startswith(start):
            head = posted[len(start) :].split(".", 1)[0]
            if _INDEX.fullmatch(head):
                indices.add(int(head))
    rows: list[dict[str, Any]] = []
    # One more than allowed is enough for the form to say there are too many.
    for index in sorted(indices)[: formspec.MAX_ROWS + 1]:
        row = {
            column.key: _read(column, post, f"{name}.{index}.{column.key}")
            for column in table.columns
            if column.type != "computed"
        }
        if all(_blank(cell) for cell in row.values()):
            continue
        rows.append(row)
    return rows


def _blank(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_blank(item) for item in value)
    return value is None or (isinstance(value, str) and not value.strip())


def read_posted(
    spec: formspec.FormSpec, post: QueryDict, *, permissions: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The form data from the posted inputs (see the module docstring)."""
    data: dict[str, Any] = {}
    for spec_field in spec.fields:
        if not spec_field.holds_value or spec_field.type == "computed":
            continue
        if not _editable(permissions, spec_field.key):
            continue
        data[spec_field.key] = _read(spec_field, post, PREFIX + spec_field.key)
    return data


def error_map(errors: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, list[str]]:
    """``FormDataError.errors`` as ``fields_for`` takes them (a list per key)."""
    pairs = errors.items() if isinstance(errors, Mapping) else errors
    result: dict[str, list[str]] = {}
    for key, message in pairs:
        result.setdefault(str(key), []).append(str(message))
    return result

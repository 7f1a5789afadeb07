"""Flow definitions: the JSON tree a flow version stores, its validation and its navigation.

A definition is a sequence of nodes; a branch node (``condition`` or ``parallel``) holds
branches, each with a sequence of its own, and after the branch node the flow continues with
the next node of the enclosing sequence::

    {"initiators": [...], "settings": {...}, "nodes": [{"id": "n1", "type": "approval", ...}, ...]}

``validate_definition`` lists every problem in Chinese, for the designer to show all at once;
``check_definition`` raises them as one ``DefinitionError``. ``node_index`` and the small
helpers below it are what the runtime walks the tree with. Evaluating conditions lives in
``conditions``, resolving approvers in ``resolve``; both import this module, never the reverse.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeGuard

from django.utils.translation import gettext as _

from xietong.core.errors import DomainError

# --------------------------------------------------------------------------- vocabulary

NODE_TYPES = ("approval", "handle", "cc", "condition", "parallel")
#: Nodes that give someone a task (审批 votes, 办理 handles); a flow needs at least one.
TASK_TYPES = ("approval", "handle")
BRANCH_TYPES = ("condition", "parallel")
MODES = ("sequential", "all", "any")
APPROVER_KINDS = (
    "users",
    "role",
    "position",
    "head",
    "heads",
    "unit_head",
    "initiator_chooses",
    "form_field",
    "initiator",
)
INITIATOR_KINDS = ("everyone", "unit", "role", "user", "position")
ON_TIMEOUT = ("remind", "escalate", "approve", "reject")
FIELD_PERMISSIONS = ("hidden", "readonly", "editable", "required")
#: The actions an opinion can be made compulsory for, by node type.
OPINION_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "approval": ("approve", "reject", "return", "transfer"),
    "handle": ("submit", "return", "transfer"),
}


def _deployment_time_basis() -> str:
    from django.conf import settings as django_settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        value = getattr(django_settings, "XIETONG_WORKFLOW_TIME_BASIS", "calendar")
    except ImproperlyConfigured:
        return "calendar"
    return value if value in ("calendar", "working") else "calendar"


#: Flow-wide settings with their allowed values.
SETTING_CHOICES: Mapping[str, tuple[str, ...]] = {
    "on_empty": ("skip", "admin"),
    "dedup": ("none", "consecutive"),
    "self_approve": ("auto", "require"),
    "return_resume": ("restart", "direct"),
    "withdraw": ("strict", "lenient"),
    "on_timeout": ON_TIMEOUT,
    # How time limits are counted: calendar hours, or working hours over the holiday calendar.
    "time_basis": ("calendar", "working"),
}
#: What applies when neither the node nor the flow's ``settings`` say otherwise (``setting``).
DEFAULTS: Mapping[str, Any] = {
    "on_empty": "skip",
    "dedup": "none",
    "self_approve": "require",
    "return_resume": "restart",
    "withdraw": "strict",
    "on_timeout": "remind",
    "time_limit_hours": 24,
    "urgent_time_limit_hours": 4,
    "admin_user_ids": [],
    "mode": "sequential",
    # The deployment's choice (XIETONG_WORKFLOW_TIME_BASIS); ``sla.basis_for`` reads it per call.
    "time_basis": _deployment_time_basis(),
}
SETTING_KEYS = (*SETTING_CHOICES, "time_limit_hours", "urgent_time_limit_hours", "admin_user_ids")
#: Settings a task node may override for itself.
NODE_OVERRIDES = ("on_empty", "self_approve")

#: Keys each node type may carry (anything else is a typo the designer should hear about).
_COMMON_KEYS = ("id", "type", "name")
_TASK_KEYS = (
    "approvers",
    "mode",
    "time_limit_hours",
    "on_timeout",
    "field_permissions",
    "opinion_required",
    "signature",
    *NODE_OVERRIDES,
)
NODE_KEYS: Mapping[str, frozenset[str]] = {
    "approval": frozenset((*_COMMON_KEYS, *_TASK_KEYS, "batch")),
    "handle": frozenset((*_COMMON_KEYS, *_TASK_KEYS)),
    "cc": frozenset((*_COMMON_KEYS, "recipients", "field_permissions")),
    "condition": frozenset((*_COMMON_KEYS, "branches")),
    "parallel": frozenset((*_COMMON_KEYS, "branches")),
}
BRANCH_KEYS: Mapping[str, frozenset[str]] = {
    "condition": frozenset(("id", "name", "priority", "condition", "default", "nodes")),
    "parallel": frozenset(("id", "name", "nodes")),
}
_TOP_KEYS = frozenset(("initiators", "settings", "nodes"))
_SPEC_KEYS: Mapping[str, frozenset[str]] = {
    "users": frozenset(("kind", "ids")),
    "role": frozenset(("kind", "code")),
    "position": frozenset(("kind", "id")),
    "head": frozenset(("kind", "level")),
    "heads": frozenset(("kind", "up_to")),
    "unit_head": frozenset(("kind", "unit_id")),
    "initiator_chooses": frozenset(("kind", "multiple", "among")),
    "form_field": frozenset(("kind", "field")),
    "initiator": frozenset(("kind",)),
}
_INITIATOR_KEYS: Mapping[str, frozenset[str]] = {
    "everyone": frozenset(("kind",)),
    "unit": frozenset(("kind", "id", "subtree")),
    "role": frozenset(("kind", "code")),
    "user": frozenset(("kind", "id")),
    "position": frozenset(("kind", "id")),
}

ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
ROLE_CODE = re.compile(r"[-a-zA-Z0-9_]{1,64}")
NAME_MAX = 64
MAX_HEAD_LEVEL = 20
MAX_TIME_LIMIT_HOURS = 24 * 365
#: Guards against a definition (or a hostile API body) deep or big enough to hurt.
MAX_DEPTH = 16
MAX_NODES = 500
MAX_CONDITION_DEPTH = 8

# --------------------------------------------------------------------------- conditions

COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")
OPS = (*COMPARISONS, "in", "not_in", "contains", "between", "empty", "not_empty")
SUBJECTS = ("initiator_unit", "initiator_role", "initiator_position")
SUBJECT_OPS = ("in", "not_in")
AGGREGATES = ("sum",)
_LEAF_KEYS = frozenset(("field", "subject", "op", "value", "agg"))
_PRESENCE = ("empty", "not_empty")
NUMERIC_TYPES = frozenset(("number", "money", "computed"))

#: What each kind of value can be compared with (see ``condition_target``).
OPS_BY_KIND: Mapping[str, frozenset[str]] = {
    "number": frozenset((*COMPARISONS, "between", "in", "not_in", *_PRESENCE)),
    "date": frozenset((*COMPARISONS, "between", *_PRESENCE)),
    "choice": frozenset(("==", "!=", "in", "not_in", *_PRESENCE)),
    "many": frozenset(("contains", *_PRESENCE)),
    "presence": frozenset(_PRESENCE),
    "total": frozenset((*COMPARISONS, "between")),
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FormLike(Protocol):
    """What this package needs of ``xietong.workflow.formspec.FormSpec``."""

    def field(self, key: str) -> Any: ...

    def value_for_condition(self, data: dict[str, Any], field: str, agg: str | None = None) -> Any: ...


@dataclass(frozen=True)
class FieldInfo:
    """The facts about a form field that routing needs, whatever shape ``FieldSpec`` has."""

    key: str
    type: str
    options: tuple[str, ...] = ()
    multiple: bool = False
    columns: Mapping[str, FieldInfo] = field(default_factory=dict)


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _info(key: str, spec: Any) -> FieldInfo | None:
    kind = _attr(spec, "type")
    if not isinstance(kind, str):
        return None
    options = _attr(spec, "options") or ()
    columns: dict[str, FieldInfo] = {}
    for column in _attr(spec, "columns") or ():
        column_key = _attr(column, "key")
        info = _info(f"{key}.{column_key}", column) if isinstance(column_key, str) else None
        if info is not None:
            columns[column_key] = info
    return FieldInfo(
        key=key,
        type=kind,
        options=tuple(str(option) for option in options) if isinstance(options, list | tuple) else (),
        multiple=bool(_attr(spec, "multiple", False)),
        columns=columns,
    )


def field_info(form: FormLike | None, key: str) -> FieldInfo | None:
    """The field ``key`` of ``form`` — ``"items.subtotal"`` is the column ``subtotal`` of the
    table ``items`` — or None when there is no form or no such field."""
    if form is None or not isinstance(key, str) or not key:
        return None
    head, dot, column = key.partition(".")
    try:
        spec = form.field(head)
    except (LookupError, ValueError, TypeError, DomainError):
        return None
    info = _info(head, spec) if spec is not None else None
    if info is None or not dot:
        return info
    return info.columns.get(column) if info.type == "table" else None


@dataclass(frozen=True)
class Target:
    """What a condition on a form field compares. ``kind`` is a key of ``OPS_BY_KIND``:
    ``number`` and ``date`` (ordered, may be empty), ``total`` (a table column's sum: a number
    that is always there), ``choice`` (one value: equality and lists),
    ``many`` (a list that ``contains``), ``presence`` (only empty / not empty). ``values``
    says what the values compared with must be: ``number``, ``date``, ``option`` (one of
    ``options``), ``id`` (of a user or unit), ``text`` or ``none``."""

    kind: str
    values: str
    options: tuple[str, ...] = ()


def condition_target(form: FormLike | None, key: str, agg: str | None = None) -> Target | None:
    """What a condition on ``key`` (with ``agg``) compares in ``form`` — as the form's
    ``value_for_condition`` gives it: numbers and amounts, a date range's number of days, a
    table column's sum, dates, options, ids, text; a table and attachments only as empty or
    not. None when the form has no such field or it cannot be used in a condition."""
    info = field_info(form, key)
    if info is None:
        return None
    if agg is not None:
        return (
            Target("total", "number") if agg == "sum" and info.type in NUMERIC_TYPES and "." in key else None
        )
    if "." in key:
        return None  # a column is compared through its sum
    if info.type in NUMERIC_TYPES or info.type == "daterange":
        return Target("number", "number")
    if info.type == "date":
        return Target("date", "date")
    if info.type in ("user", "unit"):
        return Target("many" if info.multiple else "choice", "id")
    if info.type in ("select", "multiselect"):
        return Target("many" if info.type == "multiselect" else "choice", "option", info.options)
    if info.type in ("table", "attachments"):
        return Target("presence", "none")
    if info.type == "description":
        return None
    return Target("choice", "text")  # text, textarea, and types added later


def as_decimal(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal (numbers and numeric strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    return number if number.is_finite() else None


def as_date(value: Any) -> dt.date | None:
    """``value`` as a date: a ``date`` or an ISO ``YYYY-MM-DD`` string, else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def truth(condition: Any) -> bool | None:
    """What a condition is whatever the data: True (always), False (never) or None (it
    depends). Groups only — ``{"all": []}`` is always true, ``{"any": []}`` never."""
    return _truth(condition, 0)


def _truth(condition: Any, depth: int) -> bool | None:
    if not isinstance(condition, Mapping) or len(condition) != 1 or depth > MAX_CONDITION_DEPTH:
        return None
    (key, value), *_rest = condition.items()
    if key == "not":
        inner = _truth(value, depth + 1)
        return None if inner is None else not inner
    if key not in ("all", "any") or not isinstance(value, list):
        return None
    parts = [_truth(part, depth + 1) for part in value]
    if key == "all":
        if any(part is False for part in parts):
            return False
        return True if all(part is True for part in parts) else None
    if any(part is True for part in parts):
        return True
    return False if all(part is False for part in parts) else None


# --------------------------------------------------------------------------- errors


class DefinitionError(DomainError):
    """A flow definition that cannot be used; ``problems`` lists every reason in Chinese."""

    code = "invalid_definition"

    def __init__(self, problems: Sequence[str] | str) -> None:
        listed = [problems] if isinstance(problems, str) else [str(problem) for problem in problems]
        if not listed:
            listed = [_("流程定义有误。")]
        self.problems = listed
        super().__init__(_("流程定义有误：%(problems)s") % {"problems": "；".join(listed)}, details=listed)

    @classmethod
    def from_problems(cls, problems: Sequence[str]) -> DefinitionError:
        return cls(problems)


def check_definition(definition: Any, form: FormLike | None = None) -> None:
    """Raise ``DefinitionError`` with every problem of ``definition`` when it has any."""
    problems = validate_definition(definition, form)
    if problems:
        raise DefinitionError.from_problems(problems)


# --------------------------------------------------------------------------- validation


def validate_definition(definition: Any, form: FormLike | None = None) -> list[str]:
    """Every problem of ``definition`` in Chinese, in tree order; ``[]`` when it is valid.

    With ``form`` the references into the form are checked too (conditions on fields, field
    permissions, ``form_field`` approvers). Never raises, whatever JSON it is given. Whether
    the users, roles, positions and units it names exist is ``reference_problems``'s
    concern (``resolve.reference_problems``): it needs the database.
    """
    return _Validator(form).run(definition)


def is_positive_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= MAX_TIME_LIMIT_HOURS
    )


def _text(value: Any) -> str:
    """A value quoted in a message: short, printable."""
    shown = value if isinstance(value, str) else repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "…"


class _Validator:
    def __init__(self, form: FormLike | None) -> None:
        self.form = form
        self.problems: list[str] = []
        self.ids: set[str] = set()
        self.nodes = 0
        self.tasks = 0
        self.too_big = False

    def add(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    # ------------------------------------------------------------------ top level

    def run(self, definition: Any) -> list[str]:
        if not isinstance(definition, Mapping):
            return [_("流程定义必须是一个对象。")]
        for key in definition:
            if key not in _TOP_KEYS:
                self.add(_("流程定义中有不支持的设置项“%(key)s”。") % {"key": _text(key)})
        settings = definition.get("settings", {})
        self.settings(settings)
        if "initiators" in definition:
            self.initiators(definition["initiators"])
        nodes = definition.get("nodes")
        if not isinstance(nodes, list):
            self.add(_("流程定义缺少节点列表。"))
        else:
            self.sequence(nodes, depth=0)
        if self.tasks == 0 and not self.too_big:
            self.add(_("流程中没有任何审批或办理节点。"))
        return self.problems

    def settings(self, settings: Any) -> None:
        if not isinstance(settings, Mapping):
            self.add(_("流程设置必须是一个对象。"))
            return
        for key, value in settings.items():
            if key in SETTING_CHOICES:
                if value not in SETTING_CHOICES[key]:
                    self.add(
                        _("流程设置“%(key)s”的值“%(value)s”无效，可选：%(choices)s。")
                        % {"key": key, "value": _text(value), "choices": "、".join(SETTING_CHOICES[key])}
                    )
            elif key in ("time_limit_hours", "urgent_time_limit_hours"):
                if not _positive_number(value):
                    self.add(
                        _("流程设置“%(key)s”必须是大于 0、不超过 %(max)d 的小时数。")
                        % {"key": key, "max": MAX_TIME_LIMIT_HOURS}
                    )
            elif key == "admin_user_ids":
                if not isinstance(value, list) or not all(is_positive_int(item) for item in value):
                    self.add(_("审批管理员必须是用户编号的列表。"))
            else:
                self.add(_("流程设置中有不支持的设置项“%(key)s”。") % {"key": _text(key)})

    def initiators(self, rules: Any) -> None:
        if not isinstance(rules, list) or not rules:
            self.add(_("发起人范围不能为空。"))
            return
        for rule in rules:
            if not isinstance(rule, Mapping) or rule.get("kind") not in INITIATOR_KINDS:
                self.add(_("发起人范围中有无效的规则“%(rule)s”。") % {"rule": _text(rule)})
                continue
            kind = rule["kind"]
            bad = bool(set(rule) - _INITIATOR_KEYS[kind])
            if kind == "role":
                bad |= not (isinstance(rule.get("code"), str) and ROLE_CODE.fullmatch(rule["code"]))
            elif kind != "everyone":
                bad |= not is_positive_int(rule.get("id"))
            if kind == "unit" and "subtree" in rule:
                bad |= not isinstance(rule["subtree"], bool)
            if bad:
                self.add(_("发起人范围中有无效的规则“%(rule)s”。") % {"rule": _text(rule)})

    # ------------------------------------------------------------------ nodes

    def sequence(self, nodes: list[Any], *, depth: int) -> None:
        for number, node in enumerate(nodes, start=1):
            if self.too_big:
                return
            self.nodes += 1
            if self.nodes > MAX_NODES:
                self.too_big = True
                self.add(_("流程节点过多（最多 %(max)d 个）。") % {"max": MAX_NODES})
                return
            self.node(node, number=number, depth=depth)

    def identify(self, item: Mapping[str, Any], what: str, fallback: str) -> str:
        """Check the id and name of a node or branch; return how messages name it."""
        name = item.get("name")
        ident = item.get("id")
        where = fallback
        if isinstance(name, str) and name.strip():
            where = f"{what}「{_text(name.strip())}」"
        elif isinstance(ident, str) and ident:
            where = f"{what} {_text(ident)}"
        if not isinstance(ident, str) or not ID_PATTERN.fullmatch(ident):
            self.add(
                _("%(where)s：编号“%(id)s”不合规（须以字母开头，只含字母、数字、_ 和 -，最长 32 个字符）。")
                % {"where": where, "id": _text(ident if ident is not None else "")}
            )
        elif ident in self.ids:
            self.add(_("编号“%(id)s”重复：节点和分支的编号在整个流程中必须唯一。") % {"id": ident})
        else:
            self.ids.add(ident)
        if not isinstance(name, str) or not name.strip():
            self.add(_("%(where)s：名称不能为空。") % {"where": where})
        elif len(name.strip()) > NAME_MAX:
            self.add(_("%(where)s：名称不能超过 %(max)d 个字。") % {"where": where, "max": NAME_MAX})
        return where

    def node(self, node: Any, *, number: int, depth: int) -> None:
        fallback = _("第 %(number)d 个节点") % {"number": number}
        if not isinstance(node, Mapping):
            self.add(_("%(where)s必须是一个对象。") % {"where": fallback})
            return
        where = self.identify(node, _("节点"), fallback)
        kind = node.get("type")
        if not isinstance(kind, str) or kind not in NODE_TYPES:
            self.add(_("%(where)s：未知的节点类型“%(type)s”。") % {"where": where, "type": _text(kind)})
            return
        for key in node:
            if key not in NODE_KEYS[kind]:
                self.add(_("%(where)s：不支持的设置项“%(key)s”。") % {"where": where, "key": _text(key)})
        if kind in TASK_TYPES:
            self.tasks += 1
            self.task(node, kind, where)
        elif kind == "cc":
            if "recipients" not in node:
                self.add(_("%(where)s：未设置抄送人。") % {"where": where})
            else:
                self.spec(node["recipients"], where, _("抄送人"))
            self.field_permissions(node, where, allowed=("hidden", "readonly"))
        elif depth >= MAX_DEPTH:
            self.too_big = True
            self.add(_("%(where)s：分支嵌套过深（最多 %(max)d 层）。") % {"where": where, "max": MAX_DEPTH})
        elif kind == "condition":
            self.condition_node(node, where, depth)
        else:
            self.parallel_node(node, where, depth)

    def task(self, node: Mapping[str, Any], kind: str, where: str) -> None:
        role = _("审批人") if kind == "approval" else _("办理人")
        if "approvers" not in node:
            self.add(_("%(where)s：未设置%(role)s。") % {"where": where, "role": role})
        else:
            self.spec(node["approvers"], where, role)
        if "mode" in node and node["mode"] not in MODES:
            self.add(
                _(
                    "%(where)s：多人%(role)s时的方式“%(mode)s”无效，可选：依次（sequential）、会签（all）、或签（any）。"
                )
                % {"where": where, "role": role, "mode": _text(node["mode"])}
            )
        if "time_limit_hours" in node and not _positive_number(node["time_limit_hours"]):
            self.add(
                _("%(where)s：办理时限必须是大于 0、不超过 %(max)d 的小时数。")
                % {"where": where, "max": MAX_TIME_LIMIT_HOURS}
            )
        timeouts = ON_TIMEOUT if kind == "approval" else ("remind", "escalate", "approve")
        if "on_timeout" in node and node["on_timeout"] not in timeouts:
            self.add(
                _("%(where)s：超时处理方式“%(value)s”无效，可选：%(choices)s。")
                % {"where": where, "value": _text(node["on_timeout"]), "choices": "、".join(timeouts)}
            )
        for key in NODE_OVERRIDES:
            if key in node and node[key] not in SETTING_CHOICES[key]:
                self.add(
                    _("%(where)s：设置“%(key)s”的值“%(value)s”无效，可选：%(choices)s。")
                    % {
                        "where": where,
                        "key": key,
                        "value": _text(node[key]),
                        "choices": "、".join(SETTING_CHOICES[key]),
                    }
                )
        if "opinion_required" in node:
            actions = OPINION_ACTIONS[kind]
            value = node["opinion_required"]
            if not isinstance(value, list) or not all(isinstance(a, str) and a in actions for a in value):
                self.add(
                    _("%(where)s：必填意见的操作只能是：%(choices)s。")
                    % {"where": where, "choices": "、".join(actions)}
                )
        for flag in ("signature", "batch"):
            if flag in node and not isinstance(node[flag], bool):
                self.add(_("%(where)s：设置“%(key)s”必须是是或否。") % {"where": where, "key": flag})
        self.field_permissions(node, where, allowed=FIELD_PERMISSIONS)

    def field_permissions(self, node: Mapping[str, Any], where: str, *, allowed: Sequence[str]) -> None:
        if "field_permissions" not in node:
            return
        permissions = node["field_permissions"]
        if not isinstance(permissions, Mapping):
            self.add(_("%(where)s：字段权限必须是“字段 → 权限”的对象。") % {"where": where})
            return
        for key, permission in permissions.items():
            if permission not in allowed:
                self.add(
                    _("%(where)s：字段“%(field)s”的权限“%(value)s”无效，可选：%(choices)s。")
                    % {
                        "where": where,
                        "field": _text(key),
                        "value": _text(permission),
                        "choices": "、".join(allowed),
                    }
                )
                continue
            if self.form is None:
                continue
            info = field_info(self.form, key) if "." not in key else None
            if info is None:
                self.add(
                    _("%(where)s：字段权限引用了表单中不存在的字段“%(field)s”。")
                    % {"where": where, "field": _text(key)}
                )
            elif permission in ("editable", "required") and info.type in ("computed", "description"):
                self.add(
                    _("%(where)s：字段“%(field)s”由系统计算或只是说明文字，不能设为可编辑或必填。")
                    % {"where": where, "field": key}
                )

    def spec(self, spec: Any, where: str, role: str, *, nested: bool = False) -> None:
        """An approver (or cc recipient) specification."""
        if not isinstance(spec, Mapping) or spec.get("kind") not in APPROVER_KINDS:
            kind = spec.get("kind") if isinstance(spec, Mapping) else spec
            self.add(
                _("%(where)s：%(role)s设置无效（未知的类型“%(kind)s”）。")
                % {"where": where, "role": role, "kind": _text(kind)}
            )
            return
        kind = spec["kind"]

        def bad(detail: str) -> None:
            self.add(
                _("%(where)s：%(role)s设置无效：%(detail)s。")
                % {"where": where, "role": role, "detail": detail}
            )

        for key in spec:
            if key not in _SPEC_KEYS[kind]:
                bad(_("不支持的设置项“%(key)s”") % {"key": _text(key)})
        if kind == "users":
            ids = spec.get("ids")
            if not isinstance(ids, list) or not ids or not all(is_positive_int(item) for item in ids):
                bad(_("须指定至少一名成员"))
        elif kind == "role":
            code = spec.get("code")
            if not isinstance(code, str) or not ROLE_CODE.fullmatch(code):
                bad(_("须指定角色编码"))
        elif kind == "position":
            if not is_positive_int(spec.get("id")):
                bad(_("须指定岗位"))
        elif kind in ("head", "heads"):
            key = "level" if kind == "head" else "up_to"
            level = spec.get(key)
            if not is_positive_int(level) or level > MAX_HEAD_LEVEL:
                bad(_("主管层级必须是 1 到 %(max)d 之间的整数") % {"max": MAX_HEAD_LEVEL})
        elif kind == "unit_head":
            if not is_positive_int(spec.get("unit_id")):
                bad(_("须指定部门"))
        elif kind == "initiator_chooses":
            if nested:
                bad(_("自选范围不能再是发起人自选"))
                return
            if "multiple" in spec and not isinstance(spec["multiple"], bool):
                bad(_("“可多选”必须是是或否"))
            if "among" in spec:
                among = spec["among"]
                if isinstance(among, Mapping) and among.get("kind") in ("initiator_chooses", "initiator"):
                    bad(_("自选范围只能是成员、角色、岗位、主管或部门负责人"))
                else:
                    self.spec(among, where, _("%(role)s的自选范围") % {"role": role}, nested=True)
        elif kind == "form_field":
            key = spec.get("field")
            if not isinstance(key, str) or not key:
                bad(_("须指定表单中的成员或部门字段"))
            elif self.form is not None:
                info = field_info(self.form, key) if "." not in key else None
                if info is None:
                    bad(_("表单中没有字段“%(field)s”") % {"field": _text(key)})
                elif info.type not in ("user", "unit"):
                    bad(_("字段“%(field)s”不是成员或部门字段") % {"field": key})

    # ------------------------------------------------------------------ branch nodes

    def branches(self, node: Mapping[str, Any], where: str) -> list[Mapping[str, Any]] | None:
        branches = node.get("branches")
        if not isinstance(branches, list):
            self.add(_("%(where)s：缺少分支列表。") % {"where": where})
            return None
        if len(branches) < 2:
            self.add(_("%(where)s：至少需要两个分支。") % {"where": where})
        valid = []
        for number, branch in enumerate(branches, start=1):
            if isinstance(branch, Mapping):
                valid.append(branch)
            else:
                self.add(
                    _("%(where)s：第 %(number)d 个分支必须是一个对象。") % {"where": where, "number": number}
                )
        return valid

    def branch(self, branch: Mapping[str, Any], node_type: str, where: str, number: int, depth: int) -> str:
        """Check the branch's own keys and its sequence; return how messages name it."""
        label = self.identify(
            branch, _("分支"), _("%(where)s的第 %(number)d 个分支") % {"where": where, "number": number}
        )
        for key in branch:
            if key not in BRANCH_KEYS[node_type]:
                self.add(_("%(where)s：不支持的设置项“%(key)s”。") % {"where": label, "key": _text(key)})
        nodes = branch.get("nodes", [])
        if not isinstance(nodes, list):
            self.add(_("%(where)s：节点列表必须是一个数组。") % {"where": label})
        else:
            if node_type == "parallel" and not nodes:
                self.add(_("%(where)s：并行分支中至少要有一个节点。") % {"where": label})
            self.sequence(nodes, depth=depth + 1)
        return label

    def condition_node(self, node: Mapping[str, Any], where: str, depth: int) -> None:
        branches = self.branches(node, where)
        if branches is None:
            return
        defaults: list[tuple[str, Mapping[str, Any]]] = []
        ranked: list[tuple[int, str, Mapping[str, Any]]] = []
        priorities: set[int] = set()
        for number, branch in enumerate(branches, start=1):
            label = self.branch(branch, "condition", where, number, depth)
            default = branch.get("default", False)
            if not isinstance(default, bool):
                self.add(_("%(where)s：“默认分支”必须是是或否。") % {"where": label})
                continue
            if default:
                defaults.append((label, branch))
                if "condition" in branch:
                    self.add(_("%(where)s：默认分支不能设置条件。") % {"where": label})
                continue
            priority = branch.get("priority")
            if not is_positive_int(priority):
                self.add(_("%(where)s：优先级必须是正整数。") % {"where": label})
            elif priority in priorities:
                self.add(
                    _("%(where)s：优先级 %(priority)d 与其他分支重复。")
                    % {"where": label, "priority": priority}
                )
            else:
                priorities.add(priority)
                ranked.append((priority, label, branch))
            if "condition" not in branch:
                self.add(_("%(where)s：除默认分支外，每个分支都要设置条件。") % {"where": label})
            else:
                self.condition(branch["condition"], label)
        if not defaults:
            self.add(_("%(where)s：缺少默认分支（没有条件满足时走的分支）。") % {"where": where})
        elif len(defaults) > 1:
            self.add(_("%(where)s：只能有一个默认分支。") % {"where": where})
        shadowed_by = self.reachability(sorted(ranked, key=lambda item: item[0]))
        # The default is never taken either then; harmless while empty, dead nodes otherwise.
        if shadowed_by is not None and len(defaults) == 1 and defaults[0][1].get("nodes"):
            self.add(
                _("%(where)s中的节点永远不会执行：%(other)s的条件总是成立。")
                % {"where": defaults[0][0], "other": shadowed_by}
            )

    def reachability(self, ranked: list[tuple[int, str, Mapping[str, Any]]]) -> str | None:
        """A branch after an always-true one, and one whose condition is never true, is dead.
        Returns how messages name the always-true branch, if there is one."""
        shadowed_by: str | None = None
        for _priority, label, branch in ranked:
            if shadowed_by is not None:
                self.add(
                    _("%(where)s永远不会被选中：优先级更高的%(other)s的条件总是成立。")
                    % {"where": label, "other": shadowed_by}
                )
                continue
            verdict = truth(branch.get("condition"))
            if verdict is False:
                self.add(_("%(where)s永远不会被选中：它的条件永远不成立。") % {"where": label})
            elif verdict is True:
                shadowed_by = label
        return shadowed_by

    def parallel_node(self, node: Mapping[str, Any], where: str, depth: int) -> None:
        for number, branch in enumerate(self.branches(node, where) or (), start=1):
            self.branch(branch, "parallel", where, number, depth)

    # ------------------------------------------------------------------ conditions

    def condition(self, condition: Any, where: str, depth: int = 0) -> None:
        if depth > MAX_CONDITION_DEPTH:
            self.add(_("%(where)s：条件嵌套过深。") % {"where": where})
            return
        if not isinstance(condition, Mapping):
            self.add(_("%(where)s：条件必须是一个对象。") % {"where": where})
            return
        if len(condition) == 1 and next(iter(condition)) in ("all", "any", "not"):
            key, value = next(iter(condition.items()))
            if key == "not":
                self.condition(value, where, depth + 1)
            elif not isinstance(value, list):
                self.add(_("%(where)s：条件组“%(key)s”必须是条件的列表。") % {"where": where, "key": key})
            else:
                for part in value:
                    self.condition(part, where, depth + 1)
            return
        self.leaf(condition, where)

    def leaf(self, leaf: Mapping[str, Any], where: str) -> None:
        def bad(detail: str) -> None:
            self.add(_("%(where)s：条件无效：%(detail)s。") % {"where": where, "detail": detail})

        extra = [key for key in leaf if key not in _LEAF_KEYS]
        if extra:
            bad(_("不支持的设置项“%(key)s”") % {"key": _text(extra[0])})
            return
        op = leaf.get("op")
        if not isinstance(op, str) or op not in OPS:
            bad(_("未知的比较方式“%(op)s”") % {"op": _text(op)})
            return
        has_value = "value" in leaf
        value = leaf.get("value")
        if ("field" in leaf) == ("subject" in leaf):
            bad(_("须指定一个表单字段或一个发起人属性"))
            return
        if "subject" in leaf:
            self.subject_leaf(leaf, op, value, bad)
            return
        key = leaf["field"]
        agg = leaf.get("agg")
        if not isinstance(key, str) or not key:
            bad(_("字段名无效"))
            return
        if agg is not None and agg not in AGGREGATES:
            bad(_("未知的汇总方式“%(agg)s”") % {"agg": _text(agg)})
            return
        if op not in _PRESENCE and not has_value:
            bad(_("“%(op)s”需要一个比较值") % {"op": op})
            return
        if self.form is None:
            self.value_shape(op, value, bad)
            return
        target = condition_target(self.form, key, agg)
        if target is None:
            bad(self.unusable(key, agg))
            return
        if op not in OPS_BY_KIND[target.kind]:
            if target.kind == "total" and op in _PRESENCE:
                bad(_("“%(field)s”总有一个数值，不能判断是否为空") % {"field": key})
            else:
                bad(_("字段“%(field)s”不支持“%(op)s”") % {"field": key, "op": op})
            return
        if op not in _PRESENCE:
            self.typed_value(key, target, op, value, bad)

    def unusable(self, key: str, agg: str | None) -> str:
        """Why a condition cannot compare ``key``: the message for a ``condition_target`` of None."""
        head, dot, _column = key.partition(".")
        head_info = field_info(self.form, head)
        info = field_info(self.form, key) if dot else head_info
        if head_info is None or (dot and info is None and head_info.type == "table"):
            return _("表单中没有字段“%(field)s”") % {"field": _text(key)}
        if dot and head_info.type == "table" and agg is None:
            return _("明细表的列“%(field)s”须按合计（sum）比较") % {"field": key}
        if agg is not None and head_info.type != "table":
            return _("只有明细表的列才能汇总（字段“%(field)s”）") % {"field": key}
        if agg is not None:
            return _("只能对数值列求合计（字段“%(field)s”）") % {"field": key}
        return _("字段“%(field)s”不能用作条件") % {"field": _text(key)}

    def subject_leaf(self, leaf: Mapping[str, Any], op: str, value: Any, bad: Callable[[str], None]) -> None:
        subject = leaf["subject"]
        if subject not in SUBJECTS:
            bad(_("未知的发起人属性“%(subject)s”") % {"subject": _text(subject)})
            return
        if "agg" in leaf:
            bad(_("发起人属性不能汇总"))
        if op not in SUBJECT_OPS:
            bad(_("发起人属性只能用“in”或“not_in”比较"))
            return
        if not isinstance(value, list) or not value:
            bad(_("须列出至少一个值"))
        elif subject == "initiator_role":
            if not all(isinstance(item, str) and ROLE_CODE.fullmatch(item) for item in value):
                bad(_("角色须用编码列出"))
        elif not all(is_positive_int(item) for item in value):
            bad(_("部门和岗位须用编号列出"))

    @staticmethod
    def value_shape(op: str, value: Any, bad: Callable[[str], None]) -> bool:
        """The shape of the value an op needs (all that can be checked without a form)."""
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                bad(_("“between”需要两个值：下限和上限"))
                return False
        elif op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                bad(_("“%(op)s”需要一个非空的值列表") % {"op": op})
                return False
        elif op == "contains":
            if isinstance(value, Mapping) or value is None or (isinstance(value, list) and not value):
                bad(_("“contains”需要至少一个值"))
                return False
        elif op not in _PRESENCE and (isinstance(value, list | Mapping) or value is None):
            bad(_("“%(op)s”需要一个单独的比较值") % {"op": op})
            return False
        return True

    def typed_value(self, key: str, target: Target, op: str, value: Any, bad: Callable[[str], None]) -> None:
        if not self.value_shape(op, value, bad):
            return
        items = value if isinstance(value, list) else [value]
        if target.values in ("number", "date"):
            parse: Callable[[Any], Any] = as_decimal if target.values == "number" else as_date
            parsed = [parse(item) for item in items]
            bounds = [bound for bound in parsed if bound is not None]
            if len(bounds) != len(parsed):
                bad(
                    _("字段“%(field)s”须与数值比较") % {"field": key}
                    if target.values == "number"
                    else _("字段“%(field)s”须与“YYYY-MM-DD”格式的日期比较") % {"field": key}
                )
            elif op == "between" and bounds[0] > bounds[1]:
                bad(_("区间的下限不能大于上限"))
        elif target.values == "option" and target.options:
            unknown = [item for item in items if not isinstance(item, str) or item not in target.options]
            if unknown:
                bad(_("“%(value)s”不是字段“%(field)s”的选项") % {"value": _text(unknown[0]), "field": key})
        elif target.values == "id":
            if not all(is_positive_int(item) for item in items):
                bad(_("字段“%(field)s”须与成员或部门编号比较") % {"field": key})
        elif not all(isinstance(item, str | int) and not isinstance(item, bool) for item in items):
            bad(_("字段“%(field)s”须与文字比较") % {"field": key})


# --------------------------------------------------------------------------- navigation


@dataclass(frozen=True)
class NodeRef:
    """Where a node sits: ``path`` is the ancestry of branch-node and branch ids from the top
    (``("g1", "g1a")`` for a node of branch ``g1a`` of condition node ``g1``; ``()`` at the
    top level), ``sequence`` the node ids of the sequence it belongs to (shared by every node
    of that sequence: read it, never change it), ``position`` its index there."""

    node: dict[str, Any]
    path: tuple[str, ...]
    sequence: list[str]
    position: int

    @property
    def id(self) -> str:
        return str(self.node["id"])

    @property
    def type(self) -> str:
        return str(self.node.get("type", ""))

    @property
    def branch_id(self) -> str | None:
        """The id of the branch whose sequence holds the node; None at the top level."""
        return self.path[-1] if self.path else None


def node_index(definition: Mapping[str, Any]) -> dict[str, NodeRef]:
    """Every node of the tree by id, in tree order (depth first, as the designer draws it).

    Meant for a validated definition; raises ``DefinitionError`` if ids are missing or repeat,
    since navigating such a tree would go wrong silently."""
    index: dict[str, NodeRef] = {}
    seen: set[str] = set()

    def walk(nodes: Any, path: tuple[str, ...]) -> None:
        if not isinstance(nodes, list):
            return
        members = [node for node in nodes if isinstance(node, dict)]
        sequence = [str(node.get("id")) for node in members]
        for position, node in enumerate(members):
            ident = node.get("id")
            if not isinstance(ident, str) or ident in seen:
                raise DefinitionError(_("节点编号缺失或重复：“%(id)s”。") % {"id": _text(ident)})
            seen.add(ident)
            index[ident] = NodeRef(node=node, path=path, sequence=sequence, position=position)
            for branch in _branches(node):
                branch_id = branch.get("id")
                if not isinstance(branch_id, str) or branch_id in seen:
                    raise DefinitionError(_("分支编号缺失或重复：“%(id)s”。") % {"id": _text(branch_id)})
                seen.add(branch_id)
                walk(branch.get("nodes"), (*path, ident, branch_id))

    walk(definition.get("nodes") if isinstance(definition, Mapping) else None, ())
    return index


def _branches(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if node.get("type") not in BRANCH_TYPES or not isinstance(node.get("branches"), list):
        return []
    return [branch for branch in node["branches"] if isinstance(branch, Mapping)]


def next_in_sequence(index: Mapping[str, NodeRef], node_id: str) -> str | None:
    """The node after ``node_id`` in its own sequence; None when it is the last one — then the
    flow leaves the branch (``enclosing``) or, at the top level, ends."""
    ref = index[node_id]
    following = ref.position + 1
    return ref.sequence[following] if following < len(ref.sequence) else None


def enclosing(index: Mapping[str, NodeRef], node_id: str) -> NodeRef | None:
    """The branch node (condition or parallel) whose branch holds ``node_id``; None at the
    top level. After the last node of a condition branch the flow goes on with
    ``next_in_sequence(index, enclosing(...).id)``; a parallel branch instead joins."""
    path = index[node_id].path
    return index[path[-2]] if path else None


def branch_of(index: Mapping[str, NodeRef], node_id: str) -> Mapping[str, Any] | None:
    """The branch (its dict) whose sequence holds ``node_id``; None at the top level."""
    outer = enclosing(index, node_id)
    if outer is None:
        return None
    branch_id = index[node_id].path[-1]
    return next((branch for branch in _branches(outer.node) if branch.get("id") == branch_id), None)


def first_of(branch: Mapping[str, Any]) -> str | None:
    """The id of the first node of a branch (or of a definition); None when it has none — an
    empty condition branch: the flow goes straight on after the branch node."""
    nodes = branch.get("nodes")
    if isinstance(nodes, list) and nodes and isinstance(nodes[0], Mapping):
        first = nodes[0].get("id")
        return first if isinstance(first, str) else None
    return None


def iter_nodes(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node in tree order, branch nodes before the nodes of their branches."""
    for ref in node_index(definition).values():
        yield ref.node


def setting(definition: Mapping[str, Any], key: str, node: Mapping[str, Any] | None = None) -> Any:
    """The value of a setting for ``node``: the node's own (for ``NODE_OVERRIDES``,
    ``time_limit_hours``, ``on_timeout`` and ``mode``), else the flow's ``settings``, else
    ``DEFAULTS``."""
    if (
        node is not None
        and key in (*NODE_OVERRIDES, "time_limit_hours", "on_timeout", "mode")
        and key in node
    ):
        return node[key]
    settings = definition.get("settings")
    if isinstance(settings, Mapping) and key in settings:
        return settings[key]
    return DEFAULTS.get(key)

"""The approval-engine flows of 发文: the 拟制 route (条例 第十九条 to 第二十二条) and the 复审 of a
document changed in substance after 签发 (条例 第二十五条(一)).

``install`` is what migration ``0002_outgoing_flows`` runs with the historical models, and
``ensure_flows`` after a test flush: it creates what is missing by code and never touches a
flow that exists. Data only at import time, like ``xietong.workflow.builtin``.
"""

from __future__ import annotations

from typing import Any

OUTGOING = "documents-outgoing"
RESIGN = "documents-resign"

#: Node ids the services read from the engine's log.
NODE_REVIEW = "review"  # 核稿
NODE_COUNTERSIGN = "countersign"  # 会签
NODE_CHECK = "check"  # 审核
NODE_SIGN = "sign"  # 签发
NODE_RESIGN = "resign"  # 复审
#: What each node is called in the document's process record.
NODE_ACTIONS = {
    NODE_REVIEW: "核稿",
    NODE_COUNTERSIGN: "会签",
    NODE_CHECK: "审核",
    NODE_SIGN: "签发",
    NODE_RESIGN: "复审",
}

_OPINION = ["approve", "reject"]

#: The 公文管理员 of the issuing organ, found when the document is sent (``outgoing.submit``):
#: 审核 is theirs alone, not every clerk of the group's.
CHECKERS_FIELD: dict[str, Any] = {
    "key": "checkers",
    "type": "user",
    "label": "审核人（发文机关的公文管理员）",
    "multiple": True,
    "max_count": 50,
}
CHECK_APPROVERS: dict[str, Any] = {"kind": "form_field", "field": "checkers"}
#: What version 1 of 发文审批 asked 审核 of: every holder of the built-in role, group-wide.
OLD_CHECK_APPROVERS: dict[str, Any] = {"kind": "role", "code": "document_clerk"}

#: The document's elements are shown on the document's own page; the form carries what the
#: approvers need to find it and who the drafter chose.
OUTGOING_FORM: dict[str, Any] = {
    "fields": [
        {"key": "document", "type": "number", "label": "公文编号", "required": True, "min": 1, "decimals": 0},
        {"key": "doc_type", "type": "text", "label": "文种", "max_length": 20},
        {"key": "summary", "type": "textarea", "label": "公文要素", "max_length": 2000},
        {"key": "link", "type": "text", "label": "公文链接", "max_length": 200},
        {"key": "countersigners", "type": "user", "label": "会签人", "multiple": True, "max_count": 20},
        CHECKERS_FIELD,
        {"key": "signer", "type": "user", "label": "签发人", "required": True},
    ]
}

OUTGOING_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 24, "urgent_time_limit_hours": 4},
    "nodes": [
        {
            "id": NODE_REVIEW,
            "type": "approval",
            "name": "核稿",
            "approvers": {"kind": "head", "level": 1},
            "opinion_required": _OPINION,
            "on_empty": "skip",
        },
        {
            "id": NODE_COUNTERSIGN,
            "type": "approval",
            "name": "会签",
            # The drafter's picks; none → the step is skipped.
            "approvers": {"kind": "form_field", "field": "countersigners"},
            "mode": "all",
            "opinion_required": _OPINION,
            "on_empty": "skip",
        },
        {
            "id": NODE_CHECK,
            "type": "approval",
            "name": "审核",
            "approvers": CHECK_APPROVERS,
            "mode": "any",
            "opinion_required": _OPINION,
            "on_empty": "skip",
        },
        {
            "id": NODE_SIGN,
            "type": "approval",
            "name": "签发",
            "approvers": {"kind": "form_field", "field": "signer"},
            "opinion_required": _OPINION,
            "on_empty": "admin",
        },
    ],
}

RESIGN_FORM: dict[str, Any] = {
    "fields": [
        {"key": "document", "type": "number", "label": "公文编号", "required": True, "min": 1, "decimals": 0},
        {"key": "changes", "type": "textarea", "label": "修改内容", "max_length": 2000},
        {"key": "link", "type": "text", "label": "公文链接", "max_length": 200},
        {"key": "signer", "type": "user", "label": "原签发人", "required": True},
    ]
}

RESIGN_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 24, "urgent_time_limit_hours": 4},
    "nodes": [
        {
            "id": NODE_RESIGN,
            "type": "approval",
            "name": "原签发人复审",
            "approvers": {"kind": "form_field", "field": "signer"},
            "opinion_required": _OPINION,
            "on_empty": "admin",
        }
    ],
}

FLOWS: tuple[dict[str, Any], ...] = (
    {
        "code": OUTGOING,
        "name": "发文审批",
        "category": "administration",
        "icon": "send",
        "description": "公文拟制：部门负责人核稿、相关部门会签、办公室审核、领导签发（在公文模块中发起）。",
        "form": OUTGOING_FORM,
        "flow": OUTGOING_FLOW,
    },
    {
        "code": RESIGN,
        "name": "发文复审",
        "category": "administration",
        "icon": "arrow-repeat",
        "description": "签发后作实质性修改的公文，送原签发人复审（条例第二十五条）。",
        "form": RESIGN_FORM,
        "flow": RESIGN_FLOW,
    },
)

FLOW_CODES = tuple(spec["code"] for spec in FLOWS)


def install(definitions: Any, versions: Any, units: Any, *, now: Any) -> list[str]:
    """Create the missing flows (by code), each with version 1 published; returns their codes."""
    root = units.objects.filter(depth=1).order_by("path").first()
    created: list[str] = []
    for spec in FLOWS:
        if definitions.objects.filter(code=spec["code"]).exists():
            continue
        flow = definitions.objects.create(
            code=spec["code"],
            name=spec["name"],
            category=spec["category"],
            icon=spec["icon"],
            description=spec["description"],
            owner_unit=root,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        version = versions.objects.create(
            definition=flow,
            number=1,
            form=spec["form"],
            flow=spec["flow"],
            status="published",
            created_at=now,
            published_at=now,
        )
        flow.current_version = version
        flow.save(update_fields=["current_version"])
        created.append(spec["code"])
    return created


def scope_the_check_step(definitions: Any, versions: Any, *, now: Any) -> bool:
    """Give 审核 to the issuing organ's own 公文管理员 in an installed 发文审批 whose 审核 still
    asks every holder of the role: a new published version of its current one with that node
    (and the ``checkers`` field) changed, the rest as the administrator left it. Requests
    already running finish on the version they started with. Returns whether it did."""
    flow = definitions.objects.filter(code=OUTGOING).first()
    current = flow.current_version if flow is not None else None
    if current is None:
        return False
    nodes = [dict(node) for node in current.flow.get("nodes", [])]
    found = False
    for node in nodes:
        if node.get("id") == NODE_CHECK and node.get("approvers") == OLD_CHECK_APPROVERS:
            node["approvers"] = dict(CHECK_APPROVERS)
            found = True
    if not found:
        return False
    fields = [dict(field) for field in current.form.get("fields", [])]
    if not any(field.get("key") == CHECKERS_FIELD["key"] for field in fields):
        fields.insert(max(len(fields) - 1, 0), dict(CHECKERS_FIELD))
    number = (
        versions.objects.filter(definition=flow).order_by("-number").values_list("number", flat=True).first()
    ) or 0
    # One published version per flow: the current one is retired first.
    current.status = "retired"
    current.save(update_fields=["status"])
    version = versions.objects.create(
        definition=flow,
        number=number + 1,
        form={**current.form, "fields": fields},
        flow={**current.flow, "nodes": nodes},
        status="published",
        created_at=now,
        published_at=now,
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    return True


def ensure_flows() -> list[str]:
    """``install`` with the real models."""
    from xietong.core import clock
    from xietong.org.models import OrgUnit
    from xietong.workflow.models import FlowDefinition, FlowVersion

    return install(FlowDefinition, FlowVersion, OrgUnit, now=clock.now())

"""The flows shipped with the platform, installed and published on day one (issue #5).

Five flows every company runs: 请示 → 批复, 联系单签复, 合同会审, 用印申请 and 权限变更申请
(R-14, run together with ``xietong.org.requests``; see ``xietong.workflow.permission_flow``).
Each is a form and a flow tree as ``formspec.parse_form`` and ``definition.check_definition``
accept them. The business roles their routes name (法务审核, 财务审查, 印章管理员, 档案室,
董事长, 权限审核) are created with them: an administrator then grants those roles to the right
people, and the flows route to them.

``install`` is what migration ``0003_builtin_flows`` runs (with the historical models) and what
``ensure_builtin_flows`` runs after a test flush or in the demo: it creates what is missing by
code and never touches a flow or role that exists — an administrator's edits of an installed
flow (a new version, another route) stay as they are. The shipped definitions are data only;
this module imports no model at import time, so that the migration may read it.

Routes use the organisation's relative approvers wherever they can — 主管层级 counts from the
initiator's department upwards (``resolve``): level 1 is the department head, level 2 the
leader above the department (分管领导, in a company the company's head), level 3 the leader
above that. No unit or account id is written into a shipped flow; the roles are by code.
"""

from __future__ import annotations

from typing import Any

# --------------------------------------------------------------------------- codes

REQUEST = "request-reply"
LIAISON = "liaison"
CONTRACT = "contract-review"
SEAL = "seal"
PERMISSION = "permission-change"
#: Flows whose requests another module files and starts itself (code → that module's page):
#: starting one from the approvals pages would make a request nothing acts on.
STARTED_ELSEWHERE = {
    PERMISSION: "roles:request_new",
    "documents-outgoing": "documents:outgoing_new",
    "documents-resign": "documents:outgoing_list",
}

LEGAL_REVIEWER = "legal_reviewer"
FINANCE_REVIEWER = "finance_checker"
SEAL_KEEPER = "seal_keeper"
ARCHIVIST = "archives"
CHAIRMAN = "chairman"
PERMISSION_REVIEWER = "permission_reviewer"

#: 合同会审: contracts from this amount (yuan) go to the 总经理 and the 董事长.
CONTRACT_LARGE_AMOUNT = 1_000_000

#: The roles the routes name: code, name, description. Business roles, no permission: they
#: only say who approves.
ROLES: tuple[tuple[str, str, str], ...] = (
    (LEGAL_REVIEWER, "法务审核", "在合同会审中审查合同的法律风险。"),
    (FINANCE_REVIEWER, "财务审查", "在合同会审中审查合同的金额、付款与税务条款。"),
    (SEAL_KEEPER, "印章管理员", "保管公司印章，办理用印申请并登记用印。"),
    (ARCHIVIST, "档案室", "接收审批完成的合同等文件的抄送，负责归档。"),
    (CHAIRMAN, "董事长", "审批重大合同（金额在一百万元及以上）。"),
    (PERMISSION_REVIEWER, "权限审核", "综合办公室审核员工的权限变更申请（R-14）；批准后系统自动授权。"),
)

_OPINION = ["approve", "reject"]


def _approval(node_id: str, name: str, approvers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "approval", "name": name, "approvers": approvers, **extra}


def _head(level: int) -> dict[str, Any]:
    return {"kind": "head", "level": level}


def _role(code: str) -> dict[str, Any]:
    return {"kind": "role", "code": code}


# --------------------------------------------------------------------------- 请示 → 批复

REQUEST_FORM: dict[str, Any] = {
    "fields": [
        {"key": "subject", "type": "text", "label": "请示事项", "required": True, "max_length": 100},
        {
            "key": "content",
            "type": "textarea",
            "label": "请示内容",
            "required": True,
            "max_length": 2000,
            "placeholder": "请写明背景、请示的具体事项和理由",
        },
        {"key": "files", "type": "attachments", "label": "附件"},
        {"key": "proposal", "type": "textarea", "label": "拟办意见", "max_length": 500},
    ]
}

REQUEST_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 24, "urgent_time_limit_hours": 4},
    "nodes": [
        _approval("dept", "部门负责人审核", _head(1), opinion_required=_OPINION),
        _approval("leader", "分管领导审核", _head(2), opinion_required=_OPINION),
        # Past the top of the organisation there is nobody: the 分管领导 then was the top
        # leader already and the step is skipped.
        _approval("reply", "领导批复", _head(3), opinion_required=_OPINION, on_empty="skip"),
    ],
}

# --------------------------------------------------------------------------- 联系单

LIAISON_FORM: dict[str, Any] = {
    "fields": [
        {"key": "subject", "type": "text", "label": "联系事项", "required": True, "max_length": 100},
        {"key": "receiver", "type": "unit", "label": "接收部门", "required": True},
        {"key": "content", "type": "textarea", "label": "内容", "required": True, "max_length": 2000},
        {"key": "reply_by", "type": "date", "label": "要求回复日期", "required": True},
        {"key": "files", "type": "attachments", "label": "附件"},
    ]
}

LIAISON_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 24},
    "nodes": [
        _approval("dept", "本部门负责人审核", _head(1), opinion_required=_OPINION),
        {
            "id": "reply",
            "type": "handle",
            "name": "接收部门签复",
            # A unit field: the heads of the chosen department handle it.
            "approvers": {"kind": "form_field", "field": "receiver"},
            "mode": "any",
            "opinion_required": ["submit"],
        },
        # The engine addresses a department through its head: the sending department's head
        # receives the reply for the department.
        {"id": "cc_dept", "type": "cc", "name": "抄送发起部门", "recipients": _head(1)},
    ],
}

# --------------------------------------------------------------------------- 合同会审

CONTRACT_TYPES = ["采购合同", "销售合同", "工程合同", "服务合同", "租赁合同", "其他"]

CONTRACT_FORM: dict[str, Any] = {
    "fields": [
        {"key": "name", "type": "text", "label": "合同名称", "required": True, "max_length": 100},
        {"key": "party", "type": "text", "label": "对方单位", "required": True, "max_length": 100},
        {"key": "amount", "type": "money", "label": "合同金额", "required": True, "min": 0},
        {"key": "kind", "type": "select", "label": "合同类型", "required": True, "options": CONTRACT_TYPES},
        {"key": "text", "type": "attachments", "label": "合同文本", "required": True},
        {
            "key": "items",
            "type": "table",
            "label": "明细",
            "columns": [
                {"key": "item", "type": "text", "label": "标的", "required": True, "max_length": 100},
                {"key": "quantity", "type": "number", "label": "数量", "min": 0},
                {"key": "price", "type": "money", "label": "单价", "min": 0},
                {
                    "key": "subtotal",
                    "type": "computed",
                    "label": "小计",
                    "expression": "quantity * price",
                    "format": "money",
                },
            ],
            "sum": ["subtotal"],
        },
    ]
}

CONTRACT_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 48, "urgent_time_limit_hours": 8},
    "nodes": [
        _approval("dept", "业务部门负责人审核", _head(1), opinion_required=_OPINION),
        {
            "id": "review",
            "type": "parallel",
            "name": "会审",
            "branches": [
                {
                    "id": "b_legal",
                    "name": "法务",
                    "nodes": [
                        _approval(
                            "legal", "法务审核", _role(LEGAL_REVIEWER), mode="any", opinion_required=_OPINION
                        )
                    ],
                },
                {
                    "id": "b_finance",
                    "name": "财务",
                    "nodes": [
                        _approval(
                            "finance",
                            "财务审核",
                            _role(FINANCE_REVIEWER),
                            mode="any",
                            opinion_required=_OPINION,
                        )
                    ],
                },
                {
                    "id": "b_business",
                    "name": "业务部门",
                    "nodes": [_approval("business", "业务部门会审", _head(1), opinion_required=_OPINION)],
                },
            ],
        },
        {
            "id": "by_amount",
            "type": "condition",
            "name": "按合同金额",
            "branches": [
                {
                    "id": "large",
                    "name": "一百万元及以上",
                    "priority": 1,
                    "condition": {"field": "amount", "op": ">=", "value": str(CONTRACT_LARGE_AMOUNT)},
                    "nodes": [
                        _approval("gm", "总经理审批", _head(2), opinion_required=_OPINION),
                        _approval("chairman", "董事长审批", _role(CHAIRMAN), opinion_required=_OPINION),
                    ],
                },
                {
                    "id": "normal",
                    "name": "其他",
                    "default": True,
                    "nodes": [_approval("leader", "分管领导审批", _head(2), opinion_required=_OPINION)],
                },
            ],
        },
        {"id": "archive", "type": "cc", "name": "抄送档案", "recipients": _role(ARCHIVIST)},
    ],
}

# --------------------------------------------------------------------------- 用印

SEAL_TYPES = ["公司公章", "合同专用章", "法人章", "财务专用章"]

SEAL_FORM: dict[str, Any] = {
    "fields": [
        {"key": "purpose", "type": "text", "label": "用印事由", "required": True, "max_length": 200},
        {"key": "seal", "type": "select", "label": "印章类型", "required": True, "options": SEAL_TYPES},
        {
            "key": "copies",
            "type": "number",
            "label": "用印份数",
            "required": True,
            "min": 1,
            "max": 999,
            "decimals": 0,
        },
        {"key": "files", "type": "attachments", "label": "用印文件", "required": True},
    ]
}

SEAL_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 24, "urgent_time_limit_hours": 4},
    "nodes": [
        _approval("dept", "部门负责人审核", _head(1), opinion_required=_OPINION),
        {
            "id": "stamp",
            "type": "handle",
            "name": "印章管理员用印",
            "approvers": _role(SEAL_KEEPER),
            "mode": "any",
        },
    ],
}

# --------------------------------------------------------------------------- 权限变更申请

#: The form is filled from the org request (``permission_flow``); approvers read it only.
PERMISSION_FORM: dict[str, Any] = {
    "fields": [
        {
            "key": "guide",
            "type": "description",
            "label": "说明",
            "text": (
                "权限变更申请请在“我的权限”页面提交，系统会自动发起本流程；审批通过后自动授权并记入审计日志。"
            ),
        },
        {
            "key": "request_no",
            "type": "number",
            "label": "申请编号",
            "required": True,
            "min": 1,
            "decimals": 0,
        },
        {"key": "subject", "type": "user", "label": "授权对象", "required": True},
        {"key": "role", "type": "text", "label": "申请角色", "required": True, "max_length": 100},
        {"key": "scope", "type": "text", "label": "数据范围", "required": True, "max_length": 100},
        {"key": "units", "type": "text", "label": "指定部门", "max_length": 500},
        {"key": "reason", "type": "textarea", "label": "申请理由", "required": True, "max_length": 500},
    ]
}

PERMISSION_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {"time_limit_hours": 24, "withdraw": "lenient"},
    "nodes": [
        _approval("dept", "部门负责人审核", _head(1), opinion_required=_OPINION),
        _approval(
            "office",
            "综合办公室审核",
            _role(PERMISSION_REVIEWER),
            mode="any",
            opinion_required=_OPINION,
            on_empty="admin",
        ),
    ],
}

# --------------------------------------------------------------------------- the list

#: code, name, category, icon, description, form, flow.
FLOWS: tuple[dict[str, Any], ...] = (
    {
        "code": REQUEST,
        "name": "请示",
        "category": "request",
        "icon": "file-earmark-text",
        "description": "向领导请示工作事项：部门负责人审核、分管领导审核，由领导批复。",
        "form": REQUEST_FORM,
        "flow": REQUEST_FLOW,
    },
    {
        "code": LIAISON,
        "name": "联系单签复",
        "category": "liaison",
        "icon": "arrow-left-right",
        "description": "跨部门工作联系：本部门负责人审核后，由接收部门负责人签复。",
        "form": LIAISON_FORM,
        "flow": LIAISON_FLOW,
    },
    {
        "code": CONTRACT,
        "name": "合同会审",
        "category": "contract",
        "icon": "file-earmark-ruled",
        "description": (
            "合同签订前的会审：法务、财务、业务部门并行审查，一百万元及以上的合同报总经理和董事长审批。"
        ),
        "form": CONTRACT_FORM,
        "flow": CONTRACT_FLOW,
    },
    {
        "code": SEAL,
        "name": "用印申请",
        "category": "seal",
        "icon": "stamp",
        "description": "加盖公司公章、合同专用章、法人章或财务专用章：部门负责人审核后由印章管理员办理。",
        "form": SEAL_FORM,
        "flow": SEAL_FLOW,
    },
    {
        "code": PERMISSION,
        "name": "权限变更申请",
        "category": "personnel",
        "icon": "shield-lock",
        "description": (
            "在“我的权限”页面提交权限申请后自动发起：部门负责人和综合办公室审核，通过后系统自动授权（R-14）。"
        ),
        "form": PERMISSION_FORM,
        "flow": PERMISSION_FLOW,
    },
)

FLOW_CODES = tuple(spec["code"] for spec in FLOWS)


# --------------------------------------------------------------------------- installing


def install(definitions: Any, versions: Any, roles: Any, units: Any, *, now: Any) -> list[str]:
    """Create the shipped roles and flows that are missing (by code), each flow with its
    version 1 published. The arguments are the model classes — historical ones in the
    migration — and the time to stamp; returns the codes of the flows created."""
    for code, name, description in ROLES:
        if roles.objects.filter(code=code).exists() or roles.objects.filter(name=name).exists():
            continue
        roles.objects.create(
            code=code,
            name=name,
            description=description,
            # Ordinary roles: the org's built-in set is its own (三员, 部门管理员 …); these
            # only name approvers, and an administrator may rename or replace them.
            builtin=False,
            admin_tier="none",
            permissions=[],
            default_scope="group",
        )
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


def ensure_builtin_flows() -> list[str]:
    """``install`` with the real models: after a test flush, and in the demo."""
    from xietong.core import clock
    from xietong.org.models import OrgUnit, Role
    from xietong.workflow.models import FlowDefinition, FlowVersion

    return install(FlowDefinition, FlowVersion, Role, OrgUnit, now=clock.now())

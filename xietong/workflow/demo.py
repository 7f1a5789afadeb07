"""Demo requests on the built-in flows, among the people of the demo group, so that the to-do
inbox, the workbench and the request pages show a working approval desk on the first login.

张伟 (zhangwei) of 综合办公室 keeps the seals, reviews permission requests (R-14) and files the
archives: he finds three items waiting — one 急办, one overdue — requests of his own that
were approved with opinions, returned, turned down or still under way, work he has done and a
contract sent to him in copy. Everything goes through the services, at times set back on the
clock so that the requests have a history. Loading twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from xietong.core import clock
from xietong.files import services as files
from xietong.identity.models import User
from xietong.org import builtin as org_builtin
from xietong.org import requests as org_requests
from xietong.org.models import DataScope, Membership, Role, RoleGrant
from xietong.org.services import role_grant_by_system
from xietong.workflow import builtin, services
from xietong.workflow.models import FlowDefinition, Instance, WorkItem

REASON = "演示数据"
PREFIX = "demo-"
DEMO_USER = "zhangwei"

_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def is_loaded() -> bool:
    return Instance.objects.filter(create_request_id__startswith=PREFIX).exists()


class _Desk:
    """The demo people and the steps of a request, at a time set back from now."""

    def __init__(self) -> None:
        self.now = clock.now()
        self.count = 0

    def at(self, hours_ago: float) -> Any:
        return clock.frozen_at(self.now - dt.timedelta(hours=hours_ago))

    def rid(self, what: str) -> str:
        self.count += 1
        return f"{PREFIX}{what}-{self.count}"

    def start(
        self,
        initiator: User,
        code: str,
        data: dict[str, Any],
        *,
        title: str,
        hours_ago: float,
        urgent: bool = False,
    ) -> Instance:
        with self.at(hours_ago):
            return services.instance_start(
                actor=initiator,
                flow=FlowDefinition.objects.get(code=code),
                data=data,
                title=title,
                urgent=urgent,
                request_id=self.rid(code),
            )

    def item(self, instance: Instance, user: User) -> WorkItem:
        return WorkItem.objects.get(
            instance=instance, assignee=user, state=WorkItem.State.PENDING, kind__in=services.TASK_KINDS
        )

    def approve(self, instance: Instance, user: User, opinion: str, *, hours_ago: float) -> Instance:
        with self.at(hours_ago):
            return services.approve(
                actor=user, item=self.item(instance, user), request_id=self.rid("approve"), opinion=opinion
            )

    def reject(self, instance: Instance, user: User, opinion: str, *, hours_ago: float) -> Instance:
        with self.at(hours_ago):
            return services.reject(
                actor=user, item=self.item(instance, user), request_id=self.rid("reject"), opinion=opinion
            )

    def send_back(self, instance: Instance, user: User, opinion: str, *, hours_ago: float) -> Instance:
        with self.at(hours_ago):
            return services.return_to(
                actor=user, item=self.item(instance, user), request_id=self.rid("return"), opinion=opinion
            )

    def file(self, owner: User, name: str) -> str:
        stored = files.store_upload(
            actor=owner, upload=SimpleUploadedFile(name, _PDF), context="workflow.attachment"
        )
        return str(stored.key)


def _head(code: str) -> User:
    return Membership.objects.select_related("user").get(unit__code=code, is_head=True).user


def _staff(code: str, index: int = 0) -> User:
    posts = (
        Membership.objects.select_related("user")
        .filter(unit__code=code, is_head=False)
        .exclude(user__username=DEMO_USER)
        .order_by("user_id")
    )
    return list(posts)[index].user


def _hold(code: str, user: User) -> None:
    role = Role.objects.get(code=code)
    if not RoleGrant.objects.filter(role=role, user=user).exists():
        role_grant_by_system(role=role, user=user, reason=REASON)


def load() -> None:
    if is_loaded():
        return
    builtin.ensure_builtin_flows()
    desk = _Desk()
    zhang = User.objects.get(username=DEMO_USER)
    office_head = _head("HQ-ZH")
    leader = _head("HQ")

    # Who the routes reach: 综合办公室 keeps the seals, the archives and the permission
    # reviews; legal review sits in 综合办公室 too, financial review in 财务资产部.
    for code in (builtin.SEAL_KEEPER, builtin.PERMISSION_REVIEWER, builtin.ARCHIVIST):
        _hold(code, zhang)
    _hold(builtin.LEGAL_REVIEWER, _staff("HQ-ZH"))
    _hold(builtin.FINANCE_REVIEWER, _staff("HQ-CW"))
    _hold(builtin.CHAIRMAN, leader)

    _waiting_for_zhang(desk, zhang)
    _zhangs_own(desk, zhang, office_head, leader)
    _contracts(desk)


def _waiting_for_zhang(desk: _Desk, zhang: User) -> None:
    # 急办: labour contracts to stamp today.
    hr = _staff("HQ-HR", 1)
    seal = _seal(
        desk,
        hr,
        "2027年度劳动合同续签",
        "合同专用章",
        12,
        "劳动合同续签名单.pdf",
        title="劳动合同续签用印（12份）",
        hours_ago=1.5,
        urgent=True,
    )
    desk.approve(seal, _head("HQ-HR"), "名单已核对，同意用印。", hours_ago=1)

    # Overdue: a bid whose seal has waited three days.
    sales = _staff("EC-YX", 1)
    bid = _seal(
        desk,
        sales,
        "华东区域配网改造项目投标文件",
        "公司公章",
        3,
        "投标文件.pdf",
        title="配网改造项目投标文件用印",
        hours_ago=76,
    )
    desk.approve(bid, _head("EC-YX"), "同意，投标截止前完成。", hours_ago=74)

    # a permission request filed on “我的权限” runs as a flow; its head agreed.
    member = _staff("HQ-DQ", 1)
    with desk.at(6):
        request = org_requests.permission_request_create(
            actor=member,
            subject=member,
            role=org_builtin.ensure_builtin_roles()[org_builtin.NOTICE_PUBLISHER],
            scope=DataScope.DEPARTMENT,
            reason="负责党群工作部的会议通知和学习安排发布",
        )
    flow_instance = Instance.objects.filter(create_request_id=f"org-permission-request-{request.pk}").first()
    if flow_instance is not None:
        desk.approve(flow_instance, _head("HQ-DQ"), "属实，同意。", hours_ago=4)

    # Done by 张伟 earlier in the week: a subsidiary's seal.
    southwest = _staff("SW-ZH", 1)
    done = _seal(
        desk,
        southwest,
        "西南分公司年度安全生产责任书",
        "公司公章",
        2,
        "安全生产责任书.pdf",
        title="安全生产责任书用印",
        hours_ago=100,
    )
    desk.approve(done, _head("SW-ZH"), "同意。", hours_ago=98)
    desk.approve(done, zhang, "已盖章2份，原件已返还。", hours_ago=96)


def _zhangs_own(desk: _Desk, zhang: User, office_head: User, leader: User) -> None:
    # Approved with opinions (the 分管领导 is the group's head: the reply step falls away).
    purchase = desk.start(
        zhang,
        builtin.REQUEST,
        {
            "subject": "关于2027年度办公设备集中采购的请示",
            "content": "集团总部现有台式电脑、打印机等办公设备使用年限普遍超过6年，故障率高。"
            "拟于2027年一季度集中采购台式电脑40台、打印机10台，预算约32万元。",
            "files": [desk.file(zhang, "办公设备采购清单.pdf")],
            "proposal": "建议按集团集中采购程序公开询价。",
        },
        title="关于2027年度办公设备集中采购的请示",
        hours_ago=120,
    )
    desk.approve(purchase, office_head, "情况属实，同意上报。", hours_ago=118)
    desk.approve(purchase, leader, "同意，请综合办公室按集中采购程序办理。", hours_ago=100)

    # Under way: agreed by the office, waiting for the leader.
    games = desk.start(
        zhang,
        builtin.REQUEST,
        {
            "subject": "关于举办2026年度职工运动会的请示",
            "content": "为丰富职工文化生活，拟于12月中旬举办职工运动会，设拔河、跳绳、趣味接力等项目。",
            "proposal": "经费从工会经费中列支。",
        },
        title="关于举办2026年度职工运动会的请示",
        hours_ago=26,
    )
    desk.approve(games, office_head, "同意，请领导审批。", hours_ago=20)

    # Returned to 张伟 to complete.
    liaison = desk.start(
        zhang,
        builtin.LIAISON,
        {
            "subject": "新入职员工开通协同办公账号",
            "receiver": Membership.objects.get(user=_head("HQ-XX"), is_head=True).unit_id,
            "content": "请为本月新入职的员工开通协同办公平台账号并分配默认权限。",
            "reply_by": (clock.localdate() + dt.timedelta(days=3)).isoformat(),
        },
        title="新入职员工开通协同办公账号",
        hours_ago=30,
    )
    desk.send_back(liaison, office_head, "请补充需要开通账号的人员名单后重新提交。", hours_ago=28)

    # Turned down.
    stamp = _seal(
        desk,
        zhang,
        "办公设备采购合同",
        "合同专用章",
        2,
        "采购合同.pdf",
        title="办公设备采购合同用印",
        hours_ago=50,
    )
    desk.reject(stamp, office_head, "合同尚未完成会审，请会审通过后再申请用印。", hours_ago=48)


def _seal(
    desk: _Desk,
    initiator: User,
    purpose: str,
    seal: str,
    copies: int,
    document: str,
    *,
    title: str,
    hours_ago: float,
    urgent: bool = False,
) -> Instance:
    data = {"purpose": purpose, "seal": seal, "copies": copies, "files": [desk.file(initiator, document)]}
    return desk.start(initiator, builtin.SEAL, data, title=title, hours_ago=hours_ago, urgent=urgent)


def _contract(desk: _Desk, initiator: User, name: str, party: str, amount: str, hours_ago: float) -> Instance:
    data = {
        "name": name,
        "party": party,
        "amount": amount,
        "kind": "服务合同",
        "text": [desk.file(initiator, f"{name}.pdf")],
        "items": [{"item": name, "quantity": 1, "price": amount}],
    }
    return desk.start(initiator, builtin.CONTRACT, data, title=name, hours_ago=hours_ago)


def _contracts(desk: _Desk) -> None:
    legal, finance = _staff("HQ-ZH"), _staff("HQ-CW")

    # Finished, sent in copy to the archive (张伟).
    engineer = _staff("EC-SC", 1)
    head = _head("EC-SC")
    contract = _contract(
        desk, engineer, "2027年度设备检修服务外包合同", "苏州电力检修有限公司", "380000.00", 90
    )
    desk.approve(contract, head, "检修力量不足，需外包，同意。", hours_ago=88)
    desk.approve(contract, legal, "合同条款已审查，违约责任明确，同意。", hours_ago=80)
    desk.approve(contract, finance, "预算内支出，付款节点合理，同意。", hours_ago=79)
    desk.approve(contract, head, "同意。", hours_ago=78)
    desk.approve(contract, _head("EC"), "同意签订。", hours_ago=72)

    # Large, in review: legal and finance at work in parallel.
    sales = _staff("EC-YX", 2)
    large = _contract(desk, sales, "2027年度电力销售框架合同", "华东钢铁集团有限公司", "12800000.00", 8)
    desk.approve(large, _head("EC-YX"), "重点客户，同意送审。", hours_ago=6)

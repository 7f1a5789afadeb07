"""Demo notices: the 综合办公室 (张伟) publishes group-wide, department heads publish to their
departments; three realistic notices, some receipts already given."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xietong.core import clock
from xietong.identity.models import User
from xietong.notices import services
from xietong.notices.models import NoticeRecipient, ReceiptMode, Reply, Urgency
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit
from xietong.org.services import role_grant_by_system

REASON = "演示数据"


def _at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time ``days`` from today."""
    day = clock.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def load() -> None:
    roles = builtin.ensure_builtin_roles()
    office = User.objects.get(username="zhangwei")
    role_grant_by_system(
        role=roles[builtin.NOTICE_PUBLISHER], user=office, scope=DataScope.GROUP, reason=REASON
    )
    heads = list(
        Membership.objects.filter(is_head=True, unit__kind=OrgUnit.Kind.DEPARTMENT)
        .select_related("user", "unit")
        .order_by("unit__path")
    )
    for post in heads:
        role_grant_by_system(
            role=roles[builtin.NOTICE_PUBLISHER],
            user=post.user,
            scope=DataScope.DEPARTMENT_TREE,
            reason=REASON,
        )
    office = User.objects.get(pk=office.pk)  # its grants resolved afresh

    meeting = services.notice_publish(
        actor=office,
        data=services.NoticeInput(
            title="关于召开2026年第四季度安全生产工作会议的通知",
            body=(
                "<p>各部门：</p>"
                "<p>为总结第三季度安全生产工作，部署第四季度及冬季安全生产重点任务，经集团研究，"
                "定于下周二召开2026年第四季度安全生产工作会议。现将有关事项通知如下：</p>"
                "<ol><li>参会人员：各部门负责人；</li>"
                "<li>会议议程：通报三季度安全生产情况；部署四季度重点工作；签订冬季安全生产责任书；</li>"
                "<li>请各部门提前准备本部门安全生产工作汇报材料（不超过5分钟），会前报综合办公室。</li></ol>"
                "<p>请参会人员提前10分钟到场，扫码签到。因故不能参加的，请在回执中说明原因并指定代参会人员。</p>"
            ),
            starts_at=_at(7, 9, 0),
            ends_at=_at(7, 11, 30),
            place="集团总部三楼第一会议室",
            audience=[f"user:{post.user_id}" for post in heads],
            receipt_mode=ReceiptMode.ATTEND,
            receipt_due=_at(6, 17, 0),
            signin_enabled=True,
        ),
    )
    for index, post in enumerate(heads[:6]):
        person = User.objects.get(pk=post.user_id)
        if index == 2:
            services.receipt_reply(
                user=person, notice=meeting, reply=Reply.DECLINE, note="出差在外，由部门副经理代为参加"
            )
        else:
            services.receipt_reply(user=person, notice=meeting, reply=Reply.ATTEND)

    maintenance = services.notice_publish(
        actor=office,
        data=services.NoticeInput(
            title="关于协同办公平台系统升级维护的通知",
            body=(
                "<p>全体员工：</p>"
                "<p>为提升系统性能和安全防护能力，信息中心将对协同办公平台进行升级维护。"
                "维护期间平台暂停访问，请提前保存正在编辑的内容，合理安排工作。</p>"
                "<p>如遇紧急事项，请联系信息中心值班电话：010-12345678。</p>"
            ),
            starts_at=_at(5, 22, 0),
            ends_at=_at(6, 2, 0),
            place="线上（协同办公平台）",
            audience=["everyone"],
            receipt_mode=ReceiptMode.READ,
        ),
    )
    readers = User.objects.filter(
        pk__in=NoticeRecipient.objects.filter(
            notice=maintenance, unit__code__in=["HQ-ZH", "HQ-XX", "HQ-HR"]
        ).values("user_id")
    )
    for person in readers:
        services.notice_opened(user=person, notice=maintenance)
        services.receipt_confirm(user=person, notice=maintenance)

    production = OrgUnit.objects.get(code="EC-SC")
    head = Membership.objects.select_related("user").get(unit=production, is_head=True).user
    services.notice_publish(
        actor=head,
        data=services.NoticeInput(
            title="关于开展迎峰度夏设备隐患排查的紧急通知",
            body=(
                "<p>各班组：</p><p>近期持续高温，电网负荷屡创新高。请各班组于本周五前完成所辖设备的"
                "隐患排查，重点检查变压器温升、电缆接头和消防设施，发现问题立即上报并落实整改。</p>"
            ),
            starts_at=_at(1, 8, 30),
            ends_at=_at(3, 17, 30),
            place="华东分公司各生产现场",
            audience=[f"unit:{production.pk}"],
            receipt_mode=ReceiptMode.READ,
            urgency=Urgency.URGENT,
        ),
    )

"""Demo 公文 of the demo group, so that the first login shows the module at work.

张伟 (zhangwei) of 综合办公室 is the group's 公文管理员 and 档案管理员. He finds 发文 in every
state — his own draft, one waiting for the leader's 签发 on the approval engine, one 已签发 to
复核, one 已登记 with its number and PDF, one 已分发 to the subsidiaries (a 收文 waiting there) and
one 已归档 — and 收文: a paper document registered with its scan, two 承办中 (one overdue), one
传阅中 and one 已办结. Everything goes through the services, at times set back on the clock so
that the process records have a history. Loading twice changes nothing.

张伟 starts no 发文 request and decides no engine item here: the 审核 step (条例 第二十条) is
done by the office's second 公文管理员, so the approval desk of 张伟 keeps the open and done
items the workflow demo gave it.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from xietong.core import clock
from xietong.documents import archive, flows, incoming, organs, outgoing
from xietong.documents.models import (
    Channel,
    DocType,
    DocumentEvent,
    IncomingDocument,
    IssuingOrgan,
    OutgoingDocument,
    Urgency,
)
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit, Role, RoleGrant
from xietong.org.services import role_grant_by_system
from xietong.workflow import services as workflow
from xietong.workflow.models import WorkItem

REASON = "演示数据"
PREFIX = "demo-doc-"
DEMO_USER = "zhangwei"

GROUP_ORGAN = {
    "code": "华电办发",
    "name": "华电集团有限公司",
    "mark": "华电集团有限公司文件",
    "print_org": "华电集团有限公司综合办公室",
}
EAST_ORGAN = {
    "code": "华电华东办发",
    "name": "华电集团华东分公司",
    "mark": "华电集团华东分公司文件",
    "print_org": "华电集团华东分公司办公室",
}


def is_loaded() -> bool:
    return DocumentEvent.objects.filter(detail__request_id__startswith=PREFIX).exists()


# --------------------------------------------------------------------------- people


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


def _unit(code: str) -> OrgUnit:
    unit: OrgUnit = OrgUnit.objects.get(code=code)
    return unit


def _hold(code: str, user: User, scope: str) -> None:
    role = Role.objects.get(code=code)
    if not RoleGrant.objects.filter(role=role, user=user).exists():
        role_grant_by_system(role=role, user=user, scope=scope, reason=REASON)


def _fresh(user: User) -> User:
    """The account read again: permissions granted during the load count at once."""
    return User.objects.get(pk=user.pk)


class _Desk:
    """Idempotency keys and a clock set back from now."""

    def __init__(self) -> None:
        self.now = clock.now()
        self.count = 0

    def at(self, hours_ago: float) -> Any:
        return clock.frozen_at(self.now - dt.timedelta(hours=hours_ago))

    def ago(self, hours: float) -> dt.datetime:
        return self.now - dt.timedelta(hours=hours)

    def rid(self, what: str) -> str:
        self.count += 1
        return f"{PREFIX}{what}-{self.count}"


# --------------------------------------------------------------------------- files


def scan_pdf(title: str, sender: str, doc_no: str) -> bytes:
    """A one-page PDF standing in for the scan of a paper document."""
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    sheet.setTitle(title)
    sheet.setFont(font, 22)
    sheet.setFillColorRGB(0.8, 0, 0)
    sheet.drawCentredString(width / 2, height - 120, sender)
    sheet.setFillColorRGB(0, 0, 0)
    sheet.setFont(font, 14)
    sheet.drawCentredString(width / 2, height - 160, doc_no)
    sheet.setFont(font, 16)
    sheet.drawCentredString(width / 2, height - 220, title)
    sheet.setFont(font, 12)
    sheet.drawString(90, height - 280, "（纸质来文扫描件，演示数据）")
    sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def _scan(title: str, sender: str, doc_no: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{title}.pdf", scan_pdf(title, sender, doc_no), "application/pdf")


# --------------------------------------------------------------------------- load


def load() -> None:
    if is_loaded():
        return
    flows.ensure_flows()
    desk = _Desk()
    zhang = User.objects.get(username=DEMO_USER)
    secretary = _staff("HQ-ZH", 1)
    east_clerk = _staff("EC-BG", 0)

    # 公文管理员 of the group (本公司: 集团总部 and its departments, not the subsidiaries), the
    # office's second clerk, the clerk of 华东分公司; 张伟 also keeps the archive (全集团).
    _hold(builtin.DOCUMENT_CLERK, zhang, DataScope.COMPANY)
    _hold(builtin.DOCUMENT_CLERK, secretary, DataScope.COMPANY)
    _hold(builtin.DOCUMENT_CLERK, east_clerk, DataScope.COMPANY)
    _hold(builtin.ARCHIVIST, zhang, DataScope.GROUP)
    zhang, secretary, east_clerk = _fresh(zhang), _fresh(secretary), _fresh(east_clerk)

    group = _organ(zhang, _unit("HQ"), GROUP_ORGAN)
    _organ(east_clerk, _unit("EC"), EAST_ORGAN)
    config = archive.get_config()
    if not config.fonds_name:
        archive.config_update(
            actor=zhang, fonds_no=config.fonds_no, fonds_name="华电集团有限公司", retention_by_type={}
        )

    _outgoing(desk, group, zhang, secretary)
    _incoming(desk, zhang)


def _organ(actor: User, unit: OrgUnit, values: dict[str, str]) -> IssuingOrgan:
    existing = IssuingOrgan.objects.filter(code=values["code"]).first()
    if existing is not None:
        return existing
    return organs.organ_create(actor=actor, unit=unit, values=dict(values))


# --------------------------------------------------------------------------- 发文


class _Route:
    """One 发文 pushed along its steps by the people who do them."""

    def __init__(self, desk: _Desk, organ: IssuingOrgan, zhang: User, secretary: User) -> None:
        self.desk = desk
        self.organ = organ
        self.zhang = zhang
        self.secretary = secretary
        self.leader = _head("HQ")

    def draft(self, drafter: User, hours_ago: float, **values: Any) -> OutgoingDocument:
        data = outgoing.DraftIn(organ_id=self.organ.pk, **values)
        with self.desk.at(hours_ago):
            return outgoing.draft_create(actor=drafter, data=data, request_id=self.desk.rid("draft"))

    def submit(self, document: OutgoingDocument, hours_ago: float) -> OutgoingDocument:
        with self.desk.at(hours_ago):
            return outgoing.submit(
                actor=document.drafter,
                document=document,
                signer=self.leader,
                request_id=self.desk.rid("submit"),
            )

    def approve(self, document: OutgoingDocument, user: User, opinion: str, hours_ago: float) -> None:
        item = WorkItem.objects.get(
            instance=document.instance,
            assignee=user,
            state=WorkItem.State.PENDING,
            kind__in=workflow.TASK_KINDS,
        )
        with self.desk.at(hours_ago):
            workflow.approve(actor=user, item=item, request_id=self.desk.rid("approve"), opinion=opinion)

    def signed(self, drafter: User, hours_ago: float, **values: Any) -> OutgoingDocument:
        """Drafted, 核稿 by the drafter's head, 审核 by the office, 签发 by the group's head."""
        document = self.draft(drafter, hours_ago, **values)
        document = self.submit(document, hours_ago - 0.5)
        head = Membership.objects.get(user=drafter, is_primary=True).unit
        self.approve(document, _head(head.code), "内容无误，同意报送。", hours_ago - 2)
        self.approve(document, self.secretary, "格式、文种与行文规则符合要求。", hours_ago - 4)
        self.approve(document, self.leader, "同意印发。", hours_ago - 6)
        document.refresh_from_db()
        return document

    def registered(self, document: OutgoingDocument, copies: int, hours_ago: float) -> OutgoingDocument:
        with self.desk.at(hours_ago):
            document = outgoing.recheck(
                actor=self.zhang, document=document, request_id=self.desk.rid("check")
            )
        with self.desk.at(hours_ago - 0.5):
            return outgoing.register(
                actor=self.zhang, document=document, copies=copies, request_id=self.desk.rid("register")
            )

    def distributed(self, document: OutgoingDocument, hours_ago: float) -> OutgoingDocument:
        with self.desk.at(hours_ago):
            document = outgoing.seal(actor=self.zhang, document=document, request_id=self.desk.rid("seal"))
        with self.desk.at(hours_ago - 0.5):
            return outgoing.distribute(actor=self.zhang, document=document, request_id=self.desk.rid("send"))


def _outgoing(desk: _Desk, organ: IssuingOrgan, zhang: User, secretary: User) -> None:
    route = _Route(desk, organ, zhang, secretary)
    subsidiaries = {
        "main_recipients": "华东分公司、西南分公司",
        "main_unit_ids": [_unit("EC").pk, _unit("SW").pk],
    }
    departments = "集团总部各部门"

    # 已归档: numbered first, sent to both subsidiaries, archived by 张伟.
    cars = route.signed(
        _staff("HQ-ZH", 2),
        240,
        doc_type=DocType.TONGZHI,
        title="关于进一步加强公务用车管理的通知",
        body="<p>为进一步规范公务用车管理，降低运行成本，现就有关事项通知如下。</p>"
        "<p>一、严格执行公务用车派车审批制度，严禁公车私用。</p>"
        "<p>二、各单位于每季度末报送车辆使用情况统计表。</p>",
        cc_recipients=departments,
        **subsidiaries,
    )
    cars = route.registered(cars, 10, 230)
    cars = route.distributed(cars, 228)
    with desk.at(200):
        archive.archive_outgoing(actor=zhang, document=cars, request_id=desk.rid("archive"))

    # 已分发: the 决算 notice waits at the subsidiaries to be signed for.
    accounts = route.signed(
        _staff("HQ-CW", 0),
        120,
        doc_type=DocType.TONGZHI,
        urgency=Urgency.URGENT,
        title="关于做好2026年度财务决算工作的通知",
        body="<p>为做好2026年度财务决算工作，现将有关要求通知如下。</p>"
        "<p>一、各单位于2027年1月15日前完成资产清查和往来款项核对。</p>"
        "<p>二、决算报表于2027年1月31日前报集团财务资产部。</p>",
        note="联系人：集团财务资产部",
        **subsidiaries,
    )
    accounts = route.registered(accounts, 6, 110)
    route.distributed(accounts, 108)

    # 已登记: numbered and laid out, waiting for 用印.
    awards = route.signed(
        _staff("HQ-AJ", 0),
        48,
        doc_type=DocType.JUEDING,
        title="关于表彰2026年度安全生产先进集体和先进个人的决定",
        body="<p>2026年，集团各单位认真落实安全生产责任制，涌现出一批先进集体和先进个人。</p>"
        "<p>经研究，决定授予西南分公司工程管理部等5个集体“安全生产先进集体”称号。</p>"
        "<p>希望受表彰的集体和个人珍惜荣誉，再接再厉。</p>",
        main_recipients="集团总部各部门，各分公司",
        main_unit_ids=[_unit("EC").pk, _unit("SW").pk],
    )
    route.registered(awards, 12, 30)

    # 已签发: 张伟's to-do, waiting for 复核.
    route.signed(
        _staff("HQ-DQ", 0),
        20,
        doc_type=DocType.TONGZHI,
        title="关于开展2027年度“安全生产月”宣传活动的通知",
        body="<p>为营造良好的安全生产氛围，集团决定开展“安全生产月”宣传活动。</p>"
        "<p>请各单位结合实际制定活动方案，于每月5日前报送活动开展情况。</p>",
        **subsidiaries,
    )

    # 审批中: 核稿 and 审核 done, the leader's 签发 pending on the approval engine.
    hr = _staff("HQ-HR", 0)
    training = route.draft(
        hr,
        10,
        doc_type=DocType.TONGZHI,
        title="关于印发《集团公司员工培训管理办法》的通知",
        body="<p>《集团公司员工培训管理办法》已经集团总经理办公会审议通过，现印发给你们，请认真贯彻执行。</p>",
        main_recipients="集团总部各部门，各分公司",
        main_unit_ids=[_unit("EC").pk, _unit("SW").pk],
    )
    training = route.submit(training, 9.5)
    route.approve(training, _head("HQ-HR"), "同意。", 8)
    route.approve(training, secretary, "已核，请领导签发。", 6)

    # 起草: 张伟's own draft, not yet sent.
    route.draft(
        zhang,
        2,
        doc_type=DocType.TONGZHI,
        title="关于做好2027年元旦春节期间值班工作的通知",
        body="<p>为确保节日期间各项工作正常运转，现就值班工作通知如下。</p>"
        "<p>一、各部门于12月25日前报送值班表。</p>",
        main_recipients=departments,
    )


# --------------------------------------------------------------------------- 收文


def _paper(desk: _Desk, zhang: User, hours_ago: float, **values: Any) -> IncomingDocument:
    title, sender, doc_no = values["title"], values["sender_org"], values.get("sender_doc_no", "")
    with desk.at(hours_ago):
        return incoming.register_paper(
            actor=zhang,
            unit=_unit("HQ"),
            scan=_scan(title, sender, doc_no),
            channel=Channel.CONFIDENTIAL,
            request_id=desk.rid("receive"),
            **values,
        )


def _proposed(
    desk: _Desk, zhang: User, document: IncomingDocument, proposal: str, hours_ago: float
) -> IncomingDocument:
    with desk.at(hours_ago), incoming.request(desk.rid("propose")):
        return incoming.propose(
            actor=zhang, document_id=document.pk, proposal=proposal, leader_id=_head("HQ").pk
        )


def _instructed(
    desk: _Desk,
    document: IncomingDocument,
    instruction: str,
    handlings: list[dict[str, Any]],
    hours_ago: float,
) -> IncomingDocument:
    with desk.at(hours_ago), incoming.request(desk.rid("instruct")):
        return incoming.instruct(
            actor=_head("HQ"), document_id=document.pk, instruction=instruction, handlings=handlings
        )


def _incoming(desk: _Desk, zhang: User) -> None:
    leader = _head("HQ")
    today = clock.localdate()

    # 已办结: handled by 安全监察部 and closed by 张伟.
    closed = _paper(
        desk,
        zhang,
        200,
        sender_org="国家能源局华东监管局",
        title="关于开展2026年度电力安全生产专项督查的通知",
        sender_doc_no="华东能监安全〔2026〕31号",
        doc_type=DocType.TONGZHI,
        date_written=today - dt.timedelta(days=12),
    )
    closed = _proposed(desk, zhang, closed, "建议请安全监察部牵头组织自查，按期报送自查报告。", 198)
    closed = _instructed(
        desk,
        closed,
        "请安全监察部牵头落实，自查报告报我阅。",
        [{"unit_id": _unit("HQ-AJ").pk, "deadline": desk.ago(100)}],
        190,
    )
    handling = closed.handlings.get()
    with desk.at(150), incoming.request(desk.rid("done")):
        incoming.handling_done(
            actor=_head("HQ-AJ"),
            document_id=closed.pk,
            handling_id=handling.pk,
            result="已组织集团总部及两家分公司完成自查，自查报告已按期报送华东能源监管局。",
        )
    with desk.at(140), incoming.request(desk.rid("conclude")):
        incoming.conclude(actor=zhang, document_id=closed.pk, result="已按要求完成自查并报送报告。")

    # 承办中, overdue: the lead unit's deadline passed a day ago.
    overdue = _paper(
        desk,
        zhang,
        150,
        sender_org="国务院国有资产监督管理委员会",
        title="关于报送2026年度安全生产工作总结的通知",
        sender_doc_no="国资厅发安全〔2026〕45号",
        doc_type=DocType.TONGZHI,
        urgency=Urgency.URGENT,
        date_written=today - dt.timedelta(days=8),
    )
    overdue = _proposed(desk, zhang, overdue, "建议由安全监察部主办，人力资源部协办，汇总后报领导审定。", 148)
    _instructed(
        desk,
        overdue,
        "请安全监察部主办、人力资源部协办，按时报送。",
        [
            {"unit_id": _unit("HQ-AJ").pk, "is_lead": True, "deadline": desk.ago(24)},
            {"unit_id": _unit("HQ-HR").pk, "deadline": desk.ago(24)},
        ],
        140,
    )

    # 承办中, within its deadline.
    forecast = _paper(
        desk,
        zhang,
        30,
        sender_org="省发展和改革委员会",
        title="关于报送2027年电力需求预测的函",
        sender_doc_no="省发改能源函〔2026〕118号",
        doc_type=DocType.HAN,
        date_written=today - dt.timedelta(days=3),
    )
    forecast = _proposed(desk, zhang, forecast, "建议请财务资产部会同市场营销条线测算后报送。", 28)
    _instructed(
        desk,
        forecast,
        "请财务资产部办理，12月底前报出。",
        [{"unit_id": _unit("HQ-CW").pk, "deadline": desk.ago(-5 * 24)}],
        26,
    )

    # 传阅中: a 阅知性 document read by one of the leaders so far.
    readers = [leader, *_deputies()]
    reading = _paper(
        desk,
        zhang,
        12,
        sender_org="中国电力企业联合会",
        title="关于印发《电力行业2026年度安全生产形势分析报告》的通知",
        sender_doc_no="中电联安全〔2026〕76号",
        doc_type=DocType.TONGZHI,
        date_written=today - dt.timedelta(days=5),
    )
    with desk.at(11), incoming.request(desk.rid("propose")):
        incoming.propose(
            actor=zhang,
            document_id=reading.pk,
            proposal="阅知性文件，建议呈集团领导传阅。",
            for_reading=True,
            reader_ids=[user.pk for user in readers],
        )
    with desk.at(5):
        incoming.mark_read(
            actor=leader, document_id=reading.pk, comment="已阅。请安全监察部结合分析报告做好冬季安全工作。"
        )

    # 已登记: a paper document just in, waiting for 拟办.
    _paper(
        desk,
        zhang,
        1,
        sender_org="国家能源局",
        title="关于做好2026—2027年度电力迎峰度冬工作的通知",
        sender_doc_no="国能发电力〔2026〕88号",
        doc_type=DocType.TONGZHI,
        urgency=Urgency.URGENT,
        date_written=today - dt.timedelta(days=2),
    )


def _deputies() -> list[User]:
    posts = (
        Membership.objects.select_related("user").filter(unit__code="HQ", is_head=False).order_by("user_id")
    )
    return [post.user for post in posts if post.user.username != DEMO_USER]

"""The demo notices loaded with the demo group."""

from __future__ import annotations

import pytest

from xietong.core import access
from xietong.identity.models import User
from xietong.notices import providers, selectors
from xietong.notices.models import Notice, ReceiptMode, Status
from xietong.org import demo

pytestmark = pytest.mark.django_db


def test_demo_notices_with_receipts_already_given() -> None:
    demo.load_demo("Demo#Pass2026")
    notices = {notice.title: notice for notice in Notice.objects.all()}
    assert len(notices) == 3
    assert all(notice.status == Status.PUBLISHED for notice in notices.values())
    meeting = notices["关于召开2026年第四季度安全生产工作会议的通知"]
    assert (meeting.receipt_mode, meeting.signin_enabled, meeting.place) == (
        ReceiptMode.ATTEND,
        True,
        "集团总部三楼第一会议室",
    )
    totals = selectors.receipt_totals(meeting)
    assert (totals.recipients, totals.attend, totals.decline) == (13, 5, 1)
    maintenance = notices["关于协同办公平台系统升级维护的通知"]
    assert maintenance.recipient_count == 60  # all staff, not the 三员 accounts
    assert selectors.receipt_totals(maintenance).confirmed > 0

    zhangwei = User.objects.get(username="zhangwei")
    assert access.scope_of(zhangwei, "notify.send_to_units").everything  # type: ignore[union-attr]
    assert selectors.published_by(zhangwei).count() == 2
    # An ordinary employee has something to do on the workbench.
    someone = User.objects.filter(memberships__unit__code="SW-GC", memberships__is_head=False).first()
    assert someone is not None
    assert providers.todos(someone, 5).count == 1
    assert providers.feed(someone, 5)[0].count == 1

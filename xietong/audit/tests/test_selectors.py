from __future__ import annotations

import datetime as dt

import pytest

from xietong.audit import selectors, services
from xietong.audit.models import Event
from xietong.audit.selectors import EventFilters
from xietong.audit.tests.conftest import MOMENT, make_user, place
from xietong.core import clock
from xietong.core.errors import NotFoundError, PermissionDeniedError


def actions_of(reader, /, **filters) -> list[str]:
    return [e.action for e in selectors.event_list(user=reader, filters=EventFilters(**filters))]


def test_r122_department_filter_covers_the_units_below_it(auditor, org):
    engineer = make_user("gongcheng", name="工程师")
    manager = make_user("jingli", name="分公司经理")
    accountant = make_user("kuaiji", name="会计")
    seconded = make_user("jiediao", name="借调人员")
    place(engineer, org["production"])
    place(manager, org["east"])
    place(accountant, org["finance"])
    place(seconded, org["finance"])
    place(seconded, org["production"], primary=False)  # only the primary post counts
    for user in (engineer, manager, accountant, seconded):
        services.record(actor=user, action=f"test.{user.username}.acted")
    services.record(actor=None, action="test.system.acted")

    assert actions_of(auditor, department_id=org["east"].pk) == ["test.jingli.acted", "test.gongcheng.acted"]
    assert actions_of(auditor, department_id=org["production"].pk) == ["test.gongcheng.acted"]
    assert actions_of(auditor, department_id=org["finance"].pk) == ["test.jiediao.acted", "test.kuaiji.acted"]
    assert len(actions_of(auditor, department_id=org["group"].pk)) == 4
    assert actions_of(auditor, department_id=999_999) == []


def test_r130_filters_narrow_to_one_object_user_action_result_and_time(auditor, employee):
    other = make_user("lisi", name="李四")
    with clock.frozen_at(MOMENT - dt.timedelta(days=2)):
        services.record(
            actor=employee, action="files.file.viewed", target=services.Target("files.file", 7, "年报")
        )
    with clock.frozen_at(MOMENT):
        services.record(
            actor=other, action="files.file.downloaded", target=services.Target("files.file", 7, "年报")
        )
        services.record(
            actor=other, action="files.file.viewed", target=services.Target("files.file", 8, "预算")
        )
        services.record(actor=other, action="identity.login.failed", result=Event.Result.FAILURE)

    everyone_on_7 = selectors.event_list(
        user=auditor, filters=EventFilters(target_type="files.file", target_id="7")
    )
    assert sorted(e.actor_username for e in everyone_on_7) == ["lisi", "putong"]
    assert actions_of(auditor, user="普通") == ["files.file.viewed"]
    assert actions_of(auditor, user="LISI") == [
        "identity.login.failed",
        "files.file.viewed",
        "files.file.downloaded",
    ]
    assert actions_of(auditor, action="files.file") == [
        "files.file.viewed",
        "files.file.downloaded",
        "files.file.viewed",
    ]
    assert actions_of(auditor, result="failure") == ["identity.login.failed"]
    assert actions_of(auditor, since=MOMENT - dt.timedelta(days=1), action="files.") == [
        "files.file.viewed",
        "files.file.downloaded",
    ]
    assert actions_of(auditor, until=MOMENT - dt.timedelta(days=1)) == ["files.file.viewed"]


def test_ip_filter(auditor, rf):
    services.record(actor=None, action="identity.login.failed", request=rf.get("/", REMOTE_ADDR="10.0.0.9"))
    services.record(actor=None, action="identity.login.failed", request=rf.get("/", REMOTE_ADDR="10.0.0.10"))
    assert len(actions_of(auditor, ip="10.0.0.9")) == 1
    assert actions_of(auditor, ip="not an address") == []


def test_keyset_pages_walk_the_whole_trail(auditor):
    created = [services.record(actor=None, action="test.page.item", details={"n": n}).pk for n in range(7)]
    seen: list[int] = []
    page = selectors.event_page(user=auditor, filters=EventFilters(), limit=3)
    assert page.newer_cursor is None
    while True:
        seen.extend(e.pk for e in page.items)
        if page.older_cursor is None:
            break
        page = selectors.event_page(user=auditor, filters=EventFilters(), before=page.older_cursor, limit=3)
    assert seen == created[::-1]
    back = selectors.event_page(user=auditor, filters=EventFilters(), after=seen[5], limit=3)
    assert [e.pk for e in back.items] == seen[2:5]
    assert back.newer_cursor == seen[2]


@pytest.mark.parametrize(
    "read",
    [
        lambda user: selectors.event_list(user=user, filters=EventFilters()),
        lambda user: selectors.event_page(user=user, filters=EventFilters()),
        lambda user: selectors.event_get(user=user, event_id=1),
        lambda user: selectors.department_options(user=user),
    ],
    ids=["list", "page", "get", "departments"],
)
def test_readers_other_than_auditors_are_refused(employee, read):
    with pytest.raises(PermissionDeniedError):
        read(employee)


def test_event_get_of_a_missing_record(auditor):
    with pytest.raises(NotFoundError):
        selectors.event_get(user=auditor, event_id=123456)

"""The notice pages: lists, the form, one notice with its receipt, the receipts page and its
live fragment, reminders, the Excel export, the sign-in code and page, the audience picker."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.fixtures import client_for, make_user, place
from xietong.audit.models import Event
from xietong.core import clock
from xietong.notices import services
from xietong.notices.models import Notice, NoticeRecipient, ReceiptMode, Reply, Status, Urgency
from xietong.notices.tests.conftest import People, at, publish

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def form_data(people: People, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "关于召开第四季度安全生产工作会议的通知",
        "body": "<p>请各部门负责人准时参加。</p><script>alert(1)</script>",
        "starts_at": at(days=2).strftime(LOCAL),
        "ends_at": at(days=2, hours=2).strftime(LOCAL),
        "place": "总部三楼第一会议室",
        "audience": [people.unit("production"), people.ref("zhao")],
        "receipt_mode": "attend",
        "receipt_due": at(days=1).strftime(LOCAL),
        "classification": "1",
        "action": "publish",
    }
    data.update(changes)
    return data


# --------------------------------------------------------------------------- lists


def test_received_list_urgent_first_unread_bold_awaiting_badge(people: People) -> None:
    office = people["office"]
    read = publish(office, [people.ref("li")], title="已读的通知")
    publish(office, [people.ref("li")], title="普通的新通知", receipt_mode=ReceiptMode.READ)
    urgent = publish(office, [people.ref("li")], title="急办通知", urgency=Urgency.URGENT)
    with clock.frozen_at(at(minutes=1)):
        publish(office, [people.ref("li")], title="最新的通知")
    services.notice_opened(user=people["li"], notice=read)
    page = client_for(people["li"]).get("/notices/").content.decode()
    titles = re.findall(r'data-notice-id="(\d+)"', page)
    assert titles[0] == str(urgent.pk)  # 急办 still wanting attention, on top
    assert page.index("最新的通知") < page.index("普通的新通知") < page.index("已读的通知")
    unread = re.findall(r'class="list-group-item list-group-item-action( is-unread)?', page)
    assert unread.count(" is-unread") == 3
    assert "待确认" in page
    assert 'id="unread-total">3<' in page


def test_list_filters_and_search(people: People) -> None:
    office = people["office"]
    publish(office, [people.ref("li")], title="关于防汛值班的通知", receipt_mode=ReceiptMode.READ)
    publish(office, [people.ref("li")], title="关于体检安排的通知", place="职工医院")
    client = client_for(people["li"])
    awaiting = client.get("/notices/?only=awaiting").content.decode()
    assert "防汛值班" in awaiting
    assert "体检安排" not in awaiting
    found = client.get("/notices/?q=职工医院").content.decode()
    assert "体检安排" in found
    assert "防汛值班" not in found
    assert "没有符合条件的通知" in client.get("/notices/?q=不存在的词").content.decode()


def test_published_and_unit_tabs(people: People) -> None:
    notice = publish(people["li"], [people.ref("zhao"), people.ref("zhou")], receipt_mode=ReceiptMode.READ)
    services.receipt_confirm(user=people["zhao"], notice=notice)
    mine = client_for(people["li"]).get("/notices/?box=published").content.decode()
    assert notice.title in mine
    assert "已读 1/2" in mine
    assert "已回执 1/2" in mine
    assert "本部门" not in client_for(people["li"]).get("/notices/").content.decode()
    head = client_for(people["prod_head"])
    assert notice.title in head.get("/notices/?box=unit").content.decode()
    # Without notices.manage the tab falls back to one's own inbox.
    assert (
        notice.title
        not in client_for(people["zhou"])
        .get("/notices/?box=unit")
        .content.decode()
        .split('id="notice-list"')[0]
    )


def test_the_list_takes_the_same_queries_for_few_and_many(
    people: People, django_assert_max_num_queries
) -> None:
    client, office = client_for(people["li"]), client_for(people["office"])
    publish(people["office"], [people.ref("li")])
    client.get("/notices/")
    office.get("/notices/?box=published")
    with django_assert_max_num_queries(10) as received:
        client.get("/notices/")
    with django_assert_max_num_queries(10) as published:
        office.get("/notices/?box=published")
    for index in range(25):
        publish(people["office"], [people.ref("li")], title=f"通知{index}", receipt_mode=ReceiptMode.READ)
    with django_assert_max_num_queries(len(received)):
        assert client.get("/notices/").status_code == 200
    with django_assert_max_num_queries(len(published)):
        assert office.get("/notices/?box=published").status_code == 200


def test_no_read_permission_no_page(people: People) -> None:
    assert client_for(people["sysadmin"]).get("/notices/").status_code == 403
    assert client_for(people["sysadmin"]).get("/notices/new/").status_code == 403
    assert Client().get("/notices/").status_code == 302


# --------------------------------------------------------------------------- writing


def test_publishing_through_the_form(people: People) -> None:
    client = client_for(people["office"])
    page = client.get("/notices/new/").content.decode()
    assert 'id="audience-picker"' in page
    assert 'name="receipt_mode"' in page
    response = client.post("/notices/new/", form_data(people))
    notice = Notice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/notices/{notice.pk}/"
    assert notice.status == Status.PUBLISHED
    assert notice.body == "<p>请各部门负责人准时参加。</p>"  # sanitised
    assert notice.receipt_due == at(days=1)
    assert NoticeRecipient.objects.filter(notice=notice).count() == 4
    followed = client.get(response["Location"]).content.decode()
    assert "通知已发布，共 4 人。" in followed


def test_r62_the_form_names_each_missing_element(people: People) -> None:
    client = client_for(people["office"])
    response = client.post(
        "/notices/new/", form_data(people, place="", starts_at="", audience=[], title="", body="")
    )
    page = response.content.decode()
    assert response.status_code == 200
    for message in ("请填写通知事项", "请填写时间", "请填写地点", "请选择相关人员", "请填写通知正文"):
        assert message in page
    assert not Notice.objects.exists()


def test_a_bad_date_is_named(people: People) -> None:
    response = client_for(people["office"]).post("/notices/new/", form_data(people, starts_at="明天上午"))
    assert "请输入有效的日期和时间" in response.content.decode()
    assert not Notice.objects.exists()


def test_r31_the_form_refuses_a_department_without_the_right(people: People) -> None:
    response = client_for(people["zhao"]).post("/notices/new/", form_data(people))
    assert response.status_code == 200
    assert "向部门或全员发送通知" in response.content.decode()
    assert not Notice.objects.exists()


def test_a_draft_is_kept_then_published(people: People) -> None:
    client = client_for(people["office"])
    response = client.post("/notices/new/", {"title": "先存个草稿", "action": "draft", "classification": "1"})
    draft = Notice.objects.get()
    assert draft.status == Status.DRAFT
    assert response["Location"] == f"/notices/{draft.pk}/edit/"
    page = client.get(f"/notices/{draft.pk}/edit/").content.decode()
    assert "先存个草稿" in page
    assert "删除草稿" in page
    client.post(f"/notices/{draft.pk}/edit/", form_data(people))
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED
    assert draft.title == "关于召开第四季度安全生产工作会议的通知"


def test_editing_a_published_notice_through_the_form(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")])
    client = client_for(people["office"])
    page = client.get(f"/notices/{notice.pk}/edit/").content.decode()
    assert 'id="audience-fixed"' in page
    response = client.post(
        f"/notices/{notice.pk}/edit/",
        {
            "title": notice.title,
            "body": notice.body,
            "starts_at": at(days=3).strftime(LOCAL),
            "place": notice.place,
            "audience": ["everyone"],  # ignored: fixed once published
        },
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert (notice.revision, notice.starts_at, notice.audience) == (2, at(days=3), [people.ref("li")])


def test_the_audience_picker_searches_units_and_people(people: People) -> None:
    client = client_for(people["office"])
    found = client.get("/notices/audience/", {"q": "生产"}).json()["results"]
    assert {
        "ref": people.unit("production"),
        "label": "生产技术部",
        "kind": "unit",
        "detail": "含下级单位",
    } in found
    people_found = client.get("/notices/audience/", {"q": "lq"}).json()["results"]
    assert [item["label"] for item in people_found if item["kind"] == "user"] == ["李强"]
    assert client.get("/notices/audience/").json()["results"] == []


# --------------------------------------------------------------------------- one notice


def test_opening_marks_read_and_shows_the_receipt_form(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], receipt_mode=ReceiptMode.ATTEND)
    client = client_for(people["li"])
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert 'id="reply-form"' in page
    assert "请回复是否参加" in page
    assert NoticeRecipient.objects.get(notice=notice).read_at is not None
    response = client.post(f"/notices/{notice.pk}/receipt/", {"reply": "decline", "note": ""})
    assert response.status_code == 302
    assert "不参加请填写原因" in client.get(response["Location"]).content.decode()
    client.post(f"/notices/{notice.pk}/receipt/", {"reply": "decline", "note": "外出培训"})
    copy = NoticeRecipient.objects.get(notice=notice)
    assert (copy.reply, copy.note) == (Reply.DECLINE, "外出培训")
    assert "已回复：不参加" in client.get(f"/notices/{notice.pk}/").content.decode()


def test_confirm_button(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], receipt_mode=ReceiptMode.READ)
    client = client_for(people["li"])
    assert 'id="confirm-read"' in client.get(f"/notices/{notice.pk}/").content.decode()
    client.post(f"/notices/{notice.pk}/receipt/")
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert 'id="confirm-read"' not in page
    assert "确认阅读" in page


def test_the_publisher_sees_his_tools_a_recipient_does_not(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], signin_enabled=True)
    tools = client_for(people["office"]).get(f"/notices/{notice.pk}/").content.decode()
    assert 'id="publisher-tools"' in tools
    assert 'id="edit-notice"' in tools
    assert "签到二维码" in tools
    assert (
        'id="publisher-tools"' not in client_for(people["li"]).get(f"/notices/{notice.pk}/").content.decode()
    )


def test_withdraw_through_the_page(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")])
    client_for(people["office"]).post(f"/notices/{notice.pk}/withdraw/", {"reason": "时间调整，另行通知"})
    assert Notice.objects.get(pk=notice.pk).status == Status.WITHDRAWN
    assert client_for(people["li"]).get(f"/notices/{notice.pk}/").status_code == 404
    assert (
        "撤回，相关人员已看不到它"
        in client_for(people["office"]).get(f"/notices/{notice.pk}/").content.decode()
    )


# --------------------------------------------------------------------------- receipts page


def test_receipts_page_with_live_fragment(people: People) -> None:
    notice = publish(
        people["office"], [people.unit("production"), people.unit("finance")], receipt_mode=ReceiptMode.READ
    )
    services.receipt_confirm(user=people["li"], notice=notice)
    client = client_for(people["office"])
    page = client.get(f"/notices/{notice.pk}/receipts/").content.decode()
    assert (
        f"xietong:event[detail.type=='notices.receipt' && detail.notice=={notice.pk}] from:document" in page
    )
    assert 'id="total-confirmed">1<' in page
    assert 'id="total-unanswered">4<' in page
    assert 'data-unit="财务部"' in page
    live = client.get(f"/notices/{notice.pk}/receipts/live/?status=unanswered").content.decode()
    assert "<html" not in live
    assert 'data-user="zhaomin"' in live
    assert 'data-user="liqiang"' not in live


def test_receipts_page_takes_the_same_queries_for_few_and_many(
    people: People, django_assert_max_num_queries
) -> None:
    for index in range(30):
        place(make_user(f"cw{index}", name=f"财务{index}"), people.units["finance"])
    notice = publish(people["office"], [people.unit("finance"), people.unit("production")])
    client = client_for(people["office"])
    client.get(f"/notices/{notice.pk}/receipts/")
    with django_assert_max_num_queries(14):
        client.get(f"/notices/{notice.pk}/receipts/")


def test_remind_button_and_its_limit(people: People) -> None:
    notice = publish(people["office"], [people.ref("li"), people.ref("zhao")], receipt_mode=ReceiptMode.READ)
    client = client_for(people["office"])
    response = client.post(f"/notices/{notice.pk}/receipts/remind/")
    assert "已提醒 2 位未回执人员" in client.get(response["Location"]).content.decode()
    client.post(f"/notices/{notice.pk}/receipts/remind/")
    page = client.get(f"/notices/{notice.pk}/receipts/").content.decode()
    assert "每 30 分钟只能提醒一次" in page
    assert "09:30 后可再次提醒" in page


def test_r63_excel_export_lists_everyone_per_department(people: People) -> None:
    notice = publish(
        people["office"],
        [people.unit("production"), people.unit("finance")],
        receipt_mode=ReceiptMode.ATTEND,
        receipt_due=at(hours=10),
        signin_enabled=True,
    )
    services.receipt_reply(user=people["li"], notice=notice, reply=Reply.ATTEND)
    services.receipt_reply(user=people["zhao"], notice=notice, reply=Reply.DECLINE, note="=出差")
    response = client_for(people["office"]).get(f"/notices/{notice.pk}/receipts/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="notice-{notice.pk}-receipts-')
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["按部门汇总", "回执名单"]
    summary = list(book["按部门汇总"].iter_rows(values_only=True))
    assert summary[0][0] == notice.title
    assert summary[4] == ("部门", "应收人数", "已读", "未读", "参加", "不参加", "未回复", "已签到")
    assert ("财务部", 2, 1, 1, 0, 1, 1, 0) in summary
    assert summary[-1] == ("合计", 5, 2, 3, 1, 1, 3, 0)
    people_rows = list(book["回执名单"].iter_rows(values_only=True))
    assert people_rows[0] == ("部门", "姓名", "用户名", "阅读时间", "回复时间", "回复", "备注", "签到时间")
    by_name = {row[1]: row for row in people_rows[1:]}
    assert set(by_name) == {"王经理", "李强", "周杰", "赵敏", "钱进"}
    assert by_name["赵敏"][5:7] == ("不参加", "=出差")  # text, never a formula
    assert by_name["钱进"][5] == "未回复"
    event = Event.objects.get(action="notices.receipts.exported")
    assert event.details == {"rows": 5, "classification": 1}


# --------------------------------------------------------------------------- sign-in


def test_r64_sign_in_code_and_page(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], signin_enabled=True)
    code = client_for(people["office"]).get(f"/notices/{notice.pk}/sign-in/code/").content.decode()
    assert "<svg" in code
    assert 'id="signin-count"' in code
    assert client_for(people["li"]).get(f"/notices/{notice.pk}/sign-in/code/").status_code == 404
    url = f"/notices/{notice.pk}/sign-in/{notice.signin_token}/"
    with clock.frozen_at(at(days=1, minutes=-10)):
        client = client_for(people["li"])
        page = client.get(url).content.decode()
        assert 'id="signin-button"' in page
        assert NoticeRecipient.objects.get(notice=notice).signed_in_at is None  # GET signs nobody in
        done = client.post(url).content.decode()
    assert 'id="signin-done"' in done
    assert NoticeRecipient.objects.get(notice=notice).signed_in_at == at(days=1, minutes=-10)
    assert client.get(f"/notices/{notice.pk}/sign-in/wrong/").status_code == 404
    assert client_for(people["zhao"]).get(url).status_code == 404

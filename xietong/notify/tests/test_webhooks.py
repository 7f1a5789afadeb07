"""Webhooks to a real HTTP server on loopback: the JSON of each robot and its signature, who
a group may hear about, quiet hours, retries, R-26, and the administrators' pages."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from zoneinfo import ZoneInfo

import pytest
from django.test import Client, override_settings

from tests.fixtures import client_for, make_user
from xietong.audit.models import Event
from xietong.core import clock, outbound
from xietong.core.errors import PermissionDeniedError
from xietong.identity.models import User
from xietong.notify import delivery, services, tasks
from xietong.notify.models import DeliveryLog, Dispatch, Webhook
from xietong.notify.tests.conftest import Receiver, Staff

pytestmark = pytest.mark.django_db

SECRET = "SEC0123456789abcdef"
SENT_AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def hook(receiver: Receiver, fmt: str, **fields: object) -> Webhook:
    fields.setdefault("name", f"{fmt} 群")
    return Webhook.objects.create(format=fmt, url=receiver.url(), **fields)


def notify_everyone(capture, **fields: object) -> Dispatch:
    arguments: dict[str, object] = {
        "recipients": ["everyone"],
        "kind": "system",
        "title": "关于开展消防演练的通知",
        "body": "3 月 5 日 15:00 全员参加。",
        "link": "/portal/notices/3/",
    }
    arguments.update(fields)
    with clock.frozen_at(SENT_AT), capture(execute=True):
        return services.notify(**arguments)  # type: ignore[arg-type]


def test_dingtalk_markdown_with_signature(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "dingtalk", secret=SECRET)
    notify_everyone(django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    timestamp = str(int(SENT_AT.timestamp() * 1000))
    expected_sign = base64.b64encode(
        hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    # The robot's own token stays in the query, beside the signature.
    assert request.query == {"access_token": "tok123", "timestamp": timestamp, "sign": expected_sign}
    assert request.json == {
        "msgtype": "markdown",
        "markdown": {
            "title": "关于开展消防演练的通知",
            "text": "### 关于开展消防演练的通知\n\n3 月 5 日 15:00 全员参加。\n\n"
            "[查看详情](https://oa.example.com/portal/notices/3/)",
        },
    }
    assert DeliveryLog.objects.get(channel="webhook").status == "sent"


def test_wecom_markdown(staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks) -> None:
    hook(receiver, "wecom")
    notify_everyone(django_capture_on_commit_callbacks, urgency="urgent")
    (request,) = receiver.requests
    assert request.query == {"access_token": "tok123"}
    assert request.json == {
        "msgtype": "markdown",
        "markdown": {
            "content": "### 【急办】关于开展消防演练的通知\n\n3 月 5 日 15:00 全员参加。\n\n"
            "[查看详情](https://oa.example.com/portal/notices/3/)"
        },
    }


def test_feishu_text_with_signature(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "feishu", secret=SECRET)
    receiver.reply = (200, {"code": 0, "msg": "success", "data": {}})
    notify_everyone(django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    timestamp = str(int(SENT_AT.timestamp()))
    expected_sign = base64.b64encode(
        hmac.new(f"{timestamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert request.json == {
        "timestamp": timestamp,
        "sign": expected_sign,
        "msg_type": "text",
        "content": {
            "text": "关于开展消防演练的通知\n3 月 5 日 15:00 全员参加。\nhttps://oa.example.com/portal/notices/3/"
        },
    }
    assert DeliveryLog.objects.get(channel="webhook").status == "sent"


def test_generic_json_with_body_signature(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "generic", secret=SECRET)
    receiver.reply = (204, None)
    notify_everyone(django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    assert request.json == {
        "kind": "system",
        "title": "关于开展消防演练的通知",
        "body": "3 月 5 日 15:00 全员参加。",
        "link": "https://oa.example.com/portal/notices/3/",
        "urgency": "normal",
        "created_at": "2026-03-02T02:00:00Z",
    }
    expected = "sha256=" + hmac.new(SECRET.encode(), request.raw, hashlib.sha256).hexdigest()
    assert request.headers["x-xietong-signature"] == expected
    assert request.headers["content-type"] == "application/json; charset=utf-8"


def test_robot_refusal_is_recorded_as_failed(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "dingtalk", secret="wrong")
    receiver.reply = (200, {"errcode": 310000, "errmsg": "sign not match"})
    notify_everyone(django_capture_on_commit_callbacks)
    log = DeliveryLog.objects.get(channel="webhook")
    assert (log.status, log.error) == ("failed", "310000 sign not match")


def test_server_errors_are_retried_with_back_off(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    webhook = hook(receiver, "generic")
    receiver.reply = (503, {"error": "busy"})
    notify_everyone(django_capture_on_commit_callbacks)
    log = DeliveryLog.objects.get(webhook=webhook)
    assert (log.status, log.attempts, log.error) == ("queued", 1, "HTTP 503")  # the retry waits
    receiver.reply = (200, {})
    assert delivery.send_webhook(log.pk, last_attempt=False) == "sent"
    assert len(receiver.requests) == 2


def test_back_off_doubles_per_try() -> None:
    class Task:
        retries = tasks.RETRIES
        retry_delay = tasks.RETRY_DELAY

    task, delays = Task(), []
    while task.retries:
        tasks._back_off(task)
        delays.append(task.retry_delay)
        task.retries -= 1
    assert delays == [30, 60, 120, 240]


def test_a_group_hears_only_of_what_all_its_unit_received(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    production = staff.units["production"]
    hook(receiver, "generic", name="生产技术部群", unit=production)
    hook(receiver, "generic", name="全员群")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[f"unit:{production.pk}"], kind="system", title="部门会议")
        services.notify(recipients=[f"user:{staff.users['li'].pk}"], kind="system", title="李强的私事")
        services.notify(recipients=["everyone"], kind="system", title="全员大会")
    heard = sorted(DeliveryLog.objects.filter(channel="webhook").values_list("target", "dispatch__title"))
    assert heard == [("全员群", "全员大会"), ("生产技术部群", "全员大会"), ("生产技术部群", "部门会议")]


def test_kinds_filter_and_urgent_only(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "generic", name="任务群", kinds=["tasks.assigned"])
    hook(receiver, "generic", name="急办群", urgent_only=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=["everyone"], kind="system", title="系统通知")
        services.notify(recipients=["everyone"], kind="tasks.assigned", title="新任务")
        services.notify(recipients=["everyone"], kind="system", title="急办事项", urgency="urgent")
    heard = sorted(DeliveryLog.objects.filter(channel="webhook").values_list("target", "dispatch__title"))
    # An urgent item goes to every group at once, whatever its kinds.
    assert heard == [("任务群", "急办事项"), ("任务群", "新任务"), ("急办群", "急办事项")]


def test_webhook_quiet_hours_defer_normal_items_only(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "generic", quiet_start=dt.time(22), quiet_end=dt.time(7))
    night = dt.datetime(2026, 3, 2, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with clock.frozen_at(night), django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=["everyone"], kind="system", title="明日例会")
        services.notify(recipients=["everyone"], kind="system", title="火警", urgency="urgent")
    assert [r.json["title"] for r in receiver.requests] == ["火警"]
    with clock.frozen_at(night + dt.timedelta(hours=8)):
        assert tasks.deliver_deferred.call_local() == 1
    assert [r.json["title"] for r in receiver.requests] == ["火警", "明日例会"]


def test_r33_classified_items_never_reach_a_webhook(
    staff: Staff, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook(receiver, "generic")
    source = User.objects.get(pk=staff.users["li"].pk)
    source.classification = 2  # type: ignore[attr-defined]
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=["everyone"], kind="system", title="涉密", urgency="urgent", source=source)
    assert receiver.requests == []


def test_r26_webhook_to_loopback_is_refused(staff: Staff, django_capture_on_commit_callbacks) -> None:
    """R-26: without the operator's allowlist naming it, loopback is never a webhook target."""
    webhook = Webhook.objects.create(name="本机", format="generic", url="http://127.0.0.1:9/hook")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=["everyone"], kind="system", title="x", urgency="urgent")
    log = DeliveryLog.objects.get(webhook=webhook)
    assert log.status == "failed"
    assert "白名单" in log.error
    for url in (
        "http://127.0.0.1/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/x",
        "ftp://oapi.dingtalk.com/x",
        "https://user:pw@oapi.dingtalk.com/robot/send",
        "https://evil.example.com/robot/send",
    ):
        with pytest.raises(outbound.OutboundRefusedError):
            outbound.check_url(url, resolve=False)
    with override_settings(XIETONG_OUTBOUND_HOSTS=["localhost", ".corp.example.com"]):
        # An allowed *name* that resolves to loopback is still refused (DNS can change).
        with pytest.raises(outbound.OutboundRefusedError, match="内部地址"):
            outbound.check_url("http://localhost/x")
        assert outbound.host_allowed("robots.corp.example.com")
        assert not outbound.host_allowed("corp.example.com.evil.net")


def test_admin_pages_create_test_and_delete_with_audit(
    staff: Staff, receiver: Receiver, sysadmin_user: User
) -> None:
    client = client_for(sysadmin_user)
    assert client.get("/notifications/webhooks/").status_code == 200
    form = {
        "name": "值班群",
        "format": "dingtalk",
        "url": receiver.url(),
        "secret": SECRET,
        "unit": "",
        "kinds": ["system"],
        "is_active": "on",
    }
    response = client.post("/notifications/webhooks/new/", form)
    assert response.status_code == 302, response.content.decode()
    webhook = Webhook.objects.get(name="值班群")
    assert (webhook.secret, webhook.kinds, webhook.created_by) == (SECRET, ["system"], sysadmin_user)
    page = client.get(f"/notifications/webhooks/{webhook.pk}/").content.decode()
    assert SECRET not in page
    assert "tok123" in page
    # Saving again with the secret left blank keeps it.
    client.post(f"/notifications/webhooks/{webhook.pk}/", {**form, "secret": "", "urgent_only": "on"})
    webhook.refresh_from_db()
    assert webhook.secret == SECRET
    assert webhook.urgent_only
    assert client.post(f"/notifications/webhooks/{webhook.pk}/test/").status_code == 302
    assert receiver.requests[-1].json["markdown"]["title"] == "测试消息"
    assert client.post(f"/notifications/webhooks/{webhook.pk}/delete/").status_code == 302
    assert not Webhook.objects.exists()
    actions = list(
        Event.objects.filter(action__startswith="notify.webhook")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "notify.webhook.created",
        "notify.webhook.updated",
        "notify.webhook.tested",
        "notify.webhook.deleted",
    ]
    details = json.dumps(
        list(Event.objects.filter(action__startswith="notify.webhook").values_list("details", flat=True))
    )
    assert SECRET not in details
    assert "tok123" not in details


def test_r26_admin_form_refuses_a_host_off_the_allowlist(sysadmin_user: User) -> None:
    form = {"name": "外部", "format": "generic", "url": "http://169.254.169.254/latest/", "is_active": "on"}
    response = client_for(sysadmin_user).post("/notifications/webhooks/new/", form)
    assert response.status_code == 200
    assert "白名单" in response.content.decode()
    assert not Webhook.objects.exists()


def test_webhook_pages_are_for_the_system_administrator_only(
    staff: Staff, secadmin_user: User, user: User
) -> None:
    webhook = Webhook.objects.create(
        name="群", format="generic", url="https://oapi.dingtalk.com/robot/send?access_token=t"
    )
    for who in (user, secadmin_user):
        client = client_for(who)
        assert client.get("/notifications/webhooks/").status_code == 403
        assert client.get("/notifications/webhooks/new/").status_code == 403
        assert (
            client.post(
                "/notifications/webhooks/new/",
                {"name": "x", "format": "generic", "url": "https://oapi.dingtalk.com/x"},
            ).status_code
            == 403
        )
        assert client.post(f"/notifications/webhooks/{webhook.pk}/delete/").status_code == 403
        assert client.post(f"/notifications/webhooks/{webhook.pk}/test/").status_code == 403
    assert Client().get("/notifications/webhooks/").status_code == 302
    assert list(Webhook.objects.values_list("name", flat=True)) == ["群"]
    # A service call without the permission is refused and recorded.
    with pytest.raises(PermissionDeniedError):
        services.webhook_delete(actor=user, webhook=webhook)
    assert Event.objects.filter(action="notify.webhook.deleted", result="denied").count() == 1
    assert Webhook.objects.exists()


def test_nav_shows_the_webhook_page_to_its_administrator_only(sysadmin_user: User, user: User) -> None:
    assert 'href="/notifications/webhooks/"' in client_for(sysadmin_user).get("/").content.decode()
    assert 'href="/notifications/webhooks/"' not in client_for(user).get("/").content.decode()
    assert 'href="/notifications/"' in client_for(user).get("/").content.decode()


def test_deleting_the_unit_narrows_a_group_to_everyone_only(staff: Staff) -> None:
    other = make_user("outsider", name="外人")
    webhook = Webhook.objects.create(
        name="群",
        format="generic",
        url="https://oapi.dingtalk.com/robot/send?access_token=t",
        unit=staff.units["office"],
    )
    dispatch = services.notify(recipients=[f"unit:{staff.units['office'].pk}"], kind="system", title="x")
    assert delivery.webhook_covers(webhook, dispatch)
    webhook.unit = None
    assert not delivery.webhook_covers(webhook, dispatch)
    assert other.pk

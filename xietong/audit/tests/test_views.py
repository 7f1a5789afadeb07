from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook  # type: ignore[import-untyped]

from xietong.audit import chain, services
from xietong.audit.models import Event
from xietong.audit.tests.conftest import make_user, place

LIST = reverse("audit:event_list")
EXPORT = reverse("audit:event_export")
SECRET_ACTION = "documents.secret.viewed"


@pytest.fixture
def trail(employee) -> list[Event]:
    return [
        services.record(
            actor=employee,
            action=SECRET_ACTION,
            target=services.Target("documents.document", 42, "绝密会议纪要"),
        ),
        services.record(actor=employee, action="identity.login.succeeded"),
    ]


def test_r36_anonymous_visitors_go_to_the_login_page(client, trail):
    for url in (LIST, reverse("audit:event_detail", args=[trail[0].pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:login"))
    response = client.post(EXPORT)
    assert response.status_code == 302
    assert Event.objects.count() == 2


def test_r130_employees_cannot_read_the_audit_trail(client, employee, trail):
    client.force_login(employee)
    for response in (
        client.get(LIST),
        client.get(reverse("audit:event_detail", args=[trail[0].pk])),
        client.post(EXPORT),
    ):
        assert response.status_code == 403
        body = response.content.decode()
        assert SECRET_ACTION not in body
        assert "绝密会议纪要" not in body
    assert Event.objects.count() == 2  # nothing exported, so nothing recorded


def test_the_navigation_hides_the_module_from_employees(client, employee, auditor):
    client.force_login(employee)
    assert LIST not in client.get(reverse("workbench:home")).content.decode()
    client.force_login(auditor)
    assert LIST in client.get(reverse("workbench:home")).content.decode()


def test_auditors_see_the_list_and_the_detail(client, auditor, trail):
    client.force_login(auditor)
    response = client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert SECRET_ACTION in body
    assert "绝密会议纪要" in body
    assert "普通员工" in body

    response = client.get(reverse("audit:event_detail", args=[trail[0].pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert trail[0].hash in body
    assert trail[0].prev_hash in body
    assert client.get(reverse("audit:event_detail", args=[999999])).status_code == 404


def test_list_filters_by_query_string(client, auditor, trail):
    client.force_login(auditor)
    body = client.get(LIST, {"action": "identity."}).content.decode()
    assert "identity.login.succeeded" in body
    assert SECRET_ACTION not in body


def test_bad_filters_get_a_message_and_no_rows(client, auditor, trail):
    client.force_login(auditor)
    response = client.get(LIST, {"date_from": "2025-06-02", "date_to": "2025-06-01", "ip": "x"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "开始日期不能晚于结束日期" in body
    assert SECRET_ACTION not in body


def test_r122_list_filters_by_department(client, auditor, org):
    engineer = make_user("gongcheng", name="工程师")
    accountant = make_user("kuaiji", name="会计")
    place(engineer, org["production"])
    place(accountant, org["finance"])
    services.record(actor=engineer, action="test.engineer.acted")
    services.record(actor=accountant, action="test.accountant.acted")
    client.force_login(auditor)
    body = client.get(LIST, {"department": org["east"].pk}).content.decode()
    assert "test.engineer.acted" in body
    assert "test.accountant.acted" not in body
    assert "\u3000\u3000生产技术部" in body  # the tree is indented in the department choice


def test_list_pages_by_fifty(client, auditor):
    for n in range(55):
        services.record(actor=None, action="test.page.item", details={"n": n})
    client.force_login(auditor)
    first = client.get(LIST)
    assert len(first.context["rows"]) == 50
    older = first.context["page"].older_cursor
    second = client.get(LIST, {"before": older})
    assert len(second.context["rows"]) == 5
    assert second.context["page"].older_cursor is None
    assert second.context["page"].newer_cursor is not None


def test_list_queries_do_not_grow_with_the_rows(client, auditor, org, django_assert_max_num_queries):
    client.force_login(auditor)
    user = make_user("gongcheng")
    place(user, org["production"])

    def queries_for(count: int) -> int:
        for _ in range(count):
            services.record(actor=user, action="files.file.viewed", target=user)
        client.get(LIST, {"department": org["group"].pk})  # fills the per-process caches first
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST, {"department": org["group"].pk}).status_code == 200
        return len(captured)

    few = queries_for(2)
    many = queries_for(60)
    assert few == many
    # session, user, role grants, the chosen department (form check and its path), its choices, events,
    # the bell's unread count
    with django_assert_max_num_queries(8):
        client.get(LIST, {"department": org["group"].pk})


def test_r20_export_holds_the_filtered_rows_and_is_recorded(client, auditor, trail):
    services.record(actor=None, action="files.file.viewed", target=services.Target("files.file", 1, "=1+2"))
    client.force_login(auditor)
    response = client.post(f"{EXPORT}?action=documents.", HTTP_USER_AGENT="审计浏览器")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "时间", "用户名")
    assert [(r[0], r[5], r[9]) for r in rows[1:]] == [(trail[0].pk, SECRET_ACTION, "绝密会议纪要")]

    exported = Event.objects.order_by("-id").first()
    assert exported is not None
    assert (exported.action, exported.actor_id, exported.user_agent) == (
        "audit.events.exported",
        auditor.pk,
        "审计浏览器",
    )
    assert exported.details["filters"] == {"action": "documents."}
    assert exported.details["rows"] == 1
    assert chain.verify().ok


def test_export_writes_formula_like_text_as_text(client, auditor):
    services.record(actor=None, action="files.file.viewed", target=services.Target("files.file", 1, "=1+2"))
    client.force_login(auditor)
    sheet = load_workbook(io.BytesIO(client.post(EXPORT).content)).active
    cell = sheet.cell(row=2, column=10)
    assert cell.value == "=1+2"
    assert cell.data_type == "s"


def test_export_needs_post(client, auditor):
    client.force_login(auditor)
    assert client.get(EXPORT).status_code == 405
    assert not Event.objects.exists()

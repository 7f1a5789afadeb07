"""Permission change requests (R-14, R-17): asking with a reason, deciding, applying, auditing;
and the 我的权限 page where the requester follows them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import client_for, grant_role, make_user, place
from xietong.audit.models import Event
from xietong.core import access
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org import requests as permission_requests
from xietong.org.models import DataScope, Membership, OrgUnit, PermissionRequest, Role, RoleGrant

pytestmark = pytest.mark.django_db

Status = PermissionRequest.Status


def role(code: str) -> Role:
    return Role.objects.get(code=code)


@pytest.fixture
def reporter() -> Role:
    """A custom business-free role someone might ask for: 报表查看员."""
    return Role.objects.create(
        code="report_viewer",
        name="报表查看员",
        permissions=["org.view_directory"],
        default_scope=DataScope.DEPARTMENT,
    )


@pytest.fixture
def employee(org_tree: dict[str, OrgUnit]) -> User:
    person = make_user("zhangwei", name="张伟", employee_no="1001")
    place(person, org_tree["production"])
    return person


@pytest.fixture
def head(org_tree: dict[str, OrgUnit]) -> User:
    """The head (负责人) of 生产技术部 — which has 检修班 below it."""
    person = make_user("wangjingli", name="王经理")
    Membership.objects.create(user=person, unit=org_tree["production"], is_primary=True, is_head=True)
    return person


@pytest.fixture
def member(org_tree: dict[str, OrgUnit]) -> User:
    """A member of 检修班, inside the head's department."""
    person = make_user("liuban", name="刘班长")
    place(person, org_tree["repair"])
    return person


@pytest.fixture
def outsider(org_tree: dict[str, OrgUnit]) -> User:
    person = make_user("kuaiji", name="会计")
    place(person, org_tree["finance"])
    return person


def file_request(actor: User, subject: User, wanted: Role, **kwargs: Any) -> PermissionRequest:
    kwargs.setdefault("scope", DataScope.DEPARTMENT)
    kwargs.setdefault("reason", "负责本部门月度报表汇总")
    return permission_requests.permission_request_create(actor=actor, subject=subject, role=wanted, **kwargs)


# ---------------------------------------------------------------------------


def test_r14_request_without_reason_refused(employee: User, reporter: Role) -> None:
    """No reason, no request — in the service, on the page and in the API, in Chinese."""
    for blank in ("", "   \n"):
        with pytest.raises(DomainError, match="请填写申请理由"):
            file_request(employee, employee, reporter, reason=blank)

    client = client_for(employee)
    page = client.post(
        reverse("roles:request_new"),
        {"subject": employee.pk, "role": reporter.pk, "scope": DataScope.SELF, "reason": "  "},
    )
    assert page.status_code == 200
    assert "请填写申请理由" in page.content.decode()

    api = client.post(
        "/api/v1/roles/requests",
        {"role_id": reporter.pk, "scope": DataScope.SELF, "reason": ""},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["error"]["message"] == "请填写申请理由。"
    assert not PermissionRequest.objects.exists()
    assert not Event.objects.filter(action=permission_requests.REQUEST_CREATED).exists()


def test_r14_approval_applies_grant_and_is_audited(
    employee: User, secadmin_user: User, reporter: Role, org_tree: dict[str, OrgUnit]
) -> None:
    row = file_request(employee, employee, reporter, scope=DataScope.LISTED, units=[org_tree["office"]])
    created = Event.objects.get(action=permission_requests.REQUEST_CREATED)
    assert (created.actor_id, created.details["reason"]) == (employee.pk, "负责本部门月度报表汇总")
    assert not RoleGrant.objects.filter(user=employee, role=reporter).exists()

    approved = permission_requests.permission_request_approve(
        actor=secadmin_user, permission_request=row, note="同意"
    )

    grant = RoleGrant.objects.get(user=employee, role=reporter)
    assert (grant.scope, list(grant.units.all()), grant.granted_by) == (
        DataScope.LISTED,
        [org_tree["office"]],
        secadmin_user,
    )
    assert f"#{row.pk}" in grant.reason
    assert (approved.status, approved.decided_by, approved.decision_note, approved.grant) == (
        Status.APPROVED,
        secadmin_user,
        "同意",
        grant,
    )
    assert access.can(User.objects.get(pk=employee.pk), "org.view_directory")
    # One record of the grant (as any grant), one of the approval naming it.
    assert Event.objects.filter(action="org.role.granted", actor_id=secadmin_user.pk).count() == 1
    event = Event.objects.get(action=permission_requests.REQUEST_APPROVED)
    assert (event.actor_id, event.details["grant_id"], event.result) == (
        secadmin_user.pk,
        grant.pk,
        "success",
    )


def test_r14_approval_through_the_page_asks_for_the_password_and_grants(
    employee: User, secadmin_user: User, reporter: Role
) -> None:
    row = file_request(employee, employee, reporter)
    client = client_for(secadmin_user)
    detail = client.get(reverse("roles:request_detail", args=[row.pk]))
    assert "批准并授权" in detail.content.decode()
    response = client.post(reverse("roles:request_approve", args=[row.pk]), {"approve-note": "按制度批准"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == Status.APPROVED
    assert RoleGrant.objects.filter(user=employee, role=reporter).exists()


def test_r14_refused_grant_leaves_the_request_pending_with_the_error_shown(
    sysadmin_user: User, secadmin_user: User
) -> None:
    """A 系统管理员 asks to be 部门管理员 too: 三员分立 refuses the grant, so the approval fails,
    the request stays pending, and both the page and the trail say why."""
    row = file_request(sysadmin_user, sysadmin_user, role(builtin.DEPARTMENT_ADMIN), scope=DataScope.GROUP)
    with pytest.raises(DomainError, match="一种管理员"):
        permission_requests.permission_request_approve(actor=secadmin_user, permission_request=row)
    row.refresh_from_db()
    assert (row.status, row.decided_at, row.grant) == (Status.PENDING, None, None)
    assert not RoleGrant.objects.filter(user=sysadmin_user, role__code=builtin.DEPARTMENT_ADMIN).exists()
    failed = Event.objects.get(action=permission_requests.REQUEST_APPROVAL_FAILED)
    assert failed.result == "failure"
    assert "一种管理员" in failed.details["reason"]
    assert not Event.objects.filter(action="org.role.granted", actor_id=secadmin_user.pk).exists()

    client = client_for(secadmin_user)
    response = client.post(reverse("roles:request_approve", args=[row.pk]), follow=True)
    html = response.content.decode()
    assert "未能批准" in html
    assert "一种管理员" in html
    assert "批准并授权" in html  # still pending, still decidable
    row.refresh_from_db()
    assert row.status == Status.PENDING


def test_r14_reject_needs_a_note_and_the_requester_sees_it(
    employee: User, secadmin_user: User, reporter: Role
) -> None:
    row = file_request(employee, employee, reporter)
    with pytest.raises(DomainError, match="驳回理由"):
        permission_requests.permission_request_reject(actor=secadmin_user, permission_request=row, note=" ")
    page = client_for(secadmin_user).post(reverse("roles:request_detail", args=[row.pk]), {"reject-note": ""})
    assert "请填写驳回理由" in page.content.decode()
    row.refresh_from_db()
    assert row.status == Status.PENDING

    permission_requests.permission_request_reject(
        actor=secadmin_user, permission_request=row, note="报表权限由财务部统一开通"
    )
    row.refresh_from_db()
    assert (row.status, row.decided_by) == (Status.REJECTED, secadmin_user)
    assert not RoleGrant.objects.filter(user=employee, role=reporter).exists()
    assert Event.objects.filter(
        action=permission_requests.REQUEST_REJECTED, actor_id=secadmin_user.pk
    ).exists()

    mine = client_for(employee).get(reverse("roles:mine")).content.decode()
    assert "已驳回" in mine
    assert "报表权限由财务部统一开通" in mine


def test_a_decided_request_cannot_be_decided_again(
    employee: User, secadmin_user: User, reporter: Role
) -> None:
    row = file_request(employee, employee, reporter)
    permission_requests.permission_request_approve(actor=secadmin_user, permission_request=row)
    with pytest.raises(DomainError, match="已处理"):
        permission_requests.permission_request_approve(actor=secadmin_user, permission_request=row)
    with pytest.raises(DomainError, match="已处理"):
        permission_requests.permission_request_reject(
            actor=secadmin_user, permission_request=row, note="晚了"
        )
    assert RoleGrant.objects.filter(user=employee, role=reporter).count() == 1


def test_only_role_managers_decide_and_never_their_own(
    employee: User, secadmin_user: User, sysadmin_user: User, auditadmin_user: User, reporter: Role
) -> None:
    row = file_request(employee, employee, reporter)
    for actor in (employee, sysadmin_user, auditadmin_user):
        with pytest.raises(PermissionDeniedError):
            permission_requests.permission_request_approve(actor=actor, permission_request=row)
    own = file_request(secadmin_user, secadmin_user, reporter)
    with pytest.raises(PermissionDeniedError, match="不能审批自己"):
        permission_requests.permission_request_approve(actor=secadmin_user, permission_request=own)
    assert PermissionRequest.objects.filter(status=Status.PENDING).count() == 2
    assert Event.objects.filter(action=permission_requests.REQUEST_APPROVED, result="denied").count() == 4


def test_requests_are_for_requestable_roles_only_and_not_twice(employee: User, reporter: Role) -> None:
    with pytest.raises(DomainError, match="三员角色"):
        file_request(employee, employee, role(builtin.SECURITY_ADMIN))
    with pytest.raises(DomainError, match="无需申请"):
        file_request(employee, employee, role(builtin.EMPLOYEE))
    file_request(employee, employee, reporter)
    with pytest.raises(DomainError, match="等待审批"):
        file_request(employee, employee, reporter)
    with pytest.raises(DomainError, match="请至少选择一个部门"):
        file_request(employee, employee, role(builtin.DEPARTMENT_ADMIN), scope=DataScope.LISTED)


def test_the_requester_cancels_a_pending_request(
    employee: User, head: User, member: User, secadmin_user: User, reporter: Role
) -> None:
    row = file_request(head, member, reporter)
    with pytest.raises(PermissionDeniedError, match="只能撤回自己提交"):
        permission_requests.permission_request_cancel(actor=member, permission_request=row)
    client = client_for(head)
    response = client.post(reverse("roles:request_cancel", args=[row.pk]))
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.decided_by) == (Status.CANCELLED, head)
    assert Event.objects.filter(action=permission_requests.REQUEST_CANCELLED, actor_id=head.pk).exists()
    with pytest.raises(DomainError, match="已处理"):
        permission_requests.permission_request_approve(actor=secadmin_user, permission_request=row)
    # Someone else's request is not even found.
    other = file_request(employee, employee, reporter)
    assert client.post(reverse("roles:request_cancel", args=[other.pk])).status_code == 404


# ---------------------------------------------------------------------------


def test_r17_head_cannot_request_beyond_own_department(
    head: User,
    member: User,
    employee: User,
    outsider: User,
    reporter: Role,
    org_tree: dict[str, OrgUnit],
) -> None:
    # Inside: members of 生产技术部 and of 检修班 below it, in scopes that stay inside.
    file_request(head, member, reporter, scope=DataScope.DEPARTMENT_TREE)
    file_request(head, employee, reporter, scope=DataScope.LISTED, units=[org_tree["repair"]])

    # Someone of another department.
    with pytest.raises(PermissionDeniedError, match="本部门的人员"):
        file_request(head, outsider, reporter)
    # A scope wider than the department, or units outside it.
    other = role(builtin.DEPARTMENT_ADMIN)
    for scope in (DataScope.COMPANY, DataScope.GROUP):
        with pytest.raises(PermissionDeniedError, match="不能超出本部门"):
            file_request(head, member, other, scope=scope)
    with pytest.raises(PermissionDeniedError, match="不能超出本部门"):
        file_request(head, member, other, scope=DataScope.LISTED, units=[org_tree["finance"]])
    # A concurrent post elsewhere would carry a relative scope out of the department.
    place(member, org_tree["finance"], primary=False)
    with pytest.raises(PermissionDeniedError, match="不能超出本部门"):
        file_request(head, member, other, scope=DataScope.DEPARTMENT)

    assert PermissionRequest.objects.count() == 2
    assert Event.objects.filter(action=permission_requests.REQUEST_CREATED, result="denied").count() == 5

    # An ordinary employee asks for nobody but themself; the page offers nobody else.
    with pytest.raises(PermissionDeniedError):
        file_request(employee, member, reporter)
    form = client_for(employee).get(reverse("roles:request_new")).context["form"]
    assert list(form.fields["subject"].queryset) == [employee]
    head_form = client_for(head).get(reverse("roles:request_new")).context["form"]
    assert set(head_form.fields["subject"].queryset) == {head, member, employee}


def test_r17_a_head_does_not_answer_for_a_sub_company(org_tree: dict[str, OrgUnit], reporter: Role) -> None:
    """The head of 华东分公司 answers for its departments, not for 苏州公司 (a subsidiary)."""
    boss = make_user("huadong", name="华东总经理")
    Membership.objects.create(user=boss, unit=org_tree["east"], is_primary=True, is_head=True)
    engineer = make_user("suzhou", name="苏州工程师")
    place(engineer, org_tree["suzhou_works"])
    with pytest.raises(PermissionDeniedError, match="本部门的人员"):
        file_request(boss, engineer, reporter)
    technician = make_user("jishu", name="技术员")
    place(technician, org_tree["repair"])
    assert file_request(boss, technician, reporter).status == Status.PENDING


def test_r17_head_files_through_the_page_and_the_member_sees_it(
    head: User, member: User, reporter: Role
) -> None:
    client = client_for(head)
    response = client.post(
        reverse("roles:request_new"),
        {"subject": member.pk, "role": reporter.pk, "scope": DataScope.SELF, "reason": "接替报表工作"},
    )
    assert response.status_code == 302
    row = PermissionRequest.objects.get()
    assert (row.requester, row.subject, row.status) == (head, member, Status.PENDING)
    mine = client_for(member).get(reverse("roles:mine")).content.decode()
    assert "报表查看员" in mine
    assert "代为申请" in mine
    assert "待审批" in mine


# --------------------------------------------------------------------------- lists


def test_the_review_list_shows_pending_requests_in_constant_queries(
    secadmin_user: User, org_tree: dict[str, OrgUnit], reporter: Role
) -> None:
    client = client_for(secadmin_user)
    url = reverse("roles:requests")

    def add(count: int) -> None:
        start = User.objects.count()
        for index in range(start, start + count):
            person = make_user(f"user{index}", name=f"员工{index}")
            place(person, org_tree["production"])
            file_request(
                person,
                person,
                reporter,
                scope=DataScope.LISTED,
                units=[org_tree["office"], org_tree["finance"]],
            )

    add(2)
    client.get(url)  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(8)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["page"].object_list) == 10
    assert len(many) == len(few)
    assert "财务部" in response.content.decode()


def test_my_permissions_page_is_for_every_signed_in_user(employee: User, reporter: Role) -> None:
    assert client_for(employee).get("/").content.decode().count(reverse("roles:mine")) == 1  # user menu
    file_request(employee, employee, reporter)
    html = client_for(employee).get(reverse("roles:mine")).content.decode()
    assert "普通用户" in html
    assert "内部" in html
    assert "报表查看员" in html
    anonymous = client_for(employee)
    anonymous.logout()
    assert anonymous.get(reverse("roles:mine")).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_two_managers_approving_at_once_grant_once(org_tree: dict[str, OrgUnit]) -> None:
    """AC-09: the request row is locked while it is decided, so a double approval applies the
    grant once and the second approver is told the request was already handled."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by itself; the row lock under test is PostgreSQL's")
    builtin.ensure_builtin_roles()  # the flush of a transactional test removed the migrated roles
    managers = []
    for name in ("sec1", "sec2"):
        manager = make_user(name, name=name)
        grant_role(manager, builtin.SECURITY_ADMIN)
        managers.append(manager)
    person = make_user("zhangwei", name="张伟")
    place(person, org_tree["production"])
    wanted = Role.objects.create(code="reporter", name="报表查看员", permissions=["org.view_directory"])
    row = file_request(person, person, wanted)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def approve(manager: User) -> None:
        try:
            start.wait()
            permission_requests.permission_request_approve(actor=manager, permission_request=row)
            outcomes.append("approved")
        except DomainError as exc:
            outcomes.append(exc.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(manager,)) for manager in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "approved"
    assert "已处理" in sorted(outcomes)[1]
    assert RoleGrant.objects.filter(user=person, role=wanted).count() == 1
    assert Event.objects.filter(action=permission_requests.REQUEST_APPROVED, result="success").count() == 1

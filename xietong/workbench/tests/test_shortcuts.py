"""Shortcuts to business systems (R-88): the system administrator configures name, icon,
address and audience; each employee sees only those meant for them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from tests.fixtures import client_for, grant_role
from xietong.audit.models import Event
from xietong.core import navigation
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit, Role
from xietong.org.services import role_grant_by_system
from xietong.workbench import audit_actions, selectors, services
from xietong.workbench.models import Shortcut
from xietong.workbench.tests.conftest import People

pytestmark = pytest.mark.django_db

LIST = "/workbench/shortcuts/"
NEW = "/workbench/shortcuts/new/"


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "ERP 系统",
        "description": "采购、库存与销售",
        "url": "https://erp.example.com/",
        "icon": "boxes",
        "audience": "everyone",
        "open_in_new_tab": "on",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def make(
    admin: User, name: str, *, units: Sequence[OrgUnit] = (), roles: Sequence[Role] = (), **fields: Any
) -> Shortcut:
    audience = Shortcut.Audience.CHOSEN if units or roles else Shortcut.Audience.EVERYONE
    shortcut = Shortcut(
        name=name, url=f"https://{name.lower()}.example.com/", icon="link-45deg", audience=audience
    )
    for field, value in fields.items():
        setattr(shortcut, field, value)
    return services.shortcut_save(actor=admin, shortcut=shortcut, units=list(units), roles=list(roles))


def names(user: User) -> list[str]:
    return [shortcut.name for shortcut in selectors.shortcuts_for(user)]


def test_each_user_sees_only_the_shortcuts_of_their_audience(
    people: People, sysadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    finance_role = Role.objects.create(code="finance_staff", name="财务人员")
    integration = Role.objects.get(code=builtin.INTEGRATION)
    make(sysadmin_user, "Everyone")
    make(sysadmin_user, "East", units=[org_tree["east"]])  # 华东分公司 and everything below it
    make(sysadmin_user, "Finance", units=[org_tree["finance"]])
    make(sysadmin_user, "ByRole", roles=[finance_role])
    make(sysadmin_user, "Hidden", is_active=False)
    make(sysadmin_user, "Integration", roles=[integration])  # nobody here holds that role
    role_grant_by_system(role=finance_role, user=people.zhangwei, scope=DataScope.SELF, reason="测试")

    assert names(people.zhaolei) == ["Everyone", "East"]  # 检修班 is below 华东分公司
    assert names(people.wangfang) == ["Everyone", "Finance"]
    assert names(people.zhangwei) == ["Everyone", "ByRole"]
    html = client_for(people.zhaolei).get("/").content.decode()
    systems = html[html.index('id="wb-systems"') : html.index('id="xt-shortcuts"')]
    assert "East" in systems
    assert "Finance" not in systems
    assert "Hidden" not in systems
    assert 'href="https://east.example.com/"' in systems
    assert 'target="_blank" rel="noopener noreferrer"' in systems
    assert selectors.shortcuts_for(AnonymousUser()) == []


def test_the_administrators_order_is_kept_and_moves_swap_neighbours(
    people: People, sysadmin_user: User
) -> None:
    for name in ("A", "B", "C"):
        make(sysadmin_user, name)
    assert names(people.zhangwei) == ["A", "B", "C"]
    client = client_for(sysadmin_user)
    c = Shortcut.objects.get(name="C")
    assert client.post(f"/workbench/shortcuts/{c.pk}/move/", {"direction": "up"}).status_code == 302
    assert names(people.zhangwei) == ["A", "C", "B"]
    a = Shortcut.objects.get(name="A")
    client.post(f"/workbench/shortcuts/{a.pk}/move/", {"direction": "up"})  # already first: nothing
    client.post(f"/workbench/shortcuts/{a.pk}/move/", {"direction": "down"})
    assert names(people.zhangwei) == ["C", "A", "B"]
    assert list(Shortcut.objects.order_by("order").values_list("order", flat=True)) == [10, 20, 30]
    assert Event.objects.filter(action=audit_actions.SHORTCUT_MOVED).count() == 2


def test_the_system_administrator_creates_edits_and_deletes_audited(
    people: People, sysadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(sysadmin_user)
    assert client.get(LIST).status_code == 200
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, form_data())
    assert response.status_code == 302
    assert response["Location"] == LIST
    shortcut = Shortcut.objects.get()
    assert (shortcut.name, shortcut.icon, shortcut.created_by) == ("ERP 系统", "boxes", sysadmin_user)
    created = Event.objects.get(action=audit_actions.SHORTCUT_CREATED)
    assert created.details["host"] == "erp.example.com"
    assert created.details["audience"] == "everyone"

    edit = f"/workbench/shortcuts/{shortcut.pk}/"
    page = client.get(edit).content.decode()
    assert re.search(r'value="boxes"[^>]*checked', page)  # the picker shows the chosen icon
    response = client.post(
        edit, form_data(name="财务共享", url="/portal/", audience="chosen", units=[org_tree["finance"].pk])
    )
    assert response.status_code == 302
    shortcut.refresh_from_db()
    assert (shortcut.name, shortcut.url, shortcut.audience) == ("财务共享", "/portal/", "chosen")
    assert list(shortcut.units.all()) == [org_tree["finance"]]
    assert Event.objects.get(action=audit_actions.SHORTCUT_UPDATED).details["units"] == [
        org_tree["finance"].pk
    ]
    listing = client.get(LIST).content.decode()
    assert "财务共享" in listing
    assert "部门：财务部" in listing

    assert client.post(f"/workbench/shortcuts/{shortcut.pk}/delete/").status_code == 302
    assert not Shortcut.objects.exists()
    deleted = Event.objects.get(action=audit_actions.SHORTCUT_DELETED)
    assert deleted.details["name"] == "财务共享"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "访问地址须以 http:// 或 https:// 开头"),
        ("//evil.example.com/", "访问地址须以 http:// 或 https:// 开头"),
        ("/\\evil.example.com/", "访问地址须以 http:// 或 https:// 开头"),
        ("erp.example.com", "访问地址须以 http:// 或 https:// 开头"),
        ("ftp://files.example.com/", "访问地址须以 http:// 或 https:// 开头"),
        ("https://erp.example.com/a b", "访问地址须以 http:// 或 https:// 开头"),
        ("", "这个字段是必填项"),
    ],
)
def test_bad_addresses_are_refused_in_chinese(sysadmin_user: User, url: str, message: str) -> None:
    response = client_for(sysadmin_user).post(NEW, form_data(url=url))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Shortcut.objects.exists()
    with pytest.raises(DomainError):
        services.shortcut_save(actor=sysadmin_user, shortcut=Shortcut(name="x", url=url or " ", icon="boxes"))


def test_icon_from_the_list_and_an_audience_when_chosen(sysadmin_user: User) -> None:
    client = client_for(sysadmin_user)
    page = client.post(NEW, form_data(icon="not-an-icon")).content.decode()
    assert "选择一个有效的选项" in page
    page = client.post(NEW, form_data(audience="chosen")).content.decode()
    assert "请至少选择一个可见部门或角色，或将可见范围设为全员。" in page
    with pytest.raises(DomainError) as refused:
        services.shortcut_save(
            actor=sysadmin_user, shortcut=Shortcut(name="x", url="/x/", icon="no-such", audience="chosen")
        )
    fields = {detail["field"] for detail in refused.value.details}
    assert fields == {"icon", "units"}
    assert not Shortcut.objects.exists()


@pytest.mark.parametrize("who", ["user", "secadmin_user", "auditadmin_user", "deptadmin_user"])
def test_nobody_else_manages_shortcuts(who: str, request: pytest.FixtureRequest, sysadmin_user: User) -> None:
    actor: User = request.getfixturevalue(who)
    shortcut = make(sysadmin_user, "ERP")
    client = client_for(actor)
    for url in (LIST, NEW, f"/workbench/shortcuts/{shortcut.pk}/"):
        assert client.get(url).status_code == 403, url
    for url, data in (
        (NEW, form_data(name="新入口")),
        (f"/workbench/shortcuts/{shortcut.pk}/", form_data(name="改名")),
        (f"/workbench/shortcuts/{shortcut.pk}/delete/", {}),
        (f"/workbench/shortcuts/{shortcut.pk}/move/", {"direction": "down"}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert list(Shortcut.objects.values_list("name", flat=True)) == ["ERP"]
    with pytest.raises(PermissionDeniedError):
        services.shortcut_delete(actor=actor, shortcut=shortcut)
    assert Event.objects.filter(action=audit_actions.SHORTCUT_DELETED, result="denied").count() == 1
    slugs = {m.slug for _title, modules in navigation.modules_for(actor) for m in modules}
    assert "workbench_shortcuts" not in slugs
    assert 'id="wb-manage-shortcuts"' not in client.get("/").content.decode()
    assert Client().get(LIST).status_code == 302  # anonymous: to sign in


def test_the_administrator_reaches_the_page_from_the_navigation_and_the_workbench(
    sysadmin_user: User,
) -> None:
    slugs = {m.slug for _title, modules in navigation.modules_for(sysadmin_user) for m in modules}
    assert "workbench_shortcuts" in slugs
    home = client_for(sysadmin_user).get("/").content.decode()
    assert 'id="wb-manage-shortcuts"' in home
    assert f'href="{reverse("workbench:shortcuts")}"' in home
    assert client_for(sysadmin_user).get(LIST).context["nav_active"] == "workbench_shortcuts"


def test_the_permission_belongs_to_the_system_administrator(people: People) -> None:
    # 管理工作台快捷入口 is reserved for the system tier; an integration account does not hold it.
    role = Role.objects.get(code=builtin.SYSTEM_ADMIN)
    assert "workbench.manage_shortcuts" in role.permissions
    grant_role(people.wangfang, builtin.INTEGRATION)
    assert not selectors.can_manage_shortcuts(people.wangfang)

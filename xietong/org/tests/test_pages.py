"""The organisation and people pages: tree, unit, chart, 通讯录, profile card for everyone;
account, unit and position administration for administrators, inside their scope."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import client_for, grant_role, make_user, place
from xietong.audit.models import Event
from xietong.core import navigation
from xietong.identity.models import User
from xietong.org import builtin, guards, selectors
from xietong.org.models import DataScope, Membership, OrgUnit, PersonnelChange, Position
from xietong.org.tests.org_fixtures import bulk_members, bulk_units

pytestmark = pytest.mark.django_db

TREE = reverse("org:tree")
DIRECTORY = reverse("org:directory")


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    text: str = response.content.decode()
    return text


def names_in_results(page: str) -> list[str]:
    body = page.split('id="directory-results"', 1)[1] if 'id="directory-results"' in page else ""
    return re.findall(r'<span class="text-body fw-medium">([^<]+)</span>', body)


def tree_nodes(page: str) -> list[tuple[int, str]]:
    """(nesting level, name) of each unit in the tree, read from the markup."""
    body = page.split('id="org-tree"', 1)[1]
    level, found = 0, []
    for token in re.finditer(r'<ul>|</ul>|<a class="xt-name" href="[^"]+">([^<]+)</a>', body):
        if token.group(0) == "<ul>":
            level += 1
        elif token.group(0) == "</ul>":
            level -= 1
        else:
            found.append((level, token.group(1)))
    return found


# --------------------------------------------------------------------------- the tree


def test_r122_the_tree_holds_subsidiaries_and_their_departments(people: dict[str, User]) -> None:
    page = html(client_for(people["zhangwei"]).get(TREE))
    nodes = tree_nodes(page)
    assert nodes[0] == (0, "集团")
    levels = {name: level for level, name in nodes}
    assert (levels["华东分公司"], levels["苏州公司"], levels["苏州工程部"]) == (1, 2, 3)
    order = [name for _level, name in nodes]
    assert order.index("华东分公司") < order.index("苏州公司") < order.index("苏州工程部")
    assert "<details open>" in page  # the top levels start expanded


def test_r122_an_employee_of_a_subsidiary_department_is_resolved_in_the_tree(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    viewer = client_for(people["zhangwei"])
    card = html(viewer.get(reverse("org:person", args=[people["sunlei"].pk])))
    trail = re.findall(r'<a href="/org/units/\d+/">([^<]+)</a>', card.split('class="xt-facts"')[1])
    assert trail[:4] == ["集团", "华东分公司", "苏州公司", "苏州工程部"]
    in_company = html(viewer.get(DIRECTORY, {"unit": org_tree["east"].pk}))
    assert "孙磊" in names_in_results(in_company)
    assert "赵敏" not in names_in_results(in_company)
    subtree = html(viewer.get(reverse("org:unit", args=[org_tree["east"].pk]), {"subtree": "1"}))
    assert "孙磊" in subtree


@pytest.mark.parametrize("query", ["华东", "hdfgs", "hd", "huadong", "HuaDong", "EC"])
def test_the_tree_finds_units_by_name_code_and_pinyin(people: dict[str, User], query: str) -> None:
    page = html(client_for(people["zhangwei"]).get(TREE, {"q": query}))
    hits = re.findall(r'xt-node is-hit"[^>]*>.*?<a class="xt-name" href="[^"]+">([^<]+)</a>', page)
    assert "华东分公司" in hits
    assert "财务部" not in hits


def test_the_tree_opens_the_units_above_a_match(people: dict[str, User]) -> None:
    page = html(client_for(people["zhangwei"]).get(TREE, {"q": "jxb"}))  # 检修班
    tree = selectors.unit_tree(viewer=people["zhangwei"], query="jxb")
    opened = {node.name for node in tree.nodes if node.open}
    assert opened == {"集团", "华东分公司", "生产技术部"}
    assert tree.hits == 1
    assert "找到 1 个" in page


def test_deactivated_units_are_hidden_from_employees(
    people: dict[str, User], org_tree: dict[str, OrgUnit], sysadmin_user: User
) -> None:
    OrgUnit.objects.filter(pk=org_tree["suzhou_works"].pk).update(is_active=False)
    assert "苏州工程部" not in html(client_for(people["zhangwei"]).get(TREE))
    assert (
        client_for(people["zhangwei"])
        .get(reverse("org:unit", args=[org_tree["suzhou_works"].pk]))
        .status_code
        == 404
    )
    assert "苏州工程部" not in html(client_for(sysadmin_user).get(TREE))
    assert "苏州工程部" in html(client_for(sysadmin_user).get(TREE, {"inactive": "1"}))


def _queries(client: Client, url: str, params: dict[str, Any] | None = None) -> int:
    client.get(url, params or {})  # warm: session, grants, translations
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


def test_tree_page_queries_do_not_grow_with_the_units(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(people["zhangwei"])
    bulk_units(org_tree["finance"], 10, prefix="S")
    small = _queries(client, TREE)
    bulk_units(org_tree["office"], 190, prefix="L")
    assert OrgUnit.objects.count() >= 208
    large = _queries(client, TREE)
    assert large == small
    assert "L部门0189" in html(client.get(TREE))


def test_member_list_queries_do_not_grow_with_the_members(org_tree: dict[str, OrgUnit], user: User) -> None:
    place(user, org_tree["office"])
    client = client_for(user)
    bulk_units(org_tree["finance"], 10, prefix="S")
    url = reverse("org:unit", args=[org_tree["finance"].pk])
    bulk_members(org_tree["finance"], 10, prefix="a")
    small = _queries(client, url)
    bulk_units(org_tree["finance"], 190, prefix="L")
    bulk_members(org_tree["finance"], 190, prefix="b")
    large = _queries(client, url)
    assert large == small
    assert _queries(client, url, {"subtree": "1"}) == small


def test_members_are_paginated_with_heads_first(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    bulk_members(org_tree["production"], 40)
    page = html(client_for(people["zhangwei"]).get(reverse("org:unit", args=[org_tree["production"].pk])))
    rows = re.findall(r'<tr data-user-id="(\d+)">', page)
    assert len(rows) == 30
    assert rows[0] == str(people["wangqiang"].pk)  # the head leads
    assert "负责人" in page.split('id="members"')[1].split("</tr>", 2)[1]
    assert "第 1 / 2 页，共 42 条" in page


def test_the_profile_card_shows_who_someone_is(people: dict[str, User]) -> None:
    page = html(client_for(people["lina"]).get(reverse("org:person", args=[people["zhangwei"].pk])))
    for expected in ("张伟", "1001", "生产技术部", "专员", "zhangwei@example.com", "13800000001"):
        assert expected in page
    heads = page.split('id="person-heads"')[1].split("</ul>")[0]
    assert "王强" in heads


def test_departed_people_have_no_card(people: dict[str, User]) -> None:
    User.objects.filter(pk=people["zhaomin"].pk).update(is_active=False)
    response = client_for(people["zhangwei"]).get(reverse("org:person", args=[people["zhaomin"].pk]))
    assert response.status_code == 404
    assert "赵敏" not in names_in_results(html(client_for(people["zhangwei"]).get(DIRECTORY)))


def test_the_org_chart_names_the_heads(people: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    page = html(
        client_for(people["lina"]).get(reverse("org:chart"), {"root": org_tree["east"].pk, "levels": 2})
    )
    chart = page.split('id="org-chart"')[1]
    assert "华东分公司" in chart
    assert "生产技术部" in chart
    assert "王强" in chart
    assert "苏州工程部" in chart  # two levels below 华东分公司
    assert "集团" not in chart.split("</ul>\n    </div>")[0].split("华东分公司")[0]
    shallow = html(
        client_for(people["lina"]).get(reverse("org:chart"), {"root": org_tree["east"].pk, "levels": 1})
    )
    assert "生产技术部" in shallow.split('id="org-chart"')[1]
    assert "苏州工程部" not in shallow.split('id="org-chart"')[1]


# --------------------------------------------------------------------------- the 通讯录


@pytest.mark.parametrize("query", ["zw", "ZW", "zhangwei", "zhang wei", "张伟", "张", "1001", "zhangw"])
def test_the_directory_finds_zhang_wei(people: dict[str, User], query: str) -> None:
    found = names_in_results(html(client_for(people["lina"]).get(DIRECTORY, {"q": query})))
    assert "张伟" in found
    assert "赵敏" not in found


def test_the_directory_knows_other_readings_of_a_surname(people: dict[str, User]) -> None:
    client = client_for(people["lina"])
    for query in ("zgq", "zengguoqing", "cgq"):
        assert "曾国庆" in names_in_results(html(client.get(DIRECTORY, {"q": query}))), query


def test_pinyin_keys_follow_a_rename(people: dict[str, User]) -> None:
    user = people["zhaomin"]
    user.name = "钱多多"
    user.save(update_fields=["name"])
    found = names_in_results(html(client_for(people["lina"]).get(DIRECTORY, {"q": "qdd"})))
    assert found == ["钱多多"]
    assert names_in_results(html(client_for(people["lina"]).get(DIRECTORY, {"q": "zm"}))) == []


def test_the_directory_filters_by_unit_subtree(people: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    found = names_in_results(
        html(client_for(people["lina"]).get(DIRECTORY, {"unit": org_tree["production"].pk}))
    )
    assert sorted(found) == sorted(["张伟", "王强", "李娜"])


def test_r123_members_see_their_platform_contact(
    people: dict[str, User], org_tree: dict[str, OrgUnit], sysadmin_user: User
) -> None:
    client_for(sysadmin_user).post(
        reverse("org:unit_contact", args=[org_tree["group"].pk]), {"contact": "liuyang"}
    )
    assert OrgUnit.objects.get(pk=org_tree["group"].pk).contact == people["liuyang"]
    page = html(client_for(people["lina"]).get(DIRECTORY))
    assert "刘洋" in page.split('id="platform-contact"')[1].split("</div>")[0]
    unit_page = html(client_for(people["lina"]).get(reverse("org:unit", args=[org_tree["repair"].pk])))
    assert "刘洋" in unit_page.split('id="unit-contact"')[1].split("</div>\n    </div>")[0]


def test_r126_a_department_head_designates_the_contact_and_nobody_else_can(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    url = reverse("org:unit_contact", args=[org_tree["production"].pk])
    denied = client_for(people["zhangwei"]).post(url, {"contact": "zhangwei"})
    assert denied.status_code == 403
    assert OrgUnit.objects.get(pk=org_tree["production"].pk).contact is None
    response = client_for(people["wangqiang"]).post(url, {"contact": "lina"})  # 检修班 is below
    assert response.status_code == 302
    assert OrgUnit.objects.get(pk=org_tree["production"].pk).contact == people["lina"]
    outside = client_for(people["wangqiang"]).post(url, {"contact": "zhaomin"})
    assert "找不到" in html(outside)
    assert OrgUnit.objects.get(pk=org_tree["production"].pk).contact == people["lina"]
    assert (
        Event.objects.filter(action=guards.UNIT_CONTACT_CHANGED, actor_id=people["wangqiang"].pk).count() == 1
    )


def test_everyone_has_the_directory_only_administrators_the_org_module(
    people: dict[str, User], sysadmin_user: User, deptadmin_user: User
) -> None:
    def slugs(user: User) -> set[str]:
        return {module.slug for _title, modules in navigation.modules_for(user) for module in modules}

    assert "directory" in slugs(people["zhangwei"])
    assert "org" not in slugs(people["zhangwei"])
    assert {"directory", "org"} <= slugs(sysadmin_user)
    assert {"directory", "org"} <= slugs(deptadmin_user)
    home = html(client_for(people["zhangwei"]).get(reverse("workbench:home")))
    assert DIRECTORY in home


def test_anonymous_visitors_go_to_the_login_page(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    for url in (TREE, DIRECTORY, reverse("org:unit", args=[org_tree["group"].pk]), reverse("org:user_list")):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:login"))


# --------------------------------------------------------------------------- account administration


def test_the_system_administrator_creates_an_account_and_sees_its_password_once(
    sysadmin_user: User, org_tree: dict[str, OrgUnit], positions: dict[str, Position]
) -> None:
    client = client_for(sysadmin_user)
    response = client.post(
        reverse("org:user_create"),
        {
            "username": "ChenJing",
            "name": "陈静",
            "employee_no": "2001",
            "unit": org_tree["finance"].pk,
            "position": positions["clerk"].pk,
            "email": "chenjing@example.com",
            "mobile": "13900000000",
        },
    )
    page = html(response)
    assert "no-store" in response["Cache-Control"]
    found = re.search(r'<span class="xt-secret">([^<]+)</span>', page)
    assert found is not None
    password = unescape(found.group(1))
    user = User.objects.get(username="chenjing")  # folded
    assert user.check_password(password)
    assert user.must_change_password
    assert 'href="data:application/vnd.openxmlformats' in page
    post = Membership.objects.get(user=user)
    assert (post.unit, post.position, post.is_primary) == (org_tree["finance"], positions["clerk"], True)
    assert PersonnelChange.objects.get(user=user).review_status == PersonnelChange.Review.PENDING
    event = Event.objects.get(action=guards.USER_CREATED)
    assert password not in str(event.details)
    # Shown once: the account page never shows it again.
    assert found.group(1) not in html(client.get(reverse("org:user_detail", args=[user.pk])))


def test_account_form_errors_are_shown_on_their_fields(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    response = client_for(sysadmin_user).post(
        reverse("org:user_create"),
        {
            "username": "ZhangWei",
            "name": "另一个张伟",
            "employee_no": "1001",
            "unit": org_tree["finance"].pk,
            "email": "bad",
        },
    )
    page = html(response)
    assert "电子邮箱格式不正确" in page
    assert User.objects.filter(name="另一个张伟").count() == 0
    response = client_for(sysadmin_user).post(
        reverse("org:user_create"),
        {"username": "ZhangWei", "name": "另一个张伟", "employee_no": "1001", "unit": org_tree["finance"].pk},
    )
    assert "用户名“zhangwei”已被使用" in html(response)


def test_r16_dept_admin_cannot_edit_other_department_user(
    deptadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    outsider = people["zhaomin"]  # 财务部: outside 生产技术部
    client = client_for(deptadmin_user)
    before = User.objects.filter(pk=outsider.pk).values().get()
    posts_before = list(Membership.objects.filter(user=outsider).values())
    # Pages: every form and action answers 404, as for an account that does not exist.
    for name in ("user_detail", "user_transfer", "user_suspend", "user_resume", "user_depart"):
        url = reverse(f"org:{name}", args=[outsider.pk])
        assert client.get(url).status_code == 404, name
        assert (
            client.post(url, {"name": "改名", "reason": "x", "unit": org_tree["production"].pk}).status_code
            == 404
        )
    assert client.post(reverse("org:user_reset_password", args=[outsider.pk])).status_code == 404
    assert "赵敏" not in html(client.get(reverse("org:user_list")))
    # API: the same.
    api = f"/api/v1/org/admin/users/{outsider.pk}"
    assert client.get(api).status_code == 404
    response = client.patch(api, {"name": "改名"}, content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    for action in ("suspend", "resume", "transfer", "depart"):
        body = {"reason": "x", "unit_id": org_tree["production"].pk, "successor_id": people["zhangwei"].pk}
        assert client.post(f"{api}/{action}", body, content_type="application/json").status_code == 404
    # Nothing changed.
    assert User.objects.filter(pk=outsider.pk).values().get() == before
    assert list(Membership.objects.filter(user=outsider).values()) == posts_before
    assert not PersonnelChange.objects.filter(user=outsider).exists()
    # …and inside the subtree the same administrator may.
    inside = client.post(
        reverse("org:user_detail", args=[people["lina"].pk]),
        {"name": "李娜娜", "employee_no": "1003", "email": "", "mobile": ""},
    )
    assert inside.status_code == 302
    assert User.objects.get(pk=people["lina"].pk).name == "李娜娜"


def test_r16_dept_admin_creates_accounts_only_inside_the_subtree(
    deptadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(deptadmin_user)
    form = html(client.get(reverse("org:user_create")))
    options = re.findall(r'<option value="(\d+)"', form.split('name="unit"')[1].split("</select>")[0])
    assert {int(pk) for pk in options} == {org_tree["production"].pk, org_tree["repair"].pk}
    outside = client.post(
        reverse("org:user_create"), {"username": "x1", "name": "外人", "unit": org_tree["finance"].pk}
    )
    assert "选择一个有效的选项" in html(outside) or "不在您的管理范围内" in html(outside)
    assert not User.objects.filter(username="x1").exists()
    inside = client.post(
        reverse("org:user_create"), {"username": "x2", "name": "内人", "unit": org_tree["repair"].pk}
    )
    assert 'class="xt-secret"' in html(inside)


def test_r125_subsidiary_admin_cannot_touch_parent_users(
    company_admin: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(company_admin)
    assert client.get(reverse("org:user_detail", args=[people["sunlei"].pk])).status_code == 200
    for parent_user in (people["liuyang"], people["zhaomin"]):  # 集团 departments
        response = client.post(reverse("org:user_suspend", args=[parent_user.pk]), {"reason": "越权尝试"})
        assert response.status_code == 404
        assert User.objects.get(pk=parent_user.pk).is_active
    assert (
        Event.objects.filter(action=guards.USER_SUSPENDED, result="denied", actor_id=company_admin.pk).count()
        == 2
    )


def test_a_dept_admin_cannot_manage_an_administrator_in_the_subtree(
    deptadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    other = make_user("otheradmin", name="另一位管理员")
    place(other, org_tree["repair"])
    grant_role(other, builtin.DEPARTMENT_ADMIN, scope=DataScope.DEPARTMENT)
    response = client_for(deptadmin_user).post(reverse("org:user_suspend", args=[other.pk]), {"reason": "x"})
    assert response.status_code == 403
    assert User.objects.get(pk=other.pk).is_active


def test_nobody_administers_their_own_account_here(sysadmin_user: User, org_tree: dict[str, OrgUnit]) -> None:
    place(sysadmin_user, org_tree["office"])
    client = client_for(sysadmin_user)
    page = html(client.get(reverse("org:user_detail", args=[sysadmin_user.pk])))
    assert 'id="account-actions"' not in page
    response = client.post(reverse("org:user_suspend", args=[sysadmin_user.pk]), {"reason": "自己"})
    assert response.status_code == 403
    assert User.objects.get(pk=sysadmin_user.pk).is_active


# The action × built-in role matrix (三员分立: only the 系统管理员 administers accounts and units;
# the 部门管理员 accounts inside their subtree; the others nothing).
ACCOUNT_ACTIONS = ["detail", "edit", "transfer", "suspend", "depart", "create"]
UNIT_ACTIONS = ["unit_create", "unit_edit", "unit_move", "unit_heads", "positions"]


def _do_account_action(
    client: Client, action: str, target: User, units: dict[str, OrgUnit], successor: User
) -> int:
    if action == "detail":
        return client.get(reverse("org:user_detail", args=[target.pk])).status_code
    if action == "edit":
        data = {"name": "新名字", "employee_no": target.employee_no or "", "email": "", "mobile": ""}
        return client.post(reverse("org:user_detail", args=[target.pk]), data).status_code
    if action == "transfer":
        return client.post(
            reverse("org:user_transfer", args=[target.pk]), {"unit": units["repair"].pk}
        ).status_code
    if action == "suspend":
        return client.post(reverse("org:user_suspend", args=[target.pk]), {"reason": "违纪"}).status_code
    if action == "depart":
        return client.post(
            reverse("org:user_depart", args=[target.pk]), {"successor": successor.username}
        ).status_code
    data = {"username": "newbie", "name": "新人", "unit": units["production"].pk}
    response = client.post(reverse("org:user_create"), data)
    return 201 if User.objects.filter(username="newbie").exists() else response.status_code


@pytest.mark.parametrize("action", ACCOUNT_ACTIONS)
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("sysadmin", True),
        ("secadmin", False),
        ("auditadmin", False),
        ("deptadmin", True),
        ("employee", False),
    ],
)
def test_account_actions_by_builtin_role(
    request: pytest.FixtureRequest,
    action: str,
    role: str,
    allowed: bool,
    people: dict[str, User],
    org_tree: dict[str, OrgUnit],
) -> None:
    actor = people["zhangwei"] if role == "employee" else request.getfixturevalue(f"{role}_user")
    target = people["lina"]  # 检修班: inside the 部门管理员's subtree
    before = User.objects.filter(pk=target.pk).values().get()
    status = _do_account_action(client_for(actor), action, target, org_tree, people["wangqiang"])
    if allowed:
        assert status in (200, 201, 302), (role, action, status)
        if action not in ("detail", "create"):
            assert (
                User.objects.filter(pk=target.pk).values().get() != before
                or PersonnelChange.objects.filter(user=target).exists()
            )
    else:
        assert status == 403, (role, action, status)
        assert User.objects.filter(pk=target.pk).values().get() == before
        assert not PersonnelChange.objects.filter(user=target).exists()
        assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize("action", UNIT_ACTIONS)
@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditadmin", "deptadmin", "employee"])
def test_unit_actions_by_builtin_role(
    request: pytest.FixtureRequest,
    action: str,
    role: str,
    people: dict[str, User],
    org_tree: dict[str, OrgUnit],
) -> None:
    actor = people["zhangwei"] if role == "employee" else request.getfixturevalue(f"{role}_user")
    client = client_for(actor)
    unit = org_tree["repair"]
    before = list(OrgUnit.objects.order_by("pk").values())
    if action == "unit_create":
        response = client.post(
            reverse("org:unit_create"),
            {"parent": unit.pk, "code": "NEW", "name": "新班组", "kind": "department"},
        )
    elif action == "unit_edit":
        response = client.post(
            reverse("org:unit_edit", args=[unit.pk]), {"name": "检修一班", "kind": "department"}
        )
    elif action == "unit_move":
        response = client.post(reverse("org:unit_move", args=[unit.pk]), {"parent": org_tree["office"].pk})
    elif action == "unit_heads":
        response = client.post(reverse("org:unit_heads", args=[unit.pk]), {"heads": [people["lina"].pk]})
    else:
        response = client.post(reverse("org:positions"), {"name": "新岗位", "rank": 3})
    if role == "sysadmin":
        assert response.status_code == 302, (action, response.status_code)
    else:
        assert response.status_code == 403, (role, action)
        assert list(OrgUnit.objects.order_by("pk").values()) == before
        assert not Position.objects.filter(name="新岗位").exists()
        assert not Membership.objects.filter(user=people["lina"], is_head=True).exists()


# --------------------------------------------------------------------------- unit administration


def test_units_are_created_renamed_and_moved(sysadmin_user: User, org_tree: dict[str, OrgUnit]) -> None:
    client = client_for(sysadmin_user)
    response = client.post(
        reverse("org:unit_create"),
        {"parent": org_tree["finance"].pk, "code": "G-CW-ZJ", "name": "资金管理室", "kind": "department"},
    )
    unit = OrgUnit.objects.get(code="G-CW-ZJ")
    assert response["Location"] == reverse("org:unit", args=[unit.pk])
    assert OrgUnit.objects.get_parent(unit) == org_tree["finance"]
    assert (unit.name_pinyin, unit.name_initials) == ("zijinguanlishi", "zjgls")
    client.post(
        reverse("org:unit_edit", args=[unit.pk]),
        {"name": "资金结算中心", "short_name": "资金", "kind": "department"},
    )
    unit.refresh_from_db()
    assert (unit.name, unit.name_initials) == ("资金结算中心", "zjjszx")
    client.post(reverse("org:unit_move", args=[unit.pk]), {"parent": org_tree["east"].pk})
    unit.refresh_from_db()
    assert OrgUnit.objects.get_parent(unit) == org_tree["east"]
    actions = list(Event.objects.filter(target_id=str(unit.pk)).values_list("action", flat=True))
    assert actions == [guards.UNIT_CREATED, guards.UNIT_UPDATED, guards.UNIT_MOVED]
    # Not below itself.
    page = html(client.get(reverse("org:unit_move", args=[org_tree["east"].pk])))
    assert f'value="{org_tree["production"].pk}"' not in page


def test_a_unit_with_people_or_active_sub_units_is_not_withdrawn(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(sysadmin_user)
    url = reverse("org:unit_status", args=[org_tree["production"].pk])
    page = html(client.post(url, follow=True))
    assert "在职人员" in page
    assert OrgUnit.objects.get(pk=org_tree["production"].pk).is_active
    Membership.objects.filter(unit__in=[org_tree["production"], org_tree["repair"]]).delete()
    assert "下级单位" in html(client.post(url, follow=True))
    client.post(reverse("org:unit_status", args=[org_tree["repair"].pk]))
    client.post(url)
    assert not OrgUnit.objects.get(pk=org_tree["production"].pk).is_active
    assert not OrgUnit.objects.get(pk=org_tree["repair"].pk).is_active
    # Back: the parent first.
    assert "上级单位已撤销" in html(
        client.post(reverse("org:unit_status", args=[org_tree["repair"].pk]), {"active": "1"}, follow=True)
    )
    client.post(url, {"active": "1"})
    assert OrgUnit.objects.get(pk=org_tree["production"].pk).is_active


def test_heads_are_set_among_the_members(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(sysadmin_user)
    url = reverse("org:unit_heads", args=[org_tree["production"].pk])
    client.post(url, {"heads": [people["zhangwei"].pk]})
    heads = set(
        Membership.objects.filter(unit=org_tree["production"], is_head=True).values_list(
            "user__username", flat=True
        )
    )
    assert heads == {"zhangwei"}
    response = client.post(url, {"heads": [people["zhaomin"].pk]})
    assert response.status_code == 200  # not a choice: 赵敏 holds no post there
    assert Membership.objects.get(user=people["zhangwei"]).is_head


def test_positions_are_listed_created_and_edited(sysadmin_user: User, positions: dict[str, Position]) -> None:
    client = client_for(sysadmin_user)
    assert "部门经理" in html(client.get(reverse("org:positions")))
    client.post(reverse("org:positions"), {"name": "主管", "rank": 4})
    assert Position.objects.filter(name="主管", rank=4).exists()
    duplicate = client.post(reverse("org:positions"), {"name": "主管", "rank": 5})
    assert "已存在" in html(duplicate)
    client.post(reverse("org:position_edit", args=[positions["clerk"].pk]), {"name": "业务专员", "rank": 3})
    positions["clerk"].refresh_from_db()
    assert (positions["clerk"].name, positions["clerk"].rank) == ("业务专员", 3)


def test_r123_the_demo_group_names_its_platform_contact(db: Any) -> None:
    from xietong.org import demo

    demo.load_demo(password="Demo#Pass2026x")
    root = OrgUnit.objects.get(code="HQ")
    assert root.contact is not None
    assert root.contact.username == "sysadmin"
    User.objects.filter(username="zhangwei").update(must_change_password=False)  # as after a first login
    employee = User.objects.get(username="zhangwei")
    assert (
        "系统管理员"
        in html(client_for(employee).get(DIRECTORY)).split('id="platform-contact"')[1].split("</div>")[0]
    )

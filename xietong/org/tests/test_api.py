"""The organisation API: tree, units, members, directory and cards for everyone; account
administration for administrators. Forbidden rows answer 404 like missing ones; operations
without the permission 403; every error in the one error body."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.identity.models import User
from xietong.org import guards
from xietong.org.models import Membership, OrgUnit, PersonnelChange, Position, StaffProfile
from xietong.org.tests.org_fixtures import bulk_units

pytestmark = pytest.mark.django_db

BASE = "/api/v1/org"


def get(client: Client, path: str, **params: Any) -> Any:
    response = client.get(f"{BASE}{path}", params)
    assert response.status_code == 200, response.content
    return response.json()


def send(client: Client, method: str, path: str, body: dict[str, Any]) -> Any:
    return getattr(client, method)(f"{BASE}{path}", body, content_type="application/json")


# --------------------------------------------------------------------------- for everyone


def test_the_tree_is_a_flat_list_in_tree_order(people: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    body = get(client_for(people["zhangwei"]), "/units", q="szgcb")  # 苏州工程部
    by_code = {item["code"]: item for item in body["items"]}
    assert body["items"][0]["code"] == "G"
    assert by_code["SZ-GC"]["parent_id"] == org_tree["suzhou"].pk
    assert (by_code["SZ-GC"]["depth"], by_code["SZ-GC"]["hit"], body["hits"]) == (3, True, 1)
    assert by_code["EC-SC"]["members"] == 2


def test_tree_queries_do_not_grow_with_the_units(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(people["zhangwei"])
    client.get(f"{BASE}/units")
    with CaptureQueriesContext(connection) as small:
        client.get(f"{BASE}/units")
    bulk_units(org_tree["finance"], 150)
    with CaptureQueriesContext(connection) as large:
        assert len(client.get(f"{BASE}/units").json()["items"]) >= 158
    assert len(large) == len(small)


def test_a_unit_with_its_heads_and_members(people: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    client = client_for(people["lina"])
    unit = get(client, f"/units/{org_tree['production'].pk}")
    assert [a["code"] for a in unit["ancestors"]] == ["G", "EC"]
    assert [c["code"] for c in unit["children"]] == ["EC-SC-JX"]
    assert [h["username"] for h in unit["heads"]] == ["wangqiang"]
    members = get(client, f"/units/{org_tree['production'].pk}/members", page_size=1)
    assert (members["count"], members["pages"], members["items"][0]["username"]) == (2, 2, "wangqiang")
    assert members["items"][0]["is_head"]
    subtree = get(client, f"/units/{org_tree['production'].pk}/members", subtree=True)
    assert {m["username"] for m in subtree["items"]} == {"zhangwei", "wangqiang", "lina"}


@pytest.mark.parametrize("query", ["zw", "zhangwei", "张伟", "1001"])
def test_people_search(people: dict[str, User], query: str) -> None:
    found = get(client_for(people["lina"]), "/people", q=query)
    assert "zhangwei" in [item["username"] for item in found["items"]]
    assert "zhaomin" not in [item["username"] for item in found["items"]]


def test_people_search_within_a_unit(people: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    found = get(client_for(people["lina"]), "/people", unit=org_tree["east"].pk)
    assert {item["username"] for item in found["items"]} == {"zhangwei", "wangqiang", "lina", "sunlei"}


def test_the_person_card(people: dict[str, User]) -> None:
    card = get(client_for(people["lina"]), f"/people/{people['zhangwei'].pk}")
    assert (card["name"], card["employee_no"], card["email"], card["mobile"]) == (
        "张伟",
        "1001",
        "zhangwei@example.com",
        "13800000001",
    )
    assert [u["code"] for u in card["unit_path"]] == ["G", "EC", "EC-SC"]
    assert card["posts"][0]["position"] == "专员"
    assert [h["username"] for h in card["heads"]] == ["wangqiang"]


def test_missing_and_hidden_rows_answer_the_same_404(
    people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(people["lina"])
    OrgUnit.objects.filter(pk=org_tree["suzhou_works"].pk).update(is_active=False)
    User.objects.filter(pk=people["zhaomin"].pk).update(is_active=False)
    for path in (
        f"/units/{org_tree['suzhou_works'].pk}",
        "/units/999999",
        f"/people/{people['zhaomin'].pk}",
        "/people/999999",
    ):
        response = client.get(f"{BASE}{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_anonymous_callers_are_refused(people: dict[str, User]) -> None:
    response = Client().get(f"{BASE}/units")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


# --------------------------------------------------------------------------- administration


def test_an_administrator_runs_an_account_through_its_life(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit], positions: dict[str, Position]
) -> None:
    client = client_for(sysadmin_user)
    created = send(
        client,
        "post",
        "/admin/users",
        {
            "username": "ZhouJie",
            "name": "周杰",
            "unit_id": org_tree["office"].pk,
            "position_id": positions["clerk"].pk,
        },
    )
    assert created.status_code == 201
    body = created.json()
    user = User.objects.get(username="zhoujie")
    assert user.check_password(body["initial_password"])
    assert (body["account"]["unit"]["code"], body["account"]["status"]) == ("G-ZH", "active")

    assert get(client, f"/admin/users/{user.pk}")["username"] == "zhoujie"
    patched = send(client, "patch", f"/admin/users/{user.pk}", {"mobile": "13600000000"}).json()
    assert (patched["name"], patched["mobile"]) == ("周杰", "13600000000")

    moved = send(
        client, "post", f"/admin/users/{user.pk}/transfer", {"unit_id": org_tree["finance"].pk}
    ).json()
    assert (moved["kind"], moved["to_unit"]["code"], moved["review_status"]) == (
        "transfer",
        "G-CW",
        "pending",
    )

    suspended = send(client, "post", f"/admin/users/{user.pk}/suspend", {"reason": "违纪"}).json()
    assert (suspended["is_active"], suspended["status"]) == (False, "suspended")
    resumed = send(client, "post", f"/admin/users/{user.pk}/resume", {"reason": ""}).json()
    assert (resumed["is_active"], resumed["status"]) == (True, "active")

    departed = send(
        client,
        "post",
        f"/admin/users/{user.pk}/depart",
        {"successor_id": people["zhaomin"].pk, "reason": "辞职"},
    ).json()
    assert (departed["account"]["status"], departed["change"]["kind"]) == ("departed", "depart")
    assert StaffProfile.objects.get(user=user).status == StaffProfile.Status.DEPARTED
    listed = get(client, "/admin/users", status="departed")
    assert [item["username"] for item in listed["items"]] == ["zhoujie"]


def test_refusals_use_the_one_error_body(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(sysadmin_user)
    response = send(
        client,
        "post",
        "/admin/users",
        {"username": "bad name!", "name": "", "unit_id": org_tree["office"].pk},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert {d["field"] for d in error["details"]} == {"username", "name"}
    response = send(client, "post", f"/admin/users/{people['zhangwei'].pk}/suspend", {"reason": ""})
    assert response.status_code == 400
    assert "原因" in response.json()["error"]["message"]
    response = send(client, "post", "/admin/users", {"username": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_r16_dept_admin_api_stays_inside_the_subtree(
    deptadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(deptadmin_user)
    listed = {item["username"] for item in get(client, "/admin/users")["items"]}
    assert listed == {"zhangwei", "wangqiang", "lina", "deptadmin"}
    outside_unit = send(
        client,
        "post",
        "/admin/users",
        {"username": "waibu", "name": "外部", "unit_id": org_tree["finance"].pk},
    )
    assert outside_unit.status_code == 404
    moved_out = send(
        client, "post", f"/admin/users/{people['lina'].pk}/transfer", {"unit_id": org_tree["finance"].pk}
    )
    assert moved_out.status_code == 404
    assert not User.objects.filter(username="waibu").exists()
    assert Membership.objects.get(user=people["lina"]).unit == org_tree["repair"]
    inside = send(
        client,
        "post",
        "/admin/users",
        {"username": "neibu", "name": "内部", "unit_id": org_tree["repair"].pk},
    )
    assert inside.status_code == 201


ENDPOINTS = [
    ("get", "/admin/users", None),
    ("post", "/admin/users", {"username": "newbie", "name": "新人", "unit_id": "{repair}"}),
    ("get", "/admin/users/{target}", None),
    ("patch", "/admin/users/{target}", {"name": "新名字"}),
    ("post", "/admin/users/{target}/transfer", {"unit_id": "{production}"}),
    ("post", "/admin/users/{target}/suspend", {"reason": "违纪"}),
    ("post", "/admin/users/{target}/depart", {"successor_id": "{successor}"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    ("role", "expected"),
    [("sysadmin", "ok"), ("secadmin", 403), ("auditadmin", 403), ("deptadmin", "ok"), ("employee", 403)],
)
def test_admin_endpoints_by_builtin_role(
    request: pytest.FixtureRequest,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    role: str,
    expected: int | str,
    people: dict[str, User],
    org_tree: dict[str, OrgUnit],
) -> None:
    actor = people["zhangwei"] if role == "employee" else request.getfixturevalue(f"{role}_user")
    target = people["lina"]
    values = {
        "target": target.pk,
        "repair": org_tree["repair"].pk,
        "production": org_tree["production"].pk,
        "successor": people["wangqiang"].pk,
    }
    url = BASE + path.format(**values)
    payload = {
        k: (int(str(v).format(**values)) if isinstance(v, str) and v.startswith("{") else v)
        for k, v in (body or {}).items()
    }
    before = User.objects.filter(pk=target.pk).values().get()
    client = client_for(actor)
    response = (
        client.get(url)
        if method == "get"
        else getattr(client, method)(url, payload, content_type="application/json")
    )
    if expected == "ok":
        assert response.status_code in (200, 201), (role, path, response.content)
    else:
        assert response.status_code == expected, (role, path, response.status_code)
        assert response.json()["error"]["code"] == "forbidden"
        assert User.objects.filter(pk=target.pk).values().get() == before
        assert not PersonnelChange.objects.exists()
        assert not User.objects.filter(username="newbie").exists()


def test_refused_attempts_are_audited(secadmin_user: User, people: dict[str, User]) -> None:
    client = client_for(secadmin_user)
    send(client, "post", f"/admin/users/{people['lina'].pk}/suspend", {"reason": "x"})
    assert Event.objects.filter(
        action=guards.USER_SUSPENDED, result="denied", actor_id=secadmin_user.pk
    ).exists()
    assert User.objects.get(pk=people["lina"].pk).is_active

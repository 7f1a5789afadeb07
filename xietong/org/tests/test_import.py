"""Excel import and export: the template, the per-row report, all-or-nothing, the scope of
the importer, one-time passwords, and exports limited to the rows the exporter may see."""

from __future__ import annotations

import base64
import io
import re
from html import unescape

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org import exchange, guards
from xietong.org.models import Membership, OrgUnit, PersonnelChange, Position
from xietong.org.tests.org_fixtures import workbook

pytestmark = pytest.mark.django_db

PAGE = reverse("org:exchange")


def problems_by_row(report: exchange.ImportReport) -> dict[tuple[str, int], list[str]]:
    return {(p.sheet, p.row): p.errors for p in report.problems}


def counts() -> tuple[int, int, int, int]:
    return (
        OrgUnit.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Event.objects.exclude(action=guards.IMPORTED).exclude(result="denied").count(),
    )


def test_the_template_has_both_sheets_and_instructions(sysadmin_user: User) -> None:
    response = client_for(sysadmin_user).get(reverse("org:import_template"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["填写说明", "组织机构", "人员"]
    assert [c.value for c in book["组织机构"][1]] == ["编码", "名称", "上级编码", "类型", "简称"]
    assert [c.value for c in book["人员"][1]][:4] == ["用户名", "姓名", "工号", "单位编码"]


def test_a_valid_workbook_imports_units_then_people_with_one_time_passwords(
    sysadmin_user: User, org_tree: dict[str, OrgUnit], positions: dict[str, Position]
) -> None:
    upload = workbook(
        units=[
            ["SZ-GC-1", "工程一队", "SZ-GC-0", "部门", ""],  # its parent is the next row
            ["SZ-GC-0", "工程项目部", "SZ", "部门", "项目部"],
        ],
        users=[
            ["ZhouJie", "周杰", 3001, "SZ-GC-1", "专员", "", "zhoujie@example.com", 13700000001],
            ["wuhao", "吴昊", "3002", "sz-gc-0", "部门经理", "是", "", ""],
        ],
    )
    response = client_for(sysadmin_user).post(PAGE, {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "已导入 2 个账号" in page
    passwords = [unescape(p) for p in re.findall(r'<span class="xt-secret">([^<]+)</span>', page)]
    assert len(passwords) == 2
    zhou = User.objects.get(username="zhoujie")
    assert zhou.check_password(passwords[0])
    assert zhou.must_change_password
    assert (zhou.employee_no, zhou.mobile) == ("3001", "13700000001")  # numbers from Excel read as text
    team = OrgUnit.objects.get(code="SZ-GC-1")
    assert OrgUnit.objects.get_parent(team).code == "SZ-GC-0"
    wu = Membership.objects.get(user__username="wuhao")
    assert (wu.unit.code, wu.position, wu.is_head) == ("SZ-GC-0", positions["manager"], True)
    assert PersonnelChange.objects.filter(kind=PersonnelChange.Kind.HIRE).count() == 2
    summary = Event.objects.get(action=guards.IMPORTED)
    assert (summary.details["units"], summary.details["users"]) == (2, 2)
    assert Event.objects.filter(action=guards.USER_CREATED).count() == 2
    # The passwords are in the page's file and nowhere on the server.
    link = re.search(r'href="data:[^;]+;base64,([^"]+)"', page)
    assert link is not None

    sheet = load_workbook(io.BytesIO(base64.b64decode(link.group(1)))).active
    assert [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)] == passwords
    assert all(p not in str(e.details) for e in Event.objects.all() for p in passwords)


def test_import_is_all_or_nothing_with_a_report_per_row(
    sysadmin_user: User, people: dict[str, User], positions: dict[str, Position]
) -> None:
    before = counts()
    upload = workbook(
        units=[
            ["OK-1", "正确的部门", "G", "部门", ""],
            ["g-cw", "重复编码", "G", "部门", ""],  # 财务部's code, other case
            ["BAD CODE", "", "NOPE", "科室", ""],
        ],
        users=[
            ["good1", "正确的人", "a5001", "OK-1", "", "", "good1@example.com", ""],  # valid, in a new unit
            ["ZHANGWEI", "另一个张伟", "", "G-CW", "", "", "", ""],  # username taken (case-folded)
            ["newone", "新同事", "1001", "G-CW", "", "", "", ""],  # 工号 taken
            [
                "newtwo",
                "",
                "a1001",
                "XX-404",
                "",
                "",
                "not-an-email",
                "",
            ],  # no name, unknown unit, bad e-mail
            ["good1", "重名", "A5001", "G-CW", "总监", "也许", "", "abc"],  # twice in the file
        ],
    )
    report = exchange.import_workbook(actor=sysadmin_user, upload=upload)
    assert not report.ok
    assert not report.imported
    assert counts() == before  # nothing at all
    rows = problems_by_row(report)
    assert ("组织机构", 2) not in rows  # the valid rows have no problems
    assert ("人员", 2) not in rows
    assert any("已被已有单位使用" in e for e in rows[("组织机构", 3)])
    unit_errors = " ".join(rows[("组织机构", 4)])
    for expected in ("编码“BAD CODE”格式不正确", "缺少名称", "类型“科室”无效", "上级编码“NOPE”不存在"):
        assert expected in unit_errors
    assert rows[("人员", 3)] == ["用户名“zhangwei”已被使用。"]
    assert rows[("人员", 4)] == ["工号“1001”已被使用。"]
    row5 = " ".join(rows[("人员", 5)])
    for expected in ("请填写姓名", "电子邮箱格式不正确", "单位编码“XX-404”不存在"):
        assert expected in row5
    row6 = " ".join(rows[("人员", 6)])
    for expected in (
        "与第 2 行重复",
        "工号“A5001”与第 2 行重复",
        "岗位“总监”不存在",
        "负责人应填",
        "手机号码格式不正确",
    ):
        assert expected in row6
    assert [p.sheet for p in report.problems] == sorted(
        [p.sheet for p in report.problems], key=lambda s: s != "组织机构"
    )


def test_the_report_is_shown_in_chinese_on_the_page(sysadmin_user: User, people: dict[str, User]) -> None:
    upload = workbook(users=[["lisi2", "李四", "", "NOPE", "", "", "", ""]])
    page = client_for(sysadmin_user).post(PAGE, {"file": upload}).content.decode()
    report = page.split('id="import-report"')[1]
    assert "有 1 行需要修改，未导入任何数据" in report
    assert 'data-sheet="人员" data-row="2"' in report
    assert "单位编码“NOPE”不存在" in report
    assert not User.objects.filter(username="lisi2").exists()


def test_r16_a_dept_admin_imports_people_only_inside_the_subtree(
    deptadmin_user: User, people: dict[str, User]
) -> None:
    upload = workbook(
        units=[["NEW-U", "新部门", "EC-SC", "部门", ""]],
        users=[
            ["inside", "本部门新人", "", "EC-SC-JX", "", "", "", ""],
            ["outside", "外部门新人", "", "G-CW", "", "", "", ""],
        ],
    )
    report = exchange.import_workbook(actor=deptadmin_user, upload=upload)
    rows = problems_by_row(report)
    assert rows[("组织机构", 2)] == ["只有系统管理员可以导入组织机构。"]
    assert rows[("人员", 3)] == ["单位“财务部”不在您的管理范围内。"]
    assert ("人员", 2) not in rows
    assert not User.objects.filter(username__in=["inside", "outside"]).exists()
    ok = exchange.import_workbook(
        actor=deptadmin_user,
        upload=workbook(users=[["inside", "本部门新人", "", "EC-SC-JX", "", "", "", ""]]),
    )
    assert ok.imported
    assert Membership.objects.get(user__username="inside").unit.code == "EC-SC-JX"


@pytest.mark.parametrize("role", ["secadmin", "auditadmin"])
def test_the_other_administrators_cannot_import(
    request: pytest.FixtureRequest, role: str, people: dict[str, User]
) -> None:
    actor = request.getfixturevalue(f"{role}_user")
    with pytest.raises(PermissionDeniedError):
        exchange.import_workbook(
            actor=actor, upload=workbook(users=[["x", "某人", "", "G-CW", "", "", "", ""]])
        )
    assert client_for(actor).get(PAGE).status_code == 403
    assert client_for(people["zhangwei"]).get(PAGE).status_code == 403


def test_a_dry_run_checks_and_imports_nothing(sysadmin_user: User, org_tree: dict[str, OrgUnit]) -> None:
    upload = workbook(users=[["dryrun", "试运行", "", "G-CW", "", "", "", ""]])
    page = client_for(sysadmin_user).post(PAGE, {"file": upload, "dry_run": "on"}).content.decode()
    assert "校验通过" in page
    assert not User.objects.filter(username="dryrun").exists()


def test_files_that_are_not_workbooks_are_refused_with_a_message(
    sysadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    fake = io.BytesIO("name,unit\n张三,G-CW\n".encode())
    fake.name = "people.xlsx"
    page = client_for(sysadmin_user).post(PAGE, {"file": fake}).content.decode()
    assert "无法读取文件" in page
    book = Workbook()
    book.active.title = "人员"
    book.active.append(["姓名"])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    with pytest.raises(DomainError, match="缺少必需的列"):
        exchange.import_workbook(actor=sysadmin_user, upload=buffer)
    with pytest.raises(DomainError, match="没有可导入的数据"):
        exchange.import_workbook(actor=sysadmin_user, upload=workbook())


def test_a_group_is_imported_into_an_empty_installation(sysadmin_user: User) -> None:
    upload = workbook(
        units=[
            ["HQ", "新集团", "", "集团", ""],
            ["HQ-BG", "办公室", "HQ", "部门", ""],
            ["HQ-X", "另一个根", "", "集团", ""],
        ]
    )
    report = exchange.import_workbook(actor=sysadmin_user, upload=upload)
    assert problems_by_row(report) == {("组织机构", 4): ["只能有一个最上级单位（已在第 2 行）。"]}
    upload = workbook(units=[["HQ", "新集团", "", "集团", ""], ["HQ-BG", "办公室", "HQ", "部门", ""]])
    assert exchange.import_workbook(actor=sysadmin_user, upload=upload).imported
    assert OrgUnit.objects.get(code="HQ-BG").depth == 2


def test_export_holds_only_the_rows_the_exporter_administers(
    deptadmin_user: User, sysadmin_user: User, people: dict[str, User]
) -> None:
    response = client_for(deptadmin_user).post(reverse("org:export"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    units = [row[0] for row in book["组织机构"].iter_rows(min_row=2, values_only=True)]
    users = [row[0] for row in book["人员"].iter_rows(min_row=2, values_only=True)]
    assert units == ["EC-SC", "EC-SC-JX"]
    assert sorted(users) == sorted(["zhangwei", "wangqiang", "lina", "deptadmin"])
    event = Event.objects.get(action=guards.EXPORTED)
    assert (event.actor_id, event.details["units"], event.details["users"]) == (deptadmin_user.pk, 2, 4)
    everything = load_workbook(io.BytesIO(client_for(sysadmin_user).post(reverse("org:export")).content))
    assert len(list(everything["组织机构"].iter_rows(min_row=2))) == OrgUnit.objects.count()
    # An export writes an audit record: never on a GET.
    assert client_for(sysadmin_user).get(reverse("org:export")).status_code == 405


def test_an_exported_workbook_keeps_text_as_text(sysadmin_user: User, people: dict[str, User]) -> None:
    User.objects.filter(pk=people["lina"].pk).update(name='=HYPERLINK("http://x")')
    book = load_workbook(io.BytesIO(client_for(sysadmin_user).post(reverse("org:export")).content))
    cells = next(row for row in book["人员"].iter_rows(min_row=2) if row[0].value == "lina")
    assert cells[1].data_type == "s"


def test_the_api_import_returns_the_report(sysadmin_user: User, people: dict[str, User]) -> None:
    client = client_for(sysadmin_user)
    bad = client.post(
        "/api/v1/org/admin/import",
        {"file": workbook(users=[["ZhaoMin", "赵敏二", "", "G-CW", "", "", "", ""]])},
    )
    assert bad.status_code == 200
    body = bad.json()
    assert (body["ok"], body["imported"], body["accounts"]) == (False, False, [])
    assert body["problems"] == [
        {"sheet": "人员", "row": 2, "key": "zhaomin", "errors": ["用户名“zhaomin”已被使用。"]}
    ]
    good = client.post(
        "/api/v1/org/admin/import",
        {"file": workbook(users=[["apiuser", "接口导入", "", "G-CW", "", "", "", ""]])},
    )
    body = good.json()
    assert (body["ok"], body["imported"]) == (True, True)
    assert body["accounts"][0]["username"] == "apiuser"
    assert User.objects.get(username="apiuser").check_password(body["accounts"][0]["initial_password"])
    denied = client_for(people["zhangwei"]).post("/api/v1/org/admin/import", {"file": workbook(users=[])})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"

"""Excel import and export of units and accounts.

One workbook format for all three: the downloadable template, the export, and the import.
It has a sheet 组织机构 (units) and a sheet 人员 (accounts); columns are found by their
header, so their order does not matter and extra columns (the export's 状态) are ignored.

Import is all or nothing (R-16 applies to every row): every row of both sheets is checked
first — required values, formats, codes and names taken in the database or twice in the
file (letter case ignored), units unknown or outside the importer's scope — and when any row
is wrong nothing is imported and the report names each wrong row. Otherwise the rows go
through the same services as the pages (``unit_services.unit_create``,
``user_services.user_create``) in one transaction, so each unit and account is checked and
audited exactly as if created by hand.

Each imported account gets a one-time initial password; the passwords are returned with the
report, once, for the administrator to hand over (the page shows them and offers them as a
file built in the same response; the API returns them in its JSON). They are stored nowhere.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

from xietong.audit.services import record
from xietong.core import access, clock
from xietong.core.errors import DomainError
from xietong.identity.models import User, fold_username
from xietong.org import guards, selectors, unit_services, user_services
from xietong.org.models import Membership, OrgUnit, Position

UNITS_SHEET = "组织机构"
USERS_SHEET = "人员"
GUIDE_SHEET = "填写说明"
MAX_ROWS = 2000  # per sheet: each account costs a password hash, this keeps one import near a minute
MAX_BYTES = 5 * 1024 * 1024
MAX_SCANNED_ROWS = 20_000  # blank rows included (the template formats its first MAX_ROWS rows)

# Column keys and their headers (the headers are the file format: not translated).
UNIT_COLUMNS = {"code": "编码", "name": "名称", "parent": "上级编码", "kind": "类型", "short_name": "简称"}
USER_COLUMNS = {
    "username": "用户名",
    "name": "姓名",
    "employee_no": "工号",
    "unit": "单位编码",
    "position": "岗位",
    "head": "负责人",
    "email": "电子邮箱",
    "mobile": "手机号码",
}
UNIT_REQUIRED = ("code", "name")
USER_REQUIRED = ("username", "name", "unit")
KIND_NAMES = {
    "集团": OrgUnit.Kind.GROUP,
    "公司": OrgUnit.Kind.COMPANY,
    "部门": OrgUnit.Kind.DEPARTMENT,
    "group": OrgUnit.Kind.GROUP,
    "company": OrgUnit.Kind.COMPANY,
    "department": OrgUnit.Kind.DEPARTMENT,
}
KIND_LABELS = {OrgUnit.Kind.GROUP: "集团", OrgUnit.Kind.COMPANY: "公司", OrgUnit.Kind.DEPARTMENT: "部门"}
YES = {"是", "y", "yes", "true", "1", "√"}
NO = {"", "否", "n", "no", "false", "0"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------- writing


def _text(sheet: Any, value: object, *, bold: bool = False, required: bool = False) -> Any:
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value)))
    # Text, never a formula: a name typed as "=HYPERLINK(…)" must not run when the file opens.
    cell.data_type = "s"
    if bold or required:
        cell.font = Font(bold=True, color="B4232A" if required else None)
        cell.fill = PatternFill("solid", fgColor="F2F4F7")
    return cell


def _headers(sheet: Any, columns: dict[str, str], required: tuple[str, ...]) -> None:
    sheet.append([_text(sheet, title, bold=True, required=key in required) for key, title in columns.items()])


def _save(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template() -> bytes:
    """The empty import template, with a sheet of instructions."""
    book = Workbook()
    guide = book.active
    guide.title = GUIDE_SHEET
    lines = [
        _("组织机构与人员导入模板"),
        "",
        _("1. “组织机构”表：每行一个新单位。编码、名称必填（红色表头）；")
        + _("上级编码填已有单位或本表中单位的编码；类型填“公司”或“部门”（默认部门）。"),
        _("2. “人员”表：每行一个新账号。用户名、姓名、单位编码必填；用户名不区分大小写，")
        + _("只能用小写字母、数字和“.”“_”“-”。"),
        _("3. 工号、用户名不得与已有账号重复（不区分大小写）；岗位须是系统中已有的岗位；")
        + _("负责人填“是”或留空。"),
        _("4. 导入前会逐行校验，任何一行有误则全部不导入，并列出每一行的问题；全部正确才一次性导入。"),
        _("5. 每个新账号获得一次性初始密码，导入完成后只显示一次，请当场下载并安全转交本人；")
        + _("首次登录必须修改。"),
        _("6. 部门管理员只能导入本部门范围内的人员，不能导入组织机构。每个表最多 %(rows)d 行。")
        % {"rows": MAX_ROWS},
    ]
    for line in lines:
        guide.append([line])
    guide.column_dimensions["A"].width = 110
    guide["A1"].font = Font(bold=True, size=14)

    units = book.create_sheet(UNITS_SHEET)
    units.append(list(UNIT_COLUMNS.values()))
    users = book.create_sheet(USERS_SHEET)
    users.append(list(USER_COLUMNS.values()))
    for sheet, columns, required in (
        (units, UNIT_COLUMNS, UNIT_REQUIRED),
        (users, USER_COLUMNS, USER_REQUIRED),
    ):
        for index, key in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=index)
            cell.font = Font(bold=True, color="B4232A" if key in required else None)
            cell.fill = PatternFill("solid", fgColor="F2F4F7")
            sheet.column_dimensions[cell.column_letter].width = 18
            if key in ("employee_no", "mobile", "code", "parent", "unit"):
                # Typed as text so that leading zeros of 工号 and phone numbers survive.
                for row in range(2, MAX_ROWS + 2):
                    sheet.cell(row=row, column=index).number_format = "@"
    kinds = DataValidation(type="list", formula1='"公司,部门"', allow_blank=True)
    units.add_data_validation(kinds)
    kinds.add(f"D2:D{MAX_ROWS + 1}")
    heads = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    users.add_data_validation(heads)
    heads.add(f"F2:F{MAX_ROWS + 1}")
    return _save(book)


@dataclass(frozen=True)
class ExportFile:
    name: str
    content: bytes
    units: int
    users: int


def export(*, actor: User, request: HttpRequest | None = None) -> ExportFile:
    """The units and accounts ``actor`` administers, in the import format (plus 状态 and
    在职人数 columns). Audited with the row counts."""
    can_units = access.can(actor, guards.MANAGE_UNITS)
    if not (can_units or access.can(actor, guards.MANAGE_USERS)):
        raise guards.deny(actor, guards.EXPORTED, None, _("您没有导出组织与人员的权限。"), request=request)
    units = (
        OrgUnit.objects.all()
        if can_units
        else access.restrict(actor, guards.MANAGE_USERS, OrgUnit.objects.all(), unit_field="pk")
    )
    book = Workbook(write_only=True)
    unit_sheet = book.create_sheet(UNITS_SHEET)
    _headers(
        unit_sheet,
        {**UNIT_COLUMNS, "status": "状态", "members": "在职人数", "contact": "平台联系人"},
        UNIT_REQUIRED,
    )
    parents = dict(OrgUnit.objects.values_list("path", "code"))
    unit_rows = 0
    rows = (
        units.annotate(members=selectors.member_count())
        .order_by("path")
        .values_list(
            "path", "code", "name", "short_name", "kind", "is_active", "members", "contact__username"
        )
    )
    for path, code, name, short_name, kind, active, members, contact in rows.iterator(chunk_size=2000):
        parent = parents.get(path[: -OrgUnit.steplen], "")
        values = [
            code,
            name,
            parent,
            KIND_LABELS.get(kind, kind),
            short_name,
            "有效" if active else "已撤销",
            members,
            contact or "",
        ]
        unit_sheet.append([_text(unit_sheet, value) for value in values])
        unit_rows += 1

    user_sheet = book.create_sheet(USERS_SHEET)
    _headers(user_sheet, {**USER_COLUMNS, "status": "状态"}, USER_REQUIRED)
    statuses = {"active": "在职", "suspended": "暂停使用", "departed": "已离职", "disabled": "已停用"}
    user_rows = 0
    accounts = selectors.admin_users(actor=actor).order_by("pk")
    for user in accounts.iterator(chunk_size=2000):
        post = user.primary_posts[0] if user.primary_posts else None  # type: ignore[attr-defined]
        values = [
            user.username,
            user.name,
            user.employee_no or "",
            post.unit.code if post else "",
            post.position.name if post and post.position else "",
            "是" if post and post.is_head else "",
            user.email,
            user.mobile,
            statuses[selectors.account_status(user)],
        ]
        user_sheet.append([_text(user_sheet, value) for value in values])
        user_rows += 1
    record(
        actor=actor,
        action=guards.EXPORTED,
        request=request,
        details={"units": unit_rows, "users": user_rows, "format": "xlsx"},
    )
    stamp = clock.now().astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return ExportFile(name=f"org-{stamp}.xlsx", content=_save(book), units=unit_rows, users=user_rows)


def passwords_workbook(accounts: list[user_services.CreatedAccount]) -> bytes:
    """The initial passwords of just-created accounts, for the administrator to hand over."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("初始密码"))
    sheet.append(
        [_text(sheet, title, bold=True) for title in (_("用户名"), _("姓名"), _("工号"), _("初始密码"))]
    )
    for account in accounts:
        values = [account.user.username, account.user.name, account.user.employee_no or "", account.password]
        sheet.append([_text(sheet, value) for value in values])
    return _save(book)


# --------------------------------------------------------------------------- reading


@dataclass
class RowReport:
    sheet: str
    row: int  # the row number shown in Excel
    key: str  # the unit code or login name, to find the row by
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    ok: bool
    dry_run: bool
    unit_rows: int = 0
    user_rows: int = 0
    problems: list[RowReport] = field(default_factory=list)
    units_created: list[str] = field(default_factory=list)
    accounts: list[user_services.CreatedAccount] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return self.ok and not self.dry_run

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "imported": self.imported,
            "unit_rows": self.unit_rows,
            "user_rows": self.user_rows,
            "problems": [
                {"sheet": p.sheet, "row": p.row, "key": p.key, "errors": p.errors} for p in self.problems
            ],
            "units_created": self.units_created,
            "accounts": [
                {
                    "id": a.user.pk,
                    "username": a.user.username,
                    "name": a.user.name,
                    "initial_password": a.password,
                }
                for a in self.accounts
            ],
        }


def _cell(value: object) -> str:
    """A cell as text: numbers typed into text columns (工号 1001, a phone number) come back
    as numbers from Excel, and 1001.0 must read as "1001"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


@dataclass(frozen=True)
class _Row:
    number: int
    values: dict[str, str]


def _sheet_rows(book: Any, title: str, columns: dict[str, str], required: tuple[str, ...]) -> list[_Row]:
    if title not in book.sheetnames:
        return []
    iterator: Iterator[tuple[object, ...]] = book[title].iter_rows(values_only=True)
    header = next(iterator, None)
    if header is None:
        return []
    titles = [_cell(value).replace("*", "").replace(" ", "") for value in header]
    positions = {key: titles.index(name) for key, name in columns.items() if name in titles}
    missing = [columns[key] for key in required if key not in positions]
    if missing:
        raise DomainError(
            _("“%(sheet)s”表缺少必需的列：%(columns)s。请使用导入模板。")
            % {"sheet": title, "columns": "、".join(missing)}
        )
    rows: list[_Row] = []
    for number, raw in enumerate(iterator, start=2):
        if number > MAX_SCANNED_ROWS:
            # A sheet claiming a million (blank, styled) rows must not keep the request busy.
            raise DomainError(_("“%(sheet)s”表的行数过多，请删除多余的空行后再导入。") % {"sheet": title})
        values = {key: _cell(raw[index]) if index < len(raw) else "" for key, index in positions.items()}
        if not any(values.values()):
            continue  # blank lines are not rows
        if len(rows) >= MAX_ROWS:
            raise DomainError(
                _("“%(sheet)s”表超过 %(rows)d 行，请分批导入。") % {"sheet": title, "rows": MAX_ROWS}
            )
        rows.append(_Row(number, {key: values.get(key, "") for key in columns}))
    return rows


def _open(upload: IO[bytes], size: int | None) -> Any:
    if size is not None and size > MAX_BYTES:
        raise DomainError(_("文件太大（上限 5 MB）。"))
    try:
        return load_workbook(upload, read_only=True, data_only=True)
    # Not a zip, a zip without a workbook, a damaged part: openpyxl raises many kinds.
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError):
        raise DomainError(_("无法读取文件，请上传 .xlsx 格式的 Excel 文件（可下载导入模板）。")) from None


class _Checker:
    """Validates both sheets against the database with a fixed number of queries."""

    def __init__(self, actor: User, unit_rows: list[_Row], user_rows: list[_Row]) -> None:
        self.actor = actor
        self.unit_rows = unit_rows
        self.user_rows = user_rows
        self.problems: list[RowReport] = []
        unit_codes = (
            {r.values["code"].casefold() for r in unit_rows}
            | {code.casefold() for r in unit_rows for code in [r.values["parent"]] if code}
            | {r.values["unit"].casefold() for r in user_rows}
        )
        self.units = {
            unit.code.casefold(): unit
            for unit in OrgUnit.objects.annotate(folded=Lower("code")).filter(folded__in=unit_codes)
        }
        self.tree_empty = not OrgUnit.objects.exists()
        self.positions = {p.name.casefold(): p for p in Position.objects.all()}
        names = [fold_username(r.values["username"]) for r in user_rows]
        self.taken_usernames = set(
            User.objects.annotate(folded=Lower("username"))
            .filter(folded__in=names)
            .values_list("folded", flat=True)
        )
        numbers = [r.values["employee_no"].casefold() for r in user_rows if r.values["employee_no"]]
        self.taken_numbers = {
            value.casefold()
            for value in User.objects.annotate(folded=Lower("employee_no"))
            .filter(folded__in=numbers)
            .values_list("employee_no", flat=True)
            if value
        }
        self.can_units = access.can(actor, guards.MANAGE_UNITS)
        self.can_users = access.can(actor, guards.MANAGE_USERS)

    def report(self, sheet: str, row: _Row, key: str, errors: list[str]) -> None:
        """Add ``errors`` to the row's entry (a row is checked in more than one pass)."""
        if not errors:
            return
        for problem in self.problems:
            if (problem.sheet, problem.row) == (sheet, row.number):
                problem.errors.extend(errors)
                return
        self.problems.append(RowReport(sheet, row.number, key, list(errors)))

    def check_units(self) -> dict[str, _Row]:
        """Returns the new units by folded code."""
        new: dict[str, _Row] = {}
        seen: dict[str, int] = {}
        root_row: int | None = None
        for row in self.unit_rows:
            v = row.values
            errors: list[str] = []
            if not self.can_units:
                errors.append(_("只有系统管理员可以导入组织机构。"))
            code, folded = v["code"], v["code"].casefold()
            if not code:
                errors.append(_("缺少编码。"))
            elif not unit_services.CODE_PATTERN.match(code):
                errors.append(
                    _("编码“%(v)s”格式不正确：只能由字母、数字、“-”和“_”组成，最长 32 位。") % {"v": code}
                )
            elif folded in self.units:
                errors.append(_("编码“%(v)s”已被已有单位使用。") % {"v": code})
            elif folded in seen:
                errors.append(_("编码“%(v)s”与第 %(row)d 行重复。") % {"v": code, "row": seen[folded]})
            if not v["name"]:
                errors.append(_("缺少名称。"))
            elif len(v["name"]) > 100:
                errors.append(_("名称不能超过 100 个字。"))
            if len(v["short_name"]) > 50:
                errors.append(_("简称不能超过 50 个字。"))
            kind = KIND_NAMES.get(v["kind"].casefold() if v["kind"] else "部门")
            if kind is None:
                errors.append(_("类型“%(v)s”无效，应为“公司”或“部门”。") % {"v": v["kind"]})
            root = not v["parent"]
            if root and not self.tree_empty:
                errors.append(_("缺少上级编码。"))
            elif root and root_row is not None:
                errors.append(_("只能有一个最上级单位（已在第 %(row)d 行）。") % {"row": root_row})
            elif root and kind != OrgUnit.Kind.GROUP:
                errors.append(_("最上级单位的类型必须是“集团”。"))
            elif not root and kind == OrgUnit.Kind.GROUP:
                errors.append(_("下级单位的类型只能是“公司”或“部门”。"))
            if root and root_row is None:
                root_row = row.number
            if code and folded not in seen:
                seen[folded] = row.number
                new[folded] = row
            self.report(UNITS_SHEET, row, code, errors)
        # Parents: an existing active unit or another new row, without cycles.
        for folded, row in new.items():
            parent = row.values["parent"].casefold()
            if not parent:
                continue
            errors = []
            existing = self.units.get(parent)
            if existing is not None and not existing.is_active:
                errors.append(_("上级单位“%(v)s”已撤销。") % {"v": row.values["parent"]})
            elif existing is None and parent not in new:
                errors.append(_("上级编码“%(v)s”不存在。") % {"v": row.values["parent"]})
            elif existing is None and self._cycles(folded, new):
                errors.append(_("上级编码形成循环。"))
            self.report(UNITS_SHEET, row, row.values["code"], errors)
        return new

    @staticmethod
    def _cycles(start: str, new: dict[str, _Row]) -> bool:
        seen = {start}
        current = new[start].values["parent"].casefold()
        while current in new:
            if current in seen:
                return True
            seen.add(current)
            current = new[current].values["parent"].casefold()
        return False

    def check_users(self, new_units: dict[str, _Row]) -> None:
        usernames: dict[str, int] = {}
        numbers: dict[str, int] = {}
        scope_cache: dict[int, bool] = {}
        for row in self.user_rows:
            v = row.values
            fields = user_services.AccountFields.of(
                username=v["username"],
                name=v["name"],
                employee_no=v["employee_no"],
                email=v["email"],
                mobile=v["mobile"],
            )
            errors = [] if self.can_users else [_("您没有导入人员的权限。")]
            errors += [problem["message"] for problem in fields.errors(with_username=True)]
            if fields.username:
                if fields.username in self.taken_usernames:
                    errors.append(_("用户名“%(v)s”已被使用。") % {"v": fields.username})
                elif fields.username in usernames:
                    errors.append(
                        _("用户名“%(v)s”与第 %(row)d 行重复。")
                        % {"v": fields.username, "row": usernames[fields.username]}
                    )
                else:
                    usernames[fields.username] = row.number
            number = fields.employee_no.casefold()
            if number:
                if number in self.taken_numbers:
                    errors.append(_("工号“%(v)s”已被使用。") % {"v": fields.employee_no})
                elif number in numbers:
                    errors.append(
                        _("工号“%(v)s”与第 %(row)d 行重复。")
                        % {"v": fields.employee_no, "row": numbers[number]}
                    )
                else:
                    numbers[number] = row.number
            code = v["unit"].casefold()
            unit = self.units.get(code)
            if not code:
                errors.append(_("缺少单位编码。"))
            elif unit is None and code not in new_units:
                errors.append(_("单位编码“%(v)s”不存在。") % {"v": v["unit"]})
            elif unit is not None and not unit.is_active:
                errors.append(_("单位“%(v)s”已撤销。") % {"v": unit.name})
            elif unit is not None and self.can_users:
                if unit.pk not in scope_cache:
                    scope_cache[unit.pk] = guards.unit_in_scope(self.actor, unit)
                if not scope_cache[unit.pk]:
                    errors.append(_("单位“%(v)s”不在您的管理范围内。") % {"v": unit.name})
            if v["position"] and v["position"].casefold() not in self.positions:
                errors.append(_("岗位“%(v)s”不存在，请先在岗位管理中新建。") % {"v": v["position"]})
            if v["head"].casefold() not in YES | NO:
                errors.append(_("负责人应填“是”或留空。"))
            self.report(USERS_SHEET, row, fields.username or v["username"], errors)


def import_workbook(
    *,
    actor: User,
    upload: IO[bytes],
    size: int | None = None,
    dry_run: bool = False,
    request: HttpRequest | None = None,
) -> ImportReport:
    """Check the workbook and, when every row is right and ``dry_run`` is off, import it in
    one transaction. File-level problems (not an Excel file, a required column missing,
    too many rows) raise ``DomainError``; row-level ones are in the report."""
    if not (access.can(actor, guards.MANAGE_UNITS) or access.can(actor, guards.MANAGE_USERS)):
        raise guards.deny(actor, guards.IMPORTED, None, _("您没有导入组织与人员的权限。"), request=request)
    book = _open(upload, size)
    try:
        unit_rows = _sheet_rows(book, UNITS_SHEET, UNIT_COLUMNS, UNIT_REQUIRED)
        user_rows = _sheet_rows(book, USERS_SHEET, USER_COLUMNS, USER_REQUIRED)
    finally:
        book.close()
    if not unit_rows and not user_rows:
        raise DomainError(_("文件中没有可导入的数据：请在“组织机构”或“人员”表中填写。"))
    checker = _Checker(actor, unit_rows, user_rows)
    new_units = checker.check_units()
    checker.check_users(new_units)
    problems = sorted(checker.problems, key=lambda p: (p.sheet != UNITS_SHEET, p.row))
    report = ImportReport(
        ok=not problems,
        dry_run=dry_run,
        unit_rows=len(unit_rows),
        user_rows=len(user_rows),
        problems=problems,
    )
    if problems or dry_run:
        return report
    with transaction.atomic():
        _apply(actor, checker, new_units, report, request)
        record(
            actor=actor,
            action=guards.IMPORTED,
            request=request,
            details={
                "units": len(report.units_created),
                "users": len(report.accounts),
                "unit_codes": report.units_created[:200],
                "usernames": [a.user.username for a in report.accounts][:200],
            },
        )
    return report


def _apply(
    actor: User,
    checker: _Checker,
    new_units: dict[str, _Row],
    report: ImportReport,
    request: HttpRequest | None,
) -> None:
    units = dict(checker.units)
    pending = dict(new_units)
    while pending:  # parents first; the checks above ruled out cycles and unknown parents
        ready = [
            code
            for code, row in pending.items()
            if not row.values["parent"] or row.values["parent"].casefold() in units
        ]
        for code in ready:
            v = pending.pop(code).values
            parent = units.get(v["parent"].casefold()) if v["parent"] else None
            unit = unit_services.unit_create(
                actor=actor,
                parent=OrgUnit.objects.get(pk=parent.pk) if parent is not None else None,
                code=v["code"],
                name=v["name"],
                kind=KIND_NAMES[v["kind"].casefold() if v["kind"] else "部门"],
                short_name=v["short_name"],
                request=request,
            )
            units[code] = unit
            report.units_created.append(unit.code)
        if not ready:  # unreachable after the checks; never loop forever on bad data
            raise DomainError(_("上级编码形成循环。"))
    for row in checker.user_rows:
        v = row.values
        try:
            account = user_services.user_create(
                actor=actor,
                username=v["username"],
                name=v["name"],
                unit=units[v["unit"].casefold()],
                position=checker.positions.get(v["position"].casefold()) if v["position"] else None,
                employee_no=v["employee_no"],
                email=v["email"],
                mobile=v["mobile"],
                request=request,
            )
        except DomainError as exc:
            # Something changed since the check (a parallel import took a name): all or nothing.
            raise DomainError(
                _("第 %(row)d 行导入失败：%(message)s 未导入任何数据。")
                % {"row": row.number, "message": exc.message}
            ) from None
        if v["head"].casefold() in YES:
            Membership.objects.filter(user=account.user, is_primary=True).update(is_head=True)
        report.accounts.append(account)

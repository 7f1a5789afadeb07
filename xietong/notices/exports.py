"""The Excel workbook of a notice's receipts: a summary per department and one row per
recipient, with their department, so that the list can be filtered and sorted in Excel."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from xietong.core import classification
from xietong.notices import selectors
from xietong.notices.models import Notice, ReceiptMode, Reply

REPLIES = dict(Reply.choices)


def _text(sheet: Any, value: str, *, bold: bool = False) -> Any:
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    # A name or a note starting with "=" must stay text, never run as a formula.
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _when(sheet: Any, moment: dt.datetime | None) -> Any:
    if moment is None:
        return None
    cell = WriteOnlyCell(sheet, value=timezone.localtime(moment).replace(tzinfo=None))
    cell.number_format = "yyyy-mm-dd hh:mm"
    return cell


def workbook(notice: Notice) -> tuple[bytes, int]:
    """The workbook's bytes and the number of people in it."""
    book = Workbook(write_only=True)
    mode = notice.receipt_mode

    summary = book.create_sheet(_("按部门汇总"))
    summary.column_dimensions["A"].width = 24
    summary.append([_text(summary, notice.title, bold=True)])
    when = timezone.localtime(notice.starts_at).strftime("%Y-%m-%d %H:%M") if notice.starts_at else ""
    summary.append(
        [_text(summary, _("时间：%(when)s  地点：%(place)s") % {"when": when, "place": notice.place})]
    )
    summary.append(
        [_text(summary, _("密级：%(level)s") % {"level": classification.label(notice.classification)})]
    )
    summary.append([])
    headers = [_("部门"), _("应收人数"), _("已读"), _("未读")]
    if mode == ReceiptMode.READ:
        headers += [_("已确认"), _("未确认")]
    elif mode == ReceiptMode.ATTEND:
        headers += [_("参加"), _("不参加"), _("未回复")]
    if notice.signin_enabled:
        headers.append(_("已签到"))
    summary.append([_text(summary, header, bold=True) for header in headers])

    def numbers(totals: selectors.Totals) -> list[int]:
        values = [totals.recipients, totals.read, totals.unread]
        if mode == ReceiptMode.READ:
            values += [totals.confirmed, totals.unanswered]
        elif mode == ReceiptMode.ATTEND:
            values += [totals.attend, totals.decline, totals.unanswered]
        if notice.signin_enabled:
            values.append(totals.signed_in)
        return values

    for unit in selectors.receipt_units(notice):
        summary.append([_text(summary, unit.name), *numbers(unit.totals)])
    summary.append([_text(summary, _("合计"), bold=True), *numbers(selectors.receipt_totals(notice))])

    people = book.create_sheet(_("回执名单"))
    for column, width in zip("ABCDEFGHI", (20, 12, 14, 18, 18, 10, 18, 30, 18), strict=True):
        people.column_dimensions[column].width = width
    headers = [_("部门"), _("姓名"), _("用户名"), _("阅读时间")]
    if mode == ReceiptMode.READ:
        headers += [_("确认时间")]
    elif mode == ReceiptMode.ATTEND:
        headers += [_("回复时间"), _("回复"), _("备注")]
    if notice.signin_enabled:
        headers.append(_("签到时间"))
    people.append([_text(people, header, bold=True) for header in headers])
    count = 0
    for copy in selectors.receipt_people(notice).iterator(chunk_size=2000):
        row: list[Any] = [
            _text(people, copy.unit.name if copy.unit else ""),
            _text(people, copy.user.name),
            _text(people, copy.user.username),
            _when(people, copy.read_at),
        ]
        if mode == ReceiptMode.READ:
            row.append(_when(people, copy.confirmed_at))
        elif mode == ReceiptMode.ATTEND:
            row += [
                _when(people, copy.replied_at),
                _text(people, str(REPLIES.get(copy.reply, _("未回复")))),
                _text(people, copy.note),
            ]
        if notice.signin_enabled:
            row.append(_when(people, copy.signed_in_at))
        people.append(row)
        count += 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count

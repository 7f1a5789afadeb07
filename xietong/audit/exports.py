"""The Excel workbook of an audit export."""

from __future__ import annotations

import io
import json
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

from xietong.audit import actions
from xietong.audit.models import Event

# Far below Excel's 1,048,576 rows; a larger export is cut here and says so in its record.
MAX_ROWS = 100_000


def _text_cell(sheet: Any, value: str) -> Any:
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    # openpyxl turns a string starting with "=" into a formula; recorded text (a user agent,
    # an object name) must never run as one when an auditor opens the file.
    cell.data_type = "s"
    return cell


def workbook(events: QuerySet[Event]) -> tuple[bytes, int, bool]:
    """The workbook bytes, the number of records in it, and whether it was cut short."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("审计记录"))
    headers = [
        _("编号"), _("时间"), _("用户名"), _("姓名"), _("IP 地址"), _("操作代码"), _("操作"),
        _("对象类型"), _("对象编号"), _("对象名称"), _("结果"), _("详情"), _("客户端"), _("请求编号"),
        _("哈希"),
    ]  # fmt: skip
    sheet.append(headers)
    results = dict(Event.Result.choices)
    rows = 0
    truncated = False
    for event in events[: MAX_ROWS + 1].iterator(chunk_size=2000):
        if rows >= MAX_ROWS:
            truncated = True
            break
        when = WriteOnlyCell(sheet, value=timezone.localtime(event.occurred_at).replace(tzinfo=None))
        when.number_format = "yyyy-mm-dd hh:mm:ss"
        texts = [
            event.actor_username,
            event.actor_name,
            event.ip or "",
            event.action,
            actions.label_for(event.action),
            event.target_type,
            event.target_id,
            event.target_label,
            str(results.get(event.result, event.result)),
            json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
            event.user_agent,
            event.request_id,
            event.hash,
        ]
        sheet.append([event.pk, when, *(_text_cell(sheet, t) for t in texts)])
        rows += 1
    if truncated:
        note = _("记录过多，仅导出最新的 %(n)s 条；请缩小筛选范围后分批导出。") % {"n": MAX_ROWS}
        sheet.append([_text_cell(sheet, note)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), rows, truncated

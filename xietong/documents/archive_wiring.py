"""Registrations of the archive part of the 公文 module: its audit actions (imported with the
services), the notification kind, and the weekly fixity check of the whole archive
(DA/T 70-2018 长期保存 检测: re-verify on a schedule)."""

from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from xietong.core import access, worklist
from xietong.documents import archive, incoming, organs, outgoing, registers  # noqa: F401 - audit actions
from xietong.documents.permissions import ARCHIVE
from xietong.notify.kinds import register_kind

logger = logging.getLogger(__name__)

VERIFY_FAILED = "documents.archive_failed"
register_kind(VERIFY_FAILED, _("电子档案校验失败"), _("定期校验发现电子档案文件缺失或被改动"))

#: Whom a failed check is sent to: the holders of the built-in 档案管理员 role.
ARCHIVISTS = "role:archivist"


def verify_archive() -> archive.Verification:
    """Verify every 件; on a problem tell the archivists (the outcome of each item is audited)."""
    from xietong.notify.services import notify

    result = archive.verify_all()
    if result.failed:
        codes = sorted(result.failed)
        shown = "、".join(codes[:10]) + ("……" if len(codes) > 10 else "")
        notify(
            recipients=[ARCHIVISTS],
            kind=VERIFY_FAILED,
            title=str(_("电子档案校验发现 %(count)s 件异常")) % {"count": len(codes)},
            body=str(_("以下档案的文件缺失或已被改动，请核查：%(codes)s")) % {"codes": shown},
            link="/documents/archive/?verified=failed",
            urgency="urgent",
        )
        logger.warning(
            "documents.archive.verify_failed", extra={"failed": len(codes), "checked": result.checked}
        )
    else:
        logger.info("documents.archive.verified", extra={"checked": result.checked})
    return result


@db_periodic_task(crontab(day_of_week="0", hour="3", minute="17"))  # type: ignore[untyped-decorator]
@lock_task("documents-archive-verify")  # type: ignore[untyped-decorator]
def weekly_archive_verification() -> int:
    """Sunday night: recompute the checksums of the whole archive."""
    return len(verify_archive().failed)


def todos(user: Any, limit: int) -> worklist.WorkList:
    """待归档: finished documents the archivist may file (at most four queries, none for others)."""
    if not access.can(user, ARCHIVE):
        return worklist.WorkList()
    sent, received = archive.waiting_outgoing(user), archive.waiting_incoming(user)
    count = sent.count() + received.count()
    if not count:
        return worklist.WorkList()
    items = [
        worklist.WorkItem(
            title=document.title,
            link=outgoing.link(document),
            at=document.distributed_at,
            detail=_("发文 · %(no)s") % {"no": document.doc_no},
        )
        for document in sent[:limit]
    ]
    items += [
        worklist.WorkItem(
            title=document.title,
            link=incoming.link_of(document),
            at=document.closed_at,
            detail=_("收文 · %(no)s") % {"no": document.recv_no},
        )
        for document in received[: max(0, limit - len(items))]
    ]
    return worklist.WorkList(count=count, items=items, more=reverse("documents:archive_list"))


worklist.register_todos("documents.archive", _("待归档"), todos, icon="archive", order=35)

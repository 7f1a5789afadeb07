"""Registrations of 发文: the engine hook of both flows, notification kinds and the to-dos of
clerks (复核, 登记, 用印, 分发) and drafters (returned drafts)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xietong.core import access, worklist
from xietong.documents import flows, outgoing, selectors_outgoing
from xietong.documents.models import OutgoingState
from xietong.documents.permissions import USE
from xietong.notify.kinds import register_kind
from xietong.workflow import hooks
from xietong.workflow.models import Instance

register_kind(
    outgoing.KIND_RETURNED, gettext_lazy("公文被退回"), gettext_lazy("拟稿的公文在审批中被退回或撤回。")
)
register_kind(outgoing.KIND_SIGNED, gettext_lazy("公文已签发"), gettext_lazy("拟稿的公文已由领导签发。"))
register_kind(
    outgoing.KIND_WAITING,
    gettext_lazy("待办发文"),
    gettext_lazy("发文机关的公文等待复核、登记、用印或分发。"),
)

hooks.on_finished(flows.OUTGOING, outgoing.on_finished)
hooks.on_finished(flows.RESIGN, outgoing.on_finished)
hooks.on_returned(flows.OUTGOING, outgoing.on_returned)
hooks.on_resubmitted(flows.OUTGOING, outgoing.on_resubmitted)


def _document_link(instance: Instance) -> tuple[str, str] | None:
    """The approval page of a 发文 leads to the document itself (its text and attachments)."""
    number = str((instance.data or {}).get("document", ""))  # a number field: kept as text
    if not number.isdigit():
        return None
    return _("查看公文"), reverse("documents:outgoing_detail", args=[int(number)])


hooks.on_related(flows.OUTGOING, _document_link)
hooks.on_related(flows.RESIGN, _document_link)

_STEP: dict[str, Any] = {
    OutgoingState.SIGNED: gettext_lazy("待复核"),
    OutgoingState.CHECKED: gettext_lazy("待登记"),
    OutgoingState.REGISTERED: gettext_lazy("待用印"),
    OutgoingState.SEALED: gettext_lazy("待分发"),
}


def todos(user: Any, limit: int) -> worklist.WorkList:
    """发文 waiting for me: office steps in my units, and my drafts returned (four queries)."""
    if not access.can(user, USE):
        return worklist.WorkList()
    office = selectors_outgoing.clerk_todo(user)
    returned = selectors_outgoing.returned_drafts(user)
    count = office.count() + returned.count()
    if not count:
        return worklist.WorkList()
    items = [
        worklist.WorkItem(
            title=document.title,
            link=outgoing.link(document),
            at=document.updated_at,
            urgent=bool(document.urgency),
            detail=str(_STEP.get(document.state, "")),
        )
        for document in office[:limit]
    ]
    items += [
        worklist.WorkItem(
            title=document.title,
            link=outgoing.link(document),
            at=document.updated_at,
            detail=_("被退回的草稿"),
        )
        for document in returned[: max(0, limit - len(items))]
    ]
    return worklist.WorkList(count=count, items=items, more=reverse("documents:home"))


worklist.register_todos("documents.outgoing", gettext_lazy("待办发文"), todos, icon="send", order=30)

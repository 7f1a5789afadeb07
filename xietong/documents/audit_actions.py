"""Audit action codes written by the 公文 module, with their labels.

Security-relevant steps only: numbering, voiding, views/downloads/prints of classified
documents, archiving and verification. The ordinary steps are in ``DocumentEvent``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

# 发文
OUTGOING_REGISTERED = "documents.outgoing.registered"
OUTGOING_NUMBER_VOIDED = "documents.outgoing.number_voided"
OUTGOING_SEALED = "documents.outgoing.sealed"
OUTGOING_DISTRIBUTED = "documents.outgoing.distributed"
OUTGOING_REVOKED = "documents.outgoing.revoked"
OUTGOING_ABOLISHED = "documents.outgoing.abolished"
OUTGOING_VIEWED = "documents.outgoing.viewed"
OUTGOING_DOWNLOADED = "documents.outgoing.downloaded"

register(OUTGOING_REGISTERED, _("发文登记编号"))
register(OUTGOING_NUMBER_VOIDED, _("作废发文字号"))
register(OUTGOING_SEALED, _("发文用印"))
register(OUTGOING_DISTRIBUTED, _("分发公文"))
register(OUTGOING_REVOKED, _("撤销公文"))
register(OUTGOING_ABOLISHED, _("废止公文"))
register(OUTGOING_VIEWED, _("查看涉密发文"))
register(OUTGOING_DOWNLOADED, _("下载涉密发文"))

# 收文
INCOMING_VIEWED = "documents.incoming.viewed"
INCOMING_DOWNLOADED = "documents.incoming.downloaded"

register(INCOMING_VIEWED, _("查看涉密收文"))
register(INCOMING_DOWNLOADED, _("下载涉密收文"))

# 档案
ARCHIVE_CREATED = "documents.archive.created"
ARCHIVE_VERIFIED = "documents.archive.verified"
ARCHIVE_DOWNLOADED = "documents.archive.downloaded"

register(ARCHIVE_CREATED, _("公文归档"))
register(ARCHIVE_VERIFIED, _("校验档案"))
register(ARCHIVE_DOWNLOADED, _("下载涉密档案"))

"""Audit action codes written by the files app, with their labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

UPLOAD_REFUSED = "files.upload.refused"

register(UPLOAD_REFUSED, _("拒绝上传未通过安全扫描的文件"))

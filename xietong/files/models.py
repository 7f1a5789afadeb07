"""Stored uploads: one row per file that passed the checks (name moderated, content scanned),
whatever module it belongs to. The owning module decides who may read it and links to it by
foreign key; this app stores, scans, checksums and serves the bytes.

Write through ``xietong.files.services`` only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


class StoredFile(models.Model):
    #: The public handle of the file, so that ids cannot be counted through.
    key = models.UUIDField(_("文件标识"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("文件名"), max_length=255)
    #: The path inside the default storage.
    blob = models.CharField(_("存储路径"), max_length=500)
    size = models.PositiveBigIntegerField(_("大小"))
    content_type = models.CharField(_("类型"), max_length=128)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    #: The module and use it was uploaded for, e.g. ``portal.attachment``.
    context = models.CharField(_("用途"), max_length=64)
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    #: Which scanner passed it (``clamd``, ``builtin``), kept for the record.
    scanned_by = models.CharField(_("扫描引擎"), max_length=32)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("文件")
        verbose_name_plural = _("文件")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

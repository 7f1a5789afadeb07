"""The audit trail: one append-only, hash-chained row per security-relevant action.

Rows are written only by ``services.record``; nothing updates or deletes them except the
retention job in ``services.archive_expired``, which first exports them to a checksummed file.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xietong.audit.chain import event_hash
from xietong.core import clock


class AppendOnlyError(Exception):
    """An attempt to change or remove an audit record outside the retention job."""

    def __init__(self, message: str = "审计记录只能追加，不能修改或删除。") -> None:
        super().__init__(message)


class EventQuerySet(models.QuerySet["Event"]):
    # Bulk writes skip ``Event.save`` and so the hash chain: refuse them all.
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError

    def delete(self) -> NoReturn:
        raise AppendOnlyError

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError

    def purge(self) -> int:
        """Delete these rows for real. Only ``services.archive_expired`` may call this,
        after the rows are exported and inside its transaction (see the PostgreSQL trigger)."""
        deleted, _per_model = models.QuerySet.delete(self)
        return deleted


class Event(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", _("成功")
        FAILURE = "failure", _("失败")
        DENIED = "denied", _("拒绝")

    occurred_at = models.DateTimeField(_("时间"), default=clock.now, db_index=True)
    # A soft reference: the account may be renamed or removed later, the record must stay as
    # it was, so there is no database constraint and the name fields keep copies.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(_("用户名"), max_length=64, blank=True)
    actor_name = models.CharField(_("姓名"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("客户端"), max_length=512, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    # db_index (not Meta.indexes) so that PostgreSQL also gets the pattern-ops index that
    # serves the prefix filter (``action LIKE 'identity.%'``).
    action = models.CharField(_("操作"), max_length=100, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target_label = models.CharField(_("对象名称"), max_length=255, blank=True)
    result = models.CharField(_("结果"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(_("前一条哈希"), max_length=64)
    hash = models.CharField(_("哈希"), max_length=64)

    objects = EventQuerySet.as_manager()

    class Meta:
        db_table = "audit_event"
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_event_target_idx"),
        ]
        constraints = [
            # No two records may follow the same record: should the append lock ever fail, a
            # second writer gets an error instead of silently forking the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_event_one_successor"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError
        # A row that does not carry the hash of its own content was not written through
        # ``services.record`` and would break the chain.
        if not self.prev_hash or self.hash != event_hash(self):
            raise ValueError("审计记录必须通过 xietong.audit.services.record 写入")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError


class ChainHead(models.Model):
    """The single row that names the newest record; appends lock it to stay in one line."""

    last_hash = models.CharField(max_length=64)
    last_event_id = models.BigIntegerField(null=True)

    class Meta:
        db_table = "audit_chain_head"

    def __str__(self) -> str:
        return self.last_hash


class Archive(models.Model):
    """One run of the retention job: which records left the table, where they went, and the
    hash of the last of them, from which ``verify`` resumes the chain."""

    created_at = models.DateTimeField(_("归档时间"), default=clock.now)
    cutoff = models.DateTimeField(_("截止时间"))
    file_name = models.CharField(_("文件"), max_length=255)
    sha256 = models.CharField(_("文件校验值"), max_length=64)
    count = models.PositiveIntegerField(_("记录数"))
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_archive"
        verbose_name = _("审计归档")
        verbose_name_plural = _("审计归档")

    def __str__(self) -> str:
        return self.file_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError

"""Accounts. One account is one employee; an administrator creates it (no sign-up)."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


def fold_username(value: str) -> str:
    """The form in which two login names are compared: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", value).casefold().strip()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=fold_username(username or ""))

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(username=fold_username(username), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("name", username)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    username = models.CharField(_("用户名"), max_length=64, unique=True)
    employee_no = models.CharField(_("工号"), max_length=32, unique=True, null=True, blank=True)
    name = models.CharField(_("姓名"), max_length=64)
    email = models.EmailField(_("电子邮箱"), blank=True)
    mobile = models.CharField(_("手机号码"), max_length=20, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)
    is_staff = models.BooleanField(_("管理员"), default=False)
    date_joined = models.DateTimeField(_("创建时间"), default=clock.now)
    must_change_password = models.BooleanField(
        _("须修改密码"), default=True, help_text=_("初始密码或重置后的密码只能使用一次")
    )
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="identity_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.username}）" if self.name else self.username

    def clean(self) -> None:
        super().clean()
        self.username = fold_username(self.username)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

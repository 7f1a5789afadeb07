"""Password rules beyond Django's validators (R-03)."""

from __future__ import annotations

import string
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SPECIAL_CHARACTERS = set(string.punctuation + " ")


class CharacterClassValidator:
    """Require upper case, lower case, digits and special characters, naming what is missing."""

    def validate(self, password: str, user: Any = None) -> None:
        missing = []
        if not any(c.isupper() for c in password):
            missing.append(_("大写字母"))
        if not any(c.islower() for c in password):
            missing.append(_("小写字母"))
        if not any(c.isdigit() for c in password):
            missing.append(_("数字"))
        if not any(c in SPECIAL_CHARACTERS for c in password):
            missing.append(_("特殊字符"))
        if missing:
            raise ValidationError(
                _("密码必须包含%(classes)s。") % {"classes": "、".join(missing)},
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        return _("密码必须同时包含大写字母、小写字母、数字和特殊字符。")


# Django 5.2 changed the messages of its own validators and its Chinese catalogue lags
# behind; ours carry Chinese source strings so the rule that failed is always named.
class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return _("密码太短，至少需要 %(min_length)d 个字符。") % {"min_length": self.min_length}

    def get_help_text(self) -> str:
        return _("密码至少需要 %(min_length)d 个字符。") % {"min_length": self.min_length}


class UserAttributeSimilarityValidator(password_validation.UserAttributeSimilarityValidator):
    DEFAULT_USER_ATTRIBUTES = ("username", "name", "employee_no", "email", "mobile")

    def get_error_message(self) -> str:
        return _("密码与%(verbose_name)s过于相似。")

    def get_help_text(self) -> str:
        return _("密码不能与用户名、姓名等个人信息相似。")


class CommonPasswordValidator(password_validation.CommonPasswordValidator):
    def get_error_message(self) -> str:
        return _("密码过于常见，容易被猜中。")

    def get_help_text(self) -> str:
        return _("不能使用常见密码。")


class NumericPasswordValidator(password_validation.NumericPasswordValidator):
    def get_error_message(self) -> str:
        return _("密码不能全部是数字。")

    def get_help_text(self) -> str:
        return _("密码不能全部是数字。")

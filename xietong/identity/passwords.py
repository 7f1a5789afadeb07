"""Password rules beyond Django's validators (R-03)."""

from __future__ import annotations

import string
from typing import Any

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

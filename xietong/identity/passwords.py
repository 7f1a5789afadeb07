"""Password rules beyond Django's validators (R-03, R-04, R-05; IA-02, IA-03).

Every validator that depends on a number or a switch reads it from
``xietong.identity.policy.current()`` at validation time, so a change of the policy applies
to the next password without a restart. The order in ``AUTH_PASSWORD_VALIDATORS`` is the
order of the messages the user sees.
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from pathlib import Path
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from xietong.identity import policy
from xietong.identity.models import PasswordHistory

OUR_COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
# Personal words shorter than this are too common as fragments to forbid (张伟 → "zw").
MIN_PERSONAL_WORD = 3
# A common word still counts when digits or symbols are only stuck on ("Admin@123").
MIN_STRIPPED_WORD = 4
_AFFIXES = string.digits + string.punctuation + " "
# The usual letter-for-symbol swaps: "P@ssw0rd" is "password".
_LEET = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"}
)


def _is_special(char: str) -> bool:
    # Punctuation, spaces, full-width symbols and emoji all count; Chinese characters are
    # letters of no case, so they count towards no class.
    return not char.isalnum()


class CharacterClassValidator:
    """Require upper case, lower case, digits and special characters, naming what is missing."""

    def validate(self, password: str, user: Any = None) -> None:
        if not policy.current().require_classes:
            return
        missing = []
        if not any(c.isupper() for c in password):
            missing.append(_("大写字母"))
        if not any(c.islower() for c in password):
            missing.append(_("小写字母"))
        if not any(c.isdigit() for c in password):
            missing.append(_("数字"))
        if not any(_is_special(c) for c in password):
            missing.append(_("特殊字符"))
        if missing:
            raise ValidationError(
                _("密码必须包含%(classes)s。") % {"classes": "、".join(missing)},
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        if not policy.current().require_classes:
            return ""
        return _("密码必须同时包含大写字母、小写字母、数字和特殊字符。")


# Django 5.2 changed the messages of its own validators and its Chinese catalogue lags
# behind; ours carry Chinese source strings so the rule that failed is always named.
class MinimumLengthValidator:
    """At least the policy's minimum; the length is counted in characters, as typed."""

    def __init__(self, min_length: int | None = None) -> None:
        # The number comes from the policy; an OPTIONS value in settings is ignored.
        del min_length

    @property
    def min_length(self) -> int:
        return policy.current().min_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(self.get_error_message(), code="password_too_short")

    def get_error_message(self) -> str:
        return _("密码太短，至少需要 %(min_length)d 个字符。") % {"min_length": self.min_length}

    def get_help_text(self) -> str:
        return _("密码至少需要 %(min_length)d 个字符。") % {"min_length": self.min_length}


class MaximumLengthValidator:
    """Up to 128 characters, refused rather than silently cut (IA-03)."""

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > policy.MAX_PASSWORD_LENGTH:
            raise ValidationError(
                _("密码太长，最多 %(max_length)d 个字符。") % {"max_length": policy.MAX_PASSWORD_LENGTH},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return ""


class UserAttributeSimilarityValidator(password_validation.UserAttributeSimilarityValidator):
    DEFAULT_USER_ATTRIBUTES = ("username", "name", "employee_no", "email", "mobile")

    def get_error_message(self) -> str:
        return _("密码与%(verbose_name)s过于相似。")

    def get_help_text(self) -> str:
        return _("密码不能与用户名、姓名等个人信息相似。")


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def personal_words(user: Any) -> list[tuple[str, str]]:
    """(word, what it is) pairs a password of ``user`` must not contain, lower case."""
    words: list[tuple[str, str]] = []

    def add(word: str, label: str) -> None:
        if len(word) >= MIN_PERSONAL_WORD:
            words.append((word, label))

    add(_letters(getattr(user, "username", "") or ""), _("用户名"))
    add(_letters(getattr(user, "employee_no", "") or ""), _("工号"))
    name = (getattr(user, "name", "") or "").strip()
    if name:
        written = _letters(name)
        # Two Chinese characters are a whole name; two Latin letters are just a fragment.
        if len(written) >= MIN_PERSONAL_WORD or (len(written) == 2 and not written.isascii()):
            words.append((written, _("姓名")))
        syllables = [_letters(s) for s in lazy_pinyin(name)]
        syllables = [s for s in syllables if s]
        if syllables:
            add("".join(syllables), _("姓名拼音"))
            add("".join(syllables[1:] + syllables[:1]), _("姓名拼音"))  # given name first: "weizhang"
            add("".join(s[0] for s in syllables), _("姓名拼音首字母"))
    mobile = re.sub(r"\D", "", getattr(user, "mobile", "") or "")
    if len(mobile) >= 7:
        words.append((mobile, _("手机号码")))
    email = (getattr(user, "email", "") or "").partition("@")[0]
    add(_letters(email), _("电子邮箱名"))
    return words


class PersonalInfoValidator:
    """Not the username, 工号, name, name pinyin (full or initials), phone or e-mail name (R-04).

    Compared case-insensitively, with separators removed and common symbol swaps undone, so
    "Zh@ng.Wei2026" is caught for 张伟 as well as "zhangwei".
    """

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        folded = password.casefold()
        variants = {folded, _letters(folded), folded.translate(_LEET), _letters(folded.translate(_LEET))}
        for word, label in personal_words(user):
            if any(word in variant for variant in variants):
                raise ValidationError(
                    _("密码不能包含%(item)s。") % {"item": label}, code="password_personal_info"
                )

    def get_help_text(self) -> str:
        return _("密码不能包含用户名、工号、姓名或姓名拼音。")


@functools.cache
def common_passwords() -> frozenset[str]:
    """Django's list of 20,000 (read from Django itself, not copied) and ours of common
    Chinese choices, lower case."""
    django_list = password_validation.CommonPasswordValidator().passwords
    ours = {
        line.strip().casefold()
        for line in OUR_COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("# ")
    }
    return frozenset(django_list | ours)


def _common_candidates(password: str) -> set[str]:
    """The forms in which a password is looked up: as typed, and with digits and symbols
    stripped from either end ("Huadian@123" → "huadian"), each also with symbol swaps undone."""
    folded = password.casefold().strip()
    stripped = {
        folded.rstrip(string.punctuation + " "),
        folded.rstrip(_AFFIXES),
        folded.lstrip(_AFFIXES),
        folded.strip(_AFFIXES),
    }
    candidates = {folded, folded.translate(_LEET)}
    for word in stripped:
        if len(word) >= MIN_STRIPPED_WORD:
            candidates |= {word, word.translate(_LEET)}
    return candidates


class CommonPasswordValidator:
    """Not a common or breached password, including common Chinese ones (R-04; IA-02)."""

    def validate(self, password: str, user: Any = None) -> None:
        if _common_candidates(password) & common_passwords():
            raise ValidationError(self.get_error_message(), code="password_too_common")

    def get_error_message(self) -> str:
        return _("密码过于常见，容易被猜中。")

    def get_help_text(self) -> str:
        return _("不能使用常见密码。")


# Keys next to each other on a US keyboard (as used in China), along rows and both slants
# of the columns, plus the alphabet, the digits and the numeric keypad.
_KEY_LINES = (
    "1234567890-=",
    "qwertyuiop[]",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "1qaz",
    "2wsx",
    "3edc",
    "4rfv",
    "5tgb",
    "6yhn",
    "7ujm",
    "8ik,",
    "9ol.",
    "0p;/",
    "2q",
    "3wa",
    "4esz",
    "5rdx",
    "6tfc",
    "7ygv",
    "8uhb",
    "9ijn",
    "0okm",
    "-pl,",
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "789",
    "456",
    "147",
    "258",
    "369",
    "159",
    "357",
)
_NEIGHBOURS = frozenset(
    pair for line in _KEY_LINES for a, b in itertools.pairwise(line) for pair in ((a, b), (b, a))
)
_UNSHIFT = str.maketrans(dict(zip("!@#$%^&*()_+", "1234567890-=", strict=True)))
# Four in a row make a walk ("qwer", "1qaz", "abcd"); three ("str", "opq") occur in plain words.
MIN_RUN = 4


def keyboard_run_share(password: str) -> float:
    """The share of the characters that belong to runs of neighbouring keys or letters."""
    keys = password.casefold().translate(_UNSHIFT)
    if not keys:
        return 0.0
    covered, start = 0, 0
    for i in range(1, len(keys) + 1):
        if i < len(keys) and (keys[i - 1], keys[i]) in _NEIGHBOURS:
            continue
        if i - start >= MIN_RUN:
            covered += i - start
        start = i
    return covered / len(keys)


class PatternValidator:
    """No keyboard walks (qwertyuiop, 1qaz2wsx), runs (abcd, 1234) or repeats (aaaa, abcabc)."""

    def validate(self, password: str, user: Any = None) -> None:
        if re.search(r"(.)\1{3,}", password) or (len(password) > 1 and password in (password * 2)[1:-1]):
            raise ValidationError(
                _("密码不能包含 4 个以上连续相同的字符，也不能由同一段字符重复组成。"),
                code="password_repeated",
            )
        if keyboard_run_share(password) >= 0.5:
            raise ValidationError(
                _("密码不能以键盘上相邻的按键或连续的字母、数字为主（如 qwertyuiop、1qaz2wsx、abcd1234）。"),
                code="password_keyboard_run",
            )

    def get_help_text(self) -> str:
        return _("不能使用键盘连续按键或重复字符。")


class NumericPasswordValidator(password_validation.NumericPasswordValidator):
    """Only with the composition rules: the ``asvs`` profile accepts any long password."""

    def validate(self, password: str, user: Any = None) -> None:
        if policy.current().require_classes:
            super().validate(password, user)

    def get_error_message(self) -> str:
        return _("密码不能全部是数字。")

    def get_help_text(self) -> str:
        return ""


class PasswordHistoryValidator:
    """Not one of the last N passwords, the current one included (R-05)."""

    def validate(self, password: str, user: Any = None) -> None:
        count = policy.current().history_count
        if not count or user is None or user.pk is None:
            return
        recent = list(
            PasswordHistory.objects.filter(user=user)
            .order_by("-created_at", "-id")
            .values_list("password", flat=True)[:count]
        )
        # Accounts from before the history (or set outside the services) still have one.
        current = getattr(user, "password", "")
        if current and current not in recent:
            recent = [current, *recent[: count - 1]]
        if any(check_password(password, encoded) for encoded in recent):
            raise ValidationError(
                _("新密码不能与最近 %(count)d 次使用过的密码相同。") % {"count": count},
                code="password_reused",
            )

    def get_help_text(self) -> str:
        count = policy.current().history_count
        if not count:
            return ""
        return _("不能与最近 %(count)d 次使用过的密码相同。") % {"count": count}


def help_texts() -> list[str]:
    """The non-empty help texts of the configured validators, for forms."""
    return [text for text in password_validation.password_validators_help_texts() if text]

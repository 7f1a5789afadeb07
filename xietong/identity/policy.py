"""The password policy as the rest of the code reads it (R-03, R-04, R-05, R-24).

``current()`` is the one selector: the validators, the expiry middleware, the warning bar and
the services all call it. It is cached in Django's cache (shared between processes when
Redis is configured), so a request costs one query at most, and ``PasswordPolicy.save``
drops the cache so that a change applies on the next request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from xietong.core import clock
from xietong.core.errors import DomainError

logger = logging.getLogger(__name__)

DENGBAO = "dengbao"
ASVS = "asvs"
MAX_PASSWORD_LENGTH = 128  # IA-03: long passphrases are accepted exactly as typed
ASVS_MIN_LENGTH = 12

_CACHE_KEY = "identity:password-policy:v1"
# With Redis the cache is shared and the delete on save reaches every process. With the
# embedded per-process memory cache it does not, so entries also expire on their own: a
# change reaches other processes within this many seconds at the latest.
_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Policy:
    profile: str = DENGBAO
    min_length: int = 10
    require_classes: bool = True
    expiry_days: int = 90  # 0: never
    warn_days: int = 14
    history_count: int = 5  # including the current password; 0: not checked
    min_change_interval_hours: int = 24  # 0: no limit

    @property
    def expires(self) -> bool:
        return self.expiry_days > 0


# What each profile starts from; the security administrator may tune the numbers within
# ``validation_errors``. ASVS 4.0.3 §2.1.10 rules out rotation and history requirements,
# §2.1.9 composition rules, so the ``asvs`` profile switches all of those off.
PROFILE_DEFAULTS: dict[str, Policy] = {
    DENGBAO: Policy(),
    ASVS: Policy(
        profile=ASVS,
        min_length=ASVS_MIN_LENGTH,
        require_classes=False,
        expiry_days=0,
        warn_days=0,
        history_count=0,
        min_change_interval_hours=0,
    ),
}
FIELDS = tuple(f.name for f in fields(Policy))

# (minimum, maximum) of each number the security administrator can set.
RANGES: dict[str, tuple[int, int]] = {
    "min_length": (8, MAX_PASSWORD_LENGTH),
    "expiry_days": (0, 365),
    "warn_days": (0, 60),
    "history_count": (0, 24),
    "min_change_interval_hours": (0, 168),
}


class PolicyInvalidError(DomainError):
    """Refused policy values, field by field (the API's ``validation_error`` body)."""

    status = 422
    code = "validation_error"

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(
            _("密码策略设置有误，请检查后重试。"),
            details=[{"field": name, "message": message} for name, message in errors.items()],
        )


def current() -> Policy:
    """The policy in force: from the cache, else one query (and the defaults without a row)."""
    cached = cache.get(_CACHE_KEY)
    if isinstance(cached, dict):
        try:
            return Policy(**cached)
        except TypeError:  # written by another release with other fields: read again
            pass
    from xietong.identity.models import PasswordPolicy  # models imports this module

    row = PasswordPolicy.objects.filter(pk=PasswordPolicy.SINGLETON_ID).values(*FIELDS).first()
    policy = Policy(**row) if row else PROFILE_DEFAULTS[DENGBAO]
    cache.set(_CACHE_KEY, asdict(policy), _CACHE_SECONDS)
    return policy


def invalidate() -> None:
    """Drop the cached policy now and again when the transaction commits: a request reading
    between the save and the commit would otherwise cache the old row again."""
    cache.delete(_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(_CACHE_KEY))


def validation_errors(values: dict[str, Any]) -> dict[str, str]:
    """Field → Chinese message for every value the policy cannot take; empty when valid."""
    errors: dict[str, str] = {}
    profile = values.get("profile")
    if profile not in PROFILE_DEFAULTS:
        errors["profile"] = _("策略配置只能是 dengbao（等保）或 asvs。")
    for name, (low, high) in RANGES.items():
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name] = _("应为 %(low)d 到 %(high)d 之间的整数。") % {"low": low, "high": high}
    if not isinstance(values.get("require_classes"), bool):
        errors["require_classes"] = _("应为是或否。")
    if errors:
        return errors

    if profile == ASVS:
        # Said field by field, so the administrator sees what the profile does not allow.
        if values["min_length"] < ASVS_MIN_LENGTH:
            errors["min_length"] = _("ASVS 配置要求最小长度不少于 %(n)d 个字符。") % {"n": ASVS_MIN_LENGTH}
        if values["require_classes"]:
            errors["require_classes"] = _("ASVS 配置不使用字符类别要求。")
        if values["expiry_days"]:
            errors["expiry_days"] = _("ASVS 配置不要求定期更换密码，有效期应为 0。")
        if values["warn_days"]:
            errors["warn_days"] = _("密码不过期时无需提前提醒，应为 0。")
        if values["history_count"]:
            errors["history_count"] = _("ASVS 配置不检查历史密码，应为 0。")
        if values["min_change_interval_hours"]:
            errors["min_change_interval_hours"] = _("ASVS 配置不限制修改间隔，应为 0。")
        return errors

    expiry = values["expiry_days"]
    if expiry and values["warn_days"] >= expiry:
        errors["warn_days"] = _("提前提醒天数应小于有效期天数。")
    if expiry and values["min_change_interval_hours"] >= expiry * 24:
        errors["min_change_interval_hours"] = _("修改间隔应短于密码有效期。")
    return errors


# -- expiry (R-05) ------------------------------------------------------------------------------


def password_set_at(user: Any) -> dt.datetime:
    """When the current password was set; accounts without a recorded change count from
    their creation, so an old account is not exempt from expiry."""
    changed: dt.datetime | None = getattr(user, "password_changed_at", None)
    joined: dt.datetime = user.date_joined
    return changed or joined


def expires_at(user: Any, policy: Policy | None = None) -> dt.datetime | None:
    policy = policy or current()
    if not policy.expires:
        return None
    return password_set_at(user) + dt.timedelta(days=policy.expiry_days)


def password_expired(user: Any, policy: Policy | None = None, now: dt.datetime | None = None) -> bool:
    end = expires_at(user, policy)
    return end is not None and end <= (now or clock.now())


def days_until_expiry(user: Any, policy: Policy | None = None) -> int | None:
    """Whole days left when the warning period has begun (0: expires within a day), else None."""
    policy = policy or current()
    end = expires_at(user, policy)
    if end is None:
        return None
    left = end - clock.now()
    if left <= dt.timedelta(0) or left > dt.timedelta(days=policy.warn_days):
        return None
    return left.days


def change_forced(user: Any, policy: Policy | None = None) -> bool:
    """Whether the user must replace the password before doing anything else (R-05, R-06)."""
    return bool(getattr(user, "must_change_password", False)) or password_expired(user, policy)


# -- once a day (R-05: rotating through the history in one sitting defeats it) ------------------


def next_change_allowed_at(user: Any, policy: Policy | None = None) -> dt.datetime | None:
    """When the user may choose a new password again, or None when they may now.

    Only the user's own choices count (not administrator resets), and a forced change is
    always allowed: the first login, after a reset, and after expiry.
    """
    policy = policy or current()
    if not policy.min_change_interval_hours or user.pk is None or change_forced(user, policy):
        return None
    from xietong.identity.models import PasswordHistory  # models imports this module

    last = (
        PasswordHistory.objects.filter(
            user=user, kind__in=(PasswordHistory.Kind.CHANGE, PasswordHistory.Kind.LINK)
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return None
    allowed = last + dt.timedelta(hours=policy.min_change_interval_hours)
    return allowed if allowed > clock.now() else None

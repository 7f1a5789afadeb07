"""Keeps ``StaffProfile`` beside every account.

Accounts are saved by several apps (identity's commands, the demo, a later LDAP sync, this
app's services); a receiver here reaches them all, so the directory finds every person by
pinyin without each of those apps knowing that the directory exists.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from xietong.identity.models import User
from xietong.org import pinyin
from xietong.org.models import StaffProfile


def keep_staff_profile(
    sender: type[User],
    instance: User,
    created: bool,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw:
        return  # fixtures bring their own rows
    if not created and update_fields is not None and "name" not in update_fields:
        return  # e.g. the last-login stamp of every sign-in: nothing to recompute
    full, initials = pinyin.person_keys(instance.name)
    if created:
        StaffProfile.objects.get_or_create(
            user_id=instance.pk, defaults={"name_pinyin": full, "name_initials": initials}
        )
        return
    updated = StaffProfile.objects.filter(user_id=instance.pk).update(
        name_pinyin=full, name_initials=initials
    )
    if not updated:
        StaffProfile.objects.create(user_id=instance.pk, name_pinyin=full, name_initials=initials)


def connect() -> None:
    post_save.connect(keep_staff_profile, sender=User, dispatch_uid="org.keep_staff_profile")

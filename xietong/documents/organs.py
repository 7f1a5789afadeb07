"""发文机关: the organs that issue documents, with their 机关代字, 署名, 标志 and 印发机关.

Kept by the 文秘 of the organ's unit (``documents.clerk``). The 机关代字 is Chinese characters
only (9704 §7.2.4, e.g. 协同办发) and unique; once an organ has given numbers its 代字 is
fixed, because the numbers already issued carry it.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xietong.audit.actions import register as register_action
from xietong.audit.services import record
from xietong.core import access
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.documents.models import IssuingOrgan, OutgoingDocument
from xietong.documents.permissions import CLERK
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.org.models import OrgUnit

ORGAN_CREATED = "documents.organ.created"
ORGAN_UPDATED = "documents.organ.updated"
register_action(ORGAN_CREATED, gettext_lazy("新建发文机关"))
register_action(ORGAN_UPDATED, gettext_lazy("修改发文机关"))

#: 机关代字: CJK ideographs only (no digits, Latin letters or brackets — 9704 §7.2.4).
ORGAN_CODE = re.compile(r"^[\u4e00-\u9fff]{1,20}$")
FIELDS = ("code", "name", "mark", "print_org")


class OrganInvalidError(DomainError):
    status = 422
    code = "validation_error"


def organs_for(viewer: User) -> QuerySet[IssuingOrgan]:
    """The organs of the units where ``viewer`` is a 文秘."""
    return (
        access.restrict(viewer, CLERK, IssuingOrgan.objects.all(), unit_field="unit")
        .select_related("unit")
        .order_by("code")
    )


def organ_get(viewer: User, pk: Any) -> IssuingOrgan:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError(_("发文机关不存在。")) from None
    organ = organs_for(viewer).filter(pk=number).first()
    if organ is None:
        raise NotFoundError(_("发文机关不存在或您无权管理。"))
    return organ


def units_for(viewer: User) -> QuerySet[OrgUnit]:
    """The units ``viewer`` may set up organs for."""
    return access.restrict(viewer, CLERK, OrgUnit.objects.filter(is_active=True), unit_field="pk")


def _clean(values: dict[str, Any]) -> dict[str, str]:
    cleaned = {key: str(values.get(key) or "").strip() for key in FIELDS}
    errors: list[dict[str, str]] = []
    if not cleaned["code"]:
        errors.append({"field": "code", "message": _("请填写机关代字。")})
    elif not ORGAN_CODE.match(cleaned["code"]):
        errors.append(
            {"field": "code", "message": _("机关代字只能由汉字组成（不超过 20 字），如“协同办发”。")}
        )
    labels = {"name": _("发文机关署名"), "mark": _("发文机关标志"), "print_org": _("印发机关")}
    for key, label in labels.items():
        if not cleaned[key]:
            errors.append({"field": key, "message": _("请填写%(label)s。") % {"label": label}})
        elif len(cleaned[key]) > 100:
            errors.append({"field": key, "message": _("%(label)s不能超过 100 个字。") % {"label": label}})
    if errors:
        raise OrganInvalidError(errors[0]["message"], details=errors)
    return cleaned


def _screen(actor: User, cleaned: dict[str, str]) -> None:
    verdict = moderation.screen(actor=actor, fields=dict(cleaned), context="documents.organ")
    if verdict.held:
        words = "、".join(f"“{word}”" for word in verdict.words_with("hold"))
        raise DomainError(_("内容包含需审核的词语：%(words)s，请修改后再提交。") % {"words": words})


def _unit_allowed(actor: User, unit: OrgUnit) -> None:
    if not access.can_on(actor, CLERK, None, unit=unit):
        raise PermissionDeniedError(_("您不是该单位的公文管理员，不能管理其发文机关。"))


def _unique(code: str, exclude: int | None = None) -> None:
    others = IssuingOrgan.objects.filter(code=code)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        message = _("机关代字“%(code)s”已被使用。") % {"code": code}
        raise OrganInvalidError(message, details=[{"field": "code", "message": message}])


def organ_create(
    *, actor: User, unit: OrgUnit, values: dict[str, Any], request: HttpRequest | None = None
) -> IssuingOrgan:
    _unit_allowed(actor, unit)
    cleaned = _clean(values)
    _screen(actor, cleaned)
    with transaction.atomic():
        _unique(cleaned["code"])
        organ = IssuingOrgan.objects.create(
            unit=unit, is_active=bool(values.get("is_active", True)), **cleaned
        )
        record(
            actor=actor,
            action=ORGAN_CREATED,
            target=organ,
            request=request,
            details={"unit": unit.pk, **cleaned},
        )
    return organ


def organ_update(
    *, actor: User, organ: IssuingOrgan, values: dict[str, Any], request: HttpRequest | None = None
) -> IssuingOrgan:
    cleaned = _clean(values)
    _screen(actor, cleaned)
    with transaction.atomic():
        organ = IssuingOrgan.objects.select_for_update().get(pk=organ.pk)
        _unit_allowed(actor, organ.unit)
        if cleaned["code"] != organ.code:
            _unique(cleaned["code"], exclude=organ.pk)
            if OutgoingDocument.objects.filter(organ=organ, doc_no_seq__isnull=False).exists():
                message = _("该发文机关已编过发文字号，机关代字不能再修改。")
                raise OrganInvalidError(message, details=[{"field": "code", "message": message}])
        before = {key: getattr(organ, key) for key in (*FIELDS, "is_active")}
        for key, value in cleaned.items():
            setattr(organ, key, value)
        if "is_active" in values:
            organ.is_active = bool(values["is_active"])
        organ.save()
        after = {key: getattr(organ, key) for key in (*FIELDS, "is_active")}
        record(
            actor=actor,
            action=ORGAN_UPDATED,
            target=organ,
            request=request,
            details={"before": before, "after": after},
        )
    return organ

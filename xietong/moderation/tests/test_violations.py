"""The violation register (R-128) and sanctions (R-129): every blocked or rejected text is a
graded violation; repeated breaches warn, then report to the department heads; a sanction
from the catalogue takes its effect on the account."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, client_for, make_user
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.moderation import services
from xietong.moderation.models import ReviewItem, Sanction, Violation
from xietong.moderation.services import ContentBlockedError
from xietong.moderation.tests.conftest import BLOCKED
from xietong.notify.models import Notification

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


def breach(author: User, text: str = BLOCKED) -> ContentBlockedError:
    with pytest.raises(ContentBlockedError) as caught:
        services.screen(actor=author, fields={"body": f"正文：{text}。"}, context="tests.post")
    return caught.value


def notified(user: User, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(user=user, dispatch__kind=kind).select_related("dispatch"))


def test_r128_moderation_hit_creates_graded_violation(author: User, lexicon_words: Any) -> None:
    with clock.frozen_at(NOW):
        error = breach(author)
    violation = Violation.objects.get()
    assert violation.user == author
    assert (violation.source, violation.rule, violation.context) == ("moderation", "R-27", "tests.post")
    assert (violation.severity, violation.outcome, violation.occurrence) == ("minor", "blocked", 1)
    assert violation.handler is None  # handled by the system
    assert violation.created_at == NOW
    assert violation.evidence == [
        {
            "field": "body",
            "word": BLOCKED,
            "category": "违法违规",
            "excerpt": f"正文：{BLOCKED}。",
            "offset": 3,
            "length": len(BLOCKED),
        }
    ]
    # The first in 90 days: a warning, recorded and sent to the author (not to the head).
    assert violation.escalation == "warning"
    assert "此次违规已记录" in error.message
    (warning,) = notified(author, services.KIND_WARNING)
    assert BLOCKED in warning.dispatch.body


def test_r128_third_violation_in_90_days_reports_to_department_heads(
    author: User, head: User, lexicon_words: Any
) -> None:
    for day in (0, 10):
        with clock.frozen_at(NOW + dt.timedelta(days=day)):
            breach(author)
    assert not notified(head, services.KIND_REPORT)
    second = Violation.objects.order_by("created_at").last()
    assert second is not None
    assert (second.occurrence, second.severity, second.escalation) == (2, "general", "none")

    with clock.frozen_at(NOW + dt.timedelta(days=20)):
        error = breach(author)
    third = Violation.objects.order_by("created_at").last()
    assert third is not None
    assert (third.occurrence, third.severity, third.escalation) == (3, "serious", "reported")
    assert list(third.reported_to.all()) == [head]
    assert "已通报您的部门负责人" in error.message
    (report,) = notified(head, services.KIND_REPORT)
    assert "张伟" in report.dispatch.title
    assert "第 3 次" in report.dispatch.title
    assert not notified(author, services.KIND_REPORT)

    with clock.frozen_at(NOW + dt.timedelta(days=30)):
        breach(author)
    assert len(notified(head, services.KIND_REPORT)) == 2  # and on every one after


def test_violations_older_than_90_days_do_not_count(author: User, head: User, lexicon_words: Any) -> None:
    for day in (0, 60):
        with clock.frozen_at(NOW + dt.timedelta(days=day)):
            breach(author)
    with clock.frozen_at(NOW + dt.timedelta(days=95)):  # day 0 has left the window, day 60 not
        breach(author)
    latest = Violation.objects.order_by("created_at").last()
    assert latest is not None
    assert (latest.occurrence, latest.escalation) == (2, "none")
    assert not notified(head, services.KIND_REPORT)


def test_rejections_count_like_blocks(
    author: User, head: User, secadmin_user: User, lexicon_words: Any, held_item: ReviewItem
) -> None:
    breach(author)
    breach(author)
    services.review_reject(actor=secadmin_user, item=held_item, note="广告")
    rejected = Violation.objects.get(outcome="rejected")
    assert (rejected.occurrence, rejected.escalation) == (3, "reported")
    assert list(rejected.reported_to.all()) == [head]


def test_r128_violations_entered_by_hand(author: User, secadmin_user: User) -> None:
    violation = services.violation_record(
        actor=secadmin_user,
        user=author,
        rule="R-30 发送无关信息、骚扰他人",
        severity="general",
        description="多次群发与工作无关的消息。",
        link="/chat/rooms/12/",
    )
    assert (violation.source, violation.outcome, violation.handler) == ("manual", "recorded", secadmin_user)
    assert violation.severity == "general"
    assert Event.objects.filter(action=services.VIOLATION_RECORDED, actor_id=secadmin_user.pk).exists()
    with pytest.raises(DomainError, match="情况说明"):
        services.violation_record(
            actor=secadmin_user, user=author, rule="R-30", severity="minor", description=" "
        )


def test_r129_suspension_sanction_blocks_login(author: User, secadmin_user: User, lexicon_words: Any) -> None:
    signed_in = client_for(author)
    assert signed_in.get(reverse("workbench:home")).status_code == 200
    breach(author)
    violation = Violation.objects.get()

    sanction = services.sanction_record(
        actor=secadmin_user, violation=violation, kind=Sanction.Kind.SUSPENSION, note="人事〔2026〕8 号"
    )

    author.refresh_from_db()
    assert not author.is_active
    assert sanction.effect["account_disabled"] is True
    # The open session is over, and the password no longer lets in.
    assert signed_in.get(reverse("workbench:home")).status_code == 302
    login = Client().post(reverse("identity:login"), {"username": "zhangwei", "password": STRONG_PASSWORD})
    assert "_auth_user_id" not in login.wsgi_request.session
    event = Event.objects.get(action=services.SANCTION_RECORDED)
    assert (event.actor_id, event.target_id, event.details["kind"]) == (
        secadmin_user.pk,
        str(author.pk),
        "suspension",
    )


def test_r129_dismissal_disables_the_account_and_warnings_do_not(
    author: User, secadmin_user: User, lexicon_words: Any
) -> None:
    breach(author)
    violation = Violation.objects.get()
    for kind in ("verbal_warning", "written_warning", "fine", "demotion"):
        services.sanction_record(actor=secadmin_user, violation=violation, kind=kind)
        author.refresh_from_db()
        assert author.is_active, kind
    services.sanction_record(actor=secadmin_user, violation=violation, kind="dismissal")
    author.refresh_from_db()
    assert not author.is_active
    assert [s.kind for s in violation.sanctions.all()] == [
        "verbal_warning",
        "written_warning",
        "fine",
        "demotion",
        "dismissal",
    ]


def test_r129_sanctions_come_from_the_catalogue(
    author: User, secadmin_user: User, lexicon_words: Any
) -> None:
    breach(author)
    with pytest.raises(DomainError, match="处分类型"):
        services.sanction_record(actor=secadmin_user, violation=Violation.objects.get(), kind="flogging")
    assert not Sanction.objects.exists()


def test_administrators_are_not_suspended_through_moderation(
    secadmin_user: User, auditadmin_user: User, lexicon_words: Any
) -> None:
    breach(auditadmin_user)
    with pytest.raises(DomainError, match="系统管理员"):
        services.sanction_record(actor=secadmin_user, violation=Violation.objects.get(), kind="suspension")
    auditadmin_user.refresh_from_db()
    assert auditadmin_user.is_active


def test_nobody_sanctions_themselves(secadmin_user: User, lexicon_words: Any) -> None:
    breach(secadmin_user)
    with pytest.raises(DomainError, match="本人"):
        services.sanction_record(
            actor=secadmin_user, violation=Violation.objects.get(), kind="verbal_warning"
        )


def test_the_violation_pages_show_counts_and_history(
    author: User, secadmin_user: User, lexicon_words: Any
) -> None:
    breach(author)
    breach(author)
    other = make_user("lisi2", name="李四")
    breach(other)
    client = client_for(secadmin_user)
    page = client.get(reverse("moderation:violations")).content.decode()
    assert f'data-user-id="{author.pk}"' in page
    assert "张伟" in page
    history = client.get(reverse("moderation:violator", args=[author.pk])).content.decode()
    assert history.count("data-violation-id=") == 2
    violation = Violation.objects.filter(user=author).first()
    assert violation is not None
    response = client.post(
        reverse("moderation:sanction_add", args=[violation.pk]),
        {"kind": "written_warning", "note": "书面警告一次"},
    )
    assert response.status_code == 302
    assert violation.sanctions.get().kind == "written_warning"

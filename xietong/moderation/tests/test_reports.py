"""Reports of content (R-28, R-29): any user reports what they can see; the moderators get a
queue, hide the content through its app's handler or leave it, may record a violation of the
author, and the reporters hear the outcome. Insulting words are held before they are sent."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.fixtures import client_for, make_user, place
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.moderation import registry, selectors, services
from xietong.moderation.models import Report, Violation, WordCategory
from xietong.moderation.services import ContentBlockedError, ReportLimitError
from xietong.moderation.tests.conftest import BLOCKED, HELD, ReportCalls
from xietong.notify.models import Notification
from xietong.org.models import OrgUnit

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def reporter(org_tree: dict[str, OrgUnit]) -> User:
    person = make_user("zhaoliu", name="赵六")
    place(person, org_tree["production"])
    return person


@pytest.fixture
def moderator(secadmin_user: User) -> User:
    """The security administrator holds ``moderation.manage`` over the whole group."""
    return secadmin_user


def notified(user: User, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(user=user, dispatch__kind=kind).select_related("dispatch"))


def report(actor: User, post: WordCategory, reason: str = "unrelated", note: str = "") -> Report:
    return services.report_create(actor=actor, target=post, reason=reason, note=note)


# ---------------------------------------------------------------------------


def test_r28_report_goes_to_the_queue_and_hiding_it_calls_the_handler(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author, "周末一起去钓鱼吗？带上家属。")
    with clock.frozen_at(NOW):
        filed = report(reporter, post, "unrelated", "工作群里发钓鱼邀请")

    # The snapshot is what the reporter saw.
    assert (filed.status, filed.reason, filed.note) == ("pending", "unrelated", "工作群里发钓鱼邀请")
    assert (filed.title, filed.excerpt, filed.link) == (
        post.name,
        post.description,
        f"/tests/posts/{post.pk}/",
    )
    assert (filed.author, filed.reporter, filed.created_at) == (author, reporter, NOW)
    assert filed.target_ref == f"moderation.wordcategory:{post.pk}"
    assert Event.objects.filter(action=services.REPORT_CREATED, actor_id=reporter.pk).exists()
    (alert,) = notified(moderator, services.KIND_REPORT_RECEIVED)
    assert "与工作无关" in alert.dispatch.title
    assert alert.dispatch.link == reverse("moderation:reports")
    # Neither the reporter nor the author is told of the report.
    assert not notified(reporter, services.KIND_REPORT_RECEIVED)
    assert not notified(author, services.KIND_REPORT_RECEIVED)

    client = client_for(moderator)
    page = client.get(reverse("moderation:reports")).content.decode()
    assert f'data-report-id="{filed.pk}"' in page
    assert "周末一起去钓鱼吗？带上家属。" in page
    assert "工作群里发钓鱼邀请" in page

    response = client.post(
        reverse("moderation:report_resolve", args=[filed.pk]),
        {"decision": "hide", "note": "与工作无关，已屏蔽"},
    )
    assert response.status_code == 302
    filed.refresh_from_db()
    assert (filed.status, filed.handled_by, filed.outcome_note) == ("hidden", moderator, "与工作无关，已屏蔽")
    assert filed.handled_at is not None
    ((obj, by, note),) = reports_handler.hidden
    assert (obj.pk, by, note) == (post.pk, moderator, "与工作无关，已屏蔽")
    post.refresh_from_db()
    assert post.description == "已屏蔽"
    event = Event.objects.get(action=services.REPORT_HIDDEN)
    assert (event.actor_id, event.details["reports"]) == (moderator.pk, [filed.pk])
    (outcome,) = notified(reporter, services.KIND_REPORT_RESOLVED)
    assert "已屏蔽" in outcome.dispatch.title
    assert "与工作无关，已屏蔽" in outcome.dispatch.body
    assert not Violation.objects.exists()  # only when the moderator asks for it
    assert f'data-report-id="{filed.pk}"' not in client.get(reverse("moderation:reports")).content.decode()


def test_r28_all_pending_reports_of_one_target_are_resolved_together(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author)
    other_post = reports_handler.post(author, "另一条")
    second = make_user("sunqi", name="孙七")
    first_report, second_report = report(reporter, post), report(second, post, "other")
    untouched = report(reporter, other_post)
    # The moderators hear of each object once; the queue counts the reports.
    assert len(notified(moderator, services.KIND_REPORT_RECEIVED)) == 2
    listing = client_for(moderator).get("/api/v1/moderation/reports").json()["items"]
    counts = {item["id"]: (item["target_reports"], item["target_pending"]) for item in listing}
    assert counts == {first_report.pk: (2, 2), second_report.pk: (2, 2), untouched.pk: (1, 1)}

    services.report_resolve(actor=moderator, report=second_report, hide=True, note="已核实")

    assert set(Report.objects.filter(status="hidden").values_list("pk", flat=True)) == {
        first_report.pk,
        second_report.pk,
    }
    untouched.refresh_from_db()
    assert untouched.status == "pending"
    assert len(reports_handler.hidden) == 1
    for person in (reporter, second):
        assert len(notified(person, services.KIND_REPORT_RESOLVED)) == 1
    with pytest.raises(DomainError, match="已处理"):
        services.report_resolve(actor=moderator, report=first_report, hide=False)


def test_r28_dismissing_leaves_the_content_and_tells_the_reporter(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author, "下周一例会改到三楼。")
    filed = report(reporter, post)
    with pytest.raises(DomainError, match="不能登记违规"):
        services.report_resolve(actor=moderator, report=filed, hide=False, violation=True)
    resolved = services.report_resolve(actor=moderator, report=filed, hide=False, note="属于工作安排")
    assert (resolved.status, resolved.outcome_note) == ("dismissed", "属于工作安排")
    assert reports_handler.hidden == []
    post.refresh_from_db()
    assert post.description == "下周一例会改到三楼。"
    assert Event.objects.filter(action=services.REPORT_DISMISSED, actor_id=moderator.pk).exists()
    (outcome,) = notified(reporter, services.KIND_REPORT_RESOLVED)
    assert "不予处理" in outcome.dispatch.title
    assert outcome.dispatch.link == f"/tests/posts/{post.pk}/"
    # Dismissed, the content can be reported again (by the same person too).
    assert report(reporter, post, "false").status == "pending"


def test_r28_hiding_can_record_a_violation_of_the_author(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author, "某某就是个骗子，大家别信他。")
    filed = report(reporter, post, "false")
    resolved = services.report_resolve(
        actor=moderator, report=filed, hide=True, note="捏造事实", violation=True, severity="general"
    )
    violation = Violation.objects.get()
    assert resolved.violation == violation
    assert (violation.user, violation.source, violation.rule) == (author, "moderation", "R-29")
    assert (violation.outcome, violation.severity, violation.handler) == ("hidden", "general", moderator)
    assert violation.link == f"/tests/posts/{post.pk}/"
    assert violation.evidence[0]["excerpt"] == "某某就是个骗子，大家别信他。"
    assert "捏造事实" in violation.description
    # Graded and escalated like every other violation: the first one warns the author.
    assert violation.escalation == "warning"
    assert len(notified(author, services.KIND_WARNING)) == 1
    event = Event.objects.get(action=services.REPORT_HIDDEN)
    assert event.details["violation_id"] == violation.pk
    history = client_for(moderator).get(reverse("moderation:violator", args=[author.pk])).content.decode()
    assert f'data-violation-id="{violation.pk}"' in history


def test_r28_an_unrelated_report_records_r28_with_the_graded_severity(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    filed = report(reporter, reports_handler.post(author))
    services.report_resolve(actor=moderator, report=filed, hide=True, violation=True)
    violation = Violation.objects.get()
    assert (violation.rule, violation.severity) == ("R-28", "minor")


def test_a_handler_refusing_to_hide_cancels_the_decision(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    filed = report(reporter, reports_handler.post(author))

    def refuse(obj: Any, moderator: Any, note: str) -> None:
        raise DomainError("该内容已归档，不能屏蔽。")

    handler = registry.report_handler("moderation.wordcategory")
    assert handler is not None
    registry.register_report_handler(
        "moderation.wordcategory", describe=handler.describe, on_hide=refuse, visible_to=handler.visible_to
    )
    with pytest.raises(DomainError, match="已归档"):
        services.report_resolve(actor=moderator, report=filed, hide=True, violation=True)
    filed.refresh_from_db()
    assert filed.status == "pending"
    assert not Violation.objects.exists()
    assert not notified(reporter, services.KIND_REPORT_RESOLVED)


def test_a_report_of_deleted_content_is_still_resolved(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author)
    filed = report(reporter, post)
    post.delete()
    resolved = services.report_resolve(actor=moderator, report=filed, hide=True, note="作者已删除")
    assert resolved.status == "hidden"
    assert reports_handler.hidden == []
    assert Event.objects.get(action=services.REPORT_HIDDEN).details["gone"] is True


# ---------------------------------------------------------------------------


def test_r29_insulting_word_is_held_for_review(author: User, secadmin_user: User) -> None:
    insults = WordCategory.objects.get(name="低俗辱骂")
    assert insults.default_action == "hold"
    services.word_create(actor=secadmin_user, word="蠢货", category=insults)  # the category's action

    verdict = services.screen(
        actor=author, fields={"comment": "你这个蠢 货，方案写成这样"}, context="portal.comment"
    )

    assert verdict.held
    assert verdict.words == ["蠢货"]
    (hit,) = verdict.hits
    assert (hit.field, hit.category, hit.action) == ("comment", "低俗辱骂", "hold")
    assert not Violation.objects.exists()  # held, not refused: a reviewer decides
    # The same verdict warns the author before sending: the form's live check.
    response = client_for(author).post(
        "/api/v1/moderation/check",
        json.dumps({"fields": {"comment": "你这个蠢货"}}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["action"], response.json()["words"]) == ("hold", ["蠢货"])


def test_r29_reports_of_abuse_reach_the_moderators(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author, "你们部门全是废物。")
    unrelated = reports_handler.post(author, "谁有演唱会门票？")
    abuse = report(reporter, post, "abuse", "公开辱骂同事")
    defamation = report(make_user("sunqi", name="孙七"), post, "false")
    report(reporter, unrelated)

    (alert, _other) = sorted(
        notified(moderator, services.KIND_REPORT_RECEIVED), key=lambda n: n.dispatch.title, reverse=True
    )
    assert "辱骂攻击" in alert.dispatch.title
    assert "作者：张伟" in alert.dispatch.body
    listing = client_for(moderator).get("/api/v1/moderation/reports", {"reason": "abuse"}).json()
    assert [item["id"] for item in listing["items"]] == [abuse.pk]
    item = listing["items"][0]
    assert (item["reason_label"], item["note"], item["target_reports"]) == ("辱骂攻击", "公开辱骂同事", 2)
    assert item["author"]["username"] == "zhangwei"
    page = client_for(moderator).get(reverse("moderation:reports"), {"reason": "false"}).content.decode()
    assert f'data-report-id="{defamation.pk}"' in page
    assert f'data-report-id="{abuse.pk}"' not in page


def test_a_report_of_a_leak_is_urgent(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    report(reporter, reports_handler.post(author, "附件是下季度报价底线"), "secret")
    (alert,) = notified(moderator, services.KIND_REPORT_RECEIVED)
    assert alert.dispatch.urgency == "urgent"


# --------------------------------------------------------------------------- denials


def test_a_user_who_cannot_see_the_target_cannot_report_it(
    author: User, reporter: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author)
    reports_handler.invisible_to.add(reporter.pk)
    with pytest.raises(NotFoundError):
        report(reporter, post)
    # The same answer as for an object that does not exist, or that nobody made reportable.
    for ref in (f"moderation.wordcategory:{post.pk + 1000}", "moderation.sensitiveword:1", "nonsense", ""):
        with pytest.raises(NotFoundError):
            selectors.report_target(ref=ref)
    client = client_for(reporter)
    response = client.post(
        "/api/v1/moderation/reports",
        {"target": f"moderation.wordcategory:{post.pk}", "reason": "abuse"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = client.post(
        reverse("moderation:report_create"),
        {"target": f"moderation.wordcategory:{post.pk}", "reason": "abuse", "next": "/notify/"},
    )
    assert response["Location"] == "/notify/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["对象不存在或无权访问。"]
    assert not Report.objects.exists()


def test_nobody_reports_their_own_content(author: User, reports_handler: ReportCalls) -> None:
    with pytest.raises(DomainError, match="本人"):
        report(author, reports_handler.post(author))
    assert not Report.objects.exists()


def test_a_second_report_of_the_same_content_is_refused_politely(
    author: User, reporter: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author)
    report(reporter, post)
    with pytest.raises(DomainError, match="您已举报过该内容"):
        report(reporter, post, "abuse")
    assert Report.objects.count() == 1


def test_reporting_is_rate_limited(author: User, reporter: User, reports_handler: ReportCalls) -> None:
    posts = [reports_handler.post(author, f"第 {n} 条") for n in range(services.REPORTS_PER_HOUR + 2)]
    with clock.frozen_at(NOW):
        for post in posts[: services.REPORTS_PER_HOUR]:
            report(reporter, post)
        with pytest.raises(ReportLimitError, match="每小时最多举报 20 次") as caught:
            report(reporter, posts[-2])
    assert caught.value.status == 429
    assert Event.objects.filter(action=services.REPORT_CREATED, result=Event.Result.DENIED).exists()
    with clock.frozen_at(NOW + dt.timedelta(minutes=30)):
        response = client_for(reporter).post(
            "/api/v1/moderation/reports",
            {"target": f"moderation.wordcategory:{posts[-1].pk}", "reason": "other"},
            content_type="application/json",
        )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    with clock.frozen_at(NOW + dt.timedelta(minutes=61)):
        report(reporter, posts[-1])
    assert Report.objects.count() == services.REPORTS_PER_HOUR + 1


def test_the_reason_must_be_one_of_the_list_and_the_note_is_screened(
    author: User, reporter: User, reports_handler: ReportCalls, lexicon_words: Any
) -> None:
    post = reports_handler.post(author)
    with pytest.raises(DomainError, match="请选择举报原因"):
        report(reporter, post, "boring")
    with pytest.raises(ContentBlockedError):
        report(reporter, post, "abuse", f"他说了{BLOCKED}")
    assert not Report.objects.exists()
    # A held word stays: only moderators read the note, and it often quotes what it reports.
    filed = report(reporter, post, "abuse", f"原话是“{HELD}”")
    assert HELD in filed.note


def test_only_moderators_resolve_reports(
    author: User, reporter: User, user: User, sysadmin_user: User, reports_handler: ReportCalls
) -> None:
    filed = report(reporter, reports_handler.post(author))
    for outsider in (user, sysadmin_user, reporter):
        with pytest.raises(PermissionDeniedError):
            services.report_resolve(actor=outsider, report=filed, hide=True)
        client = client_for(outsider)
        assert client.get(reverse("moderation:reports")).status_code == 403
        assert (
            client.post(
                reverse("moderation:report_resolve", args=[filed.pk]), {"decision": "hide"}
            ).status_code
            == 403
        )
        assert client.get("/api/v1/moderation/reports").status_code == 403
        response = client.post(
            f"/api/v1/moderation/reports/{filed.pk}/resolve", {"hide": True}, content_type="application/json"
        )
        assert response.status_code == 403
    filed.refresh_from_db()
    assert filed.status == "pending"
    assert reports_handler.hidden == []
    assert Event.objects.filter(action=services.REPORT_HIDDEN, result=Event.Result.DENIED).count() == 3


def test_an_uncleared_moderator_neither_sees_nor_resolves_classified_reports(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    reporter.clearance = 2
    reporter.save(update_fields=["clearance"])
    post = reports_handler.post(author, "核心报价", level=2)
    filed = report(reporter, post, "secret")
    assert moderator.clearance < 2
    assert not notified(moderator, services.KIND_REPORT_RECEIVED)
    assert not selectors.reports(actor=moderator).exists()
    assert selectors.report_pending_count(actor=moderator) == 0
    with pytest.raises(NotFoundError):
        services.report_resolve(actor=moderator, report=filed, hide=True)
    response = client_for(moderator).post(
        f"/api/v1/moderation/reports/{filed.pk}/resolve", {"hide": True}, content_type="application/json"
    )
    assert response.status_code == 404

    cleared = User.objects.get(pk=moderator.pk)
    cleared.clearance = 2
    cleared.save(update_fields=["clearance"])
    assert services.report_resolve(actor=cleared, report=filed, hide=True).status == "hidden"


def test_a_department_moderator_handles_reports_of_their_department_only(
    org_tree: dict[str, OrgUnit],
    author: User,
    reporter: User,
    secadmin_user: User,
    reports_handler: ReportCalls,
) -> None:
    from xietong.org import services as org_services
    from xietong.org.models import DataScope

    role = org_services.role_create(
        actor=secadmin_user, code="moderators", name="审核员", permissions=["moderation.manage"]
    )
    finance_moderator = make_user("qianba", name="钱八")
    place(finance_moderator, org_tree["finance"])
    org_services.role_grant_by_system(role=role, user=finance_moderator, scope=DataScope.DEPARTMENT)

    filed = report(reporter, reports_handler.post(author))  # the author works in 生产技术部

    assert notified(secadmin_user, services.KIND_REPORT_RECEIVED)
    assert not notified(finance_moderator, services.KIND_REPORT_RECEIVED)
    with pytest.raises(NotFoundError):
        services.report_resolve(actor=finance_moderator, report=filed, hide=True)


def test_a_moderator_does_not_judge_reports_of_their_own_content(
    reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    filed = report(reporter, reports_handler.post(moderator))
    with pytest.raises(DomainError, match="其他管理员"):
        services.report_resolve(actor=moderator, report=filed, hide=True)
    assert not notified(moderator, services.KIND_REPORT_RECEIVED)


# --------------------------------------------------------------------------- the button and the pages


def _render_button(viewer: Any, target: Any, **extra: Any) -> str:
    request = RequestFactory().get("/tests/posts/?page=2")
    request.user = viewer
    return render_to_string("moderation/_report_button.html", {"target": target, **extra}, request=request)


def test_the_report_button_renders_for_reportable_objects_only(
    author: User, reporter: User, reports_handler: ReportCalls, lexicon_words: Any
) -> None:
    post = reports_handler.post(author)
    html = _render_button(reporter, post)
    ref = f"moderation.wordcategory:{post.pk}"
    assert f'name="target" value="{ref}"' in html
    assert f'id="report-moderation-wordcategory-{post.pk}"' in html
    assert 'name="next" value="/tests/posts/?page=2"' in html
    assert html.count('type="radio" name="reason"') == 5
    for label in ("与工作无关", "辱骂攻击", "诽谤不实", "泄密", "其他"):
        assert label in html
    assert reverse("moderation:report_create") in html
    # Not for one's own content, not for anonymous visitors, not for objects nobody made reportable.
    assert _render_button(author, post, owner_id=author.pk).strip() == ""
    from django.contrib.auth.models import AnonymousUser

    assert _render_button(AnonymousUser(), post).strip() == ""
    assert _render_button(reporter, lexicon_words["falun"]).strip() == ""
    assert _render_button(reporter, None).strip() == ""


def test_reporting_through_the_button_flashes_and_goes_back(
    author: User, reporter: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author)
    client = client_for(reporter)
    ref = f"moderation.wordcategory:{post.pk}"
    response = client.post(
        reverse("moderation:report_create"),
        {"target": ref, "reason": "abuse", "note": "人身攻击", "next": "/tests/posts/?page=2"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/tests/posts/?page=2"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["已提交举报，管理员会尽快处理"]
    filed = Report.objects.get()
    assert (filed.reason, filed.note, filed.reporter) == ("abuse", "人身攻击", reporter)

    again = client.post(reverse("moderation:report_create"), {"target": ref, "reason": "abuse"})
    assert again["Location"] == reverse("workbench:home")  # no next: the workbench
    assert "您已举报过该内容" in str(list(get_messages(again.wsgi_request))[-1])
    evil = client.post(
        reverse("moderation:report_create"), {"target": ref, "reason": "", "next": "https://evil.example/"}
    )
    assert evil["Location"] == reverse("workbench:home")
    assert "请选择举报原因" in str(list(get_messages(evil.wsgi_request))[-1])
    assert Report.objects.count() == 1
    assert client.get(reverse("moderation:report_create")).status_code == 405
    assert Client().post(reverse("moderation:report_create"), {"target": ref}).status_code == 302  # to login


def test_the_queue_filters_by_status_and_reason(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    pending = report(reporter, reports_handler.post(author, "甲"), "abuse")
    hidden = report(reporter, reports_handler.post(author, "乙"), "unrelated")
    services.report_resolve(actor=moderator, report=hidden, hide=True, note="屏蔽", violation=True)
    client = client_for(moderator)

    default = client.get(reverse("moderation:reports")).content.decode()
    assert f'data-report-id="{pending.pk}"' in default
    assert f'data-report-id="{hidden.pk}"' not in default
    assert 'id="report-count">1<' in default  # the tab's badge
    done = client.get(reverse("moderation:reports"), {"status": "hidden"}).content.decode()
    assert f'data-report-id="{hidden.pk}"' in done
    assert "已登记违规" in done
    everything = client.get(
        reverse("moderation:reports"), {"status": "all", "reason": "abuse"}
    ).content.decode()
    assert f'data-report-id="{pending.pk}"' in everything
    assert f'data-report-id="{hidden.pk}"' not in everything
    # Nonsense filters fall back to the pending queue.
    assert client.get(reverse("moderation:reports"), {"status": "x", "reason": "y"}).status_code == 200


def test_reporting_and_resolving_through_the_api(
    author: User, reporter: User, moderator: User, reports_handler: ReportCalls
) -> None:
    post = reports_handler.post(author)
    created = client_for(reporter).post(
        "/api/v1/moderation/reports",
        {"target": f"moderation.wordcategory:{post.pk}", "reason": "abuse", "note": "辱骂"},
        content_type="application/json",
    )
    assert created.status_code == 201
    receipt = created.json()
    assert set(receipt) == {"id", "target", "reason", "status", "created_at"}  # no moderator's view
    assert receipt["status"] == "pending"
    bad = client_for(reporter).post(
        "/api/v1/moderation/reports",
        {"target": f"moderation.wordcategory:{post.pk}", "reason": "boring"},
        content_type="application/json",
    )
    assert bad.status_code == 422

    client = client_for(moderator)
    listing = client.get("/api/v1/moderation/reports").json()
    assert [item["id"] for item in listing["items"]] == [receipt["id"]]
    resolved = client.post(
        f"/api/v1/moderation/reports/{receipt['id']}/resolve",
        {"hide": True, "note": "已屏蔽", "violation": True, "severity": "serious"},
        content_type="application/json",
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["status"], body["outcome_note"], body["handled_by"]["id"]) == (
        "hidden",
        "已屏蔽",
        moderator.pk,
    )
    assert Violation.objects.get(pk=body["violation_id"]).severity == "serious"
    again = client.post(
        f"/api/v1/moderation/reports/{receipt['id']}/resolve",
        {"hide": False},
        content_type="application/json",
    )
    assert again.status_code == 400


def _file_reports(reports_handler: ReportCalls, numbers: range) -> None:
    for number in numbers:
        author = make_user(f"author{number}", name=f"作者{number}")
        reporter = make_user(f"reporter{number}", name=f"举报人{number}")
        report(reporter, reports_handler.post(author, f"第 {number} 条"))


def test_the_report_queue_costs_the_same_queries_for_1_or_20_reports(
    moderator: User, reports_handler: ReportCalls, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(moderator)

    def queries(url: str) -> int:
        client.get(url)  # fills the per-process caches, so that only the rows can make a difference
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    _file_reports(reports_handler, range(1))
    one_page, one_api = queries(reverse("moderation:reports")), queries("/api/v1/moderation/reports")
    _file_reports(reports_handler, range(1, 20))
    assert Report.objects.filter(status="pending").count() == 20
    assert queries(reverse("moderation:reports")) == one_page
    assert queries("/api/v1/moderation/reports") == one_api


def test_the_moderators_workbench_lists_what_waits_for_them(
    author: User, reporter: User, moderator: User, user: User, reports_handler: ReportCalls
) -> None:
    from xietong.moderation import workbench

    report(reporter, reports_handler.post(author, "甲"), "secret")
    report(reporter, reports_handler.post(author, "乙"), "abuse")
    todos = workbench.to_handle(moderator, 5)
    assert todos.count == 2
    assert [item.urgent for item in todos.items] == [True, False]
    assert "泄密" in todos.items[0].title
    assert todos.items[0].link == reverse("moderation:reports")
    assert workbench.to_handle(user, 5).count == 0


def test_the_live_check_hint_is_a_reusable_include() -> None:
    html = render_to_string("moderation/_check_hint.html")
    assert 'id="xt-moderation-check"' in html
    assert "需经审核后才会发布" in html
    assert "moderation/check.js" in html

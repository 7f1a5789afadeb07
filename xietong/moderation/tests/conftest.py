"""Fixtures of the moderation tests: a small test-only lexicon, an author placed in the
organisation with a department head, and review and report handlers recording their calls.

The held or reported object of the tests is a ``WordCategory`` row — any saved model will
do, and this one needs no other app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fixtures import make_user, place
from xietong.identity.models import User
from xietong.moderation import registry, services
from xietong.moderation.models import SensitiveWord, WordCategory
from xietong.moderation.registry import Reported
from xietong.org.models import Membership, OrgUnit

BLOCKED = "违禁测试词"
HELD = "送审测试词"


def category(name: str, action: str = "block") -> WordCategory:
    # get_or_create: the migration's categories are gone after a transactional test's flush.
    row, _created = WordCategory.objects.get_or_create(name=name, defaults={"default_action": action})
    return row


def add_word(
    actor: User, word: str, *, category_name: str = "违法违规", action: str = "block"
) -> SensitiveWord:
    return services.word_create(actor=actor, word=word, category=category(category_name), action=action)


@pytest.fixture
def lexicon_words(secadmin_user: User) -> dict[str, SensitiveWord]:
    return {
        "blocked": add_word(secadmin_user, BLOCKED),
        "falun": add_word(secadmin_user, "法轮功", category_name="政治敏感"),
        "held": add_word(secadmin_user, HELD, category_name="广告", action="hold"),
        "sb": add_word(secadmin_user, "ＳＢ", category_name="低俗辱骂", action="hold"),
    }


@pytest.fixture
def author(org_tree: dict[str, OrgUnit]) -> User:
    """张伟 of 生产技术部, whose head is 王经理."""
    person = make_user("zhangwei", name="张伟", email="zhangwei@example.com")
    place(person, org_tree["production"])
    return person


@pytest.fixture
def head(org_tree: dict[str, OrgUnit], author: User) -> User:
    manager = make_user("wangjl", name="王经理", email="wangjl@example.com")
    Membership.objects.create(user=manager, unit=org_tree["production"], is_head=True, is_primary=True)
    return manager


@dataclass
class Calls:
    approved: list[tuple[Any, Any]] = field(default_factory=list)
    rejected: list[tuple[Any, Any, str]] = field(default_factory=list)


@pytest.fixture
def handler() -> Iterator[Calls]:
    """The review handler of the held test objects; the registry is restored afterwards."""
    calls = Calls()
    saved = dict(registry._handlers)

    def on_approve(obj: Any, reviewer: Any) -> None:
        calls.approved.append((obj, reviewer))
        obj.description = "已发布"
        obj.save(update_fields=["description"])

    def on_reject(obj: Any, reviewer: Any, note: str) -> None:
        calls.rejected.append((obj, reviewer, note))

    registry.register_review_handler("moderation.WordCategory", on_approve=on_approve, on_reject=on_reject)
    yield calls
    registry._handlers.clear()
    registry._handlers.update(saved)


@pytest.fixture
def held_item(author: User, lexicon_words: dict[str, SensitiveWord], handler: Calls) -> Any:
    """An author's post held for its 送审 word, as an app would store and hold it."""
    fields = {"title": "周报", "body": f"本周情况：{HELD}，请审阅。"}
    verdict = services.screen(actor=author, fields=fields, context="tests.post")
    assert verdict.held
    post = WordCategory.objects.create(name="待审的帖子", description="待审核")
    return services.hold_for_review(
        actor=author, target=post, fields=fields, verdict=verdict, context="tests.post"
    )


@dataclass
class ReportCalls:
    """The report handler's state: who wrote each test post, its 密级, who may not see it,
    and the calls of ``on_hide``."""

    authors: dict[int, User] = field(default_factory=dict)
    levels: dict[int, int] = field(default_factory=dict)
    invisible_to: set[int] = field(default_factory=set)
    hidden: list[tuple[Any, Any, str]] = field(default_factory=list)

    def post(self, author: User | None, text: str = "周末一起去钓鱼吗？", *, level: int = 0) -> WordCategory:
        """A published post of ``author`` (a WordCategory row stands in for it)."""
        row = WordCategory.objects.create(name=f"帖子{WordCategory.objects.count() + 1}", description=text)
        if author is not None:
            self.authors[row.pk] = author
        self.levels[row.pk] = level
        return row


@pytest.fixture
def reports_handler() -> Iterator[ReportCalls]:
    """Test posts made reportable, as the portal makes its comments; restored afterwards."""
    calls = ReportCalls()
    saved = dict(registry._report_handlers)

    def describe(obj: Any) -> Reported:
        return Reported(
            title=obj.name,
            excerpt=obj.description,
            link=f"/tests/posts/{obj.pk}/",
            author=calls.authors.get(obj.pk),
            classification=calls.levels.get(obj.pk, 0),
        )

    def on_hide(obj: Any, moderator: Any, note: str) -> None:
        calls.hidden.append((obj, moderator, note))
        obj.description = "已屏蔽"
        obj.save(update_fields=["description"])

    def visible_to(obj: Any, user: Any) -> bool:
        return (
            obj.description != "已屏蔽"
            and user.pk not in calls.invisible_to
            and user.clearance >= calls.levels.get(obj.pk, 0)
        )

    registry.register_report_handler(
        "moderation.WordCategory", describe=describe, on_hide=on_hide, visible_to=visible_to
    )
    yield calls
    registry._report_handlers.clear()
    registry._report_handlers.update(saved)

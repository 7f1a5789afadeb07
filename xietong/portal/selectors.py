"""Read queries of the portal, each scoped to the acting user.

``visible_articles`` is the one filter of what a reader may see: published, its publication
time reached and not expired, within the reader's clearance, and addressed to everyone or to a
unit, a unit tree or a role of the reader — and only for holders of ``portal.read`` (so never
for the 三员 administrators). Every list, count, search, feed and page goes through it, or
through ``accessible_articles``, which adds what an author, a reviewer or a channel manager
sees of the workflow. Each builds sub-queries only: it adds no query per article.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext as _

from xietong.core import access, classification, clock
from xietong.core.errors import NotFoundError
from xietong.identity.models import User
from xietong.org.models import Membership, Role, RoleGrant
from xietong.portal.models import (
    Article,
    ArticleAttachment,
    ArticleAudience,
    ArticleVersion,
    Channel,
    Comment,
)
from xietong.portal.permissions import MANAGE_CHANNELS, READ, REVIEW

Status = Article.Status
#: What a reviewer or a manager sees of a channel's workflow (drafts stay their author's).
WORKFLOW_STATES = (Status.SUBMITTED, Status.PUBLISHED, Status.RETURNED, Status.WITHDRAWN)
SEARCH_TERMS_MAX = 5
SEARCH_TERM_LENGTH = 50


# --------------------------------------------------------------------------- who may do what


def can_read(user: Any) -> bool:
    return access.can(user, READ)


def can_manage(user: Any) -> bool:
    return access.can(user, MANAGE_CHANNELS)


def can_review(user: Any, channel: Channel) -> bool:
    """Does the user review ``channel``: ``portal.review`` over its owner department?"""
    return access.can_on(user, REVIEW, channel, unit=channel.owner_unit, acl=False)


def reviewable_channels(user: Any) -> QuerySet[Channel]:
    """The channels whose owner department lies in the user's ``portal.review`` scope."""
    return access.restrict(user, REVIEW, Channel.objects.all(), unit_field="owner_unit")


def is_publisher(user: Any, channel: Channel) -> bool:
    return can_read(user) and channel.publishers.filter(pk=user.pk).exists()


def publishing_channels(user: Any) -> QuerySet[Channel]:
    """The active channels the user may write in (R-90), in display order."""
    if not can_read(user):
        return Channel.objects.none()
    return Channel.objects.filter(is_active=True, publishers=user).exclude(kind=Channel.Kind.NOTICES)


# --------------------------------------------------------------------------- articles


def _audience_match(user: Any) -> Q:
    """True for articles whose limited audience includes the user (sub-queries only)."""
    principals = access.grants_of(user).principals
    rows = ArticleAudience.objects.filter(
        Q(kind=ArticleAudience.Kind.UNIT_TREE, unit_id__in=principals.unit_and_ancestor_ids)
        | Q(kind=ArticleAudience.Kind.UNIT, unit_id__in=principals.unit_ids)
        | Q(kind=ArticleAudience.Kind.ROLE, role_id__in=principals.role_ids)
    )
    return Q(pk__in=rows.values("article_id"))


def live() -> Q:
    """Published, its time reached, not expired."""
    now = clock.now()
    return Q(status=Status.PUBLISHED, publish_at__lte=now, channel__is_active=True) & (
        Q(expire_at__isnull=True) | Q(expire_at__gt=now)
    )


def visible_articles(user: Any) -> QuerySet[Article]:
    """What ``user`` may read: the one filter of every reader's list, count, search and feed."""
    if not can_read(user):
        return Article.objects.none()
    articles = Article.objects.filter(live(), classification__lte=classification.clearance_of(user))
    if user.is_superuser:
        return articles
    return articles.filter(Q(audience_everyone=True) | _audience_match(user))


def accessible_articles(user: Any) -> QuerySet[Article]:
    """What ``user`` may open: what they may read, their own articles, the workflow of the
    channels they review and — for channel managers — of every channel. Nothing above the
    user's clearance, whoever they are."""
    clearance = classification.clearance_of(user)
    if clearance < 0:
        return Article.objects.none()
    allowed = Q(author_id=user.pk)
    if can_read(user):
        readable = visible_articles(user).values("pk")
        allowed |= Q(pk__in=readable)
    if can_manage(user):
        allowed |= Q(status__in=[*WORKFLOW_STATES, Status.HELD])
    elif access.can(user, REVIEW):
        allowed |= Q(status__in=WORKFLOW_STATES, channel__in=reviewable_channels(user).values("pk"))
    return Article.objects.filter(allowed, classification__lte=clearance)


def article_get(user: Any, article_id: int | str) -> Article:
    """One article the user may open; ``NotFoundError`` alike for missing and hidden ones."""
    try:
        return (
            accessible_articles(user)
            .select_related("channel", "channel__owner_unit", "author", "author_unit", "cover", "reviewed_by")
            .get(pk=article_id)
        )
    except (Article.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("文章不存在或无权查看。")) from None


def is_readable(user: Any, article: Article) -> bool:
    """Is ``article`` among what the user may read (not only open as author or reviewer)?"""
    return visible_articles(user).filter(pk=article.pk).exists()


def pinned_first(now: dt.datetime | None = None) -> Case:
    """1 for an article pinned now (its pin not expired), else 0."""
    now = now or clock.now()
    return Case(
        When(Q(pinned=True) & (Q(pinned_until__isnull=True) | Q(pinned_until__gt=now)), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def ordered(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Pinned first, then newest first."""
    return articles.annotate(pin=pinned_first()).order_by("-pin", "-publish_at", "-pk")


def search(articles: QuerySet[Article], query: str) -> QuerySet[Article]:
    """The articles whose title, summary or text hold every word of ``query``."""
    terms = [term[:SEARCH_TERM_LENGTH] for term in query.split()][:SEARCH_TERMS_MAX]
    for term in terms:
        articles = articles.filter(
            Q(title__icontains=term) | Q(summary__icontains=term) | Q(body_text__icontains=term)
        )
    return articles


def channel_articles(user: Any, channel: Channel, *, query: str = "") -> QuerySet[Article]:
    articles = visible_articles(user).filter(channel=channel)
    if query.strip():
        articles = search(articles, query)
    if channel.kind == Channel.Kind.REGULATIONS:
        articles = with_effective_dates(articles)
    return ordered(articles).select_related("author_unit", "cover")


def with_effective_dates(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Annotate regulations with ``in_force_from`` (the date of the version in force today)
    and ``next_from`` (the date of a version that takes effect later, 即将生效)."""
    today = clock.localdate()
    versions = ArticleVersion.objects.filter(article=OuterRef("pk"))
    return articles.annotate(
        in_force_from=Subquery(
            versions.filter(effective_from__lte=today)
            .order_by("-effective_from", "-number")
            .values("effective_from")[:1]
        ),
        next_from=Subquery(
            versions.filter(effective_from__gt=today).order_by("-number").values("effective_from")[:1]
        ),
    )


def latest_by_channel(user: Any, channel_ids: Sequence[int], limit: int) -> dict[int, list[Article]]:
    """The first ``limit`` visible articles of each channel, pinned first.

    One query for the live pins of all the channels (few rows), then one per channel for its
    newest articles: each walks the (channel, status, publish_at) index backwards and stops
    after ``limit`` rows. A single ranked query over every visible article sorted them all
    first — 120 ms with 100,000 articles — so the query count grows with the channels shown
    on the workbench (a handful), never with the articles.
    """
    if not channel_ids or limit <= 0:
        return {}
    now = clock.now()
    visible = visible_articles(user).select_related("author_unit")
    found: dict[int, list[Article]] = {pk: [] for pk in channel_ids}
    live_pins = visible.filter(
        Q(pinned_until__isnull=True) | Q(pinned_until__gt=now), channel_id__in=list(channel_ids), pinned=True
    ).order_by("-publish_at", "-pk")
    for article in live_pins[: limit * len(channel_ids)]:
        shown = found[article.channel_id]
        if len(shown) < limit:
            article.pin = 1  # type: ignore[attr-defined]  # as ordered() annotates it
            shown.append(article)
    for pk, shown in found.items():
        # Asked even when pins fill the channel, so that the count never depends on the data.
        pinned_ids = {article.pk for article in shown}
        newest = visible.filter(channel_id=pk).order_by("-publish_at", "-pk")[:limit]
        shown.extend([article for article in newest if article.pk not in pinned_ids][: limit - len(shown)])
    return found


def gallery(user: Any, limit: int) -> list[Article]:
    """The latest picture news with a cover, for the carousel."""
    articles = visible_articles(user).filter(channel__kind=Channel.Kind.GALLERY, cover__isnull=False)
    return list(ordered(articles).select_related("channel")[:limit])


def with_attachments(articles: QuerySet[Article]) -> QuerySet[Article]:
    return articles.prefetch_related(
        Prefetch("attachment_links", queryset=ArticleAttachment.objects.select_related("file"))
    )


def my_articles(user: Any, *, status: str = "") -> QuerySet[Article]:
    articles = Article.objects.filter(author_id=user.pk).select_related("channel", "reviewed_by")
    if status in Status.values:
        articles = articles.filter(status=status)
    return articles.order_by("-updated_at", "-pk")


def review_queue(user: Any) -> QuerySet[Article]:
    """Submitted articles of the channels the user reviews and within their clearance,
    oldest submission first."""
    if not access.can(user, REVIEW):
        return Article.objects.none()
    return (
        Article.objects.filter(
            status=Status.SUBMITTED,
            channel__in=reviewable_channels(user).values("pk"),
            classification__lte=classification.clearance_of(user),
        )
        .select_related("channel", "author", "author_unit")
        .order_by("submitted_at", "pk")
    )


def channels(user: Any) -> QuerySet[Channel]:
    """The active channels, in display order (their names are no secret; their articles are)."""
    if not can_read(user):
        return Channel.objects.none()
    return Channel.objects.filter(is_active=True).order_by("order", "pk")


def channel_get(user: Any, code: str) -> Channel:
    channel = channels(user).select_related("owner_unit").filter(code=code).first()
    if channel is None:
        raise NotFoundError(_("栏目不存在。"))
    return channel


def managed_channels(user: Any) -> QuerySet[Channel]:
    if not can_manage(user):
        return Channel.objects.none()
    return Channel.objects.select_related("owner_unit").prefetch_related("publishers").order_by("order", "pk")


def managed_channel_get(user: Any, channel_id: int | str) -> Channel:
    try:
        return managed_channels(user).get(pk=channel_id)
    except (Channel.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("栏目不存在。")) from None


def audience_of(article: Article) -> list[ArticleAudience]:
    return list(article.audience.select_related("unit", "role").order_by("kind", "pk"))


# --------------------------------------------------------------------------- versions


def versions(article: Article) -> list[ArticleVersion]:
    return list(article.versions.select_related("editor", "approved_by").order_by("-number"))


def version_get(article: Article, number: int) -> ArticleVersion:
    version = article.versions.select_related("editor", "approved_by").filter(number=number).first()
    if version is None:
        raise NotFoundError(_("版本不存在。"))
    return version


@dataclass(frozen=True)
class RegulationState:
    """A regulation's versions as of one day: the one in force, and the next one if it takes
    effect later (即将生效)."""

    current: ArticleVersion | None
    upcoming: ArticleVersion | None
    versions: list[ArticleVersion]
    today: dt.date

    @property
    def rows(self) -> list[tuple[ArticleVersion, str]]:
        """Each version with its state: ``current`` (现行), ``upcoming`` (即将生效) or
        ``superseded`` (历史版本)."""
        current = self.current.pk if self.current is not None else None

        def state(version: ArticleVersion) -> str:
            if version.pk == current:
                return "current"
            if version.effective_from is not None and version.effective_from > self.today:
                return "upcoming"
            return "superseded"

        return [(version, state(version)) for version in self.versions]


def regulation_state(article: Article, today: dt.date | None = None) -> RegulationState:
    today = today or clock.localdate()
    rows = versions(article)
    effective = [v for v in rows if v.effective_from is None or v.effective_from <= today]
    current = max(effective, key=lambda v: (v.effective_from or dt.date.min, v.number), default=None)
    later = [v for v in rows if v.effective_from is not None and v.effective_from > today]
    upcoming = max(later, key=lambda v: v.number, default=None)
    return RegulationState(current=current, upcoming=upcoming, versions=rows, today=today)


def attachment_keys(article: Article) -> set[str]:
    """The keys of every file the article has carried: its attachments now and in any of
    its versions (an older version's attachments stay downloadable, R-32)."""
    keys = {str(key) for key in article.attachment_links.values_list("file__key", flat=True)}
    for listed in article.versions.values_list("attachments", flat=True):
        keys.update(str(item.get("key")) for item in listed or [] if isinstance(item, dict))
    return keys


# --------------------------------------------------------------------------- comments


def comments(user: Any, article: Article) -> list[Comment]:
    """The published comments, and the user's own still under review."""
    rows = article.comments.filter(
        Q(status=Comment.Status.VISIBLE) | Q(status=Comment.Status.HELD, author_id=user.pk)
    )
    return list(rows.select_related("author").order_by("created_at", "pk"))


def comment_count(article: Article) -> int:
    return article.comments.filter(status=Comment.Status.VISIBLE).count()


# --------------------------------------------------------------------------- reviewers


def reviewers_of(channel: Channel) -> list[User]:
    """The active accounts that review ``channel``: holders of a role with ``portal.review``
    (personally or through a post) whose scope covers the channel's owner department.

    The candidates are few (reviewers and portal administrators); each is checked with the
    same ``can_review`` that guards the review itself.
    """
    roles = [
        role.pk
        for role in Role.objects.filter(is_default=False).only("pk", "permissions")
        if REVIEW in (role.permissions or [])
    ]
    if not roles:
        return []
    now = clock.now()
    grants = RoleGrant.objects.filter(role_id__in=roles).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    by_post = Membership.objects.filter(
        position_id__in=grants.filter(position__isnull=False).values("position_id")
    ).values("user_id")
    candidates = User.objects.filter(is_active=True).filter(
        Q(pk__in=grants.filter(user__isnull=False).values("user_id")) | Q(pk__in=by_post)
    )
    return [user for user in candidates.order_by("pk")[:200] if can_review(user, channel)]


# --------------------------------------------------------------------------- abilities


EDITABLE_STATES = (Status.DRAFT, Status.RETURNED, Status.WITHDRAWN)


def can_edit_published(user: Any, article: Article) -> bool:
    """A published article may be changed by its author (while still a publisher of the
    channel), the channel's reviewers and the portal administrators."""
    if not classification.allows(user, article.classification):
        return False
    if can_manage(user) or can_review(user, article.channel):
        return True
    return article.author_id == user.pk and is_publisher(user, article.channel)


@dataclass(frozen=True)
class Abilities:
    """What the user may do with one article: the buttons of its page."""

    edit: bool = False
    submit: bool = False
    withdraw: bool = False
    review: bool = False
    delete: bool = False
    comment: bool = False
    read: bool = False


def abilities(user: Any, article: Article) -> Abilities:
    own = article.author_id == user.pk
    status = article.status
    reviewer = status in (Status.SUBMITTED, Status.PUBLISHED) and can_review(user, article.channel)
    readable = status == Status.PUBLISHED and is_readable(user, article)
    return Abilities(
        edit=(own and status in EDITABLE_STATES)
        or (status == Status.PUBLISHED and can_edit_published(user, article)),
        submit=own and status in EDITABLE_STATES,
        withdraw=(own and status in (Status.SUBMITTED, Status.HELD))
        or (status == Status.PUBLISHED and (reviewer or can_manage(user))),
        review=status == Status.SUBMITTED
        and reviewer
        and classification.allows(user, article.classification),
        delete=own and status in EDITABLE_STATES and not article.ever_published,
        comment=readable and article.comments_enabled,
        read=readable,
    )


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True)
class DiffLine:
    op: str  # "same", "added" or "removed"
    text: str


def diff(old: str, new: str) -> list[DiffLine]:
    """The lines of two plain texts, marked as kept, added or removed (for 已修改)."""
    ops = {" ": "same", "+": "added", "-": "removed"}
    lines = difflib.ndiff(old.splitlines(), new.splitlines())
    return [DiffLine(ops[line[0]], line[2:]) for line in lines if line[:1] in ops and line[2:].strip()]

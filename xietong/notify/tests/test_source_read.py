"""Having seen the thing itself reads its notifications: ``notifications_mark_read_for_source``."""

from __future__ import annotations

import pytest

from tests.fixtures import make_user
from xietong.core import events
from xietong.notify import services
from xietong.notify.models import Notification
from xietong.org.models import OrgUnit

pytestmark = pytest.mark.django_db


def test_only_the_users_unread_notifications_about_that_source_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader, other = make_user("reader", name="读者"), make_user("other", name="同事")
    # Any saved row can be a source; two units stand in for two notices.
    first = OrgUnit.objects.add_root(create_kwargs={"name": "甲", "code": "A"})
    second = OrgUnit.objects.add_root(create_kwargs={"name": "乙", "code": "B"})
    both = [f"user:{reader.pk}", f"user:{other.pk}"]
    services.notify(recipients=both, kind="system", title="关于甲", source=first)
    services.notify(recipients=both, kind="system", title="甲的提醒", source=first)
    services.notify(recipients=both, kind="system", title="关于乙", source=second)
    services.notify(recipients=both, kind="system", title="与来源无关")
    pushed: list[tuple[int, str, dict[str, object]]] = []
    monkeypatch.setattr(events, "push_to_user", lambda uid, kind, data: pushed.append((uid, kind, data)))

    assert services.notifications_mark_read_for_source(user=reader, source=first) == 2
    unread = Notification.objects.filter(user=reader, read_at__isnull=True)
    assert sorted(unread.values_list("dispatch__title", flat=True)) == ["与来源无关", "关于乙"]
    assert Notification.objects.filter(user=other, read_at__isnull=True).count() == 4
    assert pushed == [(reader.pk, "notify.count", {"count": 2})]

    pushed.clear()
    assert services.notifications_mark_read_for_source(user=reader, source=first) == 0
    assert pushed == []  # nothing changed, nothing pushed

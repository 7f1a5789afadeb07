"""The notification centre of one user: the list, the bell, reading, and nobody else's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.fixtures import client_for, make_user
from xietong.core import clock
from xietong.identity.models import User
from xietong.notify import selectors, services
from xietong.notify.models import Dispatch, Notification

pytestmark = pytest.mark.django_db


def fill(user: User, count: int, *, read_every: int = 3) -> None:
    """``count`` notifications for ``user`` (a third of them read), written in bulk: the data
    of the test, not a way of notifying."""
    now = clock.now()
    dispatches = Dispatch.objects.bulk_create(
        Dispatch(kind="system", title=f"通知 {index}", recipient_count=1, created_at=now)
        for index in range(count)
    )
    Notification.objects.bulk_create(
        Notification(
            dispatch=dispatch, user=user, created_at=now, read_at=now if index % read_every == 0 else None
        )
        for index, dispatch in enumerate(dispatches)
    )


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


@pytest.fixture
def alice() -> User:
    return make_user("alice", name="爱丽丝", email="alice@example.com")


@pytest.fixture
def bob() -> User:
    return make_user("bob", name="鲍勃", email="bob@example.com")


def test_counts_and_lists_take_the_same_queries_for_10_and_1000_rows(alice: User, bob: User) -> None:
    fill(alice, 10)
    fill(bob, 1000)
    alice_client, bob_client = client_for(alice), client_for(bob)
    for call in (
        lambda user: selectors.unread_count(user),
        lambda user: selectors.bell_count(user),
        lambda user: selectors.notification_list(user),
        lambda user: selectors.notification_list(user, unread_only=True),
    ):
        assert queries(lambda c=call: c(alice)) == queries(lambda c=call: c(bob)) == 1
    for url in ("/notifications/", "/notifications/?filter=unread", "/api/v1/notifications/", "/"):
        assert alice_client.get(url).status_code == 200  # warm: session, grants, content types
        assert bob_client.get(url).status_code == 200
        assert queries(lambda u=url: alice_client.get(u)) == queries(lambda u=url: bob_client.get(u)), url
    assert selectors.unread_count(bob) == 666
    assert selectors.bell_count(bob) == selectors.BELL_LIMIT


def test_list_pages_by_keyset_newest_first(alice: User) -> None:
    fill(alice, 45, read_every=1000)
    first = selectors.notification_list(alice)
    second = selectors.notification_list(alice, before=first.older_cursor)
    third = selectors.notification_list(alice, before=second.older_cursor)
    titles = [n.dispatch.title for page in (first, second, third) for n in page.items]
    assert titles == [f"通知 {index}" for index in range(44, -1, -1)]
    assert third.older_cursor is None


def test_the_bell_shows_the_unread_count_and_leads_to_the_centre(alice: User) -> None:
    fill(alice, 6)
    page = client_for(alice).get("/").content.decode()
    assert 'href="/notifications/"' in page
    assert 'id="xt-bell"' in page
    assert 'data-unread-count="4"' in page
    fill(alice, 300)
    assert ">99+</span>" in client_for(alice).get("/").content.decode()


def test_r75_workbench_lists_unread_notifications_with_their_count(alice: User) -> None:
    """R-75: right after login, the unread notices and how many there are."""
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="关于国庆假期安排的通知")
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="已读的通知")
    services.notifications_mark_all_read(user=alice)
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="关于国庆假期安排的通知")
    page = client_for(alice).get("/").content.decode()
    card = page[page.index('id="xt-notifications"') :]
    assert "关于国庆假期安排的通知" in card
    assert "已读的通知" not in card
    assert 'text-bg-danger ms-2">1<' in card


def test_opening_marks_read_and_links_through(alice: User) -> None:
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="请审批", link="/workflow/items/5/")
    notification = Notification.objects.get(user=alice)
    response = client_for(alice).get(f"/notifications/{notification.pk}/")
    assert response.status_code == 302
    assert response["Location"] == "/workflow/items/5/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_without_link_shows_the_text(alice: User) -> None:
    services.notify(
        recipients=[f"user:{alice.pk}"], kind="system", title="系统维护", body="今晚 22:00 至 23:00 维护。"
    )
    notification = Notification.objects.get(user=alice)
    response = client_for(alice).get(f"/notifications/{notification.pk}/")
    assert response.status_code == 200
    assert "今晚 22:00 至 23:00 维护。" in response.content.decode()


def test_mark_all_read(alice: User, bob: User) -> None:
    fill(alice, 9)
    fill(bob, 3)
    response = client_for(alice).post("/notifications/read-all/")
    assert response.status_code == 302
    assert selectors.unread_count(alice) == 0
    assert selectors.unread_count(bob) == 2


def test_nobody_reads_or_marks_another_persons_notification(alice: User, bob: User) -> None:
    services.notify(recipients=[f"user:{bob.pk}"], kind="system", title="鲍勃的私人通知", body="工资条")
    theirs = Notification.objects.get(user=bob)
    alice_client = client_for(alice)
    assert alice_client.get(f"/notifications/{theirs.pk}/").status_code == 404
    answer = alice_client.post(
        "/api/v1/notifications/read", {"ids": [theirs.pk]}, content_type="application/json"
    )
    assert answer.status_code == 200
    assert answer.json()["updated"] == 0
    assert services.notification_mark_read(user=alice, ids=[theirs.pk]) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "鲍勃的私人通知" not in alice_client.get("/notifications/").content.decode()
    assert alice_client.get("/api/v1/notifications/").json()["items"] == []


def test_anonymous_gets_nothing() -> None:
    anonymous = Client()
    assert anonymous.get("/notifications/").status_code == 302
    assert anonymous.get("/api/v1/notifications/unread-count").status_code == 401
    assert anonymous.post("/api/v1/notifications/read-all").status_code == 401


def test_api_list_count_read_and_read_all(alice: User) -> None:
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="一", body="正文一", link="/a/")
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="二", urgency="urgent")
    client = client_for(alice)
    listed = client.get("/api/v1/notifications/?unread=true").json()
    assert [item["title"] for item in listed["items"]] == ["二", "一"]
    assert listed["items"][0]["urgency"] == "urgent"
    assert listed["items"][1] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "kind": "system",
        "kind_label": "系统通知",
        "title": "一",
        "body": "正文一",
        "link": "/a/",
        "urgency": "normal",
        "actor": None,
        "created_at": "",
        "read_at": None,
    }
    assert client.get("/api/v1/notifications/unread-count").json() == {"count": 2}
    first = listed["items"][1]["id"]
    answer = client.post("/api/v1/notifications/read", {"ids": [first]}, content_type="application/json")
    assert answer.json() == {"updated": 1, "count": 1}
    assert client.post("/api/v1/notifications/read-all").json() == {"updated": 1, "count": 0}


def test_r65_urgent_items_lead_the_inbox(alice: User) -> None:
    """R-65: 急办 items are marked and shown at the top, above newer normal ones."""
    services.notify(
        recipients=[f"user:{alice.pk}"], kind="system", title="急：防汛值班安排", urgency="urgent"
    )
    for index in range(3):
        services.notify(recipients=[f"user:{alice.pk}"], kind="system", title=f"普通通知{index}")
    page = client_for(alice).get("/notifications/").content.decode()
    urgent_block = page.index('id="urgent-notifications"')
    assert urgent_block < page.index("急：防汛值班安排") < page.index('id="notification-list"')
    assert page.index('id="notification-list"') < page.index("普通通知2")


def test_a_row_escapes_what_people_wrote_and_marks_unread_and_urgent(alice: User, bob: User) -> None:
    services.notify(
        recipients=[f"user:{alice.pk}"],
        kind="system",
        title="<b>急</b>防汛",
        body='"值班"<script>',
        urgency="urgent",
        actor=bob,
    )
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="已读的")
    Notification.objects.filter(dispatch__title="已读的").update(read_at=clock.now())
    page = client_for(alice).get("/notifications/").content.decode()
    urgent = Notification.objects.get(dispatch__title="<b>急</b>防汛")
    row = page[page.index(f'data-notification-id="{urgent.pk}"') :]
    row = row[: row.index("</a>")]
    assert "&lt;b&gt;急&lt;/b&gt;防汛" in row
    assert "&quot;值班&quot;&lt;script&gt;" in row
    assert '"值班"<script>' not in page
    for part in ("鲍勃", "xt-urgent", "xt-dot"):
        assert part in row
    head = page[: page.index(f'data-notification-id="{urgent.pk}"')]
    classes = "list-group-item list-group-item-action is-unread is-urgent"
    assert head.rsplit("<a ", 1)[1].startswith(f'class="{classes}" href="/notifications/{urgent.pk}/"')
    read = Notification.objects.get(dispatch__title="已读的")
    read_row = page[page.index(f'data-notification-id="{read.pk}"') :]
    read_row = read_row[: read_row.index("</a>")]
    assert "xt-dot" not in read_row
    assert "未读" not in read_row
    assert "bi-megaphone" in read_row

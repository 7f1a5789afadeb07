"""A notice's attachments over the API: the publisher adds them as the editor does (a draft's
come and go, a published notice's are only added, as an edit), whoever may see the notice
downloads them, and a refused file leaves nothing behind."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.notices import api as notices_api
from xietong.notices import services
from xietong.notices.models import Notice, NoticeAttachment, NoticeRevision, Status
from xietong.notices.tests.conftest import BASE, People, at, publish
from xietong.notify.models import Dispatch, Notification

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
#: Where the uploads of the tests' frozen month are kept.
UPLOADS = "uploads/2026/10"


def pdf(name: str = "会议议程.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def attach(client: Client, notice_id: int, upload: SimpleUploadedFile) -> Any:
    return client.post(f"/api/v1/notices/{notice_id}/attachments", {"file": upload})


def files_url(notice_id: int, key: str) -> str:
    return f"/api/v1/notices/{notice_id}/attachments/{key}"


def payload(people: People) -> dict[str, Any]:
    return {
        "title": "关于召开安全生产工作会议的通知",
        "body": "<p>请准时参加，议程见附件。</p>",
        "starts_at": at(days=2).isoformat(),
        "place": "总部三楼第一会议室",
        "audience": [people.ref("li")],
    }


def blobs() -> set[str]:
    """The stored blobs (the storage outlives each test: compare before and after)."""
    try:
        return set(default_storage.listdir(UPLOADS)[1])
    except FileNotFoundError:
        return set()


def state(notice: Notice) -> tuple[Any, ...]:
    """What a refused change must leave as it was."""
    notice.refresh_from_db()
    names = list(
        NoticeAttachment.objects.filter(notice=notice).order_by("pk").values_list("file__name", flat=True)
    )
    return (
        notice.status,
        notice.revision,
        notice.edited_at,
        notice.updated_at,
        names,
        NoticeRevision.objects.filter(notice=notice).count(),
    )


def test_publisher_attaches_to_a_draft_publishes_and_recipients_download(people: People) -> None:
    office, li = client_for(people["office"]), client_for(people["li"])
    draft = office.post(
        "/api/v1/notices/", json.dumps({"title": "草稿", "publish": False}), content_type="application/json"
    ).json()
    added = attach(office, draft["id"], pdf())
    assert added.status_code == 201, added.json()
    [item] = added.json()["attachments"]
    stored = StoredFile.objects.get()
    assert (item["key"], item["name"], item["size"], item["content_type"]) == (
        str(stored.key),
        "会议议程.pdf",
        len(PDF),
        "application/pdf",
    )
    assert item["url"] == f"/notices/{draft['id']}/files/{stored.key}/"
    assert item["download_url"] == files_url(draft["id"], item["key"])
    assert (stored.context, stored.uploaded_by_id) == (services.ATTACHMENT_CONTEXT, people.users["office"].pk)
    assert li.get(item["download_url"]).status_code == 404  # a draft is its publisher's alone

    published = office.post(
        f"/api/v1/notices/{draft['id']}/publish", json.dumps(payload(people)), content_type="application/json"
    )
    assert published.status_code == 200, published.json()
    assert [row["key"] for row in published.json()["attachments"]] == [item["key"]]
    assert [row["name"] for row in li.get(f"/api/v1/notices/{draft['id']}").json()["attachments"]] == [
        "会议议程.pdf"
    ]
    download = li.get(item["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert not Event.objects.filter(action="notices.attachment.downloaded").exists()  # 内部: not audited


def test_outsiders_get_404_for_the_notice_and_its_files(people: People) -> None:
    office = people["office"]
    stored = files.store_upload(actor=office, upload=pdf(), context=services.ATTACHMENT_CONTEXT)
    notice = services.notice_publish(
        actor=office, data=replace(BASE, audience=[people.ref("li")]), attachments=[stored]
    )
    path = files_url(notice.pk, str(stored.key))
    zhao = client_for(people["zhao"])
    assert zhao.get(path).status_code == 404
    assert zhao.get(path).json()["error"]["code"] == "not_found"
    assert attach(zhao, notice.pk, pdf("报名表.pdf")).status_code == 404
    assert zhao.delete(path).status_code == 404
    # The key of one notice's file does not open through another notice.
    other = publish(office, [people.ref("zhao")])
    assert zhao.get(files_url(other.pk, str(stored.key))).status_code == 404
    li = client_for(people["li"])
    assert li.get(files_url(notice.pk, "00000000-0000-0000-0000-000000000000")).status_code == 404
    assert li.get(files_url(notice.pk, "not-a-key")).status_code == 404
    # The 三员 read no notices.
    assert client_for(people["sysadmin"]).get(path).status_code == 403
    # Withdrawn: hidden from its recipients, and its files no longer change.
    services.notice_withdraw(actor=office, notice=notice)
    assert li.get(path).status_code == 404
    refused = attach(client_for(office), notice.pk, pdf("报名表.pdf"))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "只有草稿和已发布的通知可以修改附件。"
    assert StoredFile.objects.count() == 1


def test_a_recipient_may_neither_attach_nor_delete(people: People) -> None:
    office = people["office"]
    stored = files.store_upload(actor=office, upload=pdf(), context=services.ATTACHMENT_CONTEXT)
    notice = services.notice_publish(
        actor=office, data=replace(BASE, audience=[people.ref("li")]), attachments=[stored]
    )
    before = state(notice)
    li = client_for(people["li"])
    added = attach(li, notice.pk, pdf("报名表.pdf"))
    assert added.status_code == 403
    assert added.json()["error"] == {"code": "forbidden", "message": "只有发布人可以修改通知。"}
    removed = li.delete(files_url(notice.pk, str(stored.key)))
    assert removed.status_code == 403
    assert state(notice) == before
    assert StoredFile.objects.count() == 1
    assert li.get(files_url(notice.pk, str(stored.key))).status_code == 200  # reading stays


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("安装程序.exe", b"MZ\x90\x00" + b"\x00" * 100, "出于安全考虑，不允许上传 .exe 类型的文件。"),
        ("空白.pdf", b"", "文件是空的，请选择有内容的文件。"),
    ],
    ids=["disallowed-type", "empty"],
)
@pytest.mark.parametrize("published", [False, True], ids=["draft", "published"])
def test_a_refused_upload_is_422_and_changes_nothing(
    people: People, name: str, content: bytes, message: str, published: bool
) -> None:
    office = people["office"]
    if published:
        notice = publish(office, [people.ref("li")])
    else:
        notice = services.notice_save_draft(actor=office, data=services.NoticeInput(title="草稿"))
    before, dispatches, kept = state(notice), Dispatch.objects.count(), blobs()
    response = attach(client_for(office), notice.pk, SimpleUploadedFile(name, content))
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": message,
        "details": [{"field": "file", "message": message}],
    }
    assert StoredFile.objects.count() == 0
    assert blobs() == kept
    assert state(notice) == before
    assert Dispatch.objects.count() == dispatches


def test_at_most_ten_attachments(people: People) -> None:
    office = people["office"]
    stored = [
        files.store_upload(actor=office, upload=pdf(f"附件{n}.pdf"), context=services.ATTACHMENT_CONTEXT)
        for n in range(services.MAX_ATTACHMENTS)
    ]
    draft = services.notice_save_draft(
        actor=office, data=services.NoticeInput(title="草稿"), attachments=stored
    )
    before = state(draft)
    response = attach(client_for(office), draft.pk, pdf("第十一个.pdf"))
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "附件不能超过 10 个。"
    assert StoredFile.objects.count() == services.MAX_ATTACHMENTS
    assert state(draft) == before


def test_a_refusal_after_storing_discards_the_file(
    people: People, django_capture_on_commit_callbacks: Any
) -> None:
    office = people["office"]
    draft = services.notice_save_draft(
        actor=office, data=services.NoticeInput(title="草稿", audience=[people.ref("li")])
    )
    before = state(draft)
    kept = blobs()
    # The draft names someone who has left since: saving it again is refused.
    User.objects.filter(pk=people.users["li"].pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = attach(client_for(office), draft.pk, pdf())
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "audience"
    assert StoredFile.objects.count() == 0
    assert blobs() == kept
    assert state(draft) == before


def test_deleting_an_attachment(people: People) -> None:
    office = client_for(people["office"])
    draft = services.notice_save_draft(actor=people["office"], data=services.NoticeInput(title="草稿"))
    first = attach(office, draft.pk, pdf()).json()["attachments"][0]
    second = attach(office, draft.pk, pdf("报名表.pdf")).json()["attachments"][1]
    response = office.delete(files_url(draft.pk, first["key"]))
    assert response.status_code == 200, response.json()
    assert [item["key"] for item in response.json()["attachments"]] == [second["key"]]
    assert office.get(files_url(draft.pk, first["key"])).status_code == 404
    assert office.delete(files_url(draft.pk, first["key"])).status_code == 404  # already gone

    # Once published, the files stay (the recipients have seen them): only adding is allowed.
    published = office.post(
        f"/api/v1/notices/{draft.pk}/publish", json.dumps(payload(people)), content_type="application/json"
    )
    assert published.status_code == 200, published.json()
    notice = Notice.objects.get(pk=draft.pk)
    before = state(notice)
    refused = office.delete(files_url(draft.pk, second["key"]))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "发布后只能追加附件，已发布的附件保留。"
    assert state(notice) == before


def test_adding_to_a_published_notice_is_an_edit(people: People) -> None:
    notice = publish(people["office"], [people.ref("li"), people.ref("zhou")])
    response = attach(client_for(people["office"]), notice.pk, pdf("补充材料.pdf"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["revision"], body["edited_at"] is not None) == (2, True)
    assert [item["name"] for item in body["attachments"]] == ["补充材料.pdf"]
    old = NoticeRevision.objects.get(notice=notice)
    assert (old.number, old.title, old.body) == (1, notice.title, notice.body)
    told = Dispatch.objects.get(kind=services.KIND_UPDATED)
    assert Notification.objects.filter(dispatch=told).count() == 2
    event = Event.objects.get(action="notices.notice.updated")
    assert event.details == {"revision": 2, "changed": ["attachments"], "attachments": ["补充材料.pdf"]}
    assert client_for(people["li"]).get(body["attachments"][0]["download_url"]).status_code == 200


def test_downloads_of_a_classified_notices_files_are_audited(people: People) -> None:
    office = people["office"]
    office.clearance = 2
    office.save()
    notice = services.notice_publish(
        actor=office, data=replace(BASE, audience=[people.ref("qian"), people.ref("zhao")], classification=2)
    )
    assert notice.recipient_count == 1  # 赵敏 is not cleared for 普通商密
    added = attach(client_for(office), notice.pk, pdf("预算表.pdf"))
    assert added.status_code == 201, added.json()
    url = added.json()["attachments"][0]["download_url"]
    assert StoredFile.objects.get().classification == 2
    assert client_for(people["zhao"]).get(url).status_code == 404

    response = client_for(people["qian"]).get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    event = Event.objects.get(action="notices.attachment.downloaded")
    assert (event.actor_username, event.details["file"], event.details["classification"]) == (
        "qianjin",
        "预算表.pdf",
        2,
    )
    assert event.details["sha256"] == StoredFile.objects.get().sha256
    assert Notice.objects.get(pk=notice.pk).status == Status.PUBLISHED


@pytest.mark.django_db(transaction=True)
def test_a_file_added_while_the_draft_is_edited_keeps_the_edit(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload waits between reading the draft and saving it with the new file; an edit
    of its title made meanwhile must wait for it (the notice's row is locked before the
    read), not be undone by the title the upload read."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite, the single-machine default, has none")
    office = people["office"]
    draft = services.notice_save_draft(actor=office, data=replace(BASE, audience=[people.ref("li")]))
    read, edited = threading.Event(), threading.Event()
    real = notices_api._as_written

    def read_then_linger(notice: Notice) -> services.NoticeInput:
        written = real(notice)
        read.set()
        edited.wait(timeout=2)  # without the lock the edit ends meanwhile
        return written

    monkeypatch.setattr(notices_api, "_as_written", read_then_linger)
    client = client_for(office)
    statuses: list[int] = []

    def add_file() -> None:
        try:
            statuses.append(attach(client, draft.pk, pdf()).status_code)
        finally:
            connections.close_all()

    def edit_title() -> None:
        try:
            read.wait(timeout=5)
            services.notice_save_draft(
                actor=office,
                data=replace(BASE, title="改期：安全生产工作会议", audience=[people.ref("li")]),
                notice=draft,
            )
        finally:
            edited.set()
            connections.close_all()

    threads = [threading.Thread(target=add_file), threading.Thread(target=edit_title)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201]
    draft.refresh_from_db()
    assert draft.title == "改期：安全生产工作会议"
    assert list(NoticeAttachment.objects.filter(notice=draft).values_list("file__name", flat=True)) == [
        "会议议程.pdf"
    ]

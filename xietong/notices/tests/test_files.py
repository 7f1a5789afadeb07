"""A notice's files: attachments (checked, scanned, stored by ``xietong.files``) and the
images of its text — each readable by whoever may read the notice, and nobody else."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.core import richtext
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.notices import services
from xietong.notices.models import Notice, NoticeAttachment, Status
from xietong.notices.tests.conftest import BASE, People, at, publish

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
LOCAL = "%Y-%m-%dT%H:%M"


def pdf(name: str = "会议议程.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile("会场示意图.png", buffer.getvalue(), content_type="image/png")


def form(people: People, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "关于召开安全生产工作会议的通知",
        "body": "<p>请准时参加。</p>",
        "starts_at": at(days=2).strftime(LOCAL),
        "place": "总部三楼第一会议室",
        "audience": [people.ref("li")],
        "classification": "1",
        "action": "publish",
    }
    data.update(changes)
    return data


def test_attachments_published_with_the_notice_reach_its_readers_only(people: People) -> None:
    office = client_for(people["office"])
    response = office.post("/notices/new/", form(people, attachments=[pdf(), pdf("报名表.pdf")]))
    notice = Notice.objects.get()
    assert response.status_code == 302
    names = list(NoticeAttachment.objects.filter(notice=notice).values_list("file__name", flat=True))
    assert names == ["会议议程.pdf", "报名表.pdf"]
    assert StoredFile.objects.get(name="会议议程.pdf").context == services.ATTACHMENT_CONTEXT

    page = client_for(people["li"]).get(f"/notices/{notice.pk}/").content.decode()
    links = re.findall(rf'href="(/notices/{notice.pk}/files/[0-9a-f-]+/)"', page)
    assert len(links) == 2
    download = client_for(people["li"]).get(links[0])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]
    assert client_for(people["zhao"]).get(links[0]).status_code == 404
    other = publish(people["office"], [people.ref("zhao")])
    # The key of one notice's file does not open through another notice.
    assert (
        client_for(people["zhao"]).get(links[0].replace(f"/{notice.pk}/", f"/{other.pk}/")).status_code == 404
    )
    assert not Event.objects.filter(action="notices.attachment.downloaded").exists()  # 内部: not audited


def test_a_refused_file_stores_nothing(people: People) -> None:
    office = client_for(people["office"])
    exe = SimpleUploadedFile(
        "安装程序.exe", b"MZ\x90\x00" + b"\x00" * 100, content_type="application/octet-stream"
    )
    response = office.post("/notices/new/", form(people, attachments=[pdf(), exe]))
    assert response.status_code == 200
    assert 'id="id_attachments"' in response.content.decode()
    assert "invalid-feedback" in response.content.decode().split('id="attachments"')[1]
    assert not Notice.objects.exists()
    assert not StoredFile.objects.exists()


def test_a_refused_notice_discards_its_stored_files(
    people: People, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["office"]).post(
            "/notices/new/", form(people, place="", attachments=[pdf()])
        )
    assert "请填写地点" in response.content.decode()
    assert not StoredFile.objects.exists()


def test_at_most_ten_attachments(people: People) -> None:
    stored = [
        files.store_upload(
            actor=people["office"], upload=pdf(f"附件{index}.pdf"), context=services.ATTACHMENT_CONTEXT
        )
        for index in range(11)
    ]
    with pytest.raises(Exception, match="附件不能超过 10 个"):
        services.notice_publish(
            actor=people["office"], data=replace(BASE, audience=[people.ref("li")]), attachments=stored
        )
    assert not Notice.objects.exists()


def test_drafts_drop_attachments_published_notices_only_add(people: People) -> None:
    office = people["office"]
    first = files.store_upload(actor=office, upload=pdf(), context=services.ATTACHMENT_CONTEXT)
    draft = services.notice_save_draft(
        actor=office, data=services.NoticeInput(title="草稿"), attachments=[first]
    )
    item = NoticeAttachment.objects.get(notice=draft)
    services.notice_save_draft(
        actor=office, data=services.NoticeInput(title="草稿"), notice=draft, remove_attachments=[item.pk]
    )
    assert not NoticeAttachment.objects.filter(notice=draft).exists()

    notice = publish(office, [people.ref("li")])
    added = files.store_upload(actor=office, upload=pdf("补充材料.pdf"), context=services.ATTACHMENT_CONTEXT)
    data = services.NoticeInput(
        title=notice.title,
        body=notice.body,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        place=notice.place,
    )
    updated = services.notice_update(actor=office, notice=notice, data=data, attachments=[added])
    assert updated.revision == 2
    event = Event.objects.get(action="notices.notice.updated")
    assert event.details == {"revision": 2, "changed": ["attachments"], "attachments": ["补充材料.pdf"]}


def test_downloads_of_a_classified_notices_files_are_audited(people: People) -> None:
    for key in ("office", "qian"):
        person = people.users[key]
        person.clearance = 2
        person.save()
    stored = files.store_upload(
        actor=people["office"],
        upload=pdf("预算表.pdf"),
        context=services.ATTACHMENT_CONTEXT,
        classification=2,
    )
    notice = services.notice_publish(
        actor=people["office"],
        data=replace(BASE, audience=[people.ref("qian")], classification=2),
        attachments=[stored],
    )
    response = client_for(people["qian"]).get(f"/notices/{notice.pk}/files/{stored.key}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    event = Event.objects.get(action="notices.attachment.downloaded")
    assert (event.actor_username, event.details["file"]) == ("qianjin", "预算表.pdf")


def test_images_of_the_text_follow_the_notice(people: People) -> None:
    office = client_for(people["office"])
    uploaded = office.post("/notices/images/", {"image": png()})
    assert uploaded.status_code == 201
    url = uploaded.json()["url"]
    assert office.get(url).status_code == 200  # the uploader sees it while writing
    assert client_for(people["li"]).get(url).status_code == 404  # nobody else yet

    body = f'<p>会场位置见下图：</p><p><img src="{url}" alt="会场"></p>'
    assert richtext.sanitize(body) == body  # a relative image address is kept
    notice = publish(people["office"], [people.ref("li")], body=body)
    assert NoticeAttachment.objects.get(notice=notice).inline
    assert client_for(people["li"]).get(url).status_code == 200
    assert client_for(people["zhao"]).get(url).status_code == 404
    page = client_for(people["li"]).get(f"/notices/{notice.pk}/").content.decode()
    assert url in page
    assert 'id="notice-attachments"' not in page  # shown in the text, not listed as an attachment
    services.notice_withdraw(actor=people["office"], notice=notice)
    assert client_for(people["li"]).get(url).status_code == 404


def test_a_body_cannot_borrow_someone_elses_file(people: People) -> None:
    theirs = files.store_upload(
        actor=people["zhao"], upload=png(), context=services.IMAGE_CONTEXT, images_only=True
    )
    portal_file = files.store_upload(
        actor=people["office"], upload=png(), context="portal.image", images_only=True
    )
    body = f'<p><img src="/notices/images/{theirs.key}/"><img src="/notices/images/{portal_file.key}/"></p>'
    notice = publish(people["office"], [people.ref("li")], body=body)
    assert not NoticeAttachment.objects.filter(notice=notice).exists()
    assert client_for(people["li"]).get(f"/notices/images/{theirs.key}/").status_code == 404
    assert client_for(people["office"]).get(f"/notices/images/{portal_file.key}/").status_code == 404


def test_only_publishers_upload_images(people: People) -> None:
    response = client_for(people["sysadmin"]).post("/notices/images/", {"image": png()})
    assert response.status_code == 403
    bad = client_for(people["office"]).post("/notices/images/", {"image": pdf()})
    assert bad.status_code == 400
    assert "图片" in bad.json()["error"]
    assert Notice.objects.filter(status=Status.PUBLISHED).count() == 0


def test_the_editor_of_a_published_notice_adds_the_chosen_files(people: People) -> None:
    office = client_for(people["office"])
    office.post("/notices/new/", form(people, attachments=[pdf()]))
    notice = Notice.objects.get()
    edited = form(people, body="<p>请准时参加，并带上报名表。</p>", attachments=[pdf("报名表.pdf")])
    response = office.post(f"/notices/{notice.pk}/edit/", edited)
    assert response.status_code == 302
    names = list(NoticeAttachment.objects.filter(notice=notice).values_list("file__name", flat=True))
    assert names == ["会议议程.pdf", "报名表.pdf"]
    notice.refresh_from_db()
    assert notice.revision == 2
    # A refused file changes nothing and stores nothing.
    exe = SimpleUploadedFile("安装程序.exe", b"MZ\x90\x00" + b"\x00" * 100)
    response = office.post(f"/notices/{notice.pk}/edit/", form(people, attachments=[exe]))
    assert response.status_code == 200
    assert NoticeAttachment.objects.filter(notice=notice).count() == 2
    assert StoredFile.objects.count() == 2
    notice.refresh_from_db()
    assert notice.revision == 2

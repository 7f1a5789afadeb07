"""Request and response bodies of the portal API (``xietong.portal.api``)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class Ref(Schema):
    id: int
    name: str


class PersonRef(Schema):
    id: int
    username: str
    name: str


class ChannelOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    description: str
    icon: str
    owner_unit: Ref | None
    comments_enabled: bool
    on_workbench: bool
    can_publish: bool = Field(description="当前用户是否为本栏目发布人")
    can_review: bool = Field(description="当前用户是否审核本栏目")


class ArticleQuery(Schema):
    channel: str = Field("", max_length=32, description="栏目编码；留空为全部栏目")
    q: str = Field("", max_length=100, description="关键词（标题、摘要、正文均包含）")
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=100)


class ArticleSummaryOut(Schema):
    id: int
    channel: str
    title: str
    summary: str
    author_unit: Ref | None
    classification: int
    pinned: bool = Field(description="当前是否置顶")
    publish_at: dt.datetime | None
    edited_after_publish: bool = Field(description="已修改：发布后修改过")
    reader_count: int
    has_cover: bool = Field(description="有封面：GET /api/v1/portal/articles/{id}/cover")
    url: str


class ArticlePageOut(Schema):
    count: int
    items: list[ArticleSummaryOut]


class AttachmentOut(Schema):
    key: str
    name: str
    size: int
    url: str = Field(description="网页中的下载地址（登录会话）")
    download_url: str = Field(description="接口下载地址：GET /api/v1/portal/articles/{id}/attachments/{key}")


class AudienceOut(Schema):
    kind: str
    unit: Ref | None
    role: Ref | None


class ArticleOut(Schema):
    id: int
    channel: str
    title: str
    summary: str
    body: str = Field(description="已净化的 HTML")
    status: str
    classification: int
    audience_everyone: bool
    audience: list[AudienceOut]
    author: PersonRef
    author_unit: Ref | None
    pinned: bool
    pinned_until: dt.datetime | None
    publish_at: dt.datetime | None
    expire_at: dt.datetime | None
    published_at: dt.datetime | None
    comments_enabled: bool
    effective_from: dt.date | None
    edited_after_publish: bool
    revision: int
    view_count: int
    reader_count: int
    review_note: str
    reviewed_by: PersonRef | None
    reviewed_at: dt.datetime | None
    has_cover: bool = Field(description="有封面：GET /api/v1/portal/articles/{id}/cover")
    attachments: list[AttachmentOut]
    url: str


class ArticleIn(Schema):
    channel: str = Field(..., max_length=32, description="栏目编码")
    title: str = Field(..., max_length=200)
    summary: str = Field("", max_length=300)
    body: str = Field("", description="HTML，保存前会净化")
    classification: int = Field(0, ge=0)
    audience_everyone: bool = True
    audience_unit_ids: list[int] = Field(default_factory=list, description="单位及其下级（公司、部门）")
    audience_unit_only_ids: list[int] = Field(default_factory=list, description="仅本单位，不含下级")
    audience_role_ids: list[int] = Field(default_factory=list)
    pinned: bool = False
    pinned_until: dt.datetime | None = None
    publish_at: dt.datetime | None = Field(None, description="定时发布；留空则审核通过即发布")
    expire_at: dt.datetime | None = None
    comments_enabled: bool | None = None
    effective_from: dt.date | None = Field(None, description="规章制度的生效日期")
    note: str = Field("", max_length=200, description="修改已发布文章时的修改说明")


class NoteIn(Schema):
    note: str = Field("", max_length=500)


class WithdrawIn(Schema):
    reason: str = Field("", max_length=500)


class VersionOut(Schema):
    number: int
    title: str
    summary: str
    body: str
    attachments: list[dict[str, object]]
    editor: PersonRef
    approved_by: PersonRef | None
    note: str
    effective_from: dt.date | None
    created_at: dt.datetime


class CommentOut(Schema):
    id: int
    author: PersonRef
    body: str
    status: str
    created_at: dt.datetime


class CommentIn(Schema):
    body: str = Field(..., min_length=1, max_length=1000)

"""The message formats of group robots and of the generic webhook, with their signatures.

Pure functions: ``build`` turns one message into the exact request each receiver expects.

* DingTalk custom robot (钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title",
  "text"}}``; with 加签, ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(key=secret,
  msg="timestamp\\nsecret")) in the query string.
* WeCom group robot (企业微信群机器人): ``{"msgtype": "markdown", "markdown": {"content"}}``;
  the key in the URL is the only credential.
* Feishu/Lark custom bot (飞书自定义机器人): ``{"msg_type": "text", "content": {"text"}}``; with
  签名校验, ``timestamp`` (s) and ``sign`` = Base64(HMAC-SHA256(key="timestamp\\nsecret",
  msg="")) in the body.
* Generic: ``{"kind", "title", "body", "link", "urgency", "created_at"}``; with a secret, the
  header ``X-Xietong-Signature: sha256=<hex HMAC-SHA256(key=secret, msg=body bytes)>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Xietong-Signature"


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    link: str  # absolute
    urgency: str
    created_at: dt.datetime
    #: "【急办】" or "【第 2 次提醒】" …, put before the title in robot messages.
    prefix: str = ""


@dataclass(frozen=True)
class Outgoing:
    url: str
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # the exact bytes, when a signature covers them


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: str) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def generic_sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _markdown_text(message: Message, heading: str) -> str:
    parts = [f"{heading} {message.prefix}{message.title}"]
    if message.body:
        parts.append(message.body)
    if message.link:
        parts.append(f"[查看详情]({message.link})")
    return "\n\n".join(parts)


def build(fmt: str, url: str, secret: str, message: Message, now: dt.datetime) -> Outgoing:
    if fmt == "dingtalk":
        payload: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": f"{message.prefix}{message.title}", "text": _markdown_text(message, "###")},
        }
        if secret:
            timestamp = str(int(now.timestamp() * 1000))
            # The robot's URL already carries access_token: add to its query, never replace it.
            url = str(
                httpx.URL(url).copy_merge_params(
                    {"timestamp": timestamp, "sign": dingtalk_sign(secret, timestamp)}
                )
            )
        return Outgoing(url, payload)
    if fmt == "wecom":
        return Outgoing(url, {"msgtype": "markdown", "markdown": {"content": _markdown_text(message, "###")}})
    if fmt == "feishu":
        lines = [f"{message.prefix}{message.title}"]
        if message.body:
            lines.append(message.body)
        if message.link:
            lines.append(message.link)
        payload = {"msg_type": "text", "content": {"text": "\n".join(lines)}}
        if secret:
            timestamp = str(int(now.timestamp()))
            payload = {"timestamp": timestamp, "sign": feishu_sign(secret, timestamp), **payload}
        return Outgoing(url, payload)
    if fmt == "generic":
        payload = {
            "kind": message.kind,
            "title": message.title,
            "body": message.body,
            "link": message.link,
            "urgency": message.urgency,
            "created_at": message.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {SIGNATURE_HEADER: generic_sign(secret, body)} if secret else {}
        return Outgoing(url, payload, headers, body)
    raise ValueError(f"unknown webhook format {fmt!r}")


def accepted(fmt: str, response: httpx.Response) -> tuple[bool, str]:
    """Did the receiver take the message? The robots answer HTTP 200 with an error code in the
    body when they refuse (a bad signature, a keyword filter, too many messages)."""
    if not response.is_success:
        return False, f"HTTP {response.status_code}"
    if fmt == "generic":
        return True, ""
    try:
        answer = response.json()
    except ValueError:
        return False, "响应不是 JSON"
    if not isinstance(answer, dict):
        return False, "响应格式无效"
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, "0", None):
        return True, ""
    text = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return False, f"{code} {text}".strip()

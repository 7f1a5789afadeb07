"""Requests the server makes to other hosts (webhooks, integrations), under R-26.

A server that posts wherever an administrator types could be turned against the intranet
(SSRF): the cloud metadata address, an admin interface on loopback, a redirect that ends on
either. So every outbound request goes through here, and

* the host must be on the operator's allowlist, ``XIETONG_OUTBOUND_HOSTS`` (exact names, IP
  literals, or ``.example.com`` for a domain and its subdomains);
* a host that *resolves* to loopback, link-local, multicast, unspecified or reserved
  addresses is refused even when its name is allowed (a DNS answer can change after the
  check); only an IP literal that the allowlist names itself may be such an address — an
  operator's deliberate choice, e.g. a relay on the same machine;
* credentials in the URL (``user@host``) and schemes other than http(s) are refused;
* redirects are never followed, and proxy variables of the environment are ignored (an
  egress proxy is set explicitly with ``XIETONG_OUTBOUND_PROXY``).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from xietong.core.errors import DomainError

TIMEOUT = httpx.Timeout(10.0, connect=5.0)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefusedError(DomainError):
    code = "outbound_refused"


def _allowlist() -> list[str]:
    return [entry.strip().lower().rstrip(".") for entry in settings.XIETONG_OUTBOUND_HOSTS if entry.strip()]


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_allowed(host: str) -> bool:
    """Is ``host`` (a name or an IP literal) on the allowlist?"""
    host = host.lower().rstrip(".")
    literal = _literal(host)
    for entry in _allowlist():
        if literal is not None:
            if _literal(entry) == literal:
                return True
        elif entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False


def _internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise OutboundRefusedError(
            _("无法解析主机 %(host)s：%(error)s") % {"host": host, "error": exc}
        ) from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, *, resolve: bool = True) -> str:
    """Refuse (``OutboundRefusedError``) a URL that R-26 does not allow; returns its host.

    ``resolve=False`` checks the text only (when a form is saved); the request itself always
    resolves, so that what is checked is where the connection goes.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefusedError(_("地址格式无效。")) from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefusedError(_("只允许 http 或 https 地址。"))
    if parts.username is not None or parts.password is not None:
        raise OutboundRefusedError(_("地址中不能包含用户名或密码。"))
    host = (parts.hostname or "").lower()
    if not host:
        raise OutboundRefusedError(_("地址缺少主机名。"))
    if not host_allowed(host):
        raise OutboundRefusedError(
            _("主机 %(host)s 不在外部访问白名单中，请联系运维人员在 XIETONG_OUTBOUND_HOSTS 中添加。")
            % {"host": host}
        )
    literal = _literal(host)
    if literal is not None:
        return host  # named on the allowlist as an address: the operator's explicit choice
    if resolve:
        for address in _resolve(host, port):
            if _internal(address):
                raise OutboundRefusedError(
                    _("主机 %(host)s 解析到内部地址 %(address)s，已拒绝。")
                    % {"host": host, "address": address}
                )
    return host


def post_json(
    url: str,
    payload: Any,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> httpx.Response:
    """POST ``payload`` as UTF-8 JSON (or ``body`` as given, when a signature covers its exact
    bytes) after the R-26 checks; no redirects are followed."""
    check_url(url)
    content = body if body is not None else json.dumps(payload, ensure_ascii=False).encode()
    with httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        proxy=settings.XIETONG_OUTBOUND_PROXY or None,
    ) as client:
        return client.post(
            url,
            params=params,
            content=content,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

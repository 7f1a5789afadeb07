"""Facts about an HTTP request that several apps record: the client's address and agent."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX = 300


@lru_cache(maxsize=8)
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # One client seen over IPv4 and as IPv4-mapped IPv6 must share one per-IP counter.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or from X-Forwarded-For when it came via a trusted proxy.

    The header is walked from the right and the first address that is not one of our proxies
    wins. nginx's ``$proxy_add_x_forwarded_for`` appends to whatever the client sent, so the
    leftmost entry is the client's own claim: believing it would let one attacker rotate
    addresses past the per-IP lockout and write any address into the log.
    """
    if request is None:
        return None
    remote = parse_ip(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None
    trusted = _networks(tuple(settings.XIETONG_TRUSTED_PROXIES))

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in trusted)

    if not trusted or not is_trusted(remote):
        return str(remote)
    client = remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = parse_ip(hop)
        if address is None:
            break  # garbage from here leftwards is the client's own; keep the last good hop
        client = address
        if not is_trusted(address):
            break
    return str(client)


def user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]

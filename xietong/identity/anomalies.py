"""Login anomaly flags (R-21): what makes a successful sign-in worth a second look.

Checked once per successful sign-in (``detect``), against the login log and the open
sessions of the account:

* ``new_device`` — a browser/OS family never seen in the account's earlier sign-ins;
* ``new_network`` — an address outside every /24 (IPv4) or /64 (IPv6) seen before;
* ``off_hours`` — outside ``XIETONG_WORKING_HOURS`` in the installation's time zone;
* ``failure_burst`` — ``XIETONG_ANOMALY_FAILURE_BURST`` or more failures just before;
* ``concurrent_networks`` — another session of the account is open from a different network;
* ``dormant`` — no sign-in for ``XIETONG_ANOMALY_DORMANT_DAYS`` days.

The first sign-in of an account is never "new": there is nothing to compare it with, and
flagging every first login would bury the real findings.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from xietong.identity.lockout import lock_policy
from xietong.identity.models import LoginAnomaly, LoginAttempt, User, UserSession

Kind = LoginAnomaly.Kind
_Result = LoginAttempt.Result
# Earlier sign-ins compared against: enough to know the usual devices, bounded in cost.
HISTORY_LIMIT = 500

# (pattern, name), first match wins; order matters (Edge and Chinese browsers also say Chrome).
_BROWSERS = [
    (r"MicroMessenger", "微信"),
    (r"DingTalk", "钉钉"),
    (r"Lark|Feishu", "飞书"),
    (r"QQBrowser", "QQ浏览器"),
    (r"MetaSr|SE 2\.X", "搜狗浏览器"),
    (r"360SE|360EE|QIHU", "360浏览器"),
    (r"UCBrowser|UBrowser", "UC浏览器"),
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
    (r"MSIE |Trident/", "Internet Explorer"),
    (r"curl/|python-|httpx|Go-http-client|okhttp|PostmanRuntime", "脚本客户端"),
]
_SYSTEMS = [
    (r"HarmonyOS|OpenHarmony", "HarmonyOS"),
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"UOS|Deepin|Kylin|Linux", "Linux"),
]


def _first(patterns: list[tuple[str, str]], text: str) -> str:
    for pattern, name in patterns:
        if re.search(pattern, text):
            return name
    return ""


def device_family(user_agent: str) -> str:
    """The browser and system of a user agent, e.g. ``Chrome / Windows``: a new version of
    the same browser is not a new device."""
    browser = _first(_BROWSERS, user_agent) or "其他"
    system = _first(_SYSTEMS, user_agent) or "其他"
    return f"{browser} / {system}"


def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) network of an address: one office or one home line."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _time(value: str) -> dt.time:
    return dt.time.max if value == "24:00" else dt.time.fromisoformat(value)


def working_hours() -> tuple[dt.time, dt.time]:
    start, end = settings.XIETONG_WORKING_HOURS.split("-")
    return _time(start), _time(end)


def outside_working_hours(moment: dt.datetime) -> bool:
    start, end = working_hours()
    local = timezone.localtime(moment).time()
    return not (start <= local < end)


@dataclass(frozen=True)
class Finding:
    kind: str
    details: dict[str, Any]


def findings(attempt: LoginAttempt, user: User) -> list[Finding]:
    """What is unusual about ``attempt``, a successful sign-in of ``user``."""
    found: list[Finding] = []
    now = attempt.time
    earlier = list(
        LoginAttempt.objects.filter(user=user, result=_Result.SUCCESS, time__lt=now)
        .exclude(pk=attempt.pk)
        .order_by("-time")
        .values_list("ip", "user_agent", "time")[:HISTORY_LIMIT]
    )
    network = network_of(attempt.ip)
    if earlier:
        family = device_family(attempt.user_agent)
        if family not in {device_family(agent) for _ip, agent, _t in earlier}:
            found.append(Finding(Kind.NEW_DEVICE, {"device": family}))
        known_networks = {network_of(ip) for ip, _agent, _t in earlier} - {None}
        if network is not None and network not in known_networks:
            found.append(Finding(Kind.NEW_NETWORK, {"ip": attempt.ip, "network": network}))

    if outside_working_hours(now):
        found.append(
            Finding(
                Kind.OFF_HOURS,
                {
                    "local_time": timezone.localtime(now).strftime("%H:%M"),
                    "hours": settings.XIETONG_WORKING_HOURS,
                },
            )
        )

    since = now - lock_policy().window
    if earlier and earlier[0][2] > since:
        since = earlier[0][2]  # failures before the previous success were already answered
    failures = (
        LoginAttempt.objects.filter(Q(user=user) | Q(login_key=attempt.login_key))
        .filter(result=_Result.FAILURE, time__gte=since, time__lte=now)
        .count()
    )
    if failures >= settings.XIETONG_ANOMALY_FAILURE_BURST:
        found.append(Finding(Kind.FAILURE_BURST, {"failures": failures}))

    if network is not None:
        # Only sessions still in use: a browser closed without signing out leaves its record
        # open until the session would have idled out.
        in_use_since = now - dt.timedelta(
            minutes=max(settings.XIETONG_SESSION_IDLE_MINUTES, settings.XIETONG_ADMIN_SESSION_IDLE_MINUTES)
        )
        others = {
            str(ip)
            for ip in UserSession.objects.filter(
                user=user, ended_at__isnull=True, last_seen__gte=in_use_since
            )
            .exclude(ip__isnull=True)
            .values_list("ip", flat=True)
            if network_of(str(ip)) != network
        }
        if others:
            found.append(Finding(Kind.CONCURRENT_NETWORKS, {"ip": attempt.ip, "other_ips": sorted(others)}))

    # The previous sign-in from the login log (on the project clock); the account's own
    # fields only for an account that never signed in since the log exists.
    last_used = earlier[0][2] if earlier else (user.last_login or user.date_joined)
    idle_days = (now - last_used).days if last_used else 0
    if idle_days >= settings.XIETONG_ANOMALY_DORMANT_DAYS:
        found.append(Finding(Kind.DORMANT, {"idle_days": idle_days}))
    return found

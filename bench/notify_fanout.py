"""The notification centre at group scale: a notice to 20,000 people, and the inbox pages
with 2,000,000 notification rows.

Usage: ``.venv/bin/python bench/notify_fanout.py [--users 20000] [--rows 2000000]
[--requests 100] [--no-redis] [--require-goal]`` (see "Notification fan-out" in
bench/README.md).

It creates a throw-away PostgreSQL database ``xietong_bench_notify_<random>`` on
127.0.0.1:5432 (user postgres, trust auth), migrates it and bulk-loads a unit tree of
``--users`` people, then measures, in this one process:

1. **Fan-out.** ``notify(recipients=["unit:<root>"], …)`` — the recipients resolved and one
   row per person written — then the fan-out job run inline (``fan_out.call_local``): one
   ``notify.new`` push per person with their unread count, and the e-mail deliveries planned
   (rows; the sending jobs are queued, not run). Once on the in-memory channel layer and once
   on Redis (``RedisPubSubChannelLayer``, the production layer), each with a live receiver
   on a sample of users' groups to prove the pushes arrive. Baselines in the same run: a
   bare ``bulk_create`` of as many rows, and ``push_to_user`` one user at a time.
   Goal: rows written and pushes sent in < 10 s.
2. **Inbox at scale.** ``--rows`` notification rows are added with one INSERT … SELECT; the
   workbench, the notification list and the unread count are requested for a light user
   (a handful of rows) and a heavy one (the most rows); their query counts must be equal.

The database is dropped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.throwaway import ThrowawayDatabase, configure, log

REDIS_URL = "redis://127.0.0.1:6379/13"
GOAL_S = 10.0
COMPANIES = 20
DEPARTMENTS = 10  # per company
SAMPLE_TABS = 50  # users whose groups get a live receiver, to check delivery


# --------------------------------------------------------------------------- the organisation


@dataclass(frozen=True)
class Organisation:
    root_id: int
    user_ids: list[int]


def load(users: int) -> Organisation:
    """Bulk-insert the group → companies → departments, ``users`` people spread over the
    departments, one post each."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from xietong.identity.models import User
    from xietong.org.models import Membership, OrgUnit

    rows = [
        OrgUnit(
            path=OrgUnit._get_path(None, 1, 1),
            depth=1,
            numchild=COMPANIES,
            code="G",
            name="集团",
            kind="group",
        )
    ]
    root_path = rows[0].path
    for c in range(COMPANIES):
        c_path = OrgUnit._get_path(root_path, 2, c + 1)
        rows.append(
            OrgUnit(
                path=c_path,
                depth=2,
                numchild=DEPARTMENTS,
                code=f"C{c:02d}",
                name=f"第{c + 1}分公司",
                kind="company",
            )
        )
        for d in range(DEPARTMENTS):
            rows.append(
                OrgUnit(
                    path=OrgUnit._get_path(c_path, 3, d + 1),
                    depth=3,
                    numchild=0,
                    code=f"C{c:02d}-D{d:02d}",
                    name=f"第{c + 1}分公司第{d + 1}部",
                    kind="department",
                )
            )
    password = make_password("Bench#Notify2026")
    with transaction.atomic():
        OrgUnit.objects.bulk_create(rows, batch_size=1000)
        departments = list(OrgUnit.objects.filter(depth=3).order_by("path").values_list("id", flat=True))
        User.objects.bulk_create(
            (
                User(
                    username=f"n{index:05d}",
                    name=f"员工{index}",
                    email=f"n{index:05d}@example.com",
                    password=password,
                    must_change_password=False,
                )
                for index in range(users)
            ),
            batch_size=2000,
        )
        ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
        Membership.objects.bulk_create(
            (Membership(user_id=pk, unit_id=departments[i % len(departments)]) for i, pk in enumerate(ids)),
            batch_size=2000,
        )
    root = OrgUnit.objects.get(depth=1)
    return Organisation(root_id=root.pk, user_ids=ids)


# --------------------------------------------------------------------------- fan-out


@dataclass
class FanOut:
    layer: str
    recipients: int
    notify_s: float  # resolve + rows
    push_s: float  # fan_out job: counts, pushes, channel bookkeeping
    plan_s: float  # fan_out job: e-mail and webhook deliveries written
    pushes: int
    received: int  # by the live sample receivers
    sample: int

    @property
    def delivered_s(self) -> float:
        return self.notify_s + self.push_s

    @property
    def passed(self) -> bool:
        return self.delivered_s < GOAL_S and self.received == self.sample


def use_layer(config: dict[str, Any]) -> None:
    from channels.layers import channel_layers
    from django.conf import settings

    settings.CHANNEL_LAYERS = {"default": config}
    channel_layers.backends.clear()


class ReceiverLoop:
    """An event loop of its own in a thread, as a server process has: the Redis layer keeps
    its subscriptions per loop, so receivers must live on one that stays up."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def attach_receivers(receivers: ReceiverLoop, user_ids: list[int]) -> tuple[Any, list[str]]:
    """A live channel in each sampled user's group, as an open tab would have."""
    from channels.layers import get_channel_layer

    from xietong.core.events import user_group

    async def attach() -> tuple[Any, list[str]]:
        layer = get_channel_layer()
        names = []
        for user_id in user_ids:
            name = await layer.new_channel()
            await layer.group_add(user_group(user_id), name)
            names.append(name)
        return layer, names

    layer, names = receivers.run(attach())
    return layer, names


def count_received(receivers: ReceiverLoop, layer: Any, channels: list[str]) -> int:
    async def drain() -> int:
        got = 0
        for name in channels:
            try:
                message = await asyncio.wait_for(layer.receive(name), timeout=5)
            except TimeoutError:
                continue
            if message.get("payload", {}).get("type") == "notify.new":
                got += 1
        return got

    return int(receivers.run(drain(), timeout=max(60, 6 * len(channels))))


def fan_out_once(layer_name: str, org: Organisation, receivers: ReceiverLoop) -> FanOut:
    from xietong.notify import delivery, services, tasks
    from xietong.notify.models import Dispatch

    sample = org.user_ids[:: max(1, len(org.user_ids) // SAMPLE_TABS)][:SAMPLE_TABS]
    layer, channels = attach_receivers(receivers, sample)
    gc.collect()
    started = time.perf_counter()
    dispatch = services.notify(
        recipients=[f"unit:{org.root_id}"],
        kind="system",
        title="关于做好节假日安全生产工作的通知",
        body="各单位：请于节前完成安全隐患排查。",
        link="/portal/notices/1/",
    )
    notified = time.perf_counter()
    # The job's two halves timed apart: the pushes, then the delivery rows.
    plan_email = delivery.plan_email
    marks: dict[str, float] = {}

    def timed_plan_email(*args: Any, **kwargs: Any) -> list[int]:
        marks["pushed"] = time.perf_counter()
        return plan_email(*args, **kwargs)

    delivery.plan_email = timed_plan_email
    try:
        pushes = tasks.fan_out.call_local(dispatch.pk)
    finally:
        delivery.plan_email = plan_email
    finished = time.perf_counter()
    received = count_received(receivers, layer, channels)
    assert Dispatch.objects.get(pk=dispatch.pk).recipient_count == len(org.user_ids)
    return FanOut(
        layer=layer_name,
        recipients=dispatch.recipient_count,
        notify_s=notified - started,
        push_s=marks["pushed"] - notified,
        plan_s=finished - marks["pushed"],
        pushes=pushes,
        received=received,
        sample=len(sample),
    )


def baseline_rows(org: Organisation) -> float:
    """The same number of bare rows, one bulk_create in the same batches, no resolution."""
    from django.db import transaction

    from xietong.core import clock
    from xietong.notify.models import Dispatch, Notification

    now = clock.now()
    dispatch = Dispatch.objects.create(kind="system", title="baseline", created_at=now)
    gc.collect()
    started = time.perf_counter()
    with transaction.atomic():
        Notification.objects.bulk_create(
            (Notification(dispatch=dispatch, user_id=pk, created_at=now) for pk in org.user_ids),
            batch_size=2000,
        )
    return time.perf_counter() - started


def baseline_pushes(org: Organisation, count: int) -> float:
    """``push_to_user`` one user at a time (one trip into the event loop each), per push."""
    from xietong.core import events

    users = org.user_ids[:count]
    started = time.perf_counter()
    for user_id in users:
        events.push_to_user(user_id, "notify.count", {"count": 1})
    return (time.perf_counter() - started) / len(users)


def email_send_s(limit: int) -> tuple[int, float]:
    """Render and hand over queued e-mails to the in-memory backend, as the jobs would."""
    from django.core import mail

    from xietong.notify import delivery
    from xietong.notify.models import DeliveryLog

    ids = list(
        DeliveryLog.objects.filter(status="queued", channel="email")
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    started = time.perf_counter()
    for chunk in delivery.chunks(ids, delivery.EMAIL_BATCH):
        delivery.send_emails(chunk)
    elapsed = time.perf_counter() - started
    sent = len(getattr(mail, "outbox", []))
    return sent, elapsed


# --------------------------------------------------------------------------- inbox at scale


@dataclass
class PageResult:
    name: str
    user: str
    rows: int
    queries: int
    samples: list[float]

    def p(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def add_rows(org: Organisation, total: int, heavy_rows: int) -> tuple[int, int, int]:
    """About ``total`` more rows: dispatches to every user but one (a third of the copies
    read), and ``heavy_rows`` more for one heavy user. Returns (rows, light user, heavy user)."""
    from django.db import connection

    heavy, light = org.user_ids[0], org.user_ids[-1]
    per_user = max(1, (total - heavy_rows) // len(org.user_ids))
    dispatch_sql = (
        "INSERT INTO notify_dispatch (kind, title, body, link, urgency, source_id, recipients, "
        "classification, "
        "recipient_count, withheld_count, resend_count, created_at) "
        "SELECT 'system', '历史通知 ' || g, '', '', 'normal', '', '[]', 0, %s, 0, 0, "
        "now() - (g || ' minutes')::interval "
        "FROM generate_series(1, %s) g RETURNING id"
    )
    copies_sql = (
        "INSERT INTO notify_notification (dispatch_id, user_id, urgent, read_at, channels, created_at) "
        "SELECT d.id, u.id, false, CASE WHEN (d.id + u.id) %% 3 = 0 THEN now() END, 1, d.created_at "
        "FROM notify_dispatch d CROSS JOIN identity_user u WHERE d.id = ANY(%s) AND u.id = ANY(%s)"
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(dispatch_sql, [len(org.user_ids), per_user])
        everyone = [row[0] for row in cursor.fetchall()]
        cursor.execute(copies_sql, [everyone, [pk for pk in org.user_ids if pk != light]])
        cursor.execute(dispatch_sql, [1, heavy_rows])
        cursor.execute(copies_sql, [[row[0] for row in cursor.fetchall()], [heavy]])
        log(f"  inserted in {time.perf_counter() - started:.1f} s")
        cursor.execute("VACUUM ANALYZE notify_notification")
        cursor.execute("SELECT count(*) FROM notify_notification")
        row = cursor.fetchone()
    return int(row[0]) if row else 0, light, heavy


def measure_pages(light: int, heavy: int, requests: int) -> list[PageResult]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from xietong.identity.models import User
    from xietong.notify import selectors
    from xietong.notify.models import Notification

    results = []
    for label, user_id in (("light", light), ("heavy", heavy)):
        user = User.objects.get(pk=user_id)
        rows = Notification.objects.filter(user=user).count()
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        for name, url in (
            ("workbench", "/"),
            ("list", "/notifications/"),
            ("unread", "/notifications/?filter=unread"),
        ):
            for _ in range(5):
                assert client.get(url).status_code == 200
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            # Counted now: the capture reads the connection's log lazily, and each later
            # request empties that log when it starts.
            queries = len(captured)
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            results.append(PageResult(name, label, rows, queries, samples))
        with CaptureQueriesContext(connection) as captured:
            selectors.unread_count(user)
        queries = len(captured)
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            selectors.unread_count(user)
            samples.append((time.perf_counter() - started) * 1000)
        results.append(PageResult("unread_count", label, rows, queries, samples))
    return results


def explain_unread_count(user_id: int) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
            "SELECT count(*) FROM notify_notification WHERE user_id = %s AND read_at IS NULL",
            [user_id],
        )
        return " / ".join(row[0].strip() for row in cursor.fetchall())


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> int:
    database = ThrowawayDatabase("notify")
    data_dir = tempfile.mkdtemp(prefix="xietong-bench-notify-")
    database.create()
    log(f"created database {database.name}")
    try:
        configure(database, data_dir, XIETONG_EMAIL_URL="memorymail://")
        from django.core.management import call_command

        from xietong.notify.models import DeliveryLog

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        log(f"migrated in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        org = load(args.users)
        log(
            f"loaded {len(org.user_ids):,} people in {COMPANIES * (DEPARTMENTS + 1) + 1} units "
            f"in {time.perf_counter() - started:.1f} s"
        )

        baseline = baseline_rows(org)
        log(f"baseline: bulk_create of {len(org.user_ids):,} bare rows: {baseline:.2f} s")

        layers: list[tuple[str, dict[str, Any]]] = [
            ("in-memory", {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}})
        ]
        if not args.no_redis:
            layers.append(
                (
                    "redis",
                    {
                        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"bench{secrets.token_hex(3)}"},
                    },
                )
            )
        results: list[FanOut] = []
        per_push: dict[str, float] = {}
        receivers = ReceiverLoop()
        for name, config in layers:
            use_layer(config)
            result = fan_out_once(name, org, receivers)
            results.append(result)
            per_push[name] = baseline_pushes(org, 2000)
            log(
                f"{name:>9}: notify {result.notify_s:.2f} s + pushes {result.push_s:.2f} s "
                f"= {result.delivered_s:.2f} s "
                f"(+ delivery rows {result.plan_s:.2f} s); {result.pushes:,} pushes, "
                f"{result.received}/{result.sample} sample tabs received"
            )
        receivers.stop()
        emails_sent, emails_s = email_send_s(args.emails)
        queued = DeliveryLog.objects.filter(channel="email").count()

        log("")
        log(f"adding about {args.rows:,} notification rows …")
        rows, light, heavy = add_rows(org, args.rows, args.heavy)
        log(f"  the table holds {rows:,} rows")
        pages = measure_pages(light, heavy, args.requests)
        plan = explain_unread_count(heavy)
        report(args, org, baseline, results, per_push, emails_sent, emails_s, queued, rows, pages, plan)
        passed = all(r.passed for r in results) and constant_queries(pages)
        return 1 if not passed and args.require_goal else 0
    finally:
        database.drop()


def constant_queries(pages: list[PageResult]) -> bool:
    heavy = {p.name: p.queries for p in pages if p.user == "heavy"}
    return all(p.queries == heavy[p.name] for p in pages if p.user == "light")


def report(
    args: argparse.Namespace,
    org: Organisation,
    baseline: float,
    results: list[FanOut],
    per_push: dict[str, float],
    emails_sent: int,
    emails_s: float,
    queued: int,
    rows: int,
    pages: list[PageResult],
    plan: str,
) -> None:
    log("")
    log(f"Notification fan-out — {len(org.user_ids):,} recipients (unit:<root>), PostgreSQL, one process")
    log(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    header = (
        f"{'layer':<10} {'notify s':>9} {'pushes s':>9} {'delivered s':>11} {'×baseline':>9} "
        f"{'rows s':>7} {'pushes':>7} {'sample':>7}  goal"
    )
    log(header)
    log("-" * len(header))
    for r in results:
        log(
            f"{r.layer:<10} {r.notify_s:9.2f} {r.push_s:9.2f} {r.delivered_s:11.2f} "
            f"{r.delivered_s / baseline:9.1f} "
            f"{r.plan_s:7.2f} {r.pushes:7,} {r.received:>3}/{r.sample:<3}  {'PASS' if r.passed else 'FAIL'}"
        )
    log(f"baseline: bulk_create of {len(org.user_ids):,} bare rows {baseline:.2f} s")
    for name, seconds in per_push.items():
        batched = next(r for r in results if r.layer == name)
        log(
            f"push_to_user one at a time ({name}): {seconds * 1e6:.0f} µs per push → "
            f"{seconds * len(org.user_ids):.1f} s for all; batched: "
            f"{batched.push_s / max(batched.pushes, 1) * 1e6:.0f} µs per push incl. counts"
        )
    log(
        f"e-mail: {queued:,} deliveries planned; {emails_sent:,} rendered and sent to the in-memory "
        f"backend in {emails_s:.2f} s"
    )
    overall = "PASS" if all(r.passed for r in results) else "FAIL"
    log(f"{overall}: rows written and pushes sent for {len(org.user_ids):,} recipients in < {GOAL_S:.0f} s")
    log("")
    log(f"Inbox with {rows:,} notification rows ({args.requests} requests each, Django test Client)")
    header = f"{'page':<13} {'user':<6} {'rows':>7} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>8}"
    log(header)
    log("-" * len(header))
    for p in pages:
        log(
            f"{p.name:<13} {p.user:<6} {p.rows:7,} {p.queries:7} {p.p(50):7.2f} {p.p(95):7.2f} "
            f"{statistics.fmean(p.samples):8.2f}"
        )
    log(f"{'PASS' if constant_queries(pages) else 'FAIL'}: query counts independent of the number of rows")
    log(f"unread count plan (heavy user): {plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20000, help="recipients (default 20000)")
    parser.add_argument("--rows", type=int, default=2_000_000, help="notification rows for the inbox part")
    parser.add_argument("--heavy", type=int, default=50_000, help="extra rows of the one heavy user")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument(
        "--emails", type=int, default=20000, help="queued e-mails to render and send in memory"
    )
    parser.add_argument("--no-redis", action="store_true", help="in-memory channel layer only")
    parser.add_argument("--require-goal", action="store_true", help="exit status 1 when a goal is missed")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())

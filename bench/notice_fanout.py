"""A notice (通知) to a whole group of 20,000 people: published through the real service,
then delivered — recipient rows, notification rows and one live push per person.

Usage: ``.venv/bin/python bench/notice_fanout.py [--users 20000] [--no-redis]
[--require-goal]`` (see "Notice fan-out" in bench/README.md).

It creates a throw-away PostgreSQL database ``xietong_bench_noticefan_<random>`` on
127.0.0.1:5432 (user postgres, trust auth), migrates it and bulk-loads the organisation of
``bench/workbench.py`` (group → 20 companies → 10 departments, ``--users`` people). A
publisher holding ``notice_publisher`` with group scope then publishes a notice to the
group's root unit with ``xietong.notices.services.notice_publish`` — validation, the R-31
check, the content rules, one ``NoticeRecipient`` per person, ``notify`` (one
``Notification`` per person), the audit record — and the notification's fan-out job is run
inline as the job worker would (``fan_out.call_local``): the unread counts, one ``notify.new``
push per person, then the e-mail deliveries planned as rows (timed apart). Once on the
in-memory channel layer and once on Redis pub/sub (127.0.0.1:6379, database 13), each with
live receivers on a sample of people's groups that must all get their push. Baseline in the
same run: a bare ``bulk_create`` of as many ``NoticeRecipient`` and ``Notification`` rows.

Goal: rows written and pushes sent for 20,000 recipients in < 10 s. The database is dropped at
the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.baseline import QUIET_THRESHOLD, wait_for_quiet
from bench.notify_fanout import ReceiverLoop, attach_receivers, count_received, use_layer
from bench.throwaway import ThrowawayDatabase, configure, log
from bench.workbench import Organisation, load_org

REDIS_URL = "redis://127.0.0.1:6379/13"
GOAL_S = 10.0
SAMPLE_TABS = 50  # people whose groups get a live receiver, to check delivery


@dataclass
class Publication:
    layer: str
    recipients: int
    #: Parts of the publishing call, in seconds: the whole call, the recipients resolved,
    #: their rows written, ``notify`` (its recipients resolved and its rows written).
    publish_s: float
    resolve_s: float
    rows_s: float
    notify_s: float
    push_s: float  # fan_out job: unread counts, pushes, "pushed" flags
    plan_s: float  # fan_out job: e-mail and webhook deliveries written as rows
    pushes: int
    received: int
    sample: int

    @property
    def rest_s(self) -> float:
        return self.publish_s - self.resolve_s - self.rows_s - self.notify_s

    @property
    def delivered_s(self) -> float:
        return self.publish_s + self.push_s

    @property
    def passed(self) -> bool:
        return self.delivered_s < GOAL_S and self.received == self.sample


@dataclass
class Stopwatch:
    """Time spent inside chosen functions, by name (wrapped for the length of a block)."""

    spent: dict[str, float] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def around(self, owner: Any, name: str, label: str, *, mark: bool = False) -> Iterator[None]:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            if mark:
                self.marks[label] = started
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)
        try:
            yield
        finally:
            setattr(owner, name, original)


def grant_publisher(org: Organisation) -> Any:
    """A person of the first company's first department: 通知发布员 over the whole group."""
    from xietong.identity.models import User
    from xietong.org import builtin
    from xietong.org.models import DataScope, Role
    from xietong.org.services import role_grant_by_system

    publisher = User.objects.get(pk=org.user_ids[0])
    role_grant_by_system(
        role=Role.objects.get(code=builtin.NOTICE_PUBLISHER),
        user=publisher,
        scope=DataScope.GROUP,
        reason="通知发布基准测试",
    )
    return User.objects.get(pk=publisher.pk)  # grants are resolved afresh


def notice_input(org: Organisation, n: int) -> Any:
    from xietong.core import clock
    from xietong.notices.models import ReceiptMode
    from xietong.notices.services import NoticeInput

    starts = clock.now() + dt.timedelta(days=2)
    return NoticeInput(
        title=f"关于做好年终安全生产检查工作的通知（第{n}号）",
        body="<p>各单位：</p><p>请于本周五前完成安全隐患排查，并将整改情况报安全监察部。</p>",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        place="集团本部三楼会议室",
        audience=[f"unit:{org.root.pk}"],
        receipt_mode=ReceiptMode.READ,
        receipt_due=starts,
    )


def publish_once(
    layer_name: str, org: Organisation, publisher: Any, n: int, receivers: ReceiverLoop
) -> Publication:
    from django.contrib.contenttypes.models import ContentType

    from xietong.notices import services as notice_services
    from xietong.notices.models import Notice, NoticeRecipient, Status
    from xietong.notify import delivery, tasks
    from xietong.notify import services as notify_services
    from xietong.notify.models import Dispatch, Notification

    sample = org.user_ids[:: max(1, len(org.user_ids) // SAMPLE_TABS)][:SAMPLE_TABS]
    layer, channels = attach_receivers(receivers, sample)
    data = notice_input(org, n)
    watch = Stopwatch()
    gc.collect()
    with (
        watch.around(notice_services, "_recipients", "resolve"),
        watch.around(NoticeRecipient.objects, "bulk_create", "rows"),
        watch.around(notify_services, "notify", "notify"),
    ):
        started = time.perf_counter()
        notice = notice_services.notice_publish(actor=publisher, data=data)
        published = time.perf_counter()
    if notice.status != Status.PUBLISHED:
        raise SystemExit(f"the notice was not published: {notice.status} (content rules?)")
    dispatch = Dispatch.objects.get(
        source_type=ContentType.objects.get_for_model(Notice), source_id=str(notice.pk)
    )
    # The job's two halves timed apart: the pushes, then the delivery rows.
    job_started = time.perf_counter()
    with watch.around(delivery, "plan_email", "plan", mark=True):
        pushes = tasks.fan_out.call_local(dispatch.pk)
    finished = time.perf_counter()
    received = count_received(receivers, layer, channels)
    recipients = NoticeRecipient.objects.filter(notice=notice).count()
    if (
        recipients != len(org.user_ids)
        or Notification.objects.filter(dispatch=dispatch).count() != recipients
    ):
        raise SystemExit(f"{recipients} recipient rows for {len(org.user_ids)} people")
    return Publication(
        layer=layer_name,
        recipients=recipients,
        publish_s=published - started,
        resolve_s=watch.spent.get("resolve", 0.0),
        rows_s=watch.spent.get("rows", 0.0),
        notify_s=watch.spent.get("notify", 0.0),
        push_s=watch.marks["plan"] - job_started,
        plan_s=finished - watch.marks["plan"],
        pushes=pushes,
        received=received,
        sample=len(sample),
    )


def warm_up(org: Organisation, publisher: Any) -> None:
    """One notice to a single person first, as a running server has done before: what a
    process does once (the content rules compiled, templates and URLs loaded) is not timed."""
    from dataclasses import replace

    from xietong.notices import services as notice_services

    data = replace(notice_input(org, 0), audience=[f"user:{org.user_ids[-1]}"])
    started = time.perf_counter()
    notice_services.notice_publish(actor=publisher, data=data)
    log(f"warm-up: a notice to one person in {time.perf_counter() - started:.2f} s")


def baseline_rows(org: Organisation, publisher: Any) -> tuple[float, float]:
    """As many bare rows as a publication writes, in the same batches, nothing resolved or
    checked: ``NoticeRecipient`` rows, then ``Notification`` rows (seconds each)."""
    from django.db import transaction

    from xietong.core import clock
    from xietong.notices.models import Notice, NoticeRecipient
    from xietong.notify.models import Dispatch, Notification

    now = clock.now()
    notice = Notice.objects.create(title="baseline", publisher=publisher)
    dispatch = Dispatch.objects.create(kind="system", title="baseline", created_at=now)

    def timed(write: Callable[[], Any]) -> float:
        gc.collect()
        started = time.perf_counter()
        with transaction.atomic():
            write()
        return time.perf_counter() - started

    recipients = timed(
        lambda: NoticeRecipient.objects.bulk_create(
            (
                NoticeRecipient(notice=notice, user_id=pk, delivered_at=now, awaiting=True)
                for pk in org.user_ids
            ),
            batch_size=2000,
        )
    )
    notifications = timed(
        lambda: Notification.objects.bulk_create(
            (Notification(dispatch=dispatch, user_id=pk, created_at=now) for pk in org.user_ids),
            batch_size=2000,
        )
    )
    return recipients, notifications


def _stop(signum: int, frame: Any) -> None:
    # SIGTERM / SIGHUP end the run through ``finally``, so the database is dropped.
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    database = ThrowawayDatabase("noticefan")
    data_dir = tempfile.mkdtemp(prefix="xietong-bench-noticefan-")
    database.create()
    log(f"created database {database.name}")
    try:
        configure(database, data_dir, XIETONG_EMAIL_URL="memorymail://")
        from django.core.management import call_command
        from django.db import connection

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        log(f"migrated in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        org = load_org(args.users)
        publisher = grant_publisher(org)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        log(f"loaded {len(org.user_ids):,} people in {time.perf_counter() - started:.1f} s")

        baseline = baseline_rows(org, publisher)
        log(
            f"baseline: bulk_create of {len(org.user_ids):,} bare NoticeRecipient rows {baseline[0]:.2f} s, "
            f"Notification rows {baseline[1]:.2f} s"
        )
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
        warm_up(org, publisher)
        busy = wait_for_quiet(args.wait_quiet)
        results: list[Publication] = []
        receivers = ReceiverLoop()
        try:
            for n, (name, config) in enumerate(layers, start=1):
                use_layer(config)
                result = publish_once(name, org, publisher, n, receivers)
                results.append(result)
                log(
                    f"{name:>9}: publish {result.publish_s:.2f} s + pushes {result.push_s:.2f} s "
                    f"= {result.delivered_s:.2f} s (+ e-mail rows {result.plan_s:.2f} s); "
                    f"{result.received}/{result.sample} sample tabs received"
                )
        finally:
            receivers.stop()
        report(org, baseline, results, busy)
        passed = all(r.passed for r in results)
        return 1 if not passed and args.require_goal else 0
    finally:
        database.drop()


def report(org: Organisation, baseline: tuple[float, float], results: list[Publication], busy: float) -> None:
    bare = sum(baseline)
    log("")
    log(
        f"Notice fan-out — {len(org.user_ids):,} recipients (unit:<root>), notice_publish + fan-out job, "
        "PostgreSQL, one process"
    )
    noisy = " — NOISY: other work was using the machine" if busy > QUIET_THRESHOLD else ""
    log(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; machine busy before timing: "
        f"{busy:.2f} cores, load average at the end {os.getloadavg()[0]:.2f}{noisy}"
    )
    header = (
        f"{'layer':<10} {'resolve':>8} {'rows':>6} {'notify':>7} {'rest':>5} {'publish':>8} {'pushes':>7} "
        f"{'delivered':>10} {'×bare':>6} {'e-mail rows':>11} {'sample':>7}  goal"
    )
    log(header)
    log("-" * len(header))
    for r in results:
        log(
            f"{r.layer:<10} {r.resolve_s:8.2f} {r.rows_s:6.2f} {r.notify_s:7.2f} {r.rest_s:5.2f} "
            f"{r.publish_s:8.2f} {r.push_s:7.2f} {r.delivered_s:10.2f} {r.delivered_s / bare:6.1f} "
            f"{r.plan_s:11.2f} "
            f"{r.received:>3}/{r.sample:<3}  {'PASS' if r.passed else 'FAIL'}"
        )
    log("(seconds; publish = the whole notice_publish call, of which resolve = the notice's recipients,")
    log(" rows = their NoticeRecipient rows, notify = the notification's recipients and rows, rest =")
    log(" validation, R-31 check, content rules, audit record and commit; delivered = publish + pushes)")
    log(
        f"baseline: bare bulk_create of {len(org.user_ids):,} NoticeRecipient rows {baseline[0]:.2f} s "
        f"+ {len(org.user_ids):,} Notification rows {baseline[1]:.2f} s = {bare:.2f} s"
    )
    overall = "PASS" if all(r.passed for r in results) else "FAIL"
    log(
        f"{overall}: a notice delivered to {len(org.user_ids):,} people (rows and pushes) in < {GOAL_S:.0f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20000, help="recipients (default 20000)")
    parser.add_argument(
        "--wait-quiet",
        type=int,
        default=0,
        help="wait up to S seconds for the machine to quieten before timing",
    )
    parser.add_argument("--no-redis", action="store_true", help="in-memory channel layer only")
    parser.add_argument("--require-goal", action="store_true", help="exit status 1 when the goal is missed")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())

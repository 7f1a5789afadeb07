"""The 待办 inbox of an approver with years of approvals in the database: the first page of
``selectors.inbox(user, "todo")``, its count and ``selectors.counts(user)`` — what the inbox
page and ``GET /api/v1/workflow/items`` do — with 100,000 and then 1,000,000 requests
(5,000,000 work items) loaded, against a primary-key fetch measured in the same run.

Usage: ``.venv/bin/python bench/workflow_inbox.py [--scale 1.0] [--requests 300] [--explain]
[--require-goal]`` (see "Approval inbox" in bench/README.md).

It creates a throw-away PostgreSQL database ``xietong_bench_wfinbox_<random>`` on
127.0.0.1:5432 (user postgres, trust auth), migrates it and bulk-loads the organisation of
``bench/workbench.py`` (20,000 people) and one published flow, then:

1. **Recent data** (100,000 requests × ``--scale``): every request has five work items (four
   approval steps and a 抄送). One in ten is still running — its third and fourth steps are
   pending (会签) and its 抄送 half unread — the rest ended (approved 89 %, rejected, returned,
   withdrawn). The pending items go to a pool of approvers (400 × scale, about 50 each) with
   5 % 急办 and deadlines of which some are past; one busy approver gets 150 more.
2. **History** (900,000 more requests, all ended, 1–5 years old): the pending work stays the
   same while each approver's done items grow tenfold — the inbox must not slow down with
   the years. Both loads are ``INSERT … SELECT generate_series`` followed by ``VACUUM
   ANALYZE`` (what autovacuum does within a minute of such a load).

After each load the inbox work is timed for a typical and for the busy approver (``--requests``
times each after a warm-up), in this process, on the real selectors; then the same through
the API (``GET /items?box=todo`` and ``GET /counts`` with Django's test ``Client``: the whole
middleware stack, session and grants, no network), against ``bench/hello`` through the same
client.

Goal: the inbox work's p95 under 30 ms with 1,000,000 requests, and at most twice its p95
with 100,000. ``--explain`` prints the plans (``EXPLAIN ANALYZE``) of the inbox queries.

The database is dropped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.baseline import wait_for_quiet
from bench.throwaway import ThrowawayDatabase, configure, log
from bench.workbench import client_for, insert_select, load_org

GOAL_P95_MS = 30.0
GOAL_GROWTH = 2.0
RECENT = 100_000
TOTAL = 1_000_000
ITEMS_PER_REQUEST = 5
USERS = 20_000
BUSY_EXTRA = 150
RESULTS = Path(__file__).resolve().parent / "results"
ACTIVATION_OF_I = "(SELECT a.id FROM workflow_activation a WHERE a.instance_id = i.id)"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Setup:
    version_id: int
    flow_id: int
    first_user: int
    users: int
    pool: int  # approvers: users first_user … first_user + pool - 1
    busy: int  # one more approver with BUSY_EXTRA more pending items
    typical: int


@dataclass(frozen=True)
class Timing:
    label: str
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def line(self) -> str:
        return f"{self.label:<34} p50 {self.p50:8.2f} ms   p95 {self.p95:8.2f} ms"


# --------------------------------------------------------------------------- loading


def prepare(scale: float) -> Setup:
    from xietong.identity.models import User
    from xietong.workflow.models import FlowDefinition, FlowVersion

    org = load_org(USERS)
    ids = org.user_ids
    if ids[-1] - ids[0] + 1 != len(ids):
        raise SystemExit("user ids are not contiguous; the loader relies on it")
    flow = FlowDefinition.objects.create(code="bench-purchase", name="采购申请", category="finance")
    version = FlowVersion.objects.create(
        definition=flow,
        number=1,
        form={"fields": [{"key": "title", "type": "text", "label": "标题", "required": True}]},
        flow={
            "initiators": [{"kind": "everyone"}],
            "nodes": [
                {"id": f"n{i}", "type": "approval", "name": f"审批{i}", "approvers": {"kind": "initiator"}}
                for i in range(1, 5)
            ],
        },
        status=FlowVersion.Status.PUBLISHED,
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    pool = max(10, int(400 * scale))
    busy = User.objects.create(username="busy", name="忙碌的审批人", must_change_password=False)
    return Setup(
        version_id=version.pk,
        flow_id=flow.pk,
        first_user=ids[0],
        users=len(ids),
        pool=pool,
        busy=busy.pk,
        typical=ids[1],
    )


def _instances(setup: Setup, start: int, end: int, *, recent: bool) -> tuple[int, int]:
    """Requests ``start`` … ``end - 1`` (ordinals); returns the id of ordinal ``start`` and how
    many were written. Recent ones: 10 % running; history: ended, 1–5 years old."""
    from django.db import connection

    from xietong.workflow.models import Instance

    if recent:
        state = (
            "CASE WHEN mod(g, 10) = 0 THEN 'running' WHEN mod(g, 100) = 1 THEN 'returned' "
            "WHEN mod(g, 100) IN (2, 3, 4) THEN 'rejected' WHEN mod(g, 100) = 5 THEN 'withdrawn' "
            "ELSE 'approved' END"
        )
        # Running ones arrived within 20 days (some past their 24-hour deadline), the rest within a year.
        created = (
            "now() - CASE WHEN mod(g, 10) = 0 THEN make_interval(mins => mod(g * 7, 20 * 24 * 60)) "
            "ELSE make_interval(mins => 30 * 24 * 60 + mod(g * 7, 335 * 24 * 60)) END"
        )
    else:
        state = (
            "CASE WHEN mod(g, 100) IN (2, 3, 4) THEN 'rejected' WHEN mod(g, 100) = 5 THEN 'withdrawn' "
            "ELSE 'approved' END"
        )
        created = "now() - make_interval(mins => 365 * 24 * 60 + mod(g * 7, 4 * 365 * 24 * 60))"
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM workflow_instance")
        before = cursor.fetchone()[0]
    written = insert_select(
        Instance,
        {
            "version_id": str(setup.version_id),
            "definition_id": str(setup.flow_id),
            "serial": "'SP-B' || g",
            "title": "'采购申请 ' || g",
            "initiator_id": f"{setup.first_user} + mod(abs(hashint8(g)), {setup.users})",
            "data": """jsonb_build_object('title', '采购申请 ' || g)""",
            "urgent": "mod(g, 19) = 0",
            "state": state,
            "current_label": f"CASE WHEN {state} = 'running' THEN '审批3' ELSE '' END",
            "created_at": created,
            "started_at": created,
            "finished_at": (
                f"CASE WHEN {state} IN ('running', 'returned') THEN NULL "
                f"ELSE ({created}) + interval '1 day' END"
            ),
            "updated_at": created,
        },
        "generate_series(%s, %s) AS g ORDER BY g",
        [start, end - 1],
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM workflow_instance WHERE id > %s", [before])
        low, high = cursor.fetchone()
    if high - low + 1 != written:
        raise SystemExit("instance ids are not contiguous; the loader relies on it")
    return low, written


def _activations(first_id: int, start: int, end: int) -> None:
    from xietong.workflow.models import Activation

    insert_select(
        Activation,
        {
            "instance_id": f"{first_id} + g - {start}",
            "node_id": "'n3'",
            "node_type": "'approval'",
            "node_name": "'审批3'",
            "state": "'active'",
            "mode": "'all'",
            "started_at": "now()",
        },
        "generate_series(%s, %s) AS g WHERE mod(g, 10) = 0",
        [start, end - 1],
    )


def _items(setup: Setup, first_id: int, start: int, end: int, *, recent: bool) -> int:
    from xietong.workflow.models import WorkItem

    running = "mod(g, 10) = 0" if recent else "false"
    istate = "i.state"
    every = max(1, (end - start) // 10 // BUSY_EXTRA)
    pending_task = f"{running} AND j IN (2, 3)"
    assignee = (
        f"CASE WHEN {pending_task} AND j = 2 AND mod(g / 10, {every}) = 0 THEN {setup.busy} "
        f"WHEN j = 4 THEN {setup.first_user} + mod(abs(hashint8(g * 5 + j)), {setup.users}) "
        f"ELSE {setup.first_user} + mod(abs(hashint8(g * 5 + j)), {setup.pool}) END"
    )
    state = (
        f"CASE WHEN j = 4 THEN (CASE WHEN {running} AND mod(g, 20) = 0 THEN 'pending' ELSE 'done' END) "
        f"WHEN {running} THEN (CASE WHEN j < 2 THEN 'approved' ELSE 'pending' END) "
        f"WHEN {istate} = 'approved' THEN 'approved' "
        f"WHEN {istate} IN ('rejected', 'returned') THEN "
        f"(CASE WHEN j = 0 THEN 'approved' WHEN j = 1 THEN "
        f"(CASE WHEN {istate} = 'rejected' THEN 'rejected' ELSE 'returned' END) ELSE 'cancelled' END) "
        "ELSE 'cancelled' END"
    )
    arrived = "i.created_at + make_interval(hours => j)"
    written: int = insert_select(
        WorkItem,
        {
            "activation_id": f"CASE WHEN {pending_task} THEN {ACTIVATION_OF_I} END",
            "instance_id": "i.id",
            "assignee_id": assignee,
            "kind": "CASE WHEN j = 4 THEN 'cc' ELSE 'approve' END",
            "state": state,
            "order": "j",
            "urgent": "i.urgent",
            "created_at": arrived,
            "acted_at": (
                f"CASE WHEN ({state}) IN ('pending', 'cancelled') THEN NULL "
                f"ELSE {arrived} + interval '2 hours' END"
            ),
            "due_at": f"CASE WHEN j < 4 THEN {arrived} + interval '24 hours' END",
        },
        f"generate_series(%s, %s) AS s(k) CROSS JOIN LATERAL (SELECT s.k / {ITEMS_PER_REQUEST} AS g, "
        f"mod(s.k, {ITEMS_PER_REQUEST}) AS j) AS o "
        f"JOIN workflow_instance i ON i.id = {first_id} + o.g - {start}",
        [start * ITEMS_PER_REQUEST, end * ITEMS_PER_REQUEST - 1],
    )
    return written


@contextmanager
def indexes_rebuilt(tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the plain indexes of ``tables`` for a bulk load and build them again after it (a
    sorted build is far cheaper than millions of single insertions); primary keys and unique
    constraints stay."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [list(tables)],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _name, definition in found:
                cursor.execute(definition)


def load(setup: Setup, start: int, end: int, *, recent: bool, chunk: int = 100_000) -> float:
    from django.db import connection

    began = time.perf_counter()
    with indexes_rebuilt(("workflow_workitem", "workflow_action")):
        _load_chunks(setup, start, end, recent=recent, chunk=chunk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE workflow_instance")
        cursor.execute("VACUUM ANALYZE workflow_workitem")
        cursor.execute("VACUUM ANALYZE workflow_activation")
    return time.perf_counter() - began


def _load_chunks(setup: Setup, start: int, end: int, *, recent: bool, chunk: int) -> None:
    from django.db import connection, transaction

    for low in range(start, end, chunk):
        high = min(end, low + chunk)
        with transaction.atomic(), connection.cursor() as cursor:
            # The loader writes consistent rows: skip the per-row foreign-key triggers.
            cursor.execute("SET LOCAL session_replication_role = replica")
            first_id, _count = _instances(setup, low, high, recent=recent)
            if recent:
                _activations(first_id, low, high)
            _items(setup, first_id, low, high, recent=recent)
        log(f"  … {high:,} requests")


# --------------------------------------------------------------------------- measuring


def timed(label: str, work: Callable[[], Any], requests: int, warmup: int) -> Timing:
    for _n in range(warmup):
        work()
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _n in range(requests):
            began = time.perf_counter()
            work()
            samples.append((time.perf_counter() - began) * 1000)
    finally:
        gc.enable()
    return Timing(label, samples)


def inbox_work(user: Any) -> Callable[[], Any]:
    from xietong.workflow import selectors

    def work() -> Any:
        # What the inbox view reads: the badges, then a page whose length is the 待办 badge.
        counts = selectors.counts(user)
        rows = selectors.inbox(user, "todo")
        known = selectors.known_count("todo", selectors.Filters(), counts)
        return list(rows[:20]), rows.count() if known is None else known, counts

    return work


def api_work(client: Any) -> Callable[[], Any]:
    def work() -> None:
        for url in ("/api/v1/workflow/items?box=todo", "/api/v1/workflow/counts"):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")

    return work


def measure(setup: Setup, requests: int, warmup: int, phase: str) -> list[Timing]:
    from xietong.identity.models import User
    from xietong.workflow import selectors
    from xietong.workflow.models import WorkItem

    results: list[Timing] = []
    some_item = WorkItem.objects.order_by("pk").values_list("pk", flat=True)[1000]
    results.append(
        timed(f"{phase} baseline: pk fetch", lambda: WorkItem.objects.get(pk=some_item), requests, warmup)
    )
    hello = client_for(None)
    results.append(
        timed(f"{phase} baseline: bench/hello", lambda: hello.get("/bench/hello"), requests, warmup)
    )
    for name, pk in (("typical", setup.typical), ("busy", setup.busy)):
        user = User.objects.get(pk=pk)
        pending = selectors.counts(user)["todo"]
        results.append(timed(f"{phase} inbox {name} ({pending} pending)", inbox_work(user), requests, warmup))
        results.append(timed(f"{phase} API {name}", api_work(client_for(pk)), requests, warmup))
    for timing in results:
        log("  " + timing.line())
    return results


def explain(setup: Setup) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from xietong.identity.models import User

    user = User.objects.get(pk=setup.busy)
    with CaptureQueriesContext(connection) as captured:
        inbox_work(user)()
    lines: list[str] = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            lines.append(f"-- {query['sql'][:160]} …\n{plan}")
    return "\n\n".join(lines)


# --------------------------------------------------------------------------- the run


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def pick(results: list[Timing], phase: str, what: str) -> Timing:
    return next(t for t in results if t.label.startswith(f"{phase} {what}"))


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    database = ThrowawayDatabase("wfinbox")
    data_dir = tempfile.mkdtemp(prefix="xietong-bench-wfinbox-")
    database.create()
    log(f"created database {database.name}")
    try:
        configure(database, data_dir)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        setup = prepare(args.scale)
        recent = int(RECENT * args.scale)
        total = int(TOTAL * args.scale)
        log(f"loading {recent:,} recent requests ({recent * ITEMS_PER_REQUEST:,} work items) …")
        recent_s = load(setup, 0, recent, recent=True)
        busy = wait_for_quiet(args.wait_quiet)
        log(f"measuring with {recent:,} requests (machine busy before timing: {busy:.2f} cores)")
        small = measure(setup, args.requests, args.warmup, "small")
        plans_small = explain(setup) if args.explain else ""

        log(f"loading {total - recent:,} requests of history …")
        history_s = load(setup, recent, total, recent=False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM workflow_instance")
            instances = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM workflow_workitem")
            items = cursor.fetchone()[0]
        busy_full = wait_for_quiet(args.wait_quiet)
        log(
            f"measuring with {instances:,} requests, {items:,} work items "
            f"(machine busy before timing: {busy_full:.2f} cores)"
        )
        full = measure(setup, args.requests, args.warmup, "full")
        plans_full = explain(setup) if args.explain else ""

        lines = [
            f"workflow inbox benchmark, {today().isoformat()}, scale {args.scale}",
            f"data: {instances:,} requests, {items:,} work items, {setup.users:,} people, "
            f"{setup.pool} approvers; loads {recent_s:.1f} s + {history_s:.1f} s",
            f"requests timed: {args.requests} after {args.warmup} warm-up; machine busy "
            f"{busy:.2f} / {busy_full:.2f} cores before timing",
            "",
            *(t.line() for t in small + full),
            "",
        ]
        verdicts = []
        for name in ("typical", "busy"):
            before = pick(small, "small", f"inbox {name}")
            after = pick(full, "full", f"inbox {name}")
            base = pick(full, "full", "baseline: pk fetch")
            growth = after.p95 / before.p95
            passed = after.p95 < GOAL_P95_MS and growth <= GOAL_GROWTH
            verdicts.append(passed)
            lines.append(
                f"{name}: p95 {after.p95:.2f} ms at full data (goal < {GOAL_P95_MS:.0f}), growth "
                f"{growth:.2f}× (goal ≤ {GOAL_GROWTH:.0f}×), {after.p95 / base.p95:.1f}× a pk fetch: "
                f"{'PASS' if passed else 'FAIL'}"
            )
        if args.explain:
            lines += [
                "",
                "== plans with recent data ==",
                plans_small,
                "",
                "== plans with history ==",
                plans_full,
            ]
        text = "\n".join(lines) + "\n"
        log("\n" + text)
        RESULTS.mkdir(exist_ok=True)
        suffix = "" if args.scale == 1.0 else f"-scale{args.scale:g}"
        path = RESULTS / f"workflow-inbox-{today().isoformat()}{suffix}.txt"
        path.write_text(text, encoding="utf-8")
        log(f"results: {path.relative_to(RESULTS.parent.parent)}")
        return 1 if args.require_goal and not all(verdicts) else 0
    finally:
        database.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the data (0.1 for a smoke test)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--wait-quiet", type=int, default=0, help="wait up to S s for a quiet machine")
    parser.add_argument("--require-goal", action="store_true", help="exit status 1 when the goal is missed")
    args = parser.parse_args()
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Approval throughput through the real HTTP stack: ``--clients`` approvers (8) each approve
their own pending requests as fast as the server answers, with ``POST
/api/v1/workflow/items/{id}/approve`` and a personal access token — the row lock, the
engine, the log, the notifications and the audit record of every approval — against a bare
view that writes one row (``bench/insert-one``), measured in the same run at the same
concurrency.

Usage: ``.venv/bin/python bench/workflow_approve.py [--clients 8] [--items 150]
[--duration 20] [--no-pin]`` (see "Approval throughput" in bench/README.md).

It creates a throw-away PostgreSQL database ``xietong_bench_wfapprove_<random>`` on
127.0.0.1:5432 (user postgres, trust auth), migrates it, loads 200 people and one published
flow whose single approval step goes to the person named in the form, and submits
``--items`` requests for each approver through ``services.instance_start``. Then Granian
(WSGI, one worker, as in docs/operations.md) serves ``bench.workflow_settings`` on loopback;
the server is pinned to core 0 and the clients (threads with keep-alive ``httpx`` clients) to
core 1 when ``taskset`` and two cores are available. Each client approves its items in turn
(every request with its own ``Idempotency-Key``) until they run out or ``--duration`` ends;
then the bare view is driven the same way for as long. Any answer other than 200 stops the
run.

Reported: approvals per second, p50/p95 latency, and the ratio to the bare view. The database
is dropped and the server stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.baseline import (
    HOST,
    VENV_BIN,
    Server,
    base_env,
    can_pin,
    free_port,
    pin,
    running,
    wait_for_quiet,
)
from bench.throwaway import PG_URL, ThrowawayDatabase, configure, log
from bench.workbench import load_org

USERS = 200
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Client:
    token: str
    items: list[int]
    approver: int
    latencies: list[float] = field(default_factory=list)
    done: int = 0
    error: str = ""


@dataclass(frozen=True)
class Figure:
    label: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0

    def line(self) -> str:
        p50 = statistics.median(self.latencies or [0.0])
        return (
            f"{self.label:<22} {self.rate:8.1f} req/s   p50 {p50:7.1f} ms"
            f"   p95 {self.percentile(0.95):7.1f} ms   ({self.requests} in {self.seconds:.1f} s)"
        )


# --------------------------------------------------------------------------- data


def prepare(clients: int, per_client: int) -> list[Client]:
    from django.db import connection

    from xietong.identity import services as identity_services
    from xietong.identity.models import User
    from xietong.workflow import services
    from xietong.workflow.models import FlowDefinition, FlowVersion, WorkItem

    org = load_org(USERS)
    User.objects.update(password_changed_at=dt.datetime.now(dt.UTC))
    flow = FlowDefinition.objects.create(code="bench-approve", name="用印申请", category="seal")
    version = FlowVersion.objects.create(
        definition=flow,
        number=1,
        form={
            "fields": [
                {"key": "title", "type": "text", "label": "标题", "required": True},
                {"key": "approver", "type": "user", "label": "审批人", "required": True},
                {"key": "reason", "type": "textarea", "label": "事由"},
            ]
        },
        flow={
            "initiators": [{"kind": "everyone"}],
            "nodes": [
                {
                    "id": "n1",
                    "type": "approval",
                    "name": "审批",
                    "approvers": {"kind": "form_field", "field": "approver"},
                }
            ],
        },
        status=FlowVersion.Status.PUBLISHED,
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    people = {user.pk: user for user in User.objects.filter(pk__in=org.user_ids)}
    approvers = org.user_ids[-clients:]
    initiators = org.user_ids[: USERS - clients]
    result = []
    started = time.perf_counter()
    for number, approver in enumerate(approvers):
        for n in range(per_client):
            initiator = people[initiators[(number * per_client + n) % len(initiators)]]
            services.instance_start(
                actor=initiator,
                flow=flow,
                data={"title": f"用印申请 {number}-{n}", "approver": approver, "reason": "合同盖章"},
                request_id=f"bench-{number}-{n}",
            )
        _row, token = identity_services.api_token_create(
            user=people[approver], name="bench", scope="write", days=1
        )
        items = list(
            WorkItem.objects.filter(assignee_id=approver, state=WorkItem.State.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        result.append(Client(token=token, items=items, approver=approver))
        log(f"  approver {number + 1}/{clients}: {len(items)} pending")
    log(f"submitted {clients * per_client} requests in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return result


# --------------------------------------------------------------------------- load


def drive(base_url: str, clients: list[Client], duration: float, bare: bool) -> Figure:
    stop_at = time.monotonic() + duration
    for client in clients:
        client.latencies.clear()
        client.done = 0
        client.error = ""

    def work(client: Client) -> None:
        headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base_url, timeout=30) as http:
            queue = iter(client.items) if not bare else None
            while time.monotonic() < stop_at:
                began = time.perf_counter()
                if bare:
                    response = http.post(f"/bench/insert-one?u={client.approver}")
                else:
                    item = next(queue, None) if queue is not None else None
                    if item is None:
                        return
                    response = http.post(
                        f"/api/v1/workflow/items/{item}/approve",
                        content=b'{"opinion": "\\u540c\\u610f"}',
                        headers={**headers, "Idempotency-Key": f"approve-{item}"},
                    )
                if response.status_code != 200:
                    client.error = f"{response.status_code}: {response.text[:300]}"
                    return
                client.latencies.append((time.perf_counter() - began) * 1000)
                client.done += 1

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    failed = [client.error for client in clients if client.error]
    if failed:
        raise SystemExit(f"a request failed: {failed[0]}")
    return Figure(
        "bare insert-one" if bare else "approve",
        sum(client.done for client in clients),
        elapsed,
        [value for client in clients for value in client.latencies],
    )


# --------------------------------------------------------------------------- the run


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    database = ThrowawayDatabase("wfapprove")
    workdir = Path(tempfile.mkdtemp(prefix="xietong-bench-wfapprove-"))
    database.create()
    log(f"created database {database.name}")
    try:
        configure(database, str(workdir / "data"))
        import logging

        from django.core.management import call_command

        # One log line per client request would cost the clients' core more than the requests.
        logging.getLogger("httpx").setLevel(logging.WARNING)

        call_command("migrate", verbosity=0)
        clients = prepare(args.clients, args.items)

        pinned = args.pin and can_pin()
        env = base_env(workdir / "data")
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bench.workflow_settings",
                "XIETONG_DATABASE_URL": PG_URL.format(name=database.name),
                "XIETONG_ALLOWED_HOSTS": HOST,
                "XIETONG_SECRET_KEY": secrets.token_urlsafe(48)[:64],
            }
        )
        port = free_port()
        granian = str(VENV_BIN / "granian") if (VENV_BIN / "granian").exists() else "granian"
        command = [granian, "--interface", "wsgi", "--workers", "1", "--host", HOST, "--port", str(port)]
        command.append("xietong.wsgi:application")
        server = Server("granian", pin("0" if pinned else None, command), env, port, workdir / "server.log")
        if pinned:
            os.sched_setaffinity(0, {1})
        with running(server):
            quiet = wait_for_quiet(args.wait_quiet)
            log(f"server up; machine busy before the runs: {quiet:.2f} cores; pinned: {pinned}")
            approve = drive(server.base_url, clients, args.duration, bare=False)
            log("  " + approve.line())
            bare = drive(server.base_url, clients, approve.seconds, bare=True)
            log("  " + bare.line())
        ratio = approve.rate / bare.rate if bare.rate else 0.0
        today = dt.datetime.now(dt.UTC).date().isoformat()
        text = "\n".join(
            [
                f"workflow approve benchmark, {today}: {args.clients} clients, Granian WSGI 1 worker, "
                f"PostgreSQL, pinned: {pinned}, machine busy before: {quiet:.2f} cores",
                approve.line(),
                bare.line(),
                f"approve / bare insert-one: {ratio:.3f}",
            ]
        )
        log("\n" + text)
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"workflow-approve-{today}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        log(f"results: {path.relative_to(RESULTS.parent.parent)}")
        return 0
    finally:
        database.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--items", type=int, default=150, help="pending requests per client")
    parser.add_argument("--duration", type=float, default=20.0, help="longest approve run, seconds")
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--wait-quiet", type=int, default=0, help="wait up to S s for a quiet machine")
    args = parser.parse_args()
    if args.clients < 1 or args.items < 1:
        parser.error("--clients and --items must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

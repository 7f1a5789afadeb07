"""Server-side latency of the organisation pages at group scale: the tree page and unit
member lists with 1,000 units and 20,000 people, against a bare Django view and ``SELECT 1``
measured in the same run.

Usage: ``.venv/bin/python bench/org_tree.py [--requests 300] [--departments 1000]
[--users 20000]`` (see the "Organisation tree" section of bench/README.md).

It creates a throw-away PostgreSQL database ``xietong_bench_org_<random>`` on
127.0.0.1:5432 (user postgres, trust auth), migrates it, bulk-loads the organisation, then
sends every request through Django's test ``Client`` — the whole middleware stack, session
and permission resolution included, no network — and drops the database at the end, also on
failure or Ctrl-C. Prints p50/p95/p99 per endpoint and PASS/FAIL against p95 < 200 ms for the
tree page and the member lists.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.throwaway import ThrowawayDatabase, configure, log

GOAL_MS = 200.0
COMPANIES = 10  # under the group; each holds departments, each department its sections


# --------------------------------------------------------------------------- the organisation


@dataclass(frozen=True)
class Organisation:
    viewer_id: int
    department_id: int  # a department with its sections: a typical "含下级" member list
    section_id: int  # a leaf unit of about twenty people
    units: int
    users: int


def load(departments: int, users: int) -> Organisation:
    """Bulk-insert the group: group → companies → departments → sections, people in the
    departments and sections, one head each, pinyin keys as the services would set them."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from xietong.identity.models import User
    from xietong.org import pinyin
    from xietong.org.models import Membership, OrgUnit, Position, StaffProfile

    surnames = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    )
    given = [
        "伟",
        "芳",
        "娜",
        "秀英",
        "敏",
        "静",
        "丽",
        "强",
        "磊",
        "军",
        "洋",
        "勇",
        "艳",
        "杰",
        "涛",
        "明",
        "晓东",
        "海燕",
    ]
    kinds = ["部", "中心", "室", "处"]
    areas = ["综合", "财务", "人力", "安全", "生产", "技术", "市场", "工程", "信息", "党群", "审计", "物资"]

    def unit(path: str, depth: int, numchild: int, code: str, name: str, kind: str) -> OrgUnit:
        full, initials = pinyin.name_keys(name)
        return OrgUnit(
            path=path,
            depth=depth,
            numchild=numchild,
            code=code,
            name=name,
            kind=kind,
            name_pinyin=full,
            name_initials=initials,
        )

    # The shape: companies × departments × sections ≈ ``departments`` units below the group.
    per_company = max(1, departments // COMPANIES)
    depts_per_company = max(1, round(per_company**0.5))
    sections_per_dept = max(0, per_company // depts_per_company - 1)
    rows: list[OrgUnit] = [
        unit(OrgUnit._get_path(None, 1, 1), 1, COMPANIES, "G", "华电集团", OrgUnit.Kind.GROUP)
    ]
    root_path = rows[0].path
    for c in range(COMPANIES):
        c_path = OrgUnit._get_path(root_path, 2, c + 1)
        rows.append(unit(c_path, 2, depts_per_company, f"C{c:02d}", f"第{c + 1}分公司", OrgUnit.Kind.COMPANY))
        for d in range(depts_per_company):
            d_path = OrgUnit._get_path(c_path, 3, d + 1)
            d_name = f"{areas[d % len(areas)]}{kinds[d % len(kinds)]}{d // len(areas) or ''}"
            rows.append(
                unit(d_path, 3, sections_per_dept, f"C{c:02d}-D{d:02d}", d_name, OrgUnit.Kind.DEPARTMENT)
            )
            for s in range(sections_per_dept):
                s_path = OrgUnit._get_path(d_path, 4, s + 1)
                rows.append(
                    unit(
                        s_path,
                        4,
                        0,
                        f"C{c:02d}-D{d:02d}-S{s:02d}",
                        f"{d_name}第{s + 1}科",
                        OrgUnit.Kind.DEPARTMENT,
                    )
                )

    password = make_password("Bench#Org2026pass")
    with transaction.atomic():
        OrgUnit.objects.bulk_create(rows, batch_size=1000)
        placed = list(OrgUnit.objects.filter(depth__gte=3).order_by("path").values_list("id", flat=True))
        positions = [
            Position.objects.create(name=n, rank=r) for n, r in (("部门经理", 6), ("主管", 4), ("专员", 2))
        ]
        people = []
        for index in range(users):
            name = surnames[index % len(surnames)] + given[(index // len(surnames)) % len(given)]
            people.append(
                User(
                    username=f"u{index:05d}",
                    name=name,
                    employee_no=f"{100000 + index}",
                    email=f"u{index:05d}@example.com",
                    mobile=f"139{index:08d}",
                    password=password,
                    must_change_password=False,
                )
            )
        User.objects.bulk_create(people, batch_size=2000)
        people = list(User.objects.order_by("pk"))
        StaffProfile.objects.bulk_create(
            [
                StaffProfile(user=u, name_pinyin=k[0], name_initials=k[1])
                for u in people
                for k in [pinyin.person_keys(u.name)]
            ],
            batch_size=2000,
        )
        posts = []
        seen: set[int] = set()
        for index, person in enumerate(people):
            unit_id = placed[index % len(placed)]
            head = unit_id not in seen
            seen.add(unit_id)
            position = positions[0] if head else positions[1 + index % 2]
            posts.append(Membership(user=person, unit_id=unit_id, position=position, is_head=head))
        Membership.objects.bulk_create(posts, batch_size=2000)
    department = OrgUnit.objects.filter(depth=3).order_by("path").first()
    section = OrgUnit.objects.filter(depth=4).order_by("path").first() or department
    assert department is not None
    assert section is not None
    return Organisation(
        viewer_id=people[-1].pk,
        department_id=department.pk,
        section_id=section.pk,
        units=OrgUnit.objects.count(),
        users=len(people),
    )


# --------------------------------------------------------------------------- measuring


@dataclass
class Result:
    name: str
    what: str
    samples: list[float]
    queries: int | None = None
    size: int | None = None
    goal: bool = False

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]

    @property
    def passed(self) -> bool:
        return self.percentile(95) < GOAL_MS


def measure(name: str, what: str, call: Callable[[], Any], requests: int, warmup: int) -> Result:
    for _ in range(warmup):
        call()
    gc.collect()
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return Result(name, what, samples)


def _stop(signum: int, frame: Any) -> None:
    # SIGTERM / SIGHUP end the run through ``finally``, so the database is dropped.
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    database = ThrowawayDatabase("org")
    data_dir = tempfile.mkdtemp(prefix="xietong-bench-org-")
    database.create()
    log(f"created database {database.name}")
    try:
        configure(database, data_dir)
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from xietong.identity.models import User

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        log(f"migrated in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        org = load(args.departments, args.users)
        with connection.cursor() as cursor:
            # What autovacuum does within a minute of such a load: plans with real statistics.
            cursor.execute("ANALYZE")
        log(f"loaded {org.units} units and {org.users} people in {time.perf_counter() - started:.1f} s")

        viewer = User.objects.get(pk=org.viewer_id)
        # Loopback, as the product's embedded shape allows it; "testserver" is not an allowed host.
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(viewer)
        anonymous = Client(HTTP_HOST="127.0.0.1")

        def page(url: str) -> Callable[[], Any]:
            def call() -> Any:
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}")
                return response

            return call

        def hello() -> Any:
            response = anonymous.get("/bench/hello")
            if response.status_code != 200:
                raise SystemExit(f"/bench/hello answered {response.status_code}")
            return response

        def select_one() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()

        endpoints: list[tuple[str, str, Callable[[], Any], bool]] = [
            ("select1", "SELECT 1 through the ORM connection", select_one, False),
            ("hello", "bare Django view, whole middleware stack", hello, False),
            ("tree", f"/org/ — the whole tree, {org.units} units", page("/org/"), True),
            ("tree_search", "/org/?q=cwb — search by pinyin initials", page("/org/?q=cwb"), True),
            (
                "members",
                "/org/units/<section>/ — a unit's members",
                page(f"/org/units/{org.section_id}/"),
                True,
            ),
            (
                "members_subtree",
                "/org/units/<department>/?subtree=1 — with its sections",
                page(f"/org/units/{org.department_id}/?subtree=1"),
                True,
            ),
            ("directory", "/org/directory/?q=zw — 通讯录 pinyin search", page("/org/directory/?q=zw"), True),
            ("api_tree", "/api/v1/org/units — the tree as JSON", page("/api/v1/org/units"), True),
        ]
        results = []
        for name, what, call, goal in endpoints:
            result = measure(name, what, call, args.requests, args.warmup)
            result.goal = goal
            if name not in ("select1",):
                with CaptureQueriesContext(connection) as captured:
                    response = call()
                result.queries = len(captured)
                result.size = len(response.content)
            results.append(result)
            log(f"  {name:<16} p50 {result.percentile(50):7.2f} ms  p95 {result.percentile(95):7.2f} ms")
        report(results, org, args)
        failed = [r.name for r in results if r.goal and not r.passed]
        return 1 if failed and args.require_goal else 0
    finally:
        database.drop()


def report(results: list[Result], org: Organisation, args: argparse.Namespace) -> None:
    hello = next(r for r in results if r.name == "hello")
    log("")
    log(
        f"Organisation pages — {org.units} units, {org.users} people, {args.requests} requests each "
        f"(+{args.warmup} warm-up), PostgreSQL, Django test Client in one process"
    )
    log(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    header = (
        f"{'endpoint':<16} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
        f"{'×hello p50':>10} {'queries':>7} {'KiB':>6}  goal"
    )
    log(header)
    log("-" * len(header))
    for r in results:
        ratio = r.percentile(50) / hello.percentile(50)
        verdict = ("PASS" if r.passed else "FAIL") if r.goal else ""
        queries = r.queries if r.queries is not None else ""
        kib = (r.size or 0) / 1024
        log(
            f"{r.name:<16} {r.percentile(50):8.2f} {r.percentile(95):8.2f} {r.percentile(99):8.2f} "
            f"{statistics.fmean(r.samples):8.2f} {ratio:10.1f} {queries:>7} {kib:6.0f}  {verdict}"
        )
    goal = [r for r in results if r.goal]
    overall = "PASS" if all(r.passed for r in goal) else "FAIL"
    log("")
    log(f"{overall}: p95 < {GOAL_MS:.0f} ms for " + ", ".join(r.name for r in goal))
    for r in results:
        log(f"  {r.name}: {r.what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--departments", type=int, default=1000, help="units below the group (default 1000)")
    parser.add_argument("--users", type=int, default=20000, help="people (default 20000)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint (≥ 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--require-goal", action="store_true", help="exit status 1 when a goal is missed")
    args = parser.parse_args()
    if args.requests < 200:
        parser.error("--requests must be at least 200")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

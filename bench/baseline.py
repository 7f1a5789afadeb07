"""Baseline throughput of the logged-in home page against a bare Django view.

Two deployment shapes, each measured on both endpoints with wrk:

* production: Granian WSGI, one worker, PostgreSQL (a throwaway database) and Redis;
* embedded: ``xietong serve`` (uvicorn, HTTP through a2wsgi) on SQLite.

Usage: ``.venv/bin/python bench/baseline.py [--quick] [--duration S]`` (see bench/README.md).
Every process and the throwaway database are removed on exit, including on failure.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
LUA_SCRIPT = BENCH_DIR / "report.lua"
VENV_BIN = Path(sys.executable).parent

HOST = "127.0.0.1"  # loopback only: nothing here is ever reachable from outside
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"
# A database number the product never uses by default, so a run cannot disturb real data.
REDIS_URL = "redis://127.0.0.1:6379/14"

# Variables of the caller that would change a shape behind the benchmark's back.
LEAKY_PREFIXES = ("XIETONG_", "GRANIAN_", "UVICORN_")

USERNAME = "zhangwei"
USER_DISPLAY_NAME = "张伟"
# Both meet the password policy; fixed values are harmless in a throwaway database.
INITIAL_PASSWORD = "Bench#Pass2026"  # noqa: S105
CHANGED_PASSWORD = "Bench#Changed2026"  # noqa: S105

SERVER_CPU = "0"
WRK_CPU = "1"
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 15.0
SETUP_TIMEOUT = 600.0
WATCHDOG_SECONDS = 30 * 60  # the whole run, set-up included, never hangs longer than this

ENDPOINTS = {"hello": "/bench/hello", "home": "/"}
# Above this many busy cores before the run starts, the results are flagged as noisy.
QUIET_THRESHOLD = 0.25
GOAL_RATIO = 0.5  # production: home req/s must be at least half the bare view's


class BenchError(RuntimeError):
    """A run that cannot be trusted: the benchmark stops and says why."""


@dataclass(frozen=True)
class Protocol:
    duration_s: int
    warmup_s: int
    wrk_threads: int
    connections: int
    pinned: bool
    quick: bool
    server_cpu: str | None = None
    wrk_cpu: str | None = None
    blocking_threads: int | None = None  # None: Granian's own default


@dataclass
class Measurement:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    requests: int
    duration_s: float
    bytes: int
    errors: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


# --------------------------------------------------------------------------- utilities


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def log_summary(path: Path, lines: int = 40, limit: int = 5000) -> str:
    """The end of a server log, readable: JSON records with a traceback are cut down to
    their message and final exception line, and repeated lines are counted, not repeated."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    summary: list[list[Any]] = []  # [line, count]
    for raw in text.splitlines()[-lines:]:
        line = raw
        with contextlib.suppress(ValueError, AttributeError, IndexError):
            record = json.loads(raw)
            if record.get("exc_info"):
                # The exception itself is the last unindented line; below it come only
                # the source excerpts and caret markers of the innermost frame.
                final = [x for x in record["exc_info"].splitlines() if x and not x[0].isspace()][-1]
                line = f"{record.get('message')}: {final}"
        if summary and summary[-1][0] == line:
            summary[-1][1] += 1
        else:
            summary.append([line, 1])
    text = "\n".join(line if count == 1 else f"{line}  (x{count})" for line, count in summary)
    return text[-limit:]


def base_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without any knob that could leak into a shape.

    ``make bench`` exports XIETONG_DATA_DIR for the developer's own data, which a benchmark
    must never touch; GRANIAN_* variables would silently change the server's settings.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(LEAKY_PREFIXES) and key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            # xietong.boot only uses setdefault, so this module wins.
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "XIETONG_DATA_DIR": str(data_dir),
            "XIETONG_DEMO_PASSWORD": INITIAL_PASSWORD,
        }
    )
    return env


def run_step(
    description: str, command: list[str], env: dict[str, str], timeout: float = SETUP_TIMEOUT
) -> None:
    log(description)
    try:
        result = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{description}: no answer after {timeout:.0f} s") from None
    if result.returncode != 0:
        raise BenchError(
            f"{description} failed (exit {result.returncode}): {shlex.join(command)}\n"
            f"{result.stdout[-2000:]}{result.stderr[-4000:]}"
        )


def xietong(*args: str) -> list[str]:
    return [sys.executable, "-m", "xietong", *args]


def pin(cpu: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if cpu is not None else command


def can_pin() -> bool:
    """Pinning needs taskset and both cores available to this process."""
    return shutil.which("taskset") is not None and {0, 1} <= os.sched_getaffinity(0)


# --------------------------------------------------------------------------- database


def create_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    # FORCE ends connections a crashed server may have left behind (PostgreSQL >= 13).
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        log(f"dropped database {name}")
    except psycopg.Error as exc:
        log(f"WARNING: could not drop database {name}: {exc}")


def flush_redis() -> None:
    """Empty the benchmark's Redis database: a cache left by an earlier run (another schema,
    another secret key) must not leak into this one."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        log(f"WARNING: could not empty {REDIS_URL}: {exc}")


# --------------------------------------------------------------------------- servers


def start_server(server: Server) -> None:
    log(f"starting {server.name}: {shlex.join(server.command)}")
    with server.log_path.open("wb") as log_file:
        server.process = subprocess.Popen(
            server.command,
            env=server.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Own process group: Granian forks a worker, and stop_server must reach it too.
            start_new_session=True,
        )
    wait_until_up(server)


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{server.name} not answering after {SERVER_START_TIMEOUT:.0f} s")


def stop_server(server: Server) -> None:
    process = server.process
    if process is None:
        return
    if process.poll() is None:
        log(f"stopping {server.name} (pid {process.pid})")
        for sig, grace in ((signal.SIGTERM, SERVER_STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
    # The group may still hold a forked worker after the leader has gone, even when the
    # leader died on its own.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        start_server(server)
        yield server
    except BenchError as exc:
        # The server's own log says why it answered badly; the work dir is deleted on exit.
        raise BenchError(f"{exc}\n--- {server.name} log (end) ---\n{log_summary(server.log_path)}") from None
    finally:
        stop_server(server)


# --------------------------------------------------------------------------- shapes


def prepare_common(env: dict[str, str]) -> None:
    run_step("migrate", xietong("migrate", "--no-input", "-v", "0"), env)
    run_step("load demo", xietong("demo", "--quiet"), env)
    # The user has replaced the one-time password, as after a real first login; otherwise
    # the home page is a redirect to the password form. The fields are those the product's
    # password change sets; its policy checks are not what this benchmark measures.
    change = (
        "import os; from django.utils import timezone; from xietong.identity.models import User; "
        f"user = User.objects.get(username={USERNAME!r}); "
        "user.set_password(os.environ['BENCH_NEW_PASSWORD']); "
        "user.must_change_password = False; user.password_changed_at = timezone.now(); "
        "user.save(update_fields=['password', 'must_change_password', 'password_changed_at'])"
    )
    run_step(
        f"change the initial password of {USERNAME}",
        xietong("shell", "-c", change),
        {**env, "BENCH_NEW_PASSWORD": CHANGED_PASSWORD},
    )


def production_server(workdir: Path, stack: contextlib.ExitStack, protocol: Protocol) -> Server:
    db_name = f"xietong_bench_{os.getpid()}_{secrets.token_hex(4)}"
    log(f"creating database {db_name}")
    create_database(db_name)
    stack.callback(drop_database, db_name)
    flush_redis()
    stack.callback(flush_redis)
    env = base_env(workdir / "data")
    env.update(
        {
            "XIETONG_ENV": "production",
            "XIETONG_DATABASE_URL": PG_URL.format(name=db_name),
            "XIETONG_REDIS_URL": REDIS_URL,
            "XIETONG_SECRET_KEY": secrets.token_urlsafe(48)[:64],
            "XIETONG_ALLOWED_HOSTS": HOST,
            "XIETONG_SSL_REDIRECT": "false",
            "XIETONG_STATIC_ROOT": str(workdir / "static"),
        }
    )
    run_step("collectstatic (manifest storage)", xietong("collectstatic", "--no-input", "-v", "0"), env)
    prepare_common(env)
    port = free_port()
    granian = str(VENV_BIN / "granian") if (VENV_BIN / "granian").exists() else "granian"
    # As in docs/operations.md, with one worker so that it fits the one pinned core.
    command = [granian, "--interface", "wsgi", "--workers", "1", "--host", HOST, "--port", str(port)]
    if protocol.blocking_threads:
        command += ["--blocking-threads", str(protocol.blocking_threads)]
    command.append("xietong.wsgi:application")
    return Server("production", pin(protocol.server_cpu, command), env, port, workdir / "server.log")


def embedded_server(workdir: Path, stack: contextlib.ExitStack, protocol: Protocol) -> Server:
    env = base_env(workdir / "data")
    prepare_common(env)
    port = free_port()
    command = xietong("serve", "--host", HOST, "--port", str(port), "--no-jobs")
    return Server("embedded", pin(protocol.server_cpu, command), env, port, workdir / "server.log")


SHAPES = {"production": production_server, "embedded": embedded_server}


# --------------------------------------------------------------------------- login


def log_in(server: Server) -> dict[str, str]:
    """Log in through the real form; returns the cookies a browser would then send."""
    with httpx.Client(base_url=server.base_url, timeout=15, follow_redirects=False) as client:
        login_url = "/account/login/"
        page = client.get(login_url)
        if page.status_code != 200:
            raise BenchError(f"{server.name}: GET {login_url} answered {page.status_code}")
        token = client.cookies.get("xietong_csrftoken")
        if not token:
            raise BenchError(f"{server.name}: no xietong_csrftoken cookie from the login page")
        answer = client.post(
            login_url,
            data={"username": USERNAME, "password": CHANGED_PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{server.base_url}{login_url}"},
        )
        session = client.cookies.get("xietong_session")
        if answer.status_code != 302 or not session:
            raise BenchError(f"{server.name}: login failed (status {answer.status_code})")
        # Login rotates the CSRF token; a browser sends the new one with every page, and
        # without it each page view would mint and set a fresh token.
        return {"xietong_session": session, "xietong_csrftoken": client.cookies["xietong_csrftoken"]}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def check_endpoints(server: Server, cookies: dict[str, str]) -> None:
    """Both endpoints answer 200 with the expected body before any load is applied."""
    home = httpx.get(f"{server.base_url}/", headers={"Cookie": cookie_header(cookies)}, timeout=15)
    if home.status_code != 200 or USER_DISPLAY_NAME not in home.text:
        raise BenchError(f"{server.name}: / answered {home.status_code} without {USER_DISPLAY_NAME}")
    hello = httpx.get(f"{server.base_url}{ENDPOINTS['hello']}", timeout=15)
    if hello.status_code != 200 or hello.text != "hello":
        raise BenchError(f"{server.name}: {ENDPOINTS['hello']} answered {hello.status_code}")
    log(f"{server.name}: / is {len(home.content)} bytes for {USER_DISPLAY_NAME}; hello OK")


# --------------------------------------------------------------------------- CPU accounting

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_ticks() -> int:
    """Busy time of all cores together, from the first line of /proc/stat.

    Steal (time the hypervisor gave to other guests) counts as busy: on a virtual machine
    it is the noise from neighbours that this figure is meant to reveal.
    """
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return user + nice + system + irq + softirq + steal


def group_ticks(pgid: int) -> int:
    """CPU time of every live process in one process group (the server and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces
            if int(fields[2]) == pgid:  # field 5, pgrp
                total += int(fields[11]) + int(fields[12])  # fields 14-15, utime and stime
    return total


@dataclass(frozen=True)
class CpuSnapshot:
    """Where CPU time went during a run: the server, the load generator, everything else.

    "other" is the machine's busy time minus the server and wrk: the database and Redis in
    the production shape, plus anything else running on the machine. A high value in the
    embedded shape means the figures were taken on a busy machine.
    """

    wall: float
    machine: int
    server: int
    children: float

    @classmethod
    def take(cls, server: Server) -> CpuSnapshot:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been reaped
        pgid = server.process.pid if server.process is not None else -1
        return cls(time.monotonic(), machine_busy_ticks(), group_ticks(pgid), usage.ru_utime + usage.ru_stime)

    def usage_since(self, before: CpuSnapshot) -> dict[str, float]:
        wall = self.wall - before.wall
        machine = (self.machine - before.machine) / CLOCK_TICKS
        server = (self.server - before.server) / CLOCK_TICKS
        wrk = self.children - before.children
        # In cores: 1.0 is one core fully busy for the whole run.
        return {
            "server_cores": round(server / wall, 2),
            "wrk_cores": round(wrk / wall, 2),
            "other_cores": round(max(0.0, machine - server - wrk) / wall, 2),
        }


# --------------------------------------------------------------------------- load


def wrk(url: str, seconds: int, protocol: Protocol, cookie: str | None) -> dict[str, Any]:
    command = ["wrk", f"-t{protocol.wrk_threads}", f"-c{protocol.connections}", f"-d{seconds}s"]
    command += ["--timeout", "10s", "-s", str(LUA_SCRIPT)]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command = pin(protocol.wrk_cpu, [*command, url])
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish: {shlex.join(command)}") from None
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise BenchError(f"wrk failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def check_report(report: dict[str, Any], label: str) -> None:
    """Any non-2xx answer or socket error makes the figures meaningless: stop loudly."""
    errors = {name: count for name, count in report["errors"].items() if count}
    if report["non2xx"] or errors:
        raise BenchError(
            f"{label}: {report['non2xx']} non-2xx responses (last status {report['last_bad_status']}), "
            f"socket errors {errors or 'none'} out of {report['requests']} requests"
        )
    if not report["requests"]:
        raise BenchError(f"{label}: no request completed")


def checked_run(
    server: Server, url: str, seconds: int, protocol: Protocol, cookie: str | None, label: str
) -> dict[str, Any]:
    before = CpuSnapshot.take(server)
    report = wrk(url, seconds, protocol, cookie)
    report["cpu"] = CpuSnapshot.take(server).usage_since(before)
    check_report(report, label)
    return report


def measure(server: Server, endpoint: str, protocol: Protocol, cookies: dict[str, str]) -> Measurement:
    url = f"{server.base_url}{ENDPOINTS[endpoint]}"
    # The bare view is measured anonymously: with a session cookie the auth middleware
    # would load the session and the user, and it would no longer be DB-free.
    cookie = cookie_header(cookies) if endpoint == "home" else None
    label = f"{server.name}/{endpoint}"
    log(f"{label}: warm-up {protocol.warmup_s} s")
    checked_run(server, url, protocol.warmup_s, protocol, cookie, f"{label} warm-up")
    log(f"{label}: measuring {protocol.duration_s} s at -t{protocol.wrk_threads} -c{protocol.connections}")
    report = checked_run(server, url, protocol.duration_s, protocol, cookie, label)
    if server.process is None or server.process.poll() is not None:
        raise BenchError(f"{server.name} died during the run")
    return Measurement(
        rps=round(report["rps"], 1),
        p50_ms=report["p50_us"] / 1000,
        p95_ms=report["p95_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        mean_ms=round(report["mean_us"] / 1000, 3),
        max_ms=report["max_us"] / 1000,
        requests=report["requests"],
        duration_s=round(report["duration_s"], 3),
        bytes=report["bytes"],
        errors={**report["errors"], "non2xx": report["non2xx"]},
        cpu=report["cpu"],
    )


def bench_shape(name: str, protocol: Protocol, stack: contextlib.ExitStack) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"xietong-bench-{name}-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    log(f"=== {name} shape (work dir {workdir})")
    server = SHAPES[name](workdir, stack, protocol)
    stack.callback(stop_server, server)  # idempotent; covers exits that skip running()
    results: dict[str, Measurement] = {}
    with running(server):
        cookies = log_in(server)
        check_endpoints(server, cookies)
        for endpoint in ENDPOINTS:
            results[endpoint] = measure(server, endpoint, protocol, cookies)
            log(f"{name}/{endpoint}: {results[endpoint].rps:.1f} req/s")
    return {
        "server": [Path(part).name if part.startswith("/") else part for part in server.command],
        "endpoints": {endpoint: asdict(m) for endpoint, m in results.items()},
    }


# --------------------------------------------------------------------------- report


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0


def ratios(shapes: dict[str, Any]) -> dict[str, dict[str, float]]:
    def rps(shape: str, endpoint: str) -> float:
        value: float = shapes[shape]["endpoints"][endpoint]["rps"]
        return value

    result: dict[str, dict[str, float]] = {"home_over_hello": {}, "embedded_over_production": {}}
    for shape in shapes:
        result["home_over_hello"][shape] = ratio(rps(shape, "home"), rps(shape, "hello"))
    if {"production", "embedded"} <= shapes.keys():
        for endpoint in ENDPOINTS:
            result["embedded_over_production"][endpoint] = ratio(
                rps("embedded", endpoint), rps("production", endpoint)
            )
    return result


def goal(computed: dict[str, dict[str, float]]) -> dict[str, Any]:
    value = computed["home_over_hello"].get("production")
    if value is None:
        return {"status": "NOT MEASURED", "ratio": None, "target": GOAL_RATIO}
    return {"status": "PASS" if value >= GOAL_RATIO else "FAIL", "ratio": value, "target": GOAL_RATIO}


def table(shapes: dict[str, Any], computed: dict[str, dict[str, float]], verdict: dict[str, Any]) -> str:
    rows = [
        "| shape      | endpoint | req/s    | p50 ms | p95 ms | p99 ms | server CPU | other CPU |",
        "|------------|----------|---------:|-------:|-------:|-------:|-----------:|----------:|",
    ]
    for shape, data in shapes.items():
        for endpoint, m in data["endpoints"].items():
            rows.append(
                f"| {shape:<10} | {endpoint:<8} | {m['rps']:>8.1f} | {m['p50_ms']:>6.2f} "
                f"| {m['p95_ms']:>6.2f} | {m['p99_ms']:>6.2f} "
                f"| {m['cpu']['server_cores']:>10.2f} | {m['cpu']['other_cores']:>9.2f} |"
            )
    rows.append("")
    rows.append("CPU columns are in cores (1.00 = one core busy for the whole run); see README.")
    for shape, value in computed["home_over_hello"].items():
        rows.append(f"home/hello, {shape}: {value:.3f}")
    for endpoint, value in computed["embedded_over_production"].items():
        rows.append(f"embedded/production, {endpoint}: {value:.3f}")
    if verdict["ratio"] is not None:
        rows.append(
            f"Goal (production: home >= {GOAL_RATIO} x hello req/s): {verdict['status']} "
            f"({verdict['ratio']:.3f})"
        )
    return "\n".join(rows)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("django", "granian", "uvicorn", "a2wsgi", "psycopg", "httptools", "uvloop"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    wrk_banner = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    found["wrk"] = (wrk_banner.stdout or wrk_banner.stderr).split("\n")[0].strip()
    return found


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        return result.stdout.strip()

    with contextlib.suppress(OSError, subprocess.SubprocessError):
        diff = git("diff", "HEAD")
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain")),
            # Tells apart two runs on the same commit with different uncommitted edits.
            "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
        }
    return {}


def background_cores(seconds: float = 2.0) -> float:
    """How busy the machine is before anything starts; others' work skews every figure."""
    start_ticks, start = machine_busy_ticks(), time.monotonic()
    time.sleep(seconds)
    return round((machine_busy_ticks() - start_ticks) / CLOCK_TICKS / (time.monotonic() - start), 2)


def wait_for_quiet(limit_s: int) -> float:
    """Sample the machine's load until it is quiet or ``limit_s`` has passed; the last sample."""
    deadline = time.monotonic() + limit_s
    busy = background_cores()
    while busy > QUIET_THRESHOLD and time.monotonic() < deadline:
        log(f"machine busy ({busy:.2f} cores); waiting for it to quieten")
        busy = background_cores(5.0)
    return busy


def machine(wait_quiet_s: int) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "background_cores_at_start": wait_for_quiet(wait_quiet_s),
    }


def write_results(document: dict[str, Any], quick: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if quick else ""  # smoke runs never overwrite a full run's figures
    path = RESULTS_DIR / f"baseline-{dt.datetime.now(dt.UTC).astimezone():%Y-%m-%d}{suffix}.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- main


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Baseline: logged-in home page vs a bare Django view.")
    parser.add_argument("--duration", type=positive, default=10, help="measured seconds per run (default 10)")
    parser.add_argument("--quick", action="store_true", help="3-second runs, for smoke tests")
    parser.add_argument("--threads", type=positive, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=positive, default=32, help="wrk connections (default 32)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and wrk to cores")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append", help="only this shape")
    parser.add_argument(
        "--blocking-threads",
        type=positive,
        default=8,
        help="Granian --blocking-threads for the production shape (default 8, as in docs/operations.md)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=int,
        default=0,
        metavar="S",
        help="wait up to S seconds for other work on the machine to stop before starting",
    )
    parser.add_argument(
        "--require-goal", action="store_true", help="exit with status 1 when the goal is missed"
    )
    return parser.parse_args(argv)


def make_protocol(args: argparse.Namespace) -> Protocol:
    pinned = not args.no_pin and can_pin()
    if not args.no_pin and not pinned:
        log("WARNING: cannot pin to cores 0 and 1 (no taskset or restricted affinity); running unpinned")
    return Protocol(
        duration_s=3 if args.quick else args.duration,
        warmup_s=2,
        wrk_threads=args.threads,
        connections=args.connections,
        pinned=pinned,
        quick=args.quick,
        server_cpu=SERVER_CPU if pinned else None,
        wrk_cpu=WRK_CPU if pinned else None,
        blocking_threads=args.blocking_threads,
    )


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (apt-get install wrk)")
    if not LUA_SCRIPT.exists():
        raise BenchError(f"missing {LUA_SCRIPT}")


def on_signal(signum: int, frame: FrameType | None) -> None:
    # Turn termination and the watchdog into exceptions so every finally block runs.
    raise BenchError(f"stopped by signal {signal.Signals(signum).name}")


def run(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    check_tools()
    protocol = make_protocol(args)
    started = dt.datetime.now(dt.UTC)
    document: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.executable).name, "bench/baseline.py", *sys.argv[1:]]),
        "git": git_state(),
        "machine": machine(args.wait_quiet),
        "versions": versions(),
        "protocol": asdict(protocol),
        "shapes": {},
    }
    busy = document["machine"]["background_cores_at_start"]
    if busy > QUIET_THRESHOLD:
        log(f"WARNING: the machine was already using {busy:.2f} cores before the run; figures are noisy")
    for name in args.shape or list(SHAPES):
        document["shapes"][name] = bench_shape(name, protocol, stack)
    document["ratios"] = ratios(document["shapes"])
    document["goal"] = goal(document["ratios"])
    document["elapsed_s"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    path = write_results(document, protocol.quick)
    print()
    print(table(document["shapes"], document["ratios"], document["goal"]))
    noisy = " (busy machine: figures are noisy)" if busy > QUIET_THRESHOLD else ""
    print(f"\nbackground load before the run: {busy:.2f} cores{noisy}")
    print(f"pinned: {protocol.pinned}; results written to {path.relative_to(ROOT)}")
    return 1 if args.require_goal and document["goal"]["status"] == "FAIL" else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(WATCHDOG_SECONDS)
    stack = contextlib.ExitStack()
    # atexit covers an exit that bypasses the finally below (e.g. sys.exit in a callback).
    atexit.register(stack.close)
    try:
        return run(args, stack)
    except BenchError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("\nBENCHMARK INTERRUPTED", file=sys.stderr, flush=True)
        return 130
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up itself finish
        stack.close()


if __name__ == "__main__":
    sys.exit(main())

"""A continuous-writes checker: a client that never stops writing while a test changes the
cluster, and proves afterwards that no acknowledged write was lost.

It uses what a real client of the charm gets on the ``db`` relation (the connection string and
the client certificate, read with ``juju show-unit`` from the client unit's relation data) and
etcd's JSON gateway (``/v3/kv/put``, ``/v3/kv/range``), from the test process. Each write puts
``<prefix>/<n>`` = ``n`` for n = 0, 1, 2, ...; a failed request is retried with the same key
and value (idempotent) on the next endpoint until it is acknowledged. The loop is bounded in
count and in time; writes are paced (``interval``) so that the load stays modest on 2 cores.

``stop()`` ends the loop and reads every key under the prefix back: every acknowledged value
must be there. The report gives acknowledged, failed requests, retried writes, p50/p99 latency
(first attempt to acknowledgement) and the longest gap between two acknowledgements.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jubilant

# the standard-library etcd gateway client the built-in etcd-client charm uses
from localjuju.charms import etcd_gateway as gw

ROOT = Path(__file__).resolve().parents[1]
#: every scenario's figures, written after each one (quoted in the issue notes)
REPORT = ROOT / "build" / "resilience-report.json"
REPORTS: dict[str, dict[str, object]] = {}


@dataclass
class Credentials:
    """What etcd published to a client on ``db``; the PEM files live in ``directory``."""

    endpoints: tuple[str, ...]
    directory: str
    _gateway: bool | None = None

    @property
    def ca(self) -> str:
        return os.path.join(self.directory, "ca.crt")

    @property
    def cert(self) -> str:
        return os.path.join(self.directory, "client.crt")

    @property
    def key(self) -> str:
        return os.path.join(self.directory, "client.key")

    def client(self, endpoints: list[str] | None = None, timeout: float = 2.0) -> Any:
        """A client for ``endpoints``: etcd's JSON gateway, or etcdctl when the server has
        none (etcd 3.4 configured by a config file, as the snap's is, serves none; the same
        build configured by flags, as the Debian package's etcd.service is, does)."""
        urls = endpoints or list(self.endpoints)
        if self._gateway is None:
            self._gateway = self._serves_gateway()
        if not self._gateway:
            return EtcdctlClient(urls, self, timeout)
        return gw.Gateway(
            urls, ca_file=self.ca, cert_file=self.cert, key_file=self.key, timeout=timeout
        )

    def _serves_gateway(self) -> bool:
        probe = gw.Gateway(
            list(self.endpoints), ca_file=self.ca, cert_file=self.cert, key_file=self.key
        )
        try:
            probe.get("probe")
            return True
        except gw.EtcdError as e:
            if "HTTP 404" not in str(e):
                raise
            return False
        finally:
            probe.close()


ETCDCTL = os.environ.get("ETCDCTL_BINARY") or str(ROOT / ".cache" / "etcd" / "3.5.16" / "etcdctl")


class EtcdctlClient:
    """The same put/scan_prefix as the gateway client, through the etcdctl binary."""

    def __init__(self, endpoints: list[str], creds: Credentials, timeout: float) -> None:
        self.endpoints = endpoints
        self.creds = creds
        self.timeout = timeout

    def _run(self, *args: str, timeout: float) -> dict[str, Any]:
        argv = [
            ETCDCTL,
            f"--endpoints={','.join(self.endpoints)}",
            f"--cacert={self.creds.ca}",
            f"--cert={self.creds.cert}",
            f"--key={self.creds.key}",
            f"--dial-timeout={self.timeout:.0f}s",
            f"--command-timeout={timeout:.0f}s",
            "-w",
            "json",
            *args,
        ]
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout + 5,
                env={"ETCDCTL_API": "3"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise gw.EtcdError(f"etcdctl {args[0]}: no answer") from None
        if proc.returncode != 0:
            raise gw.EtcdError(f"etcdctl {args[0]}: {proc.stderr.strip().splitlines()[-1:]}")
        return dict(json.loads(proc.stdout or "{}"))

    def put(self, key: str, value: str) -> int:
        out = self._run("put", key, value, timeout=self.timeout)
        return int(out.get("header", {}).get("revision", 0))

    def scan_prefix(self, prefix: bytes, deadline: float | None = None) -> tuple[list, int]:
        timeout = max(5.0, (deadline or time.monotonic() + 60) - time.monotonic())
        out = self._run("get", "--prefix", prefix.decode(), timeout=timeout)
        kvs = [gw.Gateway._kv(kv) for kv in out.get("kvs") or []]
        return kvs, int(out.get("header", {}).get("revision", 0))

    def close(self) -> None:
        pass

    def __enter__(self) -> EtcdctlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def db_credentials(juju: jubilant.Juju, client_unit: str, endpoint: str = "etcd") -> Credentials:
    """The connection string and client TLS etcd published to ``client_unit`` (show-unit)."""
    out = juju.cli("show-unit", client_unit, "--format", "json")
    info = json.loads(out)[client_unit]
    data: dict[str, str] = {}
    for rel in info.get("relation-info") or []:
        if rel.get("endpoint") != endpoint:
            continue
        for unit in (rel.get("related-units") or {}).values():
            for k, v in (unit.get("data") or {}).items():
                data.setdefault(k, v)
    missing = [
        k
        for k in ("connection_string", "client_ca", "client_cert", "client_key")
        if not data.get(k)
    ]
    if missing:
        raise AssertionError(f"{client_unit} has no {', '.join(missing)} from etcd yet")
    directory = tempfile.mkdtemp(prefix="etcd-writes-")
    for name, key in (("ca.crt", "client_ca"), ("client.crt", "client_cert")):
        Path(directory, name).write_text(data[key])
    fd = os.open(os.path.join(directory, "client.key"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data["client_key"])
    endpoints = tuple(e for e in data["connection_string"].split(",") if e)
    return Credentials(endpoints, directory)


@dataclass
class Report:
    acknowledged: int
    failed: int  # requests that got no acknowledgement (each one retried)
    retried: int  # writes acknowledged only after at least one failed request
    lost: list[int]  # acknowledged values missing when read back
    wrong: list[int]  # acknowledged keys read back with another value
    p50_ms: float
    p99_ms: float
    longest_gap_ms: float
    duration_s: float
    errors: list[str] = field(default_factory=list)  # the first few failures, for the log

    def summary(self) -> str:
        return (
            f"{self.acknowledged} acknowledged in {self.duration_s:.1f}s, "
            f"{self.failed} failed requests, {self.retried} retried writes, "
            f"{len(self.lost)} lost, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"longest gap {self.longest_gap_ms:.0f} ms"
        )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def longest_gap(start: float, acks: list[float], end: float) -> float:
    """The longest time without an acknowledgement between ``start`` and ``end``."""
    points = [start, *acks, end]
    return max((b - a for a, b in zip(points, points[1:], strict=False)), default=0.0)


class ContinuousWrites:
    """Start with :meth:`start`, end with :meth:`stop` (which verifies)."""

    def __init__(
        self,
        creds: Credentials,
        prefix: str,
        max_writes: int = 50_000,
        max_seconds: float = 900.0,
        interval: float = 0.02,
        request_timeout: float = 2.0,
        balanced: bool = False,
    ) -> None:
        """``balanced``: one client given every endpoint (as etcd's own client library is
        used), instead of one client per endpoint that the writer fails over between."""
        self.creds = creds
        self.balanced = balanced
        self.prefix = prefix.rstrip("/")
        self.max_writes = max_writes
        self.max_seconds = max_seconds
        self.interval = interval
        self.request_timeout = request_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.acked: list[int] = []
        self.ack_times: list[float] = []
        self.latencies: list[float] = []
        self.failed = 0
        self.retried = 0
        # every failed request: (when it started, how long it took, endpoint index, error)
        self.failures: list[tuple[float, float, int, str]] = []
        self._current = 0  # the endpoint that answered last
        self.errors: list[str] = []
        self.started_at = 0.0
        self.ended_at = 0.0

    def key(self, n: int) -> str:
        return f"{self.prefix}/{n:08d}"

    def start(self) -> ContinuousWrites:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="continuous-writes", daemon=True)
        self._thread.start()
        return self

    def wait_for_acks(self, count: int, timeout: float = 60.0) -> None:
        """Block until ``count`` more writes are acknowledged (proves the loop is writing)."""
        target = len(self.acked) + count
        end = time.monotonic() + timeout
        while len(self.acked) < target:
            if time.monotonic() > end or not (self._thread and self._thread.is_alive()):
                raise AssertionError(
                    f"only {len(self.acked)}/{target} writes acknowledged: {self.errors[-3:]}"
                )
            time.sleep(0.05)

    def _loop(self) -> None:
        endpoints = self.creds.endpoints
        if self.balanced:
            clients = [self.creds.client(list(endpoints), self.request_timeout)]
        else:
            clients = [self.creds.client([e], self.request_timeout) for e in endpoints]
        deadline = self.started_at + self.max_seconds
        next_at = time.monotonic()
        try:
            for n in range(self.max_writes):
                if self._stop.is_set() or time.monotonic() >= deadline:
                    break
                self._write(clients, n, deadline)
                next_at = max(next_at + self.interval, time.monotonic())
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            self.ended_at = time.monotonic()
            for c in clients:
                c.close()

    def _write(self, clients: list[Any], n: int, deadline: float) -> None:
        """Put value ``n`` until an endpoint acknowledges it, failing over to the next
        endpoint after each failed request, or until the loop ends."""
        first = time.monotonic()
        for attempt in itertools.count(1):
            if self._stop.is_set() or time.monotonic() >= deadline:
                return
            sent = time.monotonic()
            try:
                clients[self._current].put(self.key(n), str(n))
            except gw.EtcdError as e:
                self.failed += 1
                if len(self.failures) < 1000:
                    self.failures.append(
                        (sent, time.monotonic() - sent, self._current, str(e)[:120])
                    )
                if len(self.errors) < 20:
                    self.errors.append(str(e)[:300])
                if "HTTP 404" in str(e):
                    # the member now runs an etcd without the JSON gateway (a deb-era member
                    # moved to the snap): the same endpoint through etcdctl from now on
                    endpoint = self.creds.endpoints[self._current]
                    clients[self._current].close()
                    clients[self._current] = EtcdctlClient(
                        [endpoint], self.creds, self.request_timeout
                    )
                    continue
                self._current = (self._current + 1) % len(clients)
                if self._current == 0:  # every endpoint failed once: do not spin
                    self._stop.wait(self.interval)
                continue
            now = time.monotonic()
            self.acked.append(n)
            self.ack_times.append(now)
            self.latencies.append(now - first)
            if attempt > 1:
                self.retried += 1
            return

    def stop(self, verify_with: Credentials | None = None) -> Report:
        """End the loop and read every acknowledged key back (through ``verify_with``, the
        client's current credentials, when the endpoints changed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.request_timeout * 4 + 5)
            assert not self._thread.is_alive(), "the write loop did not stop"
        creds = verify_with or self.creds
        with creds.client(timeout=10.0) as g:
            kvs, _ = g.scan_prefix((self.prefix + "/").encode(), deadline=time.monotonic() + 60)
        found = {kv.key.decode(): kv.value.decode() for kv in kvs}
        lost = [n for n in self.acked if self.key(n) not in found]
        wrong = [n for n in self.acked if self.key(n) in found and found[self.key(n)] != str(n)]
        ms = [v * 1000 for v in self.latencies]
        return Report(
            acknowledged=len(self.acked),
            failed=self.failed,
            retried=self.retried,
            lost=lost,
            wrong=wrong,
            p50_ms=statistics.median(ms) if ms else 0.0,
            p99_ms=percentile(ms, 99),
            longest_gap_ms=longest_gap(self.started_at, self.ack_times, self.ended_at) * 1000,
            duration_s=self.ended_at - self.started_at,
            errors=list(self.errors),
        )


@contextmanager
def continuous_writes(
    juju: jubilant.Juju, scenario: str, client: str = "etcd-client/0"
) -> Iterator[ContinuousWrites]:
    """Writes run for the body of the ``with``; afterwards no acknowledged write is lost."""
    writes = ContinuousWrites(db_credentials(juju, client), f"cw/{scenario}").start()
    writes.wait_for_acks(20)
    yield writes
    writes.wait_for_acks(20)  # still writing after the change
    report = writes.stop(verify_with=db_credentials(juju, client))
    record(scenario, report)
    assert report.lost == [] and report.wrong == [], report.summary()
    assert report.acknowledged > 40


def note(scenario: str, **figures: object) -> None:
    """Add figures measured around a scenario to its entry in the report."""
    REPORTS.setdefault(scenario, {}).update(figures)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(REPORTS, indent=2, sort_keys=True) + "\n")


def record(scenario: str, report: Report) -> None:
    REPORTS[scenario] = {
        "acknowledged": report.acknowledged,
        "failed_writes": report.failed,
        "retried_writes": report.retried,
        "lost": len(report.lost),
        "p50_ms": round(report.p50_ms, 1),
        "p99_ms": round(report.p99_ms, 1),
        "longest_gap_ms": round(report.longest_gap_ms),
        "duration_s": round(report.duration_s, 1),
        "first_errors": report.errors[:3],
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(REPORTS, indent=2, sort_keys=True) + "\n")
    print(f"{scenario}: {report.summary()}")

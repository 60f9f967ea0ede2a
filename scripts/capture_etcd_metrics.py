#!/usr/bin/env python3
"""Capture the metric families real etcd servers export, for the alert rules' unit tests.

For each etcd version cached under .cache/etcd/<version>/ (scripts/fetch-etcd) this builds a
throw-away 3-member cluster on 127.0.0.1 (plain HTTP, a temporary directory), writes a few keys
(so that the disk and request histograms have samples), stops one member (so that the
peer-failure counters have children: a vector metric without a child exports nothing), and
reads ``/metrics`` from a surviving member's separate metrics listener
(``--listen-metrics-urls``, as the charm's ``metrics_port`` configures it). It writes

    unit_tests/data/metrics/<version>.txt   one line per family: "<name> <type> <label,...>"

Every etcd process started here is tracked by its Popen object and terminated at the end, also
on failure. Nothing is stopped by name. Every wait has a deadline.

Usage: .venv/bin/python scripts/capture_etcd_metrics.py [3.4.23 3.5.16]
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "etcd"
OUT = ROOT / "unit_tests" / "data" / "metrics"
VERSIONS = ["3.4.23", "3.5.16"]
HOST = "127.0.0.1"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')


def _port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _get(url: str, deadline: float) -> str:
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def families(text: str) -> dict[str, tuple[str, set[str]]]:
    """``# TYPE`` lines and the label names of each family's samples."""
    types: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            labels.setdefault(name, set())
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        name = m.group(1)
        family = next(
            (name[: -len(s)] for s in ("_bucket", "_sum", "_count") if name.endswith(s)), name
        )
        family = family if family in types else name
        found = set(LABEL.findall(m.group(2) or "")) - {"le", "quantile"}
        labels.setdefault(family, set()).update(found)
    return {n: (types[n], labels.get(n, set())) for n in types}


def capture(version: str, work: Path) -> str:
    binary = CACHE / version / "etcd"
    ctl = CACHE / version / "etcdctl"
    names = ["m0", "m1", "m2"]
    peer = {n: _port() for n in names}
    client = {n: _port() for n in names}
    metrics = {n: _port() for n in names}
    cluster = ",".join(f"{n}=http://{HOST}:{peer[n]}" for n in names)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for n in names:
            log = open(work / f"{n}.log", "wb")  # noqa: SIM115 - closed with the process
            procs[n] = subprocess.Popen(
                [
                    str(binary),
                    f"--name={n}",
                    f"--data-dir={work / n}",
                    f"--listen-peer-urls=http://{HOST}:{peer[n]}",
                    f"--initial-advertise-peer-urls=http://{HOST}:{peer[n]}",
                    f"--listen-client-urls=http://{HOST}:{client[n]}",
                    f"--advertise-client-urls=http://{HOST}:{client[n]}",
                    f"--listen-metrics-urls=http://{HOST}:{metrics[n]}",
                    f"--initial-cluster={cluster}",
                    "--initial-cluster-state=new",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for n in names:
            _get(f"http://{HOST}:{metrics[n]}/health", 30)
        endpoint = f"--endpoints=http://{HOST}:{client['m0']}"
        for i in range(20):
            subprocess.run(
                [str(ctl), endpoint, "put", f"k{i}", "v"],
                check=True,
                capture_output=True,
                env={"ETCDCTL_API": "3"},
                timeout=10,
            )
        procs["m2"].terminate()
        procs["m2"].wait(timeout=30)
        # the survivors try to reach m2 (heartbeats every 100 ms): failures get counted
        deadline = time.monotonic() + 20
        while True:
            text = _get(f"http://{HOST}:{metrics['m0']}/metrics", 10)
            if "etcd_network_peer_sent_failures_total{" in text or time.monotonic() > deadline:
                return text
            time.sleep(0.5)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for version in argv or VERSIONS:
        with tempfile.TemporaryDirectory() as tmp:
            text = capture(version, Path(tmp))
        lines = [
            f"{name} {kind} {','.join(sorted(labels))}".rstrip()
            for name, (kind, labels) in sorted(families(text).items())
        ]
        header = f"# metric families of etcd {version} (scripts/capture_etcd_metrics.py)"
        (OUT / f"{version}.txt").write_text("\n".join([header, *lines]) + "\n")
        print(f"{version}: {len(lines)} families")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

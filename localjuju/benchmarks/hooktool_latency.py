"""Latency of one hook tool call through the real jujuc client and unix socket.

Runs the asyncio server (in a thread) with an in-memory context, installs the compiled client
(``--script``: jujuc.py on the current interpreter), and times N sequential calls of each tool
as a charm would make them (one process per call). Reports median and p95 per tool, plus the bare interpreter start-up
(``python -IS -c pass``) measured the same way as a baseline.

Usage: python -m localjuju.benchmarks.hooktool_latency [-n 200] [--script] [--python PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from localjuju.hooktools.context import InterfaceAddress, NetworkInfo, NetworkInterface
from localjuju.hooktools.fake import FakeContext, FakeRelation
from localjuju.hooktools.server import install_tools, start_server

CONTEXT_ID = "etcd-0-update-status-bench"


def _context() -> FakeContext:
    ctx = FakeContext(unit_name="etcd/0", hook_name="update-status", leader=True)
    ctx.relations[3] = FakeRelation(
        3,
        "cluster",
        "etcd",
        is_peer=True,
        members=["etcd/1", "etcd/2"],
        units={"etcd/1": {"private-address": "10.5.0.10", "management_port": "2380"}},
    )
    ctx.config_values = {"channel": "3.5/stable", "port": 2379}
    ctx.networks = {
        "db": NetworkInfo(
            (NetworkInterface("00:16:3e:aa:bb:cc", "eth0", (InterfaceAddress("10.5.0.9"),)),),
            ("10.5.0.9/32",),
            ("10.5.0.9",),
        )
    }
    return ctx


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _time_calls(argv: list[str], env: dict[str, str], cwd: Path, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.run(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        samples.append((time.perf_counter() - start) * 1000.0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode()}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="calls per tool (default 200)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for jujuc.py")
    parser.add_argument(
        "--script", action="store_true", help="time jujuc.py instead of the compiled client"
    )
    opts = parser.parse_args()

    ctx = _context()
    tmp = Path(tempfile.mkdtemp(prefix="hooktool-bench-"))
    sock = tmp / "agent.socket"
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start_server(sock, lambda c: ctx if c == CONTEXT_ID else None))
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(10)
    tools = tmp / "tools"
    install_tools(tools, opts.python, compiled=not opts.script)
    client = "jujuc.py on " + opts.python if opts.script else "compiled jujuc"
    env = {
        "PATH": f"{tools}:/usr/bin:/bin",
        "JUJU_CONTEXT_ID": CONTEXT_ID,
        "JUJU_AGENT_SOCKET_ADDRESS": str(sock),
        "JUJU_AGENT_SOCKET_NETWORK": "unix",
    }
    calls = [
        ["python -IS -c pass (baseline)", [opts.python, "-IS", "-c", "pass"]],
        ["is-leader --format=json", ["is-leader", "--format=json"]],
        [
            "relation-get --format=json - etcd/1",
            ["relation-get", "-r", "cluster:3", "--format=json", "-", "etcd/1"],
        ],
        ["network-get db --format yaml", ["network-get", "db", "--format", "yaml"]],
    ]
    print(f"hook tool latency, {opts.n} sequential calls each, client {client}")
    print(f"{'call':40} {'median ms':>10} {'p95 ms':>10}")
    baseline = None
    for label, argv in calls:
        assert isinstance(argv, list)
        _time_calls(argv, env, tmp, 5)  # warm up
        samples = _time_calls(argv, env, tmp, opts.n)
        med, p95 = statistics.median(samples), _percentile(samples, 0.95)
        if baseline is None:
            baseline = med
            print(f"{label:40} {med:10.2f} {p95:10.2f}")
        else:
            print(f"{label:40} {med:10.2f} {p95:10.2f}   ({med / baseline:.1f}x baseline)")
    loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()

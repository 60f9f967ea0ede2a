"""What every benchmark scenario shares: the local model, its logs, per-unit counts, the
machine the run happens on. Scenarios measure; they assert nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jubilant

from localjuju.paths import model_dir

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "localjuju")
CHARM = ROOT / "build" / "etcd.charm"
BARE = ROOT / "bench" / "charms" / "bare"
#: etcdctl on a unit with the charm's client certificate, talking to its own member
UNIT_ETCDCTL = (
    "ETCDCTL_API=3 /snap/bin/etcd.etcdctl --endpoints=https://127.0.0.1:2379 "
    "--cacert=/var/snap/etcd/common/ca.crt --cert=/var/snap/etcd/common/client.crt "
    "--key=/var/snap/etcd/common/client.key"
)
HOST_ETCDCTL = ROOT / ".cache" / "etcd" / "3.5.16" / "etcdctl"


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _models() -> list[str]:
    out = subprocess.run([CLI, "models", "--format", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        return []
    return [m.get("short-name", "") for m in json.loads(out.stdout or "{}").get("models", [])]


@contextmanager
def model(name: str) -> Iterator[jubilant.Juju]:
    """A fresh local model (one of that name is destroyed first), destroyed afterwards
    unless ``BENCH_KEEP_MODELS`` is set."""
    juju = jubilant.Juju(cli_binary=CLI)
    if name in _models():
        juju.destroy_model(name, destroy_storage=True, force=True)
    juju.add_model(name)
    juju.model = name
    try:
        yield juju
    finally:
        if not os.environ.get("BENCH_KEEP_MODELS"):
            juju.destroy_model(name, destroy_storage=True, force=True)


def timed(what: Callable[[], Any]) -> float:
    start = time.monotonic()
    what()
    return time.monotonic() - start


def debug_log(name: str) -> list[dict[str, Any]]:
    """The model's debug log as records (ts, entity, level, module, message)."""
    path = model_dir(name) / "debug.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hooks_run(name: str, unit: str) -> int:
    tag = "unit-" + unit.replace("/", "-")
    return sum(
        1 for e in debug_log(name) if e["entity"] == tag and str(e["message"]).startswith('ran "')
    )


def unit_counts(juju: jubilant.Juju, unit: str, service: str = "snap.etcd.etcd") -> dict[str, int]:
    """Hooks the unit ran, how often etcd started on it, how many etcdctl calls it made
    (the local snap records every call of a snap command in /run/localjuju/snap-run.log)."""
    out = juju.exec(
        f"journalctl -u {service} --no-pager | grep -c 'starting an etcd server'; "
        "grep -c '^etcd.etcdctl$' /run/localjuju/snap-run.log; true",
        unit=unit,
    ).stdout.split()
    starts, calls = (int(x) for x in (out + ["0", "0"])[:2])
    assert juju.model is not None
    return {"hooks": hooks_run(juju.model, unit), "etcd_starts": starts, "etcdctl_calls": calls}


def machine() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / (1 << 20), 1),
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "commit": commit or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def healthy_with(app: str, count: int) -> Callable[[jubilant.Status], bool]:
    def ready(status: jubilant.Status) -> bool:
        units = status.apps[app].units if app in status.apps else {}
        return len(units) == count and all(
            u.workload_status.message == f"Healthy with {count} known peers"
            for u in units.values()
        )

    return ready

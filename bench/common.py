"""What every benchmark scenario shares: the local model, its logs, per-unit counts, the
machine the run happens on. Scenarios measure; they assert nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jubilant

from localjuju.paths import model_dir
from scripts.demo import CHARM, ROOT, deploy_cluster, fresh_model, healthy_with
from scripts.demo import ETCDCTL as UNIT_ETCDCTL

from .timeline import hooks_of

__all__ = ["CHARM", "ROOT", "UNIT_ETCDCTL", "deploy_cluster", "healthy_with"]

BARE = ROOT / "bench" / "charms" / "bare"
HOST_ETCDCTL = ROOT / ".cache" / "etcd" / "3.5.16" / "etcdctl"


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextmanager
def model(name: str) -> Iterator[jubilant.Juju]:
    """A fresh local model (one of that name is destroyed first), destroyed afterwards
    unless ``BENCH_KEEP_MODELS`` is set."""
    juju = fresh_model(name)
    try:
        yield juju
    finally:
        if not os.environ.get("BENCH_KEEP_MODELS"):
            juju.destroy_model(name, destroy_storage=True, force=True)


def debug_log(name: str) -> list[dict[str, Any]]:
    """The model's debug log as records (ts, entity, level, module, message)."""
    path = model_dir(name) / "debug.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def unit_counts(
    juju: jubilant.Juju, unit: str, records: list[dict[str, Any]], service: str = "snap.etcd.etcd"
) -> dict[str, int]:
    """Hooks the unit ran (from the model's debug log, ``records``), how often etcd started on
    it, how many etcdctl calls it made (the local snap records every call of a snap command
    in /run/localjuju/snap-run.log)."""
    out = juju.exec(
        f"journalctl -u {service} --no-pager | grep -c 'starting an etcd server'; "
        "grep -c '^etcd.etcdctl$' /run/localjuju/snap-run.log; true",
        unit=unit,
    ).stdout.split()
    starts, calls = (int(x) for x in (out + ["0", "0"])[:2])
    return {"hooks": len(hooks_of(records, unit)), "etcd_starts": starts, "etcdctl_calls": calls}


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

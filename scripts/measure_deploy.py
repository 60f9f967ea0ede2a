"""Measures a deploy of easyrsa + 3 etcd units on the local model and reports: wall time to all
healthy, hooks run per unit, etcd starts per unit, and update-status hook times.

    .venv/bin/python scripts/measure_deploy.py [--samples N]

A measurement program, not a test: it prints figures (from the model's own debug log and each
machine's journal) and asserts nothing. The model "measure" is destroyed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from demo import deploy_cluster, fresh_model  # scripts/ is on sys.path when run as a script

MODEL = "measure"


def debug_log() -> list[dict[str, object]]:
    """The model's debug log as JSON lines (ts, entity, level, module, message)."""
    home = Path("/var/lib/localjuju/models") / MODEL / "debug.log"
    return [json.loads(line) for line in home.read_text().splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=5, help="update-status runs per unit")
    args = parser.parse_args()
    juju = fresh_model(MODEL)
    try:
        start = time.monotonic()
        deploy_cluster(juju, 3)
        wall = time.monotonic() - start
        units = sorted(juju.status().apps["etcd"].units)
        hooks = {
            u: sum(
                1
                for e in debug_log()
                if e["entity"] == "unit-" + u.replace("/", "-")
                and str(e["message"]).startswith('ran "')
            )
            for u in units
        }
        starts = {
            u: int(
                juju.exec(
                    "journalctl -u snap.etcd.etcd --no-pager | grep -c 'starting an etcd server'",
                    unit=u,
                ).stdout.strip()
            )
            for u in units
        }
        juju.model_config({"update-status-hook-interval": "5s"})
        deadline = time.monotonic() + 60 + 10 * args.samples
        durations: list[float] = []
        while time.monotonic() < deadline:
            durations = update_status_durations()
            if len(durations) >= args.samples * len(units):
                break
            time.sleep(2)
        print(f"deploy of easyrsa + 3 etcd to all 'Healthy with 3 known peers': {wall:.1f}s")
        print("hooks run per unit: " + ", ".join(f"{u} {n}" for u, n in hooks.items()))
        print("etcd starts per unit: " + ", ".join(f"{u} {n}" for u, n in starts.items()))
        if durations:
            print(
                f"update-status hook time over {len(durations)} runs: median "
                f"{statistics.median(durations):.2f}s, min {min(durations):.2f}s, "
                f"max {max(durations):.2f}s"
            )
        else:
            print("update-status: no run observed")
    finally:
        juju.destroy_model(MODEL, destroy_storage=True, force=True)
    return 0


def update_status_durations() -> list[float]:
    """Seconds from "executing ... update-status" to "ran update-status" per etcd unit."""
    begun: dict[str, float] = {}
    out: list[float] = []
    for e in debug_log():
        entity, msg = str(e["entity"]), str(e["message"])
        if not entity.startswith("unit-etcd-"):
            continue
        if msg.startswith('executing operation "run update-status hook"'):
            begun[entity] = float(e["ts"])  # type: ignore[arg-type]
        elif msg == 'ran "update-status" hook' and entity in begun:
            out.append(float(e["ts"]) - begun.pop(entity))  # type: ignore[arg-type]
    return out


if __name__ == "__main__":
    sys.exit(main())

"""Snapshot and restore of a large keyspace: the actions against raw etcd tools on the same
data and the same unit.

A 3-unit cluster is filled with random 100 KB values (bounded: ``mb`` MB in batches of 100
writes). Then, on the leader: raw ``etcdctl snapshot save`` and ``etcdutl snapshot restore``
(into a scratch directory: the data-directory rebuild alone) are timed on the unit, then the
``snapshot`` action (snapshot, metadata, compressed archive) and the ``restore`` action (checks,
rebuild, swap, new one-member cluster) are timed from the operator's side, and the time until
every unit is healthy again with every key. Ratios: action / raw.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jubilant

from .common import ROOT, UNIT_ETCDCTL, deploy_cluster, healthy_with, log

VALUE_KB = 100  # each value: 100 KB of base64 text (etcd's request limit is 1.5 MB)
ETCDUTL = ROOT / ".cache" / "etcd" / "3.5.16" / "etcdutl"  # the repository is mounted on units
DEADLINE = 1800.0


def _timed_on(juju: jubilant.Juju, unit: str, command: str) -> float:
    """Seconds ``command`` took on the unit (bash's ``time``, measured there)."""
    out = juju.exec(
        f"bash -c 'TIMEFORMAT=%R; {{ time {command} >/dev/null 2>&1 ; }} 2>&1'",
        unit=unit,
        wait=DEADLINE,
    ).stdout
    return float(out.strip().splitlines()[-1])


def _count(juju: jubilant.Juju, unit: str) -> int:
    out = juju.exec(
        f"{UNIT_ETCDCTL} -w json get --prefix bench/ --keys-only --consistency=s", unit=unit
    ).stdout
    return int(json.loads(out).get("count", 0))


def snapshot_restore(juju: jubilant.Juju, mb: int) -> dict[str, Any]:
    deploy_cluster(juju, 3, timeout=DEADLINE)
    leader = next(n for n, u in juju.status().apps["etcd"].units.items() if u.leader)
    keys = mb * 1024 // VALUE_KB
    start = time.monotonic()
    for first in range(1, keys + 1, 100):
        last = min(first + 99, keys)
        juju.exec(
            f"for i in $(seq {first} {last}); do head -c {VALUE_KB * 768} /dev/urandom | "
            f"base64 -w0 | {UNIT_ETCDCTL} put bench/$i >/dev/null || exit 1; done",
            unit=leader,
            wait=600,
        )
    fill = time.monotonic() - start
    status = json.loads(juju.exec(f"{UNIT_ETCDCTL} -w json endpoint status", unit=leader).stdout)
    size = int(status[0]["Status"]["dbSize"])
    log(f"snapshot: {keys} keys, database {size / 1e6:.1f} MB, filled in {fill:.1f}s")

    raw_save = _timed_on(juju, leader, f"{UNIT_ETCDCTL} snapshot save /root/raw.db")
    member = leader.replace("/", "")
    raw_restore = _timed_on(
        juju,
        leader,
        f"{ETCDUTL} snapshot restore /root/raw.db --data-dir /root/raw-restore "
        f"--name {member} --initial-cluster {member}=https://127.0.0.1:2380 "
        "--initial-advertise-peer-urls https://127.0.0.1:2380",
    )
    juju.exec("rm -rf /root/raw.db /root/raw-restore", unit=leader)

    # what any action costs from the operator's side (dispatch, the charm's imports): one
    # that reads an empty backup store and writes nothing
    floors = []
    for _ in range(3):
        start = time.monotonic()
        juju.run(leader, "list-backups", wait=DEADLINE)
        floors.append(time.monotonic() - start)
    floor = sorted(floors)[1]
    start = time.monotonic()
    snap = juju.run(leader, "snapshot", wait=DEADLINE).results["snapshot"]
    t_snapshot = time.monotonic() - start
    start = time.monotonic()
    backup = juju.run(leader, "create-backup", wait=DEADLINE).results
    t_backup = time.monotonic() - start
    juju.exec(f"{UNIT_ETCDCTL} put bench/after-snapshot x >/dev/null", unit=leader)
    start = time.monotonic()
    juju.run(leader, "restore", {"path": snap["path"]}, wait=DEADLINE)
    t_restore = time.monotonic() - start
    juju.wait(healthy_with(3), error=jubilant.any_error, timeout=DEADLINE, delay=1)
    t_all = time.monotonic() - start
    counts = {u: _count(juju, u) for u in sorted(juju.status().apps["etcd"].units)}
    if set(counts.values()) != {keys}:
        raise AssertionError(f"restored keyspace incomplete: {counts} (want {keys} each)")
    result = {
        "keys": keys,
        "db_mb": round(size / 1e6, 1),
        "fill_s": round(fill, 1),
        "raw_save_s": round(raw_save, 2),
        "raw_restore_s": round(raw_restore, 2),
        "snapshot_action_s": round(t_snapshot, 2),
        "snapshot_archive": snap["size"],
        "snapshot_compression": snap.get("compression", ""),
        "action_floor_s": round(floor, 2),
        "create_backup_s": round(t_backup, 2),
        "create_backup_ratio": round(t_backup / raw_save, 2),
        "backup_id": backup.get("backup-id", ""),
        "restore_action_s": round(t_restore, 2),
        "restore_all_healthy_s": round(t_all, 1),
        "snapshot_ratio": round(t_snapshot / raw_save, 2),
        "restore_ratio": round(t_restore / raw_restore, 2),
        "keys_per_unit": counts,
    }
    log(f"snapshot/restore: {result}")
    return result

"""Measures the snapshot and restore actions on a keyspace of at least 100 MB: a local model
with easyrsa + 3 etcd units is filled with random values, then snapshotted and restored.

    .venv/bin/python scripts/measure_snapshot_restore.py [--mb 110] [--units 3]

Reports (and writes to build/snapshot-restore-measurement.json): the database size, the
snapshot action's wall time and archive size, the restore action's wall time, the time until
every unit is healthy again holding every key, and MB/s for each. A measurement program, not
a test: it checks that the restored keyspace is complete (or exits non-zero) and otherwise
only reports. The model "measure-restore" is destroyed at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import jubilant

# scripts/ is on sys.path when run as a script
from demo import ETCDCTL, ROOT, deploy_cluster, fresh_model, healthy_with

MODEL = "measure-restore"
VALUE_KB = 100  # each value: 100 KB of base64 text (etcd's request limit is 1.5 MB)


def count(juju: jubilant.Juju, unit: str) -> int:
    out = juju.exec(
        f"{ETCDCTL} -w json get --prefix bench/ --keys-only --consistency=s", unit=unit
    ).stdout
    return int(json.loads(out).get("count", 0))


def db_size(juju: jubilant.Juju, unit: str) -> int:
    out = juju.exec(f"{ETCDCTL} -w json endpoint status", unit=unit).stdout
    return int(json.loads(out)[0]["Status"]["dbSize"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=110, help="keyspace to write, in MB")
    parser.add_argument("--units", type=int, default=3)
    args = parser.parse_args()
    juju = fresh_model(MODEL)
    try:
        return measure(juju, args.mb, args.units)
    finally:
        juju.destroy_model(MODEL, destroy_storage=True, force=True)


def measure(juju: jubilant.Juju, mb: int, units: int) -> int:
    deploy_cluster(juju, units)
    leader = next(n for n, u in juju.status().apps["etcd"].units.items() if u.leader)
    keys = mb * 1024 // VALUE_KB
    start = time.monotonic()
    # bounded: `keys` writes, each from a fresh random value, in batches of 100 per exec
    for first in range(1, keys + 1, 100):
        last = min(first + 99, keys)
        juju.exec(
            f"for i in $(seq {first} {last}); do head -c {VALUE_KB * 768} /dev/urandom | "
            f"base64 -w0 | {ETCDCTL} put bench/$i >/dev/null || exit 1; done",
            unit=leader,
            wait=600,
        )
    fill = time.monotonic() - start
    size = db_size(juju, leader)
    print(f"wrote {keys} keys of {VALUE_KB} KB in {fill:.1f}s; database {size / 1e6:.1f} MB")

    start = time.monotonic()
    snap = juju.run(leader, "snapshot", wait=1800).results["snapshot"]
    t_snapshot = time.monotonic() - start
    print(f"snapshot: {t_snapshot:.1f}s, archive {snap['size']} at {snap['path']}")

    juju.exec(f"{ETCDCTL} put bench/after-snapshot x >/dev/null", unit=leader)
    start = time.monotonic()
    restored = juju.run(leader, "restore", {"path": snap["path"]}, wait=1800).results["restore"]
    t_action = time.monotonic() - start
    juju.wait(healthy_with(units), error=jubilant.any_error, timeout=1800, delay=1)
    t_all = time.monotonic() - start
    counts = {u: count(juju, u) for u in juju.status().apps["etcd"].units}
    print(f"restore: action {t_action:.1f}s, every unit healthy after {t_all:.1f}s; keys {counts}")
    result = {
        "units": units,
        "keys": keys,
        "value_kb": VALUE_KB,
        "db_size_bytes": size,
        "fill_seconds": round(fill, 1),
        "snapshot_seconds": round(t_snapshot, 1),
        "snapshot_archive": snap["size"],
        "snapshot_mb_per_s": round(size / 1e6 / t_snapshot, 1),
        "restore_action_seconds": round(t_action, 1),
        "restore_all_healthy_seconds": round(t_all, 1),
        "restore_mb_per_s": round(size / 1e6 / t_all, 1),
        "restored_revision": restored["revision"],
        "keys_per_unit": counts,
    }
    out = ROOT / "build" / "snapshot-restore-measurement.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    # the snapshot was taken before bench/after-snapshot: exactly `keys` keys everywhere
    return 0 if set(counts.values()) == {keys} else 1


if __name__ == "__main__":
    sys.exit(main())

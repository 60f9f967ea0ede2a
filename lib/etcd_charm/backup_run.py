"""A scheduled backup, run by the ``etcd-backup`` service (its timer: :mod:`backup_schedule`)
outside any hook, as root::

    python3 -m etcd_charm.backup_run

It takes a consistent snapshot from the first healthy member of the job's endpoints (this
unit's first), archives it in one pass, records it in the store, prunes what retention no
longer keeps, and writes the outcome to :data:`backup_schedule.LAST_PATH`. Unlike the
actions it never falls back to a member's own data without quorum: a scheduled backup of a
cluster that lost quorum fails, and says so. Exit status 0 on success, 1 on failure.
"""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence

from . import backup_schedule as BS
from . import backups, s3_relation
from . import snapshot as snap
from .backup_store import LocalStore, S3Store, Store, StoreError
from .context import client
from .etcdctl import Etcdctl, EtcdctlError
from .s3_client import S3Client
from .snapshot_take import Source, TakeError, write_snapshot
from .workload import atomic_file

#: where the archive is written before it goes into the store (the store's filesystem)
WORK_DIR = "/var/snap/etcd/common/backup-work"


class RunError(Exception):
    """The scheduled backup failed; the message says why."""


def open_store(job: BS.Job) -> Store:
    kind = job.store.get("kind", "local")
    if kind == "local":
        return LocalStore(str(job.store["directory"]), job.unit)
    if kind == "s3":
        s3 = s3_relation.S3Store.from_job(job.store)
        return S3Store(S3Client(s3.config), s3.prefix)
    raise RunError(f"unknown backup store {kind!r} in {BS.JOB_PATH}")


def healthy_source(endpoints: Sequence[str]) -> tuple[str, Etcdctl, int]:
    """(member name, its etcdctl, member count) of the first healthy member."""
    reasons = []
    for url in endpoints:
        ctl = client([url])
        try:
            if not all(h.healthy for h in ctl.endpoint_health()):
                reasons.append(f"{url}: unhealthy")
                continue
            members = ctl.member_list()
            me = members.by_id(ctl.endpoint_status()[0].member_id)
        except EtcdctlError as e:
            reasons.append(f"{url}: {e.detail}")
            continue
        return (me.name if me else url), ctl, len(members.members)
    raise RunError("no healthy member to take the backup from (" + "; ".join(reasons) + ")")


def run(job: BS.Job) -> tuple[backups.Backup, list[str], str]:
    """Take, record and prune; (the backup, the ids pruned, the store's location)."""
    store = open_store(job)
    name, ctl, count = healthy_source(job.endpoints)
    os.makedirs(WORK_DIR, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".scheduled-", dir=WORK_DIR)
    try:
        try:
            written = write_snapshot(
                Source(name, ctl, count, snap.ORIGIN_CLUSTER),
                job.unit,
                work,
                "backup",
                lambda message: print(message, flush=True),
                offline=lambda: ctl,
            )
        except (TakeError, EtcdctlError, snap.SnapshotError) as e:
            detail = e.detail if isinstance(e, EtcdctlError) else str(e)
            raise RunError(f"the snapshot of {name} failed: {detail}") from None
        now = datetime.datetime.now(datetime.timezone.utc)
        try:
            backup = backups.record(
                store, written, "scheduled", job.model_uuid, job.application, now
            )
            pruned = backups.prune(store, job.retention, job.model_uuid, job.application)
        except StoreError as e:
            raise RunError(f"{store.location}: {e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return backup, pruned, store.location


def write_outcome(outcome: BS.Outcome) -> None:
    with atomic_file(BS.LAST_PATH, 0o644) as f:
        f.write(outcome.to_json().encode())


def main(argv: Sequence[str] | None = None) -> int:
    started, t0 = time.time(), time.monotonic()
    try:
        with open(BS.JOB_PATH, encoding="utf-8") as f:
            job = BS.Job.from_json(f.read())
    except (OSError, ValueError, KeyError, TypeError) as e:
        write_outcome(BS.Outcome(False, started, 0.0, error=f"no usable job file ({e})"))
        print(f"no usable job file {BS.JOB_PATH}: {e}", file=sys.stderr)
        return 1
    try:
        backup, pruned, location = run(job)
    except (RunError, OSError) as e:
        took = time.monotonic() - t0
        write_outcome(BS.Outcome(False, started, round(took, 2), error=str(e)))
        print(f"scheduled backup failed: {e}", file=sys.stderr)
        return 1
    took = time.monotonic() - t0
    write_outcome(
        BS.Outcome(
            True,
            started,
            round(took, 2),
            backup_id=backup.id,
            location=location,
            size=backup.archive_size,
            revision=backup.snapshot.revision,
            pruned=tuple(pruned),
        )
    )
    print(
        f"backup {backup.id} in {location} ({snap.human_size(backup.archive_size)}, revision "
        f"{backup.snapshot.revision}) in {took:.1f}s; pruned: {', '.join(pruned) or 'none'}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

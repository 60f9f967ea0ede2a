"""The backup actions: ``create-backup`` (a snapshot of the cluster into the backup store),
``list-backups``; and :func:`fetch_for_restore`, what ``restore backup-id=`` restores.

The store is this unit's backup directory (:data:`backup_store.LOCAL_DIR`). Backups are recorded by
:mod:`backups`, taken by :func:`snapshot_action.save_archive` (from a healthy member, or
without quorum from this unit's own, labelled so).
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
import time

from charmhelpers.core import hookenv

from . import backups
from . import snapshot as snap
from .action_context import Context
from .backup_store import LOCAL_DIR, LocalStore, Store, StoreError
from .params import ActionError
from .snapshot_action import save_archive

#: where an archive is written before it goes into the store (the store's filesystem: moved
#: in, not copied), and where a backup is downloaded to for a restore
WORK_DIR = "/var/snap/etcd/common/backup-work"


def store(ctx: Context) -> Store:
    return LocalStore(LOCAL_DIR, ctx.charm.unit)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def take(ctx: Context, kind: str) -> backups.Backup:
    """A snapshot of the cluster recorded in the store as a backup of ``kind``."""
    where = store(ctx)
    os.makedirs(WORK_DIR, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".backup-", dir=WORK_DIR)
    try:
        written = save_archive(ctx, work, "backup", without_quorum=True, for_operator=False)
        ctx.progress(f"storing it in {where.location}")
        try:
            return backups.record(
                where, written, kind, hookenv.model_uuid(), hookenv.application_name(), _now()
            )
        except StoreError as e:
            raise ActionError(f"the backup could not be stored: {e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def create_backup(ctx: Context) -> None:
    ctx.check_config()
    started = time.monotonic()
    b = take(ctx, "manual")
    m = b.snapshot
    ctx.set("backup-id", b.id)
    ctx.set("backup.location", store(ctx).location)
    ctx.set("backup.size", snap.human_size(b.archive_size))
    ctx.set("backup.sha256", b.archive_sha256)
    ctx.set("backup.compression", b.compression)
    ctx.set("backup.revision", m.revision)
    ctx.set("backup.keys", "unknown: etcd is stopped" if m.keys is None else m.keys)
    ctx.set("backup.cluster-id", m.cluster_id)
    ctx.set("backup.origin", snap.origin_note(m.origin, m.unit))
    ctx.set("backup.took", f"{time.monotonic() - started:.1f}s")


def list_backups(ctx: Context) -> None:
    where = store(ctx)
    try:
        listed = backups.listing(where)
    except StoreError as e:
        raise ActionError(f"cannot list the backups in {where.location}: {e}") from None
    ctx.set("backups", backups.table(listed.backups, where.location))
    ctx.set("count", len(listed.backups))
    if listed.backups:
        ctx.set("newest", listed.backups[-1].id)
    problems = [f"{bid}: incomplete (archive or metadata missing)" for bid in listed.incomplete]
    problems += [f"{bid}: unreadable metadata ({why})" for bid, why in listed.unreadable]
    if problems:
        ctx.set("not-restorable", "; ".join(problems))


def fetch_for_restore(ctx: Context, bid: str, staging: str) -> tuple[backups.Backup, str, str]:
    """The backup ``bid`` from the store: (its record, a local path of its archive, how
    the operator reads where it came from)."""
    where = store(ctx)
    try:
        backup, path = backups.fetch(where, bid, staging)
    except (backups.BackupError, StoreError) as e:
        raise ActionError(f"cannot restore backup {bid}: {e}; nothing was changed") from None
    return backup, path, f"backup {bid} in {where.location}"

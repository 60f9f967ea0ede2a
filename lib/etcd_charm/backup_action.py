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
from .backup_catalog import id_key
from .backup_store import LOCAL_DIR, LocalStore, S3Store, Store, StoreError
from .backup_timer import s3_store
from .params import ActionError
from .s3_client import S3Client
from .snapshot_action import save_archive

#: where an archive is written before it goes into the store (the store's filesystem: moved
#: in, not copied), and where a backup is downloaded to for a restore
WORK_DIR = "/var/snap/etcd/common/backup-work"


def stores(ctx: Context) -> list[Store]:
    """The stores backups go to and are looked for in: the S3 store of the
    ``s3-credentials`` relation first (when it is complete), then this unit's directory."""
    found: list[Store] = []
    s3, problem = s3_store(ctx.charm.hook, False)
    if s3 is not None:
        found.append(S3Store(S3Client(s3.config), s3.prefix))
    elif problem:
        ctx.progress(f"the S3 store is not usable yet ({problem}): the unit's directory only")
    found.append(LocalStore(LOCAL_DIR, ctx.charm.unit))
    return found


def store(ctx: Context) -> Store:
    """Where create-backup puts a backup: the S3 store when related, else the unit's."""
    return stores(ctx)[0]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def take(ctx: Context, kind: str) -> tuple[backups.Backup, str]:
    """A snapshot of the cluster recorded in the store as a backup of ``kind``; (the
    backup, the store's location)."""
    where = store(ctx)
    os.makedirs(WORK_DIR, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".backup-", dir=WORK_DIR)
    try:
        written = save_archive(ctx, work, "backup", without_quorum=True, for_operator=False)
        ctx.progress(f"storing it in {where.location}")
        try:
            recorded = backups.record(
                where, written, kind, hookenv.model_uuid(), hookenv.application_name(), _now()
            )
        except StoreError as e:
            raise ActionError(f"the backup could not be stored in {where.location}: {e}") from None
        return recorded, where.location
    finally:
        shutil.rmtree(work, ignore_errors=True)


def create_backup(ctx: Context) -> None:
    ctx.check_config()
    started = time.monotonic()
    b, location = take(ctx, "manual")
    m = b.snapshot
    ctx.set("backup-id", b.id)
    ctx.set("backup.location", location)
    ctx.set("backup.size", snap.human_size(b.archive_size))
    ctx.set("backup.sha256", b.archive_sha256)
    ctx.set("backup.compression", b.compression)
    ctx.set("backup.revision", m.revision)
    ctx.set("backup.keys", "unknown: etcd is stopped" if m.keys is None else m.keys)
    ctx.set("backup.cluster-id", m.cluster_id)
    ctx.set("backup.origin", snap.origin_note(m.origin, m.unit))
    ctx.set("backup.took", f"{time.monotonic() - started:.1f}s")


def list_backups(ctx: Context) -> None:
    """Every store's backups: a table each, newest first; ``count`` and ``newest`` over
    all of them."""
    tables, problems, everything = [], [], []
    for where in stores(ctx):
        try:
            listed = backups.listing(where)
        except StoreError as e:
            raise ActionError(f"cannot list the backups in {where.location}: {e}") from None
        tables.append(backups.table(listed.backups, where.location))
        everything += [b.id for b in listed.backups]
        problems += [
            f"{bid} in {where.location}: incomplete (archive or metadata missing)"
            for bid in listed.incomplete
        ]
        problems += [
            f"{bid} in {where.location}: unreadable metadata ({why})"
            for bid, why in listed.unreadable
        ]
    ctx.set("backups", "\n\n".join(tables))
    ctx.set("count", len(everything))
    if everything:
        ctx.set("newest", max(everything, key=id_key))
    if problems:
        ctx.set("not-restorable", "; ".join(problems))


def fetch_for_restore(ctx: Context, bid: str, staging: str) -> tuple[backups.Backup, str, str]:
    """The backup ``bid`` from the first store that holds it (the S3 store, then this
    unit's): (its record, a local path of its archive, how the operator reads where it
    came from)."""
    last: Exception | None = None
    for where in stores(ctx):
        try:
            backup, path = backups.fetch(where, bid, staging)
        except (backups.BackupError, StoreError) as e:
            last = e
            continue
        return backup, path, f"backup {bid} in {where.location}"
    raise ActionError(f"cannot restore backup {bid}: {last}; nothing was changed")

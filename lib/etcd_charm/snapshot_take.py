"""Taking a snapshot into an archive, wherever it is asked for: the actions (snapshot,
create-backup, the backups before a restore or a migration), the scheduled backups
(:mod:`backup_run`, outside hooks) and the hooks (the snapshot before an upgrade). A member's
``etcdctl snapshot save`` (or, with its etcd stopped, a copy of this unit's database file),
then the archive in one pass (:func:`snapshot.write_archive`); and a copy of an archive
recorded in this unit's backup store (:func:`keep_in_store`).

Refusals raise :class:`TakeError` (the message says why; nothing was written).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from . import backups, workload
from . import snapshot as snap
from .backup_store import LOCAL_DIR, LocalStore
from .etcdctl import ETCDCTL, Etcdctl, EtcdctlError


class TakeError(Exception):
    """The snapshot was not taken; the message says why (nothing was written)."""


#: where the snap's etcdctl writes a snapshot: a strictly confined app may write only its
#: snap's own directories (and its ``home`` plug's owner-only, non-hidden home entries, with
#: no DAC override for root), never an operator's 0700 home directory; the charm, which is
#: not confined, archives the file from there into the target
SNAP_WORK = "/var/snap/etcd/common/snapshot-work"


def work_root(ctl: Etcdctl, target: str) -> str:
    """Where ``ctl`` saves the database before it is archived into ``target``: the snap's
    etcdctl (confined) in :data:`SNAP_WORK`, a package's etcdctl (a deb-era unit being
    migrated) beside the archive."""
    return SNAP_WORK if ctl.binary == ETCDCTL else target


def space_refusal(work: str, target: str, db_size: int) -> str:
    """Why the snapshot does not fit ("" when it does): the database is saved in ``work``
    and archived (about as large: snapshots hardly compress) into ``target``; on one
    filesystem both at once, plus a margin."""
    margin = 64 << 20
    if os.stat(work).st_dev == os.stat(target).st_dev:
        places = [(target, 2 * db_size, "twice: the file and its archive")]
    else:
        places = [(work, db_size, "the saved file"), (target, db_size, "its archive")]
    for path, size, what in places:
        free = shutil.disk_usage(path).free
        if free < size + margin:
            return (
                f"{path} has {snap.human_size(free)} free; the snapshot needs about "
                f"{snap.human_size(size)} there (database {snap.human_size(db_size)}, "
                f"{what}); free some space or choose another target"
            )
    return ""


def keys_at(ctl: Etcdctl, revision: int, name: str) -> int:
    """The keys a client sees at the snapshot's ``revision``, counted on the member it was
    taken from (etcd's ``totalKey`` counts every database entry, its own included)."""
    try:
        return ctl.key_count(revision)
    except EtcdctlError as e:
        if e.mentions("required revision has been compacted"):
            why = f"its history was compacted past revision {revision} meanwhile"
        else:
            why = e.detail
        raise TakeError(
            f"cannot count the keys of the snapshot of {name} at its revision {revision} "
            f"({why}); nothing was written: run the action again"
        ) from None


def stamp() -> str:
    return time.strftime("%Y-%m-%d-%H.%M.%S", time.gmtime())


def db_file() -> str:
    """etcd's database file in this unit's member directory (where etcd runs it from: the
    snap's data directory, or the data volume)."""
    return os.path.join(workload.running_data_dir(), "member", "snap", "db")


@dataclass(frozen=True)
class Source:
    """Where a snapshot comes from: a member's etcdctl (``ctl``), or, with ``ctl`` None, a
    copy of this unit's database file while its etcd is stopped."""

    name: str
    ctl: Etcdctl | None
    members: int  # how many members the cluster had (as far as known)
    origin: str  # snap.ORIGINS
    # why a database file is copied (``ctl`` None), for the progress message
    why: str = "no member answers and this unit's etcd is stopped"


def copy_stopped_db(work: str) -> str:
    """This unit's database file, copied while etcd is stopped, with its sha256 appended
    as ``etcdctl snapshot save`` appends it (the file is then restored with etcd's hash
    check, like any snapshot)."""
    db = os.path.join(work, snap.DB_NAME)
    h = hashlib.sha256()
    with open(db_file(), "rb") as src, open(db, "xb") as out:
        for chunk in iter(lambda: src.read(snap.CHUNK), b""):
            out.write(chunk)
            h.update(chunk)
        out.write(h.digest())
    os.chmod(db, 0o600)
    return db


def write_snapshot(
    src: Source,
    unit: str,
    target: str,
    prefix: str,
    progress: Callable[[str], None],
    offline: Callable[[], Etcdctl],
    cluster_id: str = "",
) -> snap.Written:
    """The snapshot of ``src`` archived in ``target`` as ``<prefix>-<time>.tar.gz`` (with
    ``-no-quorum`` when it is not a snapshot of the cluster): saved (or copied) into the
    snap's work directory, then archived in one pass. ``offline``: an etcdctl for the
    ``snapshot status`` of a copied file; ``cluster_id``: what to record for it."""
    if src.ctl is not None:
        status = src.ctl.endpoint_status()[0]
        db_size, version, cluster_id = status.db_size, status.version, f"{status.cluster_id:x}"
        root = work_root(src.ctl, target)
    else:
        db_size, version = os.path.getsize(db_file()), workload.installed_version() or ""
        root = SNAP_WORK
    os.makedirs(root, mode=0o700, exist_ok=True)
    refusal = space_refusal(root, target, db_size)
    if refusal:
        raise TakeError(refusal)
    suffix = "" if src.origin == snap.ORIGIN_CLUSTER else "-no-quorum"
    archive = os.path.join(target, f"{prefix}-{stamp()}{suffix}.tar.gz")
    if os.path.exists(archive):
        raise TakeError(f"{archive} exists already; run the action again in a second")
    work = tempfile.mkdtemp(prefix=".etcd-snapshot-", dir=root)
    try:
        if src.ctl is not None:
            db = os.path.join(work, snap.DB_NAME)
            what = "" if src.origin == snap.ORIGIN_CLUSTER else ", its own data: no quorum"
            progress(f"saving a snapshot of {src.name} ({snap.human_size(db_size)}{what})")
            saved = src.ctl.snapshot_save(db)
            keys: int | None = keys_at(src.ctl, saved.revision, src.name)
        else:
            progress(
                f"copying the database file of {src.name} ({snap.human_size(db_size)}): "
                f"{src.why}"
            )
            db = copy_stopped_db(work)
            saved = offline().snapshot_status(db)
            keys = None
        meta = snap.Meta(
            etcd_version=version,
            revision=saved.revision,
            db_entries=saved.total_keys,
            keys=keys,
            cluster_id=cluster_id,
            members=src.members,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            unit=unit,
            sha256="",  # taken as the archive is written
            size=0,
            origin=src.origin,
        )
        level = snap.compress_level(db)
        how = "compressed" if level else "uncompressed: a sample of it would not shrink"
        progress(f"archiving {snap.human_size(os.path.getsize(db))} to {archive} ({how})")
        return snap.write_archive(archive, db, meta, level)
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: where an archive is copied before it is recorded in the store (the store's filesystem)
STORE_WORK = "/var/snap/etcd/common/backup-work"


def keep_in_store(
    written: snap.Written, kind: str, unit: str, model_uuid: str, application: str
) -> backups.Backup:
    """A copy of the archive ``written`` recorded in this unit's backup store as a backup of
    ``kind`` (the archive itself stays where it is). Raises OSError or StoreError."""
    store = LocalStore(LOCAL_DIR, unit)
    os.makedirs(STORE_WORK, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".copy-", dir=STORE_WORK)
    try:
        copy = os.path.join(work, os.path.basename(written.path))
        shutil.copyfile(written.path, copy)
        now = datetime.datetime.now(datetime.timezone.utc)
        return backups.record(
            store, replace(written, path=copy), kind, model_uuid, application, now
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

"""The snapshot action, and the consistent archive of the cluster that restore and
snap-upgrade save first as their backup (:func:`save_backup`)."""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from charmhelpers.core import hookenv

from . import backups, workload
from . import etcd_conf as C
from . import snapshot as snap
from .action_context import Context, give_to_operator, target_dir
from .backup_store import LOCAL_DIR, LocalStore, StoreError
from .context import client, local_url
from .etcd_json import MemberList
from .etcdctl import ETCDCTL, Etcdctl, EtcdctlError
from .params import ActionError

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


def _keys_at(ctl: Etcdctl, revision: int, name: str) -> int:
    """The keys a client sees at the snapshot's ``revision``, counted on the member it was
    taken from (etcd's ``totalKey`` counts every database entry, its own included)."""
    try:
        return ctl.key_count(revision)
    except EtcdctlError as e:
        if e.mentions("required revision has been compacted"):
            why = f"its history was compacted past revision {revision} meanwhile"
        else:
            why = e.detail
        raise ActionError(
            f"cannot count the keys of the snapshot of {name} at its revision {revision} "
            f"({why}); nothing was written: run the action again"
        ) from None


def _stamp() -> str:
    return time.strftime("%Y-%m-%d-%H.%M.%S", time.gmtime())


def _healthy_member(ctx: Context, members: MemberList) -> tuple[str, str]:
    """(name, client URL) of the member a snapshot is taken from: this unit's own when it
    is a healthy voter, else the first healthy voter."""
    local = local_url(ctx.settings)
    candidates = [(m.name, u) for m in members.voters for u in m.client_urls[:1]]
    me = members.by_id(ctx.charm.record.member_id)
    if me is not None and not me.is_learner:
        candidates.insert(0, (me.name, local))
    for name, url in candidates:
        try:
            if all(h.healthy for h in client([url]).endpoint_health()):
                return name, url
        except EtcdctlError:
            continue
    raise ActionError("no healthy member to take a snapshot from; check juju status")


#: etcd's database file in this unit's member directory
DB_FILE = os.path.join(C.DATA_DIR, "member", "snap", "db")


@dataclass(frozen=True)
class Source:
    """Where a snapshot comes from: a member's etcdctl (``ctl``), or, with ``ctl`` None, a
    copy of this unit's database file while its etcd is stopped."""

    name: str
    ctl: Etcdctl | None
    members: int  # how many members the cluster had (as far as known)
    origin: str  # snap.ORIGINS


def _source(ctx: Context, members: MemberList | None, without_quorum: bool) -> Source:
    """A healthy member of the cluster; failing that, and ``without_quorum``, this unit's
    own member (``snapshot save`` streams its local database: no quorum needed), or, when
    its etcd is stopped, its database file."""
    try:
        members = members or ctx.members()
        name, url = _healthy_member(ctx, members)
        return Source(name, client([url]), len(members.members), snap.ORIGIN_CLUSTER)
    except ActionError as e:
        if not without_quorum:
            raise
        why = str(e)
    record = ctx.charm.record
    last = record.last_members()
    mine = last.by_id(record.member_id) if last else None
    name = mine.name if mine else C.member_name(ctx.charm.unit)
    count = len(last.members) if last else 0
    if not record.started:
        raise ActionError(f"{why}; and {ctx.charm.unit} runs no member of its own to save")
    local = ctx.local()
    try:
        local.endpoint_status()
        return Source(name, local, count, snap.ORIGIN_MEMBER)
    except EtcdctlError as e:
        detail = e.detail
    if workload.service_active():
        raise ActionError(
            f"{why}; and this unit's own member does not answer either ({detail}) although "
            "etcd runs, so its database cannot be copied safely"
        )
    if not os.path.isfile(DB_FILE):
        raise ActionError(f"{why}; and this unit's etcd is stopped with no database to copy")
    return Source(name, None, count, snap.ORIGIN_FILE)


def _copy_stopped_db(work: str) -> str:
    """This unit's database file, copied while etcd is stopped, with its sha256 appended
    as ``etcdctl snapshot save`` appends it (the file is then restored with etcd's hash
    check, like any snapshot)."""
    db = os.path.join(work, snap.DB_NAME)
    h = hashlib.sha256()
    with open(DB_FILE, "rb") as src, open(db, "xb") as out:
        for chunk in iter(lambda: src.read(snap.CHUNK), b""):
            out.write(chunk)
            h.update(chunk)
        out.write(h.digest())
    os.chmod(db, 0o600)
    return db


def save_archive(
    ctx: Context,
    target: str,
    prefix: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | None = None,
    without_quorum: bool = False,
    for_operator: bool = True,
) -> snap.Written:
    """A consistent snapshot of the cluster (``etcdctl snapshot save`` from a healthy
    member, or from ``source``: (name, etcdctl of one member)) archived with its metadata in
    ``target`` (0600, owned by the operator unless not ``for_operator``: root's, for the
    backup store). With ``without_quorum``, when no member is healthy, this unit's own data
    instead (:func:`_source`); its name and metadata say so."""
    if source is not None:
        members = members or ctx.members()
        src = Source(source[0], source[1], len(members.members), snap.ORIGIN_CLUSTER)
    else:
        src = _source(ctx, members, without_quorum)
    last = ctx.charm.record.last_members()
    written = write_snapshot(
        src,
        ctx.charm.unit,
        target,
        prefix,
        ctx.progress,
        offline=ctx.local,
        cluster_id=f"{last.cluster_id:x}" if last else "",
    )
    if for_operator:
        give_to_operator(written.path)
    return written


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
        db_size, version = os.path.getsize(DB_FILE), workload.installed_version() or ""
        root = SNAP_WORK
    os.makedirs(root, mode=0o700, exist_ok=True)
    refusal = space_refusal(root, target, db_size)
    if refusal:
        raise ActionError(refusal)
    suffix = "" if src.origin == snap.ORIGIN_CLUSTER else "-no-quorum"
    archive = os.path.join(target, f"{prefix}-{_stamp()}{suffix}.tar.gz")
    if os.path.exists(archive):
        raise ActionError(f"{archive} exists already; run the action again in a second")
    work = tempfile.mkdtemp(prefix=".etcd-snapshot-", dir=root)
    try:
        if src.ctl is not None:
            db = os.path.join(work, snap.DB_NAME)
            what = "" if src.origin == snap.ORIGIN_CLUSTER else ", its own data: no quorum"
            progress(f"saving a snapshot of {src.name} ({snap.human_size(db_size)}{what})")
            saved = src.ctl.snapshot_save(db)
            keys: int | None = _keys_at(src.ctl, saved.revision, src.name)
        else:
            progress(
                f"copying the database file of {src.name} ({snap.human_size(db_size)}): "
                "no member answers and this unit's etcd is stopped"
            )
            db = _copy_stopped_db(work)
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


def save_backup(
    ctx: Context,
    directory: str,
    prefix: str,
    remedy: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | None = None,
    without_quorum: bool = False,
    kind: str = "",
) -> str:
    """:func:`save_archive` before a change, reported as ``backup.path`` and
    ``backup.sha256sum`` (and ``backup.origin`` when it is not a snapshot of the cluster);
    when it fails nothing was changed and ``remedy`` says how to go on without a backup.
    With ``kind`` (pre-restore, pre-migration) a copy is recorded in the backup store too
    (``backup.id``); a store that cannot take it is reported, not fatal."""
    try:
        written = save_archive(ctx, directory, prefix, members, source, without_quorum)
    except (ActionError, EtcdctlError) as e:
        detail = e.detail if isinstance(e, EtcdctlError) else str(e)
        raise ActionError(
            f"cannot save a backup of the current data first ({detail}); {remedy}; "
            "nothing was changed"
        ) from None
    ctx.set("backup.path", written.path)
    ctx.set("backup.sha256sum", written.sha256)
    if written.meta.origin != snap.ORIGIN_CLUSTER:
        ctx.set("backup.origin", snap.origin_note(written.meta.origin, written.meta.unit))
    if kind:
        keep_in_store(ctx, written, kind)
    return written.path


#: where an archive is copied before it is recorded in the store (the store's filesystem)
STORE_WORK = "/var/snap/etcd/common/backup-work"


def keep_in_store(ctx: Context, written: snap.Written, kind: str) -> None:
    """A copy of ``written`` recorded in this unit's backup store as a backup of ``kind``
    (``backup.id``, ``backup.store``; ``backup.stored`` says why not when it fails)."""
    store = LocalStore(LOCAL_DIR, ctx.charm.unit)
    os.makedirs(STORE_WORK, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".copy-", dir=STORE_WORK)
    try:
        copy = os.path.join(work, os.path.basename(written.path))
        shutil.copyfile(written.path, copy)
        now = datetime.datetime.now(datetime.timezone.utc)
        recorded = backups.record(
            store,
            replace(written, path=copy),
            kind,
            hookenv.model_uuid() or "",
            hookenv.application_name(),
            now,
        )
    except (OSError, StoreError) as e:
        ctx.set("backup.stored", f"no: {e}")
        return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ctx.set("backup.id", recorded.id)
    ctx.set("backup.store", store.location)


def snapshot(ctx: Context) -> None:
    version = ctx.params.get("keys-version")
    if version == "v2":
        raise ActionError(
            "keys-version v2: the v2 store is gone (etcd 3.4 no longer serves it and 3.6 "
            "removes it); snapshots hold the v3 keyspace, use keys-version=v3"
        )
    if version != "v3":
        raise ActionError(f"keys-version must be v3, got {version!r}")
    target = target_dir(ctx, ctx.params.get("target"), "target")
    written = save_archive(ctx, target, "etcd-snapshot", without_quorum=True)
    meta, archive = written.meta, written.path
    ctx.set("snapshot.path", archive)
    ctx.set("snapshot.sha256", written.sha256)
    ctx.set("snapshot.size", snap.human_size(written.size))
    ctx.set("snapshot.compression", written.compression)
    ctx.set("snapshot.version", meta.etcd_version)
    ctx.set("snapshot.revision", meta.revision)
    ctx.set("snapshot.keys", "unknown: etcd is stopped" if meta.keys is None else meta.keys)
    ctx.set("snapshot.db-entries", meta.db_entries)
    ctx.set("snapshot.cluster-id", meta.cluster_id)
    ctx.set("snapshot.origin", snap.origin_note(meta.origin, meta.unit))
    ctx.set("copy.cmd", f"juju scp {ctx.charm.unit}:{archive} .")

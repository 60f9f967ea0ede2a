"""The snapshot action, and the consistent archive of the cluster that restore and
snap-upgrade save first as their backup (:func:`save_backup`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from . import snapshot as snap
from .action_context import Context, give_to_operator, target_dir
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


def save_archive(
    ctx: Context,
    target: str,
    prefix: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | None = None,
) -> tuple[str, snap.Meta]:
    """A consistent snapshot of the cluster (``etcdctl snapshot save`` from a healthy
    member, or from ``source``: (name, etcdctl of one member)) archived with its metadata in
    ``target`` (0600, owned by the operator)."""
    members = members or ctx.members()
    if source is None:
        name, url = _healthy_member(ctx, members)
        source = (name, client([url]))
    name, source_ctl = source
    status = source_ctl.endpoint_status()[0]
    root = work_root(source_ctl, target)
    os.makedirs(root, mode=0o700, exist_ok=True)
    refusal = space_refusal(root, target, status.db_size)
    if refusal:
        raise ActionError(refusal)
    archive = os.path.join(target, f"{prefix}-{_stamp()}.tar.gz")
    if os.path.exists(archive):
        raise ActionError(f"{archive} exists already; run the action again in a second")
    work = tempfile.mkdtemp(prefix=".etcd-snapshot-", dir=root)
    try:
        db = os.path.join(work, snap.DB_NAME)
        ctx.progress(f"saving a snapshot of {name} ({snap.human_size(status.db_size)})")
        saved = source_ctl.snapshot_save(db)
        meta = snap.Meta(
            etcd_version=status.version,
            revision=saved.revision,
            db_entries=saved.total_keys,
            keys=_keys_at(source_ctl, saved.revision, name),
            cluster_id=f"{status.cluster_id:x}",
            members=len(members.members),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            unit=ctx.charm.unit,
            sha256=snap.sha256_file(db),
            size=os.path.getsize(db),
        )
        ctx.progress(f"archiving {snap.human_size(meta.size)} to {archive}")
        snap.write_archive(archive, db, meta)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    give_to_operator(archive)
    return archive, meta


def save_backup(
    ctx: Context,
    directory: str,
    prefix: str,
    remedy: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | None = None,
) -> str:
    """:func:`save_archive` before a change, reported as ``backup.path`` and
    ``backup.sha256sum``; when it fails nothing was changed and ``remedy`` says how to go on
    without a backup."""
    try:
        archive, _ = save_archive(ctx, directory, prefix, members, source)
    except (ActionError, EtcdctlError) as e:
        detail = e.detail if isinstance(e, EtcdctlError) else str(e)
        raise ActionError(
            f"cannot save a backup of the current data first ({detail}); {remedy}; "
            "nothing was changed"
        ) from None
    ctx.set("backup.path", archive)
    ctx.set("backup.sha256sum", snap.sha256_file(archive))
    return archive


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
    archive, meta = save_archive(ctx, target, "etcd-snapshot")
    digest = snap.sha256_file(archive)
    ctx.set("snapshot.path", archive)
    ctx.set("snapshot.sha256", digest)
    ctx.set("snapshot.size", snap.human_size(os.path.getsize(archive)))
    ctx.set("snapshot.version", meta.etcd_version)
    ctx.set("snapshot.revision", meta.revision)
    ctx.set("snapshot.keys", meta.keys)
    ctx.set("snapshot.db-entries", meta.db_entries)
    ctx.set("snapshot.cluster-id", meta.cluster_id)
    ctx.set("copy.cmd", f"juju scp {ctx.charm.unit}:{archive} .")

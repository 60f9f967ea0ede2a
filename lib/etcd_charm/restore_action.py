"""The restore action: checks the snapshot, saves a backup first, then hands the flow (and its
undo) to :mod:`restore` through the charm; reports what the restored member holds."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import hooktools, targets
from . import snapshot as snap
from . import snapshot_take as take
from .action_context import Context, declared_default, target_dir
from .backup_action import fetch_for_restore
from .etcdctl import EtcdctlError
from .params import ActionError
from .restore import RestoreError
from .snapshot_action import save_backup
from .workload import installed_version

#: where the restore action unpacks the snapshot (on the data's filesystem)
STAGING = "/var/snap/etcd/common/restore-staging"
#: where a backup from a remote store is downloaded to first
STAGING_DOWNLOAD = "/var/snap/etcd/common/restore-download"


def restore(ctx: Context) -> None:
    if not hooktools.is_leader():
        raise ActionError(
            f"{ctx.charm.unit} is not the leader: restore runs on the leader, which restores "
            "the snapshot and has every other unit rejoin (juju run etcd/leader restore); "
            "nothing was changed"
        )
    ctx.check_config()
    path = ctx.params.get("path")
    skip_backup = ctx.params.get("skip-backup")
    target = ctx.params.get("target")
    if not skip_backup:  # refused before anything is read or written
        targets.check(target, "target", declared_default(ctx, "target"))
    bid = ctx.params.get("backup-id")
    if bid and path:
        raise ActionError(
            "restore takes one snapshot: backup-id (from the backup store) or path (a file "
            "on this unit), not both; nothing was changed"
        )
    backup = None
    if bid:
        os.makedirs(STAGING_DOWNLOAD, mode=0o700, exist_ok=True)
        backup, source, label = fetch_for_restore(ctx, bid, STAGING_DOWNLOAD)
    else:
        source = path or _snapshot_resource()
        label = source if path else f"the attached snapshot resource ({source})"
    try:
        ctx.progress(f"checking {label}")
        unpacked = snap.unpack(source, STAGING)
    except snap.SnapshotError as e:
        raise ActionError(f"{label} cannot be restored: {e}; nothing was changed") from None
    try:
        meta = unpacked.meta
        if meta is not None:
            # the database is exactly the one its metadata describes (their sha256 and
            # etcd's own hash matched as it was unpacked): no second read of it here; etcdutl
            # reads it next, before anything changes
            revision, entries = meta.revision, meta.db_entries
        else:
            try:
                status = ctx.local().snapshot_status(unpacked.db_path)
            except EtcdctlError as e:
                raise ActionError(
                    f"{label} cannot be restored: etcd cannot read its database ({e.detail}); "
                    "nothing was changed"
                ) from None
            revision, entries = status.revision, status.total_keys
        refusal = snap.version_refusal(
            meta.etcd_version if meta else "", installed_version() or ""
        )
        if refusal:
            raise ActionError(f"{label} cannot be restored: {refusal}; nothing was changed")
        save = None if skip_backup else _pre_restore_backup(ctx, target_dir(ctx, target, "target"))
        try:
            # etcd's embedded sha256 (when there is one) was checked as the file was
            # unpacked: etcdutl need not read it all again
            started, members = ctx.charm.restore(unpacked.db_path, True, ctx.progress, save)
        except RestoreError as e:
            raise ActionError(f"restore failed: {e}") from None
    finally:
        shutil.rmtree(STAGING, ignore_errors=True)
        shutil.rmtree(STAGING_DOWNLOAD, ignore_errors=True)
    others = sorted(set(ctx.charm.peer_units()), key=lambda u: int(u.rsplit("/", 1)[-1]))
    ctx.set("restore.source", label if backup else source)
    if backup is not None:
        ctx.set("restore.backup-kind", backup.kind)
    if meta is not None and meta.origin != snap.ORIGIN_CLUSTER:
        ctx.set("restore.origin", snap.origin_note(meta.origin, meta.unit))
    ctx.set("restore.revision", revision)
    ctx.set("restore.keys", _restored_keys(ctx, revision))
    ctx.set("restore.db-entries", entries)
    ctx.set("restore.cluster-id", f"{started.cluster_id:x}")
    ctx.set("restore.member-id", f"{started.member_id:x}")
    ctx.set("restore.members", len(members.members))
    ctx.set(
        "restore.hash-check",
        (
            "verified"
            if unpacked.hash_checked
            else "skipped: the archive comes from a copy of the database file, which carries no hash"
        ),
    )
    ctx.set(
        "restore.rejoining",
        (
            (", ".join(others) + " rejoin one at a time as learners (see juju status)")
            if others
            else "none: this is the only unit"
        ),
    )


REMEDY = "run again with skip-backup=true to restore without a backup"


def _pre_restore_backup(ctx: Context, target: str) -> Callable[[bool], object]:
    """The backup the restore takes of the data it replaces, once the other members are
    removed and this unit's etcd is stopped (:func:`restore.restore`): a copy of its
    database file, which then holds every write the cluster acknowledged, so that no write
    lands between the backup and the swap. Its room is checked now, before anything
    changes."""
    refusal = take.space_refusal(
        take.SNAP_WORK if os.path.isdir(take.SNAP_WORK) else os.path.dirname(take.SNAP_WORK),
        target,
        os.path.getsize(take.db_file()) if os.path.isfile(take.db_file()) else 0,
    )
    if refusal:
        raise ActionError(
            f"cannot save a backup of the current data first ({refusal}); {REMEDY}; "
            "nothing was changed"
        )
    if not ctx.charm.record.started:
        raise ActionError(
            f"cannot save a backup of the current data first ({ctx.charm.unit} runs no "
            f"member of its own to save); {REMEDY}; nothing was changed"
        )
    name = C.member_name(ctx.charm.unit)

    def backup(sole: bool) -> object:
        last = ctx.charm.record.last_members()
        origin, why = (
            (
                snap.ORIGIN_CLUSTER,
                "the cluster's only member now (the others were removed), its etcd stopped "
                "for the restore: it holds every write the cluster acknowledged",
            )
            if sole
            else (
                snap.ORIGIN_FILE,
                "its etcd stopped for the restore (the other members could not be removed)",
            )
        )
        members = len(last.members) if last else int(sole)
        source = take.Source(name, None, members, origin, why)
        return save_backup(ctx, target, "etcd-data", REMEDY, source=source, kind="pre-restore")

    return backup


def _restored_keys(ctx: Context, revision: int) -> str:
    """The keys the restored member holds at the snapshot's revision, counted on it (the
    restore has happened: a failure to count is reported, not raised)."""
    try:
        return str(ctx.local().key_count(revision))
    except EtcdctlError as e:
        return (
            f"unknown: counting them on the restored member failed ({e.detail}); its "
            f'etcdctl get "" --prefix --keys-only --limit=1 --rev={revision} -w json says '
            "how many (count)"
        )


def _snapshot_resource() -> str:
    try:
        path = hookenv.resource_get("snapshot")
    except Exception:  # noqa: BLE001 - resource-get unavailable
        path = None
    if not path or not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise ActionError(
            "no snapshot to restore: attach one (juju attach-resource etcd "
            "snapshot=./etcd-snapshot-<date>.tar.gz) or pass path=<file on this unit>; "
            "nothing was changed"
        )
    return str(path)

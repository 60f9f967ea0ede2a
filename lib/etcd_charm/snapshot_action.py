"""The snapshot action, and the consistent archive of the cluster that restore and
snap-upgrade save first as their backup (:func:`save_backup`). Which member a snapshot
comes from is decided here (:func:`_source`); taking it is :mod:`snapshot_take`'s."""

from __future__ import annotations

import os

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import snapshot as snap
from . import snapshot_take as take
from . import workload
from .action_context import Context, give_to_operator, target_dir
from .backup_store import StoreError
from .context import client, local_url
from .etcd_json import MemberList
from .etcdctl import Etcdctl, EtcdctlError
from .params import ActionError


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


def _source(ctx: Context, members: MemberList | None, without_quorum: bool) -> take.Source:
    """A healthy member of the cluster; failing that, and ``without_quorum``, this unit's
    own member (``snapshot save`` streams its local database: no quorum needed), or, when
    its etcd is stopped, its database file."""
    try:
        members = members or ctx.members()
        name, url = _healthy_member(ctx, members)
        return take.Source(name, client([url]), len(members.members), snap.ORIGIN_CLUSTER)
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
        return take.Source(name, local, count, snap.ORIGIN_MEMBER)
    except EtcdctlError as e:
        detail = e.detail
    if workload.service_active():
        raise ActionError(
            f"{why}; and this unit's own member does not answer either ({detail}) although "
            "etcd runs, so its database cannot be copied safely"
        )
    if not os.path.isfile(take.db_file()):
        raise ActionError(f"{why}; and this unit's etcd is stopped with no database to copy")
    return take.Source(name, None, count, snap.ORIGIN_FILE)


def save_archive(
    ctx: Context,
    target: str,
    prefix: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | take.Source | None = None,
    without_quorum: bool = False,
    for_operator: bool = True,
) -> snap.Written:
    """A consistent snapshot of the cluster (``etcdctl snapshot save`` from a healthy
    member, or from ``source``: (name, etcdctl of one member)) archived with its metadata in
    ``target`` (0600, owned by the operator unless not ``for_operator``: root's, for the
    backup store). With ``without_quorum``, when no member is healthy, this unit's own data
    instead (:func:`_source`); its name and metadata say so."""
    if isinstance(source, take.Source):
        src = source
    elif source is not None:
        members = members or ctx.members()
        src = take.Source(source[0], source[1], len(members.members), snap.ORIGIN_CLUSTER)
    else:
        src = _source(ctx, members, without_quorum)
    last = ctx.charm.record.last_members()
    try:
        written = take.write_snapshot(
            src,
            ctx.charm.unit,
            target,
            prefix,
            ctx.progress,
            offline=ctx.local,
            cluster_id=f"{last.cluster_id:x}" if last else "",
        )
    except take.TakeError as e:
        raise ActionError(str(e)) from None
    if for_operator:
        give_to_operator(written.path)
    return written


def save_backup(
    ctx: Context,
    directory: str,
    prefix: str,
    remedy: str,
    members: MemberList | None = None,
    source: tuple[str, Etcdctl] | take.Source | None = None,
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


def keep_in_store(ctx: Context, written: snap.Written, kind: str) -> None:
    """A copy of ``written`` recorded in this unit's backup store as a backup of ``kind``
    (``backup.id``, ``backup.store``; ``backup.stored`` says why not when it fails)."""
    try:
        recorded = take.keep_in_store(
            written, kind, ctx.charm.unit, hookenv.model_uuid() or "", hookenv.application_name()
        )
    except (OSError, StoreError) as e:
        ctx.set("backup.stored", f"no: {e}")
        return
    ctx.set("backup.id", recorded.id)
    ctx.set("backup.store", f"{ctx.charm.unit}:{take.LOCAL_DIR}")


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

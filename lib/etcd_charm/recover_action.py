"""The ``recover-cluster`` action: after quorum is lost for good, a new one-member cluster from
the data of the Juju leader's own member, which the other units rejoin.

Run on the leader (``juju run etcd/leader recover-cluster``). It refuses while the cluster has
quorum, and, without ``force``, when another surviving member has applied more of the log
than this one (recover there instead: move the Juju leader, or stop that member first). Then:

1. it saves this member's data (``etcdctl snapshot save`` of its own member, which needs no
   quorum; with etcd stopped, a copy of its database file) as an archive in ``target`` and
   as a ``pre-recovery`` backup in the store: that archive is what the cluster is rebuilt
   from, so the operator keeps exactly what was restored;
2. it restores that archive as a restore does (:mod:`restore`): a new one-member cluster
   with a new token, every key the member had applied; the other units see the new token,
   discard their members and rejoin as learners, one at a time.

What is lost: writes the lost members acknowledged that this member had not applied (it was
behind when they went). The operator then removes the lost units
(``juju remove-unit --force``) and adds new ones.
"""

from __future__ import annotations

import shutil
import time

from . import hooktools, restore_action
from . import snapshot as snap
from .action_context import Context, target_dir
from .context import client
from .etcdctl import EtcdctlError
from .params import ActionError
from .restore import RestoreError
from .snapshot_action import keep_in_store, save_archive


def _quorum_refusal(ctx: Context) -> tuple[str, int]:
    """(why recovery is refused because the cluster has quorum, or "", this member's raft
    index; 0 when it does not answer)."""
    try:
        mine = ctx.local().endpoint_status()[0]
    except EtcdctlError:
        mine = None
    if mine is not None and mine.leader:
        return (
            f"the cluster has quorum (member {mine.leader:x} leads it): nothing to recover; "
            "recover-cluster is for a cluster that lost quorum for good",
            mine.raft_index,
        )
    try:
        members = ctx.members()
    except ActionError:
        return "", mine.raft_index if mine else 0
    return (
        f"the cluster answers (its {len(members.members)} members are listed): it has "
        "quorum; recover-cluster is for a cluster that lost quorum for good",
        mine.raft_index if mine else 0,
    )


def _ahead(ctx: Context, index: int) -> list[str]:
    """The other surviving members that applied more of the log than this one."""
    ahead = []
    for url in ctx.endpoints()[1:]:
        try:
            st = client([url]).endpoint_status()[0]
        except EtcdctlError:
            continue
        if st.raft_index > index:
            ahead.append(f"{url} (raft index {st.raft_index} > {index})")
    return ahead


def recover_cluster(ctx: Context) -> None:
    if not hooktools.is_leader():
        raise ActionError(
            f"{ctx.charm.unit} is not the leader: recover-cluster runs on the Juju leader "
            "(juju run etcd/leader recover-cluster), which rebuilds the cluster from its own "
            "member's data; nothing was changed"
        )
    ctx.check_config()
    if not ctx.charm.record.started:
        raise ActionError(
            f"{ctx.charm.unit} runs no member: there is no data here to rebuild the cluster "
            "from; restore a backup instead (restore backup-id=...); nothing was changed"
        )
    refusal, index = _quorum_refusal(ctx)
    if refusal:
        raise ActionError(f"{refusal}; nothing was changed")
    if index and not ctx.params.get("force"):
        ahead = _ahead(ctx, index)
        if ahead:
            raise ActionError(
                "other surviving members applied more than this one: "
                + ", ".join(ahead)
                + "; recover from there (make that unit the Juju leader), or run again with "
                "force=true to rebuild from this member anyway and lose those entries; "
                "nothing was changed"
            )
    started = time.monotonic()
    target = target_dir(ctx, ctx.params.get("target"), "target")
    written = save_archive(ctx, target, "etcd-recovery", without_quorum=True)
    ctx.set("backup.path", written.path)
    ctx.set("backup.sha256sum", written.sha256)
    keep_in_store(ctx, written, "pre-recovery")
    meta = written.meta
    ctx.progress(
        f"rebuilding a one-member cluster from revision {meta.revision} of {ctx.charm.unit}"
    )
    try:
        unpacked = snap.unpack(written.path, restore_action.STAGING)
    except snap.SnapshotError as e:
        raise ActionError(f"the saved data cannot be restored: {e}; nothing was changed") from None
    try:
        started_status, members = ctx.charm.restore(unpacked.db_path, True, ctx.progress)
    except RestoreError as e:
        raise ActionError(f"recover-cluster failed: {e}") from None
    finally:
        shutil.rmtree(restore_action.STAGING, ignore_errors=True)
    others = sorted(set(ctx.charm.peer_units()), key=lambda u: int(u.rsplit("/", 1)[-1]))
    ctx.set("recover.origin", snap.origin_note(meta.origin, meta.unit))
    ctx.set("recover.revision", meta.revision)
    ctx.set("recover.keys", "unknown: etcd was stopped" if meta.keys is None else meta.keys)
    ctx.set("recover.cluster-id", f"{started_status.cluster_id:x}")
    ctx.set("recover.member-id", f"{started_status.member_id:x}")
    ctx.set(
        "recover.rejoining",
        (", ".join(others) + " rejoin one at a time as learners; remove the lost ones with "
         "juju remove-unit --force and add new units") if others else "none: no other unit",
    )  # fmt: skip
    ctx.set("recover.took", f"{time.monotonic() - started:.1f}s")

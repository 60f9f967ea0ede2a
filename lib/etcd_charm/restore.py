"""Restore (the Juju leader, from the restore action): replace the cluster by a new
one-member cluster holding a snapshot; the other units rejoin it as learners. Undone (the
previous data and configuration back in place) if the new member does not start."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import replace

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import hooktools, quarantine, workload
from . import status as S
from .cluster import remove_member
from .context import Ctx, client, log
from .etcd_json import EndpointStatus, MemberList
from .etcdctl import EtcdctlError
from .member import start
from .observe import peers
from .quorum import label


class RestoreError(Exception):
    """The restore did not happen; the message says why and what state the unit is in."""


def restore(
    ctx: Ctx,
    db_path: str,
    skip_hash_check: bool,
    progress: Callable[[str], None],
    backup: Callable[[bool], object] | None = None,
) -> tuple[EndpointStatus, MemberList]:
    """Replace the cluster by a new one-member cluster holding the snapshot ``db_path``
    (the Juju leader, from the restore action). The other units see leader data
    ``restored``, discard their members and join as learners, one at a time; meanwhile
    clients are quarantined (:mod:`quarantine`).

    The order: the data directory is rebuilt beside the current one; the other members
    are removed from the cluster (:func:`remove_other_members`); this unit's etcd stops;
    ``backup`` (when given) saves the data being replaced, as its database file now holds
    every write the cluster acknowledged (its argument: this member was the cluster's only
    one); the directories are swapped and the restored member starts. If the backup fails
    or the new member does not start, the previous data and configuration are put back
    (and :class:`RestoreError` says so); units whose member was removed rejoin it."""
    settings, identity = ctx.settings, ctx.identity
    if not os.path.exists(C.SERVER_CERT_PATH):
        raise RestoreError("this unit has no certificates yet; relate etcd to easyrsa first")
    token = secrets.token_hex(16)
    data_dir = os.path.realpath(workload.running_data_dir())
    member_dir = os.path.join(data_dir, "member")
    staging = os.path.join(data_dir, f".restore-{token[:8]}")
    aside = os.path.join(data_dir, f".before-restore-{token[:8]}")
    peer_url = identity.peer_url(settings)
    need = os.path.getsize(db_path) + (64 << 20)  # the restored database and its WAL
    free = shutil.disk_usage(data_dir).free
    if free < need:
        raise RestoreError(
            f"{data_dir} has {free >> 20} MiB free and the restored data needs about "
            f"{need >> 20} MiB; free some space (nothing was changed)"
        )
    progress("rebuilding the data directory from the snapshot (the cluster still runs)")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        ctx.local().snapshot_restore(
            db_path, staging, identity.name, peer_url, token, skip_hash_check
        )
    except EtcdctlError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise RestoreError(
            f"etcd could not restore the snapshot: {e.detail}; nothing was changed"
        ) from None
    previous = ctx.record.member_state()
    previous_conf = workload.read_file(C.CONF_PATH)
    others = len(peers(ctx.hook))
    sole = True
    if others:
        # no member of the cluster being replaced may serve clients once this one stops
        sole = remove_other_members(ctx, progress)
        ctx = replace(ctx, settings=quarantine.apply(settings, token))
    progress("stopping etcd on this unit")
    ctx.set_status(S.restoring("stopping etcd"))
    had_member = os.path.isdir(member_dir)
    try:
        workload.stop_service()
        if backup is not None:
            try:
                backup(sole)
            except Exception as e:  # noqa: BLE001 - whatever stopped it, the data goes back
                raise RestoreError(str(e)) from None
        if had_member:
            os.rename(member_dir, aside)
        os.rename(os.path.join(staging, "member"), member_dir)
    except (workload.WorkloadError, OSError, RestoreError) as e:
        if had_member and os.path.isdir(aside) and not os.path.exists(member_dir):
            os.rename(aside, member_dir)
        shutil.rmtree(staging, ignore_errors=True)
        if had_member and not workload.service_active():
            workload.start_service()
        rejoin = " (the other units rejoin it as learners)" if others else ""
        raise RestoreError(f"{e}; the previous data is in place{rejoin}") from None
    shutil.rmtree(staging, ignore_errors=True)
    record = C.Bootstrap(initial_cluster=f"{identity.name}={peer_url}", token=token, state="new")
    progress("starting the restored one-member cluster")
    ctx.set_status(S.restoring("starting the restored one-member cluster"))
    try:
        status = start(ctx, record, expect_leader=True)
    except (TimeoutError, workload.WorkloadError, EtcdctlError) as e:
        log(f"the restored member did not start: {e}; putting the previous data back",
            hookenv.ERROR)  # fmt: skip
        workload.stop_service()
        shutil.rmtree(member_dir, ignore_errors=True)
        if had_member:
            os.rename(aside, member_dir)
        ctx.record.put_back(previous)
        if previous_conf:
            workload.write_file(C.CONF_PATH, previous_conf, 0o644)
        if had_member:
            workload.start_service()
        removed = (
            "; the other units' members were removed from it first: restore again (the "
            "pre-restore backup, if nothing else) to bring them back"
            if others
            else ""
        )
        raise RestoreError(
            f"the restored member did not start ({e}); the previous data and "
            f"configuration are back in place{removed}"
        ) from None
    shutil.rmtree(aside, ignore_errors=True)
    announce(ctx, token, record.initial_cluster, status.member_id, quarantined=bool(others))
    members = ctx.local().member_list()
    ctx.record.remember_members(members)
    log(f"restored: member {status.member_id:x} of the new cluster {status.cluster_id:x}")
    if others:
        log(
            f"clients are quarantined (etcd serves them on port {ctx.settings.client_port}, "
            f"not {settings.port}) until the {others} other unit(s) rejoined"
        )
    ctx.set_status(
        S.restored(others) if others else S.healthy(len(members.members))
    )  # until the next hook reports on the rejoining units
    return status, members


def announce(
    ctx: Ctx, token: str, initial_cluster: str, member_id: int, quarantined: bool
) -> None:
    """This leader's member is now the cluster's only one (a restore, recover-from-volume):
    leader data names the cluster (``token``; ``restored``: a started member of another
    cluster discards its data and rejoins), clears every step of the cluster it replaced,
    quarantines clients while other units rejoin; the peer relation gets the member id."""
    identity, settings = ctx.identity, ctx.settings
    hooktools.leader_set(
        {
            "token": token,
            "restored": token,
            "founders": None,
            "bootstrapped": identity.name,
            "cluster": initial_cluster,
            "leader_address": C.build_uri("https", identity.db_address, settings.port),
            "quarantine": token if quarantined else None,
            "joining": None,
            "restart-grant": None,
            "upgrade-grant": None,
            "upgrade-progress": None,
        }
    )
    endpoint = ctx.hook.endpoint("cluster")
    if endpoint is not None:
        endpoint.publish({"member-id": f"{member_id:x}", "restart-request": ""})


def remove_other_members(ctx: Ctx, progress: Callable[[str], None]) -> bool:
    """Remove every other member from the cluster a restore replaces, before this unit's
    member stops: a removed member stops serving (etcd exits; restarted, its peers refuse
    it), so no client write lands in a member whose data is about to be discarded. Without
    a raft leader (``recover-cluster``: quorum is lost) nothing can be removed, and no
    member can take a write either; the other units discard their data all the same.
    True when this member is the cluster's only one now."""
    ctl = ctx.local()
    try:
        me = ctl.endpoint_status()[0]
        members = ctl.member_list()
    except (EtcdctlError, IndexError) as e:
        log(f"the other members stay in the old cluster: this member does not answer ({e})",
            hookenv.WARNING)  # fmt: skip
        return False
    if not me.leader:
        log("the other members stay in the old cluster: it has no raft leader (no quorum)",
            hookenv.WARNING)  # fmt: skip
        return False
    if me.leader != me.member_id:
        # removing the raft leader deposes it and the next removal waits for an election:
        # this member leads while the others are removed
        leader = members.by_id(me.leader)
        if leader is not None and leader.client_urls:
            log(f"moving the raft leader to this member ({me.member_id:x}) before removing "
                "the others")  # fmt: skip
            try:
                client(list(leader.client_urls)).move_leader(me.member_id)
            except EtcdctlError as e:
                log(f"could not move the raft leader: {e.detail}", hookenv.WARNING)
    sole = True
    for member in members.members:
        if member.id == me.member_id:
            continue
        progress(f"removing member {label(member)} from the cluster being replaced")
        try:
            remove_member(ctl, member.id)
        except (EtcdctlError, TimeoutError) as e:
            log(f"member {label(member)} stays in the old cluster: {e}", hookenv.WARNING)
            sole = False
    return sole

"""This unit's etcd: start it (once), wait until it answers, restart it with a new config,
hand raft leadership over, leave the cluster, discard it for a restored cluster."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from typing import NoReturn

from charmhelpers.core import hookenv

from . import data_volume as DV
from . import etcd_conf as C
from . import hooktools, workload
from . import plan as P
from . import status as S
from .cluster import (
    etcdctl,
    hand_over_leadership,
    member_health,
    reconfigure,
    refresh_members,
)
from .configure import conf_hash, render
from .context import START_DEADLINE, Ctx, Hook, answering, client, log, wait_for
from .etcd_json import EndpointStatus, Member, MemberList
from .etcdctl import Etcdctl, EtcdctlError
from .observe import app_units, leader_data, peers

#: how long a leaving unit looks again at a removal refused for quorum before it fails its
#: hook (a concurrent removal's hand-over takes an election: about a second)
LEAVE_DEADLINE = 20.0


class Refused(Exception):
    """A change that would break quorum: the hook fails (Juju keeps the unit and retries)."""


def wait_answering(ctx: Ctx, what: str, leader: bool) -> EndpointStatus:
    """Wait (bounded) until this unit's member answers its endpoint status (and, with
    ``leader``, knows a raft leader): after a start or a restart."""
    local = ctx.local()

    def answered() -> EndpointStatus | None:
        st = local.endpoint_status()
        return st[0] if st and (st[0].leader or not leader) else None

    return wait_for(what, START_DEADLINE, answering(answered))


def wait_healthy(ctx: Ctx, what: str) -> None:
    """Wait (bounded) until this unit's member reports itself healthy: after an upgrade or
    a migration, where a member that answers is not enough."""
    local = ctx.local()

    def healthy() -> bool | None:
        return True if all(h.healthy for h in local.endpoint_health()) else None

    wait_for(what, START_DEADLINE, answering(healthy))


def start(ctx: Ctx, record: C.Bootstrap, expect_leader: bool) -> EndpointStatus:
    """Write the config and start etcd (exactly once); wait until it answers."""
    ctx.record.bootstrap = record
    text = render(ctx)
    workload.write_file(C.CONF_PATH, text, 0o644)
    if not workload.service_active():
        workload.start_service()
    status = wait_answering(ctx, f"etcd on {ctx.unit} to answer", expect_leader)
    ctx.record.started = True
    ctx.record.member_id = status.member_id
    ctx.record.applied_hash = conf_hash(text)
    log(f"etcd started as member {status.member_id:x}")
    return status


def start_founder(ctx: Ctx, obs: P.Observed, founders: P.Founders) -> P.Observed:
    """Start this unit's member as one of the founders: it answers once a quorum of the
    founders has started (each on its own machine, from the same leader data)."""
    record = C.Bootstrap(
        initial_cluster=founders.initial_cluster, token=founders.token, state="new"
    )
    status = start(ctx, record, expect_leader=False)
    me = replace(obs.me, member_id=status.member_id, restart_request="")
    return replace(obs, me=me, started=True)


def start_joining(ctx: Ctx, obs: P.Observed, joining: P.Joining) -> P.Observed:
    """Start this unit's member as the learner the leader added."""
    record = C.Bootstrap(
        initial_cluster=joining.initial_cluster,
        token=obs.leader.token,
        state="existing",
    )
    start(ctx, record, expect_leader=False)
    me = replace(obs.me, member_id=joining.member_id, restart_request="")
    return replace(obs, me=me, started=True)


def restart(ctx: Ctx, obs: P.Observed, step: P.Restart, conf_text: str) -> None:
    settings, identity = ctx.settings, ctx.identity
    ctl = etcdctl(ctx, obs)
    if obs.members is not None:
        hand_over_leadership(ctx, obs.members, obs.me.member_id, "restarting")
    if step.peer_url_changed:
        log(f"updating this member's peer URL to {identity.peer_url(settings)}")
        reconfigure(
            "update this member's peer URL",
            lambda: ctl.member_update(obs.me.member_id, [identity.peer_url(settings)]),
        )
    old_dir, new_dir = workload.running_data_dir(), C.data_dir_of(conf_text)
    if new_dir != old_dir:
        relocate(ctx, old_dir, new_dir, conf_text)
        DV.claim(ctx.hook)  # onto a volume: its marker names this cluster from now on
    else:
        ctx.set_status(S.RESTARTING)
        workload.write_file(C.CONF_PATH, conf_text, 0o644)
        workload.restart_service()
        wait_answering(ctx, f"etcd on {ctx.unit} to rejoin after the restart", leader=True)
    ctx.record.applied_hash = step.conf_hash
    log("etcd restarted with the new configuration")


def relocate(ctx: Ctx, old_dir: str, new_dir: str, conf_text: str) -> None:
    """Move the member's data (raft leadership handed over by the caller): stop etcd, copy
    its data to ``new_dir``, start it there with ``conf_text``, and drop the old copy once it
    answers. Should it not start, the old configuration and data are put back."""
    ctx.set_status(S.moving_data(new_dir))
    log(f"moving etcd's data from {old_dir} to {new_dir}")
    previous = workload.read_file(C.CONF_PATH)
    workload.stop_service()
    DV.move(old_dir, new_dir)
    workload.write_file(C.CONF_PATH, conf_text, 0o644)
    workload.start_service()
    try:
        wait_answering(ctx, f"etcd on {ctx.unit} to answer from {new_dir}", leader=True)
    except TimeoutError:
        log(f"etcd did not answer from {new_dir}: back to {old_dir}", hookenv.ERROR)
        workload.stop_service()
        workload.write_file(C.CONF_PATH, previous, 0o644)
        workload.start_service()
        raise
    DV.forget(old_dir)


def remove_self(ctx: Ctx, remote: Etcdctl, my_id: int) -> bool:
    """Remove this member through ``remote`` (members that stay). When every unit goes at
    once (the application is removed) the others may leave first, and ``remote`` stops
    answering: each attempt asks this member first and, once it is the only one left,
    there is nothing to remove (False: it is the cluster's last)."""
    local = ctx.local()

    def remove() -> bool:
        try:
            now: MemberList | None = local.member_list()
        except EtcdctlError:
            now = None
        if now is not None and now.by_id(my_id) is not None and not _others(now, my_id):
            return False
        try:
            remote.member_remove(my_id)
        except EtcdctlError as e:
            if not e.mentions("member not found"):
                raise
        return True

    return reconfigure(f"remove member {my_id:x}", remove, idempotent=True)


def own_view(ctx: Ctx, my_id: int) -> P.Observed:
    """What this unit's own member needs to see of the cluster outside a reconcile (it
    leaves, or moves its data): itself, the leader data and its peers."""
    return P.Observed(
        me=P.UnitInfo(ctx.unit, ctx.identity.name, member_id=my_id),
        is_leader=hooktools.is_leader(),
        started=True,
        leader=leader_data(),
        peers=peers(ctx.hook),
    )


def move_back(ctx: Ctx) -> None:
    """A volume detaches from a unit that stays: its member's data moves back to the
    snap's data directory first, in this hook (Juju takes the device once it commits). Its
    stop is checked as a restart's is: refused while the others would not keep quorum (the
    hook fails, and Juju runs it again)."""
    record = ctx.record
    my_id = record.member_id
    obs = own_view(ctx, my_id)
    members = refresh_members(ctx, obs).members
    if members is None:
        refuse_move(ctx.hook, "no member of the cluster answers")
    healthy = member_health(members)
    refusal = P.stop_refusal(members, healthy, my_id)
    if refusal:
        refuse_move(ctx.hook, refusal)
    hand_over_leadership(ctx, members, my_id, "moving its data", healthy)
    conf = render(ctx)  # the volume's state no longer "ready": the default data directory
    relocate(ctx, workload.running_data_dir(), C.DATA_DIR, conf)
    record.applied_hash = conf_hash(conf)
    log(f"etcd's data moved back to {C.DATA_DIR}")


def refuse_move(hook: Hook, why: str) -> NoReturn:
    message = f"Cannot move etcd's data off its volume now: {why}; Juju retries the hook"
    hook.set_status(S.Status("blocked", message))
    log(message, hookenv.ERROR)
    raise Refused(message)


def discard_for_restore(hook: Hook) -> None:
    """A restore replaced the cluster this unit's member belonged to: stop it and wipe
    its data; the leader then adds this unit to the restored cluster as a learner."""
    hook.set_status(S.REJOINING)
    log("a restore replaced this member's cluster: discarding its data to rejoin")
    try:
        workload.stop_service()
    except workload.WorkloadError as e:
        log(f"stopping etcd: {e}", hookenv.WARNING)
    data_dir = workload.running_data_dir()
    shutil.rmtree(os.path.join(os.path.realpath(data_dir), "member"), ignore_errors=True)
    hook.record.forget_member()


def leave(ctx: Ctx) -> bool:
    """This unit is being removed: hand over raft leadership, remove the member, stop.
    True when the member was removed from the cluster; False when there was none to remove
    (it never started, or it was the cluster's only member: it just stops)."""
    record = ctx.record
    if not record.started:
        record.left = True
        return False
    my_id = record.member_id
    obs = own_view(ctx, my_id)

    def look() -> tuple[MemberList, frozenset[int], str] | None:
        listed = refresh_members(ctx, obs).members
        if listed is None:
            return None
        # health first, then the membership again: a unit leaving at the same time removes
        # its member before it stops etcd, so a member still listed after the probe was
        # answering during it unless it is really down
        healthy = member_health(listed)
        members = refresh_members(ctx, obs).members
        if members is None:
            return None
        refusal = ""
        if members.by_id(my_id) is not None and _others(members, my_id):
            refusal = P.removal_refusal(members, healthy, my_id)
        return members, healthy, refusal

    seen = look()
    if seen is not None and seen[2]:
        # a refusal may be a moment's: a unit leaving at the same time hands raft leadership
        # over and removes its member, and a probe in between finds a member that does not
        # answer; look again until it clears, for a bounded time, before refusing
        ctx.set_status(S.leaving_waits(seen[2]))

        def cleared() -> tuple[MemberList, frozenset[int], str] | None:
            again = look()
            return again if again is not None and not again[2] else None

        try:
            seen = wait_for("the removal to keep quorum", LEAVE_DEADLINE, cleared)
        except TimeoutError:
            seen = look()
    if seen is None:
        refuse(ctx.hook, "no member of the cluster answers, so its member cannot be removed")
    members, healthy, refusal = seen
    if refusal:
        refuse(ctx.hook, refusal)
    others = _others(members, my_id)
    removed = members.by_id(my_id) is not None and bool(others)
    if removed:
        ctx.set_status(S.LEAVING)
        # talk to, and hand leadership to, members that stay: with several units removed
        # at once, another leaving member may be stopping (its connections reset)
        leaving = {C.member_name(u) for u, st in (app_units() or {}).items() if st == "dying"}
        staying = [m for m in others if m.name not in leaving] or others
        hand_over_leadership(ctx, members, my_id, "leaving", healthy & {m.id for m in staying})
        remote = client(sorted(u for m in staying for u in m.client_urls))
        removed = remove_self(ctx, remote, my_id)
        if removed:
            log(f"removed member {my_id:x} from the cluster")
        else:
            log("the other members left the cluster meanwhile: this one, its last, stops")
    workload.stop_service(disable=True)
    record.started = False
    record.left = True
    ctx.set_status(S.DEPARTED)
    return removed


def _others(members: MemberList, my_id: int) -> list[Member]:
    """The started voters other than this unit's member."""
    return [m for m in members.voters if m.id != my_id and m.started]


def refuse(hook: Hook, why: str) -> NoReturn:
    status = S.cannot_leave(why, P.REMEDY)
    hook.set_status(status)
    log(status.message, hookenv.ERROR)
    raise Refused(status.message)

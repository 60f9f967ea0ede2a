"""The Juju leader's executors: one function per step :func:`plan.leader_step` can return,
dispatched through :data:`EXECUTORS`; :func:`lead` asks the plan again after each step, at
most :data:`MAX_LEADER_STEPS` times in one hook (the rest waits for the next hook)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from charmhelpers.core import hookenv

from . import hooktools
from . import plan as P
from .cluster import (
    etcdctl,
    hand_over_leadership,
    member_health,
    reconfigure,
    refresh_members,
    remove_member,
)
from .context import PROMOTE_DEADLINE, Ctx, log, wait_for
from .etcd_json import Member, MemberList, initial_cluster
from .etcdctl import Etcdctl, EtcdctlError
from .member import start_founder

#: how many leader steps one hook takes at most (founding, bootstrapping, adding and
#: promoting a learner, granting this unit a restart and clearing it take a handful; the
#: bound only stops a plan that never settles from spinning within one hook)
MAX_LEADER_STEPS = 12


@dataclass(frozen=True)
class Leader:
    """What the executors work with: the reconcile's context and how this unit performs a
    step the leader just granted to itself (its own restart or upgrade)."""

    ctx: Ctx
    act: Callable[[P.Observed], P.Observed]


def lead(leader: Leader, obs: P.Observed) -> P.Observed:
    """Take the leader's steps, one membership change at a time, until the plan waits."""
    for _ in range(MAX_LEADER_STEPS):
        if obs.healthy is None and obs.members is not None and P.needs_health(obs):
            obs = replace(obs, healthy=member_health(obs.members))
        step = P.leader_step(obs)
        if isinstance(step, P.Blocked):
            log(f"leader: {step.reason}", hookenv.WARNING)
            leader.ctx.hook.blocked = step.reason
            return obs
        if step is None or isinstance(step, P.Wait):
            if isinstance(step, P.Wait):
                log(f"leader: {step.reason}", hookenv.DEBUG)
            return obs
        log(f"leader step: {step}")
        obs = EXECUTORS[type(step)](leader, obs, step)
    return obs


# --- leader data ------------------------------------------------------------------------


def record_joining(obs: P.Observed, joining: P.Joining | None) -> P.Observed:
    """Leader data ``joining`` (immediate, as leader-set is) and the observation with it."""
    hooktools.leader_set({"joining": joining.to_json() if joining else None})
    return replace(obs, leader=replace(obs.leader, joining=joining))


def record_restart_grant(obs: P.Observed, unit: str) -> P.Observed:
    """Leader data ``restart-grant``: the one unit allowed to restart now ("" clears
    it)."""
    hooktools.leader_set({"restart-grant": unit or None})
    return replace(obs, leader=replace(obs.leader, restart_grant=unit))


def record_upgrade_grant(obs: P.Observed, unit: str, progress: P.Progress | None) -> P.Observed:
    """Leader data ``upgrade-grant`` (the one unit allowed to upgrade now, "" clears it)
    and ``upgrade-progress`` (its place in the upgrade, which every unit shows)."""
    hooktools.leader_set(
        {
            "upgrade-grant": unit or None,
            "upgrade-progress": progress.to_str() if progress else None,
        }
    )
    ld = replace(obs.leader, upgrade_grant=unit, upgrade_progress=progress)
    return replace(obs, leader=ld)


# --- etcd membership changes --------------------------------------------------------------


def add_learner(ctl: Etcdctl, unit: P.UnitInfo) -> tuple[Member, MemberList]:
    return reconfigure(
        f"add {unit.unit} as a learner",
        lambda: ctl.member_add_learner(unit.name, unit.peer_url),
    )


def promote(ctl: Etcdctl, joining: P.Joining) -> None:
    def attempt() -> bool | None:
        try:
            ctl.member_promote(joining.member_id)
            return True
        except EtcdctlError as e:
            if e.mentions("in sync with leader", "not ready", "unhealthy"):
                return None  # still catching up: poll again until the deadline
            if e.mentions("can only promote a learner member", "member not found"):
                return True  # promoted already (an earlier attempt got through)
            raise

    wait_for(f"promote {joining.unit} ({joining.member_id:x})", PROMOTE_DEADLINE, attempt)
    log(f"promoted {joining.unit} ({joining.member_id:x}) to a voting member")


# --- the executors, one per step ------------------------------------------------------------


def found(leader: Leader, obs: P.Observed, step: P.Found) -> P.Observed:
    """Record the founders (and the cluster token) in leader data, and that the cluster
    exists, in one write (one leader-settings-changed hook on every other unit): every
    founding unit starts its member with this initial cluster as soon as it has its
    certificates, and nothing ever founds another cluster over it."""
    ctx = leader.ctx
    token = obs.leader.token or secrets.token_hex(16)
    founders = P.Founders(token=token, initial_cluster=step.initial_cluster)
    me = ctx.identity.name
    name = me if me in founders.names else min(founders.names)
    record = {
        "token": token,
        "founders": founders.to_json(),
        "bootstrapped": name,
        "cluster": founders.initial_cluster,
    }
    if name == me:  # the layer-etcd key: the member that bootstraps (this one, once it runs)
        record["leader_address"] = ctx.identity.client_url(ctx.settings)
    hooktools.leader_set(record)
    ctx.record.clear_founding_since()
    log(f"founding the cluster with {', '.join(sorted(founders.names))}")
    return replace(
        obs, leader=replace(obs.leader, token=token, founders=founders, bootstrapped=name)
    )


def bootstrap(leader: Leader, obs: P.Observed, step: P.Bootstrap) -> P.Observed:
    obs = start_founder(leader.ctx, obs, step.founders)
    return refresh_members(leader.ctx, obs)


def bootstrapped(leader: Leader, obs: P.Observed, step: P.Bootstrapped) -> P.Observed:
    """Record that the cluster exists (keys the old charm's leader data had too): for
    founders an earlier revision of this charm recorded without it (:func:`found` records
    both at once)."""
    ctx, founders = leader.ctx, step.founders
    name = ctx.identity.name if obs.started else min(founders.names)
    record = {"bootstrapped": name, "cluster": founders.initial_cluster}
    if obs.started:
        record["leader_address"] = ctx.identity.client_url(ctx.settings)
    hooktools.leader_set(record)
    return replace(obs, leader=replace(obs.leader, bootstrapped=name))


def add(leader: Leader, obs: P.Observed, step: P.AddLearner) -> P.Observed:
    new, ml = add_learner(etcdctl(leader.ctx, obs), step.unit)
    joining = P.Joining(
        unit=step.unit.unit,
        name=step.unit.name,
        member_id=new.id,
        peer_url=step.unit.peer_url,
        initial_cluster=initial_cluster(ml.members, step.unit.name, new.id),
    )
    log(f"added {step.unit.unit} as learner {new.hex_id}")
    return replace(record_joining(obs, joining), members=ml)


def record_lost_joining(leader: Leader, obs: P.Observed, step: P.RecordJoining) -> P.Observed:
    return record_joining(obs, step.joining)


def promote_learner(leader: Leader, obs: P.Observed, step: P.Promote) -> P.Observed:
    promote(etcdctl(leader.ctx, obs), step.joining)
    return refresh_members(leader.ctx, record_joining(obs, None))


def clear_joining(leader: Leader, obs: P.Observed, step: P.ClearJoining) -> P.Observed:
    return record_joining(obs, None)


def remove_stale_learner(
    leader: Leader, obs: P.Observed, step: P.RemoveStaleLearner
) -> P.Observed:
    remove_member(etcdctl(leader.ctx, obs), step.joining.member_id)
    return refresh_members(leader.ctx, record_joining(obs, None))


def remove_stray_member(leader: Leader, obs: P.Observed, step: P.RemoveMember) -> P.Observed:
    ctx, member = leader.ctx, step.member
    if obs.members is not None:
        hand_over_leadership(
            ctx, obs.members, member.id, f"removing {P.label(member)}", obs.healthy
        )
    log(f"removing member {P.label(member)}: {step.reason}")
    remove_member(etcdctl(ctx, obs), member.id)
    return refresh_members(ctx, obs)


def grant_restart(leader: Leader, obs: P.Observed, step: P.GrantRestart) -> P.Observed:
    obs = record_restart_grant(obs, step.unit)
    return leader.act(obs) if step.unit == leader.ctx.unit else obs


def clear_restart_grant(leader: Leader, obs: P.Observed, step: P.ClearRestartGrant) -> P.Observed:
    return record_restart_grant(obs, "")


def grant_upgrade(leader: Leader, obs: P.Observed, step: P.GrantUpgrade) -> P.Observed:
    obs = record_upgrade_grant(obs, step.unit, step.progress)
    return leader.act(obs) if step.unit == leader.ctx.unit else obs


def clear_upgrade_grant(leader: Leader, obs: P.Observed, step: P.ClearUpgradeGrant) -> P.Observed:
    # the upgraded member restarted: ask for health again before the next one
    return replace(record_upgrade_grant(obs, "", None), healthy=None)


def clear_refresh(leader: Leader, obs: P.Observed, step: P.ClearRefresh) -> P.Observed:
    hooktools.leader_set({"refresh-target": None})
    log("in-track refresh done: every unit is on it (or a channel upgrade came first)")
    return replace(obs, leader=replace(obs.leader, refresh=None))


def lift_quarantine(leader: Leader, obs: P.Observed, step: P.LiftQuarantine) -> P.Observed:
    hooktools.leader_set({"quarantine": None})
    log("every unit rejoined the restored cluster: clients come back as each member restarts")
    return replace(obs, leader=replace(obs.leader, quarantine=""))


Executor = Callable[[Leader, P.Observed, Any], P.Observed]

#: every step the leader performs -> its executor (Wait, Blocked and None end :func:`lead`)
EXECUTORS: dict[type, Executor] = {
    P.Found: found,
    P.Bootstrap: bootstrap,
    P.Bootstrapped: bootstrapped,
    P.AddLearner: add,
    P.RecordJoining: record_lost_joining,
    P.Promote: promote_learner,
    P.ClearJoining: clear_joining,
    P.RemoveStaleLearner: remove_stale_learner,
    P.RemoveMember: remove_stray_member,
    P.GrantRestart: grant_restart,
    P.ClearRestartGrant: clear_restart_grant,
    P.GrantUpgrade: grant_upgrade,
    P.ClearUpgradeGrant: clear_upgrade_grant,
    P.ClearRefresh: clear_refresh,
    P.LiftQuarantine: lift_quarantine,
}

"""Observation: build :class:`plan.Observed` from the hook tools, this unit's record and
etcd (hook tools read once per hook; update-status on a quiet cluster reuses the cached
member list)."""

from __future__ import annotations

import time
from dataclasses import replace

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import hooktools, workload
from . import plan as P
from .cluster import etcdctl, member_health, refresh_members
from .context import DEPART_DEADLINE, Ctx, Hook, answering, log, serving_port, wait_for
from .etcd_json import MemberList
from .record import Record


def leader_data() -> P.LeaderData:
    return P.LeaderData.from_dict(hooktools.leader_get() or {})


def peers(hook: Hook, unjoined: list[str] | None = None) -> tuple[P.UnitInfo, ...]:
    """The units on the peer relation, as far as they published. ``unjoined``: units of the
    application to read as well though they have not joined here yet (see
    :func:`founding_reads`)."""
    endpoint = hook.endpoint("cluster")
    data = endpoint.peer_data() if endpoint is not None else {}
    wanted = [u for u in unjoined or () if u not in data and u != hookenv.local_unit()]
    if endpoint is not None and wanted:
        data.update(endpoint.unjoined_data(wanted))
    return tuple(
        P.UnitInfo.from_relation(u, d)
        for u, d in sorted(data.items(), key=lambda kv: P.unit_number(kv[0]))
    )


def app_units() -> dict[str, str] | None:
    """Every unit of the application Juju knows (goal-state) -> its status or "dying"."""
    try:
        units = hookenv.goal_state().get("units") or {}
    except Exception as e:  # noqa: BLE001 - no goal-state: orphans stay undecided
        log(f"goal-state: {e}", hookenv.DEBUG)
        return None
    return {str(u): str((v or {}).get("status", "")) for u, v in units.items()}


def founding_reads(
    is_leader: bool, leader: P.LeaderData, app_units: dict[str, str] | None
) -> list[str]:
    """The units whose peer data the leader reads before the cluster is founded, joined here
    or not: every unit of the application but the dying. A unit publishes its peer URL in
    its first hook on the relation (``cluster-relation-created``), but the leader's
    ``-relation-changed`` for it comes only after the hooks queued before it (with N units,
    up to N - 1 of them, each behind the others' hooks on a busy machine): reading them
    at once lets the leader found the cluster as soon as the last one published."""
    if not is_leader or leader.bootstrapped or leader.current_founders is not None:
        return []
    return sorted(u for u, state in (app_units or {}).items() if state != "dying")


def unit_info(
    ctx: Ctx, started: bool, ready: bool, desired_hash: str, tracking: str, upgrade_error: str
) -> P.UnitInfo:
    """This unit as the plan sees it (and as it publishes itself on the peer relation)."""
    settings, identity = ctx.settings, ctx.identity
    return P.UnitInfo(
        unit=ctx.unit,
        name=identity.name,
        peer_url=identity.peer_url(settings),
        client_url=(
            C.build_uri("https", identity.db_address, serving_port(settings))
            if started
            else identity.client_url(settings)
        ),
        ready=ready,
        member_id=ctx.record.member_id if started else 0,
        restart_request=desired_hash if desired_hash != ctx.record.applied_hash else "",
        version=ctx.version or "",
        channel=tracking,
        upgrade_error=upgrade_error,
        revision=workload.installed_revision(),
    )


def observe(ctx: Ctx, me: P.UnitInfo, started: bool, target_channel: str) -> P.Observed:
    """Everything the plan decides from: leader data, the peers, goal-state, the member list
    (and, in the departing unit's cluster-relation-departed, the membership after it left)."""
    is_leader, leader, units = hooktools.is_leader(), leader_data(), app_units()
    obs = P.Observed(
        me=me,
        is_leader=is_leader,
        started=started,
        leader=leader,
        peers=peers(ctx.hook, founding_reads(is_leader, leader, units)),
        app_units=units,
    )
    if started or any(p.member_id for p in obs.peers):
        cached = None
        if ctx.hook.name == "update-status" and started:
            cached = cached_members_if_quiet(ctx.record, obs)
        obs = replace(obs, members=cached) if cached is not None else refresh_members(ctx, obs)
    obs = replace(obs, target_channel=target_channel)
    obs = replace(obs, founding_expired=founding_expired(ctx.record, obs))
    if ctx.hook.name == "cluster-relation-departed" and started:
        obs = await_departure(ctx, obs, hookenv.departing_unit() or "")
    return obs


def founding_expired(record: Record, obs: P.Observed) -> bool:
    """Whether the leader, about to found the cluster, has waited :data:`P.FOUNDING_WAIT`
    for the units not ready to (the clock starts at the first hook that finds them not;
    any later hook, update-status at the latest, finds it expired). A hook
    that finds no such wait stops the clock: a unit that loses leadership, or whose missing
    units arrive, starts a new wait if it ever waits again, not an expired one."""
    waiting = (
        obs.is_leader
        and not obs.leader.bootstrapped
        and obs.leader.current_founders is None
        and bool(P.founding_pending(obs))
    )
    if not waiting:
        if record.founding_since:
            record.clear_founding_since()
        return False
    now = time.time()
    since = record.founding_since
    if not since:
        record.founding_since = now
        return False
    return now - since >= P.FOUNDING_WAIT


def cached_members_if_quiet(record: Record, obs: P.Observed) -> MemberList | None:
    """update-status on a healthy, quiet cluster reuses the last member list (one round
    trip per hook: the endpoint status). Anything in flight refreshes it."""
    cached = record.last_members()
    if cached is None or obs.leader.joining or obs.leader.restart_grant:
        return None
    known = {m.name for m in cached.members}
    # Juju's view must match: a unit that left (or joined) since the list was taken
    # changes the names; a member that had not started then (no client URL: a founder is
    # listed with its name before it starts) may have since
    if known != {u.name for u in obs.all_units()}:
        return None
    if any(not m.client_urls for m in cached.members):
        return None
    return cached


def await_departure(ctx: Ctx, obs: P.Observed, unit: str) -> P.Observed:
    """A departing unit removes its own member (see :func:`member.leave`), on its machine,
    while this hook runs here: wait (bounded) for etcd to report it gone, so that what this
    hook publishes and shows is the membership after the change."""
    name = C.member_name(unit)
    current = obs.members
    if not unit or current is None:
        return obs
    member = current.by_name(name)
    if member is None:
        return obs
    if obs.app_units is not None and unit not in obs.app_units:
        return obs  # removed with --force: no hook of its own removes the member
    healthy = member_health(current)
    obs = replace(obs, healthy=healthy)
    if member.id not in healthy or P.removal_refusal(current, healthy, member.id):
        return obs  # it cannot remove itself: the leader decides (and says why)
    ctl = etcdctl(ctx, obs)

    def gone() -> MemberList | None:
        members = ctl.member_list()
        return members if members.by_name(name) is None else None

    try:
        members = wait_for(f"{unit} to leave the cluster", DEPART_DEADLINE, answering(gone))
    except TimeoutError as e:
        log(f"{e}; it is still a member", hookenv.WARNING)
        return obs
    ctx.record.remember_members(members)
    return replace(obs, members=members)

"""The etcd calls on the whole cluster that the leader's executors and this unit's member
share: which endpoints to ask, the member list, health, membership changes, the raft leader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from charmhelpers.core import hookenv

from . import plan as P
from .context import RECONFIG_DEADLINE, Ctx, client, local_url, log, wait_for
from .etcd_json import MemberList
from .etcdctl import ETCDCTL, Etcdctl, EtcdctlError

T = TypeVar("T")


def etcdctl(ctx: Ctx, obs: P.Observed | None = None) -> Etcdctl:
    """etcdctl against this unit's member and the peers' (voters only once the member
    list is known: etcd 3.4's learners refuse most requests, "rpc not supported for
    learner", and etcdctl 3.4 does not skip them)."""
    endpoints = []
    members = obs.members if obs is not None else None
    voters = {m.id for m in members.voters} if members is not None else None
    me = ctx.record.member_id
    if ctx.record.started and (voters is None or me in voters):
        endpoints.append(local_url(ctx.settings))
    if obs is not None:
        endpoints += [
            p.client_url
            for p in obs.peers
            if p.member_id and p.client_url and (voters is None or p.member_id in voters)
        ]
    return client(endpoints or [local_url(ctx.settings)])


def refresh_members(ctx: Ctx, obs: P.Observed) -> P.Observed:
    """The member list again (after a membership change); the health known so far was of
    the previous list (a learner just promoted was not asked), so it is asked again when
    the plan needs it."""
    try:
        members = etcdctl(ctx, obs).member_list()
    except EtcdctlError as e:
        log(f"member list failed: {e}", hookenv.WARNING)
        return replace(obs, members=None, healthy=None)
    ctx.record.remember_members(members)
    return replace(obs, members=members, healthy=None)


def member_health(members: MemberList, binary: str = ETCDCTL) -> frozenset[int]:
    """The voters whose client endpoint answers a health check (one etcdctl for all;
    a member that does not answer costs the dial timeout)."""
    urls = {u: m.id for m in members.voters for u in m.client_urls}
    if not urls:
        return frozenset()
    try:
        results = client(sorted(urls), binary).endpoint_health()
    except EtcdctlError as e:
        log(f"endpoint health failed: {e}", hookenv.WARNING)
        return frozenset()
    return frozenset(urls[h.endpoint] for h in results if h.healthy and h.endpoint in urls)


def reconfigure(what: str, change: Callable[[], T], idempotent: bool = False) -> T:
    """Run a membership change. etcd refuses them for a few seconds after the previous
    one ("unhealthy cluster" until every member has been connected for 5s): that is
    waited out within a deadline; a refusal that lasts (a change that would lose quorum)
    fails the hook with etcd's reason."""

    def attempt() -> tuple[T] | None:
        try:
            return (change(),)
        except EtcdctlError as e:
            if e.mentions("unhealthy cluster"):
                return None
            # raft takes one membership change at a time: a concurrent one (two units
            # leaving together) times out, and so does one proposed while a new raft leader
            # is elected (the previous change removed the leader: etcdctl's own deadline);
            # a change that is safe to repeat is retried
            if idempotent and e.mentions(
                "request timed out", "leader changed", "context deadline exceeded"
            ):
                log(f"{what}: {e.detail}; retrying")
                return None
            raise

    return wait_for(what, RECONFIG_DEADLINE, attempt)[0]


def remove_member(ctl: Etcdctl, member_id: int) -> None:
    """``member remove``; a member already gone (removed by itself or another hook) is
    what was wanted."""

    def remove() -> None:
        try:
            ctl.member_remove(member_id)
        except EtcdctlError as e:
            if not e.mentions("member not found"):
                raise

    reconfigure(f"remove member {member_id:x}", remove, idempotent=True)


def raft_leader(ctx: Ctx) -> int:
    try:
        st = etcdctl(ctx).endpoint_status()
    except EtcdctlError:
        return 0
    return st[0].leader if st else 0


def hand_over_leadership(
    ctx: Ctx,
    members: MemberList,
    member_id: int,
    before: str,
    healthy: frozenset[int] | None = None,
    via: Etcdctl | None = None,
) -> None:
    """If member ``member_id`` leads raft, move leadership to another voter (a healthy one
    when health is known) before it stops: restarts, upgrades, removals, migrations
    (``via``: the etcdctl that reaches the member, when not the snap's)."""
    if via is not None:
        try:
            leader = via.endpoint_status()[0].leader
        except (EtcdctlError, IndexError):
            leader = 0
    else:
        leader = raft_leader(ctx)
    if leader != member_id:
        return
    target = P.transfer_target(members, member_id, healthy)
    member = members.by_id(member_id)
    if not target or member is None:
        return
    log(f"moving the raft leader to {target:x} before {before}")
    mover = via or client(list(member.client_urls) or [local_url(ctx.settings)])
    try:
        mover.move_leader(target)
    except EtcdctlError as e:
        # only an optimisation: etcd elects a new leader by itself (one election timeout)
        log(f"could not move the raft leader: {e.detail}", hookenv.WARNING)

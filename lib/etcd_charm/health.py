"""The status at the end of a reconcile: what this unit waits for, or the cluster's health
as this unit's member sees it (one etcdctl), the upgrade's progress; and the opened port."""

from __future__ import annotations

import time
from typing import Any

from charmhelpers.core import hookenv

from . import check_etcd, tls, workload
from . import plan as P
from . import quiet as Q
from . import status as S
from .cluster import refresh_members
from .context import Ctx, Hook, local_url
from .etcd_json import MemberList
from .nagios_collect import Seen
from .settings import Settings


def final_status(
    ctx: Ctx,
    obs: P.Observed,
    certs: Any,
    material: tls.Material | None,
    available: str = "",
    always: str = "",
) -> Seen:
    """The unit's status at the end of a reconcile; ``available`` (the leader: a newer
    revision the refresh action would take; a relation that cannot be served) is added to a
    healthy one, ``always`` (a restore's quarantine: :func:`quarantine.note`) to any. What it
    saw of this unit's member (the Nagios collector reuses it)."""
    hook, settings = ctx.hook, ctx.settings
    version = workload.installed_version()
    if version:
        hookenv.application_version_set(version)
    if not obs.started:
        if certs is None or not certs.is_joined:
            hook.set_status(S.MISSING_CA)
        elif material is None:
            hook.set_status(S.WAITING_CERTS)
        else:
            step = P.unit_step(obs, "", "", False)
            reason = step.reason if isinstance(step, P.Wait) else "Waiting to join the cluster"
            if obs.is_leader:
                lstep = P.leader_step(obs)
                if isinstance(lstep, P.Wait):
                    reason = lstep.reason
            hook.set_status(S.waiting(reason))
        return Seen(started=False, reason=hook.status.message if hook.status else "")
    open_ports(hook, [settings.port] + ([settings.metrics_port] if settings.metrics_port else []))
    if obs.me.restart_request:
        hook.set_status(S.waiting("Waiting for a turn to restart with the new configuration"))
        return Seen(started=True)
    members = obs.members
    if members is None:  # no member list (no quorum?): the last one says who to count
        members = hook.record.last_members()
    status, error, up, reached = answers(settings, members, obs.me.member_id)
    if status is not None and members is not None and status.raft_term != members.raft_term:
        # the raft term moved since the member list was taken: take a fresh one
        refreshed = refresh_members(ctx, obs)
        members = refreshed.members or members
    verdict = S.health(status, error, members, obs.me.member_id, up, reached)
    pure = verdict
    if hook.blocked and status is not None:  # more telling than a member being down
        verdict = S.Status("blocked", hook.blocked)
    if obs.me.upgrade_error:
        verdict = S.upgrade_failed(P.upgrade_goal(obs), obs.me.upgrade_error)
    elif (
        P.upgrade_in_flight(obs)
        and not hook.blocked
        and status is not None
        and members is not None
    ):
        down = S.down_voters(members, up, obs.me.member_id)
        if down:  # whichever member it is, the upgrade waits for it
            verdict = S.upgrade_paused(P.upgrade_goal(obs), down)
        elif verdict.state == "active" and obs.leader.upgrade_grant:
            progress = P.current_progress(obs)
            verdict = S.upgrade_in_progress(
                verdict, progress.position, progress.total, P.upgrade_goal(obs)
            )
    notes = [n for n in (available, *certificate_notes(material, time.time())) if n]
    if notes and verdict.state == "active":
        verdict = S.Status("active", "; ".join([verdict.message, *notes]))
    if always:  # whatever else the status says (a restore's quarantine)
        verdict = S.Status(verdict.state, f"{verdict.message}; {always}")
    hook.set_status(verdict)
    if status is not None and members is not None and verdict.state == pure.state == "active":
        if not (hook.blocked or always or obs.me.upgrade_error or busy(obs)):
            endpoints = (local_url(settings), *voter_urls(members, obs.me.member_id))
            hook.record.quiet = Q.Quiet(time.time(), pure.message, status.raft_term,
                                        obs.me.member_id, endpoints).to_json()  # fmt: skip
    return Seen(started=True, asked=True, status=status, error=error)


def busy(obs: P.Observed) -> bool:
    """Whether anything is in flight that a later hook must carry on (then update-status
    reconciles in full, not :mod:`quiet`'s one round trip)."""
    ld = obs.leader
    return bool(
        ld.joining
        or ld.restart_grant
        or ld.upgrade_grant
        or ld.quarantine
        or ld.refresh is not None
        or P.upgrade_in_flight(obs)
        or P.needs_health(obs)
        or obs.me.restart_request
        or any(p.restart_request for p in obs.peers)
    )


def voter_urls(members: MemberList | None, my_id: int) -> list[str]:
    """The client URLs of the other voters (what :func:`answers` asks besides this member)."""
    return sorted(
        {u for m in (members.voters if members else ()) if m.id != my_id for u in m.client_urls}
    )


def certificate_notes(material: tls.Material | None, now: float) -> list[str]:
    """The notes a healthy status carries about the placed server and client certificates
    (:func:`status.certificate_note`); an unreadable one is left to the CA relation."""
    if material is None:
        return []
    notes = []
    for which, pem in (("server", material.server_cert), ("client", material.client_cert)):
        try:
            not_after: float | None = check_etcd.cert_not_after(pem)
        except ValueError:
            not_after = None
        notes.append(S.certificate_note(which, not_after, now))
    return [n for n in notes if n]


def answers(settings: Settings, members: MemberList | None, my_id: int) -> Q.Answers:
    """One etcdctl: the local member's status (or why there is none), which voters answer
    without errors and which answer at all (with "no leader", say)."""
    return Q.answers(local_url(settings), voter_urls(members, my_id))


def show_health(hook: Hook, settings: Settings, members: MemberList, my_id: int) -> S.Status:
    """Set the health verdict as the status (after an action changed this member)."""
    status, error, up, reached = answers(settings, members, my_id)
    verdict = S.health(status, error, members, my_id, up, reached)
    hook.set_status(verdict)
    return verdict


def open_ports(hook: Hook, ports: list[int]) -> None:
    """Open the client port (and the metrics listener's), close the ones no longer used."""
    previous = hook.record.opened_ports
    if previous == ports:
        return
    for port in previous:
        if port not in ports:
            hookenv.close_port(port)
    for port in ports:
        if port not in previous:
            hookenv.open_port(port)
    hook.record.opened_ports = ports

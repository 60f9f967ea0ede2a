"""Pure decisions: observed state (:mod:`.state`) -> the next step. Nothing here sleeps or
touches the system: the shell observes, calls :func:`leader_step` / :func:`unit_step`, performs
the step, observes again (a step that changes leader data is seen by the next call at once).

The Juju leader decides every membership change, one at a time; units act on what it decided.
The keys they coordinate through are listed in :data:`.state.PROTOCOL`; the safety rules asked
before a member is removed, stopped or upgraded are in :mod:`.quorum`.

:func:`leader_step`, the first rule that applies wins:

  before the cluster exists (no leader data ``bootstrapped``), :func:`founding_step`:
    founders recorded for the current token (by an earlier revision, which recorded
    ``bootstrapped`` later) -> Bootstrap this unit if it is one, has its certificates and
    has not started / Bootstrapped once a founder runs / Wait -> units of the application
    without a peer URL published, for at most FOUNDING_WAIT -> Wait -> Found (every unit
    with a peer URL at once: one static initial cluster, recorded with ``bootstrapped`` in
    one write; each founder starts once it has its certificates);
  then:
    0. this unit a founder that has not started, with its certificates -> Bootstrap
    1. no member answers -> Wait
    2. a learner in ``joining``: no longer a learner -> ClearJoining / its unit gone or
       departing -> RemoveStaleLearner / its unit started as it -> Promote / else Wait
    3. a learner nobody recorded, matching a unit's peer URL -> RecordJoining
    4. (health known) a member of no unit, or of a dying unit whose etcd is down, that
       quorum.is_ready_to_remove_voter allows -> RemoveMember (one it refuses: Blocked, kept
       for rule 10)
    5. a ``restart-grant``: its unit gone or no longer asking -> ClearRestartGrant / Wait
    6. an ``upgrade-grant``: its unit gone, failed or on the target -> ClearUpgradeGrant / Wait
    7. a ready unit (it publishes ``ready``: no founder, with its certificates), not
       departing, with no member -> AddLearner (lowest unit number first)
       -> a restore's ``quarantine``, every unit's member a healthy voter -> LiftQuarantine
    8. units not on the target (the channel; the revision of an in-track refresh): one
       failed -> Blocked / health unknown -> Wait / not quorum.is_ready_to_upgrade_next ->
       Blocked (paused) / else GrantUpgrade (the first); none, and a ``refresh-target``
       recorded -> ClearRefresh
    9. a started unit asking to restart -> GrantRestart (lowest unit number first)
   10. the problem rule 4 kept (Blocked), else None.

:func:`unit_step`, what a unit does for itself:

  not started: ``joining`` names it -> StartJoining / the current ``founders`` list it and it
  is ready -> StartFounding / else Wait -> granted its upgrade (``upgrade-grant``), not on the
  target (channel, refresh revision) and no upgrade error -> Upgrade -> its configuration unchanged -> None ->
  not granted a restart (``restart-grant``) -> Wait -> Restart.

A joining unit starts as a learner and is promoted once it runs; restarts and upgrades are
granted one unit at a time and never while a learner joins (rules 2-3 come first).
"""

from __future__ import annotations

from . import status as S
from .etcd_json import initial_cluster
from .quarantine import ready_to_lift
from .quorum import (
    REMEDY,
    is_ready_to_remove_voter,
    is_ready_to_upgrade_next,
    label,
    removal_refusal,
    unhealthy_voters,
)
from .quorum import can_stop_member as can_stop_member
from .quorum import quorum as quorum
from .quorum import stop_refusal as stop_refusal
from .quorum import transfer_target as transfer_target
from .rollout import active_refresh as active_refresh
from .rollout import current_progress as current_progress
from .rollout import next_progress as next_progress
from .rollout import on_target as on_target
from .rollout import upgrade_error_stale as upgrade_error_stale
from .rollout import upgrade_goal as upgrade_goal
from .rollout import upgrade_in_flight as upgrade_in_flight
from .rollout import upgrade_pending as upgrade_pending
from .state import ClientView as ClientView
from .state import Founders as Founders
from .state import (
    Joining,
    LeaderData,
    Observed,
    departing,
    dying_members,
    founding_pending,
    orphan_members,
    ready_to_found,
    unit_number,
)
from .state import Progress as Progress
from .state import Refresh as Refresh
from .state import UnitInfo as UnitInfo
from .state import announced as announced
from .state import client_view as client_view
from .state import founding_start as founding_start
from .state import is_founder as is_founder
from .steps import AddLearner as AddLearner
from .steps import Blocked as Blocked
from .steps import Bootstrap as Bootstrap
from .steps import Bootstrapped as Bootstrapped
from .steps import ClearJoining as ClearJoining
from .steps import ClearRefresh as ClearRefresh
from .steps import ClearRestartGrant as ClearRestartGrant
from .steps import ClearUpgradeGrant as ClearUpgradeGrant
from .steps import Found as Found
from .steps import GrantRestart as GrantRestart
from .steps import GrantUpgrade as GrantUpgrade
from .steps import LeaderStep as LeaderStep
from .steps import LiftQuarantine as LiftQuarantine
from .steps import Promote as Promote
from .steps import RecordJoining as RecordJoining
from .steps import RemoveMember as RemoveMember
from .steps import RemoveStaleLearner as RemoveStaleLearner
from .steps import Restart as Restart
from .steps import StartFounding as StartFounding
from .steps import StartJoining as StartJoining
from .steps import UnitStep as UnitStep
from .steps import Upgrade as Upgrade
from .steps import Wait as Wait

#: how long the leader waits for units of the application that are not ready yet before it
#: founds the cluster with those that are (the others join later as learners)
FOUNDING_WAIT = 180.0


def leader_step(obs: Observed) -> LeaderStep:
    """The next membership step the Juju leader takes (None: nothing to do)."""
    ld = obs.leader
    if not ld.bootstrapped:
        return founding_step(obs)
    starting = founding_start(obs)
    if starting is not None:  # the leader starts its founding member here, then goes on
        return Bootstrap(starting)
    members = obs.members
    if members is None:
        return Wait("no etcd member answers; cannot change membership")

    joining = ld.joining
    if joining is not None:
        member = members.by_id(joining.member_id)
        if member is None or not member.is_learner:
            return ClearJoining()  # promoted already, or removed by someone else
        unit = obs.unit(joining.unit)
        if unit is None or departing(obs, joining.unit):
            return RemoveStaleLearner(joining)  # the unit left (or is leaving) before it joined
        if unit.member_id == joining.member_id:
            return Promote(joining)
        return Wait(f"waiting for {joining.unit} to start as a learner")

    # a learner nobody recorded (the hook that added it failed after the add)
    for learner in members.learners:
        unit = next(
            (u for u in obs.all_units() if u.peer_url and u.peer_url in learner.peer_urls), None
        )
        if unit is not None:
            return RecordJoining(
                Joining(
                    unit=unit.unit,
                    name=unit.name,
                    member_id=learner.id,
                    peer_url=unit.peer_url,
                    initial_cluster=initial_cluster(members.members, unit.name, learner.id),
                )
            )

    # members of units that are gone or leaving dead, and units that cannot leave
    problem: Blocked | None = None
    if obs.healthy is not None:
        healthy = obs.healthy
        for member in orphan_members(obs):
            if is_ready_to_remove_voter(members, healthy, member.id):
                return RemoveMember(member, "it belongs to no unit of the application")
            problem = problem or Blocked(
                f"Member {label(member)} belongs to no unit and cannot be removed: "
                f"{removal_refusal(members, healthy, member.id)}; {REMEDY}"
            )
        leaving = dying_members(obs)
        for unit_name in sorted(leaving, key=unit_number):
            member = leaving[unit_name]
            if not is_ready_to_remove_voter(members, healthy, member.id):
                problem = problem or Blocked(
                    f"{unit_name} cannot leave the cluster: "
                    f"{removal_refusal(members, healthy, member.id)}; {REMEDY}"
                )
            elif member.id not in healthy:
                # a unit being removed whose etcd is down never removes its own member
                return RemoveMember(member, f"{unit_name} is being removed and its etcd is down")

    # grant and clear restarts (one unit at a time, never during a join)
    if ld.restart_grant:
        granted = obs.unit(ld.restart_grant)
        if granted is None or not granted.restart_request:
            return ClearRestartGrant()
        return Wait(f"{ld.restart_grant} is restarting with the new configuration")

    # a rolling upgrade in flight: one unit at a time
    target = upgrade_goal(obs)
    if ld.upgrade_grant:
        granted = obs.unit(ld.upgrade_grant)
        if granted is None or granted.upgrade_error or not target or on_target(obs, granted):
            return ClearUpgradeGrant()
        progress = current_progress(obs)
        return Wait(S.upgrading_unit(progress.position, progress.total, target, granted.unit))

    for unit in obs.all_units():
        if not unit.ready or not unit.peer_url or departing(obs, unit.unit):
            continue
        if members.by_name(unit.name) or members.by_peer_url(unit.peer_url):
            continue
        return AddLearner(unit)

    if ready_to_lift(obs):
        return LiftQuarantine()

    pending = upgrade_pending(obs)
    if pending:
        failed = next((u for u in obs.all_units() if u.upgrade_error), None)
        if failed is not None:
            again = "set channel again" if obs.target_channel else "run the refresh action again"
            return Blocked(
                f"Upgrade to {target} stopped: {failed.unit}: {failed.upgrade_error}; "
                f"fix the cause, then {again}"
            )
        if obs.healthy is None:
            return Wait("checking the health of every member before upgrading")
        if not is_ready_to_upgrade_next(members, obs.healthy):
            down = unhealthy_voters(members, obs.healthy)
            return Blocked(S.upgrade_paused(target, down).message)
        return GrantUpgrade(pending[0].unit, next_progress(obs))
    if ld.refresh is not None:  # every unit on it, or superseded by a channel upgrade
        return ClearRefresh()

    for unit in obs.all_units():
        if unit.restart_request and unit.member_id and members.by_id(unit.member_id):
            return GrantRestart(unit.unit)
    return problem


def founding_step(obs: Observed) -> Found | Bootstrap | Bootstrapped | Wait:
    """Before the cluster exists: found it with every ready unit, start this unit's founding
    member, record that it exists."""
    founders = obs.leader.current_founders
    if founders is not None:
        if founding_start(obs) is not None:
            return Bootstrap(founders)
        if obs.started or obs.members is not None:
            return Bootstrapped(founders)
        if is_founder(obs.leader, obs.me.name):  # without its certificates yet
            return Wait("waiting for this unit's certificates to start its founding member")
        return Wait("waiting for the founding members to start")
    pending = founding_pending(obs)
    if pending and not obs.founding_expired:
        return Wait(
            f"waiting for {', '.join(pending)} to be ready to found the cluster together "
            f"(at most {FOUNDING_WAIT:.0f} s)"
        )
    return Found(",".join(f"{u.name}={u.peer_url}" for u in ready_to_found(obs)))


def needs_health(obs: Observed) -> bool:
    """Whether the leader must know each member's health to decide (orphans, departures,
    the next step of an upgrade)."""
    return bool(
        orphan_members(obs) or dying_members(obs) or upgrade_pending(obs) or obs.leader.quarantine
    )


def must_rejoin(
    leader: LeaderData, started: bool, my_token: str, unit: str = "", member_id: int = 0
) -> bool:
    """Whether this unit's member belongs to a cluster a restore replaced, or was removed
    from the cluster (the leader added this unit again, as a learner with another id: it
    does that only when the member list has no member of this unit's name or peer URL, as
    after a restore that removed the other members and then failed). The unit then
    discards its data and joins as a new member."""
    if not started:
        return False
    if leader.restored and my_token != leader.restored:
        return True
    joining = leader.joining
    return (
        bool(unit)
        and joining is not None
        and joining.unit == unit
        and (joining.member_id != member_id)
    )


def unit_step(
    obs: Observed, desired_hash: str, applied_hash: str, peer_url_changed: bool
) -> UnitStep:
    """What this unit does for itself: start as the learner the leader added, or restart."""
    ld = obs.leader
    if not obs.started:
        if ld.joining is not None and ld.joining.unit == obs.me.unit:
            return StartJoining(ld.joining)
        founders = founding_start(obs)
        if founders is not None:
            return StartFounding(founders)
        if not ld.bootstrapped:
            return Wait("Waiting for the leader to bootstrap the cluster")
        return Wait("Waiting to join the cluster")
    if (
        ld.upgrade_grant == obs.me.unit
        and upgrade_goal(obs)
        and not on_target(obs, obs.me)
        and not obs.me.upgrade_error
    ):
        progress = current_progress(obs)
        refresh = active_refresh(obs)
        channel = obs.target_channel or obs.me.channel
        part = refresh if refresh is not None and refresh.channel == channel else None
        return Upgrade(
            channel,
            progress.position,
            progress.total,
            part.revision if part else "",
            part.to_json() if part else "",
        )
    if desired_hash == applied_hash:
        return None
    if ld.restart_grant != obs.me.unit:
        return Wait("Waiting for a turn to restart with the new configuration")
    return Restart(desired_hash, peer_url_changed)

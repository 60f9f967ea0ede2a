"""Pure decisions: observed state -> the next step.

The Juju leader decides every membership change, one at a time. It founds the cluster with
every unit Juju means the application to have that is ready (certificates in place), all at
once (leader data ``founders``: one static initial cluster, as etcd's own clustering guide
does it); it waits for units still coming up for at most :data:`FOUNDING_WAIT` seconds.
Every unit that comes later joins as a learner (recorded in leader data as ``joining``), is
promoted once it has started and caught up; restarts are granted one unit at a time. Units act on
what the leader decided. Nothing here sleeps or touches the system: the shell observes, calls
:func:`leader_step` / :func:`unit_step`, performs the step, observes again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import status as S
from .etcd_conf import member_name
from .etcdctl import Member, MemberList, initial_cluster
from .quorum import quorum


def unit_number(unit: str) -> int:
    m = re.search(r"/(\d+)$", unit)
    return int(m.group(1)) if m else 0


@dataclass(frozen=True)
class UnitInfo:
    """What a unit publishes on the peer relation (and what we know of ourselves)."""

    unit: str
    name: str  # etcd member name
    peer_url: str = ""
    client_url: str = ""
    ready: bool = False  # certificates in place, config valid, snap installed: can join
    member_id: int = 0  # set once its etcd has started as a member (hex on the wire)
    restart_request: str = ""  # hash of the config it wants to restart into
    version: str = ""  # installed etcd version
    channel: str = ""  # the snap channel it tracks
    upgrade_error: str = ""  # why its upgrade to the target channel failed

    def to_relation(self) -> dict[str, str]:
        return {
            "version": self.version,
            "channel": self.channel,
            "upgrade-error": self.upgrade_error,
            "member-name": self.name,
            "peer-url": self.peer_url,
            "client-url": self.client_url,
            "ready": "true" if self.ready else "",
            "member-id": f"{self.member_id:x}" if self.member_id else "",
            "restart-request": self.restart_request,
        }

    @classmethod
    def from_relation(cls, unit: str, data: dict[str, str | None]) -> UnitInfo:
        def get(key: str) -> str:
            return str(data.get(key) or "")

        member_id = get("member-id")
        return cls(
            unit=unit,
            name=get("member-name") or member_name(unit),
            peer_url=get("peer-url"),
            client_url=get("client-url"),
            ready=get("ready") == "true",
            member_id=int(member_id, 16) if re.fullmatch(r"[0-9a-f]+", member_id) else 0,
            restart_request=get("restart-request"),
            version=get("version"),
            channel=get("channel"),
            upgrade_error=get("upgrade-error"),
        )


@dataclass(frozen=True)
class Joining:
    """A learner the leader added and has not promoted yet (leader data key ``joining``)."""

    unit: str
    name: str
    member_id: int
    peer_url: str
    initial_cluster: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "unit": self.unit,
                "name": self.name,
                "member-id": f"{self.member_id:x}",
                "peer-url": self.peer_url,
                "initial-cluster": self.initial_cluster,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Joining | None:
        if not text:
            return None
        try:
            d = json.loads(text)
            return cls(
                unit=d["unit"],
                name=d["name"],
                member_id=int(d["member-id"], 16),
                peer_url=d["peer-url"],
                initial_cluster=d["initial-cluster"],
            )
        except (ValueError, KeyError, TypeError):
            return None


#: how long the leader waits for units of the application that are not ready yet before it
#: founds the cluster with those that are (the others join later as learners)
FOUNDING_WAIT = 180.0


@dataclass(frozen=True)
class Founders:
    """The members the cluster is founded with (leader data ``founders``): each of them starts
    with this initial cluster, state "new", and the cluster token it was founded for."""

    token: str
    initial_cluster: str  # name=peer-url,...

    @property
    def names(self) -> frozenset[str]:
        return frozenset(x.split("=", 1)[0] for x in self.initial_cluster.split(",") if x)

    def to_json(self) -> str:
        return json.dumps({"token": self.token, "initial-cluster": self.initial_cluster})

    @classmethod
    def from_json(cls, text: str | None) -> Founders | None:
        if not text:
            return None
        try:
            d = json.loads(text)
            return cls(token=str(d["token"]), initial_cluster=str(d["initial-cluster"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Progress:
    """Where a rolling upgrade is: the unit granted now is the ``position``-th of ``total``.
    The leader computes it once, when it grants the upgrade, and records it beside the grant
    (leader data ``upgrade-progress``): every unit shows the same count."""

    position: int
    total: int

    def to_str(self) -> str:
        return f"{self.position}/{self.total}"

    @classmethod
    def from_str(cls, text: str | None) -> Progress | None:
        m = re.fullmatch(r"(\d+)/(\d+)", text or "")
        return cls(int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class LeaderData:
    token: str = ""
    bootstrapped: str = ""  # member name of the founding member; set once, never cleared
    founders: Founders | None = None
    joining: Joining | None = None
    restart_grant: str = ""  # the unit allowed to restart now
    upgrade_grant: str = ""  # the unit allowed to upgrade now
    upgrade_progress: Progress | None = None  # its place in the upgrade, set with the grant
    # the token of the cluster the restore action created: members of any other cluster
    # discard their data and join this one as learners, one at a time
    restored: str = ""

    @property
    def current_founders(self) -> Founders | None:
        """The founders of the cluster that runs now (none after a restore: its new cluster
        has another token)."""
        f = self.founders
        return f if f is not None and self.token and f.token == self.token else None

    @classmethod
    def from_dict(cls, d: Mapping[str, str | None]) -> LeaderData:
        return cls(
            token=str(d.get("token") or ""),
            bootstrapped=str(d.get("bootstrapped") or ""),
            founders=Founders.from_json(d.get("founders")),
            joining=Joining.from_json(d.get("joining")),
            restart_grant=str(d.get("restart-grant") or ""),
            upgrade_grant=str(d.get("upgrade-grant") or ""),
            upgrade_progress=Progress.from_str(d.get("upgrade-progress")),
            restored=str(d.get("restored") or ""),
        )


@dataclass(frozen=True)
class Observed:
    me: UnitInfo
    is_leader: bool
    started: bool  # this unit's etcd has been started as a member (local record)
    leader: LeaderData
    peers: tuple[UnitInfo, ...] = ()  # the other units on the peer relation
    members: MemberList | None = None  # None when no member answered
    # every unit of the application Juju knows (goal-state) -> "dying" or its status; None
    # when unknown (then no member is ever taken for an orphan)
    app_units: dict[str, str] | None = None
    healthy: frozenset[int] | None = None  # members whose endpoint answered a health check
    target_channel: str = ""  # the channel every unit should track ("": keep, i.e. auto)
    # the leader has waited FOUNDING_WAIT for units that are not ready to found the cluster
    founding_expired: bool = False

    def all_units(self) -> tuple[UnitInfo, ...]:
        return tuple(sorted((self.me, *self.peers), key=lambda u: unit_number(u.unit)))

    def unit(self, name: str) -> UnitInfo | None:
        return next((u for u in self.all_units() if u.unit == name), None)


# --- steps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    """Nothing to do now; the reason is shown in status (the next event re-plans)."""

    reason: str


@dataclass(frozen=True)
class Found:
    """Record the founders: these members (the ready units) start together."""

    initial_cluster: str


@dataclass(frozen=True)
class Bootstrap:
    """Start this unit's member as one of the founders."""

    founders: Founders


@dataclass(frozen=True)
class Bootstrapped:
    """A founding member runs: record that the cluster these founders made exists."""

    founders: Founders


@dataclass(frozen=True)
class AddLearner:
    unit: UnitInfo


@dataclass(frozen=True)
class RecordJoining:
    """A learner is a member already (an earlier hook added it) but leader data lost it."""

    joining: Joining


@dataclass(frozen=True)
class Promote:
    joining: Joining


@dataclass(frozen=True)
class ClearJoining:
    pass


@dataclass(frozen=True)
class RemoveStaleLearner:
    joining: Joining


@dataclass(frozen=True)
class RemoveMember:
    """A member no unit will remove itself: one that matches no unit of the application (its
    unit was removed while its machine was down, or it was added by hand), or the member of a
    unit being removed whose etcd is down. Removed when that keeps quorum."""

    member: Member
    reason: str


@dataclass(frozen=True)
class Blocked:
    """Something only the operator can resolve (shown as a blocked status)."""

    reason: str


@dataclass(frozen=True)
class GrantRestart:
    unit: str


@dataclass(frozen=True)
class ClearRestartGrant:
    pass


@dataclass(frozen=True)
class GrantUpgrade:
    unit: str
    progress: Progress


@dataclass(frozen=True)
class ClearUpgradeGrant:
    pass


@dataclass(frozen=True)
class Upgrade:
    """Refresh this unit's etcd to ``channel`` (a snapshot first)."""

    channel: str
    position: int  # this unit is the position-th of total to upgrade
    total: int


@dataclass(frozen=True)
class StartJoining:
    joining: Joining


@dataclass(frozen=True)
class StartFounding:
    """Start this unit's member as one of the founders the leader recorded."""

    founders: Founders


@dataclass(frozen=True)
class Restart:
    conf_hash: str
    peer_url_changed: bool = False


LeaderStep = (
    Wait
    | Found
    | Bootstrap
    | Bootstrapped
    | AddLearner
    | RecordJoining
    | Promote
    | ClearJoining
    | RemoveStaleLearner
    | RemoveMember
    | Blocked
    | GrantRestart
    | ClearRestartGrant
    | GrantUpgrade
    | ClearUpgradeGrant
    | None
)
UnitStep = StartJoining | StartFounding | Upgrade | Restart | Wait | None


def leader_step(obs: Observed) -> LeaderStep:
    """The next membership step the Juju leader takes (None: nothing to do)."""
    ld = obs.leader
    if not ld.bootstrapped:
        return founding_step(obs)
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
            refusal = removal_refusal(members, healthy, member.id)
            if not refusal:
                return RemoveMember(member, "it belongs to no unit of the application")
            problem = problem or Blocked(
                f"Member {label(member)} belongs to no unit and cannot be removed: "
                f"{refusal}; {REMEDY}"
            )
        leaving = dying_members(obs)
        for unit_name in sorted(leaving, key=unit_number):
            member = leaving[unit_name]
            refusal = removal_refusal(members, healthy, member.id)
            if not refusal and member.id not in healthy:
                # a unit being removed whose etcd is down never removes its own member
                return RemoveMember(member, f"{unit_name} is being removed and its etcd is down")
            if refusal:
                problem = problem or Blocked(
                    f"{unit_name} cannot leave the cluster: {refusal}; {REMEDY}"
                )

    # grant and clear restarts (one unit at a time, never during a join)
    if ld.restart_grant:
        granted = obs.unit(ld.restart_grant)
        if granted is None or not granted.restart_request:
            return ClearRestartGrant()
        return Wait(f"{ld.restart_grant} is restarting with the new configuration")

    # a rolling upgrade in flight: one unit at a time
    target = obs.target_channel
    if ld.upgrade_grant:
        granted = obs.unit(ld.upgrade_grant)
        if granted is None or granted.upgrade_error or granted.channel == target or not target:
            return ClearUpgradeGrant()
        progress = current_progress(obs)
        return Wait(S.upgrading_unit(progress.position, progress.total, target, granted.unit))

    for unit in obs.all_units():
        if not unit.ready or not unit.peer_url or departing(obs, unit.unit):
            continue
        if members.by_name(unit.name) or members.by_peer_url(unit.peer_url):
            continue
        return AddLearner(unit)

    pending = upgrade_pending(obs)
    if pending:
        failed = next((u for u in obs.all_units() if u.upgrade_error), None)
        if failed is not None:
            return Blocked(
                f"Upgrade to {target} stopped: {failed.unit}: {failed.upgrade_error}; "
                "fix the cause, then set channel again"
            )
        if obs.healthy is None:
            return Wait("checking the health of every member before upgrading")
        down = [m.name or m.hex_id for m in members.voters if m.id not in obs.healthy]
        if down or members.learners:
            return Blocked(S.upgrade_paused(target, down).message)
        return GrantUpgrade(pending[0].unit, next_progress(obs))

    for unit in obs.all_units():
        if unit.restart_request and unit.member_id and members.by_id(unit.member_id):
            return GrantRestart(unit.unit)
    return problem


def founding_step(obs: Observed) -> Found | Bootstrap | Bootstrapped | Wait:
    """Before the cluster exists: found it with every ready unit, start this unit's founding
    member, record that it exists."""
    founders = obs.leader.current_founders
    if founders is not None:
        if not obs.started and obs.me.name in founders.names:
            return Bootstrap(founders)
        if obs.started or obs.members is not None:
            return Bootstrapped(founders)
        return Wait("waiting for the founding members to start")
    if not obs.me.ready:
        return Wait("waiting for this unit's certificates to bootstrap the cluster")
    pending = founding_pending(obs)
    if pending and not obs.founding_expired:
        return Wait(
            f"waiting for {', '.join(pending)} to be ready to found the cluster together "
            f"(at most {FOUNDING_WAIT:.0f} s)"
        )
    return Found(",".join(f"{u.name}={u.peer_url}" for u in ready_to_found(obs)))


def departing(obs: Observed, unit: str) -> bool:
    """Whether Juju is removing ``unit``: its goal state says dying, or no longer lists it
    (the peer relation still does until the unit's departed hook has run here). A departing
    unit is never made a member: it removes its own member, and a learner added for it would
    be left behind. Without a goal state, nobody is taken for departing."""
    if obs.app_units is None:
        return False
    state = obs.app_units.get(unit)
    return state is None or state == "dying"


def ready_to_found(obs: Observed) -> list[UnitInfo]:
    """Units on the peer relation with their certificates, not departing: the founders."""
    return [u for u in obs.all_units() if u.ready and u.peer_url and not departing(obs, u.unit)]


def founding_pending(obs: Observed) -> list[str]:
    """Units of the application (Juju's goal state) that are not ready to found the cluster:
    not on the peer relation yet, or without their certificates. Dying units are not awaited;
    without a goal state, nobody is."""
    if obs.app_units is None:
        return []
    ready = {u.unit for u in ready_to_found(obs)}
    return sorted(
        (u for u, state in obs.app_units.items() if state != "dying" and u not in ready),
        key=unit_number,
    )


REMEDY = "start the stopped members again, or remove their units (juju remove-unit --force)"


def label(member: Member) -> str:
    return f"{member.name} ({member.hex_id})" if member.name else member.hex_id


def removal_refusal(members: MemberList, healthy: frozenset[int], member_id: int) -> str:
    """Why removing member ``member_id`` would break the quorum of the members that remain
    ("" when it would not). Learners never count; removing the last voter leaves no cluster
    to protect."""
    member = members.by_id(member_id)
    if member is None or member.is_learner:
        return ""
    remaining = [m for m in members.voters if m.id != member_id]
    if not remaining:
        return ""
    need = quorum(len(remaining))
    short = _short_of(remaining, healthy, need)
    if short is None:
        return ""
    up, down = short
    return (
        f"without {member.name or member.hex_id}, {up} of the {len(remaining)} remaining "
        f"members would be healthy and quorum needs {need} (down: {down})"
    )


def _short_of(others: list[Member], healthy: frozenset[int], need: int) -> tuple[int, str] | None:
    """(how many of ``others`` are healthy, the names of the rest) when fewer than ``need``
    are; None when enough are."""
    up = sum(1 for m in others if m.id in healthy)
    if up >= need:
        return None
    return up, ", ".join(sorted(label(m) for m in others if m.id not in healthy))


def stop_refusal(members: MemberList, healthy: frozenset[int], member_id: int) -> str:
    """Why stopping member ``member_id`` for a while (a migration) would lose quorum ("" when
    it would not): the other healthy voters must make a quorum of all voters. A cluster of
    one member has no other: it is down for the switch, which is allowed."""
    voters = members.voters
    if len(voters) <= 1:
        return ""
    need = quorum(len(voters))
    short = _short_of([m for m in voters if m.id != member_id], healthy, need)
    if short is None:
        return ""
    up, down = short
    return (
        f"stopping {label(members.by_id(member_id) or voters[0])} now would lose quorum: "
        f"{up} other member(s) of {len(voters)} healthy and quorum needs {need} "
        f"(not answering: {down or 'none'}); migrate it once every member is healthy"
    )


def _matches(member: Member, unit: UnitInfo) -> bool:
    return (bool(member.name) and member.name == unit.name) or (
        bool(unit.peer_url) and unit.peer_url in member.peer_urls
    )


def orphan_members(obs: Observed) -> tuple[Member, ...]:
    """Members that match no unit of the application (Juju's goal state, which still lists
    dying units: a unit that is leaving removes its own member) nor any peer."""
    if obs.members is None or obs.app_units is None:
        return ()
    names = {member_name(u) for u in obs.app_units}
    joining = obs.leader.joining.member_id if obs.leader.joining else 0
    return tuple(
        m
        for m in obs.members.members
        if m.id != joining
        and not (m.name and m.name in names)
        and not any(_matches(m, u) for u in obs.all_units())
    )


def dying_members(obs: Observed) -> dict[str, Member]:
    """Units Juju is removing whose member is still in the cluster."""
    if obs.members is None or not obs.app_units:
        return {}
    out = {}
    for unit, state in obs.app_units.items():
        if state != "dying":
            continue
        member = obs.members.by_name(member_name(unit))
        if member is not None:
            out[unit] = member
    return out


def needs_health(obs: Observed) -> bool:
    """Whether the leader must know each member's health to decide (orphans, departures,
    the next step of an upgrade)."""
    return bool(orphan_members(obs) or dying_members(obs) or upgrade_pending(obs))


def upgrade_pending(obs: Observed) -> list[UnitInfo]:
    """Started units that do not track the target channel yet, in upgrade order."""
    if not obs.target_channel:
        return []
    return [
        u for u in obs.all_units() if u.member_id and u.channel and u.channel != obs.target_channel
    ]


def upgrade_in_flight(obs: Observed) -> bool:
    """Whether a rolling upgrade is under way: a target channel that some started unit does
    not track yet, or a unit granted its upgrade now."""
    return bool(obs.target_channel) and (
        bool(upgrade_pending(obs)) or bool(obs.leader.upgrade_grant)
    )


def next_progress(obs: Observed) -> Progress:
    """The place of the next unit to upgrade (the leader, when it grants): one more than the
    started units that track the target channel already."""
    started = [u for u in obs.all_units() if u.member_id]
    done = sum(1 for u in started if u.channel == obs.target_channel)
    return Progress(min(done + 1, len(started)), len(started))


def current_progress(obs: Observed) -> Progress:
    """The place of the unit upgrading now, as the leader recorded it with the grant (a grant
    recorded without it, by an earlier version of the charm, is counted here)."""
    return obs.leader.upgrade_progress or next_progress(obs)


def must_rejoin(leader: LeaderData, started: bool, my_token: str) -> bool:
    """Whether this unit's member belongs to a cluster a restore replaced: it then discards
    its data and joins the restored cluster as a new member."""
    return started and bool(leader.restored) and my_token != leader.restored


def unit_step(
    obs: Observed, desired_hash: str, applied_hash: str, peer_url_changed: bool
) -> UnitStep:
    """What this unit does for itself: start as the learner the leader added, or restart."""
    ld = obs.leader
    if not obs.started:
        if ld.joining is not None and ld.joining.unit == obs.me.unit:
            return StartJoining(ld.joining)
        founders = ld.current_founders
        if founders is not None and obs.me.name in founders.names and obs.me.ready:
            return StartFounding(founders)
        if not ld.bootstrapped:
            return Wait("Waiting for the leader to bootstrap the cluster")
        return Wait("Waiting to join the cluster")
    if (
        ld.upgrade_grant == obs.me.unit
        and obs.target_channel
        and obs.me.channel != obs.target_channel
        and not obs.me.upgrade_error
    ):
        progress = current_progress(obs)
        return Upgrade(obs.target_channel, progress.position, progress.total)
    if desired_hash == applied_hash:
        return None
    if ld.restart_grant != obs.me.unit:
        return Wait("Waiting for a turn to restart with the new configuration")
    return Restart(desired_hash, peer_url_changed)


def transfer_target(members: MemberList, my_id: int, healthy: frozenset[int] | None = None) -> int:
    """The voter raft leadership moves to before member ``my_id`` stops (0: no other voter):
    a healthy one when health is known."""
    others = [m for m in members.voters if m.id != my_id and m.started]
    if healthy is not None:
        others = [m for m in others if m.id in healthy] or others
    return min(others, key=lambda m: m.name).id if others else 0


@dataclass(frozen=True)
class ClientView:
    connection_string: str
    cluster: str  # etcd-proxy: name=peer-urls of every started member


def client_view(members: MemberList) -> ClientView:
    """What db and proxy clients are told: every voting member's client URL, sorted."""
    urls = sorted({u for m in members.voters for u in m.client_urls})
    cluster = ",".join(
        f"{m.name}={u}"
        for m in sorted(members.members, key=lambda m: m.name)
        if m.name
        for u in m.peer_urls
    )
    return ClientView(",".join(urls), cluster)

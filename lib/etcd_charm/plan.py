"""Pure decisions: observed state -> the next step.

The Juju leader decides every membership change, one at a time: it bootstraps a one-member
cluster, adds each other unit as a learner (recorded in leader data as ``joining``), promotes
it once it has started and caught up, and grants restarts one unit at a time. Units act on
what the leader decided. Nothing here sleeps or touches the system: the shell observes, calls
:func:`leader_step` / :func:`unit_step`, performs the step, observes again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .etcdctl import MemberList, initial_cluster


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

    def to_relation(self) -> dict[str, str]:
        return {
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
            name=get("member-name") or unit.replace("/", ""),
            peer_url=get("peer-url"),
            client_url=get("client-url"),
            ready=get("ready") == "true",
            member_id=int(member_id, 16) if re.fullmatch(r"[0-9a-f]+", member_id) else 0,
            restart_request=get("restart-request"),
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


@dataclass(frozen=True)
class LeaderData:
    token: str = ""
    bootstrapped: str = ""  # member name of the founding member; set once, never cleared
    joining: Joining | None = None
    restart_grant: str = ""  # the unit allowed to restart now

    @classmethod
    def from_dict(cls, d: dict[str, str | None]) -> LeaderData:
        return cls(
            token=str(d.get("token") or ""),
            bootstrapped=str(d.get("bootstrapped") or ""),
            joining=Joining.from_json(d.get("joining")),
            restart_grant=str(d.get("restart-grant") or ""),
        )


@dataclass(frozen=True)
class Observed:
    me: UnitInfo
    is_leader: bool
    started: bool  # this unit's etcd has been started as a member (local record)
    leader: LeaderData
    peers: tuple[UnitInfo, ...] = ()  # the other units on the peer relation
    members: MemberList | None = None  # None when no member answered
    raft_leader: int = 0  # member id of the raft leader, 0 unknown

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
class Bootstrap:
    pass


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
class GrantRestart:
    unit: str


@dataclass(frozen=True)
class ClearRestartGrant:
    pass


@dataclass(frozen=True)
class StartJoining:
    joining: Joining


@dataclass(frozen=True)
class Restart:
    conf_hash: str
    peer_url_changed: bool = False
    transfer_leadership_to: int = 0  # move the raft leader here first (0: not the leader)


LeaderStep = (
    Wait
    | Bootstrap
    | AddLearner
    | RecordJoining
    | Promote
    | ClearJoining
    | RemoveStaleLearner
    | GrantRestart
    | ClearRestartGrant
    | None
)
UnitStep = StartJoining | Restart | Wait | None


def leader_step(obs: Observed) -> LeaderStep:
    """The next membership step the Juju leader takes (None: nothing to do)."""
    ld = obs.leader
    if not ld.bootstrapped:
        if obs.me.ready:
            return Bootstrap()
        return Wait("waiting for this unit's certificates to bootstrap the cluster")
    members = obs.members
    if members is None:
        return Wait("no etcd member answers; cannot change membership")

    joining = ld.joining
    if joining is not None:
        member = members.by_id(joining.member_id)
        if member is None or not member.is_learner:
            return ClearJoining()  # promoted already, or removed by someone else
        unit = obs.unit(joining.unit)
        if unit is None:
            return RemoveStaleLearner(joining)  # the unit left before it joined
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

    # grant and clear restarts (one unit at a time, never during a join)
    if ld.restart_grant:
        granted = obs.unit(ld.restart_grant)
        if granted is None or not granted.restart_request:
            return ClearRestartGrant()
        return Wait(f"{ld.restart_grant} is restarting with the new configuration")

    for unit in obs.all_units():
        if not unit.ready or not unit.peer_url:
            continue
        if members.by_name(unit.name) or members.by_peer_url(unit.peer_url):
            continue
        return AddLearner(unit)

    for unit in obs.all_units():
        if unit.restart_request and unit.member_id and members.by_id(unit.member_id):
            return GrantRestart(unit.unit)
    return None


def unit_step(
    obs: Observed, desired_hash: str, applied_hash: str, peer_url_changed: bool
) -> UnitStep:
    """What this unit does for itself: start as the learner the leader added, or restart."""
    ld = obs.leader
    if not obs.started:
        if ld.joining is not None and ld.joining.unit == obs.me.unit:
            return StartJoining(ld.joining)
        if not ld.bootstrapped:
            return Wait("Waiting for the leader to bootstrap the cluster")
        return Wait("Waiting to join the cluster")
    if desired_hash == applied_hash:
        return None
    if ld.restart_grant != obs.me.unit:
        return Wait("Waiting for a turn to restart with the new configuration")
    target = 0
    if obs.members is not None and obs.raft_leader and obs.raft_leader == obs.me.member_id:
        target = transfer_target(obs.members, obs.me.member_id)
    return Restart(desired_hash, peer_url_changed, target)


def transfer_target(members: MemberList, my_id: int) -> int:
    """The voter raft leadership moves to before member ``my_id`` stops (0: no other voter)."""
    others = [m for m in members.voters if m.id != my_id and m.started]
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

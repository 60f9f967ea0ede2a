"""What the charm observed, as typed snapshots, and the facts derived from them. Pure.

:class:`UnitInfo` is what a unit publishes on the peer relation, :class:`LeaderData` what the
Juju leader records in leader settings (:class:`Joining`, :class:`Founders`, :class:`Progress`
are its structured values); :class:`Observed` is one hook's view of the unit, its peers, the
leader data, etcd's member list and Juju's goal state. Every key these carry, and every other
key the charm reads or writes between units and hooks, is listed in :data:`PROTOCOL` (who
writes it, who reads it, what it means, when it is cleared), kept in :mod:`.protocol` and
re-exported here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .etcd_conf import member_name
from .etcd_json import Member, MemberList
from .protocol import PROTOCOL as PROTOCOL
from .protocol import Key as Key


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
    revision: str = ""  # the installed snap revision ("516"; "x1" from a file)
    db_address: str = ""  # db-ingress-address: all that a unit of layer-etcd publishes

    def to_relation(self) -> dict[str, str]:
        return {
            "version": self.version,
            "channel": self.channel,
            "revision": self.revision,
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
            revision=get("revision"),
            db_address=get("db-ingress-address"),
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
class Refresh:
    """An in-track refresh the operator started (the refresh action; leader data
    ``refresh-target``): every started unit tracking ``channel`` moves to the store's
    ``revision`` of it (etcd ``version``), one unit at a time, as a channel upgrade does."""

    channel: str
    revision: str
    version: str
    started: str = ""  # when the operator started it (each run of the action is another)

    def to_json(self) -> str:
        return json.dumps(
            {
                "channel": self.channel,
                "revision": self.revision,
                "version": self.version,
                "started": self.started,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Refresh | None:
        if not text:
            return None
        try:
            d = json.loads(text)
            return cls(
                str(d["channel"]),
                str(d["revision"]),
                str(d.get("version") or ""),
                str(d.get("started") or ""),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def label(self) -> str:
        return f"{self.channel} revision {self.revision}" + (
            f" (etcd {self.version})" if self.version else ""
        )


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
    refresh: Refresh | None = None  # an in-track refresh the operator started
    # the token of the restored cluster while its clients are quarantined (quarantine.py)
    quarantine: str = ""

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
            refresh=Refresh.from_json(d.get("refresh-target")),
            quarantine=str(d.get("quarantine") or ""),
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


# --- facts derived from the observation ---------------------------------------------------


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
    """Units on the peer relation that published their peer URL, not departing: the
    founders. Their certificates are not awaited: each founder starts its member once it has
    them, and the cluster runs once a quorum of the founders has (:func:`announced`)."""
    return [u for u in obs.all_units() if u.peer_url and not departing(obs, u.unit)]


def founding_pending(obs: Observed) -> list[str]:
    """Units of the application (Juju's goal state) that are not ready to found the cluster:
    not on the peer relation yet, or without a peer URL published. Dying units are not
    awaited; without a goal state, nobody is."""
    if obs.app_units is None:
        return []
    ready = {u.unit for u in ready_to_found(obs)}
    return sorted(
        (u for u, state in obs.app_units.items() if state != "dying" and u not in ready),
        key=unit_number,
    )


def is_founder(leader: LeaderData, name: str) -> bool:
    """Whether member ``name`` is one of the founders of the cluster that runs now."""
    founders = leader.current_founders
    return founders is not None and name in founders.names


def founding_start(obs: Observed) -> Founders | None:
    """The founders this unit starts its member with now: it is one of the current
    founders, its member has not started, and it has its certificates (None otherwise)."""
    founders = obs.leader.current_founders
    if obs.started or not obs.me.ready or not is_founder(obs.leader, obs.me.name):
        return None
    return founders


def announced(obs: Observed) -> UnitInfo:
    """What this unit publishes of itself on the peer relation (``obs.me`` as the hook saw
    and changed it). Each change of it is a cluster-relation-changed hook on every other
    unit, so a deploy publishes everything in the unit's first hook on the relation, and
    after that only what a peer must act on:

    - ``ready`` (it has its certificates) only once the cluster exists and the unit is no
      founder of it: a unit the leader is to add as a learner. The leader founds on the
      peer URLs alone.
    - ``member-id`` once its member started (one change per unit in a deploy): the peers
      that started before it showed it down in their status, and this is their hook to
      see it up; the leader promotes a learner when its unit publishes the id.
    - ``restart-request`` only once the member started (before, nothing runs to restart)."""
    me, ld = obs.me, obs.leader
    return replace(
        me,
        ready=me.ready and bool(ld.bootstrapped) and not is_founder(ld, me.name),
        member_id=me.member_id if obs.started else 0,
        restart_request=me.restart_request if obs.started else "",
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

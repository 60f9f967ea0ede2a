"""What etcdctl answers with ``-w json``: the typed results (members, endpoint status and
health, snapshots, alarms) and their pure parsers, tested against output captured from real
etcd 3.4 and 3.5 clusters (``unit_tests/data/etcdctl``). :mod:`etcdctl` runs the commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def hex_id(member_id: int) -> str:
    return f"{member_id:x}"


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    is_learner: bool

    @property
    def hex_id(self) -> str:
        return hex_id(self.id)

    @property
    def started(self) -> bool:
        """etcd fills in the name and client URLs once the member has started."""
        return bool(self.name)


@dataclass(frozen=True)
class MemberList:
    cluster_id: int
    member_id: int  # the member that answered
    raft_term: int
    members: tuple[Member, ...]

    def by_name(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def by_peer_url(self, url: str) -> Member | None:
        return next((m for m in self.members if url in m.peer_urls), None)

    def by_id(self, member_id: int) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)

    @property
    def voters(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if not m.is_learner)

    @property
    def learners(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.is_learner)


@dataclass(frozen=True)
class EndpointStatus:
    endpoint: str
    member_id: int
    cluster_id: int
    leader: int
    raft_term: int
    raft_index: int
    version: str
    db_size: int
    is_learner: bool
    errors: tuple[str, ...] = field(default_factory=tuple)
    revision: int = 0  # the keyspace's current revision (from the response header)
    db_size_in_use: int = 0  # bytes of the database in use (db_size - this: defrag frees it)


@dataclass(frozen=True)
class EndpointHealth:
    endpoint: str
    healthy: bool
    error: str = ""


def parse_endpoint_health(stdout: str) -> list[EndpointHealth]:
    """``endpoint health -w json``: one entry per endpoint asked (etcdctl exits 1 when any is
    unhealthy but still prints every entry)."""
    return [
        EndpointHealth(
            endpoint=str(e.get("endpoint", "")),
            healthy=bool(e.get("health", False)),
            error=str(e.get("error", "")),
        )
        for e in json.loads(stdout) or ()
    ]


@dataclass(frozen=True)
class SnapshotStatus:
    """``snapshot status``: ``total_keys`` is etcd's ``totalKey``, the number of entries of
    the bbolt database (every revision of every key, and etcd's own members, meta, auth and
    lease entries), not the number of keys a client sees (that is :meth:`Etcdctl.key_count`)."""

    hash: int
    revision: int
    total_keys: int
    total_size: int


def parse_snapshot_status(stdout: str) -> SnapshotStatus:
    d = json.loads(stdout)
    return SnapshotStatus(
        hash=int(d.get("hash", 0)),
        revision=int(d.get("revision", 0)),
        total_keys=int(d.get("totalKey", 0)),
        total_size=int(d.get("totalSize", 0)),
    )


def parse_key_count(stdout: str) -> int:
    """``get "" --prefix --keys-only --limit=1 -w json``: ``count`` is the number of keys in
    the whole range (the limit only cuts ``kvs``); absent when there are none (omitempty)."""
    return int(json.loads(stdout).get("count", 0))


#: etcd's AlarmType enum (etcdserverpb.AlarmType), as ``alarm list -w json`` prints numbers
ALARM_NAMES = {0: "NONE", 1: "NOSPACE", 2: "CORRUPT"}


@dataclass(frozen=True)
class Alarm:
    member_id: int
    alarm: str  # NOSPACE, CORRUPT


def parse_alarms(stdout: str) -> list[Alarm]:
    """``alarm list -w json`` / ``alarm disarm -w json``: the alarms raised (or disarmed)."""
    data = json.loads(stdout) if stdout.strip() else {}
    out = []
    for a in data.get("alarms") or ():
        kind = a.get("alarm", 0)
        name = ALARM_NAMES.get(kind, str(kind)) if isinstance(kind, int) else str(kind)
        out.append(Alarm(member_id=int(a.get("memberID", 0)), alarm=name))
    return out


def _member(raw: dict[str, Any]) -> Member:
    return Member(
        id=int(raw.get("ID", 0)),
        name=str(raw.get("name", "")),
        peer_urls=tuple(raw.get("peerURLs") or ()),
        client_urls=tuple(raw.get("clientURLs") or ()),
        is_learner=bool(raw.get("isLearner", False)),
    )


def parse_member_list(stdout: str) -> MemberList:
    data = json.loads(stdout)
    header = data.get("header") or {}
    return MemberList(
        cluster_id=int(header.get("cluster_id", 0)),
        member_id=int(header.get("member_id", 0)),
        raft_term=int(header.get("raft_term", 0)),
        members=tuple(_member(m) for m in data.get("members") or ()),
    )


def dump_member_list(ml: MemberList) -> str:
    """``member list -w json`` as etcdctl prints it (the inverse of :func:`parse_member_list`):
    the form a member list is kept in between hooks."""
    members = []
    for m in ml.members:
        entry: dict[str, Any] = {"ID": m.id, "name": m.name, "peerURLs": list(m.peer_urls)}
        if m.client_urls:
            entry["clientURLs"] = list(m.client_urls)
        if m.is_learner:
            entry["isLearner"] = True
        members.append(entry)
    header = {"cluster_id": ml.cluster_id, "member_id": ml.member_id, "raft_term": ml.raft_term}
    return json.dumps({"header": header, "members": members})


def parse_member_add(stdout: str) -> tuple[Member, MemberList]:
    """``member add -w json``: the new member and the membership including it."""
    data = json.loads(stdout)
    return _member(data.get("member") or {}), parse_member_list(stdout)


def parse_endpoint_status(stdout: str) -> list[EndpointStatus]:
    out = []
    for entry in json.loads(stdout) or ():
        st = entry.get("Status") or {}
        header = st.get("header") or {}
        out.append(
            EndpointStatus(
                endpoint=str(entry.get("Endpoint", "")),
                member_id=int(header.get("member_id", 0)),
                cluster_id=int(header.get("cluster_id", 0)),
                leader=int(st.get("leader", 0)),
                raft_term=int(st.get("raftTerm", 0)),
                raft_index=int(st.get("raftIndex", 0)),
                version=str(st.get("version", "")),
                db_size=int(st.get("dbSize", 0)),
                is_learner=bool(st.get("isLearner", False)),
                errors=tuple(str(e) for e in st.get("errors") or ()),
                revision=int(header.get("revision", 0)),
                db_size_in_use=int(st.get("dbSizeInUse", 0)),
            )
        )
    return out


def initial_cluster(members: Sequence[Member], new_name: str, new_id: int) -> str:
    """The ``initial-cluster`` a member just added must start with (what etcdctl prints as
    ETCD_INITIAL_CLUSTER in its simple output): every started member plus the new one."""
    parts: list[str] = []
    for m in members:
        name = new_name if m.id == new_id else m.name
        if not name:
            continue  # another member that was added but never started: not in the list
        parts.extend(f"{name}={url}" for url in m.peer_urls)
    return ",".join(parts)

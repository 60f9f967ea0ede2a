"""The one wrapper around etcdctl (v3 API, ``-w json`` only).

Argument lists are built from named arguments; every failure raises :class:`EtcdctlError`
with the command, exit code and etcdctl's own message. Parsing is pure and tested against
output captured from real etcd 3.4 and 3.5 clusters (``unit_tests/data/etcdctl``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

ETCDCTL = "/snap/bin/etcd.etcdctl"


class EtcdctlError(Exception):
    """etcdctl failed: ``argv`` (without credentials), exit code and the error text."""

    def __init__(self, argv: Sequence[str], rc: int, stderr: str) -> None:
        self.argv = list(argv)
        self.rc = rc
        self.stderr = stderr.strip()
        super().__init__(f"etcdctl {' '.join(self.argv)} failed (exit {rc}): {self.detail}")

    @property
    def detail(self) -> str:
        """The most telling line of etcdctl's error output."""
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        for ln in reversed(lines):
            if ln.startswith("Error:"):
                return ln.removeprefix("Error:").strip()
        plain = [ln for ln in lines if not ln.startswith("{")]  # not the client's JSON logs
        return (plain or lines or ["no output"])[-1]

    def mentions(self, *fragments: str) -> bool:
        text = self.stderr.lower()
        return any(f.lower() in text for f in fragments)


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


Runner = Callable[[list[str], dict[str, str], float], "subprocess.CompletedProcess[str]"]


def _subprocess_runner(
    argv: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Etcdctl:
    endpoints: Sequence[str]
    cacert: str
    cert: str
    key: str
    binary: str = ETCDCTL
    dial_timeout: str = "2s"
    command_timeout: str = "5s"
    runner: Runner = _subprocess_runner

    def run(self, *args: str, timeout: float = 30.0, partial: bool = False) -> str:
        """etcdctl's stdout; with ``partial``, a failure that still printed JSON (the
        per-endpoint commands print every endpoint they reached) returns that output.
        etcdctl's own command timeout follows ``timeout`` when that is longer than its
        default (snapshots, compaction and defragmentation of a large keyspace)."""
        shown = list(args)
        argv = [
            self.binary,
            f"--endpoints={','.join(self.endpoints)}",
            f"--cacert={self.cacert}",
            f"--cert={self.cert}",
            f"--key={self.key}",
            f"--dial-timeout={self.dial_timeout}",
            f"--command-timeout={self._command_timeout(timeout)}",
            "-w",
            "json",
            *args,
        ]
        env = {"ETCDCTL_API": "3", "PATH": "/snap/bin:/usr/bin:/bin", "HOME": "/root"}
        try:
            proc = self.runner(argv, env, timeout)
        except subprocess.TimeoutExpired:
            raise EtcdctlError(shown, -1, f"Error: no answer within {timeout:.0f}s") from None
        except OSError as e:
            raise EtcdctlError(shown, -1, f"Error: cannot run etcdctl: {e}") from None
        if proc.returncode != 0 and not (partial and proc.stdout.strip().startswith("[")):
            raise EtcdctlError(shown, proc.returncode, proc.stderr or proc.stdout)
        return proc.stdout

    def _command_timeout(self, timeout: float) -> str:
        if timeout > 30.0:
            return f"{int(timeout)}s"
        return self.command_timeout

    def member_list(self) -> MemberList:
        return parse_member_list(self.run("member", "list"))

    def member_add_learner(self, name: str, peer_url: str) -> tuple[Member, MemberList]:
        return parse_member_add(
            self.run("member", "add", name, f"--peer-urls={peer_url}", "--learner")
        )

    def member_promote(self, member_id: int) -> None:
        try:
            self.run("member", "promote", hex_id(member_id))
        except EtcdctlError as e:
            # etcdctl 3.5's JSON printer has no member-promote case and panics (exit 2) after
            # the promotion went through: the member list tells what happened.
            if not e.mentions("panic: runtime error"):
                raise
            member = self.member_list().by_id(member_id)
            if member is None or member.is_learner:
                raise EtcdctlError(
                    ["member", "promote", hex_id(member_id)],
                    e.rc,
                    "Error: promotion not confirmed by the member list",
                ) from None

    def member_remove(self, member_id: int) -> None:
        self.run("member", "remove", hex_id(member_id))

    def member_update(self, member_id: int, peer_urls: Sequence[str]) -> None:
        self.run("member", "update", hex_id(member_id), f"--peer-urls={','.join(peer_urls)}")

    def move_leader(self, member_id: int) -> None:
        self.run("move-leader", hex_id(member_id))

    def endpoint_status(self, partial: bool = False) -> list[EndpointStatus]:
        """Status of each endpoint; with ``partial``, of those that answered (an endpoint
        that does not answer is missing from the list)."""
        return parse_endpoint_status(self.run("endpoint", "status", partial=partial))

    def snapshot_save(self, path: str) -> SnapshotStatus:
        """A consistent snapshot of the (single) endpoint's database at ``path``, checked by
        reading it back (``snapshot save`` prints text whatever -w says)."""
        if len(self.endpoints) != 1:
            raise ValueError("snapshot save needs exactly one endpoint")
        self.run("snapshot", "save", path, timeout=900)
        return self.snapshot_status(path)

    def snapshot_status(self, path: str) -> SnapshotStatus:
        """Revision, database entries and size of a snapshot file (read locally, no endpoint)."""
        return parse_snapshot_status(self.run("snapshot", "status", path, timeout=600))

    def key_count(self, revision: int = 0) -> int:
        """The number of keys in the keyspace at ``revision`` (0: the current one) in the
        member asked (a serializable read of its own copy: one endpoint, no quorum needed).

        ``get --count-only`` would say it, but etcdctl 3.5 refuses it with ``-w json`` and
        3.4 has no such flag; a keys-only range limited to one key carries the same count."""
        if len(self.endpoints) != 1:
            raise ValueError("count the keys of one member: exactly one endpoint")
        args = ["get", "", "--prefix", "--keys-only", "--limit=1", "--consistency=s"]
        if revision:
            args.append(f"--rev={revision}")
        return parse_key_count(self.run(*args, timeout=120))

    def snapshot_restore(
        self,
        path: str,
        data_dir: str,
        name: str,
        peer_url: str,
        token: str,
        skip_hash_check: bool = False,
    ) -> None:
        """A new one-member cluster's data directory from a snapshot file (offline; the
        directory must not exist). etcd checks the snapshot's own sha256 unless told not to."""
        args = [
            "snapshot",
            "restore",
            path,
            f"--data-dir={data_dir}",
            f"--name={name}",
            f"--initial-cluster={name}={peer_url}",
            f"--initial-cluster-token={token}",
            f"--initial-advertise-peer-urls={peer_url}",
        ]
        if skip_hash_check:
            args.append("--skip-hash-check")
        self.run(*args, timeout=1800)

    def alarm_list(self) -> list[Alarm]:
        return parse_alarms(self.run("alarm", "list"))

    def alarm_disarm(self) -> list[Alarm]:
        """Disarm every alarm; the alarms that were disarmed."""
        return parse_alarms(self.run("alarm", "disarm"))

    def compact(self, revision: int, physical: bool) -> None:
        """Compact the keyspace's history up to ``revision`` (etcdctl prints text only)."""
        args = ["compact", str(revision)]
        if physical:
            args.append("--physical")
        self.run(*args, timeout=600)

    def defrag(self) -> None:
        """Defragment the (single) endpoint's member: it does not answer while it runs."""
        if len(self.endpoints) != 1:
            raise ValueError("defrag one member at a time: exactly one endpoint")
        self.run("defrag", timeout=900)

    def endpoint_health(self) -> list[EndpointHealth]:
        """Health of every endpoint (a linearizable read through each), answering or not."""
        return parse_endpoint_health(self.run("endpoint", "health", partial=True))

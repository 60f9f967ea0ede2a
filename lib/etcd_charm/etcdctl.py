"""The one wrapper around etcdctl (v3 API, ``-w json`` only).

Argument lists are built from named arguments; every failure raises :class:`EtcdctlError`
with the command, exit code and etcdctl's own message. The answers and their pure parsers
are :mod:`etcd_json`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .etcd_json import (  # the answers, parsed
    Alarm,
    EndpointHealth,
    EndpointStatus,
    Member,
    MemberList,
    SnapshotStatus,
    hex_id,
    parse_alarms,
    parse_endpoint_health,
    parse_endpoint_status,
    parse_key_count,
    parse_member_add,
    parse_member_list,
    parse_snapshot_status,
)

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

"""update-status on a quiet, healthy cluster: one etcd round trip and nothing else.

Juju runs a hook of its own for every change of config, relation data, leadership and
storage; what can change between two hooks without one is etcd's own state (a member down, an
alarm, a new raft term), time (a certificate nearing its end, a newer revision in the store)
and the machine (someone un-holding snapd's refreshes). So a full reconcile that ends healthy
with nothing in flight records what it saw (:class:`Quiet`, unit storage ``etcd.quiet``), and
the next update-status asks etcd the one question the status is made of (``endpoint status``
of this member and the other voters): the same verdict, in the same raft term, within
:data:`FULL_EVERY` of that reconcile, and the status stands as it is (no hook tool is
called). Anything else, and the update-status runs the full reconcile, which records again or
forgets. The leader also asks whether it still leads (``is-leader``) and, in one quiet
update-status in :data:`STORE_EVERY`, whether the store offers what it did (``snap info
etcd``, a request to the store): the same offer, and its status, with its note of a newer
revision or without, stands too.

Pure but for :func:`update_status` (the shell: unit storage, one etcdctl). It imports only
what that needs, so the hook does not pay for the rest of the charm.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from .etcd_json import EndpointStatus, MemberList
from .status import Status, health

#: a full reconcile at least this often (seconds): what only time changes (certificate
#: notes, the machine's snapd holds) is looked at again
FULL_EVERY = 3600.0
#: the leader asks the store in one quiet update-status in this many (every 30 minutes at
#: Juju's default 5-minute interval), and in every full one
STORE_EVERY = 6


@dataclass(frozen=True)
class Quiet:
    at: float  # when the full reconcile recorded it
    message: str  # the healthy verdict it saw (before any note the status adds)
    raft_term: int
    member_id: int
    endpoints: tuple[str, ...]  # this member's local URL first, then the other voters'
    # the leader's: the channel, revision and version it tracks, and what the store offered
    # newer then (its status note: {} for none); None on any other unit
    store: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "endpoints": list(self.endpoints)}

    @classmethod
    def from_json(cls, d: Any) -> Quiet | None:
        try:
            return cls(
                at=float(d["at"]),
                message=str(d["message"]),
                raft_term=int(d["raft_term"]),
                member_id=int(d["member_id"]),
                endpoints=tuple(str(e) for e in d["endpoints"]),
                store=d["store"] if isinstance(d.get("store"), dict) else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


def still(
    quiet: Quiet | None,
    now: float,
    members: MemberList | None,
    status: EndpointStatus | None,
    error: str | None,
    up: frozenset[int],
    reached: frozenset[int],
) -> bool:
    """Whether this update-status sees what the last full reconcile saw (the status it set
    stands): the same verdict from the same members, in the same raft term, recently."""
    if quiet is None or members is None or status is None:
        return False
    if not 0 <= now - quiet.at < FULL_EVERY or status.raft_term != quiet.raft_term:
        return False
    verdict: Status = health(status, error, members, quiet.member_id, up, reached)
    return verdict.state == "active" and verdict.message == quiet.message


Answers = tuple[EndpointStatus | None, str | None, frozenset[int], frozenset[int]]


def answers(local: str, others: list[str]) -> Answers:
    """One ``endpoint status`` of this member (``local``) and the other voters: this
    member's status (or why there is none), which members answer without errors and which
    answer at all (with "no leader", say). :func:`health.answers` asks the same."""
    from .context import client
    from .etcdctl import EtcdctlError

    try:
        answered = client([local, *others]).endpoint_status(partial=True)
        error = None
    except EtcdctlError as e:
        answered, error = [], e.detail
    status = next((st for st in answered if st.endpoint == local), None)
    if status is None:
        error = error or f"no answer on {local}"
    up = frozenset(st.member_id for st in answered if not st.errors)
    return status, error, up, frozenset(st.member_id for st in answered)


def update_status() -> bool:
    """The update-status fast path: True when the status stands and the hook is done."""
    from charmhelpers.core import unitdata

    from .record import Record

    record = Record(unitdata.kv())
    quiet = Quiet.from_json(record.quiet)
    members = record.last_members()
    if quiet is None or members is None or not record.started:
        return False
    local, *others = quiet.endpoints
    if not still(quiet, time.time(), members, *answers(local, others)):
        return False
    if quiet.store is None:
        return True
    ask = store_due(quiet.store)
    if not store_stands(quiet.store, ask):
        return False
    record.quiet = {**record.quiet, "store": counted(quiet.store, ask)}
    return True


def store_due(store: dict[str, Any]) -> bool:
    """Whether this quiet update-status asks the store: :data:`STORE_EVERY` quiet ones after
    the store was last asked (by one of them or by a full reconcile, which records ``store``
    without a count)."""
    try:
        unasked = int(store.get("unasked", 0))
    except (TypeError, ValueError):
        return True
    return unasked + 1 >= STORE_EVERY


def counted(store: dict[str, Any], asked: bool) -> dict[str, Any]:
    """The leader's store record after a quiet update-status that asked the store or not."""
    return {**store, "unasked": 0 if asked else int(store.get("unasked", 0)) + 1}


def store_stands(store: dict[str, Any], ask: bool = True) -> bool:
    """The leader's: it still leads, and (when ``ask``) the store offers what it did when its
    status was set (the same newer revision, or none): its note stands. Anything else
    (another offer, no store, no longer the leader) and the full reconcile says so."""
    import json
    import subprocess

    from .snap_store import NoStore, newer, store_offer

    def run(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout

    try:
        if json.loads(run("is-leader", "--format=json")) is not True:
            return False
        if not ask:
            return True
        offer = store_offer(run("snap", "info", "etcd"))
        found = newer(offer, store["channel"], store["revision"], store["version"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, NoStore):
        return False
    return found == store["available"]

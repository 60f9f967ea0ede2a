"""Peer hooks with nothing to act on, answered before the reactive framework loads.

A unit that is not the leader, runs no member and waits for its certificates acts on nothing
its peers publish, and on nothing new in a hook whose inputs it has seen already: it cannot
start without its certificates (:func:`state.founding_start`, and the leader adds only units
that published ``ready``), its status says what it waits for, and what it publishes of
itself comes from its own addresses, configuration and snap. Yet
each peer's change is a ``cluster-relation-changed`` on it: in a deploy of N units, N - 1 of
them before its certificates arrive, and N - 1 more as the others start. Each was a full
reconcile, about 0.3 s of CPU (mostly the framework's and the charm's imports), while the
CA's unit, whose answers every unit waits for, and every other unit share the machines'
CPU. And Juju picks the next relation to run a hook of at random in each decision: a unit
whose certificates have arrived runs its ``certificates-relation-changed`` only after the
peer hooks drawn before it (one decision in five goes to the certificates).

So the full reconcile that ends in that state records the inputs it acted on (:data:`KV_IDLE`:
a digest of what the hook tools said of the configuration, the addresses, leader settings and
the certificates relation), and a later hook of :data:`IDLE_HOOKS` that finds the same
inputs, on a unit that is still not the leader, ends at once (:func:`answered`), without
loading the framework: about 30 ms. What else could change the outcome comes with a hook
that reconciles in full: its own certificates (what the CA publishes for this unit or for
all), leadership (``leader-elected``), a relation added (``*-relation-created``), storage
(``data-storage-*``), a new charm (``upgrade-charm``), the unit's own departure
(``cluster-relation-departed``), an action (which clears the record).

A unit that runs a member, is not the leader and asks for no restart acts on its peers'
data, and each peer's change is a hook of its own that reconciles in full (Juju keeps a
peer's data as this unit's last hook for that peer read it, so only that peer's hook brings
its change). One of its hooks brings nothing new for it: the CA's answer to another unit (a
``certificates-relation-changed`` on every unit, N - 1 of them after its own answer). So that
reconcile records the same digest (mode :data:`SETTLED`), and the hooks of
:data:`SETTLED_HOOKS` that find those inputs again end at once. Not leader settings: what a
member publishes (its clients' endpoints, its status) follows etcd's state too, and leader
settings can come back to what a unit saw before while etcd's state moved on (``joining``
set for a learner, then cleared once it is promoted: the promotion is seen only by the
reconcile of that last ``leader-settings-changed``). Every change the charm makes to etcd's
membership comes with a peer's or the leader's change after it, whose hook reconciles in
full; what etcd does on its own between hooks (a member down, a new raft term) is
update-status's to see, as on a quiet cluster (quiet.py).

Stdlib only, and no other module of the charm: this runs before anything else is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Callable, Mapping, Sequence

#: unit storage key (charmhelpers' unitdata) of the digest a full reconcile recorded
KV_IDLE = "etcd.idle-inputs"
#: the hooks that may end at once on the recorded inputs: a peer's change, and the hooks a
#: deploy runs on every unit while it waits for its certificates with nothing new in them
#: (``start``; ``config-changed`` with the same options and addresses; the
#: ``leader-settings-changed`` of settings it saw already)
IDLE_HOOKS = frozenset(
    {
        "cluster-relation-changed",
        "config-changed",
        "start",
        "leader-settings-changed",
        "certificates-relation-changed",
    }
)
#: the hooks that may end at once on a settled member's recorded inputs: the CA's answer to
#: another unit (never ``start`` or ``config-changed``, which Juju also runs after a reboot
#: or when the agent restarts, nor a peer's change or leader settings: see above)
SETTLED_HOOKS = frozenset({"certificates-relation-changed"})
#: the state a record was made in, its prefix: a unit waiting for its certificates, a
#: settled member
WAITING = "waiting"
SETTLED = "settled"
MODE_HOOKS: dict[str, frozenset[str]] = {WAITING: IDLE_HOOKS, SETTLED: SETTLED_HOOKS}
#: part of every digest: a charm that digests other inputs does not match an older record
DIGEST_FORMAT = "4"
#: a key of the CA's that answers another unit (interface-tls-certificates publishes every
#: unit's answers in its one bucket: ``etcd_2.server.cert``, ``etcd_2.processed_client_requests``)
UNIT_ANSWER = re.compile(r"^(?P<unit>[a-z][a-z0-9-]*_[0-9]+)\.")


def for_this_unit(data: Mapping[str, object], unit: str) -> dict[str, object]:
    """What the CA's unit published that concerns this unit (``etcd/3``): everything but the
    answers to the other units. The CA answers one unit at a time and each answer changes
    its bucket, a ``certificates-relation-changed`` on every unit: only the unit answered
    has anything new."""
    mine = unit.replace("/", "_")
    out = {}
    for key, value in data.items():
        m = UNIT_ANSWER.match(key)
        if m is None or m.group("unit") == mine:
            out[key] = value
    return out


Tool = Callable[[Sequence[str]], str]


def run_tool(argv: Sequence[str]) -> str:
    """A hook tool's output (CalledProcessError when it fails)."""
    return subprocess.run(
        list(argv), check=True, capture_output=True, text=True, timeout=60
    ).stdout


def digest(tool: Tool = run_tool, unit: str = "") -> str:
    """What the unit's reconcile acts on in the waiting state, as the hook tools say it now
    (leadership aside: :func:`decide` asks it first): the configuration, the addresses
    (what the certificates are requested for, what the unit publishes), leader settings,
    the certificates relation (its ids, the CA units that joined, and what each published
    that concerns this unit: :func:`for_this_unit`; ``unit``: this unit, by default
    ``JUJU_UNIT_NAME``)."""
    unit = unit or os.environ.get("JUJU_UNIT_NAME", "")
    h = hashlib.sha256(DIGEST_FORMAT.encode())
    parts: list[Sequence[str]] = [
        ["config-get", "--all", "--format=json"],
        ["unit-get", "public-address", "--format=json"],
        ["network-get", "cluster", "--format=json"],
        ["network-get", "db", "--format=json"],
        ["leader-get", "--format=json"],
    ]
    for argv in parts:
        h.update(b"\0" + tool(argv).encode())
    rids = json.loads(tool(["relation-ids", "certificates", "--format=json"]) or "[]") or []
    for rid in sorted(rids):
        units = json.loads(tool(["relation-list", "-r", rid, "--format=json"]) or "[]") or []
        h.update(f"\0{rid}\0{json.dumps(sorted(units))}".encode())
        for ca in sorted(units):
            data = json.loads(tool(["relation-get", "-r", rid, "-", ca, "--format=json"]) or "{}")
            mine = for_this_unit(data if isinstance(data, dict) else {}, unit)
            h.update(b"\0" + json.dumps(mine, sort_keys=True).encode())
    return h.hexdigest()


def record(mode: str, value: str) -> str:
    """What unit storage keeps: the mode (:data:`WAITING`, :data:`SETTLED`) and the digest."""
    return f"{mode}:{value}"


def waiting(
    is_leader: bool, started: bool, has_certificates: bool, takeover: object, refused: str
) -> bool:
    """Whether a full reconcile ended in the state where peer data does not matter: this
    unit is not the leader, runs no member, has no certificates yet, has no earlier charm's
    member to take over (``takeover``: :func:`adopt.take_over`'s problem, None when there is
    none) and no refused data volume."""
    return not (is_leader or started or has_certificates or takeover is not None or refused)


def settled(
    is_leader: bool,
    started: bool,
    has_certificates: bool,
    takeover: object,
    refused: str,
    restart_request: str,
) -> bool:
    """Whether a full reconcile ended on a settled member: this unit is not the leader, runs
    a member with its certificates, asks for no restart (``restart_request``: what it
    publishes), has no earlier charm's member to take over and no refused data volume."""
    return (
        not is_leader
        and started
        and has_certificates
        and takeover is None
        and not refused
        and not restart_request
    )


def hooks_of(recorded: object) -> frozenset[str]:
    """The hooks a record's mode lets end at once (none for anything but a record)."""
    if not isinstance(recorded, str):
        return frozenset()
    return MODE_HOOKS.get(recorded.partition(":")[0], frozenset())


def decide(hook_name: str, recorded: object, is_leader: bool, current: Callable[[], str]) -> bool:
    """Whether the hook ends at once: a hook of the recorded mode's (:data:`MODE_HOOKS`), on
    a unit that is not the leader, whose last full reconcile recorded the inputs that
    ``current()`` finds again."""
    value = str(recorded).partition(":")[2]
    if hook_name not in hooks_of(recorded) or not value:
        return False
    if is_leader:
        return False
    return current() == value


class UnitKv:
    """Read-only access to charmhelpers' unit storage (its sqlite file and ``kv`` table),
    without importing charmhelpers."""

    def __init__(self, path: str) -> None:
        self.path = path

    def get(self, key: str) -> object:
        if not os.path.exists(self.path):
            return None
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute("select data from kv where key=?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        finally:
            conn.close()
        return json.loads(row[0]) if row else None


def kv_path(charm_dir: str, env: Mapping[str, str] = os.environ) -> str:
    """Where charmhelpers keeps the unit's storage (``unitdata.kv()``)."""
    return env.get("UNIT_STATE_DB") or os.path.join(charm_dir, ".unit-state.db")


def answered(
    charm_dir: str, hook_name: str, env: Mapping[str, str] = os.environ, tool: Tool = run_tool
) -> bool:
    """In the hook's process, before the framework: True when this hook ends here (it says so
    in the unit's log). Any doubt (no record, a tool failing) runs the full reconcile."""
    if hook_name not in IDLE_HOOKS | SETTLED_HOOKS:
        return False
    try:
        kv = UnitKv(kv_path(charm_dir, env))
        recorded = kv.get(KV_IDLE)
        if hook_name not in hooks_of(recorded):
            return False  # without a tool call: a settled member's peer hook, say
        leader = json.loads(tool(["is-leader", "--format=json"])) is True
        unit = env.get("JUJU_UNIT_NAME", "")
        if not decide(hook_name, recorded, leader, lambda: digest(tool, unit)):
            return False
        remote = env.get("JUJU_REMOTE_UNIT", "")
        why = (
            "nothing to act on while this unit waits for its certificates"
            if str(recorded).startswith(WAITING + ":")
            else "nothing this unit's member has not seen"
        )
        tool(["juju-log", "-l", "DEBUG",
              f"{hook_name} ({remote}): {why}; the framework was not loaded"])  # fmt: skip
        return True
    except (OSError, ValueError, subprocess.SubprocessError):
        return False

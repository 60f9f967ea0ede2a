"""The unit agent's decision: given its local state and the controller's (remote) state, which
operation runs next. A pure function, mirroring Juju 3's uniter resolvers (spec section 3):

  storage-attached (before install) -> a queued or failed hook -> relation-created ->
  leadership -> actions -> [dying: relation teardown, stop, remove] -> install ->
  upgrade-charm -> config-changed -> relation hooks -> update-status.

Sources: juju/juju worker/uniter/resolver.go, worker/uniter/relation/resolver.go (nextHookForRelation,
createdRelationsResolver), worker/uniter/leadership/resolver.go.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from .state import RESOLVED_NO_HOOKS, RESOLVED_RETRY_HOOKS, HookError, RelationLocal, UnitLocal


@dataclass(frozen=True)
class HookInfo:
    name: str  # full hook name, e.g. "db-relation-joined"
    kind: str  # install, start, relation-joined, ...
    relation_id: int | None = None
    remote_unit: str = ""
    remote_app: str = ""
    departing_unit: str = ""
    change_version: int = 0
    storage_id: str = ""


@dataclass(frozen=True)
class Op:
    kind: str  # "hook" | "skip-hook" | "task" | "resign-leadership"
    hook: HookInfo | None = None
    task_id: str = ""
    # The `juju resolved` mode this operation acts on; the agent clears it (ClearResolved).
    resolved: str = ""


@dataclass
class RelationSnapshot:
    """What the controller says about one relation, as seen by one unit."""

    endpoint: str
    remote_app: str
    is_peer: bool
    life: str = "alive"
    members: dict[str, int] = field(default_factory=dict)  # remote units in scope -> version
    app_members: dict[str, int] = field(default_factory=dict)  # remote app -> app version


@dataclass
class Remote:
    unit: str = ""
    life: str = "alive"  # of the unit ("dying" also when its application is dying)
    leader: bool = False
    leader_settings_version: int = 0
    config_hash: str = ""
    charm_revision: int = 0
    relations: dict[int, RelationSnapshot] = field(default_factory=dict)
    storage: list[str] = field(default_factory=list)  # storage ids attached to the unit
    # attachments going away (detach-storage, the unit's removal) that the unit had attached
    storage_detaching: list[str] = field(default_factory=list)
    # storage of the unit whose volume is not on its machine yet: install waits for it
    storage_pending: bool = False
    storage_names: dict[str, str] = field(default_factory=dict)  # id -> storage name
    pending_task: str = ""  # id of the oldest pending action/exec for the unit
    update_status_due: bool = False
    retry_due: bool = False
    auto_retry: bool = True
    resolved: str = ""  # `juju resolved` mode set on the unit: "", "retry-hooks", "no-hooks"
    # The order in which this decision's two resolvers visit the relations: Juju ranges over
    # the snapshot's relations map (a Go map: see go_range). None: ascending relation id.
    created_order: list[int] | None = None
    hook_order: list[int] | None = None


K = TypeVar("K")
#: slots of a Go map's single bucket (before Go 1.24) or group (swiss tables, Go 1.24 on)
GO_MAP_SLOTS = 8


def go_range(slots: Sequence[K], draw: int) -> list[K]:
    """The order in which a Go ``for k := range m`` visits the keys of ``m``, given the keys in
    the order they were inserted (``slots``) and the runtime's random draw for that loop.

    A map of at most 8 keys lives in one bucket (one group with swiss tables), its keys in the
    slots they were inserted into, first free slot first. A range starts at a random slot
    (``draw % 8``) and wraps around, skipping empty slots: a rotation, so the first key is the
    one at or after the start, which favours the first inserted key 5 times in 8 with 4 keys.
    A larger map is spread over buckets by a hash with a per-map random seed; its order is
    modelled as a permutation drawn from ``draw``. Juju's uniter ranges over its relations
    map to copy its remote state (``Snapshot``) and again in each resolver, so it visits its
    relations in a different, random order at each decision.
    """
    n = len(slots)
    if n <= GO_MAP_SLOTS:
        start = draw % GO_MAP_SLOTS
        return [slots[(start + i) % GO_MAP_SLOTS] for i in range(GO_MAP_SLOTS)
                if (start + i) % GO_MAP_SLOTS < n]  # fmt: skip
    keys = list(slots)
    random.Random(draw).shuffle(keys)
    return keys


def relation_orders(source: Sequence[int], rng: random.Random) -> tuple[list[int], list[int]]:
    """The relation-created resolver's and the relation hooks resolver's visiting orders for one
    decision. ``source``: the relations in the order the unit's remote state watcher added them
    to its map. ``Snapshot()`` copies that map with a range (the copy's keys are inserted in
    that order), and each resolver ranges over the copy with its own draw."""
    copied = go_range(source, rng.getrandbits(32))
    return go_range(copied, rng.getrandbits(32)), go_range(copied, rng.getrandbits(32))


def hook(kind: str, **kw: object) -> HookInfo:
    return HookInfo(name=kind, kind=kind, **kw)  # type: ignore[arg-type]


def relation_hook(
    endpoint: str, kind: str, relation_id: int, remote_app: str, **kw: object
) -> HookInfo:
    return HookInfo(
        name=f"{endpoint}-{kind}",
        kind=kind,
        relation_id=relation_id,
        remote_app=remote_app,
        **kw,  # type: ignore[arg-type]
    )


def next_op(local: UnitLocal, remote: Remote) -> Op | None:
    """The next operation for the unit, or None when it is idle."""
    dying = remote.life != "alive"

    # Storage provisioned with the unit is attached before install (the storage resolver
    # runs its hooks before the queued install; install waits for them).
    if not local.installed and local.error is None:
        op = _storage_op(local, remote)
        if op is not None:
            return op
        if remote.storage_pending and not dying:
            return None  # ErrWaiting: initial storage attachments not ready

    # A failed hook blocks every other hook until it succeeds or is skipped; actions may still
    # run. `juju resolved` retries it now; `juju resolved --no-retry` skips it (nextOpHookError).
    if local.error is not None:
        if remote.pending_task:
            return Op("task", task_id=remote.pending_task)
        failed = _hook_from_error(local.error)
        if remote.resolved == RESOLVED_RETRY_HOOKS:
            return Op("hook", failed, resolved=remote.resolved)
        if remote.resolved == RESOLVED_NO_HOOKS:
            return Op("skip-hook", failed, resolved=remote.resolved)
        if remote.retry_due and remote.auto_retry:
            return Op("hook", failed)
        return None

    if local.queued:
        return Op("hook", hook(local.queued))

    # The machine rebooted: the reboot resolver runs an implicit start hook once no hook is
    # pending or queued, for a unit that had started (whatever its life), before leadership,
    # actions and everything else.
    if local.reboot_detected and local.started:
        return Op("hook", hook("start"))

    if local.installed and not dying:
        # relation-created for every relation entered but not yet created (peers included).
        for rid in _order(remote, remote.created_order):
            snap = remote.relations[rid]
            rl = local.relations.get(str(rid))
            if rl is None or rl.created or snap.life != "alive":
                continue
            return Op("hook", relation_hook(snap.endpoint, "relation-created", rid,
                                            snap.remote_app))  # fmt: skip

    if local.installed:
        if remote.leader and not local.leader and not dying:
            return Op("hook", hook("leader-elected"))
        if not remote.leader and local.leader:
            return Op("resign-leadership")
        if (
            not remote.leader
            and not dying
            and local.leader_settings_version != remote.leader_settings_version
        ):
            return Op("hook", hook("leader-settings-changed"))

    if remote.pending_task and local.installed:
        return Op("task", task_id=remote.pending_task)

    # The storage resolver, with nothing else in progress: storage added since, and the
    # detaching hooks (a dying unit's first of all, before its relations go).
    op = _storage_op(local, remote)
    if op is not None:
        return op

    if dying:
        op = _relation_op(local, remote, dying=True)
        if op is not None:
            return op
        if local.installed and not local.stopped:
            return Op("hook", hook("stop"))
        if not local.removed:
            return Op("hook", hook("remove"))
        return None

    if not local.installed:
        return Op("hook", hook("install"))
    if local.charm_revision != remote.charm_revision:
        return Op("hook", hook("upgrade-charm"))
    if local.config_hash != remote.config_hash:
        return Op("hook", hook("config-changed"))

    op = _relation_op(local, remote, dying=False)
    if op is not None:
        return op

    if remote.update_status_due and local.started:
        return Op("hook", hook("update-status"))
    return None


def _storage_op(local: UnitLocal, remote: Remote) -> Op | None:
    for sid in remote.storage_detaching:
        if sid in local.storage_attached:
            name = remote.storage_names.get(sid, sid.split("/")[0])
            return Op("hook", HookInfo(f"{name}-storage-detaching", "storage-detaching",
                                       storage_id=sid))  # fmt: skip
    if remote.life != "alive":
        return None
    for sid in remote.storage:
        if sid not in local.storage_attached:
            name = remote.storage_names.get(sid, sid.split("/")[0])
            return Op("hook", HookInfo(f"{name}-storage-attached", "storage-attached",
                                       storage_id=sid))  # fmt: skip
    return None


def _hook_from_error(err: HookError) -> HookInfo:
    kind = err.hook
    if err.relation_id is not None:
        kind = "relation-" + err.hook.split("-relation-", 1)[1]
    elif err.hook.endswith("-storage-attached"):
        kind = "storage-attached"
    elif err.hook.endswith("-storage-detaching"):
        kind = "storage-detaching"
    return HookInfo(
        name=err.hook,
        kind=kind,
        relation_id=err.relation_id,
        remote_unit=err.remote_unit,
        remote_app=err.remote_app,
        departing_unit=err.departing_unit,
        change_version=err.change_version,
        storage_id=err.storage_id,
    )


def _order(remote: Remote, order: list[int] | None) -> list[int]:
    if order is None:
        return sorted(remote.relations)
    return [rid for rid in order if rid in remote.relations]


def _relation_op(local: UnitLocal, remote: Remote, *, dying: bool) -> Op | None:
    for rid in _order(remote, remote.hook_order):
        rl = local.relations.get(str(rid))
        if rl is None:
            continue  # not in scope: not known to this unit
        snap = remote.relations[rid]
        broken = dying or snap.life != "alive"
        info = next_relation_hook(
            rid, rl, snap, broken=broken, unit_dying=dying, local_unit=remote.unit
        )
        if info is not None:
            return Op("hook", info)
    return None


def next_relation_hook(
    rid: int,
    local: RelationLocal,
    snap: RelationSnapshot,
    *,
    broken: bool,
    unit_dying: bool,
    local_unit: str = "",
) -> HookInfo | None:
    """Juju's nextHookForRelation."""
    ep, rapp = snap.endpoint, snap.remote_app
    members = {} if broken else snap.members
    app_members = {} if broken else snap.app_members

    if local.changed_pending:
        u = local.changed_pending
        return relation_hook(ep, "relation-changed", rid, u.split("/")[0], remote_unit=u,
                             change_version=members.get(u, 0))  # fmt: skip

    for u in sorted(set(local.members) | set(members)):
        if u in local.members and u not in members:
            return relation_hook(ep, "relation-departed", rid, u.split("/")[0], remote_unit=u,
                                 change_version=local.members[u],
                                 departing_unit=local_unit if unit_dying else u)  # fmt: skip

    if broken and not snap.is_peer:
        return relation_hook(ep, "relation-broken", rid, rapp)

    for app in sorted(set(local.app_members) | set(app_members)):
        if app not in app_members:
            continue
        if local.app_members.get(app, 0) != app_members[app]:
            return relation_hook(ep, "relation-changed", rid, app,
                                 change_version=app_members[app])  # fmt: skip

    for u in sorted(members):
        if u not in local.members:
            return relation_hook(ep, "relation-joined", rid, u.split("/")[0], remote_unit=u,
                                 change_version=members[u])  # fmt: skip

    for u in sorted(members):
        if u in local.members and local.members[u] != members[u]:
            return relation_hook(ep, "relation-changed", rid, u.split("/")[0], remote_unit=u,
                                 change_version=members[u])  # fmt: skip
    return None


def commit(local: UnitLocal, info: HookInfo, remote: Remote) -> None:
    """Record a successfully run hook in the unit's local state (runHook.Commit)."""
    local.error = None
    k = info.kind
    if k == "install":
        local.installed = True
        local.charm_revision = remote.charm_revision
    elif k == "start":
        local.started = True
        local.queued = ""
        local.reboot_detected = False
    elif k == "stop":
        local.stopped = True
    elif k == "remove":
        local.removed = True
    elif k == "upgrade-charm":
        local.charm_revision = remote.charm_revision
        local.queued = "config-changed"
        return
    elif k == "config-changed":
        local.config_hash = remote.config_hash
        local.queued = "" if local.started else "start"
        return
    elif k == "leader-elected":
        local.leader = True
    elif k == "leader-settings-changed":
        local.leader_settings_version = remote.leader_settings_version
    elif k == "storage-attached":
        if info.storage_id not in local.storage_attached:
            local.storage_attached.append(info.storage_id)
    elif k == "storage-detaching":
        if info.storage_id in local.storage_attached:
            local.storage_attached.remove(info.storage_id)
    elif k.startswith("relation-") and info.relation_id is not None:
        rl = local.relations.setdefault(str(info.relation_id), RelationLocal())
        if k == "relation-created":
            rl.created = True
        elif k == "relation-joined":
            rl.members[info.remote_unit] = info.change_version
            rl.changed_pending = info.remote_unit
        elif k == "relation-changed":
            if info.remote_unit:
                rl.members[info.remote_unit] = info.change_version
                if rl.changed_pending == info.remote_unit:
                    rl.changed_pending = ""
            else:
                rl.app_members[info.remote_app] = info.change_version
        elif k == "relation-departed":
            rl.members.pop(info.remote_unit, None)
        elif k == "relation-broken":
            local.relations.pop(str(info.relation_id), None)
    if local.queued == k:
        local.queued = ""

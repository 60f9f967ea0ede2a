"""The hook context: the controller's implementation of the hook tools' ToolContext.

One context per hook, action or ``juju exec`` run. Writes that Juju batches (relation-set,
ports, charm state) are buffered here and applied by :meth:`HookContext.commit` only when the
process exited 0; status-set, leader-set, juju-log, action-log and application-version-set are
applied at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..hooktools.context import (
    ApplicationStatusInfo,
    GoalState,
    GoalStateEntry,
    InterfaceAddress,
    NetworkInfo,
    NetworkInterface,
    PortRange,
    RelationInfo,
    StatusInfo,
    StorageInfo,
    ToolError,
)
from .resolver import HookInfo
from .state import Model, Settings, Task, Unit, now, parse_port, sort_ports, unit_tag

if TYPE_CHECKING:
    from .charm import Charm
    from .machines import Machine, Network
    from .storage import StorageManager


class ContextController(Protocol):
    """What a hook context uses of the controller (the Controller has it all): the model, its
    network, the machines, the charms, the change and debug-log sinks."""

    @property
    def model(self) -> Model: ...

    @property
    def network(self) -> Network: ...

    def machine(self, mid: str) -> Machine: ...

    def charm(self, app: str) -> Charm: ...

    def app_config(self, app: str) -> dict[str, Any]: ...

    def resource_get(self, unit: str, name: str) -> str: ...

    def changed(self) -> None: ...

    @property
    def storage(self) -> StorageManager: ...

    def save(self) -> None: ...

    def debug(self, entity: str, level: str, module: str, message: str) -> None: ...


class ContextAgent(Protocol):
    """What a hook context uses of its unit agent (the UnitAgent has it all)."""

    @property
    def ctl(self) -> ContextController: ...

    @property
    def unit_name(self) -> str: ...

    @property
    def unit(self) -> Unit: ...

    @property
    def cache(self) -> dict[tuple[int, str], dict[str, str]]: ...


class HookContext:
    def __init__(self, agent: ContextAgent, hook: HookInfo | None, task: Task | None):
        self.agent = agent
        self.ctl = agent.ctl
        self.hook = hook
        self.task = task
        name = hook.name if hook else (task.name if task else "")
        self.id = f"{agent.unit_name}-{name}-{secrets.token_hex(16)}"
        self.stdout = bytearray()
        self.stderr = bytearray()
        # Buffered until commit.
        self.rel_unit: dict[int, dict[str, str]] = {}
        self.rel_app: dict[int, dict[str, str]] = {}
        self.ports_open: list[tuple[str, PortRange]] = []
        self.ports_close: list[tuple[str, PortRange]] = []
        self.state_changes: dict[str, str | None] = {}
        self.storage_requests: dict[str, int] = {}
        self.reboot = ""
        # Action results.
        self.action_results: dict[str, Any] = {}
        self.action_failed = False
        self.action_fail_message = ""
        self.action_log_entries: list[dict[str, str]] = []
        self.unit_status_set = False  # HasExecutionSetUnitStatus

    # ------------------------------------------------------------------ helpers

    @property
    def unit(self) -> Any:
        return self.agent.unit

    @property
    def model(self) -> Any:
        return self.ctl.model

    def storage_location(self, storage_id: str) -> str:
        st = self.model.storage.get(storage_id)
        return self.ctl.storage.location(st) if st is not None else ""

    def commit(self) -> None:
        """Apply the buffered writes (the hook exited 0)."""
        m = self.model
        unit = self.unit
        for rid, changes in self.rel_unit.items():
            rel = m.relations.get(str(rid))
            if rel is None:
                continue
            settings = rel.units.setdefault(unit.name, Settings())
            settings.update(changes)
        for rid, changes in self.rel_app.items():
            rel = m.relations.get(str(rid))
            if rel is None:
                continue
            app = m.applications[unit.app]
            if app.leader != unit.name:
                # Juju 3 wraps app settings in a leadership check: the whole commit fails.
                continue
            settings = rel.apps.setdefault(unit.app, Settings())
            if settings.update(changes) and rel.is_peer:
                # The writer gets no relation-changed for its own write.
                rl = unit.local.relations.get(str(rid))
                if rl is not None:
                    rl.app_members[unit.app] = settings.version
        by_ep = {ep: set(v) for ep, v in unit.endpoint_ports.items()}
        for ep, pr in self.ports_open:
            by_ep.setdefault(ep, set()).add(str(pr))
        for ep, pr in self.ports_close:
            by_ep.get(ep, set()).discard(str(pr))
        unit.endpoint_ports = {ep: sort_ports(v) for ep, v in sorted(by_ep.items()) if v}
        for k, v in self.state_changes.items():
            if v is None:
                unit.charm_state.pop(k, None)
            else:
                unit.charm_state[k] = v
        if self.storage_requests:
            self.ctl.storage.add_from_hook(unit, self.storage_requests)

    # ------------------------------------------------------------------ identity

    @property
    def unit_name(self) -> str:
        return str(self.agent.unit_name)

    @property
    def model_name(self) -> str:
        return str(self.model.name)

    @property
    def model_uuid(self) -> str:
        return str(self.model.uuid)

    @property
    def hook_name(self) -> str:
        return self.hook.name if self.hook else ""

    @property
    def hook_relation_id(self) -> int | None:
        return self.hook.relation_id if self.hook else None

    @property
    def remote_unit(self) -> str:
        return self.hook.remote_unit if self.hook else ""

    @property
    def remote_app(self) -> str:
        if not self.hook or self.hook.relation_id is None:
            return ""
        if self.hook.remote_app:
            return self.hook.remote_app
        rel = self.model.relations.get(str(self.hook.relation_id))
        return str(rel.other_app(self.unit.app)) if rel else ""

    @property
    def departing_unit(self) -> str:
        if self.hook and self.hook.kind == "relation-departed":
            return self.hook.departing_unit
        return ""

    @property
    def hook_storage_id(self) -> str | None:
        return self.hook.storage_id if self.hook and self.hook.storage_id else None

    # ------------------------------------------------------------------ actions

    def action_params(self) -> Mapping[str, Any] | None:
        if self.task is None or self.task.name == "juju-exec":
            return None
        return self.task.params

    def action_set_result(self, keys: list[str], value: str) -> None:
        d = self.action_results
        for k in keys[:-1]:
            nxt = d.get(k)
            if not isinstance(nxt, dict):
                nxt = {}
                d[k] = nxt
            d = nxt
        d[keys[-1]] = value

    def action_fail(self, message: str) -> None:
        self.action_failed = True
        self.action_fail_message = message

    def action_log(self, message: str) -> None:
        self.action_log_entries.append({"timestamp": now(), "message": message})
        if self.task is not None:
            self.task.log = list(self.action_log_entries)
            self.ctl.changed()

    # ------------------------------------------------------------------ leadership

    def is_leader(self) -> bool:
        return bool(self.model.applications[self.unit.app].leader == self.unit.name)

    def leader_settings(self) -> Mapping[str, str]:
        return dict(self.model.applications[self.unit.app].leader_settings.data)

    def write_leader_settings(self, settings: Mapping[str, str]) -> None:
        if not self.is_leader():
            # the tool prefixes "cannot write leadership settings: "
            raise ToolError("cannot write settings: not the leader")
        app = self.model.applications[self.unit.app]
        if app.leader_settings.update(dict(settings)):
            # The leader does not run leader-settings-changed for its own writes.
            self.ctl.changed()
            self.ctl.save()

    # ------------------------------------------------------------------ relations

    def _members(self, rid: int) -> tuple[str, ...]:
        rl = self.unit.local.relations.get(str(rid))
        members = set(rl.members) if rl else set()
        h = self.hook
        if h is not None and h.relation_id == rid:
            if h.kind == "relation-joined" and h.remote_unit:
                members.add(h.remote_unit)
            elif h.kind == "relation-departed":
                members.discard(h.remote_unit)
            elif h.kind == "relation-broken":
                members = set()
        return tuple(sorted(members))

    def relation_ids(self) -> list[int]:
        """HookContext.RelationIds: dead relations and "broken" ones are left out. Broken is
        decided when the context is made (contextFactory): a non-peer relation that is dying
        with no members in the unit's committed state (so a relation stays listed in its last
        departed hook), or the relation whose relation-broken hook this is."""
        out = []
        for key, local in self.unit.local.relations.items():
            rid = int(key)
            rel = self.model.relations.get(key)
            if rel is None:
                continue
            if self.hook and self.hook.kind == "relation-broken" and self.hook.relation_id == rid:
                continue
            if not rel.is_peer and rel.life != "alive" and not local.members:
                continue
            out.append(rid)
        return out

    def relation(self, relation_id: int) -> RelationInfo | None:
        rel = self.model.relations.get(str(relation_id))
        if rel is None:
            return None
        if str(relation_id) not in self.unit.local.relations and not (
            self.hook and self.hook.relation_id == relation_id
        ):
            return None
        ep = rel.endpoint_of(self.unit.app)
        if ep is None:
            return None
        return RelationInfo(
            id=relation_id,
            endpoint=ep.name,
            remote_app=rel.other_app(self.unit.app),
            is_peer=rel.is_peer,
            members=self._members(relation_id),
        )

    def relation_unit_settings(self, relation_id: int, unit: str) -> Mapping[str, str]:
        rel = self.model.relations.get(str(relation_id))
        if rel is None:
            raise ToolError(f"relation {relation_id} not found")
        if unit == self.unit.name:
            data = dict(rel.units[unit].data) if unit in rel.units else {}
            for k, v in self.rel_unit.get(relation_id, {}).items():
                if v == "":
                    data.pop(k, None)
                else:
                    data[k] = v
            return data
        key = (relation_id, unit)
        if key not in self.agent.cache:
            if unit not in rel.units:
                raise ToolError(f'cannot read settings for unit "{unit}" in relation '
                                f'"{rel.key}": unit "{unit}": settings not found')  # fmt: skip
            self.agent.cache[key] = dict(rel.units[unit].data)
        return dict(self.agent.cache[key])

    def relation_app_settings(self, relation_id: int, app: str) -> Mapping[str, str]:
        rel = self.model.relations.get(str(relation_id))
        if rel is None:
            raise ToolError(f"relation {relation_id} not found")
        data = dict(rel.apps[app].data) if app in rel.apps else {}
        if app == self.unit.app and self.is_leader():
            for k, v in self.rel_app.get(relation_id, {}).items():
                if v == "":
                    data.pop(k, None)
                else:
                    data[k] = v
        return data

    def update_relation_settings(
        self, relation_id: int, changes: Mapping[str, str], application: bool
    ) -> None:
        target = self.rel_app if application else self.rel_unit
        target.setdefault(relation_id, {}).update(changes)

    # ------------------------------------------------------------------ config

    def config(self) -> Mapping[str, Any]:
        return self.ctl.app_config(self.unit.app)

    # ------------------------------------------------------------------ status

    def unit_status(self) -> StatusInfo:
        s = self.unit.workload_status
        return StatusInfo(s.current, s.message, dict(s.data), self.unit.name)

    def application_status(self) -> ApplicationStatusInfo:
        app = self.model.applications[self.unit.app]
        units = tuple(
            StatusInfo(u.workload_status.current, u.workload_status.message,
                       dict(u.workload_status.data), u.name)
            for u in self.model.app_units(app.name)
        )  # fmt: skip
        return ApplicationStatusInfo(
            StatusInfo(app.status.current, app.status.message, dict(app.status.data), app.name),
            units,
        )

    def set_unit_status(self, status: str, message: str) -> None:
        self.unit_status_set = True
        if self.unit.workload_status.set(status, message):
            self.ctl.changed()

    def set_application_status(self, status: str, message: str) -> None:
        app = self.model.applications[self.unit.app]
        if app.status.set(status, message):
            self.ctl.changed()

    def set_workload_version(self, version: str) -> None:
        app = self.model.applications[self.unit.app]
        if app.workload_version != version:
            app.workload_version = version
            self.ctl.changed()

    # ------------------------------------------------------------------ ports

    def open_port_range(self, endpoint: str, port_range: PortRange) -> None:
        if endpoint and endpoint not in self.ctl.charm(self.unit.app).endpoints:
            raise ToolError(f'endpoint "{endpoint}" not found')
        self.ports_open.append((endpoint, port_range))

    def close_port_range(self, endpoint: str, port_range: PortRange) -> None:
        if endpoint and endpoint not in self.ctl.charm(self.unit.app).endpoints:
            raise ToolError(f'endpoint "{endpoint}" not found')
        self.ports_close.append((endpoint, port_range))

    def opened_port_ranges(self) -> Mapping[str, list[PortRange]]:
        return {ep: [parse_port(p) for p in v] for ep, v in self.unit.endpoint_ports.items()}

    # ------------------------------------------------------------------ network

    def _address(self) -> str:
        return str(self.model.machines[self.unit.machine].address)

    def public_address(self) -> str:
        return self._address()

    def private_address(self) -> str:
        return self._address()

    def network_info(self, binding: str, relation_id: int | None) -> NetworkInfo | None:
        charm = self.ctl.charm(self.unit.app)
        if binding and binding not in charm.endpoints and binding not in charm.extra_bindings:
            return None
        addr = self._address()
        net = self.ctl.network
        iface = NetworkInterface(
            mac_address=self.ctl.machine(self.unit.machine).mac_address(),
            interface_name="eth0",
            addresses=(InterfaceAddress(value=addr, cidr=str(net.subnet)),),
        )
        return NetworkInfo(
            interfaces=(iface,), egress_subnets=(f"{addr}/32",), ingress_addresses=(addr,)
        )

    # ------------------------------------------------------------------ logging

    def log(self, level: str, message: str) -> None:
        # the juju-log tool puts the relation's "<endpoint>:<id>: " in front (jujuc/juju-log.go)
        self.ctl.debug(unit_tag(self.unit.name), level, f"unit.{self.unit.name}.juju-log", message)

    # ------------------------------------------------------------------ storage

    def storage_ids(self) -> list[str]:
        """The unit's storage attachments (UnitStorageAttachments), dying ones included."""
        mine = self.ctl.storage.of_unit(self.unit.name)
        return [s.id for s in sorted(mine, key=lambda s: int(s.id.split("/")[1]))]

    def storage(self, storage_id: str) -> StorageInfo | None:
        st = self.model.storage.get(storage_id)
        if st is None or st.unit != self.unit.name:
            return None
        return StorageInfo(storage_id, st.kind, self.storage_location(storage_id))

    def add_storage(self, constraints: Mapping[str, int]) -> None:
        for k, v in constraints.items():
            self.storage_requests[k] = self.storage_requests.get(k, 0) + v

    # ------------------------------------------------------------------ resources

    def resource_path(self, name: str) -> str:
        return self.ctl.resource_get(self.unit.name, name)

    # ------------------------------------------------------------------ goal state

    def goal_state(self) -> GoalState:
        m = self.model
        app = m.applications[self.unit.app]

        def entry(u: Any) -> GoalStateEntry:
            st = "dying" if u.life != "alive" else u.workload_status.current
            return GoalStateEntry(st, u.workload_status.since)

        units = {u.name: entry(u) for u in m.app_units(app.name)}
        relations: dict[str, dict[str, GoalStateEntry]] = {}
        for rel in m.relations_of(app.name):
            if rel.is_peer:
                continue
            ep = rel.endpoint_of(app.name)
            other = rel.other_app(app.name)
            d = relations.setdefault(ep.name, {})
            d[other] = GoalStateEntry("joined" if rel.life == "alive" else "broken")
            for u in m.app_units(other):
                d[u.name] = entry(u)
        return GoalState(units=units, relations=relations)

    # ------------------------------------------------------------------ charm state

    def charm_state(self) -> Mapping[str, str]:
        data = dict(self.unit.charm_state)
        for k, v in self.state_changes.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v
        return data

    def set_charm_state(self, key: str, value: str) -> None:
        self.state_changes[key] = value

    def delete_charm_state(self, key: str) -> None:
        self.state_changes[key] = None

    # ------------------------------------------------------------------ misc

    def cloud_spec(self) -> Mapping[str, Any] | None:
        return None

    def request_reboot(self, now: bool) -> None:
        self.reboot = "now" if now else "after"

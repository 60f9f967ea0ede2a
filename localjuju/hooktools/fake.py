"""An in-memory :class:`~localjuju.hooktools.context.ToolContext` for tests (and a reference
for the controller's implementation).

Buffered until :meth:`FakeContext.commit` (hook exited 0) or dropped by
:meth:`FakeContext.discard` (hook failed): relation-set (unit and app buckets), open-port /
close-port, state-set / state-delete, storage-add. Immediate: status-set, leader-set, juju-log,
action-log, action-set/fail, application-version-set, juju-reboot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .context import (
    ApplicationStatusInfo,
    GoalState,
    NetworkInfo,
    PortRange,
    RelationInfo,
    StatusInfo,
    StorageInfo,
    ToolError,
)

__all__ = ["FakeRelation", "FakeContext"]


@dataclass
class FakeRelation:
    """A relation with its committed data buckets (unit name / app name -> settings)."""

    id: int
    endpoint: str
    remote_app: str
    is_peer: bool = False
    members: list[str] = field(default_factory=list)
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    apps: dict[str, dict[str, str]] = field(default_factory=dict)
    broken: bool = False

    def info(self) -> RelationInfo:
        return RelationInfo(
            id=self.id,
            endpoint=self.endpoint,
            remote_app=self.remote_app,
            is_peer=self.is_peer,
            members=tuple(self.members),
        )


@dataclass
class FakeContext:
    """A hook or action context held entirely in memory."""

    unit_name: str = "etcd/0"
    model_name: str = "test"
    model_uuid: str = "b7e5c0de-0000-4000-8000-000000000001"
    hook_name: str = "install"
    hook_relation_id: int | None = None
    remote_unit: str = ""
    remote_app: str = ""
    departing_unit: str = ""
    hook_storage_id: str | None = None

    leader: bool = False
    leader_data: dict[str, str] = field(default_factory=dict)
    relations: dict[int, FakeRelation] = field(default_factory=dict)
    config_values: dict[str, Any] = field(default_factory=dict)

    status: StatusInfo = field(default_factory=lambda: StatusInfo("unknown"))
    app_status: StatusInfo = field(default_factory=lambda: StatusInfo("unknown"))
    peer_statuses: dict[str, StatusInfo] = field(default_factory=dict)
    workload_version: str = ""

    endpoints: set[str] | None = None
    ports: dict[str, list[PortRange]] = field(default_factory=dict)

    public_addr: str = "10.5.0.9"
    private_addr: str = "10.5.0.9"
    networks: dict[str, NetworkInfo] = field(default_factory=dict)
    relation_networks: dict[tuple[str, int], NetworkInfo] = field(default_factory=dict)

    logs: list[tuple[str, str]] = field(default_factory=list)
    storages: dict[str, StorageInfo] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    goal: GoalState = field(default_factory=GoalState)
    state: dict[str, str] = field(default_factory=dict)
    cloud: dict[str, Any] | None = None
    reboot: str = ""

    params: dict[str, Any] | None = None
    results: dict[str, Any] = field(default_factory=dict)
    failed: bool = False
    fail_message: str = ""
    action_messages: list[str] = field(default_factory=list)

    # pending (buffered) changes
    pending_relation: dict[tuple[int, bool], dict[str, str]] = field(default_factory=dict)
    pending_ports: list[tuple[str, str, PortRange]] = field(default_factory=list)
    pending_state: dict[str, str | None] = field(default_factory=dict)
    pending_storage: list[dict[str, int]] = field(default_factory=list)

    # ---- commit semantics -------------------------------------------------------------------
    @property
    def app_name(self) -> str:
        return self.unit_name.split("/", 1)[0]

    def commit(self) -> None:
        """Apply this context's buffered changes (the hook exited 0)."""
        for (rid, app), changes in self.pending_relation.items():
            rel = self.relations[rid]
            key = self.app_name if app else self.unit_name
            bucket = (rel.apps if app else rel.units).setdefault(key, {})
            for k, v in changes.items():
                if v == "":
                    bucket.pop(k, None)
                else:
                    bucket[k] = v
        for op, endpoint, pr in self.pending_ports:
            ranges = self.ports.setdefault(endpoint, [])
            if op == "open" and pr not in ranges:
                ranges.append(pr)
            elif op == "close" and pr in ranges:
                ranges.remove(pr)
                if not ranges:
                    del self.ports[endpoint]
        for key, value in self.pending_state.items():
            if value is None:
                self.state.pop(key, None)
            else:
                self.state[key] = value
        self.discard()

    def discard(self) -> None:
        """Drop this context's buffered changes (the hook failed)."""
        self.pending_relation = {}
        self.pending_ports = []
        self.pending_state = {}
        self.pending_storage = []

    # ---- actions ---------------------------------------------------------------------------
    def action_params(self) -> Mapping[str, Any] | None:
        return self.params

    def action_set_result(self, keys: list[str], value: str) -> None:
        target = self.results
        for key in keys[:-1]:
            nxt = target.get(key)
            if not isinstance(nxt, dict):
                nxt = {}
                target[key] = nxt
            target = nxt
        target[keys[-1]] = value

    def action_fail(self, message: str) -> None:
        self.failed = True
        self.fail_message = message

    def action_log(self, message: str) -> None:
        self.action_messages.append(message)

    # ---- leadership ------------------------------------------------------------------------
    def is_leader(self) -> bool:
        return self.leader

    def leader_settings(self) -> Mapping[str, str]:
        return dict(self.leader_data)

    def write_leader_settings(self, settings: Mapping[str, str]) -> None:
        if not self.leader:
            raise ToolError("cannot write settings: not the leader")
        for k, v in settings.items():
            if v == "":
                self.leader_data.pop(k, None)
            else:
                self.leader_data[k] = v

    # ---- relations -------------------------------------------------------------------------
    def relation_ids(self) -> list[int]:
        return [rid for rid, rel in self.relations.items() if not rel.broken]

    def relation(self, relation_id: int) -> RelationInfo | None:
        rel = self.relations.get(relation_id)
        return rel.info() if rel is not None else None

    def relation_unit_settings(self, relation_id: int, unit: str) -> Mapping[str, str]:
        rel = self.relations[relation_id]
        data = rel.units.get(unit)
        if unit == self.unit_name:
            merged = dict(data or {})
            for k, v in self.pending_relation.get((relation_id, False), {}).items():
                if v == "":
                    merged.pop(k, None)
                else:
                    merged[k] = v
            return merged
        if data is None:
            raise ToolError(
                f'cannot read settings for unit "{unit}" in relation "{rel.endpoint}:{rel.id}":'
                f' unit "{unit}": settings not found'
            )
        return dict(data)

    def relation_app_settings(self, relation_id: int, app: str) -> Mapping[str, str]:
        rel = self.relations[relation_id]
        merged = dict(rel.apps.get(app, {}))
        if app == self.app_name and self.leader:
            for k, v in self.pending_relation.get((relation_id, True), {}).items():
                if v == "":
                    merged.pop(k, None)
                else:
                    merged[k] = v
        return merged

    def update_relation_settings(
        self, relation_id: int, changes: Mapping[str, str], application: bool
    ) -> None:
        self.pending_relation.setdefault((relation_id, application), {}).update(changes)

    # ---- config ----------------------------------------------------------------------------
    def config(self) -> Mapping[str, Any]:
        return dict(self.config_values)

    # ---- status ----------------------------------------------------------------------------
    def unit_status(self) -> StatusInfo:
        return self.status

    def application_status(self) -> ApplicationStatusInfo:
        units = {self.unit_name: self.status, **self.peer_statuses}
        return ApplicationStatusInfo(
            application=self.app_status,
            units=tuple(
                StatusInfo(s.status, s.message, s.data, tag=name) for name, s in units.items()
            ),
        )

    def set_unit_status(self, status: str, message: str) -> None:
        self.status = StatusInfo(status, message)

    def set_application_status(self, status: str, message: str) -> None:
        self.app_status = StatusInfo(status, message)

    def set_workload_version(self, version: str) -> None:
        self.workload_version = version

    # ---- ports -----------------------------------------------------------------------------
    def _check_endpoint(self, endpoint: str) -> None:
        if endpoint and self.endpoints is not None and endpoint not in self.endpoints:
            raise ToolError(f'endpoint "{endpoint}" for application "{self.app_name}" not found')

    def open_port_range(self, endpoint: str, port_range: PortRange) -> None:
        self._check_endpoint(endpoint)
        self.pending_ports.append(("open", endpoint, port_range))

    def close_port_range(self, endpoint: str, port_range: PortRange) -> None:
        self._check_endpoint(endpoint)
        self.pending_ports.append(("close", endpoint, port_range))

    def opened_port_ranges(self) -> Mapping[str, list[PortRange]]:
        return {k: list(v) for k, v in self.ports.items()}

    # ---- network ---------------------------------------------------------------------------
    def public_address(self) -> str:
        return self.public_addr

    def private_address(self) -> str:
        return self.private_addr

    def network_info(self, binding: str, relation_id: int | None) -> NetworkInfo | None:
        if relation_id is not None and (binding, relation_id) in self.relation_networks:
            return self.relation_networks[(binding, relation_id)]
        return self.networks.get(binding)

    # ---- logging ---------------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    # ---- storage / resources ----------------------------------------------------------------
    def storage_ids(self) -> list[str]:
        return list(self.storages)

    def storage(self, storage_id: str) -> StorageInfo | None:
        return self.storages.get(storage_id)

    def add_storage(self, constraints: Mapping[str, int]) -> None:
        self.pending_storage.append(dict(constraints))

    def resource_path(self, name: str) -> str:
        if name not in self.resources:
            raise ToolError(f'failed to download resource "{name}": resource not found')
        return self.resources[name]

    # ---- goal state / charm state / misc -----------------------------------------------------
    def goal_state(self) -> GoalState:
        return self.goal

    def charm_state(self) -> Mapping[str, str]:
        merged = dict(self.state)
        for k, v in self.pending_state.items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        return merged

    def set_charm_state(self, key: str, value: str) -> None:
        self.pending_state[key] = value

    def delete_charm_state(self, key: str) -> None:
        self.pending_state[key] = None

    def cloud_spec(self) -> Mapping[str, Any] | None:
        return self.cloud

    def request_reboot(self, now: bool) -> None:
        self.reboot = "now" if now else "after-hook"

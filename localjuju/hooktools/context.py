"""What the hook tools need from the unit agent: the ``ToolContext`` protocol.

The controller (unit agent) implements :class:`ToolContext` once per hook/action context. The
protocol is synchronous and data-oriented: every method answers from the agent's memory.

Division of work (see ``docs/localjuju-hooktools.md`` for the full table):

* The tools layer (this package) parses arguments, formats output and enforces the *pure*
  permission rules that follow from context data: leader-only writes (``leader-set``,
  ``relation-set --app``, ``status-set/status-get --application``), who may read the local
  application bucket (leader, or any unit in a peer relation), reads of units/apps that are not
  part of the relation, action-only tools, ``juju-reboot`` in actions, charm-state size quotas.
* The implementation of this protocol (the controller) owns the *state*: it buffers
  relation-set / open-port / close-port / state-set / state-delete / storage-add until the hook
  exits 0 (``commit``) or drops them on failure (``discard``), applies status-set, leader-set,
  juju-log, action-log and application-version-set immediately, keeps the hook-level view of
  relation membership (departing unit already removed in ``-relation-departed``), hides broken
  relations from :meth:`ToolContext.relation_ids`, caches remote settings, and validates things
  only it can know (endpoint names for ports, port conflicts, resources, storage ids).

Errors: any method may raise :class:`ToolError`; the tool prints ``ERROR <message>`` and exits
with ``code`` (1 unless stated). Methods documented as returning ``None`` for "not found" should
do that instead of raising.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ToolError",
    "RelationInfo",
    "StatusInfo",
    "ApplicationStatusInfo",
    "PortRange",
    "InterfaceAddress",
    "NetworkInterface",
    "NetworkInfo",
    "StorageInfo",
    "GoalStateEntry",
    "GoalState",
    "ToolContext",
]


class ToolError(Exception):
    """A hook tool failure: printed as ``ERROR <message>`` with exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RelationInfo:
    """One relation as the hook sees it.

    ``members`` is the hook-level view of remote units in scope (Juju's ``UnitNames``): a unit
    appears once its ``-relation-joined`` is running or has run, and the departing unit is
    already absent during ``-relation-departed``; empty in ``-relation-broken``.
    """

    id: int
    endpoint: str
    remote_app: str
    is_peer: bool = False
    members: tuple[str, ...] = ()

    @property
    def fake_id(self) -> str:
        """Juju's ``FakeId``: ``<endpoint>:<id>``, e.g. ``db:7``."""
        return f"{self.endpoint}:{self.id}"


@dataclass(frozen=True)
class StatusInfo:
    """A workload status of a unit or application (``Tag`` is the unit name for units)."""

    status: str
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    tag: str = ""


@dataclass(frozen=True)
class ApplicationStatusInfo:
    application: StatusInfo
    units: tuple[StatusInfo, ...] = ()


@dataclass(frozen=True, order=True)
class PortRange:
    """Juju ``network.PortRange``; ICMP is ``PortRange(-1, -1, "icmp")``.

    Ordering (protocol, from, to) is Juju's ``SortPortRanges`` order.
    """

    protocol: str
    from_port: int
    to_port: int

    def __str__(self) -> str:
        proto = self.protocol.lower()
        if proto == "icmp":
            return proto
        if self.from_port == self.to_port:
            return f"{self.from_port}/{proto}"
        return f"{self.from_port}-{self.to_port}/{proto}"


@dataclass(frozen=True)
class InterfaceAddress:
    value: str
    cidr: str = ""
    hostname: str = ""


@dataclass(frozen=True)
class NetworkInterface:
    mac_address: str = ""
    interface_name: str = ""
    addresses: tuple[InterfaceAddress, ...] = ()


@dataclass(frozen=True)
class NetworkInfo:
    """``params.NetworkInfoResult`` for one binding (already relation-specific when asked)."""

    interfaces: tuple[NetworkInterface, ...] = ()
    egress_subnets: tuple[str, ...] = ()
    ingress_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageInfo:
    """A storage attachment: id like ``data/0``, kind ``block``/``filesystem``, location."""

    id: str
    kind: str
    location: str


@dataclass(frozen=True)
class GoalStateEntry:
    status: str
    since: datetime.datetime | str | None = None


@dataclass(frozen=True)
class GoalState:
    """``application.GoalState``: ``units`` of the local application and, per non-peer
    endpoint, the remote application and its units (keyed by name)."""

    units: Mapping[str, GoalStateEntry] = field(default_factory=dict)
    relations: Mapping[str, Mapping[str, GoalStateEntry]] = field(default_factory=dict)


@runtime_checkable
class ToolContext(Protocol):
    """Everything the hook tools read from or write to the unit agent for one context."""

    # ---- identity ------------------------------------------------------------------------
    @property
    def unit_name(self) -> str:
        """The local unit, e.g. ``etcd/0``."""
        ...

    @property
    def model_name(self) -> str: ...

    @property
    def model_uuid(self) -> str: ...

    @property
    def hook_name(self) -> str:
        """Full hook name (``db-relation-joined``); ``""`` for actions."""
        ...

    # ---- hook relation / storage ------------------------------------------------------------
    @property
    def hook_relation_id(self) -> int | None:
        """The relation of a relation hook, else ``None``."""
        ...

    @property
    def remote_unit(self) -> str:
        """``JUJU_REMOTE_UNIT``; ``""`` when there is none."""
        ...

    @property
    def remote_app(self) -> str:
        """``JUJU_REMOTE_APP``; ``""`` when there is none."""
        ...

    @property
    def departing_unit(self) -> str:
        """``JUJU_DEPARTING_UNIT``; ``""`` outside ``-relation-departed``."""
        ...

    @property
    def hook_storage_id(self) -> str | None:
        """The storage instance of a storage hook (``data/0``), else ``None``."""
        ...

    # ---- actions --------------------------------------------------------------------------
    def action_params(self) -> Mapping[str, Any] | None:
        """Action parameters (with schema defaults), or ``None`` when not running an action."""
        ...

    def action_set_result(self, keys: list[str], value: str) -> None:
        """Set results[keys[0]][keys[1]]... = value (only called in actions)."""
        ...

    def action_fail(self, message: str) -> None:
        """Mark the running action failed with ``message`` (only called in actions)."""
        ...

    def action_log(self, message: str) -> None:
        """Record a progress message, immediately (only called in actions)."""
        ...

    # ---- leadership -----------------------------------------------------------------------
    def is_leader(self) -> bool:
        """True if the unit holds the lease; raise ToolError if unknown."""
        ...

    def leader_settings(self) -> Mapping[str, str]: ...

    def write_leader_settings(self, settings: Mapping[str, str]) -> None:
        """Immediate write (only called for the leader); an empty value deletes the key."""
        ...

    # ---- relations ------------------------------------------------------------------------
    def relation_ids(self) -> list[int]:
        """Ids of the relations the unit participates in, excluding dead and broken ones."""
        ...

    def relation(self, relation_id: int) -> RelationInfo | None:
        """Any relation known to this context (also broken ones during their broken hook)."""
        ...

    def relation_unit_settings(self, relation_id: int, unit: str) -> Mapping[str, str]:
        """A unit's bucket. For the local unit: including this hook's pending writes. For
        remote units: the agent's cached view. Raise ToolError when the unit has no settings
        in the relation."""
        ...

    def relation_app_settings(self, relation_id: int, app: str) -> Mapping[str, str]:
        """An application bucket. For the local app read by the leader: including pending
        writes; otherwise committed data. (Permission is checked by the tools layer.)"""
        ...

    def update_relation_settings(
        self, relation_id: int, changes: Mapping[str, str], application: bool
    ) -> None:
        """Buffer writes to the local unit bucket (or, ``application=True``, the local app
        bucket, leader only); an empty value deletes the key. Committed on hook success."""
        ...

    # ---- config ---------------------------------------------------------------------------
    def config(self) -> Mapping[str, Any]:
        """Every option in config.yaml: typed value (str/int/float/bool), ``None`` if unset
        and without default."""
        ...

    # ---- status / version -----------------------------------------------------------------
    def unit_status(self) -> StatusInfo: ...

    def application_status(self) -> ApplicationStatusInfo:
        """Only called for the leader."""
        ...

    def set_unit_status(self, status: str, message: str) -> None:
        """Immediate."""
        ...

    def set_application_status(self, status: str, message: str) -> None:
        """Immediate; only called for the leader."""
        ...

    def set_workload_version(self, version: str) -> None:
        """Immediate."""
        ...

    # ---- ports ----------------------------------------------------------------------------
    def open_port_range(self, endpoint: str, port_range: PortRange) -> None:
        """Buffer an open request (``endpoint=""``: all endpoints)."""
        ...

    def close_port_range(self, endpoint: str, port_range: PortRange) -> None:
        """Buffer a close request (``endpoint=""``: all endpoints)."""
        ...

    def opened_port_ranges(self) -> Mapping[str, list[PortRange]]:
        """Committed port ranges of this unit grouped by endpoint (``""`` = all)."""
        ...

    # ---- network --------------------------------------------------------------------------
    def public_address(self) -> str: ...

    def private_address(self) -> str: ...

    def network_info(self, binding: str, relation_id: int | None) -> NetworkInfo | None:
        """Network info of a binding (endpoint, extra-binding or ``""``), relation-specific
        ingress/egress when ``relation_id`` is given; ``None`` for an unknown binding."""
        ...

    # ---- logging --------------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        """Write ``message`` to the unit log (module ``unit.<unit>.juju-log``); level is one of
        TRACE DEBUG INFO WARNING ERROR CRITICAL."""
        ...

    # ---- storage --------------------------------------------------------------------------
    def storage_ids(self) -> list[str]:
        """Attached storage instance ids in the agent's order."""
        ...

    def storage(self, storage_id: str) -> StorageInfo | None: ...

    def add_storage(self, constraints: Mapping[str, int]) -> None:
        """Buffer ``storage-add`` requests: storage name -> count."""
        ...

    # ---- resources ------------------------------------------------------------------------
    def resource_path(self, name: str) -> str:
        """Local path of the resource file; raise ToolError(<why>) if it cannot be fetched."""
        ...

    # ---- goal state -----------------------------------------------------------------------
    def goal_state(self) -> GoalState: ...

    # ---- charm state ----------------------------------------------------------------------
    def charm_state(self) -> Mapping[str, str]:
        """Charm state including this hook's pending state-set/state-delete."""
        ...

    def set_charm_state(self, key: str, value: str) -> None:
        """Buffered; committed on success."""
        ...

    def delete_charm_state(self, key: str) -> None:
        """Buffered; committed on success."""
        ...

    # ---- credentials / reboot ---------------------------------------------------------------
    def cloud_spec(self) -> Mapping[str, Any] | None:
        """The cloud spec for trusted applications; ``None`` when not trusted. Keys are
        ``params.CloudSpec``'s JSON names (``type``, ``name``, ``region``, ``endpoint``,
        ``identity-endpoint``, ``storage-endpoint``, ``credential`` = {``auth-type``,
        ``attrs``, ``redacted``}, ``cacertificates``, ``skip-tls-verify``,
        ``is-controller-cloud``); other keys are not printed."""
        ...

    def request_reboot(self, now: bool) -> None:
        """Flag a reboot after the hook (``now=False``) or immediately (``now=True``)."""
        ...

"""The model's state: what a Juju controller stores, plus each unit agent's local state.

All of it lives in one JSON document (``state.json`` in the model directory), rewritten
atomically after every change, so that a crash of the CLI or of the controller loses nothing that
was committed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..hooktools.context import PortRange


def now() -> str:
    """Juju's timestamp form in status: RFC 3339 with the local offset."""
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def parse_port(s: str) -> PortRange:
    """``8080/tcp``, ``8000-8100/udp`` or ``icmp``, as open-port takes them."""
    if s == "icmp":
        return PortRange("icmp", -1, -1)
    ports, proto = s.split("/")
    a, _, b = ports.partition("-")
    return PortRange(proto, int(a), int(b or a))


def sort_ports(ports: set[str] | list[str]) -> list[str]:
    return sorted(ports, key=lambda s: (parse_port(s).protocol, parse_port(s).from_port))


def unit_tag(unit: str) -> str:
    """A unit's tag, as Juju names its agent directory and its debug-log entity: a/0 -> unit-a-0."""
    return "unit-" + unit.replace("/", "-")


@dataclass
class StatusInfo:
    current: str = "unknown"
    message: str = ""
    since: str = field(default_factory=now)
    data: dict[str, Any] = field(default_factory=dict)

    def set(self, current: str, message: str = "", data: dict[str, Any] | None = None) -> bool:
        """Set the status; returns whether anything changed (``since`` moves only then)."""
        data = data or {}
        if (self.current, self.message, self.data) == (current, message, data):
            return False
        self.current, self.message, self.data, self.since = current, message, data, now()
        return True


@dataclass
class Settings:
    """A relation settings bucket with its version (bumped on every committed change)."""

    data: dict[str, str] = field(default_factory=dict)
    version: int = 0

    def update(self, changes: dict[str, str]) -> bool:
        new = dict(self.data)
        for k, v in changes.items():
            if v == "":
                new.pop(k, None)
            else:
                new[k] = v
        if new == self.data:
            return False
        self.data = new
        self.version += 1
        return True


@dataclass
class Endpoint:
    app: str
    name: str
    role: str  # provider | requirer | peer
    interface: str
    scope: str = "global"


@dataclass
class Relation:
    id: int
    endpoints: list[Endpoint]
    life: str = "alive"  # alive | dying
    # Units in scope -> True when departing (PrepareLeaveScope: reported as departed).
    scope: dict[str, bool] = field(default_factory=dict)
    units: dict[str, Settings] = field(default_factory=dict)
    apps: dict[str, Settings] = field(default_factory=dict)

    @property
    def is_peer(self) -> bool:
        return len(self.endpoints) == 1

    @property
    def key(self) -> str:
        eps = sorted(self.endpoints, key=lambda e: (e.role != "requirer", e.app))
        return " ".join(f"{e.app}:{e.name}" for e in eps)

    def endpoint_of(self, app: str) -> Endpoint | None:
        for ep in self.endpoints:
            if ep.app == app:
                return ep
        return None

    def other_app(self, app: str) -> str:
        for ep in self.endpoints:
            if ep.app != app:
                return ep.app
        return app


@dataclass
class RelationLocal:
    """A unit agent's local state for one relation (Juju's relation state dir)."""

    created: bool = False
    members: dict[str, int] = field(default_factory=dict)
    app_members: dict[str, int] = field(default_factory=dict)
    changed_pending: str = ""


@dataclass
class HookError:
    hook: str
    relation_id: int | None = None
    remote_unit: str = ""
    remote_app: str = ""
    departing_unit: str = ""
    change_version: int = 0
    storage_id: str = ""
    attempts: int = 0
    # when the back-off retries it; UNTIL_RESTART for a hook its machine's end interrupted
    # (the uniter's state is still "run hook, pending": the restarted agent reports it)
    retry_at: float = 0.0


@dataclass
class UnitLocal:
    """What Juju's unit agent keeps on its machine (uniter state)."""

    installed: bool = False
    started: bool = False
    stopped: bool = False
    removed: bool = False
    leader: bool = False
    leader_settings_version: int = -1
    config_hash: str = ""
    address_hash: str = ""
    charm_revision: int = -1
    queued: str = ""  # a follow-up hook queued by a commit (start, config-changed)
    storage_attached: list[str] = field(default_factory=list)
    relations: dict[str, RelationLocal] = field(default_factory=dict)
    error: HookError | None = None
    update_status_due: float = 0.0
    status_set: bool = False  # the charm has set its workload status in some hook (StatusSet)
    # the machine restarted since the agent last ran: an implicit start hook is due once no
    # hook is pending (the uniter's reboot resolver)
    reboot_detected: bool = False


#: the retry time of a hook error that waits for its machine's agent to start again
UNTIL_RESTART = float("inf")

# Juju's resolved modes (params.ResolvedRetryHooks / params.ResolvedNoHooks; "" is ResolvedNone).
RESOLVED_RETRY_HOOKS = "retry-hooks"
RESOLVED_NO_HOOKS = "no-hooks"


@dataclass
class Unit:
    name: str
    machine: str
    # a subordinate unit's principal ("" for a principal unit); its machine is the principal's
    principal: str = ""
    life: str = "alive"  # alive | dying | dead
    workload_status: StatusInfo = field(
        default_factory=lambda: StatusInfo("waiting", "waiting for machine")
    )
    agent_status: StatusInfo = field(default_factory=lambda: StatusInfo("allocating"))
    # committed ports by endpoint ("" = every endpoint), each list in sort_ports order
    endpoint_ports: dict[str, list[str]] = field(default_factory=dict)
    charm_state: dict[str, str] = field(default_factory=dict)
    # `juju resolved` asked for (the unit document's "resolved" field in Juju):
    # "" (ResolvedNone), "retry-hooks" or "no-hooks"; the agent clears it when it acts on it.
    resolved: str = ""
    local: UnitLocal = field(default_factory=UnitLocal)

    @property
    def app(self) -> str:
        return self.name.split("/")[0]

    @property
    def number(self) -> int:
        return int(self.name.split("/")[1])

    @property
    def container(self) -> str:
        """The unit whose container (machine) this unit lives in: the principal's name, or its
        own for a principal (the container part of Juju's relation scope keys)."""
        return self.principal or self.name

    @property
    def opened_ports(self) -> list[str]:
        """Every endpoint's ports, as status shows them."""
        return sort_ports({p for ports in self.endpoint_ports.values() for p in ports})


@dataclass
class Resource:
    name: str
    path: str = ""  # host path of the uploaded file ("" = nothing uploaded)
    revision: int = 0
    fingerprint: str = ""
    size: int = 0
    origin: str = "upload"


@dataclass
class Application:
    name: str
    charm: str  # charm name
    charm_dir: str  # unpacked charm on the host
    charm_revision: int = 0
    charm_source: str = "local"  # local | builtin
    channel: str = ""
    base: str = "ubuntu@22.04"
    config: dict[str, Any] = field(default_factory=dict)  # user-set values only
    life: str = "alive"
    exposed: bool = False
    next_unit: int = 0
    leader: str = ""
    leader_settings: Settings = field(default_factory=Settings)
    status: StatusInfo = field(default_factory=lambda: StatusInfo("unset"))
    workload_version: str = ""
    resources: dict[str, Resource] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    # the storage each new unit gets (deploy --storage, with the defaults filled in):
    # store name -> {"pool", "size" (MiB), "count"}
    storage: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Machine:
    id: str
    hostname: str = ""
    address: str = ""
    status: StatusInfo = field(default_factory=lambda: StatusInfo("pending"))
    agent_status: StatusInfo = field(default_factory=lambda: StatusInfo("pending"))
    life: str = "alive"
    units: list[str] = field(default_factory=list)
    network_cut: bool = False
    base: str = "ubuntu@22.04"


@dataclass
class StorageInstance:
    """A storage instance (``data/0``) and its attachment to a unit, as Juju's state keeps
    them; its block device is a :class:`Volume`."""

    id: str
    kind: str = "block"
    pool: str = "loop"
    size: int = 1024  # MiB
    # the unit it is attached to ("" once detached) and that attachment's life: "alive", or
    # "dying" from detach-storage/remove-unit until the unit's storage-detaching hook commits
    unit: str = ""
    attachment_life: str = "alive"
    life: str = "alive"
    volume: str = ""
    # what follows the detaching hook: "detach" (keep the storage), "destroy" (remove it)
    then: str = "detach"

    @property
    def name(self) -> str:
        return self.id.split("/")[0]


@dataclass
class Volume:
    """A block volume: a sparse file in the model's directory, attached to at most one machine
    as a loop device."""

    id: str  # "0" (model-scoped) or "<machine>/<n>" (machine-scoped: the loop pool)
    storage: str
    pool: str
    size: int  # MiB
    file: str  # host path of its backing file
    machine: str = ""  # machine attached to ("" = detached)
    device: str = ""  # "loop3"
    life: str = "alive"
    status: StatusInfo = field(default_factory=lambda: StatusInfo("pending"))

    @property
    def provider_id(self) -> str:
        return "volume-" + self.id.replace("/", "-")


@dataclass
class Task:
    """An action or an exec run on a unit (Juju calls both operations/tasks)."""

    id: str
    unit: str
    name: str  # action name, or "juju-exec"
    params: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # pending | running | completed | failed | cancelled | error
    message: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    log: list[dict[str, str]] = field(default_factory=list)
    enqueued: str = field(default_factory=now)
    started: str = ""
    completed: str = ""
    operation: str = ""


@dataclass
class Model:
    name: str
    uuid: str
    network_index: int
    config: dict[str, Any] = field(default_factory=dict)
    life: str = "alive"
    next_machine: int = 0
    next_relation: int = 0
    next_task: int = 1
    next_operation: int = 1
    machines: dict[str, Machine] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    relations: dict[str, Relation] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    charm_revisions: dict[str, int] = field(default_factory=dict)
    # Juju's "stores" and "volume" sequences, model-wide
    next_storage: int = 0
    next_volume: int = 0
    storage: dict[str, StorageInstance] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)

    # ------------------------------------------------------------------ queries

    def relations_of(self, app: str) -> list[Relation]:
        return [r for r in self.relations.values() if r.endpoint_of(app) is not None]

    def app_units(self, app: str) -> list[Unit]:
        return [self.units[u] for u in self.applications[app].units if u in self.units]

    def subordinates_of(self, principal: str) -> list[Unit]:
        """The subordinate units deployed in ``principal``'s container."""
        return [u for u in self.units.values() if u.principal == principal]


MODEL_CONFIG_DEFAULTS: dict[str, Any] = {
    "update-status-hook-interval": "5m",
    "automatically-retry-hooks": True,
    "default-base": "",  # unset, as in Juju: deploy chooses the latest LTS the charm has
    "logging-config": "<root>=INFO",
    "juju-http-proxy": "",
    "juju-https-proxy": "",
    "juju-ftp-proxy": "",
    "juju-no-proxy": "127.0.0.1,localhost,::1",
    # localjuju only: how long a leader lease lasts after its agent died.
    "localjuju-lease-duration": "30s",
    # localjuju only: how long a forced removal waits for the unit's own teardown (Juju's
    # default max-wait, common.MaxWait) before the backstop removes it.
    "localjuju-force-max-wait": "1m",
    # localjuju only: whether the model's machines reach the snap store (false: an air-gapped
    # site, every store operation of snap fails as snapd's does; local files still install).
    "localjuju-snap-store-reachable": True,
    # localjuju only: how often each machine's snapd refreshes its snaps on its own (a
    # duration; 0, the default, never: snapd's real timer is four times a day).
    "localjuju-snap-auto-refresh": "0",
    # the pool of block storage given without one (unset on LXD: Juju's loop provider)
    "storage-default-block-source": "",
}
#: the localjuju-only model config keys that hold a duration
LOCALJUJU_DURATIONS = ("localjuju-lease-duration", "localjuju-force-max-wait")


# ---------------------------------------------------------------------- (de)serialisation


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_jsonable(v) for v in obj]
    return obj


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, globalns=globals())


def from_jsonable(cls: Any, data: Any) -> Any:
    origin = typing.get_origin(cls)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(cls) if a is not type(None)]
        return None if data is None else from_jsonable(args[0], data)
    if origin is dict:
        _, vt = typing.get_args(cls)
        return {k: from_jsonable(vt, v) for k, v in data.items()}
    if origin is list:
        (vt,) = typing.get_args(cls)
        return [from_jsonable(vt, v) for v in data]
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        hints = _hints(cls)
        kwargs = {
            f.name: from_jsonable(hints[f.name], data[f.name])
            for f in dataclasses.fields(cls)
            if f.name in data
        }
        return cls(**kwargs)
    return data


def save(model: Model, path: Path) -> None:
    """Write the model's state, replacing the file at once (a reader sees the old state or
    the new). The controller saves after every burst of changes: compact JSON (the C
    encoder; indenting takes the pure Python one) and no fsync (it blocks the event loop
    for tens of milliseconds; what a power cut would lose, the machines lose too)."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(to_jsonable(model), separators=(",", ":"), sort_keys=True))
    os.replace(tmp, path)


def load(path: Path) -> Model:
    with open(path) as f:
        return typing.cast(Model, from_jsonable(Model, json.load(f)))

"""``juju status``: the JSON, YAML and tabular forms Juju 3.6 prints for a machine model.

The input is a :class:`StatusDocument`, a plain description of the model at the level of
Juju's *formatted* status (juju ``cmd/juju/status/formatted.go``), so a controller fills
it directly. The builders apply the rules of ``cmd/juju/status/formatter.go`` (charm URL
to charm/charm-origin/charm-name/charm-rev, application relation lists, relation types,
error-status suffixes) and the output rules of ``output_tabular.go``.

JSON and YAML differ on purpose, as in Juju: Go's ``encoding/json`` ignores ``omitempty`` on
struct-typed fields (``"model-status":{}``, ``"workload-status":{}`` are always present),
go-yaml honours it. Both always carry ``storage`` (``{}`` when there is none) because
``juju status`` asks for storage in non-tabular formats.

Times: a ``since``/timestamp given as a ``datetime`` is formatted here with Juju's layouts
(``21 Nov 2025 16:19:05Z`` in local time, or ``2025-11-21 16:19:05Z`` with ``utc=True``,
i.e. ``juju status --utc`` / ``JUJU_STATUS_ISO_TIME``); a ``str`` is printed as given.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

from ._go import GoStruct, format_time, format_timestamp, go_json
from ._goyaml import go_yaml
from ._tabwriter import (
    BOLD_DEFAULT,
    BRIGHT_MAGENTA,
    ERROR,
    GOOD,
    GRAY,
    INFO,
    MAGENTA,
    WARNING,
    TabWriter,
    Wrapper,
    natural_sorted,
)

__all__ = [
    "StatusInfo",
    "Base",
    "NetworkInterface",
    "Machine",
    "Unit",
    "RelationEndpoint",
    "Relation",
    "Application",
    "ModelInfo",
    "RemoteEndpoint",
    "RemoteApplication",
    "Offer",
    "StatusDocument",
    "parse_charm_url",
    "status_value",
    "status_json",
    "status_yaml",
    "status_tabular",
    "empty_model_message",
    "no_match_message",
    "application_scale",
]

Since = datetime.datetime | str | None


@dataclasses.dataclass
class StatusInfo:
    """A status (``statusInfoContents``): model, machine, application, unit, agent.

    ``error`` replaces the whole object by ``{"status-error": error}`` as Juju does when the
    status could not be read.
    """

    current: str = ""
    message: str = ""
    since: Since = None
    version: str = ""
    reason: str = ""
    life: str = ""
    error: str | None = None

    def is_zero(self) -> bool:
        return not (
            self.current
            or self.message
            or self.since
            or self.version
            or self.reason
            or self.life
            or self.error
        )


@dataclasses.dataclass
class Base:
    """``formattedBase``: ``name`` ("ubuntu") and the display channel ("22.04")."""

    name: str
    channel: str

    def display(self) -> str:
        return f"{self.name}@{self.channel}"


@dataclasses.dataclass
class NetworkInterface:
    ip_addresses: list[str]
    mac_address: str
    gateway: str = ""
    dns_nameservers: list[str] = dataclasses.field(default_factory=list)
    space: str = ""
    is_up: bool = True


@dataclasses.dataclass
class Machine:
    """One machine (``machineStatus``); ``juju_status`` carries the agent version."""

    juju_status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    hostname: str = ""
    dns_name: str = ""
    ip_addresses: list[str] = dataclasses.field(default_factory=list)
    instance_id: str = ""
    display_name: str = ""
    machine_status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    modification_status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    base: Base | None = None
    network_interfaces: dict[str, NetworkInterface] = dataclasses.field(default_factory=dict)
    containers: dict[str, Machine] = dataclasses.field(default_factory=dict)
    constraints: str = ""
    hardware: str = ""
    controller_member_status: str = ""
    ha_primary: bool = False
    lxd_profiles: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    error: str | None = None


@dataclasses.dataclass
class Unit:
    """One unit (``unitStatus``). ``upgrading_from`` is the charm URL being replaced."""

    workload_status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    juju_status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    leader: bool = False
    upgrading_from: str = ""
    machine: str = ""
    open_ports: list[str] = dataclasses.field(default_factory=list)
    public_address: str = ""
    address: str = ""
    provider_id: str = ""
    subordinates: dict[str, Unit] = dataclasses.field(default_factory=dict)
    branch: str = ""
    #: the relation id a workload ``error`` status came from (status data "relation-id");
    #: Juju then appends `` for <app>:<endpoint>`` to the message.
    error_relation_id: int | None = None


@dataclasses.dataclass
class RelationEndpoint:
    application: str
    name: str
    role: str  # "provider", "requirer" or "peer"


@dataclasses.dataclass
class Relation:
    """One relation of the model (``params.RelationStatus``)."""

    id: int
    interface: str
    endpoints: list[RelationEndpoint]
    scope: str = "global"  # or "container"
    status: str = "joined"
    message: str = ""


@dataclasses.dataclass
class Application:
    """One application.

    ``charm_url`` is the charm's URL as the controller stores it (``local:etcd-0``,
    ``ch:amd64/jammy/etcd-12``); the builders derive ``charm``, ``charm-origin``,
    ``charm-name`` and ``charm-rev`` from it exactly as Juju's formatter does.
    ``relations`` maps endpoint to related application names; when ``None`` it is computed
    from :attr:`StatusDocument.relations`. ``version`` is the workload version.
    """

    charm_url: str
    base: Base | None = None
    charm_channel: str = ""
    charm_version: str = ""
    charm_profile: str = ""
    can_upgrade_to: str = ""
    scale: int = 0
    provider_id: str = ""
    address: str = ""
    exposed: bool = False
    life: str = ""
    status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    relations: dict[str, list[str]] | None = None
    subordinate_to: list[str] = dataclasses.field(default_factory=list)
    units: dict[str, Unit] = dataclasses.field(default_factory=dict)
    version: str = ""
    endpoint_bindings: dict[str, str] = dataclasses.field(default_factory=dict)
    error: str | None = None


@dataclasses.dataclass
class RemoteEndpoint:
    interface: str
    role: str


@dataclasses.dataclass
class RemoteApplication:
    """A consumed offer (SAAS, ``remoteApplicationStatus``)."""

    url: str
    endpoints: dict[str, RemoteEndpoint] = dataclasses.field(default_factory=dict)
    life: str = ""
    status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    relations: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    error: str | None = None


@dataclasses.dataclass
class Offer:
    """An offer of this model (``offerStatus``); ``charm_url`` as for applications."""

    application: str
    charm_url: str = ""
    total_connected_count: int = 0
    active_connected_count: int = 0
    endpoints: dict[str, RemoteEndpoint] = dataclasses.field(default_factory=dict)
    error: str | None = None


@dataclasses.dataclass
class ModelInfo:
    """The ``model`` section. ``sla`` is "unsupported" on a Juju 3 controller."""

    name: str
    controller: str
    cloud: str
    version: str
    type: str = "iaas"
    region: str = ""
    upgrade_available: str = ""
    status: StatusInfo = dataclasses.field(default_factory=StatusInfo)
    sla: str = "unsupported"


@dataclasses.dataclass
class StatusDocument:
    """Everything ``juju status`` prints for one model.

    ``controller_timestamp`` becomes ``controller.timestamp`` (and the tabular Timestamp
    column); ``storage`` is the already formatted ``CombinedStorage`` mapping
    (``{"storage": ..., "filesystems": ..., "volumes": ...}``), empty for none.
    """

    model: ModelInfo
    machines: dict[str, Machine] = dataclasses.field(default_factory=dict)
    applications: dict[str, Application] = dataclasses.field(default_factory=dict)
    relations: list[Relation] = dataclasses.field(default_factory=list)
    controller_timestamp: Since = None
    remote_applications: dict[str, RemoteApplication] = dataclasses.field(default_factory=dict)
    offers: dict[str, Offer] = dataclasses.field(default_factory=dict)
    storage: dict[str, Any] = dataclasses.field(default_factory=dict)


# -- helpers ---------------------------------------------------------------------------

_CHARM_REV = re.compile(r"^(.*)-(\d+)$")


def parse_charm_url(url: str) -> tuple[str, str, str, int]:
    """``(charm, charm-origin, charm-name, charm-rev)`` for a charm URL, as formatter.go.

    ``ch:amd64/jammy/etcd-12`` gives ``("etcd", "charmhub", "etcd", 12)``;
    ``local:etcd-0`` gives ``("local:etcd-0", "local", "etcd", 0)``.
    """
    if not url:
        return "", "", "", 0  # ParseURL fails: the formatter leaves the zero values
    schema, sep, rest = url.partition(":")
    if not sep:
        schema, rest = "ch", url
    name = rest.rsplit("/", 1)[-1]
    rev = -1
    m = _CHARM_REV.match(name)
    if m:
        name, rev = m.group(1), int(m.group(2))
    if schema == "ch":
        return name, "charmhub", name, rev
    if schema == "local":
        return url, "local", name, rev
    return url, "unknown", name, rev


def _since(v: Since, utc: bool, tz: datetime.tzinfo | None) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return format_time(v, utc=utc, tz=tz)


class _Ctx:
    def __init__(self, doc: StatusDocument, yaml: bool, utc: bool, tz: datetime.tzinfo | None):
        self.doc = doc
        self.yaml = yaml
        self.utc = utc
        self.tz = tz
        self.relations = {r.id: r for r in doc.relations}

    # struct fields -------------------------------------------------------------------
    def status(self, s: StatusInfo) -> Any:
        if s.error is not None:
            return GoStruct({"status-error": s.error})
        out = GoStruct()
        for key, value in (
            ("current", s.current),
            ("message", s.message),
            ("reason", s.reason),
            ("since", _since(s.since, self.utc, self.tz)),
            ("version", s.version),
            ("life", s.life),
        ):
            if value:
                out[key] = value
        return out

    def put_status(self, out: GoStruct, key: str, s: StatusInfo, yaml_omitempty: bool) -> None:
        # encoding/json never omits a struct; go-yaml omits a zero struct with omitempty
        if self.yaml and yaml_omitempty and s.is_zero():
            return
        out[key] = self.status(s)


def _put(out: GoStruct, key: str, value: Any) -> None:
    """Set a field tagged ``omitempty`` (same rule in both encoders for non-structs):
    skip ``""``, ``0``, ``False``, ``None`` and empty lists/maps."""
    if value is None or value is False or value == "":
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return
    if isinstance(value, (list, dict)) and not value:
        return
    out[key] = value


def _base(b: Base | None) -> GoStruct | None:
    if b is None:
        return None
    return GoStruct(name=b.name, channel=b.channel)


def _machine(c: _Ctx, m: Machine) -> GoStruct:
    if m.error is not None:
        return GoStruct({"status-error": m.error})
    out = GoStruct()
    c.put_status(out, "juju-status", m.juju_status, True)
    _put(out, "hostname", m.hostname)
    _put(out, "dns-name", m.dns_name)
    _put(out, "ip-addresses", list(m.ip_addresses))
    _put(out, "instance-id", m.instance_id)
    _put(out, "display-name", m.display_name)
    c.put_status(out, "machine-status", m.machine_status, True)
    c.put_status(out, "modification-status", m.modification_status, True)
    _put(out, "base", _base(m.base))
    nics = {}
    for name, n in m.network_interfaces.items():
        nic = GoStruct()
        nic["ip-addresses"] = list(n.ip_addresses)
        nic["mac-address"] = n.mac_address
        _put(nic, "gateway", n.gateway)
        _put(nic, "dns-nameservers", list(n.dns_nameservers))
        _put(nic, "space", n.space)
        nic["is-up"] = n.is_up
        nics[name] = nic
    _put(out, "network-interfaces", nics)
    _put(out, "containers", {k: _machine(c, v) for k, v in m.containers.items()})
    _put(out, "constraints", m.constraints)
    _put(out, "hardware", m.hardware)
    _put(out, "controller-member-status", m.controller_member_status)
    _put(out, "ha-primary", m.ha_primary)
    profiles = {
        k: GoStruct(
            config=dict(v.get("config") or {}),
            description=v.get("description", ""),
            devices=dict(v.get("devices") or {}),
        )
        for k, v in m.lxd_profiles.items()
    }
    _put(out, "lxd-profiles", profiles)
    return out


def _remote_ep(e: RemoteEndpoint) -> GoStruct:
    return GoStruct(interface=e.interface, role=e.role)


def _other_endpoint(rel: Relation, app: str) -> RelationEndpoint | None:
    for ep in rel.endpoints:
        if ep.application != app:
            return ep
    return None


def _unit(c: _Ctx, u: Unit, app_name: str) -> GoStruct:
    workload = u.workload_status
    if workload.error is not None:
        return GoStruct({"status-error": workload.error})
    if workload.current == "error" and u.error_relation_id is not None:
        rel = c.relations.get(u.error_relation_id)
        ep = _other_endpoint(rel, app_name) if rel else None
        if ep is not None:
            workload = dataclasses.replace(
                workload, message=f"{workload.message} for {ep.application}:{ep.name}"
            )
    out = GoStruct()
    if workload.current:
        ws = dataclasses.replace(workload, reason="", life="")
    else:
        ws = StatusInfo()  # getWorkloadStatusInfo returns an empty status for ""
    c.put_status(out, "workload-status", ws, True)
    c.put_status(out, "juju-status", dataclasses.replace(u.juju_status, reason="", life=""), True)
    _put(out, "leader", u.leader)
    _put(out, "upgrading-from", u.upgrading_from)
    _put(out, "machine", u.machine)
    _put(out, "open-ports", list(u.open_ports))
    _put(out, "public-address", u.public_address)
    _put(out, "address", u.address)
    _put(out, "provider-id", u.provider_id)
    _put(out, "subordinates", {k: _unit(c, v, app_name) for k, v in u.subordinates.items()})
    _put(out, "branch", u.branch)
    return out


def _app_relations(doc: StatusDocument, name: str) -> dict[str, list[str]]:
    related: dict[str, set[str]] = {}
    for rel in doc.relations:
        mine = [ep for ep in rel.endpoints if ep.application == name]
        for ep in mine:
            others = [o.application for o in rel.endpoints if o is not ep]
            if not others:  # peer relation
                others = [name]
            related.setdefault(ep.name, set()).update(others)
    return {k: sorted(v) for k, v in related.items()}


def _find_relation(c: _Ctx, app: str, endpoint: str, other: str) -> Relation | None:
    for rel in c.doc.relations:
        eps = rel.endpoints
        if app == other:
            if len(eps) == 1 and eps[0].name == endpoint and eps[0].application == app:
                return rel
            continue
        if len(eps) != 2:
            continue
        for idx, ep in enumerate(eps):
            if ep.application == app and ep.name == endpoint:
                if eps[1 - idx].application == other:
                    return rel
                break
    return None


def _application(c: _Ctx, name: str, a: Application) -> GoStruct:
    if a.error is not None:
        return GoStruct({"status-error": a.error})
    charm, origin, charm_name, rev = parse_charm_url(a.charm_url)
    out = GoStruct()
    out["charm"] = charm
    _put(out, "base", _base(a.base))
    out["charm-origin"] = origin
    out["charm-name"] = charm_name
    out["charm-rev"] = rev
    _put(out, "charm-channel", a.charm_channel)
    _put(out, "charm-version", a.charm_version)
    _put(out, "charm-profile", a.charm_profile)
    _put(out, "can-upgrade-to", a.can_upgrade_to)
    _put(out, "scale", a.scale)
    _put(out, "provider-id", a.provider_id)
    _put(out, "address", a.address)
    out["exposed"] = a.exposed
    _put(out, "life", a.life)
    # json: omitempty on a struct is ignored; yaml: no omitempty on application-status
    st = dataclasses.replace(a.status, reason="", life="")
    out["application-status"] = c.status(st)
    rels = a.relations if a.relations is not None else _app_relations(c.doc, name)
    formatted: dict[str, list[GoStruct]] = {}
    for endpoint, others in rels.items():
        formatted[endpoint] = []
        for other in others:
            rel = _find_relation(c, name, endpoint, other)
            if rel is None:
                continue
            entry = GoStruct()
            _put(entry, "related-application", other)
            _put(entry, "interface", rel.interface)
            _put(entry, "scope", rel.scope)
            formatted[endpoint].append(entry)
    _put(out, "relations", formatted)
    _put(out, "subordinate-to", list(a.subordinate_to))
    _put(out, "units", {k: _unit(c, v, name) for k, v in a.units.items()})
    _put(out, "version", a.version)
    _put(out, "endpoint-bindings", dict(a.endpoint_bindings))
    return out


def status_value(
    doc: StatusDocument,
    *,
    yaml: bool = False,
    utc: bool = False,
    tz: datetime.tzinfo | None = None,
) -> GoStruct:
    """The formatted status as nested GoStruct/dict/list values (for JSON or YAML)."""
    c = _Ctx(doc, yaml, utc, tz)
    m = doc.model
    model = GoStruct()
    model["name"] = m.name
    model["type"] = m.type
    model["controller"] = m.controller
    model["cloud"] = m.cloud
    _put(model, "region", m.region)
    model["version"] = m.version
    _put(model, "upgrade-available", m.upgrade_available)
    c.put_status(model, "model-status", m.status, True)
    _put(model, "sla", m.sla)
    out = GoStruct()
    out["model"] = model
    out["machines"] = {k: _machine(c, v) for k, v in doc.machines.items()}
    out["applications"] = {k: _application(c, k, v) for k, v in doc.applications.items()}
    remotes = {}
    for k, r in doc.remote_applications.items():
        if r.error is not None:
            remotes[k] = GoStruct({"status-error": r.error})
            continue
        ra = GoStruct(url=r.url)
        _put(ra, "endpoints", {n: _remote_ep(e) for n, e in r.endpoints.items()})
        _put(ra, "life", r.life)
        ra["application-status"] = c.status(r.status)
        _put(ra, "relations", {n: list(v) for n, v in r.relations.items()})
        remotes[k] = ra
    _put(out, "application-endpoints", remotes)
    offers = {}
    for k, o in doc.offers.items():
        if o.error is not None:
            offers[k] = GoStruct({"status-error": o.error})
            continue
        of = GoStruct(application=o.application)
        _put(of, "charm", o.charm_url)
        _put(of, "total-connected-count", o.total_connected_count)
        _put(of, "active-connected-count", o.active_connected_count)
        of["endpoints"] = {n: _remote_ep(e) for n, e in o.endpoints.items()}
        offers[k] = of
    _put(out, "offers", offers)
    from .storage import combined_struct

    out["storage"] = combined_struct(doc.storage)
    if doc.controller_timestamp is not None:
        ts = doc.controller_timestamp
        if not isinstance(ts, str):
            ts = format_timestamp(ts, utc=utc, tz=tz)
        ctl = GoStruct()
        _put(ctl, "timestamp", ts)
        out["controller"] = ctl
    return out


def status_json(
    doc: StatusDocument, *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> str:
    """``juju status --format json``: one line of JSON and a newline."""
    return go_json(status_value(doc, yaml=False, utc=utc, tz=tz))


def status_yaml(
    doc: StatusDocument, *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> str:
    """``juju status --format yaml``."""
    return go_yaml(status_value(doc, yaml=True, utc=utc, tz=tz))


def empty_model_message(model_identifier: str) -> str:
    """What ``juju status`` writes on stderr (exit code 0) for a model without machines
    and applications. ``model_identifier`` is the ``-m`` argument, or the current model's
    qualified name (``admin/test``) when none was given."""
    return f'\nModel "{model_identifier}" is empty.\n'


def no_match_message(patterns: int) -> str:
    """stderr of ``juju status <pattern>...`` when nothing matched (exit code 0)."""
    return f"Nothing matched specified filter{'' if patterns == 1 else 's'}.\n"


# -- tabular ---------------------------------------------------------------------------

_MAX_MESSAGE = 120
_ELLIPSIS = "..."
_UNIT_HOOKS = (
    "install start config-changed upgrade-charm stop remove collect-metrics "
    "meter-status-changed leader-elected leader-deposed leader-settings-changed "
    "update-status pre-series-upgrade post-series-upgrade"
).split()
_RELATION_HOOKS = (
    "relation-created relation-joined relation-changed relation-departed relation-broken"
).split()
_HOOK_RE = re.compile(rf"running (?P<hook>{'|'.join(_UNIT_HOOKS + _RELATION_HOOKS)}?) hook")
_ACTION_RE = re.compile(r"running action (?P<action>.*)")


def _truncate(msg: str) -> str:
    b = msg.encode("utf-8")
    if len(b) > _MAX_MESSAGE:
        return b[: _MAX_MESSAGE - len(_ELLIPSIS)].decode("utf-8", "replace") + _ELLIPSIS
    return msg


def _agent_doing(s: StatusInfo) -> str:
    if s.current != "executing":
        return ""
    m = _HOOK_RE.search(s.message)
    if m:
        return m.group("hook")
    m = _ACTION_RE.search(s.message)
    if m:
        return m.group("action")
    return ""


def application_scale(doc: StatusDocument, name: str) -> tuple[str, bool]:
    """The Scale column (``applicationScale``): "3", or "2/3" with a warning flag."""
    current = desired = 0
    app = doc.applications[name]

    def match(u: Unit) -> None:
        nonlocal current, desired
        desired += 1
        if u.workload_status.current == "terminated":
            return
        if u.juju_status.current in ("executing", "idle", "running"):
            current += 1

    if app.subordinate_to:
        for a in doc.applications.values():
            for u in a.units.values():
                for sub, sub_status in u.subordinates.items():
                    if sub.split("/")[0] == name:
                        match(sub_status)
    else:
        for u in app.units.values():
            match(u)
    if doc.model.type == "caas":
        desired = app.scale
    if current == desired:
        return str(current), False
    return f"{current}/{desired}", True


def _print_ports(w: Wrapper, ports: list[str]) -> None:
    """``printPorts``: "2379-2380/tcp", "80,443/tcp 53/udp icmp"."""

    def port_key(p: str) -> tuple[int, str]:
        return (len(p.encode("utf-8")), p)

    ordered = sorted(ports, key=port_key)
    protocols: dict[str, dict[str, Any]] = {}
    for port in ordered:
        split = port.split("/")
        pid = split[0] if len(split) == 1 else "/" + "/".join(split[1:])
        proto = protocols.setdefault(pid, {"group": {}, "groups": {}, "grouped": set(), "c": {}})
        proto["c"][port] = split
        if len(split) == 1:
            continue
        try:
            n = int(split[0])
        except ValueError:
            continue
        if n <= 1:
            continue
        prev = "/".join([str(n - 1), *split[1:]])
        if prev not in proto["c"]:
            continue
        group = proto["group"].get(prev) or prev
        proto["group"][port] = group
        proto["groups"].setdefault(group, []).append(port)
        proto["grouped"].add(port)

    has_output = False
    for pk in sorted(protocols):
        proto = protocols[pk]
        has_prev = False
        for port in sorted(proto["c"], key=port_key):
            if port in proto["grouped"]:
                continue
            if has_output:
                has_output = False
                w.print_no_tab(" ")
            if has_prev:
                w.print_no_tab(",")
            has_prev = True
            split = proto["c"][port]
            group = proto["groups"].get(port)
            if group:
                last = proto["c"][group[-1]]
                w.print_color_no_tab(BRIGHT_MAGENTA, f"{split[0]}-{last[0]}")
                continue
            if len(split) > 1:
                w.print_color_no_tab(BRIGHT_MAGENTA, split[0])
                continue
            break
        if has_prev:
            has_output = True
            if re.fullmatch(r"[+-]?\d+", pk):
                w.print_color_no_tab(BRIGHT_MAGENTA, pk)
            else:
                w.print_no_tab(pk)
    w.print("")


def _start_section(tw: TabWriter, top: bool, *headers: str) -> Wrapper:
    w = Wrapper(tw)
    if not top:
        w.println()
    w.print_headers(BOLD_DEFAULT, *headers)
    return w


def _version_tuple(v: str) -> tuple[int, ...] | None:
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?", v)
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def status_tabular(
    doc: StatusDocument,
    *,
    relations: bool = False,
    color: bool = False,
    utc: bool = False,
    tz: datetime.tzinfo | None = None,
    client_version: str | None = None,
) -> str:
    """``juju status`` (tabular, the default format).

    ``relations``: ``--relations``/``--integrations`` adds the "Integration provider"
    section (Juju's default is off). ``color``: ANSI colours, which Juju uses when stdout
    is a terminal (and ``NO_COLOR`` is unset, ``TERM`` is not ``dumb``) or with ``--color``.
    ``client_version``: the CLI's own version; when newer than the model's, Juju colours
    the model version as a warning.
    """
    tw = TabWriter(color=color)
    m = doc.model
    cloud_region = m.cloud + (f"/{m.region}" if m.region else "")
    header = ["Model", "Controller", "Cloud/Region", "Version"]
    values: list[str] = [m.name, m.controller, cloud_region]
    message = m.status.message or (
        f"upgrade available: {m.upgrade_available}" if m.upgrade_available else ""
    )
    if m.sla:
        header.append("SLA")
        values.append(m.sla)
    ts = doc.controller_timestamp
    if ts is not None:
        ts_text = ts if isinstance(ts, str) else format_timestamp(ts, utc=utc, tz=tz)
        if ts_text:
            header.append("Timestamp")
            values.append(ts_text)
    if message:
        header.append("Notes")
        values.append(_truncate(message))
    w = _start_section(tw, True, *header)
    w.print(*values[:3])
    if m.version:
        cur, mv = _version_tuple(client_version or ""), _version_tuple(m.version)
        if cur is not None and mv is not None and cur > mv:
            w.print_color(WARNING, m.version)
        else:
            w.print(m.version)
    w.println(*values[3:])

    if doc.remote_applications:
        _print_saas(tw, doc.remote_applications)
    if doc.applications:
        _print_applications(tw, doc, utc=utc, tz=tz)
    if m.type != "caas" and doc.machines:
        _print_machines(tw, doc.machines)
    if doc.offers:
        _print_offers(tw, doc.offers)
    if relations and doc.relations:
        _print_relations(tw, doc.relations)
    tw.flush()
    return tw.getvalue()


def _print_applications(
    tw: TabWriter, doc: StatusDocument, *, utc: bool, tz: datetime.tzinfo | None
) -> None:
    caas = doc.model.type == "caas"
    max_version = 30 if caas else 15
    headers = ["App", "Version", "Status", "Scale", "Charm", "Channel", "Rev"]
    headers += ["Address", "Exposed", "Message"] if caas else ["Exposed", "Message"]
    w = _start_section(tw, False, *headers)
    tw.set_column_align_right(3)
    tw.set_column_align_right(6)
    units: dict[str, Unit] = {}
    app_of: dict[str, str] = {}
    for name in natural_sorted(doc.applications):
        app = doc.applications[name]
        _charm, _origin, charm_name, rev = parse_charm_url(app.charm_url)
        version = app.version.split("\n")[0]
        if len(version.encode("utf-8")) > max_version:
            version = version.encode("utf-8")[: max_version - 3].decode("utf-8", "replace")
            version += _ELLIPSIS
        w.print(name, version)
        w.print_status(app.status.current)
        scale, warn = application_scale(doc, name)
        if warn:
            w.print_color(WARNING, scale)
        else:
            w.print(scale)
        w.print(charm_name, app.charm_channel)
        if app.can_upgrade_to:
            w.print_color(WARNING, rev)
        else:
            w.print(rev)
        if caas:
            w.print_color(INFO, app.address)
        if app.exposed:
            w.print_color(GOOD, "yes")
        else:
            w.print("no")
        w.print_color_no_tab(GRAY, _truncate(app.status.message))
        w.println()
        for un, u in app.units.items():
            units[un] = u
            app_of[un] = name
    tw.flush()

    def p_unit(name: str, u: Unit, level: int, app_name: str) -> None:
        message = u.workload_status.message
        if u.workload_status.current == "error" and u.error_relation_id is not None:
            rel = next((r for r in doc.relations if r.id == u.error_relation_id), None)
            ep = _other_endpoint(rel, app_name) if rel else None
            if ep is not None:
                message = f"{message} for {ep.application}:{ep.name}"
        if u.juju_status.current == "allocating" and message == "":
            message = u.juju_status.message
        doing = _agent_doing(u.juju_status)
        if doing:
            message = f"({doing}) {message}"
        if u.leader:
            name += "*"
        if u.branch:
            name += " " + u.branch
        w.print(" " * (level * 2) + name)
        w.print_status(u.workload_status.current)
        w.print_status(u.juju_status.current)
        if not caas:
            w.print(u.machine)
            w.print_color(INFO, u.public_address)
        else:
            w.print_color(INFO, u.address)
        _print_ports(w, u.open_ports)
        w.print_color_no_tab(GRAY, _truncate(message))
        w.println()

    def recurse(u: Unit, level: int, app_name: str) -> None:
        for sub_name in natural_sorted(u.subordinates):
            sub = u.subordinates[sub_name]
            p_unit(sub_name, sub, level, app_name)
            recurse(sub, level + 1, app_name)

    if units:
        if caas:
            _start_section(tw, False, "Unit", "Workload", "Agent", "Address", "Ports", "Message")
        else:
            _start_section(
                tw,
                False,
                "Unit",
                "Workload",
                "Agent",
                "Machine",
                "Public address",
                "Ports",
                "Message",
            )
        for name in natural_sorted(units):
            p_unit(name, units[name], 0, app_of[name])
            recurse(units[name], 1, app_of[name])
        tw.flush()


def _print_machines(tw: TabWriter, machines: dict[str, Machine]) -> None:
    w = _start_section(
        tw, False, "Machine", "State", "Address", "Inst id", "Base", "AZ", "Message"
    )

    def one(mid: str, m: Machine) -> None:
        az = ""
        for part in m.hardware.split():
            key, _, value = part.partition("=")
            if key == "availability-zone":
                az = value
        status, message = m.juju_status.current, m.machine_status.message
        if m.modification_status.current == "error":
            status, message = m.modification_status.current, m.modification_status.message
        w.print(mid)
        w.print_status(status)
        w.print_color(INFO, m.dns_name)
        w.print(m.display_name or m.instance_id, m.base.display() if m.base else "", az)
        if message:
            w.print_color_no_tab(GRAY, _truncate(message))
        w.println()
        for cid in natural_sorted(m.containers):
            one(cid, m.containers[cid])

    for mid in natural_sorted(machines):
        one(mid, machines[mid])
    tw.flush()


def _print_relations(tw: TabWriter, relations: list[Relation]) -> None:
    rows = []
    for rel in relations:
        provider = requirer = None
        for ep in rel.endpoints:
            if ep.role == "peer":
                provider = requirer = ep
            elif ep.role == "provider":
                provider = ep
            elif ep.role == "requirer":
                requirer = ep
        p = f"{provider.application}:{provider.name}" if provider else ":"
        r = f"{requirer.application}:{requirer.name}" if requirer else ":"
        rows.append((p, r, rel))
    rows.sort(key=lambda x: (x[0], x[1]))
    w = _start_section(
        tw, False, "Integration provider", "Requirer", "Interface", "Type", "Message"
    )
    for p, r, rel in rows:
        if rel.scope == "container":
            rel_type = "subordinate"
        elif p.split(":")[0] == r.split(":")[0]:
            rel_type = "peer"
        else:
            rel_type = "regular"
        for text in (p, r):
            parts = text.split(":")
            w.print_no_tab(parts[0])
            if len(parts) > 1:
                w.print_color(MAGENTA, f":{parts[1]}")
        w.print(rel.interface, rel_type)
        if rel.status != "joined":
            w.print_color(_relation_status_color(rel.status), rel.status)
            w.print_color_no_tab(GRAY, _truncate(rel.message))
        w.println()
    tw.flush()


def _relation_status_color(status: str) -> str | None:
    """``crossmodel.RelationStatusColor``."""
    if status == "joined":
        return GOOD
    if status == "suspended":
        return WARNING
    if status in ("broken", "error"):
        return ERROR
    return None


def _print_saas(tw: TabWriter, remotes: dict[str, RemoteApplication]) -> None:
    w = _start_section(tw, False, "SAAS", "Status", "Store", "URL")
    for name in natural_sorted(remotes):
        r = remotes[name]
        store, path = "local", r.url
        if ":" in r.url.split("/")[0]:
            store, _, path = r.url.partition(":")
        w.print(name)
        w.print_status(r.status.current)
        w.println(store, path)
    tw.flush()


def _print_offers(tw: TabWriter, offers: dict[str, Offer]) -> None:
    headers = ("Offer", "Application", "Charm", "Rev", "Connected", "Endpoint", "Interface")
    w = _start_section(tw, False, *headers, "Role")
    for name in natural_sorted(offers):
        o = offers[name]
        for i, ep_name in enumerate(sorted(o.endpoints)):
            ep = o.endpoints[ep_name]
            if i == 0:
                _c, _o, charm_name, rev = parse_charm_url(o.charm_url)
                connected = f"{o.active_connected_count}/{o.total_connected_count}"
                w.println(
                    name, o.application, charm_name, rev, connected, ep_name, ep.interface, ep.role
                )
            else:
                w.println("", "", "", "", "", ep_name, ep.interface, ep.role)
    tw.flush()

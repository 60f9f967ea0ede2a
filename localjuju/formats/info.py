"""``juju show-unit``, ``juju config <app>``, ``juju version``, ``juju debug-log`` output.

Sources (juju 3.6): ``cmd/juju/application/showunit.go`` (``UnitInfo``, ``RelationData``,
``createUnitInfo``), ``apiserver/facades/client/application/application.go``
(``unitResultForUnit``, ``relationData``: only the *other* application's units are listed
for a regular relation, so ``local-unit`` is only filled for peer relations),
``cmd/juju/application/config.go`` (``getAllConfig``) with
``apiserver/facades/client/application/get.go`` (``describe``) and ``trust.go``,
``cmd/juju/commands/version.go`` (``versionDetail``), ``cmd/juju/commands/debuglog.go``
(``writeLogRecord``).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from ._go import GoStruct, go_float_g, go_json
from ._goyaml import go_yaml
from ._tabwriter import RESET, natural_sorted, sgr

__all__ = [
    "UnitRelationData",
    "EndpointRelationData",
    "UnitDetails",
    "show_unit_value",
    "show_unit_json",
    "show_unit_yaml",
    "ConfigOption",
    "config_entry",
    "app_config_value",
    "app_config_json",
    "app_config_yaml",
    "config_key_plain",
    "TRUST_DESCRIPTION",
    "VersionDetail",
    "version_json",
    "version_yaml",
    "version_plain",
    "debug_log_line",
]


# -- show-unit -------------------------------------------------------------------------


@dataclasses.dataclass
class UnitRelationData:
    in_scope: bool
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class EndpointRelationData:
    """One relation of the unit's application, as the controller reports it.

    ``application_data``: the *related* application's databag. ``unit_data``: every unit
    of the related application (for a peer relation that includes the unit itself) with
    its in-scope flag and databag (empty when not in scope).
    """

    relation_id: int
    endpoint: str
    related_endpoint: str
    application_data: dict[str, Any] = dataclasses.field(default_factory=dict)
    unit_data: dict[str, UnitRelationData] = dataclasses.field(default_factory=dict)
    cross_model: bool = False


@dataclasses.dataclass
class UnitDetails:
    """What ``juju show-unit`` reports for one unit.

    ``charm`` is the charm URL (``local:etcd-0``); ``opened_ports`` ``None`` prints as
    JSON ``null`` (what Juju prints for a machine unit without open ports).
    """

    name: str
    charm: str
    leader: bool = False
    workload_version: str = ""
    machine: str = ""
    opened_ports: list[str] | None = None
    public_address: str = ""
    life: str = "alive"
    relations: list[EndpointRelationData] = dataclasses.field(default_factory=list)
    provider_id: str = ""
    address: str = ""


def _omit(out: GoStruct, key: str, value: Any) -> None:
    if value in (None, "", False) or (isinstance(value, (list, dict)) and not value):
        return
    out[key] = value


def _unit_info(
    u: UnitDetails, yaml: bool, endpoint: str | None, related_unit: str | None, app_only: bool
) -> GoStruct:
    out = GoStruct()
    _omit(out, "workload-version", u.workload_version)
    _omit(out, "machine", u.machine)
    out["opened-ports"] = (
        list(u.opened_ports) if u.opened_ports is not None else ([] if yaml else None)
    )
    _omit(out, "public-address", u.public_address)
    out["charm"] = u.charm
    out["leader"] = u.leader
    _omit(out, "life", u.life)
    infos = []
    for rel in u.relations:
        if endpoint and rel.endpoint != endpoint:
            continue
        rd = GoStruct()
        rd["relation-id"] = rel.relation_id
        rd["endpoint"] = rel.endpoint
        _omit(rd, "cross-model", rel.cross_model)
        rd["related-endpoint"] = rel.related_endpoint
        rd["application-data"] = dict(rel.application_data)
        my: UnitRelationData | None = None
        related: dict[str, GoStruct] = {}
        if not app_only:
            for remote in natural_sorted(rel.unit_data):
                if related_unit and remote != related_unit:
                    continue
                d = rel.unit_data[remote]
                if remote == u.name:
                    my = d
                    continue
                related[remote] = GoStruct({"in-scope": d.in_scope, "data": dict(d.data)})
        if my is not None:
            local = GoStruct({"in-scope": my.in_scope, "data": dict(my.data)})
            if not yaml or my.in_scope or my.data:
                rd["local-unit"] = local
        elif not yaml:
            rd["local-unit"] = GoStruct({"in-scope": False, "data": None})
        _omit(rd, "related-units", related)
        keep = app_only or (
            endpoint == rel.endpoint or rel.application_data or related or (my and my.data)
        )
        if keep:
            infos.append(rd)
    _omit(out, "relation-info", infos)
    _omit(out, "provider-id", u.provider_id)
    _omit(out, "address", u.address)
    return out


def show_unit_value(
    units: list[UnitDetails],
    *,
    yaml: bool = False,
    endpoint: str | None = None,
    related_unit: str | None = None,
    app_only: bool = False,
) -> dict[str, GoStruct]:
    """The map ``juju show-unit`` prints (unit name -> info). ``endpoint``,
    ``related_unit`` and ``app_only`` are the ``--endpoint``, ``--related-unit`` and
    ``--app`` options."""
    return {u.name: _unit_info(u, yaml, endpoint, related_unit, app_only) for u in units}


def show_unit_json(units: list[UnitDetails], **kw: Any) -> str:
    """``juju show-unit <u> --format json``."""
    return go_json(show_unit_value(units, yaml=False, **kw))


def show_unit_yaml(units: list[UnitDetails], **kw: Any) -> str:
    """``juju show-unit <u>`` (YAML is its default format)."""
    return go_yaml(show_unit_value(units, yaml=True, **kw))


# -- config ----------------------------------------------------------------------------

_MISSING: Any = object()

TRUST_DESCRIPTION = "Does this application have access to trusted credentials"


@dataclasses.dataclass
class ConfigOption:
    """A charm config option: ``type`` is string, int, float, boolean or secret."""

    type: str
    description: str = ""
    default: Any = None


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def config_entry(type_: str, description: str, default: Any, value: Any) -> dict[str, Any]:
    """``describe``: one setting. ``default``/``value`` ``None`` mean unset; a value equal
    to the default reports ``source: default``."""
    info: dict[str, Any] = {"description": description, "type": type_, "source": "unset"}
    is_set = False
    if value is not None and not _same(default, value):
        is_set = True
        info["value"] = value
        info["source"] = "user"
    if default is not None:
        info["default"] = default
        if not is_set:
            info["value"] = default
            info["source"] = "default"
    return info


def app_config_value(
    application: str,
    charm: str,
    options: dict[str, ConfigOption],
    settings: dict[str, Any],
    *,
    trust: bool = False,
) -> dict[str, Any]:
    """The map ``juju config <app>`` prints.

    ``charm``: the charm's name; ``options``: the charm's config.yaml options;
    ``settings``: the values the user set; ``trust``: the application's trust flag
    (``application-config`` on a machine model holds only ``trust``).
    """
    out: dict[str, Any] = {
        "application": application,
        "charm": charm,
        "settings": {
            name: config_entry(o.type, o.description, o.default, settings.get(name))
            for name, o in options.items()
        },
        "application-config": {
            "trust": config_entry("bool", TRUST_DESCRIPTION, False, trust),
        },
    }
    return out


def app_config_json(*args: Any, **kw: Any) -> str:
    """``juju config <app> --format json`` (arguments as :func:`app_config_value`)."""
    return go_json(app_config_value(*args, **kw))


def app_config_yaml(*args: Any, **kw: Any) -> str:
    """``juju config <app>`` (YAML is the default)."""
    return go_yaml(app_config_value(*args, **kw))


def config_key_plain(value: Any) -> str:
    """``juju config <app> <key>``: the value with Go's ``%v`` and a newline (``""`` for
    an unset value)."""
    if value is None:
        return "\n"
    if value is True or value is False:
        return ("true" if value else "false") + "\n"
    if isinstance(value, float):
        return go_float_g(value) + "\n"
    return f"{value}\n"


# -- version ---------------------------------------------------------------------------


@dataclasses.dataclass
class VersionDetail:
    """``versionDetail``: ``version`` is the binary version ``3.6.1-ubuntu-amd64``."""

    version: str
    git_commit: str = ""
    git_tree_state: str = ""
    compiler: str = "gc"
    official: bool = False
    grade: str = ""
    go_build_tags: str = ""

    def value(self) -> GoStruct:
        out = GoStruct(version=self.version)
        _omit(out, "git-commit", self.git_commit)
        _omit(out, "git-tree-state", self.git_tree_state)
        out["compiler"] = self.compiler
        out["official"] = self.official
        _omit(out, "grade", self.grade)
        _omit(out, "go-build-tags", self.go_build_tags)
        return out


def version_json(detail: VersionDetail) -> str:
    """``juju version --format json --all``."""
    return go_json(detail.value())


def version_yaml(detail: VersionDetail) -> str:
    """``juju version --format yaml --all``."""
    return go_yaml(detail.value())


def version_plain(version: str) -> str:
    """``juju version``: the binary version and a newline."""
    return version + "\n"


# -- debug-log -------------------------------------------------------------------------

_SEVERITY_COLORS = {
    "TRACE": sgr(39),
    "DEBUG": sgr(32),
    "INFO": sgr(94),
    "WARNING": sgr(33),
    "ERROR": sgr(91),
    "CRITICAL": sgr(97, 41),
}


def debug_log_line(
    entity: str,
    timestamp: datetime.datetime,
    severity: str,
    module: str,
    message: str,
    *,
    labels: list[str] | None = None,
    location: str | None = None,
    date: bool = False,
    ms: bool = False,
    utc: bool = False,
    tz: datetime.tzinfo | None = None,
    color: bool = False,
) -> str:
    """One ``juju debug-log`` line (``writeLogRecord``)::

        unit-etcd-0: 12:34:56 INFO unit.etcd/0.juju-log cluster:1: message

    ``entity`` is the tag (``unit-etcd-0``, ``machine-0``); ``module`` e.g.
    ``unit.etcd/0.juju-log``; ``date``/``ms``/``utc``/``location`` are the ``--date``,
    ``--ms``, ``--utc``, ``--location`` options (time is local by default).
    """
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=datetime.timezone.utc)
    t = timestamp.astimezone(datetime.timezone.utc if utc else tz)
    ts = f"{t:%Y-%m-%d %H:%M:%S}" if date else f"{t:%H:%M:%S}"
    if ms:
        ts += f".{t.microsecond // 1000:03d}"
    sev = severity
    if color and severity in _SEVERITY_COLORS:
        sev = f"{_SEVERITY_COLORS[severity]}{severity}{RESET}"
    line = f"{entity}: {ts} {sev} {module} "
    if location:
        line += f"{sgr(33)}{location}{RESET} " if color else f"{location} "
    if labels:
        line += ",".join(labels) + " "
    return line + message + "\n"

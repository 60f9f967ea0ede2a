"""Pure core of the built-in etcd-client charm (requirer side of the ``etcd`` interface).

kubernetes-control-plane and calico read the relation with ``EtcdReactiveRequires``
(``charms.kubernetes_libs.v0.etcd``, LIBPATCH 1): ``self.model.get_relation("etcd")`` (ops
raises ``TooManyRelatedAppsError`` when the endpoint has more than one relation), then
``_remote_data`` is the data bag of ``next(iter(relation.units))``, ONE remote unit: ops builds
``Relation.units`` as a set from ``relation-list``, so which unit is arbitrary; every key
(``connection_string``, ``client_ca``/``client_cert``/``client_key``, ``version``) comes from
that unit alone, nothing is merged across units. Here the arbitrary unit is the first one
``relation-list`` gives, one of the choices ops may make.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KEYS = ("connection_string", "client_ca", "client_cert", "client_key", "version")

MAX_WRITE_COUNT = 100000
MAX_TIMEOUT = 3600.0

MISSING_RELATION = ("blocked", "Missing relation to etcd")
WAITING = ("waiting", "Waiting for etcd")


class TooManyRelatedAppsError(Exception):
    """ops' ``TooManyRelatedAppsError``: ``Model.get_relation(name)`` with two relations or
    more on the endpoint (the hook fails with it)."""

    def __init__(self, relation_name: str, num_related: int, max_supported: int = 1) -> None:
        super().__init__(
            f"Too many remote applications on {relation_name} ({num_related} > {max_supported})"
        )


def the_relation(
    endpoint: str, relations: Sequence[tuple[str, Sequence[str]]]
) -> tuple[str, Sequence[str]] | None:
    """ops' ``Model.get_relation(endpoint)``: the endpoint's one relation, None without one."""
    if len(relations) > 1:
        raise TooManyRelatedAppsError(endpoint, len(relations))
    return relations[0] if relations else None


def pick_unit(units: Sequence[str]) -> str:
    """``next(iter(relation.units))``: the one remote unit read ("" when none has joined)."""
    return units[0] if units else ""


def remote_values(data: Mapping[str, str]) -> dict[str, str]:
    """The interface keys of the picked unit's bucket ("" for a key it has not set)."""
    return {key: str(data.get(key) or "") for key in KEYS}


def parse_endpoints(connection_string: str) -> list[str]:
    """``https://a:2379,https://b:2379`` -> the list of client URLs (empty items dropped)."""
    return [item.strip() for item in (connection_string or "").split(",") if item.strip()]


@dataclass(frozen=True)
class Connection:
    connection_string: str = ""
    version: str = ""
    client_ca: str = ""
    client_cert: str = ""
    client_key: str = ""
    endpoints: list[str] = field(default_factory=list)

    @classmethod
    def from_remote(cls, merged: Mapping[str, str]) -> Connection:
        cs = merged.get("connection_string") or ""
        return cls(
            connection_string=cs,
            version=merged.get("version") or "",
            client_ca=merged.get("client_ca") or "",
            client_cert=merged.get("client_cert") or "",
            client_key=merged.get("client_key") or "",
            endpoints=parse_endpoints(cs),
        )

    @property
    def available(self) -> bool:
        """``<name>.available``: a connection string was published."""
        return bool(self.endpoints)

    @property
    def tls_available(self) -> bool:
        """``<name>.tls.available``: client cert, key and CA were all published."""
        return bool(self.client_cert and self.client_key and self.client_ca)

    def summary(self) -> dict[str, Any]:
        """What connection.json records (no key material)."""
        return {
            "connection_string": self.connection_string,
            "endpoints": self.endpoints,
            "version": self.version,
            "tls": self.tls_available,
        }


def status_for(has_relation: bool, conn: Connection) -> tuple[str, str]:
    if not has_relation:
        return MISSING_RELATION
    if not conn.available or not conn.tls_available:
        return WAITING
    version = f"{conn.version} " if conn.version else ""
    return "active", f"Connected to etcd {version}at {len(conn.endpoints)} endpoints"


# ---------------------------------------------------------------------------------------------
# Action parameters and the write-loop/check key space


class ParamError(ValueError):
    """An action parameter is missing or out of range (reported with action-fail)."""


def require_str(params: Mapping[str, Any], name: str, allow_empty: bool = False) -> str:
    value = params.get(name)
    if value is None or (not allow_empty and str(value) == ""):
        raise ParamError(f"parameter {name!r} is required")
    return str(value)


def bounded_int(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ParamError(f"parameter {name!r} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ParamError(f"parameter {name!r} must be between {low} and {high}, got {value}")
    return value


def bounded_float(
    params: Mapping[str, Any], name: str, default: float, low: float, high: float
) -> float:
    raw = params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ParamError(f"parameter {name!r} must be a number, got {raw!r}") from None
    if not low < value <= high:
        raise ParamError(f"parameter {name!r} must be in ({low}, {high}], got {value}")
    return value


def loop_prefix(prefix: str) -> str:
    prefix = prefix.strip().rstrip("/")
    if not prefix:
        raise ParamError("parameter 'prefix' must not be empty")
    return prefix


def loop_key(prefix: str, index: int) -> str:
    """Key of write number `index` (zero-padded so key order is write order)."""
    return f"{prefix}/{index:06d}"


def loop_value(prefix: str, index: int) -> str:
    return f"{prefix}:{index}"


def missing_indices(prefix: str, count: int, found: Mapping[str, str]) -> list[int]:
    """Indices in [0, count) whose key is absent from `found` (key -> value) or holds another
    value than the write-loop wrote."""
    return [i for i in range(count) if found.get(loop_key(prefix, i)) != loop_value(prefix, i)]


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True) + "\n"

"""The per-hook context and the small tools every part of the shell shares.

:class:`Hook` is what every hook has (the unit, the hook's name, this unit's :class:`Record`,
the parsed config, the status set so far); :class:`Ctx` adds what a reconcile works with once
the config is valid (settings, this unit's addresses, the installed etcd version), so that
no function takes that clump of arguments one by one.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import hooktools
from . import status as S
from .etcdctl import ETCDCTL, Etcdctl, EtcdctlError
from .quarantine import advertised_port
from .record import Record
from .settings import Settings

#: bounded waits for conditions etcd reports (deadline, short poll)
START_DEADLINE = 90.0
PROMOTE_DEADLINE = 90.0
RECONFIG_DEADLINE = 60.0
DEPART_DEADLINE = 60.0
POLL = 0.5

T = TypeVar("T")


def log(msg: str, level: str = hookenv.INFO) -> None:
    hookenv.log(msg, level)


def wait_for(what: str, deadline: float, probe: Callable[[], T | None]) -> T:
    """Poll ``probe`` until it returns a value or ``deadline`` seconds pass (then raise).

    ``probe`` returns None while the condition etcd reports is not reached yet; any exception
    it raises ends the wait at once."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not reached within {deadline:.0f}s")
        time.sleep(POLL)


def answering(call: Callable[[], T | None]) -> Callable[[], T | None]:
    """A probe that treats etcdctl errors as "not yet" (a member that is still starting)."""

    def probe() -> T | None:
        try:
            return call()
        except EtcdctlError as e:
            log(f"not yet: {e.detail}", hookenv.DEBUG)
            return None

    return probe


def client(endpoints: list[str], binary: str = ETCDCTL) -> Etcdctl:
    """etcdctl against ``endpoints`` with this unit's client certificate (the package's
    etcdctl, ``binary``, on a unit the deb-era charm installed)."""
    return Etcdctl(
        endpoints=endpoints,
        cacert=C.CA_PATH,
        cert=C.CLIENT_CERT_PATH,
        key=C.CLIENT_KEY_PATH,
        binary=binary,
    )


def serving_port(settings: Settings) -> int:
    """The client port this unit's member serves on: the one its etcd.conf.yml advertises
    (a changed port, or a restore's quarantine, applies only once etcd restarts), else the
    one it would start with."""
    try:
        with open(C.CONF_PATH, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        text = ""
    return advertised_port(text) or settings.client_port


def local_url(settings: Settings) -> str:
    """This unit's own member, over loopback (its certificate has 127.0.0.1)."""
    return C.build_uri("https", "127.0.0.1", serving_port(settings))


@functools.cache
def address(endpoint: str) -> str:
    try:
        net = hooktools.network_get(endpoint)
        addrs = net.get("ingress-addresses") or []
        if addrs:
            return str(addrs[0])
    except Exception as e:  # noqa: BLE001 - no binding: fall back to the unit address
        log(f"network-get {endpoint}: {e}", hookenv.DEBUG)
    return str(hookenv.unit_get("private-address"))


@functools.cache
def bind_address(endpoint: str) -> str:
    try:
        net = hooktools.network_get(endpoint)
        for info in net.get("bind-addresses") or []:
            for a in info.get("addresses") or []:
                if a.get("address"):
                    return str(a["address"])
    except Exception as e:  # noqa: BLE001
        log(f"network-get {endpoint}: {e}", hookenv.DEBUG)
    return address(endpoint)


def identity(unit: str) -> C.Identity:
    """This unit's name and addresses (network-get, once per hook)."""
    return C.Identity(
        unit_name=unit,
        cluster_address=address("cluster"),
        db_address=address("db"),
        cluster_bind_address=bind_address("cluster"),
        db_bind_address=bind_address("db"),
    )


def reactive_endpoint(name: str) -> Any:
    """The charms.reactive endpoint ``name`` (imported here, at the first use: the modules
    that need no endpoint stay importable without the reactive framework)."""
    from charms.reactive import endpoint_from_name

    return endpoint_from_name(name)


#: the endpoints an action opened (:func:`action_endpoint`), flushed when it ends
_ACTION_ENDPOINTS: dict[str, Any] = {}


def action_endpoint(name: str) -> Any:
    """The same endpoint class charms.reactive gives a hook, for an action.

    An action does not run charms.reactive's bus, so nothing starts the endpoints or
    publishes their data at the end: this opens the endpoint over the relation's ids and
    :func:`flush_action_endpoints` (called when the action ends) publishes what it wrote,
    as charms.reactive does at the end of a hook. None when the charm has no such
    relation endpoint."""
    if name not in _ACTION_ENDPOINTS:
        from charms.reactive.relations import relation_factory

        factory = relation_factory(name)
        if factory is None:
            return None
        rids = [r if ":" in r else f"{name}:{r}" for r in sorted(hookenv.relation_ids(name))]
        _ACTION_ENDPOINTS[name] = factory(name, rids)
    return _ACTION_ENDPOINTS[name]


def flush_action_endpoints() -> None:
    """Publish the data the action wrote through its endpoints (relation-set, once per
    relation whose data changed)."""
    for endpoint in _ACTION_ENDPOINTS.values():
        for relation in endpoint.relations:
            relation._flush_data()


@dataclass
class Hook:
    """What every hook has: this unit, the hook's name, its storage, the parsed config and
    the status set so far."""

    unit: str
    name: str
    record: Record
    config: Any
    settings: Settings | None
    errors: list[str]
    endpoint: Callable[[str], Any] = reactive_endpoint
    status: S.Status | None = None
    blocked: str = ""  # a problem only the operator can resolve (the leader's view)

    def set_status(self, status: S.Status) -> None:
        self.status = status
        hookenv.status_set(status.state, status.message)


@dataclass(frozen=True)
class Ctx:
    """A reconcile (or an action) with a valid config: the hook, the settings, this unit's
    identity and the etcd version installed when it began."""

    hook: Hook
    settings: Settings
    identity: C.Identity
    version: str | None = field(default=None)

    @property
    def unit(self) -> str:
        return self.hook.unit

    @property
    def record(self) -> Record:
        return self.hook.record

    def set_status(self, status: S.Status) -> None:
        self.hook.set_status(status)

    def local(self) -> Etcdctl:
        """etcdctl against this unit's own member only."""
        return client([local_url(self.settings)])

"""The hook tools the charm reads, one call each per hook (each call is a process and a
round trip to the unit agent: about 15 ms on the local model, more on a busy machine).

- ``is-leader``: asked once. Juju keeps a unit's leadership for the hook that saw it (the
  lease outlives the hook; a new leader is only elected once the lease expired).
- ``leader-get``: read once, whole; :func:`leader_set` writes through and updates the copy, so
  what this hook set is what it reads (as ``leader-get`` itself answers the leader).
- ``network-get <endpoint>``: once per endpoint (the ingress and the bind addresses come from
  the same answer).

Actions are processes of their own: each starts with nothing cached. :func:`forget` empties
the cache (tests; a long action that must see another unit's leader-set).

charmhelpers already caches ``config-get``, ``goal-state``, ``relation-get``,
``relation-ids`` and ``related-units`` (its ``@cached``); this module adds the three it does
not.
"""

from __future__ import annotations

from typing import Any

from charmhelpers.core import hookenv

_is_leader: bool | None = None
_leader_data: dict[str, str] | None = None
_networks: dict[str, dict[str, Any]] = {}


def is_leader() -> bool:
    global _is_leader
    if _is_leader is None:
        _is_leader = bool(hookenv.is_leader())
    return _is_leader


def _data() -> dict[str, str]:
    global _leader_data
    if _leader_data is None:
        _leader_data = {str(k): str(v) for k, v in (hookenv.leader_get() or {}).items()}
    return _leader_data


def leader_get(attribute: str | None = None) -> Any:
    """As ``hookenv.leader_get``: the whole leader data (a copy), or one key's value (None
    when unset)."""
    data = _data()
    return dict(data) if attribute is None else data.get(attribute)


def leader_set(settings: dict[str, Any]) -> None:
    """``leader-set``: a key set to None or "" is unset (as ``leader-set key=``)."""
    hookenv.leader_set(settings)
    if _leader_data is not None:
        for key, value in settings.items():
            if value is None or value == "":
                _leader_data.pop(key, None)
            else:
                _leader_data[key] = str(value)


def network_get(endpoint: str) -> dict[str, Any]:
    if endpoint not in _networks:
        _networks[endpoint] = dict(hookenv.network_get(endpoint) or {})
    return _networks[endpoint]


def forget() -> None:
    global _is_leader, _leader_data
    _is_leader, _leader_data = None, None
    _networks.clear()

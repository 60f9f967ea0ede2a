"""Actions reach the peer relation through the same endpoint class as hooks
(lib/etcd_charm/context.py: action_endpoint, flush_action_endpoints): the real
hooks/relations/etcd/peers.py over fake hook tools, and what an action publishes reaches
relation-set when it ends, as charms.reactive does at the end of a hook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from charmhelpers.core import hookenv

from etcd_charm import context, observe
from etcd_charm.context import Hook
from etcd_charm.record import Record

ROOT = Path(__file__).resolve().parent.parent

MINE = {
    "member-name": "etcd0",
    "client-url": "https://10.0.0.1:2379",
    "member-id": "8e9e05c52164694d",
    "restart-request": "abc",
    "db-ingress-address": "10.0.0.1",
}
PEERS = {
    "etcd/1": {"member-name": "etcd1", "client-url": "https://10.0.0.2:2379", "member-id": "a1"},
    "etcd/2": {"member-name": "etcd2", "client-url": "https://10.0.0.3:2379"},  # not started
}


class Tools:
    def __init__(self) -> None:
        self.sets: list[tuple[str, dict[str, Any]]] = []

    def relation_ids(self, name: str | None = None) -> list[str]:
        return ["cluster:3"] if name == "cluster" else []

    def related_units(self, rid: str | None = None) -> list[str]:
        return sorted(PEERS)

    def relation_get(
        self, attribute: str | None = None, unit: str | None = None, rid: str | None = None
    ) -> Any:
        data = MINE if unit == "etcd/0" else PEERS.get(str(unit), {})
        return dict(data) if attribute is None else data.get(attribute)

    def relation_set(
        self, relation_id: str | None = None, relation_settings: Any = None, **kw: Any
    ) -> None:
        self.sets.append((str(relation_id), dict(relation_settings or {})))


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tools]:
    t = Tools()
    # charms.reactive imports charmhelpers.core.host, which refuses any platform but Ubuntu
    # (the units'): this host may be Debian
    import charmhelpers.osplatform as platform

    monkeypatch.setattr(platform, "get_platform", lambda: "ubuntu")
    monkeypatch.setenv("CHARM_DIR", str(ROOT))
    monkeypatch.setenv("JUJU_UNIT_NAME", "etcd/0")
    for name in ("relation_ids", "related_units", "relation_get", "relation_set"):
        monkeypatch.setattr(hookenv, name, getattr(t, name))
    monkeypatch.setattr(hookenv, "log", lambda *a, **k: None)
    hookenv.cache.clear()
    context._ACTION_ENDPOINTS.clear()
    yield t
    context._ACTION_ENDPOINTS.clear()
    hookenv.cache.clear()


def hook() -> Hook:
    return Hook("etcd/0", "restore", Record(None), {}, None, [], context.action_endpoint)


def test_an_action_opens_the_peer_endpoint_of_the_hooks(tools: Tools) -> None:
    endpoint = context.action_endpoint("cluster")
    assert type(endpoint).__module__ == "relations.etcd.peers"
    assert context.action_endpoint("cluster") is endpoint  # one per action
    assert context.action_endpoint("no-such-endpoint") is None


def test_peers_are_read_through_it(tools: Tools) -> None:
    peers = observe.peers(hook())
    assert [(p.unit, p.client_url, p.member_id) for p in peers] == [
        ("etcd/1", "https://10.0.0.2:2379", 0xA1),
        ("etcd/2", "https://10.0.0.3:2379", 0),
    ]


def test_what_an_action_publishes_is_set_when_it_ends(tools: Tools) -> None:
    endpoint = hook().endpoint("cluster")
    endpoint.publish({"member-id": "f00d", "restart-request": ""})
    assert tools.sets == []  # nothing before the action ends
    context.flush_action_endpoints()
    assert len(tools.sets) == 1
    rid, data = tools.sets[0]
    assert rid == "cluster:3"
    # the changed keys, and the unit's other keys as they were
    assert data["member-id"] == "f00d" and data["restart-request"] == ""
    assert data["client-url"] == MINE["client-url"]
    assert data["db-ingress-address"] == MINE["db-ingress-address"]


def test_an_unchanged_publish_sets_nothing(tools: Tools) -> None:
    hook().endpoint("cluster").publish({"member-id": MINE["member-id"]})
    context.flush_action_endpoints()
    assert tools.sets == []

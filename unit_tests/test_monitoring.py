"""The Prometheus scrape job (lib/etcd_charm/monitoring.py) and the prometheus-manual
provider that publishes it (hooks/relations/prometheus-manual/provides.py), the real endpoint
over fake hook tools: the keys and encoding of interface-prometheus-manual's requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from charmhelpers.core import hookenv

from etcd_charm import context, monitoring
from etcd_charm.etcd_json import Member, MemberList

ROOT = Path(__file__).resolve().parent.parent
REQUEST = "request_5b0c7c1e-8a0e-4c9e-9a51-0d1d2b0c3f44"


def members() -> MemberList:
    def m(i: int, url: str, learner: bool = False) -> Member:
        return Member(i, f"etcd{i}", (f"https://{url}:2380",), (f"https://{url}:2379",), learner)

    return MemberList(1, 1, 1, (m(2, "10.0.0.2"), m(1, "10.0.0.1"), m(3, "[fd00::3]"),
                                m(4, "10.0.0.4", learner=True)))  # fmt: skip


def test_the_job_scrapes_every_voter_over_https() -> None:
    job = monitoring.scrape_job(members())
    assert job == {
        "scheme": "https",
        "static_configs": [{"targets": ["10.0.0.1:2379", "10.0.0.2:2379", "[fd00::3]:2379"]}],
        "tls_config": {"ca_file": "", "cert_file": "", "key_file": ""},
    }


class Tools:
    def __init__(self, mine: dict[str, str]) -> None:
        self.mine = mine
        self.sets: list[dict[str, Any]] = []

    def relation_ids(self, name: str | None = None) -> list[str]:
        return ["prometheus:7"] if name == "prometheus" else []

    def related_units(self, rid: str | None = None) -> list[str]:
        return ["prometheus/0"]

    def relation_get(
        self, attribute: str | None = None, unit: str | None = None, rid: str | None = None
    ) -> Any:
        data = self.mine if unit == "etcd/0" else {}
        return dict(data) if attribute is None else data.get(attribute)

    def relation_set(
        self, relation_id: str | None = None, relation_settings: Any = None, **kw: Any
    ) -> None:
        self.sets.append(dict(relation_settings or {}))


def endpoint(monkeypatch: pytest.MonkeyPatch, mine: dict[str, str]) -> tuple[Any, Tools]:
    import charmhelpers.osplatform as platform

    tools = Tools(mine)
    monkeypatch.setattr(platform, "get_platform", lambda: "ubuntu")
    monkeypatch.setenv("CHARM_DIR", str(ROOT))
    monkeypatch.setenv("JUJU_UNIT_NAME", "etcd/0")
    for name in ("relation_ids", "related_units", "relation_get", "relation_set"):
        monkeypatch.setattr(hookenv, name, getattr(tools, name))
    monkeypatch.setattr(hookenv, "log", lambda *a, **k: None)
    hookenv.cache.clear()
    context._ACTION_ENDPOINTS.clear()
    return context.action_endpoint("prometheus"), tools


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    context._ACTION_ENDPOINTS.clear()
    hookenv.cache.clear()


def register(ep: Any) -> None:
    ep.register_job("etcd", monitoring.scrape_job(members()), "CA", "CERT", "KEY")


def test_a_job_is_one_request_key_of_sorted_json(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, tools = endpoint(monkeypatch, {})
    register(ep)
    context.flush_action_endpoints()
    (published,) = tools.sets
    (key,) = published
    assert key.startswith("request_") and len(key) == len("request_") + 36
    value = json.loads(published[key])
    assert published[key] == json.dumps(value, sort_keys=True)
    assert value == {
        "ca_cert": "CA",
        "client_cert": "CERT",
        "client_key": "KEY",
        "job_data": monitoring.scrape_job(members()),
        "job_name": "etcd",
        "request_id": key[len("request_") :],
    }


def test_an_update_keeps_the_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    old = {"job_name": "etcd", "job_data": {}, "ca_cert": "CA", "client_cert": "CERT",
           "client_key": "KEY", "request_id": REQUEST[len("request_"):]}  # fmt: skip
    ep, tools = endpoint(monkeypatch, {REQUEST: json.dumps(old, sort_keys=True)})
    register(ep)
    context.flush_action_endpoints()
    (published,) = tools.sets
    assert list(published) == [REQUEST]
    assert json.loads(published[REQUEST])["job_data"]["static_configs"][0]["targets"][0] == (
        "10.0.0.1:2379"
    )
    # the same again: nothing to publish
    ep, tools = endpoint(monkeypatch, {REQUEST: published[REQUEST]})
    register(ep)
    context.flush_action_endpoints()
    assert tools.sets == []


def test_a_unit_that_is_not_the_leader_withdraws_its_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, tools = endpoint(monkeypatch, {REQUEST: "{}", "ingress-address": "10.0.0.1"})
    ep.withdraw()
    context.flush_action_endpoints()
    (published,) = tools.sets
    assert published[REQUEST] is None  # relation-set deletes a key set to nothing

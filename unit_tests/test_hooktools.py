"""lib/etcd_charm/hooktools.py: one call per hook tool per hook, and what a hook set is what
it reads."""

from __future__ import annotations

from typing import Any

import pytest
from charmhelpers.core import hookenv

from etcd_charm import hooktools


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    data = {"token": "t1", "joining": "{}"}

    def leader_get(attribute: str | None = None) -> Any:
        seen.append("leader-get")
        return dict(data) if attribute is None else data.get(attribute)

    def leader_set(settings: dict[str, Any]) -> None:
        seen.append("leader-set")
        for k, v in settings.items():
            if v in (None, ""):
                data.pop(k, None)
            else:
                data[k] = str(v)

    def network_get(endpoint: str) -> dict[str, Any]:
        seen.append(f"network-get {endpoint}")
        return {"ingress-addresses": [f"10.0.0.{len(seen)}"]}

    monkeypatch.setattr(hookenv, "leader_get", leader_get)
    monkeypatch.setattr(hookenv, "leader_set", leader_set)

    def is_leader() -> bool:
        seen.append("is-leader")
        return True

    monkeypatch.setattr(hookenv, "is_leader", is_leader)
    monkeypatch.setattr(hookenv, "network_get", network_get)
    return seen


def test_each_tool_is_asked_once_per_hook(calls: list[str]) -> None:
    assert hooktools.is_leader() and hooktools.is_leader()
    assert hooktools.leader_get("token") == "t1"
    assert hooktools.leader_get() == {"token": "t1", "joining": "{}"}
    assert hooktools.leader_get("missing") is None
    first = hooktools.network_get("cluster")
    assert hooktools.network_get("cluster") == first
    hooktools.network_get("db")
    assert calls == ["is-leader", "leader-get", "network-get cluster", "network-get db"]


def test_what_the_hook_set_is_what_it_reads(calls: list[str]) -> None:
    hooktools.leader_get()
    hooktools.leader_set({"token": "t2", "joining": None, "restart-grant": "etcd/1"})
    hooktools.leader_set({"restart-grant": ""})
    assert hooktools.leader_get() == {"token": "t2"}
    assert calls == ["leader-get", "leader-set", "leader-set"]
    # a copy: changing it changes nothing kept
    hooktools.leader_get()["token"] = "x"
    assert hooktools.leader_get("token") == "t2"


def test_a_set_before_any_read_is_read_back_from_juju(calls: list[str]) -> None:
    hooktools.leader_set({"token": "t3"})
    assert hooktools.leader_get("token") == "t3"
    assert calls == ["leader-set", "leader-get"]


def test_forget_asks_again(calls: list[str]) -> None:
    hooktools.is_leader()
    hooktools.forget()
    hooktools.is_leader()
    assert calls == ["is-leader", "is-leader"]

"""The leader's bounded wait for the units it founds the cluster with: its clock
(unit storage ``etcd.founding-since``) runs only while it waits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from etcd_charm import plan as P
from etcd_charm.observe import founding_expired
from etcd_charm.record import KV_FOUNDING_SINCE, Record

from .test_membership import FakeKV
from .test_plan import FOUNDERS, founding, unit

WAITING = founding(unit(0), unit(1, peer_url=""))  # etcd/1 without its peer URL, etcd/2 absent


def test_the_clock_starts_then_expires() -> None:
    kv = FakeKV()
    record = Record(kv)
    assert founding_expired(record, WAITING) is False
    assert kv.values[KV_FOUNDING_SINCE] > 0
    kv.values[KV_FOUNDING_SINCE] -= P.FOUNDING_WAIT + 1
    assert founding_expired(record, WAITING) is True


def test_a_unit_that_lost_leadership_starts_a_new_wait_if_it_leads_again() -> None:
    kv = FakeKV()
    record = Record(kv)
    founding_expired(record, WAITING)
    kv.values[KV_FOUNDING_SINCE] -= P.FOUNDING_WAIT + 1  # long ago
    assert founding_expired(record, replace(WAITING, is_leader=False)) is False
    assert KV_FOUNDING_SINCE not in kv.values
    # leader again, still waiting: a fresh clock, not an expired one
    assert founding_expired(record, WAITING) is False
    assert founding_expired(record, WAITING) is False


def test_the_clock_stops_when_nothing_is_pending() -> None:
    kv = FakeKV()
    record = Record(kv)
    founding_expired(record, WAITING)
    everyone = founding(unit(0), unit(1), unit(2))
    assert founding_expired(record, everyone) is False
    assert KV_FOUNDING_SINCE not in kv.values


# --- reading the units that have not joined the leader's view yet ---------------------------


def test_the_leader_reads_every_unit_until_the_cluster_is_founded() -> None:
    from etcd_charm.observe import founding_reads

    units = {"etcd/0": "waiting", "etcd/1": "waiting", "etcd/2": "dying", "etcd/10": "active"}
    leader = WAITING.leader
    assert founding_reads(True, leader, units) == ["etcd/0", "etcd/1", "etcd/10"]
    assert founding_reads(False, leader, units) == []  # a follower founds nothing
    assert founding_reads(True, leader, None) == []  # no goal state
    founded = P.LeaderData.from_dict({"token": "t", "founders": FOUNDERS.to_json()})
    assert founded.current_founders is not None
    assert founding_reads(True, founded, units) == []
    assert founding_reads(True, P.LeaderData.from_dict({"bootstrapped": "true"}), units) == []


class PeersEndpoint:
    def __init__(self, joined: dict[str, dict[str, str | None]], in_scope: set[str]) -> None:
        self.joined, self.in_scope = joined, in_scope
        self.asked: list[str] = []

    def peer_data(self) -> dict[str, dict[str, str | None]]:
        return dict(self.joined)

    def unjoined_data(self, units: list[str]) -> dict[str, dict[str, str | None]]:
        self.asked += units
        return {u: {"peer-url": f"https://{u[-1]}:2380"} for u in units if u in self.in_scope}


class PeersHook:
    def __init__(self, endpoint: PeersEndpoint) -> None:
        self.ep = endpoint

    def endpoint(self, name: str) -> PeersEndpoint:
        assert name == "cluster"
        return self.ep


def test_units_not_joined_yet_are_read_and_this_unit_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from etcd_charm.observe import peers

    monkeypatch.setenv("JUJU_UNIT_NAME", "etcd/0")
    ep = PeersEndpoint({"etcd/1": {"peer-url": "https://1:2380"}}, in_scope={"etcd/2"})
    hook = PeersHook(ep)
    got = peers(hook, ["etcd/0", "etcd/1", "etcd/2", "etcd/3"])  # type: ignore[arg-type]
    # etcd/1 joined; etcd/2 in scope, not joined; etcd/3 not in scope yet: left out
    assert [u.unit for u in got] == ["etcd/1", "etcd/2"]
    assert ep.asked == ["etcd/2", "etcd/3"]
    assert [u.unit for u in peers(hook)] == ["etcd/1"]  # type: ignore[arg-type]


def test_the_peer_endpoint_reads_units_in_scope_and_skips_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util
    import subprocess
    from pathlib import Path
    from types import SimpleNamespace

    from charmhelpers.core import hookenv

    from .test_reactive_wiring import reactive

    reactive()
    path = Path(__file__).resolve().parents[1] / "hooks" / "relations" / "etcd" / "peers.py"
    spec = importlib.util.spec_from_file_location("etcd_peers_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def relation_get(attribute: object = None, unit: str = "", rid: str = "") -> object:
        assert rid == "cluster:0" and attribute is None
        if unit == "etcd/3":  # not in scope yet: relation-get exits 1
            raise subprocess.CalledProcessError(1, ["relation-get"], "settings not found")
        return {"peer-url": "https://10.0.0.2:2380", "member-name": "etcd2"}

    monkeypatch.setattr(hookenv, "relation_get", relation_get)

    endpoint = module.EtcdPeers.__new__(module.EtcdPeers)
    endpoint._relations = [SimpleNamespace(relation_id="cluster:0")]
    assert endpoint.unjoined_data(["etcd/2", "etcd/3"]) == {
        "etcd/2": {"peer-url": "https://10.0.0.2:2380", "member-name": "etcd2"}
    }

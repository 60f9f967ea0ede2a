"""The shell's executors with a fake etcdctl runner and fake hook tools: the leader's
membership executors (lib/etcd_charm/membership.py), their dispatch table and loop bound,
and update-status's member cache (lib/etcd_charm/observe.py).

etcdctl answers come from captures of a real cluster (unit_tests/data/etcdctl/3.5.16): etcd0
and etcd1 are voters, etcd2 (3c34ebf4729a104c) is the learner being added."""

from __future__ import annotations

import subprocess
import typing
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from charmhelpers.core import hookenv

from etcd_charm import cluster, context, membership, observe
from etcd_charm import etcd_conf as C
from etcd_charm import plan as P
from etcd_charm.context import Ctx, Hook
from etcd_charm.etcd_json import parse_member_list
from etcd_charm.etcdctl import Etcdctl
from etcd_charm.record import KV_MEMBERS, Record
from etcd_charm.settings import Settings, parse_settings

from .fixtures import capture, config_defaults

VERSION = "3.5.16"
CTX = capture(VERSION, "context")["members"]
ETCD2 = CTX["etcd2"]
LEARNER_ID = ETCD2["id"]  # 3c34ebf4729a104c


class FakeKV:
    """charmhelpers' unitdata, in memory."""

    def __init__(self, **values: Any) -> None:
        self.values: dict[str, Any] = dict(values)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def unset(self, key: str) -> None:
        self.values.pop(key, None)


@dataclass
class FakeEtcdctl:
    """An etcdctl runner: each command (its words before the first flag) answers with the
    next capture queued for it; every call is recorded with its endpoints."""

    answers: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def __call__(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        endpoints = next(a for a in argv if a.startswith("--endpoints=")).split("=", 1)[1]
        args = argv[argv.index("json") + 1 :]
        self.calls.append((endpoints, args))
        key = tuple(a for a in args if not a.startswith("--"))[:2]
        queue = self.answers.get(key)
        if not queue:
            raise AssertionError(f"unexpected etcdctl {args}")
        c = capture(VERSION, queue.pop(0) if len(queue) > 1 else queue[0])
        return subprocess.CompletedProcess(argv, c["rc"], c["stdout"], c["stderr"])

    def commands(self) -> list[list[str]]:
        return [args for _, args in self.calls]


@dataclass
class FakeHookTools:
    leader_sets: list[dict[str, Any]] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)
    leader_data: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch) -> FakeHookTools:
    fake = FakeHookTools()

    def leader_set(values: dict[str, Any]) -> None:
        fake.leader_sets.append(dict(values))
        fake.leader_data.update(values)

    monkeypatch.setattr(hookenv, "leader_set", leader_set)
    monkeypatch.setattr(hookenv, "leader_get", lambda key=None: dict(fake.leader_data))
    monkeypatch.setattr(hookenv, "log", lambda msg, level=None: fake.logs.append((level, msg)))
    monkeypatch.setattr(hookenv, "is_leader", lambda: True)
    monkeypatch.setattr(hookenv, "goal_state", lambda: {"units": {}})
    monkeypatch.setattr(hookenv, "status_set", lambda *a, **k: None)
    monkeypatch.setattr(context, "POLL", 0.0)
    return fake


@pytest.fixture
def etcd(monkeypatch: pytest.MonkeyPatch) -> FakeEtcdctl:
    fake = FakeEtcdctl()
    real = cluster.client

    def client(endpoints: list[str], binary: str = "etcdctl") -> Etcdctl:
        return replace(real(endpoints, binary), runner=fake)

    monkeypatch.setattr(cluster, "client", client)
    monkeypatch.setattr(context, "client", client)
    return fake


def settings() -> Settings:
    parsed, errors = parse_settings(config_defaults())
    assert parsed is not None, errors
    return parsed


def make_ctx(kv: FakeKV | None = None, unit: str = "etcd/0", hook: str = "leader") -> Ctx:
    record = Record(kv if kv is not None else FakeKV())
    config = config_defaults()
    parsed = settings()
    h = Hook(unit, hook, record, config, parsed, [], endpoint=lambda name: None)
    identity = C.Identity(unit, "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1")
    return Ctx(h, parsed, identity, VERSION)


def members(name: str) -> Any:
    return parse_member_list(capture(VERSION, name)["stdout"])


def unit(n: int, **kw: Any) -> P.UnitInfo:
    m = CTX[f"etcd{n}"]
    return P.UnitInfo(f"etcd/{n}", f"etcd{n}", m["peer_url"], m["client_url"], ready=True, **kw)


def observed(**kw: Any) -> P.Observed:
    base: dict[str, Any] = {
        "me": unit(0, member_id=CTX["etcd0"]["id"]),
        "is_leader": True,
        "started": True,
        "leader": P.LeaderData(token="t", bootstrapped="etcd0"),
        "peers": (unit(1, member_id=CTX["etcd1"]["id"]),),
        "members": members("member-list-2"),
    }
    base.update(kw)
    return P.Observed(**base)


def joining() -> P.Joining:
    return P.Joining("etcd/2", "etcd2", LEARNER_ID, ETCD2["peer_url"], "etcd0=x,etcd2=y")


def leader(ctx: Ctx | None = None, acted: list[P.Observed] | None = None) -> membership.Leader:
    def act(obs: P.Observed) -> P.Observed:
        if acted is not None:
            acted.append(obs)
        return obs

    return membership.Leader(ctx or make_ctx(), act)


# --- the dispatch table ---------------------------------------------------------------------


def test_every_step_the_leader_performs_has_an_executor() -> None:
    emitted = {t for t in typing.get_args(P.LeaderStep) if t is not type(None)}
    ends_the_loop = {P.Wait, P.Blocked}
    assert set(membership.EXECUTORS) == emitted - ends_the_loop


def test_lead_stops_after_the_named_bound(
    tools: FakeHookTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a plan that never settles: the loop ends after MAX_LEADER_STEPS steps
    monkeypatch.setattr(P, "leader_step", lambda obs: P.ClearRestartGrant())
    membership.lead(leader(), observed(members=None))
    assert len(tools.leader_sets) == membership.MAX_LEADER_STEPS
    assert tools.leader_sets[0] == {"restart-grant": None}


def test_lead_records_a_block_and_stops(
    tools: FakeHookTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(P, "leader_step", lambda obs: P.Blocked("a reason"))
    ctx = make_ctx()
    membership.lead(leader(ctx), observed(members=None))
    assert ctx.hook.blocked == "a reason"
    assert ("WARNING", "leader: a reason") in tools.logs
    assert tools.leader_sets == []


def test_a_grant_to_this_unit_is_acted_on_at_once(tools: FakeHookTools) -> None:
    acted: list[P.Observed] = []
    lead = leader(acted=acted)
    obs = membership.grant_restart(lead, observed(), P.GrantRestart("etcd/0"))
    assert tools.leader_sets == [{"restart-grant": "etcd/0"}]
    assert [o.leader.restart_grant for o in acted] == ["etcd/0"]
    assert obs.leader.restart_grant == "etcd/0"
    membership.grant_restart(lead, obs, P.GrantRestart("etcd/1"))
    assert len(acted) == 1  # another unit's grant: that unit acts in its own hook


# --- this unit's own step (lib/etcd_charm/charm.py: Act) ---------------------------------------


def test_every_step_a_unit_takes_has_an_executor() -> None:
    from etcd_charm import charm

    emitted = {t for t in typing.get_args(P.UnitStep) if t is not type(None)}
    assert set(charm.OWN_STEPS) == emitted - {P.Wait}


def own_step(
    monkeypatch: pytest.MonkeyPatch, steps: list[Any], desired: str = "h1"
) -> tuple[Any, list[str]]:
    """An Act whose plan answers ``steps`` in turn and whose executors record their
    calls."""
    from etcd_charm import charm

    taken: list[str] = []
    monkeypatch.setattr(charm.configure, "desired", lambda ctx: ("conf", desired))
    monkeypatch.setattr(P, "unit_step", lambda *a: steps.pop(0))

    def record(ctx: Ctx, obs: P.Observed, step: Any, conf: str) -> P.Observed:
        taken.append(type(step).__name__)
        return obs

    for kind in list(charm.OWN_STEPS):
        monkeypatch.setitem(charm.OWN_STEPS, kind, record)
    return charm.Act(make_ctx(FakeKV(**{"etcd.applied-hash": "h0"}))), taken


def test_a_step_granted_inside_lead_is_not_taken_again(
    tools: FakeHookTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    restart = P.Restart("h1", False)
    act, taken = own_step(monkeypatch, [restart, restart])
    obs = act(observed())  # the leader granted itself the restart inside lead
    act(obs)  # reconcile's call after lead: the same step is refused, not run
    assert taken == ["Restart"]
    assert any("again in one hook" in m for _, m in tools.logs)


def test_different_steps_in_one_hook_are_each_taken_once(
    tools: FakeHookTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    act, taken = own_step(monkeypatch, [P.Upgrade("3.5/stable", 1, 3), P.Restart("h1", False)])
    act(act(observed()))
    assert taken == ["Upgrade", "Restart"]


def test_waiting_for_a_turn_asks_for_it(
    tools: FakeHookTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    act, taken = own_step(monkeypatch, [P.Wait("Waiting for a turn to restart")])
    obs = act(observed())
    assert taken == [] and obs.me.restart_request == "h1"


# --- the membership executors ---------------------------------------------------------------


def test_add_learner(tools: FakeHookTools, etcd: FakeEtcdctl) -> None:
    etcd.answers[("member", "add")] = ["member-add-learner-etcd2"]
    obs = membership.add(leader(), observed(), P.AddLearner(unit(2)))
    assert etcd.commands() == [
        ["member", "add", "etcd2", f"--peer-urls={ETCD2['peer_url']}", "--learner"]
    ]
    # the voters' client URLs (the leader's own member is not started in this record)
    assert etcd.calls[0][0] == CTX["etcd1"]["client_url"]
    (recorded,) = tools.leader_sets
    want = P.Joining.from_json(recorded["joining"])
    assert want is not None and want.member_id == LEARNER_ID and want.unit == "etcd/2"
    # the learner starts with every member, itself included
    assert set(want.initial_cluster.split(",")) == {
        f"etcd{n}={CTX[f'etcd{n}']['peer_url']}" for n in range(3)
    }
    assert obs.leader.joining == want
    assert obs.members is not None and len(obs.members.members) == 3
    assert ("INFO", f"added etcd/2 as learner {LEARNER_ID:x}") in tools.logs


def test_add_learner_waits_out_an_unhealthy_cluster(
    tools: FakeHookTools, etcd: FakeEtcdctl
) -> None:
    # etcd refuses membership changes for a few seconds after the previous one
    etcd.answers[("member", "add")] = ["member-add-voter-one-down", "member-add-learner-etcd2"]
    membership.add(leader(), observed(), P.AddLearner(unit(2)))
    assert len(etcd.commands()) == 2


def test_promote(tools: FakeHookTools, etcd: FakeEtcdctl) -> None:
    etcd.answers[("member", "promote")] = ["member-promote-etcd2"]
    etcd.answers[("member", "list")] = ["member-list-3"]
    obs = observed(leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining()))
    after = membership.promote_learner(leader(), obs, P.Promote(joining()))
    assert etcd.commands() == [["member", "promote", f"{LEARNER_ID:x}"], ["member", "list"]]
    assert tools.leader_sets == [{"joining": None}]
    assert after.leader.joining is None
    assert after.members == members("member-list-3")
    assert ("INFO", f"promoted etcd/2 ({LEARNER_ID:x}) to a voting member") in tools.logs


def test_promote_of_a_member_promoted_already(tools: FakeHookTools, etcd: FakeEtcdctl) -> None:
    etcd.answers[("member", "promote")] = ["member-promote-voter"]
    etcd.answers[("member", "list")] = ["member-list-3"]
    membership.promote_learner(leader(), observed(), P.Promote(joining()))
    assert [c[:2] for c in etcd.commands()] == [["member", "promote"], ["member", "list"]]


def test_remove_stale_learner(tools: FakeHookTools, etcd: FakeEtcdctl) -> None:
    etcd.answers[("member", "remove")] = ["member-remove-etcd2"]
    etcd.answers[("member", "list")] = ["member-list-2"]
    obs = observed(leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining()))
    after = membership.remove_stale_learner(leader(), obs, P.RemoveStaleLearner(joining()))
    assert etcd.commands() == [["member", "remove", f"{LEARNER_ID:x}"], ["member", "list"]]
    assert tools.leader_sets == [{"joining": None}]
    assert after.leader.joining is None


def test_remove_stale_learner_gone_already(tools: FakeHookTools, etcd: FakeEtcdctl) -> None:
    etcd.answers[("member", "remove")] = ["member-remove-already-removed"]
    etcd.answers[("member", "list")] = ["member-list-2"]
    membership.remove_stale_learner(leader(), observed(), P.RemoveStaleLearner(joining()))
    assert tools.leader_sets == [{"joining": None}]


def test_remove_member_moves_the_raft_leader_first(
    tools: FakeHookTools, etcd: FakeEtcdctl
) -> None:
    # the member removed leads raft (endpoint-status-1: etcd0 leads): leadership moves first
    three = members("member-list-3")
    stray = three.by_id(CTX["etcd0"]["id"])
    assert stray is not None
    target = P.transfer_target(three, stray.id, None)
    etcd.answers[("endpoint", "status")] = ["endpoint-status-1"]
    etcd.answers[("move-leader", f"{target:x}")] = ["move-leader"]
    etcd.answers[("member", "remove")] = ["member-remove-etcd2"]
    etcd.answers[("member", "list")] = ["member-list-2"]
    step = P.RemoveMember(stray, "it matches no unit")
    membership.remove_stray_member(leader(), observed(members=three), step)
    assert etcd.commands() == [
        ["endpoint", "status"],
        ["move-leader", f"{target:x}"],
        ["member", "remove", f"{stray.id:x}"],
        ["member", "list"],
    ]
    assert etcd.calls[1][0] == ",".join(stray.client_urls)  # asked of the leader itself
    assert ("INFO", f"moving the raft leader to {target:x} before removing {P.label(stray)}") in (
        tools.logs
    )
    assert ("INFO", f"removing member {P.label(stray)}: it matches no unit") in tools.logs


def test_clear_upgrade_grant_asks_for_health_again(tools: FakeHookTools) -> None:
    obs = observed(healthy=frozenset({1}))
    after = membership.clear_upgrade_grant(leader(), obs, P.ClearUpgradeGrant())
    assert tools.leader_sets == [{"upgrade-grant": None, "upgrade-progress": None}]
    assert after.healthy is None


# --- update-status's member cache --------------------------------------------------------------


def cached_kv() -> FakeKV:
    text = capture(VERSION, "member-list-2")["stdout"]
    return FakeKV(**{"etcd.started": True, "etcd.member-id": CTX["etcd0"]["id"], KV_MEMBERS: text})


def test_update_status_on_a_quiet_cluster_reuses_the_member_list(
    tools: FakeHookTools, etcd: FakeEtcdctl
) -> None:
    ctx = make_ctx(cached_kv(), hook="update-status")
    peers = {"etcd/1": unit(1, member_id=CTX["etcd1"]["id"]).to_relation()}
    ctx = replace(ctx, hook=replace(ctx.hook, endpoint=lambda n: FakePeers(peers)))
    obs = observe.observe(ctx, unit(0, member_id=CTX["etcd0"]["id"]), True, "")
    assert obs.members == members("member-list-2")
    assert etcd.calls == []


def test_update_status_refreshes_while_a_learner_joins(
    tools: FakeHookTools, etcd: FakeEtcdctl
) -> None:
    record = Record(cached_kv())
    obs = observed(leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining()))
    assert observe.cached_members_if_quiet(record, obs) is None
    assert observe.cached_members_if_quiet(record, observed()) == members("member-list-2")
    # a unit left since the list was taken: Juju's view no longer matches
    assert observe.cached_members_if_quiet(record, observed(peers=())) is None
    # a ready unit etcd does not know yet
    grown = observed(peers=(unit(1, member_id=CTX["etcd1"]["id"]), unit(2)))
    assert observe.cached_members_if_quiet(record, grown) is None
    # a peer whose hook has not published its member id yet: the names match, the list stands
    founders = observed(peers=(unit(1),))
    assert observe.cached_members_if_quiet(record, founders) == members("member-list-2")
    # a founder listed before it started (its name, no client URL): it may have since
    listed = members("member-list-2")
    first, *rest = listed.members
    record.remember_members(replace(listed, members=(replace(first, client_urls=()), *rest)))
    assert observe.cached_members_if_quiet(record, observed()) is None


class FakePeers:
    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self.data = data

    def peer_data(self) -> dict[str, dict[str, str]]:
        return self.data


# --- the restore's quarantine -------------------------------------------------------------


def test_health_is_asked_again_after_the_member_list_changed(
    tools: FakeHookTools, etcd: FakeEtcdctl
) -> None:
    """A learner just promoted was not among the voters whose health was asked: the health
    known so far goes with the member list it was asked of."""
    etcd.answers[("member", "list")] = ["member-list-3"]
    after = cluster.refresh_members(make_ctx(), observed(healthy=frozenset({1})))
    assert after.members == members("member-list-3") and after.healthy is None


def test_the_leader_lifts_the_quarantine_in_the_hook_the_last_unit_is_promoted(
    tools: FakeHookTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No hook may follow the last promotion: the leader asks the health of the new member
    list and lifts the quarantine in the same hook."""
    listed = members("member-list-3")
    ids = {m.name: m.id for m in listed.members}
    asked: list[frozenset[int]] = []

    def health(ms: Any, binary: str = "") -> frozenset[int]:
        asked.append(frozenset(m.id for m in ms.voters))
        return frozenset(m.id for m in ms.voters)

    monkeypatch.setattr(membership, "member_health", health)
    quarantined = P.LeaderData(token="t", bootstrapped="etcd0", restored="t", quarantine="t")
    obs = observed(
        me=unit(0, member_id=ids["etcd0"]),
        peers=(unit(1, member_id=ids["etcd1"]), unit(2, member_id=ids["etcd2"])),
        members=listed,
        leader=quarantined,
    )
    after = membership.lead(leader(), obs)
    assert tools.leader_sets == [{"quarantine": None}]
    assert after.leader.quarantine == "" and asked == [frozenset(ids.values())]
    assert ("INFO", "leader step: LiftQuarantine()") in tools.logs


def test_found_records_the_founders_and_the_cluster_in_one_write(tools: FakeHookTools) -> None:
    """One leader-settings-changed hook on every other unit for the founding, not two."""
    obs = observed(leader=P.LeaderData(), started=False, members=None)
    after = membership.found(leader(), obs, P.Found("etcd0=https://a:2380,etcd1=https://b:2380"))
    assert len(tools.leader_sets) == 1
    written = tools.leader_sets[0]
    assert written["bootstrapped"] == "etcd0" and written["cluster"].startswith("etcd0=")
    assert written["leader_address"] == "https://127.0.0.1:2379"
    assert P.Founders.from_json(written["founders"]) == after.leader.current_founders
    assert after.leader.bootstrapped == "etcd0" and after.leader.token == written["token"]
    # a leader that is no founder names the first founder, and no address of its own
    tools.leader_sets.clear()
    membership.found(leader(), obs, P.Found("etcd1=https://b:2380,etcd2=https://c:2380"))
    assert tools.leader_sets[0]["bootstrapped"] == "etcd1"
    assert "leader_address" not in tools.leader_sets[0]

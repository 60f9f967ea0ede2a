"""A leaving unit (lib/etcd_charm/member.py: leave) whose removal is refused for quorum looks
again before it fails its hook: a unit leaving at the same time hands raft leadership over
and removes its member, and a health probe in between finds a member that does not answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from etcd_charm import member, workload
from etcd_charm.etcd_json import Member, MemberList
from etcd_charm.record import KV_MEMBER_ID, KV_STARTED

from .test_membership import FakeHookTools, FakeKV, make_ctx
from .test_membership import tools as tools  # noqa: F401 - the fixture

ME, STAYS = 0xA9, 0xA1


def listed() -> MemberList:
    def m(i: int, n: int) -> Member:
        return Member(
            i, f"etcd{n}", (f"https://10.0.0.{n}:2380",), (f"https://10.0.0.{n}:2379",), False
        )

    return MemberList(1, STAYS, 2, (m(STAYS, 1), m(ME, 9)))


def leaving(monkeypatch: pytest.MonkeyPatch, health: list[frozenset[int]]) -> dict[str, Any]:
    seen: dict[str, Any] = {"probes": 0, "removed": [], "stopped": False}
    members = listed()

    def refresh(ctx: Any, obs: Any) -> Any:
        return replace(obs, members=members)

    def probe(_members: MemberList, *a: Any) -> frozenset[int]:
        seen["probes"] += 1
        return health[min(seen["probes"], len(health)) - 1]

    monkeypatch.setattr(member, "refresh_members", refresh)
    monkeypatch.setattr(member, "member_health", probe)
    monkeypatch.setattr(member, "hand_over_leadership", lambda *a, **k: None)
    monkeypatch.setattr(
        member, "remove_self", lambda ctx, ctl, i: seen["removed"].append(i) or True
    )
    monkeypatch.setattr(member, "peers", lambda hook: ())
    monkeypatch.setattr(member, "app_units", lambda: {})
    monkeypatch.setattr(workload, "stop_service", lambda disable=False: seen.update(stopped=True))
    monkeypatch.setattr(member, "LEAVE_DEADLINE", 3.0)
    return seen


def test_a_moments_refusal_clears_and_the_member_leaves(
    monkeypatch: pytest.MonkeyPatch, tools: FakeHookTools
) -> None:
    # the member that stays does not answer the first probe (its election), then does
    seen = leaving(monkeypatch, [frozenset({ME}), frozenset({ME, STAYS})])
    ctx = make_ctx(FakeKV(**{KV_STARTED: True, KV_MEMBER_ID: ME}), unit="etcd/9")
    member.leave(ctx)
    assert seen["removed"] == [ME] and seen["stopped"]
    assert seen["probes"] == 2
    assert ctx.record.left and not ctx.record.started


def test_a_lasting_refusal_fails_the_hook_without_removing(
    monkeypatch: pytest.MonkeyPatch, tools: FakeHookTools
) -> None:
    seen = leaving(monkeypatch, [frozenset({ME})])
    ctx = make_ctx(FakeKV(**{KV_STARTED: True, KV_MEMBER_ID: ME}), unit="etcd/9")
    with pytest.raises(member.Refused) as e:
        member.leave(ctx)
    assert str(e.value).startswith("Cannot leave the cluster: without etcd9")
    assert seen["removed"] == [] and not seen["stopped"]
    assert seen["probes"] > 2  # it looked again until the deadline
    assert ctx.record.started and not ctx.record.left


class FakeCtl:
    def __init__(self, members: MemberList | None) -> None:
        self.members = members
        self.removed: list[int] = []

    def member_list(self) -> MemberList:
        if self.members is None:
            from etcd_charm.etcdctl import EtcdctlError

            raise EtcdctlError(["etcdctl"], 1, "context deadline exceeded")
        return self.members

    def member_remove(self, member_id: int) -> None:
        self.removed.append(member_id)


@pytest.mark.parametrize(
    "mine, removed",
    [
        (listed(), True),  # the other member is still there: removed through it
        (None, True),  # its own member does not say: removed through the others
        (MemberList(1, ME, 3, (listed().members[1],)), False),  # the others left first
    ],
)
def test_the_last_of_units_removed_together_stops_without_removing_itself(
    mine: MemberList | None, removed: bool
) -> None:
    local, remote = FakeCtl(mine), FakeCtl(listed())
    ctx = type("Ctx", (), {"local": lambda self: local})()
    assert member.remove_self(ctx, remote, ME) is removed  # type: ignore[arg-type]
    assert remote.removed == ([ME] if removed else [])

"""A restore removes the other members of the cluster it replaces (lib/etcd_charm/restore.py
``remove_other_members``), robustly: this member leads raft first, so no removal deposes the
leader, and a removal that etcdctl's own deadline cut short (an election going on) is tried
again (``cluster.reconfigure``)."""

from __future__ import annotations

from typing import Any

import pytest

from etcd_charm import cluster, restore
from etcd_charm.etcd_json import EndpointStatus, Member, MemberList
from etcd_charm.etcdctl import EtcdctlError

ME, A, B = 0x1, 0xA, 0xB


def member(mid: int) -> Member:
    return Member(mid, f"etcd{mid}", (f"https://10.0.0.{mid}:2380",),
                  (f"https://10.0.0.{mid}:2379",), False)  # fmt: skip


def status(leader: int) -> EndpointStatus:
    return EndpointStatus("https://127.0.0.1:2379", ME, 7, leader, 2, 100, "3.5.16", 1, False)


class Cluster:
    """Three members; ``leader`` leads raft; a removal fails ``flaky`` times with etcdctl's
    deadline before it goes through."""

    def __init__(self, leader: int, flaky: int = 0) -> None:
        self.leader = leader
        self.flaky = flaky
        self.members = {ME: member(ME), A: member(A), B: member(B)}
        self.calls: list[str] = []

    # the local etcdctl
    def endpoint_status(self) -> list[EndpointStatus]:
        return [status(self.leader)]

    def member_list(self) -> MemberList:
        return MemberList(7, ME, 2, tuple(self.members.values()))

    def member_remove(self, mid: int) -> None:
        if self.flaky:
            self.flaky -= 1
            self.calls.append(f"remove {mid:x}: deadline")
            raise EtcdctlError(["member", "remove"], 1, "Error: context deadline exceeded")
        self.calls.append(f"remove {mid:x}")
        self.members.pop(mid)

    def via(self, urls: list[str]) -> Any:
        outer = self

        class Remote:
            def move_leader(self, target: int) -> None:
                outer.calls.append(f"move-leader {target:x} via {urls[0]}")
                outer.leader = target

        return Remote()


class Ctx:
    def __init__(self, c: Cluster) -> None:
        self.c = c

    def local(self) -> Cluster:
        return self.c


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restore, "log", lambda *a, **k: None)
    monkeypatch.setattr(cluster, "log", lambda *a, **k: None)


def test_this_member_leads_before_the_others_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    c = Cluster(leader=A)
    monkeypatch.setattr(restore, "client", c.via)
    said: list[str] = []
    assert restore.remove_other_members(Ctx(c), said.append) is True  # type: ignore[arg-type]
    assert c.calls == ["move-leader 1 via https://10.0.0.10:2379", "remove a", "remove b"]
    assert list(c.members) == [ME]


def test_a_removal_cut_short_by_etcdctl_s_deadline_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = Cluster(leader=ME, flaky=1)
    monkeypatch.setattr(restore, "client", c.via)
    assert restore.remove_other_members(Ctx(c), lambda _: None) is True  # type: ignore[arg-type]
    assert c.calls == ["remove a: deadline", "remove a", "remove b"]


def test_other_failures_are_not_retried() -> None:
    def refuse() -> None:
        raise EtcdctlError(["member", "remove"], 1, "Error: etcdserver: re-configuration failed")

    with pytest.raises(EtcdctlError):
        cluster.reconfigure("remove member a", refuse, idempotent=True)

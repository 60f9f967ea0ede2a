"""The health action's table and verdict, and the defrag order, from real etcdctl outputs."""

from __future__ import annotations

import pytest

from etcd_charm.etcd_json import (
    Alarm,
    EndpointHealth,
    EndpointStatus,
    MemberList,
    parse_alarms,
    parse_endpoint_health,
    parse_endpoint_status,
    parse_member_list,
)
from etcd_charm.report import defrag_order, render, rows, verdict

from .fixtures import VERSIONS, capture


def out(version: str, name: str) -> str:
    return str(capture(version, name)["stdout"])


def observed(
    version: str, member_list: str, state: str
) -> tuple[MemberList, list[EndpointStatus], list[EndpointHealth]]:
    """A member list and the ``endpoint status``/``endpoint health --cluster`` captured in
    the same state of the cluster."""
    return (
        parse_member_list(out(version, member_list)),
        parse_endpoint_status(out(version, f"endpoint-status-cluster-{state}")),
        parse_endpoint_health(out(version, f"endpoint-health-cluster-{state}")),
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_healthy_three_members(version: str) -> None:
    members, statuses, healths = observed(version, "member-list-3", "3")
    table = rows(members, statuses, healths, [])
    assert [r.name for r in table] == ["etcd0", "etcd1", "etcd2"]
    assert all(r.healthy and not r.learner and r.version == version for r in table)
    assert sum(r.leader for r in table) == 1
    assert all(r.db_size > 0 and r.raft_index > 0 for r in table)
    ok, summary = verdict(table)
    assert ok and summary == "Healthy with 3 known peers"
    text = render(table).splitlines()
    assert text[0].split()[:3] == ["NAME", "ID", "CLIENT"]
    assert len(text) == 4 and sum("*" in line for line in text[1:]) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_one_member_down(version: str) -> None:
    members, statuses, healths = observed(version, "member-list-3-final", "one-down")
    table = rows(members, statuses, healths, [])
    down = [r for r in table if not r.healthy]
    assert len(down) == 1 and down[0].error
    ok, summary = verdict(table)
    assert not ok
    assert summary.startswith("Unhealthy (quorum kept, 2 of 3 voters up)")
    assert f"{down[0].name} not healthy" in summary
    assert f"no ({down[0].error})" in render(table)


@pytest.mark.parametrize("version", VERSIONS)
def test_unstarted_learner(version: str) -> None:
    members, statuses, healths = observed(
        version, "member-list-learner-unstarted", "learner-unstarted"
    )
    table = rows(members, statuses, healths, [])
    learner = next(r for r in table if r.learner)
    assert learner.error == "added but not started" and not learner.healthy
    ok, summary = verdict(table)
    assert not ok and "still a learner" in summary


# `alarm list -w json` of a 3.5.16 member over its 4 MB quota (see data/etcdctl/README.md)
NOSPACE = (
    '{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,'
    '"revision":9,"raft_term":2},"alarms":[{"memberID":10276657743932975437,"alarm":1}]}'
)
NO_ALARMS = (
    '{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,'
    '"revision":2,"raft_term":2}}'
)


def test_alarms_parse_and_show() -> None:
    assert parse_alarms(NO_ALARMS) == []
    assert parse_alarms(NOSPACE) == [Alarm(10276657743932975437, "NOSPACE")]
    members, statuses, healths = observed("3.5.16", "member-list-3", "3")
    victim = members.members[1]
    table = rows(members, statuses, healths, [Alarm(victim.id, "NOSPACE")])
    ok, summary = verdict(table)
    assert not ok and f"alarm NOSPACE on {victim.name}" in summary
    assert next(r for r in table if r.name == victim.name).to_result()["alarms"] == "NOSPACE"


@pytest.mark.parametrize("version", VERSIONS)
def test_defrag_order_leader_last(version: str) -> None:
    members, statuses, _ = observed(version, "member-list-3", "3")
    leader = statuses[0].leader
    order = defrag_order(members, leader)
    assert sorted(order) == sorted(m.id for m in members.members)
    assert order[-1] == leader
    unstarted = parse_member_list(out(version, "member-list-learner-unstarted"))
    assert len(defrag_order(unstarted, 0)) == len(unstarted.members) - 1

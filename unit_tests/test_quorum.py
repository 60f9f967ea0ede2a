"""The safety rules as tables: members and their health -> the answer (no mocks)."""

from __future__ import annotations

import pytest

from etcd_charm import quorum as Q
from etcd_charm.etcd_json import Member, MemberList


def member(n: int, learner: bool = False) -> Member:
    return Member(
        id=1000 + n,
        name=f"etcd{n}",
        peer_urls=(f"https://10.0.0.{n}:2380",),
        client_urls=(f"https://10.0.0.{n}:2379",),
        is_learner=learner,
    )


def cluster(voters: int, learners: int = 0) -> MemberList:
    ms = tuple(member(n) for n in range(voters)) + tuple(
        member(voters + n, learner=True) for n in range(learners)
    )
    return MemberList(cluster_id=7, member_id=1000, raft_term=2, members=ms)


def up(*ns: int) -> frozenset[int]:
    return frozenset(1000 + n for n in ns)


@pytest.mark.parametrize(
    ("voters", "need"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)]
)
def test_quorum(voters: int, need: int) -> None:
    assert Q.quorum(voters) == need


REMOVE = [
    # (voters, learners, healthy, member removed, ready?)
    (3, 0, up(0, 1, 2), 2, True),  # 2 remain, both up
    (3, 0, up(0, 2), 2, False),  # 2 remain, 1 up: quorum of 2 is 2
    (3, 0, up(0, 1), 2, True),  # removing the member that is down
    (2, 0, up(0), 1, True),  # 1 remains, up
    (2, 0, up(1), 1, False),  # the one that remains is down
    (1, 0, up(), 0, True),  # the last voter: no cluster left to protect
    (3, 1, up(0), 3, True),  # a learner never counts
    (5, 0, up(0, 1, 2), 4, True),  # 4 remain, 3 up: quorum of 4 is 3
    (5, 0, up(0, 1), 4, False),
    (3, 0, up(0, 1, 2), 9, True),  # not a member (removed already)
]


@pytest.mark.parametrize(("voters", "learners", "healthy", "n", "ready"), REMOVE)
def test_is_ready_to_remove_voter(
    voters: int, learners: int, healthy: frozenset[int], n: int, ready: bool
) -> None:
    ml = cluster(voters, learners)
    assert Q.is_ready_to_remove_voter(ml, healthy, 1000 + n) is ready
    assert (Q.removal_refusal(ml, healthy, 1000 + n) == "") is ready


def test_removal_refusal_says_why() -> None:
    assert Q.removal_refusal(cluster(3), up(0, 2), 1002) == (
        "without etcd2, 1 of the 2 remaining members would be healthy and quorum needs 2 "
        "(down: etcd1 (3e9))"
    )


STOP = [
    # (voters, healthy, member stopped, can stop?)
    (1, up(), 0, True),  # one member: down for the switch, allowed
    (3, up(0, 1, 2), 0, True),  # the 2 others make a quorum of 3
    (3, up(0, 1), 0, False),  # 1 other up of 3: quorum needs 2
    (3, up(1, 2), 0, True),  # itself down already: the others are the quorum
    (2, up(0, 1), 0, False),  # 1 other of 2: quorum needs 2
    (5, up(0, 1, 2, 3), 0, True),  # 3 others up: quorum of 5 is 3
    (5, up(0, 1, 2), 0, False),
]


@pytest.mark.parametrize(("voters", "healthy", "n", "can"), STOP)
def test_can_stop_member(voters: int, healthy: frozenset[int], n: int, can: bool) -> None:
    ml = cluster(voters)
    assert Q.can_stop_member(ml, healthy, 1000 + n) is can
    assert (Q.stop_refusal(ml, healthy, 1000 + n) == "") is can


UPGRADE = [
    # (voters, learners, healthy, ready for the next upgrade?, voters down)
    (3, 0, up(0, 1, 2), True, []),
    (3, 0, up(0, 2), False, ["etcd1"]),
    (3, 1, up(0, 1, 2, 3), False, []),  # a learner still catching up
    (1, 0, up(0), True, []),
]


@pytest.mark.parametrize(("voters", "learners", "healthy", "ready", "down"), UPGRADE)
def test_is_ready_to_upgrade_next(
    voters: int, learners: int, healthy: frozenset[int], ready: bool, down: list[str]
) -> None:
    ml = cluster(voters, learners)
    assert Q.is_ready_to_upgrade_next(ml, healthy) is ready
    assert Q.unhealthy_voters(ml, healthy) == down

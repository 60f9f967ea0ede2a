"""Membership decisions as tables of observed states and expected steps (no mocks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from etcd_charm import plan as P
from etcd_charm import status as S
from etcd_charm.etcd_json import Member, MemberList


def unit(n: int, **kw: object) -> P.UnitInfo:
    defaults: dict[str, object] = {
        "name": f"etcd{n}",
        "peer_url": f"https://10.0.0.{n}:2380",
        "client_url": f"https://10.0.0.{n}:2379",
        "ready": True,
    }
    defaults.update(kw)
    return P.UnitInfo(unit=f"etcd/{n}", **defaults)  # type: ignore[arg-type]


def member(n: int, learner: bool = False, started: bool = True) -> Member:
    return Member(
        id=1000 + n,
        name=f"etcd{n}" if started else "",
        peer_urls=(f"https://10.0.0.{n}:2380",),
        client_urls=(f"https://10.0.0.{n}:2379",) if started else (),
        is_learner=learner,
    )


def members(*ms: Member) -> MemberList:
    return MemberList(cluster_id=7, member_id=ms[0].id, raft_term=2, members=ms)


def joining(n: int) -> P.Joining:
    return P.Joining(
        unit=f"etcd/{n}",
        name=f"etcd{n}",
        member_id=1000 + n,
        peer_url=f"https://10.0.0.{n}:2380",
        initial_cluster="...",
    )


BOOT = P.LeaderData(token="t", bootstrapped="etcd0")
CLUSTER_0 = "etcd0=https://10.0.0.0:2380"
CLUSTER_1 = "etcd1=https://10.0.0.1:2380"
CLUSTER_2 = "etcd2=https://10.0.0.2:2380"


def obs(
    me: P.UnitInfo, *peers: P.UnitInfo, ml: MemberList | None = None, **kw: object
) -> P.Observed:
    leader = kw.pop("leader", BOOT)
    return P.Observed(
        me=me,
        is_leader=bool(kw.pop("is_leader", True)),
        started=bool(kw.pop("started", True)),
        leader=leader,  # type: ignore[arg-type]
        peers=peers,
        members=ml,
        **kw,  # type: ignore[arg-type]
    )


CASES = [
    # nothing bootstrapped, no goal state: found the cluster with the units that published
    # their peer URL, whether or not they have their certificates yet
    (obs(unit(0), leader=P.LeaderData(), started=False), P.Found(CLUSTER_0)),
    (
        obs(unit(0), unit(1), unit(2, peer_url=""), leader=P.LeaderData(), started=False),
        P.Found(f"{CLUSTER_0},{CLUSTER_1}"),
    ),
    (
        obs(unit(0, ready=False), unit(1, ready=False), leader=P.LeaderData(), started=False),
        P.Found(f"{CLUSTER_0},{CLUSTER_1}"),
    ),
    # bootstrapped, a ready unit not yet a member: add it as a learner
    (
        obs(unit(0, member_id=1000), unit(1), unit(2), ml=members(member(0))),
        P.AddLearner(unit(1)),
    ),
    # units that are not ready are skipped
    (
        obs(unit(0, member_id=1000), unit(1, ready=False), unit(2), ml=members(member(0))),
        P.AddLearner(unit(2)),
    ),
    # a learner in flight: wait for it to start, then promote it
    (
        obs(
            unit(0),
            unit(1),
            unit(2),
            ml=members(member(0), member(1, learner=True, started=False)),
            leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
        ),
        P.Wait("waiting for etcd/1 to start as a learner"),
    ),
    (
        obs(
            unit(0),
            unit(1, member_id=1001),
            unit(2),
            ml=members(member(0), member(1, learner=True)),
            leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
        ),
        P.Promote(joining(1)),
    ),
    # promoted already (an earlier hook did it): clear the record
    (
        obs(
            unit(0),
            unit(1, member_id=1001),
            ml=members(member(0), member(1)),
            leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
        ),
        P.ClearJoining(),
    ),
    # the joining unit left before it started: remove its learner
    (
        obs(
            unit(0),
            ml=members(member(0), member(1, learner=True, started=False)),
            leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
        ),
        P.RemoveStaleLearner(joining(1)),
    ),
    # a learner nobody recorded (the hook failed after the add): record it
    (
        obs(unit(0), unit(1), ml=members(member(0), member(1, learner=True, started=False))),
        P.RecordJoining(
            P.Joining(
                "etcd/1",
                "etcd1",
                1001,
                "https://10.0.0.1:2380",
                "etcd0=https://10.0.0.0:2380,etcd1=https://10.0.0.1:2380",
            )
        ),
    ),
    # all members: grant restarts one at a time
    (
        obs(
            unit(0, member_id=1000),
            unit(1, member_id=1001, restart_request="h2"),
            unit(2, member_id=1002, restart_request="h2"),
            ml=members(member(0), member(1), member(2)),
        ),
        P.GrantRestart("etcd/1"),
    ),
    (
        obs(
            unit(0, member_id=1000),
            unit(1, member_id=1001, restart_request="h2"),
            unit(2, member_id=1002, restart_request="h2"),
            ml=members(member(0), member(1), member(2)),
            leader=P.LeaderData(token="t", bootstrapped="etcd0", restart_grant="etcd/1"),
        ),
        P.Wait("etcd/1 is restarting with the new configuration"),
    ),
    (
        obs(
            unit(0, member_id=1000),
            unit(1, member_id=1001),
            unit(2, member_id=1002, restart_request="h2"),
            ml=members(member(0), member(1), member(2)),
            leader=P.LeaderData(token="t", bootstrapped="etcd0", restart_grant="etcd/1"),
        ),
        P.ClearRestartGrant(),
    ),
    # no member answers: no membership change
    (
        obs(unit(0), unit(1), ml=None),
        P.Wait("no etcd member answers; cannot change membership"),
    ),
    # steady state
    (
        obs(unit(0, member_id=1000), unit(1, member_id=1001), ml=members(member(0), member(1))),
        None,
    ),
]


@pytest.mark.parametrize(("observed", "step"), CASES)
def test_leader_step(observed: P.Observed, step: P.LeaderStep) -> None:
    assert P.leader_step(observed) == step


def test_a_join_blocks_restarts() -> None:
    o = obs(
        unit(0, member_id=1000, restart_request="h"),
        unit(1),
        ml=members(member(0), member(1, learner=True, started=False)),
        leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
    )
    assert isinstance(P.leader_step(o), P.Wait)


def test_unit_steps() -> None:
    me = unit(1)
    waiting = obs(me, started=False)
    assert P.unit_step(waiting, "", "", False) == P.Wait("Waiting to join the cluster")
    fresh = obs(me, started=False, leader=P.LeaderData())
    assert P.unit_step(fresh, "", "", False) == P.Wait(
        "Waiting for the leader to bootstrap the cluster"
    )
    mine = obs(
        me, started=False, leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1))
    )
    assert P.unit_step(mine, "", "", False) == P.StartJoining(joining(1))
    running = obs(unit(1, member_id=1001), ml=members(member(0), member(1)))
    assert P.unit_step(running, "h", "h", False) is None
    assert P.unit_step(running, "h2", "h", False) == P.Wait(
        "Waiting for a turn to restart with the new configuration"
    )
    granted = obs(
        unit(1, member_id=1001),
        ml=members(member(0), member(1)),
        leader=P.LeaderData(token="t", bootstrapped="etcd0", restart_grant="etcd/1"),
    )
    assert P.unit_step(granted, "h2", "h", True) == P.Restart("h2", True)
    # leadership moves to another started voter, a healthy one when health is known
    three = members(member(0), member(1), member(2))
    assert P.transfer_target(three, 1000) == 1001
    assert P.transfer_target(three, 1000, frozenset({1000, 1002})) == 1002
    assert P.transfer_target(members(member(0)), 1000) == 0


def test_unit_info_round_trips_through_relation_data() -> None:
    u = unit(3, member_id=0xABCDEF, restart_request="h")
    assert P.UnitInfo.from_relation("etcd/3", dict(u.to_relation())) == u
    assert P.UnitInfo.from_relation("etcd/4", {}) == P.UnitInfo("etcd/4", "etcd4")


def test_joining_round_trips_and_rejects_garbage() -> None:
    j = joining(2)
    assert P.Joining.from_json(j.to_json()) == j
    assert P.Joining.from_json("{not json") is None
    assert P.Joining.from_json("") is None


def test_client_view_lists_voting_members_only() -> None:
    view = P.client_view(members(member(2), member(0), member(1, learner=True)))
    assert view.connection_string == "https://10.0.0.0:2379,https://10.0.0.2:2379"
    assert view.cluster == (
        "etcd0=https://10.0.0.0:2380,etcd1=https://10.0.0.1:2380,etcd2=https://10.0.0.2:2380"
    )


def three_units(**kw: object) -> P.Observed:
    return obs(
        unit(0, member_id=1000),
        unit(1, member_id=1001),
        unit(2, member_id=1002),
        ml=members(member(0), member(1), member(2)),
        **kw,
    )


ALL3 = {"etcd/0": "active", "etcd/1": "active", "etcd/2": "active"}


@pytest.mark.parametrize(
    "voters, healthy, removing, refused",
    [
        # 3 healthy: any one may go
        (3, {0, 1, 2}, 1, False),
        # 3 with one down: the down one may go; a healthy one may not (1 of 2 left healthy)
        (3, {0, 1}, 2, False),
        (3, {0, 1}, 1, True),
        # 5 with one down: a healthy one may go (3 of 4 healthy, quorum 3)
        (5, {0, 1, 2, 3}, 1, False),
        # 5 with two down: no healthy one may go (2 of 4, quorum 3)
        (5, {0, 1, 2}, 1, True),
        # 2 healthy -> 1: fine; the last member: nothing left to protect
        (2, {0, 1}, 1, False),
        (1, {0}, 0, False),
        # no quorum at all: nothing may go
        (3, {0}, 2, True),
    ],
)
def test_removal_refusal(voters: int, healthy: set[int], removing: int, refused: bool) -> None:
    ml = members(*(member(n) for n in range(voters)))
    why = P.removal_refusal(ml, frozenset(1000 + n for n in healthy), 1000 + removing)
    assert bool(why) == refused, why
    if refused:
        assert "quorum needs" in why and "down:" in why


def test_removing_a_learner_is_never_refused() -> None:
    ml = members(member(0), member(1), member(2), member(3, learner=True))
    assert P.removal_refusal(ml, frozenset({1000}), 1003) == ""


def test_a_member_of_a_unit_juju_no_longer_has_is_an_orphan() -> None:
    # etcd/2's machine died and it was removed with --force: no peer, not in goal-state
    o = obs(
        unit(0, member_id=1000),
        unit(1, member_id=1001),
        ml=members(member(0), member(1), member(2)),
        app_units={"etcd/0": "active", "etcd/1": "active"},
        healthy=frozenset({1000, 1001}),
    )
    assert P.orphan_members(o) == (member(2),)
    assert P.needs_health(o)
    assert P.leader_step(o) == P.RemoveMember(
        member(2), "it belongs to no unit of the application"
    )
    # health not probed yet: nothing decided about it
    assert P.leader_step(P.Observed(**{**o.__dict__, "healthy": None})) is None


def test_a_dying_unit_or_an_unknown_goal_state_is_no_orphan() -> None:
    dying = {**ALL3, "etcd/2": "dying"}
    o = obs(
        unit(0, member_id=1000),
        unit(1, member_id=1001),  # etcd/2 already gone from the peer relation
        ml=members(member(0), member(1), member(2)),
        app_units=dying,
        healthy=frozenset({1000, 1001, 1002}),
    )
    assert P.orphan_members(o) == ()
    assert P.dying_members(o) == {"etcd/2": member(2)}
    assert P.leader_step(o) is None  # it removes itself; safe, so nothing to say
    unknown = obs(unit(0, member_id=1000), ml=members(member(0), member(1)))
    assert P.orphan_members(unknown) == () and not P.needs_health(unknown)


def test_an_orphan_whose_removal_breaks_quorum_blocks() -> None:
    # 3 members: etcd2 is an orphan but alive, etcd1 is down -> removing etcd2 leaves 1 of 2
    o = obs(
        unit(0, member_id=1000),
        unit(1, member_id=1001),
        ml=members(member(0), member(1), member(2)),
        app_units={"etcd/0": "active", "etcd/1": "active"},
        healthy=frozenset({1000, 1002}),
    )
    step = P.leader_step(o)
    assert isinstance(step, P.Blocked)
    # a blocked removal does not stop other work: a new unit still joins (and may restore
    # the quorum that makes the removal safe)
    more = P.Observed(
        **{
            **o.__dict__,
            "peers": (*o.peers, unit(3)),
            "app_units": {**(o.app_units or {}), "etcd/3": "waiting"},
        }
    )
    assert P.leader_step(more) == P.AddLearner(unit(3))
    assert step.reason.startswith("Member etcd2 (3ea) belongs to no unit and cannot be removed")
    assert "down: etcd1 (3e9)" in step.reason and "juju remove-unit --force" in step.reason


def test_a_dying_unit_that_cannot_leave_blocks_on_the_leader() -> None:
    o = three_units(app_units={**ALL3, "etcd/1": "dying"}, healthy=frozenset({1000, 1001}))
    step = P.leader_step(o)
    assert isinstance(step, P.Blocked)
    assert step.reason.startswith("etcd/1 cannot leave the cluster: without etcd1, 1 of the 2")
    # a dying unit whose etcd is down is removed by the leader (safe: it is down)
    dead = three_units(app_units={**ALL3, "etcd/2": "dying"}, healthy=frozenset({1000, 1001}))
    assert P.leader_step(dead) == P.RemoveMember(
        member(2), "etcd/2 is being removed and its etcd is down"
    )
    # once etcd2 is back, nothing blocks
    ok = three_units(app_units={**ALL3, "etcd/1": "dying"}, healthy=frozenset({1000, 1001, 1002}))
    assert P.leader_step(ok) is None


def test_the_joining_learner_is_not_an_orphan() -> None:
    o = obs(
        unit(0, member_id=1000),
        ml=members(member(0), member(1, learner=True, started=False)),
        leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
        app_units={"etcd/0": "active"},
        healthy=frozenset({1000}),
    )
    assert P.orphan_members(o) == ()


def upgrading(
    grant: str = "", progress: P.Progress | None = None, /, **units: Mapping[str, object]
) -> P.Observed:
    """Three started units tracking 3.4/stable unless told otherwise; target 3.5/stable."""

    def u(n: int) -> P.UnitInfo:
        kw: dict[str, object] = {"member_id": 1000 + n, "channel": "3.4/stable"}
        kw.update(units.get(f"u{n}", {}))
        return unit(n, **kw)

    return obs(
        u(0),
        u(1),
        u(2),
        ml=members(member(0), member(1), member(2)),
        leader=P.LeaderData(
            token="t", bootstrapped="etcd0", upgrade_grant=grant, upgrade_progress=progress
        ),
        target_channel="3.5/stable",
        healthy=frozenset({1000, 1001, 1002}),
    )


def test_an_upgrade_goes_one_unit_at_a_time() -> None:
    assert P.leader_step(upgrading()) == P.GrantUpgrade("etcd/0", P.Progress(1, 3))
    # granted and not done: wait for it (nothing else is granted meanwhile)
    step = P.leader_step(upgrading("etcd/0"))
    assert step == P.Wait("Upgrading etcd 1/3 to 3.5/stable: etcd/0")
    # done: clear, then the next
    done0 = {"u0": {"channel": "3.5/stable"}}
    assert P.leader_step(upgrading("etcd/0", **done0)) == P.ClearUpgradeGrant()
    assert P.leader_step(upgrading("", **done0)) == P.GrantUpgrade("etcd/1", P.Progress(2, 3))
    everyone = {f"u{n}": {"channel": "3.5/stable"} for n in range(3)}
    assert P.leader_step(upgrading("", **everyone)) is None
    # the granted unit upgrades itself, knowing its place
    o = upgrading("etcd/1", **done0)
    o = P.Observed(**{**o.__dict__, "me": o.peers[0], "peers": (o.me, o.peers[1])})
    assert P.unit_step(o, "h", "h", False) == P.Upgrade("3.5/stable", 2, 3)


def test_units_installed_from_a_file_move_to_the_channel_set() -> None:
    files = {f"u{n}": {"channel": "", "revision": "x1"} for n in range(3)}
    assert P.leader_step(upgrading(**files)) == P.GrantUpgrade("etcd/0", P.Progress(1, 3))
    assert P.unit_step(upgrading("etcd/0", **files), "h", "h", False) == P.Upgrade(
        "3.5/stable", 1, 3
    )
    # a unit that published no channel nor revision (an older charm) is not granted
    unknown = {f"u{n}": {"channel": ""} for n in range(3)}
    assert P.leader_step(upgrading(**unknown)) is None


def test_an_upgrade_stops_on_failure_and_never_passes_an_unhealthy_cluster() -> None:
    failed = upgrading("etcd/0", u0={"upgrade_error": "snap refresh failed"})
    assert P.leader_step(failed) == P.ClearUpgradeGrant()
    step = P.leader_step(upgrading("", u0={"upgrade_error": "snap refresh failed"}))
    assert isinstance(step, P.Blocked)
    assert step.reason.startswith("Upgrade to 3.5/stable stopped: etcd/0: snap refresh failed")
    sick = P.Observed(**{**upgrading().__dict__, "healthy": frozenset({1000, 1001})})
    step = P.leader_step(sick)
    assert isinstance(step, P.Blocked) and "paused" in step.reason and "etcd2" in step.reason
    # the unit that failed does not try again by itself
    me_failed = upgrading("etcd/0", u0={"upgrade_error": "x"})
    assert P.unit_step(me_failed, "h", "h", False) is None


def test_every_unit_shows_the_progress_the_leader_recorded_with_the_grant() -> None:
    """etcd/1 is granted the 2nd of 3 upgrades. Leader data reaches it before etcd/0's new
    channel does (relation data is committed at the end of etcd/0's hook, leader-set at once):
    its own count would say 1/3, the leader's 2/3. Both say what the leader recorded."""
    granted = P.Progress(2, 3)
    done0 = {"u0": {"channel": "3.5/stable"}}
    leader_view = upgrading("etcd/1", granted, **done0)
    assert P.leader_step(leader_view) == P.Wait("Upgrading etcd 2/3 to 3.5/stable: etcd/1")
    stale = upgrading("etcd/1", granted)  # etcd/0 still on 3.4/stable in etcd/1's view
    stale = P.Observed(
        **{**stale.__dict__, "me": stale.peers[0], "peers": (stale.me, stale.peers[1])}
    )
    assert P.next_progress(stale) == P.Progress(1, 3)  # what it would have counted
    assert P.unit_step(stale, "h", "h", False) == P.Upgrade("3.5/stable", 2, 3)
    assert P.current_progress(stale) == granted
    # leader data round trip; garbage is no progress
    assert P.LeaderData.from_dict({"upgrade-progress": "2/3"}).upgrade_progress == granted
    assert P.LeaderData.from_dict({"upgrade-progress": "x"}).upgrade_progress is None


REFRESH = P.Refresh("3.5/stable", "530", "3.5.30", "2026-12-04T21:00:00Z")


def refreshing(
    grant: str = "",
    refresh: P.Refresh | None = REFRESH,
    target: str = "",
    done: tuple[str, ...] = (),
) -> P.Observed:
    """Three started units on 3.5/stable revision 516 (auto: no target channel) and an
    in-track refresh to revision 530 recorded by the refresh action."""

    def u(n: int) -> P.UnitInfo:
        kw: dict[str, object] = {"member_id": 1000 + n, "channel": "3.5/stable"}
        kw["revision"] = "530" if f"u{n}" in done else "516"
        return unit(n, **kw)

    return obs(
        u(0),
        u(1),
        u(2),
        ml=members(member(0), member(1), member(2)),
        leader=P.LeaderData(token="t", bootstrapped="etcd0", upgrade_grant=grant, refresh=refresh),
        target_channel=target,
        healthy=frozenset({1000, 1001, 1002}),
    )


def test_an_in_track_refresh_goes_one_unit_at_a_time_to_its_revision() -> None:
    assert P.leader_step(refreshing()) == P.GrantUpgrade("etcd/0", P.Progress(1, 3))
    step = P.leader_step(refreshing("etcd/0"))
    assert step == P.Wait("Upgrading etcd 1/3 to 3.5/stable revision 530 (etcd 3.5.30): etcd/0")
    # the granted unit refreshes to the recorded revision, not whatever the channel has now
    assert P.unit_step(refreshing("etcd/0"), "h", "h", False) == P.Upgrade(
        "3.5/stable", 1, 3, "530", REFRESH.to_json()
    )
    assert P.leader_step(refreshing("etcd/0", done=("u0",))) == P.ClearUpgradeGrant()
    step = P.leader_step(refreshing("", done=("u0",)))
    assert step == P.GrantUpgrade("etcd/1", P.Progress(2, 3))
    # every unit on it: the refresh is forgotten, then nothing to do
    assert P.leader_step(refreshing("", done=("u0", "u1", "u2"))) == P.ClearRefresh()
    assert P.leader_step(refreshing("", None, done=("u0", "u1", "u2"))) is None
    assert not P.upgrade_in_flight(refreshing("", done=("u0", "u1", "u2")))


def test_a_channel_upgrade_supersedes_an_in_track_refresh() -> None:
    o = refreshing("", target="3.6/stable")
    assert P.active_refresh(o) is None
    assert P.upgrade_goal(o) == "3.6/stable"
    assert P.leader_step(o) == P.GrantUpgrade("etcd/0", P.Progress(1, 3))
    # a refresh of the target channel itself goes on (auto and an explicit channel alike)
    o = refreshing("", target="3.5/stable")
    assert P.upgrade_goal(o) == "3.5/stable revision 530 (etcd 3.5.30)"
    assert P.leader_step(o) == P.GrantUpgrade("etcd/0", P.Progress(1, 3))


def test_a_failed_refresh_stops_and_its_error_clears_when_the_action_runs_again() -> None:
    failed = {"channel": "3.5/stable", "revision": "530", "refresh": REFRESH.to_json()}
    ld = P.LeaderData(refresh=REFRESH)
    assert not P.upgrade_error_stale(failed, "", "3.5/stable", "516", ld)
    again = P.LeaderData(refresh=P.Refresh("3.5/stable", "530", "3.5.30", "later"))
    assert P.upgrade_error_stale(failed, "", "3.5/stable", "516", again)
    assert P.upgrade_error_stale(failed, "", "3.5/stable", "516", P.LeaderData())
    assert P.upgrade_error_stale(failed, "", "3.5/stable", "530", ld)  # on it after all
    # a channel upgrade's error: as before
    channel = {"channel": "3.5/stable", "error": "x"}
    assert not P.upgrade_error_stale(channel, "3.5/stable", "3.4/stable", "423", ld)
    assert P.upgrade_error_stale(channel, "3.5/stable", "3.5/stable", "516", ld)
    assert P.upgrade_error_stale(channel, "3.6/stable", "3.4/stable", "423", ld)
    o = refreshing("")
    o = P.Observed(**{**o.__dict__, "me": replace(o.me, upgrade_error="snap refresh failed")})
    step = P.leader_step(o)
    assert isinstance(step, P.Blocked)
    assert step.reason == (
        "Upgrade to 3.5/stable revision 530 (etcd 3.5.30) stopped: etcd/0: snap refresh "
        "failed; fix the cause, then run the refresh action again"
    )
    assert P.LeaderData.from_dict({"refresh-target": REFRESH.to_json()}).refresh == REFRESH
    assert P.LeaderData.from_dict({"refresh-target": "{"}).refresh is None


@pytest.mark.parametrize("down", ["etcd0", "etcd1", "etcd2"])
def test_a_paused_upgrade_reads_the_same_whichever_member_is_down(down: str) -> None:
    """etcd0 upgraded, etcd1 is being upgraded (granted), etcd2 waits: whichever member stops
    answering, the leader's reason and every unit's status are the same sentence."""
    ml = members(member(0), member(1), member(2))
    up = frozenset(m.id for m in ml.members if m.name != down)
    expected = (
        f"Upgrade to 3.5/stable paused: the cluster is not healthy ({down} not answering); "
        "it continues once every member answers"
    )
    for me in (1000, 1001, 1002):
        if me not in up:
            continue
        assert S.upgrade_paused("3.5/stable", S.down_voters(ml, up, me)).message == expected
    # the leader decides the same when no grant is in flight
    done0 = {"u0": {"channel": "3.5/stable"}}
    sick = P.Observed(**{**upgrading("", **done0).__dict__, "healthy": up})
    assert P.leader_step(sick) == P.Blocked(expected)
    assert P.upgrade_in_flight(upgrading("", **done0))
    everyone = {f"u{n}": {"channel": "3.5/stable"} for n in range(3)}
    assert not P.upgrade_in_flight(upgrading("", **everyone))


def test_must_rejoin_only_members_of_a_replaced_cluster() -> None:
    restored = P.LeaderData(token="new", bootstrapped="etcd0", restored="new")
    assert P.must_rejoin(restored, started=True, my_token="old")
    assert not P.must_rejoin(restored, started=True, my_token="new")  # joined after it
    assert not P.must_rejoin(restored, started=False, my_token="")  # nothing to discard
    never = P.LeaderData(token="old", bootstrapped="etcd0")
    assert not P.must_rejoin(never, started=True, my_token="old")
    assert not P.must_rejoin(never, started=True, my_token="")
    assert P.LeaderData.from_dict({"restored": "new"}).restored == "new"


def test_a_member_the_leader_adds_again_as_a_learner_rejoins() -> None:
    """A unit whose member was removed (a restore that removed the other members, then
    failed; an operator's member remove) and that the leader adds again as a learner with
    a new id discards its data and starts as that learner."""
    again = replace(BOOT, joining=joining(2))  # member id 1002
    assert P.must_rejoin(again, True, "t", "etcd/2", member_id=0x77)
    assert not P.must_rejoin(again, True, "t", "etcd/2", member_id=1002)  # it is that learner
    assert not P.must_rejoin(again, True, "t", "etcd/1", member_id=0x77)  # another unit's
    assert not P.must_rejoin(again, False, "", "etcd/2", member_id=0)  # nothing to discard


@pytest.mark.parametrize(
    "voters, healthy, stopping, refused",
    [
        (1, {0}, 0, False),  # one member: down for the switch, allowed
        (3, {0, 1, 2}, 1, False),
        (3, {0, 1}, 1, True),  # one other healthy of 3: quorum 2 lost while it is stopped
        (3, {0, 2}, 1, False),  # the stopping one is the member down: others keep quorum
        (5, {0, 1, 2, 3}, 0, False),  # 3 others healthy of 5: quorum 3 kept
        (5, {0, 1, 2}, 0, True),
        (2, {0, 1}, 0, True),  # two members: the other alone is no quorum
    ],
)
def test_stop_refusal(voters: int, healthy: set[int], stopping: int, refused: bool) -> None:
    ml = members(*(member(n) for n in range(voters)))
    why = P.stop_refusal(ml, frozenset(1000 + n for n in healthy), 1000 + stopping)
    assert bool(why) == refused, why
    if refused:
        assert f"stopping etcd{stopping} (3e{8 + stopping}) now would lose quorum" in why
        assert f"quorum needs {voters // 2 + 1}" in why


def test_stop_refusal_ignores_learners() -> None:
    ml = members(member(0), member(1), member(2), member(3, learner=True))
    assert P.stop_refusal(ml, frozenset({1000, 1001, 1002}), 1000) == ""


# --- founding the cluster: every unit Juju means to have, at once ---------------------------

GOAL3 = {"etcd/0": "active", "etcd/1": "waiting", "etcd/2": "waiting"}
FOUNDERS = P.Founders(token="t", initial_cluster=f"{CLUSTER_0},{CLUSTER_1},{CLUSTER_2}")
FOUNDED = P.LeaderData(token="t", founders=FOUNDERS)


def founding(*units: P.UnitInfo, **kw: Any) -> P.Observed:
    kw.setdefault("leader", P.LeaderData())
    kw.setdefault("started", False)
    kw.setdefault("app_units", GOAL3)
    return obs(*units, **kw)


FOUNDING = [
    # every unit of the goal state with its peer URL: found with all of them (their
    # certificates are not awaited: each founder starts once it has them)
    (founding(unit(0), unit(1), unit(2)), P.Found(FOUNDERS.initial_cluster)),
    (
        founding(unit(0, ready=False), unit(1, ready=False), unit(2)),
        P.Found(FOUNDERS.initial_cluster),
    ),
    # one without its peer URL yet, one not even on the peer relation: wait (bounded)
    (
        founding(unit(0), unit(1, peer_url="")),
        P.Wait(
            "waiting for etcd/1, etcd/2 to be ready to found the cluster together "
            f"(at most {P.FOUNDING_WAIT:.0f} s)"
        ),
    ),
    # ... until the wait has expired: found with those that are ready
    (founding(unit(0), unit(1, peer_url=""), founding_expired=True), P.Found(CLUSTER_0)),
    # a dying unit is neither awaited nor a founder
    (
        founding(unit(0), unit(1), unit(2), app_units=dict(GOAL3, **{"etcd/2": "dying"})),
        P.Found(f"{CLUSTER_0},{CLUSTER_1}"),
    ),
    # founders recorded: the leader starts its own founding member, then records the cluster
    (founding(unit(0), unit(1), unit(2), leader=FOUNDED), P.Bootstrap(FOUNDERS)),
    # ... once it has its certificates
    (
        founding(unit(0, ready=False), unit(1), unit(2), leader=FOUNDED),
        P.Wait("waiting for this unit's certificates to start its founding member"),
    ),
    (
        founding(unit(0, ready=False), unit(1), leader=FOUNDED, ml=members(member(1))),
        P.Bootstrapped(FOUNDERS),
    ),
    (founding(unit(0), unit(1), unit(2), leader=FOUNDED, started=True), P.Bootstrapped(FOUNDERS)),
    # a leader that is not a founder (elected since): records it once a founder answers
    (
        founding(unit(3), unit(0), leader=FOUNDED),
        P.Wait("waiting for the founding members to start"),
    ),
    (founding(unit(3), unit(0), leader=FOUNDED, ml=members(member(0))), P.Bootstrapped(FOUNDERS)),
    # founders of another cluster (a restore replaced it since): found afresh
    (
        founding(unit(0), unit(1), unit(2), leader=replace(FOUNDED, token="new")),
        P.Found(FOUNDERS.initial_cluster),
    ),
]


@pytest.mark.parametrize(("observed", "expected"), FOUNDING)
def test_founding(observed: P.Observed, expected: object) -> None:
    assert P.leader_step(observed) == expected


def test_founders_start_as_founders_then_others_join_as_learners() -> None:
    # every founder starts from leader data, whether or not the cluster is recorded yet
    for leader in (FOUNDED, replace(FOUNDED, bootstrapped="etcd0")):
        me = obs(unit(1), unit(0), leader=leader, started=False, is_leader=False)
        assert P.unit_step(me, "h", "h", False) == P.StartFounding(FOUNDERS)
        # not before its certificates are in place
        me = replace(me, me=unit(1, ready=False))
        assert isinstance(P.unit_step(me, "h", "h", False), P.Wait)
    # a unit that came later is not a founder: it waits to be added as a learner ...
    late = obs(unit(3), unit(0), leader=replace(FOUNDED, bootstrapped="etcd0"), started=False)
    assert P.unit_step(late, "h", "h", False) == P.Wait("Waiting to join the cluster")
    # ... and the leader adds it, not the founders that have not started yet
    ml = members(member(0), member(1), member(2, started=False))
    lead = obs(
        unit(0, member_id=1000),
        unit(1, member_id=1001),
        unit(2),
        unit(3),
        leader=replace(FOUNDED, bootstrapped="etcd0"),
        ml=ml,
    )
    assert P.leader_step(lead) == P.AddLearner(unit(3))
    # after a restore (another token) nobody starts from the old founders
    restored = replace(FOUNDED, token="r", restored="r", bootstrapped="etcd0")
    me = obs(unit(1), unit(0), leader=restored, started=False, is_leader=False)
    assert P.unit_step(me, "h", "h", False) == P.Wait("Waiting to join the cluster")


def test_founders_round_trip_through_leader_data() -> None:
    data = {"token": "t", "founders": FOUNDERS.to_json(), "bootstrapped": ""}
    assert P.LeaderData.from_dict(data).founders == FOUNDERS
    assert P.LeaderData.from_dict(data).current_founders == FOUNDERS
    assert FOUNDERS.names == {"etcd0", "etcd1", "etcd2"}
    assert P.LeaderData.from_dict({"founders": "{not json"}).founders is None


FIVE = {f"etcd/{n}": "active" for n in range(5)}


def five_removing(leaving: dict[str, str | None], **kw: object) -> P.Observed:
    """Five units: etcd/3 and etcd/4 being removed together. etcd/4 has removed its own
    member already (its departed hook ran on its machine) and still publishes its peer URL
    and readiness on the peer relation, where the leader sees it until its own departed hook
    for etcd/4 runs. ``leaving``: the goal state of etcd/3 and etcd/4 (None: no longer
    listed)."""
    app = dict(FIVE)
    for u, state in leaving.items():
        if state is None:
            app.pop(u)
        else:
            app[u] = state
    return obs(
        unit(0, member_id=1000),
        *(unit(n, member_id=1000 + n) for n in (1, 2, 3)),
        unit(4, member_id=1004),
        ml=members(*(member(n) for n in range(4))),
        app_units=app,
        healthy=frozenset(1000 + n for n in range(4)),
        **kw,
    )


@pytest.mark.parametrize(
    ("leaving", "step"),
    [
        # Juju says dying: never added back, whatever the peer relation still says
        ({"etcd/3": "dying", "etcd/4": "dying"}, None),
        # gone from the goal state (removed) but still on the peer relation here
        ({"etcd/3": "dying", "etcd/4": None}, None),
        # no longer dying (the removal was of etcd/3 only): etcd/4 is a unit to add
        ({"etcd/3": "dying", "etcd/4": "active"}, P.AddLearner(unit(4, member_id=1004))),
    ],
)
def test_a_departing_unit_is_never_added_as_a_learner(
    leaving: dict[str, str | None], step: P.LeaderStep
) -> None:
    assert P.leader_step(five_removing(leaving)) == step


def test_without_a_goal_state_a_unit_that_is_no_member_is_added() -> None:
    o = obs(unit(0, member_id=1000), unit(1), ml=members(member(0)))
    assert o.app_units is None and P.leader_step(o) == P.AddLearner(unit(1))


@pytest.mark.parametrize("state", ["dying", None])
def test_the_learner_of_a_unit_that_departs_before_it_started_is_removed(
    state: str | None,
) -> None:
    app = {"etcd/0": "active", "etcd/1": "active"}
    if state is not None:
        app["etcd/1"] = state
    else:
        app.pop("etcd/1")
    o = obs(
        unit(0, member_id=1000),
        unit(1),
        ml=members(member(0), member(1, learner=True, started=False)),
        leader=P.LeaderData(token="t", bootstrapped="etcd0", joining=joining(1)),
        app_units=app,
    )
    assert P.leader_step(o) == P.RemoveStaleLearner(joining(1))


# --- what a unit publishes of itself: once at deploy, nothing that changes later -----------

BOOTED = replace(FOUNDED, bootstrapped="etcd0")


def announce(me: P.UnitInfo, **kw: Any) -> tuple[bool, int, str]:
    a = P.announced(obs(me, unit(1), **kw))
    return a.ready, a.member_id, a.restart_request


ANNOUNCED = [
    # before the founding, with or without certificates: no ready, no id, no request
    (unit(0), {"leader": P.LeaderData(), "started": False}, (False, 0, "")),
    (unit(0, restart_request="h"), {"leader": FOUNDED, "started": False}, (False, 0, "")),
    # a founder, started: its id (the peers that started before it see it up), no ready
    (unit(0, member_id=1000), {"leader": BOOTED}, (False, 1000, "")),
    # ... its restart request once it runs
    (unit(0, member_id=1000, restart_request="h"), {"leader": BOOTED}, (False, 1000, "h")),
    # a unit that came later, with its certificates, once the cluster exists: ready
    (unit(3), {"leader": BOOTED, "started": False}, (True, 0, "")),
    (unit(3, ready=False), {"leader": BOOTED, "started": False}, (False, 0, "")),
    (unit(3), {"leader": FOUNDED, "started": False}, (False, 0, "")),
    # ... started as the learner the leader added: its id (the leader promotes on it)
    (unit(3, member_id=1003), {"leader": BOOTED}, (True, 1003, "")),
    # after a restore (another token) the founders are no longer: ready once certified
    (unit(0), {"leader": replace(BOOTED, token="r", restored="r"), "started": False},
     (True, 0, "")),  # fmt: skip
    (unit(0, member_id=1000), {"leader": replace(BOOTED, token="r")}, (True, 1000, "")),
]


@pytest.mark.parametrize(("me", "kw", "expected"), ANNOUNCED)
def test_announced(me: P.UnitInfo, kw: dict[str, Any], expected: tuple[bool, int, str]) -> None:
    assert announce(me, **kw) == expected


def test_the_leader_starts_its_founding_member_once_the_cluster_is_recorded() -> None:
    # Found records bootstrapped with the founders: the leader, a founder with its
    # certificates, starts its member as the first step of the running cluster's rules
    assert P.leader_step(founding(unit(0), unit(1), leader=BOOTED)) == P.Bootstrap(FOUNDERS)
    # without its certificates it goes on with the rules (no member answers yet: wait)
    waiting = founding(unit(0, ready=False), unit(1), leader=BOOTED)
    assert P.leader_step(waiting) == P.Wait("no etcd member answers; cannot change membership")
    # started, or no founder: the rules as usual
    ml = members(member(0), member(1))
    assert P.leader_step(founding(unit(0), unit(1), leader=BOOTED, started=True, ml=ml)) is None
    goal = dict(GOAL3, **{"etcd/3": "waiting"})
    late = founding(unit(3), unit(0), leader=BOOTED, ml=members(member(0)), app_units=goal)
    assert P.leader_step(late) == P.AddLearner(unit(3))

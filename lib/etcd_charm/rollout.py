"""Where a rolling upgrade is (pure): its target (a channel, or an in-track refresh's
revision), who is on it, who is next and at which place, and whether a unit's recorded
failure still applies. :mod:`plan` grants and clears turns from these facts; every unit's
status shows them."""

from __future__ import annotations

from collections.abc import Mapping

from .state import LeaderData, Observed, Progress, Refresh, UnitInfo


def active_refresh(obs: Observed) -> Refresh | None:
    """The in-track refresh that applies now: none while a channel upgrade to another
    channel is wanted (the channel comes first; the refresh is cleared)."""
    r = obs.leader.refresh
    if r is None or (obs.target_channel and obs.target_channel != r.channel):
        return None
    return r


def on_target(obs: Observed, u: UnitInfo) -> bool:
    """Whether unit ``u`` is where the rolling upgrade wants it: on the target channel, and
    on the refresh's revision when it tracks the refreshed channel."""
    if obs.target_channel and u.channel != obs.target_channel:
        return False
    r = active_refresh(obs)
    return r is None or u.channel != r.channel or u.revision == r.revision


def upgrade_goal(obs: Observed) -> str:
    """What the rolling upgrade moves units to, as status messages name it."""
    r = active_refresh(obs)
    if obs.target_channel and (r is None or r.channel != obs.target_channel):
        return obs.target_channel
    return r.label() if r is not None else obs.target_channel


def upgrade_pending(obs: Observed) -> list[UnitInfo]:
    """Started units not on the target yet (another channel, or another revision of the
    refreshed one), in upgrade order."""
    if not obs.target_channel and active_refresh(obs) is None:
        return []
    return [
        u
        for u in obs.all_units()
        if u.member_id and (u.channel or from_file(u)) and not on_target(obs, u)
    ]


def from_file(u: UnitInfo) -> bool:
    """A unit whose etcd was installed from a snap file (the etcd resource): it tracks no
    channel, and a channel set moves it to the store (``snap refresh --amend``)."""
    return u.revision.startswith("x")


def upgrade_in_flight(obs: Observed) -> bool:
    """Whether a rolling upgrade is under way: a target (channel or refresh) that some
    started unit is not on yet, or a unit granted its upgrade now."""
    return (bool(obs.target_channel) or active_refresh(obs) is not None) and (
        bool(upgrade_pending(obs)) or bool(obs.leader.upgrade_grant)
    )


def next_progress(obs: Observed) -> Progress:
    """The place of the next unit to upgrade (the leader, when it grants): one more than the
    started units on the target already."""
    started = [u for u in obs.all_units() if u.member_id]
    done = sum(1 for u in started if on_target(obs, u))
    return Progress(min(done + 1, len(started)), len(started))


def current_progress(obs: Observed) -> Progress:
    """The place of the unit upgrading now, as the leader recorded it with the grant (a grant
    recorded without it, by an earlier version of the charm, is counted here)."""
    return obs.leader.upgrade_progress or next_progress(obs)


def upgrade_error_stale(
    failed: Mapping[str, object], target: str, tracking: str, revision: str, ld: LeaderData
) -> bool:
    """Whether this unit's recorded upgrade failure (unit storage ``etcd.upgrade-error``) no
    longer applies: a channel upgrade's, once another channel is wanted or the unit tracks
    it; an in-track refresh's, once the refresh is gone or another run of it started (the
    operator ran the action again), or the unit is on its revision."""
    refresh = str(failed.get("refresh") or "")
    if refresh:
        now = ld.refresh.to_json() if ld.refresh is not None else ""
        return now != refresh or revision == str(failed.get("revision") or "")
    return failed.get("channel") != target or tracking == target

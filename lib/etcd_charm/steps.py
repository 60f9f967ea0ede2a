"""The steps :mod:`plan` decides (pure data): what the leader does next
(:data:`LeaderStep`) and what a unit does for itself (:data:`UnitStep`). The shell has one
executor per step: :data:`membership.EXECUTORS` and :data:`charm.OWN_STEPS`."""

from __future__ import annotations

from dataclasses import dataclass

from .etcd_json import Member
from .state import Founders, Joining, Progress, UnitInfo


@dataclass(frozen=True)
class Wait:
    """Nothing to do now; the reason is shown in status (the next event re-plans)."""

    reason: str


@dataclass(frozen=True)
class Found:
    """Record the founders: these members (the ready units) start together."""

    initial_cluster: str


@dataclass(frozen=True)
class Bootstrap:
    """Start this unit's member as one of the founders."""

    founders: Founders


@dataclass(frozen=True)
class Bootstrapped:
    """A founding member runs: record that the cluster these founders made exists."""

    founders: Founders


@dataclass(frozen=True)
class AddLearner:
    unit: UnitInfo


@dataclass(frozen=True)
class RecordJoining:
    """A learner is a member already (an earlier hook added it) but leader data lost it."""

    joining: Joining


@dataclass(frozen=True)
class Promote:
    joining: Joining


@dataclass(frozen=True)
class ClearJoining:
    pass


@dataclass(frozen=True)
class RemoveStaleLearner:
    joining: Joining


@dataclass(frozen=True)
class RemoveMember:
    """A member no unit will remove itself: one that matches no unit of the application (its
    unit was removed while its machine was down, or it was added by hand), or the member of a
    unit being removed whose etcd is down. Removed when that keeps quorum."""

    member: Member
    reason: str


@dataclass(frozen=True)
class Blocked:
    """Something only the operator can resolve (shown as a blocked status)."""

    reason: str


@dataclass(frozen=True)
class GrantRestart:
    unit: str


@dataclass(frozen=True)
class ClearRestartGrant:
    pass


@dataclass(frozen=True)
class GrantUpgrade:
    unit: str
    progress: Progress


@dataclass(frozen=True)
class ClearUpgradeGrant:
    pass


@dataclass(frozen=True)
class ClearRefresh:
    """The in-track refresh is done (or a channel upgrade superseded it): forget it."""


@dataclass(frozen=True)
class LiftQuarantine:
    """Every unit runs a healthy voting member of the restored cluster: clients may come
    back (each member moves back to the client port with its restart grant)."""


@dataclass(frozen=True)
class Upgrade:
    """Refresh this unit's etcd to ``channel`` (a snapshot first), to its ``revision``
    when an in-track refresh names one ("": the channel's current revision)."""

    channel: str
    position: int  # this unit is the position-th of total to upgrade
    total: int
    revision: str = ""
    refresh: str = ""  # the in-track refresh (its JSON) this upgrade is part of


@dataclass(frozen=True)
class StartJoining:
    joining: Joining


@dataclass(frozen=True)
class StartFounding:
    """Start this unit's member as one of the founders the leader recorded."""

    founders: Founders


@dataclass(frozen=True)
class Restart:
    conf_hash: str
    peer_url_changed: bool = False


LeaderStep = (
    Wait
    | Found
    | Bootstrap
    | Bootstrapped
    | AddLearner
    | RecordJoining
    | Promote
    | ClearJoining
    | RemoveStaleLearner
    | RemoveMember
    | Blocked
    | GrantRestart
    | ClearRestartGrant
    | GrantUpgrade
    | ClearUpgradeGrant
    | ClearRefresh
    | LiftQuarantine
    | None
)
UnitStep = StartJoining | StartFounding | Upgrade | Restart | Wait | None

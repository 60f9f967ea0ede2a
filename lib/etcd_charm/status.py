"""Every status message the charm shows, in one place, and the health verdict. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .etcdctl import EndpointStatus, MemberList


@dataclass(frozen=True)
class Status:
    state: str  # active, blocked, waiting, maintenance
    message: str


def installing(channel: str, from_resource: bool) -> Status:
    source = "the attached etcd resource" if from_resource else f"channel {channel}"
    return Status("maintenance", f"Installing etcd from {source}")


def install_failed(error: str) -> Status:
    return Status(
        "blocked", f"Installing etcd failed: {error}; fix the cause and the next hook retries"
    )


def package_install(unit: str) -> Status:
    """A unit the deb-era charm installed: it keeps running until the operator migrates it."""
    return Status(
        "blocked",
        "etcd runs from the Debian package: migrate it to the snap with "
        f"'juju run {unit} snap-upgrade' (one unit at a time, the leader first)",
    )


def migrating(doing: str) -> Status:
    return Status("maintenance", f"Migrating etcd from the Debian package to the snap: {doing}")


MISSING_CA = Status("blocked", "Missing relation to certificate authority.")
WAITING_CERTS = Status("waiting", "Waiting for certificates from the certificate authority")


def invalid_config(errors: list[str]) -> Status:
    return Status("blocked", "Invalid config: " + "; ".join(errors) + " (nothing was changed)")


def waiting(reason: str) -> Status:
    return Status("waiting", reason)


def healthy(member_count: int) -> Status:
    return Status("active", f"Healthy with {member_count} known peers")


def health(
    status: EndpointStatus | None,
    error: str | None,
    members: MemberList | None,
    my_id: int,
    up: frozenset[int] | None = None,
) -> Status:
    """The verdict from one ``endpoint status`` of the local member and the other voters
    (``up``: the members that answered it without errors; None: not asked)."""
    if status is None:
        return Status("blocked", f"etcd on this unit does not answer: {error or 'no status'}")
    if status.errors:
        return Status("blocked", "etcd reports: " + "; ".join(status.errors))
    count = len(members.members) if members else 0
    if not status.leader:
        return Status(
            "blocked",
            f"No raft leader among {count} members: the cluster has lost quorum "
            "or is electing; check the other units",
        )
    if status.is_learner:
        return Status("waiting", "Learner member catching up; the leader promotes it when in sync")
    if members is not None:
        me = members.by_id(my_id)
        if me is None:
            return Status("blocked", "This unit's member is not in the cluster's member list")
        unstarted = [m for m in members.members if not m.started]
        if unstarted:
            names = ", ".join(m.hex_id for m in unstarted)
            return Status("waiting", f"Healthy; member(s) {names} added but not started yet")
        if up is not None:
            down = [m for m in members.voters if m.id not in up and m.id != my_id]
            if down:
                return degraded(len(members.voters), [m.name or m.hex_id for m in down])
    return healthy(count)


def degraded(voters: int, down: list[str]) -> Status:
    healthy_count = voters - len(down)
    spare = healthy_count - (voters // 2 + 1)
    risk = (
        "one more failure loses quorum"
        if spare == 0
        else f"quorum survives {spare} more failure{'s' if spare > 1 else ''}"
    )
    names = ", ".join(sorted(down))
    verb = "does" if len(down) == 1 else "do"
    return Status(
        "blocked",
        f"Degraded: {names} {verb} not answer; {healthy_count} of {voters} members healthy, "
        f"{risk}",
    )


DEPARTED = Status("maintenance", "Removed from the cluster; unit is departing")
LEAVING = Status("maintenance", "Leaving the cluster")
RESTARTING = Status("maintenance", "Restarting etcd with the new configuration")
REJOINING = Status(
    "maintenance", "Rejoining the restored cluster: this member's old data is discarded"
)


def restoring(doing: str) -> Status:
    return Status("maintenance", f"Restoring from a snapshot: {doing}")


def restored(others: int) -> Status:
    units = "unit rejoins" if others == 1 else f"{others} units rejoin one at a time"
    return Status("waiting", f"Restored from a snapshot; the other {units}")


def cannot_leave(why: str, remedy: str) -> Status:
    return Status("blocked", f"Cannot leave the cluster: {why}; {remedy}")


def upgrading(position: int, total: int, channel: str, doing: str) -> Status:
    """This unit's own upgrade step."""
    return Status("maintenance", f"Upgrading etcd {position}/{total} to {channel}: {doing}")


def upgrade_in_progress(verdict: Status, position: int, total: int, channel: str) -> Status:
    """A healthy unit while another one upgrades."""
    return Status(
        verdict.state, f"{verdict.message}; upgrading etcd {position}/{total} to {channel}"
    )


def upgrade_failed(channel: str, error: str) -> Status:
    return Status(
        "blocked",
        f"Upgrade to {channel} failed: {error}; the upgrade is stopped (fix the cause, then "
        "set channel again)",
    )

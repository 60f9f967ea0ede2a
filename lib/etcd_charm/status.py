"""Every status message the charm shows, in one place, and the health verdict. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .etcd_json import EndpointStatus, MemberList
from .quorum import quorum


@dataclass(frozen=True)
class Status:
    state: str  # active, blocked, waiting, maintenance
    message: str


def installing(channel: str, from_resource: bool) -> Status:
    """Installing etcd from ``channel``, or from the attached resource."""
    source = "the attached etcd resource" if from_resource else f"channel {channel}"
    return Status("maintenance", f"Installing etcd from {source}")


def store_unavailable(error: str) -> Status:
    return Status(
        "blocked",
        f"The snap store does not answer ({error}): attach the etcd snap as the etcd "
        "resource (and its base, core18, as the core resource) or fix the network",
    )


def needs_base(base: str) -> Status:
    return Status(
        "blocked",
        f"etcd's snap needs its base {base}, which the store cannot give: attach it as the "
        f"core resource (juju attach-resource etcd core=./{base}.snap)",
    )


def refresh_available(version: str, revision: str) -> str:
    return f"etcd {version} (revision {revision}) is available: run the refresh action"


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


def takeover(reason: str, refused: bool) -> Status:
    """This unit's member, run by the earlier etcd charm, is not taken over (yet)."""
    if refused:
        return Status("blocked", f"Cannot take over this unit's etcd member: {reason}")
    return Status("waiting", f"Waiting to take over this unit's etcd member: {reason}")


def healthy(member_count: int) -> Status:
    return Status("active", f"Healthy with {member_count} known peers")


def health(
    status: EndpointStatus | None,
    error: str | None,
    members: MemberList | None,
    my_id: int,
    up: frozenset[int] | None = None,
    reached: frozenset[int] | None = None,
) -> Status:
    """The verdict from one ``endpoint status`` of the local member and the other voters
    (``up``: the members that answered it without errors; ``reached``: those that answered at
    all; None: not asked)."""
    if status is None:
        return Status("blocked", f"etcd on this unit does not answer: {error or 'no status'}")
    if not status.leader or any("no leader" in e for e in status.errors):
        return no_leader(members, my_id, reached)
    if status.errors:
        return Status("blocked", "etcd reports: " + "; ".join(status.errors))
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
        down = down_voters(members, up, my_id)
        if down:
            return degraded(len(members.voters), down)
    return healthy(len(members.members) if members else 0)


def no_leader(members: MemberList | None, my_id: int, reached: frozenset[int] | None) -> Status:
    """No raft leader: quorum is lost when fewer voters answer than quorum needs (etcd then
    refuses reads and writes); with enough of them it is electing one."""
    if reached is None:
        count = len(members.members) if members else 0
        return Status(
            "blocked",
            f"No raft leader among {count} members: the cluster has lost quorum or is "
            "electing; check the other units",
        )
    if members is None or not members.voters:
        return Status(
            "blocked",
            "No raft leader, and the members cannot be listed: quorum is lost or an election "
            "is under way; check the other units (juju status)",
        )
    voters = members.voters
    answering = {my_id} | reached
    down = sorted(m.name or m.hex_id for m in voters if m.id not in answering)
    count = len(voters) - len(down)
    if count >= quorum(len(voters)):
        return Status(
            "blocked",
            f"No raft leader: {count} of {len(voters)} members answer, enough for quorum; "
            "they are electing one",
        )
    return lost_quorum(count, len(voters), down)


def lost_quorum(count: int, voters: int, down: list[str]) -> Status:
    need = quorum(voters)
    verb = "does" if len(down) == 1 else "do"
    return Status(
        "blocked",
        f"Lost quorum: {count} of {voters} members answer ({', '.join(down)} {verb} not) and "
        f"quorum needs {need}; etcd refuses reads and writes until then. Bring those members "
        "back (start their machines); if they are lost for good, rebuild the cluster from "
        "the leader's data: juju run etcd/leader recover-cluster",
    )


def down_voters(members: MemberList, up: frozenset[int] | None, my_id: int) -> list[str]:
    """The names of the other voters that did not answer (none when nobody was asked)."""
    if up is None:
        return []
    return [m.name or m.hex_id for m in members.voters if m.id not in up and m.id != my_id]


def degraded(voters: int, down: list[str]) -> Status:
    healthy_count = voters - len(down)
    spare = healthy_count - quorum(voters)
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


def leaving_waits(refusal: str) -> Status:
    """A leaving unit whose removal is refused for now: it looks again before failing."""
    return Status("maintenance", f"Leaving the cluster: waiting, {refusal}")


RESTARTING = Status("maintenance", "Restarting etcd with the new configuration")


def moving_data(to: str) -> Status:
    return Status("maintenance", f"Moving etcd's data to {to}")


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


def upgrading_unit(position: int, total: int, channel: str, unit: str) -> str:
    """What the leader waits for while a unit upgrades."""
    return f"Upgrading etcd {position}/{total} to {channel}: {unit}"


def upgrade_paused(channel: str, down: list[str]) -> Status:
    """A rolling upgrade waits for every member to answer: said the same way on every unit,
    whichever member is down (the one upgrading or another)."""
    why = f"{', '.join(sorted(down))} not answering" if down else "a learner is catching up"
    return Status(
        "blocked",
        f"Upgrade to {channel} paused: the cluster is not healthy ({why}); "
        "it continues once every member answers",
    )


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


#: a certificate that expires within this many days is named in a healthy status
CERT_WARN_DAYS = 30
DAY = 86400.0


def certificate_note(which: str, not_after: float | None, now: float) -> str:
    """What a healthy status adds about the ``which`` certificate ("server", "client") that
    expires at ``not_after`` (epoch seconds; None: unreadable, said elsewhere): nothing while
    more than :data:`CERT_WARN_DAYS` days are left, else the days left or since it expired.
    The CA renews on request (easyrsa: remove and add the certificates relation, or its own
    actions); etcd needs the new one before the old expires, or its peers stop talking."""
    if not_after is None:
        return ""
    days = (not_after - now) / DAY
    if days > CERT_WARN_DAYS:
        return ""
    if days <= 0:
        ago = int(-days)
        return f"the {which} certificate expired {ago} day{'s' if ago != 1 else ''} ago"
    left = int(days)
    if left == 0:
        return f"the {which} certificate expires within a day"
    return f"the {which} certificate expires in {left} day{'s' if left != 1 else ''}"

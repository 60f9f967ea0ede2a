"""The ``health`` action's per-member table and verdict, and the defrag order. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .etcd_json import Alarm, EndpointHealth, EndpointStatus, MemberList
from .quorum import quorum
from .snapshot import human_size


@dataclass(frozen=True)
class Row:
    name: str
    member_id: str  # hex
    client_url: str
    healthy: bool
    leader: bool
    learner: bool
    version: str
    db_size: int
    raft_index: int
    alarms: tuple[str, ...]
    error: str = ""

    def to_result(self) -> dict[str, str]:
        return {
            "id": self.member_id,
            "client-url": self.client_url,
            "healthy": str(self.healthy).lower(),
            "leader": str(self.leader).lower(),
            "learner": str(self.learner).lower(),
            "version": self.version,
            "db-size": str(self.db_size),
            "raft-index": str(self.raft_index),
            "alarms": ",".join(self.alarms) or "none",
            **({"error": self.error} if self.error else {}),
        }


def rows(
    members: MemberList,
    statuses: list[EndpointStatus],
    healths: list[EndpointHealth],
    alarms: list[Alarm],
) -> list[Row]:
    """One row per member, from one ``endpoint status`` and one ``endpoint health`` over
    every member's client URL (a member that did not answer has no status)."""
    status_by_id = {s.member_id: s for s in statuses}
    health_by_url = {h.endpoint: h for h in healths}
    leader = next((s.leader for s in statuses if s.leader), 0)
    out = []
    for m in sorted(members.members, key=lambda m: (m.name or "~", m.id)):
        st = status_by_id.get(m.id)
        url = m.client_urls[0] if m.client_urls else ""
        checks = [health_by_url[u] for u in m.client_urls if u in health_by_url]
        healthy = bool(checks) and all(h.healthy for h in checks) and st is not None
        error = next((h.error for h in checks if h.error), "")
        if not m.started:
            error = "added but not started"
        elif st is None and not error:
            error = "no answer"
        out.append(
            Row(
                name=m.name or "(not started)",
                member_id=m.hex_id,
                client_url=url,
                healthy=healthy,
                leader=m.id == leader,
                learner=m.is_learner,
                version=st.version if st else "",
                db_size=st.db_size if st else 0,
                raft_index=st.raft_index if st else 0,
                alarms=tuple(sorted({a.alarm for a in alarms if a.member_id == m.id})),
                error=error,
            )
        )
    return out


def verdict(table: list[Row]) -> tuple[bool, str]:
    """(healthy, a one-line summary): healthy when every member answers, one leads, no
    alarm is raised and no learner is left behind."""
    voters = [r for r in table if not r.learner]
    up = [r for r in voters if r.healthy]
    problems = []
    down = [r.name for r in table if not r.healthy]
    if down:
        problems.append(f"{', '.join(down)} not healthy")
    if not any(r.leader for r in table):
        problems.append("no raft leader")
    raised = sorted({f"{a} on {r.name}" for r in table for a in r.alarms})
    if raised:
        problems.append("alarm " + ", ".join(raised))
    learners = [r.name for r in table if r.learner]
    if learners:
        problems.append(f"{', '.join(learners)} still a learner")
    if not problems:
        return True, f"Healthy with {len(table)} known peers"
    has_quorum = len(up) >= quorum(len(voters)) if voters else False
    state = "quorum kept" if has_quorum else "QUORUM LOST"
    return False, f"Unhealthy ({state}, {len(up)} of {len(voters)} voters up): " + "; ".join(
        problems
    )


def render(table: list[Row]) -> str:
    """A fixed-width table, one line per member."""
    header = (
        "NAME",
        "ID",
        "CLIENT URL",
        "HEALTHY",
        "LEADER",
        "LEARNER",
        "VERSION",
        "DB SIZE",
        "RAFT INDEX",
        "ALARMS",
    )
    lines = [header] + [
        (
            r.name,
            r.member_id,
            r.client_url,
            "yes" if r.healthy else f"no ({r.error})" if r.error else "no",
            "*" if r.leader else "",
            "yes" if r.learner else "",
            r.version or "-",
            human_size(r.db_size) if r.db_size else "-",
            str(r.raft_index) if r.raft_index else "-",
            ",".join(r.alarms) or "-",
        )
        for r in table
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def defrag_order(members: MemberList, leader: int) -> list[int]:
    """Members in the order they are defragmented: learners and followers first (by name),
    the raft leader last (a defragmenting member stops answering for a while)."""
    started = [m for m in members.members if m.started]
    return [
        m.id for m in sorted(started, key=lambda m: (m.id == leader, not m.is_learner, m.name))
    ]

"""The safety rules of membership changes, each a small pure function named after the question
it answers, as etcd's own membership code does (``IsReadyToRemoveVotingMember``, ...).

Every rule counts voters only (learners never vote) and a member as up when it answered a
health check (``healthy``: the ids of the members that did). The ``*_refusal`` functions say
why the answer is no, in words an operator can act on ("" when it is yes); the predicates are
their yes/no. :mod:`.plan` asks them before it removes a member or lets one stop; the shell
asks them again before it acts, with the health it sees then.
"""

from __future__ import annotations

from .etcd_json import Member, MemberList


def quorum(voters: int) -> int:
    """How many of ``voters`` voting members must answer for etcd to serve (raft's majority)."""
    return voters // 2 + 1


#: what the operator can do when a rule refuses a removal
REMEDY = "start the stopped members again, or remove their units (juju remove-unit --force)"


def label(member: Member) -> str:
    return f"{member.name} ({member.hex_id})" if member.name else member.hex_id


def removal_refusal(members: MemberList, healthy: frozenset[int], member_id: int) -> str:
    """Why removing member ``member_id`` would break the quorum of the members that remain
    ("" when it would not). Learners never count; removing the last voter leaves no cluster
    to protect."""
    member = members.by_id(member_id)
    if member is None or member.is_learner:
        return ""
    remaining = [m for m in members.voters if m.id != member_id]
    if not remaining:
        return ""
    need = quorum(len(remaining))
    short = _short_of(remaining, healthy, need)
    if short is None:
        return ""
    up, down = short
    return (
        f"without {member.name or member.hex_id}, {up} of the {len(remaining)} remaining "
        f"members would be healthy and quorum needs {need} (down: {down})"
    )


def _short_of(others: list[Member], healthy: frozenset[int], need: int) -> tuple[int, str] | None:
    """(how many of ``others`` are healthy, the names of the rest) when fewer than ``need``
    are; None when enough are."""
    up = sum(1 for m in others if m.id in healthy)
    if up >= need:
        return None
    return up, ", ".join(sorted(label(m) for m in others if m.id not in healthy))


def stop_refusal(members: MemberList, healthy: frozenset[int], member_id: int) -> str:
    """Why stopping member ``member_id`` for a while (a migration) would lose quorum ("" when
    it would not): the other healthy voters must make a quorum of all voters. A cluster of
    one member has no other: it is down for the switch, which is allowed."""
    voters = members.voters
    if len(voters) <= 1:
        return ""
    need = quorum(len(voters))
    short = _short_of([m for m in voters if m.id != member_id], healthy, need)
    if short is None:
        return ""
    up, down = short
    return (
        f"stopping {label(members.by_id(member_id) or voters[0])} now would lose quorum: "
        f"{up} other member(s) of {len(voters)} healthy and quorum needs {need} "
        f"(not answering: {down or 'none'}); migrate it once every member is healthy"
    )


def is_ready_to_remove_voter(members: MemberList, healthy: frozenset[int], member_id: int) -> bool:
    """Can member ``member_id`` be removed now: do the members that remain keep quorum?"""
    return not removal_refusal(members, healthy, member_id)


def can_stop_member(members: MemberList, healthy: frozenset[int], member_id: int) -> bool:
    """Can member ``member_id`` stop for a while: do the other healthy voters make a quorum of
    all voters?"""
    return not stop_refusal(members, healthy, member_id)


def unhealthy_voters(members: MemberList, healthy: frozenset[int]) -> list[str]:
    """The voters that did not answer a health check (names, else hex ids), in list order."""
    return [m.name or m.hex_id for m in members.voters if m.id not in healthy]


def is_ready_to_upgrade_next(members: MemberList, healthy: frozenset[int]) -> bool:
    """Can the next member stop to upgrade: every voter healthy and no learner catching up
    (an upgrade takes one member down; it must not be one the quorum already misses)."""
    return not unhealthy_voters(members, healthy) and not members.learners


def transfer_target(members: MemberList, my_id: int, healthy: frozenset[int] | None = None) -> int:
    """The voter raft leadership moves to before member ``my_id`` stops (0: no other voter):
    a healthy one when health is known."""
    others = [m for m in members.voters if m.id != my_id and m.started]
    if healthy is not None:
        others = [m for m in others if m.id in healthy] or others
    return min(others, key=lambda m: m.name).id if others else 0

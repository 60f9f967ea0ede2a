"""The maintenance actions on the whole cluster: health, compact, defrag, alarm-list and
alarm-disarm."""

from __future__ import annotations

import time

from . import etcd_conf as C
from . import nagios, report, workload
from . import snapshot as snap
from .action_context import Context
from .context import client
from .etcd_json import Alarm, EndpointStatus, MemberList
from .etcdctl import Etcdctl, EtcdctlError
from .params import ActionError

DEFRAG_DEADLINE = 120.0


def health(ctx: Context) -> None:
    members = ctx.members()
    ctl = ctx.everyone(members)
    try:
        statuses = ctl.endpoint_status(partial=True)
    except EtcdctlError:
        statuses = []
    try:
        healths = ctl.endpoint_health()
    except EtcdctlError:
        healths = []
    try:
        alarms = ctx.voters(members).alarm_list()
    except EtcdctlError:
        alarms = []
    table = report.rows(members, statuses, healths, alarms)
    ok, summary = report.verdict(table)
    text = report.render(table)
    ctx.set("result-map.message", f"{summary}\n{text}")
    ctx.set("cluster.healthy", str(ok).lower())
    ctx.set("cluster.summary", summary)
    ctx.set("cluster.id", f"{members.cluster_id:x}")
    for row in table:
        for k, v in row.to_result().items():
            ctx.set(f"members.{row.name if row.name[0].isalnum() else row.member_id}.{k}", v)
    if not ok:
        raise ActionError(f"{summary}\n{text}")


def compact(ctx: Context) -> None:
    raw = str(ctx.params.get("revision")).strip()
    physical = ctx.params.get("physical")
    members = ctx.members()
    ctl = ctx.voters(members)
    current = max((s.revision for s in ctl.endpoint_status(partial=True)), default=0)
    if raw:
        if not raw.isdigit() or int(raw) == 0:
            raise ActionError(f"revision must be a positive whole number, got {raw!r}")
        revision = int(raw)
        if revision > current:
            raise ActionError(
                f"revision {revision} is newer than the keyspace's current revision "
                f"{current}; nothing was compacted"
            )
    else:
        revision = current
    ctx.progress(f"compacting the history up to revision {revision}")
    try:
        ctl.compact(revision, physical)
    except EtcdctlError as e:
        if e.mentions("required revision has been compacted"):
            raise ActionError(
                f"revision {revision} is compacted already (an earlier compaction went further); "
                "nothing to do"
            ) from None
        raise
    ctx.set("output", f"compacted revision {revision}")
    ctx.set("compact.revision", revision)
    ctx.set("compact.physical", str(bool(physical)).lower())


def defrag(ctx: Context) -> None:
    """Every member, one at a time (followers first, the raft leader last), only while
    every member answers: a defragmenting member stops answering until it is done. Raised
    alarms do not stop it (defragmentation is how a NOSPACE alarm is cleared)."""
    members = ctx.members()
    statuses = {s.member_id: s for s in ctx.everyone(members).endpoint_status(partial=True)}
    silent = [m.name or m.hex_id for m in members.members if m.id not in statuses]
    if silent:
        raise ActionError(
            "defragmentation stops each member in turn, so it needs every member to answer; "
            f"not answering: {', '.join(sorted(silent))}; nothing was defragmented"
        )
    leader = next((s.leader for s in statuses.values() if s.leader), 0)
    total_before = total_after = 0
    order = report.defrag_order(members, leader)
    for n, member_id in enumerate(order, 1):
        member = members.by_id(member_id)
        assert member is not None
        one = client(list(member.client_urls[:1]))
        before = statuses[member_id].db_size
        ctx.progress(f"defragmenting {member.name} ({n}/{len(order)}, {snap.human_size(before)})")
        one.defrag()
        after = _answering_again(one, member.name).db_size
        total_before += before
        total_after += after
        ctx.set(f"defrag.{member.name}.before", before)
        ctx.set(f"defrag.{member.name}.after", after)
    ctx.set(
        "output",
        f"defragmented {len(order)} members one at a time: {snap.human_size(total_before)} "
        f"-> {snap.human_size(total_after)}",
    )


def _answering_again(one: Etcdctl, name: str) -> EndpointStatus:
    """A bounded wait for the member to answer again after its defragmentation."""
    deadline = time.monotonic() + DEFRAG_DEADLINE
    while True:
        try:
            answered = one.endpoint_status()
            if answered:
                return answered[0]
        except EtcdctlError:
            pass
        if time.monotonic() > deadline:
            raise ActionError(
                f"{name} does not answer {DEFRAG_DEADLINE:.0f}s after its defragmentation; "
                "stopped before the next member"
            )
        time.sleep(0.5)


def _member_name(members: MemberList, member_id: int) -> str:
    m = members.by_id(member_id)
    return m.name if m and m.name else f"{member_id:x}"


def _alarm_results(ctx: Context, alarms: list[Alarm], members: MemberList) -> None:
    ctx.set("alarms.count", len(alarms))
    for i, a in enumerate(alarms):
        ctx.set(f"alarms.a{i}.alarm", a.alarm)
        ctx.set(f"alarms.a{i}.member", _member_name(members, a.member_id))


def _describe(alarms: list[Alarm], members: MemberList) -> str:
    return ", ".join(f"{a.alarm} on {_member_name(members, a.member_id)}" for a in alarms)


def alarm_list(ctx: Context) -> None:
    members = ctx.members()
    alarms = ctx.voters(members).alarm_list()
    _alarm_results(ctx, alarms, members)
    ctx.set("output", _describe(alarms, members) if alarms else "no alarms")


def alarm_disarm(ctx: Context) -> None:
    members = ctx.members()
    ctl = ctx.voters(members)
    alarms = ctl.alarm_list()
    if not alarms:
        ctx.set("output", "no alarms to disarm")
        ctx.set("alarms.count", 0)
        return
    if any(a.alarm == "NOSPACE" for a in alarms):
        quota = _quota_bytes()
        statuses = ctx.everyone(members).endpoint_status(partial=True)
        full = [s for s in statuses if s.db_size >= 0.9 * quota]
        if full:
            names = ", ".join(
                f"{_member_name(members, s.member_id)} {snap.human_size(s.db_size)}" for s in full
            )
            raise ActionError(
                f"NOSPACE: the database is still near its {snap.human_size(quota)} quota "
                f"({names}); disarming now would raise the alarm again at the next write. "
                "Compact and defragment first (juju run etcd/leader compact physical=true, "
                "then juju run etcd/leader defrag), then disarm; nothing was disarmed"
            )
    disarmed = ctl.alarm_disarm()
    _alarm_results(ctx, disarmed, members)
    ctx.set("output", "disarmed " + _describe(disarmed, members))


def _quota_bytes() -> int:
    """The backend quota etcd runs with (its config; etcd's default is 2 GiB)."""
    return nagios.quota_bytes(workload.read_file(C.CONF_PATH))

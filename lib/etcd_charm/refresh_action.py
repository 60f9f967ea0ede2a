"""The refresh action: an in-track refresh of etcd (3.5.16 -> 3.5.30 within 3.5/stable),
driven by the charm instead of snapd, whose own refreshes of etcd are held.

On the leader it checks what the store releases in the channel the units track, records the
target (leader data ``refresh-target``) and takes the leader's first step at once: the
units then refresh one at a time, each saving a snapshot and handing raft leadership over
first, healthy before the next, exactly as a channel upgrade (``juju status`` shows the
progress). Nothing is recorded when anything is in the way."""

from __future__ import annotations

import time

from . import hooktools, install, observe, workload
from . import plan as P
from .action_context import Context
from .params import ActionError
from .settings import version_tuple


def refresh(ctx: Context) -> None:
    if not hooktools.is_leader():
        raise ActionError(
            f"{ctx.charm.unit} is not the leader: run it on the leader "
            "(juju run etcd/leader refresh)"
        )
    settings = ctx.settings
    hook = ctx.charm.hook
    me = P.UnitInfo(
        unit=ctx.charm.unit,
        name="",
        member_id=ctx.charm.record.member_id if ctx.charm.record.started else 0,
        channel=workload.tracking(),
        revision=workload.installed_revision(),
        version=workload.installed_version() or "",
    )
    units = [u for u in (me, *observe.peers(hook)) if u.member_id]
    if not units:
        raise ActionError("no unit runs an etcd member yet; nothing to refresh")
    ld = observe.leader_data()
    target = "" if settings.channel == "auto" else settings.channel
    behind = [u.unit for u in units if target and u.channel != target]
    if behind:
        raise ActionError(
            f"an upgrade to {target} is under way ({', '.join(behind)} not on it yet); "
            "refresh once it is done"
        )
    channels = sorted({u.channel for u in units})
    if "" in channels:
        files = [u.unit for u in units if not u.channel]
        raise ActionError(
            f"{', '.join(files)} runs etcd installed from a file (the etcd resource), which "
            "tracks no channel: attach a newer etcd resource, or set channel to move to the "
            "store"
        )
    if len(channels) > 1:
        raise ActionError(
            f"the units track different channels ({', '.join(channels)}); set channel to "
            "one of them first"
        )
    channel = channels[0]
    if ld.refresh is not None and any(u.revision != ld.refresh.revision for u in units):
        raise ActionError(
            f"a refresh to {ld.refresh.label()} is under way; juju status shows its progress"
        )
    if ld.upgrade_grant:
        raise ActionError(f"{ld.upgrade_grant} is upgrading now; refresh once it is done")
    try:
        offer = install.store_offer()
    except workload.WorkloadError as e:
        raise ActionError(f"the snap store does not answer ({e}); nothing was changed") from None
    release = offer.release(channel)
    if release is None or not release[1]:
        raise ActionError(
            f"the snap store releases nothing in {channel} now (etcd there: "
            f"{offer.describe()}); nothing was changed"
        )
    version, revision = release
    current = sorted({(u.version, u.revision) for u in units})
    ctx.set("refresh.channel", channel)
    ctx.set("refresh.revision", revision)
    ctx.set("refresh.version", version)
    pending = [u for u in units if u.revision != revision]
    if not pending:
        ctx.set("output", f"etcd is up to date: {channel} revision {revision} (etcd {version})")
        return
    older = [v for v, _ in current if version_tuple(v) > version_tuple(version)]
    if older:
        raise ActionError(
            f"{channel} now releases etcd {version} (revision {revision}), older than the "
            f"{', '.join(older)} running: etcd does not downgrade; nothing was changed"
        )
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    target_refresh = P.Refresh(channel, revision, version, started)
    hooktools.leader_set({"refresh-target": target_refresh.to_json()})
    ctx.set("refresh.units", len(pending))
    ctx.set(
        "refresh.from",
        ", ".join(f"revision {r} (etcd {v})" for v, r in current),
    )
    ctx.progress(
        f"refreshing {len(pending)} unit(s) to {target_refresh.label()}, one at a time "
        "(a snapshot and a leadership hand-over before each)"
    )
    # the leader's first step now (a grant, or this unit's own refresh when it is first):
    # every later step follows in hooks, as for a channel upgrade
    ctx.charm.reconcile()
    ctx.set(
        "output",
        f"refresh to {target_refresh.label()} started on {len(pending)} unit(s); "
        "juju status shows each unit's turn",
    )

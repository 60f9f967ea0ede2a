"""The ``recover-from-volume`` action: on the Juju leader of a new application deployed with
the data volume of a removed one, bring that cluster back (its cluster id, member id and
every key). Refusals are decided by :func:`volume.recovery_refusal`; the work is
:mod:`volume_recovery`'s.

Why an action, not a config: reusing old data is the operator's decision, made once, for one
volume, at a moment they choose; a config would stay set and decide again for volumes
attached later.
"""

from __future__ import annotations

import time

from . import hooktools
from . import volume as V
from .action_context import Context
from .etcdctl import EtcdctlError
from .params import ActionError
from .volume_recovery import RecoveryError


def recover_from_volume(ctx: Context) -> None:
    ctx.check_config()
    charm = ctx.charm
    volume = dict(charm.record.volume)
    keys: int | None = None
    if charm.record.started:
        try:
            keys = ctx.local().key_count()
        except EtcdctlError:
            keys = None
    others = sorted(charm.peer_units(), key=lambda u: int(u.rsplit("/", 1)[-1]))
    refusal = V.recovery_refusal(
        volume, hooktools.is_leader(), others, keys, bool(ctx.params.get("force"))
    )
    if refusal:
        raise ActionError(f"{refusal}; nothing was changed")
    started = time.monotonic()
    sid = volume.get("storage", "")
    ctx.progress(f"bringing back cluster {str(volume.get('cluster'))[:8]} from {sid} "
                 f"({volume.get('unit') or 'an unknown unit'}'s member data)")  # fmt: skip
    try:
        status, members = charm.recover_from_volume(ctx.progress)
    except RecoveryError as e:
        raise ActionError(f"recover-from-volume failed: {e}") from None
    ctx.set("recover.storage", sid)
    ctx.set("recover.from-unit", volume.get("unit") or "unknown")
    ctx.set("recover.cluster-id", f"{status.cluster_id:x}")
    ctx.set("recover.member-id", f"{status.member_id:x}")
    ctx.set("recover.revision", status.revision)
    try:
        ctx.set("recover.keys", ctx.local().key_count())
    except EtcdctlError as e:
        ctx.set("recover.keys", f"unknown: counting them failed ({e.detail})")
    ctx.set("recover.members", len(members.members))
    ctx.set("recover.took", f"{time.monotonic() - started:.1f}s")

"""A rolling upgrade, this unit's part: snapshot, hand raft leadership over, refresh the snap,
restart if the config changed, wait until the member is healthy. A failure is recorded (the
leader stops the upgrade) and shown; the snapshot stays for a restore."""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from dataclasses import replace

from charmhelpers.core import hookenv

from . import backups, workload
from . import etcd_conf as C
from . import plan as P
from . import snapshot as snap
from . import snapshot_take as take
from . import status as S
from .backup_catalog import data_name
from .backup_store import LOCAL_DIR, LocalStore, StoreError
from .cluster import hand_over_leadership
from .configure import desired
from .context import Ctx, log
from .etcdctl import EtcdctlError
from .member import wait_healthy


def upgrade(ctx: Ctx, obs: P.Observed, step: P.Upgrade) -> P.Observed:
    """Snapshot, hand raft leadership over, refresh the snap, wait until the member is
    healthy again. A failure is recorded (the leader stops the upgrade) and shown."""
    goal = f"{step.channel} revision {step.revision}" if step.revision else step.channel
    where = (step.position, step.total, goal)
    try:
        ctx.set_status(S.upgrading(*where, "saving a snapshot"))
        count = len(obs.members.members) if obs.members is not None else 0
        path = snapshot_before_upgrade(ctx, obs.me.version, count)
        ctx.set_status(S.upgrading(*where, f"snapshot {path} saved; refreshing the snap"))
        if obs.members is not None:
            hand_over_leadership(ctx, obs.members, obs.me.member_id, "upgrading")
        workload.refresh_snap(step.channel, step.revision)
        version = workload.installed_version()
        conf, conf_hash = desired(replace(ctx, version=version))
        if conf_hash != ctx.record.applied_hash:
            workload.write_file(C.CONF_PATH, conf, 0o644)
            workload.restart_service()
        elif not workload.service_active():
            workload.start_service()
        wait_healthy(ctx, f"etcd {version} on {ctx.unit} to be healthy")
        ctx.record.applied_hash = conf_hash
        log(f"upgraded to etcd {version} from {goal}; snapshot kept at {path}")
        me = replace(
            obs.me,
            version=version or "",
            channel=step.channel,
            revision=workload.installed_revision(),
            restart_request="",
        )
    except (workload.WorkloadError, EtcdctlError, TimeoutError) as e:
        error = str(e)
        log(f"upgrade to {goal} failed: {error}", hookenv.ERROR)
        ctx.record.upgrade_error = {
            "channel": step.channel,
            "revision": step.revision,
            "refresh": step.refresh,
            "error": error,
        }
        me = replace(obs.me, upgrade_error=error)
    return replace(obs, me=me)


def snapshot_before_upgrade(ctx: Ctx, version: str, members: int = 0) -> str:
    """A snapshot of this unit's member recorded in its backup store as a ``pre-upgrade``
    backup (an archive with its metadata, as every backup); the archive's path. Raises
    WorkloadError when it cannot be taken or stored (the upgrade does not go on)."""
    os.makedirs(take.STORE_WORK, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".pre-upgrade-", dir=take.STORE_WORK)
    store = LocalStore(LOCAL_DIR, ctx.unit)
    try:
        written = take.write_snapshot(
            take.Source(C.member_name(ctx.unit), ctx.local(), members, snap.ORIGIN_CLUSTER),
            ctx.unit,
            work,
            f"pre-upgrade-etcd-{version}",
            lambda message: log(f"snapshot before the upgrade: {message}"),
            offline=ctx.local,
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        backup = backups.record(
            store,
            written,
            "pre-upgrade",
            hookenv.model_uuid() or "",
            hookenv.application_name(),
            now,
        )
    except (take.TakeError, StoreError, OSError) as e:
        raise workload.WorkloadError(f"cannot save the snapshot before the upgrade: {e}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    path = os.path.join(LOCAL_DIR, data_name(backup.id))
    m = backup.snapshot
    log(
        f"snapshot before the upgrade: backup {backup.id}, {path} (revision {m.revision}, "
        f"{m.keys} keys, {backup.archive_size} bytes)"
    )
    return path

"""A rolling upgrade, this unit's part: snapshot, hand raft leadership over, refresh the snap,
restart if the config changed, wait until the member is healthy. A failure is recorded (the
leader stops the upgrade) and shown; the snapshot stays for a restore."""

from __future__ import annotations

import os
import time
from dataclasses import replace

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import plan as P
from . import status as S
from . import workload
from .cluster import hand_over_leadership
from .configure import desired
from .context import Ctx, log
from .etcdctl import EtcdctlError
from .member import wait_healthy

BACKUP_DIR = "/var/snap/etcd/common/backups"


def upgrade(ctx: Ctx, obs: P.Observed, step: P.Upgrade) -> P.Observed:
    """Snapshot, hand raft leadership over, refresh the snap, wait until the member is
    healthy again. A failure is recorded (the leader stops the upgrade) and shown."""
    goal = f"{step.channel} revision {step.revision}" if step.revision else step.channel
    where = (step.position, step.total, goal)
    try:
        ctx.set_status(S.upgrading(*where, "saving a snapshot"))
        path = snapshot_before_upgrade(ctx, obs.me.version)
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


def snapshot_before_upgrade(ctx: Ctx, version: str) -> str:
    os.makedirs(BACKUP_DIR, mode=0o700, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = os.path.join(BACKUP_DIR, f"pre-upgrade-etcd-{version}-{stamp}.db")
    st = ctx.local().snapshot_save(path)
    os.chmod(path, 0o600)
    log(
        f"snapshot before the upgrade: {path} (revision {st.revision}, {st.total_keys} "
        "database entries, "
        f"{st.total_size} bytes)"
    )
    return path

"""``recover-from-volume``, the shell: the Juju leader of a new application brings back the
cluster whose data is on its refused data volume (decisions in :func:`volume.recovery_refusal`).

A volume that holds another cluster's data is refused when it is attached (the unit starts a
one-member cluster of its own on its root disk). Bringing the old cluster back is the
operator's decision, made by running the action on the leader:

1. etcd stops; the volume is mounted again at ``/media/etcd`` and the snap reaches it;
2. etcd starts once on the volume's data with ``force-new-cluster``: etcd rewrites the
   membership to this member alone and keeps the cluster id, the member id and every key
   (a snapshot restore would make a new cluster id); the member's peer URL, still the old
   unit's, is updated; etcd restarts without the flag;
3. the application takes the old cluster's token (leader data ``token``), so that the old
   cluster's other volumes, attached to units added later, are known as its stale members'
   data: set aside, and those units join as learners and sync.

Should etcd not start on the volume, the volume is unmounted and the unit's own one-member
cluster runs again, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from charmhelpers.core import hookenv

from . import data_volume as DV
from . import etcd_conf as C
from . import status as S
from . import volume as V
from . import workload
from .cluster import reconfigure
from .configure import conf_hash, render
from .context import Ctx, log
from .etcd_json import EndpointStatus, MemberList
from .etcdctl import EtcdctlError
from .member import wait_answering
from .restore import announce


class RecoveryError(Exception):
    """The cluster did not come back; the message says why and what runs now."""


def recover(ctx: Ctx, progress: Callable[[str], None]) -> tuple[EndpointStatus, MemberList]:
    hook, record = ctx.hook, ctx.record
    identity, settings = ctx.identity, ctx.settings
    if not os.path.exists(C.SERVER_CERT_PATH):
        raise RecoveryError("this unit has no certificates yet; relate etcd to easyrsa first "
                            "(nothing was changed)")  # fmt: skip
    volume = dict(record.volume)
    previous = record.member_state()
    previous_conf = workload.read_file(C.CONF_PATH)
    previous_dir = workload.running_data_dir() if record.started else ""
    peer_url = identity.peer_url(settings)

    def put_back(why: str) -> RecoveryError:
        log(f"recover-from-volume: {why}; this unit's own cluster runs again", hookenv.ERROR)
        try:
            workload.stop_service()
        except workload.WorkloadError as e:
            log(f"stopping etcd: {e}", hookenv.WARNING)
        DV.unmount()
        record.volume = volume
        record.put_back(previous)
        if previous_conf:
            workload.write_file(C.CONF_PATH, previous_conf, 0o644)
        if previous_dir:
            workload.start_service()
        return RecoveryError(f"{why}; the volume is unmounted and this unit's own one-member "
                             "cluster runs again (nothing was changed)")  # fmt: skip

    progress("stopping etcd on this unit: its own one-member cluster gives way")
    hook.set_status(S.Status("maintenance", f"Bringing back a cluster from {volume['storage']}"))
    workload.stop_service()
    try:
        marker = DV.mount_refused(hook)
    except (DV.VolumeError, workload.WorkloadError) as e:
        raise put_back(str(e)) from None
    record.volume = {**volume, "state": "ready"}  # the data directory is the volume's
    record.bootstrap = C.Bootstrap(
        initial_cluster=f"{identity.name}={peer_url}", token=marker.cluster, state="existing"
    )
    text = render(ctx)
    progress(f"starting etcd on {V.DATA_DIR} as the only member of cluster {marker.cluster[:8]}")
    try:
        workload.write_file(C.CONF_PATH, C.forcing_new_cluster(text), 0o644)
        workload.start_service()
        status = wait_answering(ctx, f"etcd on {ctx.unit} to answer from {V.DATA_DIR}", True)
        ctl = ctx.local()
        progress(f"updating member {status.member_id:x}'s peer URL to {peer_url}")
        reconfigure(
            "update this member's peer URL",
            lambda: ctl.member_update(status.member_id, [peer_url]),
        )
        workload.write_file(C.CONF_PATH, text, 0o644)  # without force-new-cluster
        workload.restart_service()
        status = wait_answering(ctx, f"etcd on {ctx.unit} to answer after the restart", True)
        members = ctl.member_list()
    except (TimeoutError, workload.WorkloadError, EtcdctlError) as e:
        raise put_back(f"etcd did not come back on the volume's data ({e})") from None
    record.started = True
    record.member_id = status.member_id
    record.applied_hash = conf_hash(text)
    record.remember_members(members)
    DV.write_recovered(hook, marker, status.member_id)
    if previous_dir and os.path.realpath(previous_dir) != os.path.realpath(V.DATA_DIR):
        DV.forget(previous_dir)  # the one-member cluster this unit ran (no key, or forced)
    announce(ctx, marker.cluster, record.bootstrap.initial_cluster, status.member_id,
             quarantined=False)  # fmt: skip
    log(f"cluster {status.cluster_id:x} is back from {volume['storage']}: member "
        f"{status.member_id:x} (was {marker.unit}'s), revision {status.revision}")  # fmt: skip
    hook.set_status(S.healthy(len(members.members)))
    return status, members

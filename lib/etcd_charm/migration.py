"""Migration from the Debian package (the snap-upgrade action): move this unit's member from
etcd.service to the snap's service, keeping its data, member id, name and URLs; undone
(etcd.service runs again, the snap goes) if the snap's member does not come back."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import legacy as L
from . import plan as P
from . import status as S
from . import workload
from .cluster import hand_over_leadership, member_health
from .context import Ctx, address, client, log
from .etcd_json import MemberList
from .etcdctl import Etcdctl, EtcdctlError
from .install import record_package_cluster, snap_resource
from .member import start, wait_healthy
from .record import Record


class MigrationError(Exception):
    """The migration to the snap did not happen (``undone``: it was undone after etcd.service
    had stopped); the message says why and where etcd runs now."""

    def __init__(self, message: str, undone: bool = False) -> None:
        super().__init__(message)
        self.undone = undone


@dataclass(frozen=True)
class Migrated:
    """A member that runs from the snap now, with the data and identity it had."""

    member_id: int
    cluster_id: int
    version: str
    source: str  # the channel, or "the attached etcd resource"
    members: MemberList


def migrate_from_package(
    ctx: Ctx,
    package: L.LegacyInstall,
    use_resource: bool,
    backup: Callable[[Etcdctl, MemberList], object] | None,
    progress: Callable[[str], None],
) -> Migrated:
    """Move this unit's member from etcd.service (the package) to the snap's service,
    keeping its data, member id, name and URLs.

    Nothing changes until every check passed (certificates from the relation signed by
    the CA the cluster trusts, the member healthy and stopping it keeps quorum, the snap's
    etcd of the same minor version, space for a copy of the data). Then the snap is
    installed beside the running member, ``backup`` saves a snapshot, raft leadership
    moves away, etcd.service stops and the data is copied (the package's copy stays
    until the end). If the snap's member does not come back healthy with the same member
    id, its copy and the snap are removed and etcd.service runs again."""
    settings, identity = ctx.settings, ctx.identity
    refusal = L.migration_refusal(package, identity.name, identity.peer_url(settings))
    if refusal:
        raise MigrationError(refusal)
    missing = [p for p in C.CERT_FILES if not os.path.isfile(p)]
    if missing:
        raise MigrationError(
            "this unit has no certificates from the certificates relation yet ("
            + ", ".join(missing)
            + " missing); relate etcd to easyrsa and wait for the next hook"
        )
    if workload.read_file(C.CA_PATH).strip() != workload.read_file(package.ca).strip():
        raise MigrationError(
            f"the certificate authority of the certificates relation ({C.CA_PATH}) is not "
            f"the one the running cluster trusts ({package.ca}): members with the new "
            "certificates could not talk to the others"
        )
    if not workload.legacy_service_active():
        raise MigrationError(
            f"{L.SERVICE}.service is not running: start it (systemctl start {L.SERVICE}) "
            "and check that the member is healthy before migrating it"
        )
    ctl = client([package.client_url], binary=L.ETCDCTL)
    try:
        mine = ctl.endpoint_status()[0]
        members = ctl.member_list()
    except (EtcdctlError, IndexError) as e:
        detail = e.detail if isinstance(e, EtcdctlError) else "no status"
        raise MigrationError(f"the package's member does not answer: {detail}") from None
    me = members.by_id(mine.member_id)
    if me is None or me.is_learner:
        raise MigrationError(f"{package.name} is not a voting member of its cluster")
    if members.learners:
        raise MigrationError(
            "a learner is joining the cluster ("
            + ", ".join(P.label(m) for m in members.learners)
            + "); migrate when it has been promoted"
        )
    healthy = member_health(members, L.ETCDCTL)
    refusal = P.stop_refusal(members, healthy, mine.member_id)
    if refusal:
        raise MigrationError(refusal)
    source_dir = os.path.join(package.data_dir, "member")
    need = _tree_size(source_dir) + (64 << 20)
    free = shutil.disk_usage(C.CONF_DIR).free
    if free < need:
        raise MigrationError(
            f"/var/snap has {free >> 20} MiB free and a copy of the member's data needs "
            f"about {need >> 20} MiB"
        )

    # the snap beside the running member (nothing of the package changes)
    resource = snap_resource() if use_resource else None
    if use_resource and resource is None:
        raise MigrationError(
            "use-resource=true but no etcd snap is attached (juju attach-resource etcd "
            "etcd=./etcd.snap)"
        )
    channel = L.snap_channel(package.version)
    source = "the attached etcd resource" if resource else f"channel {channel}"
    if not resource and not channel:
        raise MigrationError(f"cannot tell etcd's version from package {package.version!r}")
    progress(f"installing the etcd snap from {source}")
    ctx.set_status(S.migrating(f"installing the snap from {source}"))
    try:
        workload.install_snap(channel, resource)
        # the snap's service has no configuration yet: it must not run before the copy
        workload.stop_service(disable=True)
    except workload.WorkloadError as e:
        remove_snap_quietly()
        raise MigrationError(f"installing the snap failed: {e}") from None
    version = workload.installed_version() or ""
    snap = replace(ctx, version=version)  # what the snap's member starts with
    refusal = L.version_refusal(package.version, version)
    if refusal:
        remove_snap_quietly()
        raise MigrationError(f"{refusal}; the snap was removed again")
    if backup is not None:
        progress("saving a snapshot of the cluster first")
        ctx.set_status(S.migrating("saving a snapshot"))
        try:
            backup(client([package.client_url]), members)
        except Exception:
            remove_snap_quietly()
            raise

    # the switch: from here on a failure puts etcd.service back
    hand_over_leadership(ctx, members, mine.member_id, "migrating", healthy, via=ctl)
    progress(f"stopping {L.SERVICE}.service and copying the member's data to the snap")
    ctx.set_status(S.migrating(f"stopping {L.SERVICE}.service, copying the data"))
    data_dir = os.path.realpath(C.DATA_DIR)
    target = os.path.join(data_dir, "member")
    partial = os.path.join(data_dir, ".member-from-package")
    try:
        workload.stop_legacy_service()
        for stale in (target, partial):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.copytree(source_dir, partial, symlinks=True)
        _own_by_root(partial)
        os.chmod(partial, 0o700)
        os.rename(partial, target)
        if workload.ensure_restart_policy():
            log("etcd's service restarts after a crash (Restart=always drop-in)")
        record = C.Bootstrap(
            initial_cluster=package.initial_cluster, token=package.token, state="existing"
        )
        progress("starting the member from the snap")
        ctx.set_status(S.migrating("starting the member from the snap"))
        status = start(snap, record, expect_leader=True)
        if (status.member_id, status.cluster_id) != (mine.member_id, mine.cluster_id):
            raise MigrationError(
                f"the snap's member started as {status.member_id:x} of cluster "
                f"{status.cluster_id:x}, not as {mine.member_id:x} of {mine.cluster_id:x}"
            )
        wait_healthy(snap, f"the member on {ctx.unit} to be healthy from the snap")
    except (MigrationError, workload.WorkloadError, EtcdctlError, TimeoutError, OSError) as e:
        detail = e.detail if isinstance(e, EtcdctlError) else str(e)
        log(f"migration failed: {detail}; putting {L.SERVICE}.service back", hookenv.ERROR)
        back_to_package(ctx.record, target, partial)
        raise MigrationError(
            f"{detail}; etcd runs from the package again ({L.SERVICE}.service, its data "
            "untouched) and the snap was removed",
            undone=True,
        ) from None

    record_package_cluster(package)
    now = ctx.local().member_list()
    ctx.record.remember_members(now)
    me_now = P.UnitInfo(
        unit=ctx.unit,
        name=identity.name,
        peer_url=identity.peer_url(settings),
        client_url=identity.client_url(settings),
        ready=True,
        member_id=status.member_id,
        version=version,
        channel=workload.tracking(),
    )
    values = me_now.to_relation()
    values["db-ingress-address"] = address("db")
    endpoint = ctx.hook.endpoint("cluster")
    if endpoint is not None:
        endpoint.publish(values)
    log(
        f"migrated member {status.member_id:x} ({identity.name}) from {L.SERVICE}.service "
        f"to the snap (etcd {version} from {source})"
    )
    return Migrated(status.member_id, status.cluster_id, version, source, now)


def back_to_package(record: Record, target: str, partial: str) -> None:
    """Undo a migration that failed after etcd.service stopped: the snap's copy and the
    snap go, etcd.service (whose data was only read) runs again."""
    for step, call in (
        ("stop the snap's service", lambda: workload.stop_service(disable=True)),
        ("remove the copied data", lambda: _remove_trees(target, partial)),
        ("remove the snap", remove_snap_quietly),
        (f"start {L.SERVICE}.service", workload.start_legacy_service),
    ):
        try:
            call()
        except (workload.WorkloadError, OSError) as e:
            log(f"undoing the migration: could not {step}: {e}", hookenv.ERROR)
    record.forget_member()
    try:
        os.unlink(C.CONF_PATH)
    except OSError:
        pass


def remove_snap_quietly() -> None:
    """Remove the snap the migration installed. snapd deletes $SNAP_COMMON with it: the
    certificates from the relation that were there are put back."""
    kept = {p: workload.read_file(p) for p in C.CERT_FILES}
    try:
        workload.remove_snap()
    except workload.WorkloadError as e:
        log(f"removing the snap again failed: {e}", hookenv.ERROR)
    for path, text in kept.items():
        if text:
            workload.write_file(path, text, 0o600 if path.endswith(".key") else 0o644)


def remove_package() -> list[str]:
    """After a migration: purge the packages and the old charm's certificates."""
    purged = workload.purge_packages()
    for path in L.CERT_FILES:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    try:
        os.rmdir(L.CERT_DIR)
    except OSError:
        pass
    return purged


def _tree_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _own_by_root(path: str) -> None:
    """The snap's etcd runs as root: the copied data (the package's etcd user's) is root's."""
    for root, dirs, files in os.walk(path):
        for name in (root, *(os.path.join(root, n) for n in dirs + files)):
            os.lchown(name, 0, 0)


def _remove_trees(*paths: str) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)

"""The snap-upgrade action: the deb -> snap migration of this unit's member (the flow and its
undo are :mod:`migration`'s, through the charm), with an optional backup first and the Debian
package removed afterwards."""

from __future__ import annotations

from collections.abc import Callable

from . import status as S
from . import workload
from .action_context import Context, target_dir
from .etcd_json import MemberList
from .etcdctl import Etcdctl
from .migration import MigrationError
from .params import ActionError
from .snapshot_action import save_backup
from .workload import WorkloadError, installed_version


def snap_upgrade(ctx: Context) -> None:
    """Migrate this unit's member from the Debian package (the deb-era charm's install) to
    the snap, keeping its data and membership; one unit at a time."""
    use_resource = ctx.params.get("use-resource")
    backup = ctx.params.get("backup")
    target = ctx.params.get("target")
    package = workload.legacy_install()
    on_snap = bool(installed_version()) and ctx.charm.record.started
    if package is None:
        if on_snap:
            raise ActionError(
                f"etcd {installed_version()} runs from the snap on {ctx.charm.unit} already; "
                "nothing to migrate"
            )
        raise ActionError(
            f"etcd's Debian package is not installed on {ctx.charm.unit}; nothing to migrate"
        )
    if on_snap:  # an earlier run migrated the member but could not remove the package
        _remove_package(ctx, "")
        ctx.set("output", "etcd runs from the snap; removed the package left by an earlier run")
        return
    ctx.check_config()
    save: Callable[[Etcdctl, MemberList], str] | None = None
    if backup:
        backup_dir = target_dir(ctx, target, "target")

        def save(source: Etcdctl, members: MemberList) -> str:
            remedy = "run again with backup=false to migrate without one"
            return save_backup(
                ctx,
                backup_dir,
                "etcd_migration",
                remedy,
                members,
                (package.name, source),
                kind="pre-migration",
            )

    try:
        done = ctx.charm.migrate_from_package(package, use_resource, save, ctx.progress)
    except (MigrationError, ActionError) as e:  # ActionError: the backup failed
        ctx.charm.set_status(S.package_install(ctx.charm.unit))
        if isinstance(e, ActionError):
            raise
        raise ActionError(
            f"snap-upgrade failed: {e}" + ("" if e.undone else "; nothing was changed")
        ) from None
    me = done.members.by_id(done.member_id)
    name = me.name if me else f"{done.member_id:x}"
    ctx.set("snap-upgrade.member", name)
    ctx.set("snap-upgrade.member-id", f"{done.member_id:x}")
    ctx.set("snap-upgrade.cluster-id", f"{done.cluster_id:x}")
    ctx.set("snap-upgrade.version", done.version)
    ctx.set("snap-upgrade.source", done.source)
    ctx.set("snap-upgrade.members", len(done.members.members))
    _remove_package(ctx, name)
    verdict = ctx.charm.show_health(done.members, done.member_id)
    ctx.set(
        "output",
        f"{name} ({done.member_id:x}) runs etcd {done.version} from the snap with its data "
        f"and membership; {verdict.message}",
    )


def _remove_package(ctx: Context, member: str) -> None:
    ctx.progress("removing the Debian package (its configuration and /var/lib/etcd)")
    try:
        purged = ctx.charm.remove_package()
    except WorkloadError as e:
        raise ActionError(
            f"etcd runs from the snap now{' (' + member + ')' if member else ''}, but removing "
            f"the Debian package failed: {e}; run snap-upgrade again to remove it"
        ) from None
    ctx.set("purged", " ".join(sorted(purged)) or "none")

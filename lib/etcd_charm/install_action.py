"""The install action (the old charm's "Post Deployment Snap Upgrades"): after
``juju attach-resource etcd etcd=./etcd.snap``, ``juju run etcd/N install`` moves unit N's
member to the attached snap, one unit at a time as the operator runs it.

On the unit: refused (nothing changed) when no snap is attached, when it is the one
installed already, or when stopping this member would lose quorum; else a snapshot
(``/var/snap/etcd/common/backups``), raft leadership handed over, the ``core`` resource's base
first when attached, ``snap install --dangerous`` of the file (snapd keeps the data), a
restart into the configuration etcd's new version wants, and healthy before it returns."""

from __future__ import annotations

from . import configure, install, workload
from . import etcd_conf as C
from .action_context import Context
from .cluster import hand_over_leadership, member_health
from .context import Ctx, identity
from .etcdctl import EtcdctlError
from .member import wait_healthy
from .params import ActionError
from .quorum import stop_refusal
from .snapshot import sha256_file
from .upgrade import snapshot_before_upgrade


def install_resource(ctx: Context) -> None:
    settings = ctx.settings
    charm = ctx.charm
    resource = install.snap_resource()
    if resource is None:
        raise ActionError(
            "no etcd snap is attached: juju attach-resource etcd etcd=./etcd.snap, then run "
            "install on each unit in turn"
        )
    digest = sha256_file(resource)
    record = charm.record
    if not record.started or workload.installed_version() is None:
        raise ActionError(
            f"{charm.unit} runs no etcd member yet; its install hook takes the attached snap"
        )
    if record.resource_digest == digest:
        ctx.set("install.sha256", digest)
        ctx.set("output", f"the attached etcd snap ({digest[:12]}) is installed already")
        return
    members = ctx.members()
    my_id = record.member_id
    healthy = member_health(members)
    refusal = stop_refusal(members, healthy, my_id)
    if refusal:
        raise ActionError(f"{refusal.replace('migrate it', 'install it')}; nothing was changed")
    version = workload.installed_version() or ""
    hook_ctx = Ctx(charm.hook, settings, identity(charm.unit), version)
    ctx.progress("saving a snapshot of this member first")
    path = snapshot_before_upgrade(hook_ctx, version, len(members.members))
    ctx.set("install.snapshot", path)
    hand_over_leadership(hook_ctx, members, my_id, "installing the attached snap", healthy)
    base = install.base_resource()
    try:
        if base:
            ctx.progress("installing the base snap attached as the core resource")
            workload.install_snap_file(base)
        ctx.progress(f"installing the attached etcd snap ({digest[:12]})")
        workload.install_snap("", resource)
    except workload.WorkloadError as e:
        missing = install.missing_base(str(e))
        hint = (
            f"attach its base as the core resource (juju attach-resource etcd "
            f"core=./{missing}.snap)"
            if missing
            else "fix the cause"
        )
        if not workload.service_active():
            workload.start_service()
        raise ActionError(
            f"installing the attached snap failed ({e}); {hint}; etcd {version} runs as before "
            f"(snapshot {path})"
        ) from None
    new = workload.installed_version() or ""
    conf, conf_hash = configure.desired(Ctx(charm.hook, settings, identity(charm.unit), new))
    if conf_hash != record.applied_hash:
        workload.write_file(C.CONF_PATH, conf, 0o644)
        workload.restart_service()
    elif not workload.service_active():
        workload.start_service()
    try:
        wait_healthy(hook_ctx, f"etcd {new} on {charm.unit} to be healthy")
    except (TimeoutError, EtcdctlError) as e:
        raise ActionError(
            f"etcd {new} from the attached snap is installed but not healthy ({e}); the "
            f"snapshot taken first is {path}"
        ) from None
    record.applied_hash = conf_hash
    record.resource_digest = digest
    install.hold_refreshes()
    ctx.set("install.sha256", digest)
    ctx.set("install.version", new)
    ctx.set("install.previous-version", version)
    verdict = charm.show_health(ctx.members(), my_id)
    ctx.set(
        "output",
        f"{charm.unit} runs etcd {new} from the attached snap ({digest[:12]}); {verdict.message}",
    )

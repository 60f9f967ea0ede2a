"""Install: the snap (the attached resource first, else the channel), or, on a unit the
deb-era charm installed, hold: the package's member keeps running until the snap-upgrade
action migrates it."""

from __future__ import annotations

import os
import re
from collections.abc import Collection

from charmhelpers.core import hookenv

from . import hooktools, snap_store, tls, workload
from . import legacy as L
from . import status as S
from .context import Hook, log

#: the reactive flag this charm sets once etcd is installed from the snap (reactive/etcd.py)
from .flags import INSTALLED  # noqa: F401 - named here too
from .settings import channel_refusal, version_tuple
from .snapshot import sha256_file

#: the flag the deb-era charm set once the ``etcd`` package was installed, which this charm's
#: own revisions before issue 17 also set (once the snap was installed): it says "installed"
#: without saying what, so it never skips :func:`install` alone
LEGACY_INSTALLED = "etcd.installed"


def must_install(
    flags: Collection[str], snap_installed: bool, started: bool, package_install: bool
) -> bool:
    """Whether :func:`install` runs in this hook (pure). False once :data:`INSTALLED` is
    set. A unit with :data:`LEGACY_INSTALLED` but not :data:`INSTALLED` was installed by an
    older charm: by this charm's previous revision (the snap, no package) or by the deb-era
    charm (the package, no snap; or both once the snap-upgrade action migrated it). It is
    adopted without :func:`install` only when etcd runs from the snap: this unit's member
    started (unit storage) or, without a member yet, no package install is there.

    ============  ================  ====  ===============  ==================================
    INSTALLED     etcd.installed    snap  member started   decision
    ============  ================  ====  ===============  ==================================
    set           any               any   any              no install (reconcile)
    unset         unset             any   any              install
    unset         set               no    any              install (deb era: hold the package)
    unset         set               yes   yes              adopt (no install)
    unset         set               yes   no, package      install (hold the package)
    unset         set               yes   no, no package   adopt (this charm's previous rev.)
    ============  ================  ====  ===============  ==================================
    """
    if INSTALLED in flags:
        return False
    if LEGACY_INSTALLED not in flags or not snap_installed:
        return True
    if started:
        return False
    return package_install


def install(hook: Hook) -> bool:
    """Install the snap (resource first, else channel). True when etcd is installed.

    A unit the deb-era charm installed keeps running from the package (and asks for its
    certificates) until the snap-upgrade action migrates it."""
    if workload.installed_version() and hook.record.started:
        return True
    package = workload.legacy_install()
    if package is not None:
        hold_package_install(hook, package)
        return False
    if workload.installed_version():
        return True
    if hook.settings is None:
        hook.set_status(S.invalid_config(hook.errors))
        return False
    resource = snap_resource()
    if resource:
        return install_from_files(hook, resource)
    refusal = channel_refusal(None, "", hook.settings.channel)
    if refusal:
        hook.set_status(S.invalid_config([refusal]))
        return False
    try:
        offer = store_offer()
    except workload.WorkloadError as e:
        hook.set_status(S.store_unavailable(str(e)))
        return False
    channel = hook.settings.channel
    if channel == "auto":
        auto = snap_store.auto_channel(offer)
        if auto is None:
            hook.set_status(S.invalid_config([snap_store.no_supported_track(offer)]))
            return False
        channel = auto
        log(
            f"channel auto: {channel}, the newest track the store offers that the charm "
            f"supports (the store has {offer.describe()})"
        )
    missing = snap_store.missing_channel(channel, offer)
    if missing:
        hook.set_status(S.invalid_config([missing]))
        return False
    hook.set_status(S.installing(channel, False))
    try:
        workload.install_snap(channel, None)
    except workload.WorkloadError as e:
        hook.set_status(S.install_failed(str(e)))
        return False
    return installed_and_held()


def install_from_files(hook: Hook, resource: str) -> bool:
    """Install etcd from the attached ``etcd`` resource, its base first when the ``core``
    resource is attached (whichever base snap the operator gave: ``core`` as the old charm
    expected, or the ``core18`` that etcd's snap is built on). Without its base and without
    a store to fetch it from, snapd refuses: the unit says which base to attach."""
    base = base_resource()
    hook.set_status(S.installing("", True))
    try:
        if base:
            workload.install_snap_file(base)
            log("installed the base snap attached as the core resource")
        workload.install_snap("", resource)
    except workload.WorkloadError as e:
        missing = missing_base(str(e))
        hook.set_status(S.needs_base(missing) if missing else S.install_failed(str(e)))
        return False
    hook.record.resource_digest = sha256_file(resource)
    return installed_and_held()


def installed_and_held() -> bool:
    version = workload.installed_version()
    log(f"installed etcd {version}")
    if version is None:
        return False
    hold_refreshes()
    return True


def hold_refreshes() -> None:
    """Only the charm refreshes etcd: snapd's automatic refreshes would restart members
    outside the charm's one-at-a-time control, without a backup or a leadership
    hand-over. Held once (``snap refresh --hold etcd``, snapd 2.58+); each hook checks."""
    if workload.installed_version() is None or workload.refreshes_held():
        return
    try:
        log(f"snapd's automatic refreshes of etcd: {workload.hold_refreshes()}")
    except workload.WorkloadError as e:
        log(f"cannot hold snapd's refreshes of etcd: {e}", hookenv.WARNING)


def store_offer() -> snap_store.Offer:
    """What the store offers of etcd (``snap info etcd``); :class:`workload.WorkloadError`
    when the store does not answer (snapd's error, or no channel listed at all)."""
    try:
        return snap_store.store_offer(workload.store_info())
    except snap_store.NoStore as e:
        raise workload.WorkloadError(str(e)) from None


def newer_release(channel: str, revision: str, version: str) -> dict[str, str]:
    """What the store releases in ``channel`` that is newer than ``revision`` (etcd
    ``version``): {"channel", "revision", "version"}, or {} (nothing newer, no store)."""
    try:
        offer = store_offer()
    except workload.WorkloadError as e:
        log(f"cannot ask the store for a newer etcd: {e}", hookenv.DEBUG)
        return {}
    return snap_store.newer(offer, channel, revision, version)


def store_refusal(channel: str, installed: str) -> str:
    """Why the installed etcd (version ``installed``) cannot move to ``channel`` from the
    store ("" when it can): the channel is checked before any unit is granted its turn."""
    try:
        offer = store_offer()
    except workload.WorkloadError as e:
        return f"channel {channel!r} cannot be checked: the snap store does not answer ({e})"
    missing = snap_store.missing_channel(channel, offer)
    if missing:
        return missing
    release = offer.release(channel)
    if release is not None and version_tuple(release[0]) < version_tuple(installed):
        return (
            f"channel {channel!r} has etcd {release[0]}, older than the {installed} installed: "
            "etcd does not downgrade"
        )
    return ""


def missing_base(error: str) -> str:
    """The base snapd could not install, from its error (``cannot install snap base
    "core18": ...``), "" for any other failure."""
    m = re.search(r'cannot install snap base "([^"]+)"', error)
    return m.group(1) if m else ""


def hold_package_install(hook: Hook, package: L.LegacyInstall) -> None:
    """Leave the package's member running and say how to migrate it. The leader records
    that the cluster exists (so that nothing ever bootstraps over it) and every unit asks
    for its certificates now: the migrated member uses them from its first start."""
    record_package_cluster(package)
    if hook.settings is not None:
        tls.certificates(hook, hook.endpoint("certificates"), hook.settings)
    version = L.upstream_version(package.version)
    if version:
        hookenv.application_version_set(version)
    hook.set_status(S.package_install(hook.unit))


def record_package_cluster(package: L.LegacyInstall) -> None:
    """The leader records that the package's cluster exists (``bootstrapped``, and its
    token unless one is recorded), so that the plan never bootstraps over it."""
    if not hooktools.is_leader():
        return
    current = hooktools.leader_get() or {}
    if current.get("bootstrapped"):
        return
    log(f"the cluster runs from the Debian package (token {package.token!r})")
    record = {"bootstrapped": package.initial_cluster.split("=", 1)[0] or package.name}
    if not current.get("token") and package.token:
        record["token"] = package.token
    hooktools.leader_set(record)


def snap_resource(name: str = "etcd") -> str | None:
    """The attached snap file of resource ``name`` (None: not attached, or empty, as
    charm stores publish placeholders)."""
    try:
        path = hookenv.resource_get(name)
    except Exception:  # noqa: BLE001 - no resource support: use the store
        return None
    if path and os.path.isfile(path) and os.path.getsize(path) > 0:
        return str(path)
    return None


def base_resource() -> str | None:
    return snap_resource("core")

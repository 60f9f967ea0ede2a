"""Install: the snap (the attached resource first, else the channel), or, on a unit the
deb-era charm installed, hold: the package's member keeps running until the snap-upgrade
action migrates it."""

from __future__ import annotations

import os
from collections.abc import Collection

from charmhelpers.core import hookenv

from . import legacy as L
from . import status as S
from . import tls, workload
from .context import Hook, log
from .settings import channel_refusal

#: the reactive flag this charm sets once etcd is installed from the snap (reactive/etcd.py)
INSTALLED = "etcd.snap.installed"
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
    refusal = "" if resource else channel_refusal(None, "", hook.settings.channel)
    if refusal:
        hook.set_status(S.invalid_config([refusal]))
        return False
    hook.set_status(S.installing(hook.settings.install_channel(), bool(resource)))
    try:
        workload.install_snap(hook.settings.install_channel(), resource)
    except workload.WorkloadError as e:
        hook.set_status(S.install_failed(str(e)))
        return False
    version = workload.installed_version()
    log(f"installed etcd {version}")
    return version is not None


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
    if not hookenv.is_leader():
        return
    current = hookenv.leader_get() or {}
    if current.get("bootstrapped"):
        return
    log(f"the cluster runs from the Debian package (token {package.token!r})")
    record = {"bootstrapped": package.initial_cluster.split("=", 1)[0] or package.name}
    if not current.get("token") and package.token:
        record["token"] = package.token
    hookenv.leader_set(record)


def snap_resource() -> str | None:
    try:
        path = hookenv.resource_get("etcd")
    except Exception:  # noqa: BLE001 - no resource support: use the store
        return None
    if path and os.path.isfile(path) and os.path.getsize(path) > 0:
        return str(path)
    return None

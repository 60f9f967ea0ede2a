"""The shell of the ``nrpe-external-master`` relation: register the Nagios checks through
charm-helpers' NRPE while the relation exists, keep the collector running, remove it all
when the relation goes. Decisions and texts: :mod:`nagios`; the collector:
:mod:`nagios_collect`; the plugin: :mod:`check_etcd`.

charm-helpers (``charmhelpers/contrib/charmsupport/nrpe.py``, 0.20.24 as vendored; juju/
charm-helpers 9998062) is used as layer-etcd used it (``update_nrpe_config``, 233f62a):
``NRPE(hostname=get_nagios_hostname(), primary=False)``, ``add_check``, ``write``. Its
``write`` does nothing without the ``nagios`` user and group or ``/etc/nagios/nrpe.d`` (the nrpe
subordinate's nagios-nrpe-server brings them), restarts nagios-nrpe-server except in
update-status, and sets ``monitors`` on every nrpe-external-master relation; its
``NRPE.__init__`` sets ``primary`` on them. Here it is called only when what it writes
changes (:func:`nagios.registration_hash`, kept in unit storage); an update-status that
writes restarts the daemon itself, or NRPE would not know the new commands.

In ``nrpe-external-master-relation-broken`` Juju's ``relation-ids`` no longer lists the relation
(juju-model-spec 2.3): the last relation gone, everything registered is removed: the check
configs and Nagios service files (``remove_check``), the plugin, the collector's timer and
service, the status file.
"""

from __future__ import annotations

import grp
import os
import pwd
import sys
from dataclasses import dataclass

from charmhelpers.core import hookenv

from . import check_etcd, nagios, workload
from .context import Hook, local_url, log
from .nagios_collect import Seen, collect
from .settings import Settings

NRPE_SERVICE = "nagios-nrpe-server"


@dataclass(frozen=True)
class Paths:
    """Where the relation's files go (tests give their own)."""

    plugin: str = nagios.PLUGIN_PATH
    nrpe_confdir: str = nagios.NRPE_CONFDIR
    unit_dir: str = nagios.UNIT_DIR
    status: str = check_etcd.STATUS_PATH
    legacy: tuple[str, ...] = nagios.LEGACY_FILES

    def unit(self, suffix: str) -> str:
        return os.path.join(self.unit_dir, f"{nagios.COLLECTOR}.{suffix}")


def reconcile(hook: Hook, settings: Settings | None, seen: Seen, paths: Paths = Paths()) -> None:
    """Register, refresh or remove the checks; collect while the relation exists."""
    remove_legacy(paths)
    relation_ids = sorted(hookenv.relation_ids(nagios.RELATION))
    if not relation_ids:
        if hook.record.nrpe_hash or os.path.exists(paths.unit("timer")):
            unregister(hook, paths)
        return
    if settings is None:
        return  # invalid config: what is registered stays, the timer keeps collecting
    missing = preconditions(paths)
    if missing:
        log(f"Nagios checks not registered yet: {missing}")
        return
    endpoint = local_url(settings)
    install_plugin(paths)
    install_collector(endpoint, paths)
    collect(endpoint, seen, paths.status)
    register(hook, settings, relation_ids, paths)


def preconditions(paths: Paths) -> str:
    """What charm-helpers' ``NRPE.write`` needs and lacks ("" when nothing)."""
    try:
        pwd.getpwnam("nagios")
        grp.getgrnam("nagios")
    except KeyError:
        return "no nagios user or group (the nrpe subordinate installs nagios-nrpe-server)"
    if not os.path.isdir(paths.nrpe_confdir):
        return f"no {paths.nrpe_confdir} (the nrpe subordinate installs nagios-nrpe-server)"
    return ""


def install_plugin(paths: Paths) -> None:
    with open(check_etcd.__file__, encoding="utf-8") as f:
        source = f.read()
    if workload.write_file(paths.plugin, source, 0o755):
        log(f"Nagios plugin installed: {paths.plugin}")


def install_collector(endpoint: str, paths: Paths) -> None:
    """The collector's service and timer; (re)started when either file changed."""
    units = nagios.collector_units(sys.executable, hookenv.charm_dir(), endpoint)
    timer = f"{nagios.COLLECTOR}.timer"
    try:
        if not workload.install_timer(paths.unit_dir, units, timer):
            return
    except workload.WorkloadError as e:
        log(f"cannot start {timer}: {e} (the checks go stale)", hookenv.WARNING)
        return
    log(f"{timer} started: etcd's state is collected every {check_etcd.INTERVAL}s")


def register(hook: Hook, settings: Settings, relation_ids: list[str], paths: Paths) -> bool:
    """Write the checks when what they depend on changed; True when written."""
    from charmhelpers.contrib.charmsupport import nrpe

    hostname = nrpe.get_nagios_hostname() or ""
    defs = nagios.checks(nrpe.get_nagios_unit_name(), paths.plugin)
    digest = nagios.registration_hash(
        defs, hostname, settings.nagios_context, settings.nagios_servicegroups, relation_ids
    )
    if digest == hook.record.nrpe_hash:
        return False
    checks = nrpe.NRPE(hostname=hostname or None, primary=False)
    for d in defs:
        checks.add_check(shortname=d.shortname, description=d.description, check_cmd=d.check_cmd)
    checks.write()
    if hookenv.hook_name() == "update-status":  # NRPE.write does not restart in it
        _restart_nrpe()
    hook.record.nrpe_hash = digest
    log("Nagios checks registered: " + ", ".join(nagios.command(d.shortname) for d in defs))
    return True


def unregister(hook: Hook, paths: Paths) -> None:
    """Remove every check and what runs them (the relation is gone)."""
    from charmhelpers.contrib.charmsupport import nrpe

    checks = nrpe.NRPE(primary=False)
    for name in nagios.SHORTNAMES:
        checks.remove_check(shortname=name)
    if not preconditions(paths):
        _restart_nrpe()  # it forgets the commands
    timer = f"{nagios.COLLECTOR}.timer"
    try:
        workload.systemctl("disable", "--now", timer)
    except workload.WorkloadError as e:
        log(f"cannot stop {timer}: {e}", hookenv.WARNING)
    removed = [
        p
        for p in (paths.unit("timer"), paths.unit("service"), paths.plugin, paths.status)
        if workload.remove_file(p)
    ]
    try:
        workload.systemctl("daemon-reload")
    except workload.WorkloadError as e:
        log(f"systemctl daemon-reload: {e}", hookenv.WARNING)
    hook.record.nrpe_hash = ""
    log("Nagios checks removed, and " + (", ".join(removed) or "nothing else"))


def remove_legacy(paths: Paths) -> None:
    """layer-etcd's alarms cron job, plugin and cache (its cron job would keep running
    etcdctl every minute)."""
    for path in paths.legacy:
        if workload.remove_file(path):
            log(f"removed what the earlier etcd charm left: {path}")


def _restart_nrpe() -> None:
    try:
        workload.systemctl("restart", NRPE_SERVICE)
    except workload.WorkloadError as e:
        log(f"cannot restart {NRPE_SERVICE}: {e}", hookenv.WARNING)

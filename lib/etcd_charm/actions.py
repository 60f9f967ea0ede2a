"""The operator actions (what every ``actions/<name>`` runs): the table of actions and the
entry point that dispatches to them.

Each action reads exactly the params ``actions.yaml`` declares for it, does its work through
:mod:`etcdctl`, :mod:`snapshot` and :class:`~etcd_charm.charm.EtcdCharm`, and reports through
``action-set``; every failure ends in ``action-fail`` with a message saying what is wrong and
what to do (never a traceback). No key material is ever logged or returned: only the
credentials tarball's path.

One module per family: :mod:`action_context` (what an action works with, shared helpers),
:mod:`snapshot_action` (snapshot, and the backup restore and snap-upgrade save first),
:mod:`restore_action`, :mod:`maintenance_actions` (health, compact, defrag, alarms),
:mod:`credentials_action` (package-client-credentials), :mod:`snap_upgrade_action`,
:mod:`refresh_action` (an in-track refresh of etcd, unit by unit), :mod:`install_action`
(a newly attached etcd snap on this unit), :mod:`backup_action` (create-backup,
list-backups, and the backups restore backup-id= restores), :mod:`recover_action`
(recover-cluster: a new cluster from the leader's member after quorum is lost for good),
:mod:`recover_volume_action` (recover-from-volume: a removed application's cluster back from
its data volume, same cluster id).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from charmhelpers.core import hookenv

from .action_context import Context
from .backup_action import create_backup, list_backups
from .charm import EtcdCharm
from .context import action_endpoint, flush_action_endpoints
from .credentials_action import package_client_credentials
from .etcdctl import EtcdctlError
from .install_action import install_resource
from .maintenance_actions import alarm_disarm, alarm_list, compact, defrag, health
from .params import ActionError, Params, declared_params
from .recover_action import recover_cluster
from .recover_volume_action import recover_from_volume
from .refresh_action import refresh
from .restore_action import restore
from .snap_upgrade_action import snap_upgrade
from .snapshot_action import snapshot
from .workload import WorkloadError

ACTIONS: dict[str, Callable[[Context], None]] = {
    "snapshot": snapshot,
    "restore": restore,
    "health": health,
    "compact": compact,
    "defrag": defrag,
    "alarm-list": alarm_list,
    "alarm-disarm": alarm_disarm,
    "package-client-credentials": package_client_credentials,
    "snap-upgrade": snap_upgrade,
    "refresh": refresh,
    "install": install_resource,
    "create-backup": create_backup,
    "list-backups": list_backups,
    "recover-cluster": recover_cluster,
    "recover-from-volume": recover_from_volume,
}


def main() -> None:
    charm_dir = os.environ.get("JUJU_CHARM_DIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(sys.argv[0]))
    )
    os.environ.setdefault("CHARM_DIR", charm_dir)
    os.chdir(charm_dir)
    name = os.environ.get("JUJU_ACTION_NAME") or os.path.basename(sys.argv[0])
    handler = ACTIONS.get(name)
    if handler is None:
        hookenv.action_fail(f"no action {name!r} in this charm")
        return
    charm = EtcdCharm(endpoint=action_endpoint)
    # whatever an action does, the next update-status looks in full (quiet.py), and so does
    # the next peer hook (idle.py)
    charm.record.quiet = {}
    charm.record.idle_inputs = ""
    ctx = Context(
        name, charm, Params(name, hookenv.action_get() or {}, declared_params(name, charm_dir))
    )
    try:
        handler(ctx)
    except ActionError as e:
        hookenv.action_fail(str(e))
    except (EtcdctlError, WorkloadError, OSError, TimeoutError) as e:
        hookenv.log(f"{name} failed:\n{traceback.format_exc()}", hookenv.ERROR)
        detail = e.detail if isinstance(e, EtcdctlError) else str(e)
        hookenv.action_fail(f"{name} failed: {detail}")
    except Exception as e:  # noqa: BLE001 - a bug: the details go to the log, not the output
        hookenv.log(f"{name} failed:\n{traceback.format_exc()}", hookenv.ERROR)
        hookenv.action_fail(
            f"{name} failed unexpectedly ({type(e).__name__}: {e}); see juju debug-log"
        )
    finally:
        if ctx.results:  # what was found before a failure is kept, as Juju keeps it
            hookenv.action_set(ctx.results)
        flush_action_endpoints()  # what a restore or migration published to its peers
        charm.kv.flush()

"""What the ``nrpe-external-master`` relation registers, and the collector's record. Pure.

The checks are charm-helpers' NRPE checks (``charmhelpers.contrib.charmsupport.nrpe``,
charmhelpers 0.20.24 as vendored; juju/charm-helpers 9998062): each ``shortname`` becomes the
NRPE command ``check_<shortname>`` in ``/etc/nagios/nrpe.d/check_<shortname>.cfg`` and the
``monitors`` entry the nrpe subordinate hands to Nagios. Two keep layer-etcd's names
(charmed-kubernetes/layer-etcd 233f62a, ``update_nrpe_config``: ``snap.etcd.etcd`` from
``add_init_service_checks`` and ``etcd-alarms``), so that a Nagios that watched the old charm's
services keeps them. Every command runs the one plugin, :mod:`check_etcd` (stdlib only),
installed at :data:`PLUGIN_PATH`; its checks read the record :func:`status_record` builds,
which :mod:`nagios_collect` writes as root.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from . import check_etcd as plugin
from .etcd_json import Alarm, EndpointStatus, hex_id

RELATION = "nrpe-external-master"
#: charm-helpers' ``Check._locate_cmd`` looks in /usr/lib/nagios/plugins and here (the nrpe
#: charm installs its own plugins here too)
PLUGIN_DIR = "/usr/local/lib/nagios/plugins"
PLUGIN_PATH = f"{PLUGIN_DIR}/check_etcd.py"
NRPE_CONFDIR = "/etc/nagios/nrpe.d"
UNIT_DIR = "/etc/systemd/system"
COLLECTOR = "etcd-nagios-collect"
#: etcd's default backend quota (``--quota-backend-bytes`` 0: DefaultQuotaBytes, 2 GiB)
DEFAULT_QUOTA = 2 << 30
#: what layer-etcd installed for its alarms check (a root cron job every minute writing
#: ``etcdctl alarm list`` to a file, the plugin reading it): replaced by this charm's
LEGACY_FILES = (
    "/etc/cron.d/check_etcd-alarms",
    "/usr/lib/nagios/plugins/check_etcd-alarms.py",
    "/var/lib/nagios/etcd-alarm-list.txt",
)


@dataclass(frozen=True)
class CheckDef:
    """One ``NRPE.add_check(shortname, description, check_cmd)``."""

    shortname: str
    description: str
    check_cmd: str


#: shortname -> (description, plugin arguments); the unit goes into the description as
#: layer-etcd's ``add_init_service_checks`` put it (``{<context>:<unit>}``)
CHECKS: dict[str, tuple[str, str]] = {
    "snap.etcd.etcd": ("process check {%s}", "service"),
    "etcd-health": ("etcd member health {%s}", "health"),
    "etcd-alarms": ("Verify etcd has no raised alarms {%s}", "alarms"),
    "etcd-dbsize": ("etcd database size against its quota {%s}", "dbsize -w 80 -c 90"),
    "etcd-cert": ("etcd server certificate expiry {%s}", "cert -w 30 -c 7"),
    "etcd-backup": ("etcd scheduled backup {%s}", "backup"),
}
SHORTNAMES = tuple(CHECKS)


def checks(unit_label: str, plugin_path: str = PLUGIN_PATH) -> tuple[CheckDef, ...]:
    """The checks to register, their commands running the plugin at ``plugin_path`` (an
    absolute path: charm-helpers keeps it when the file exists)."""
    return tuple(
        CheckDef(name, description % unit_label, f"{plugin_path} {args}")
        for name, (description, args) in CHECKS.items()
    )


def command(shortname: str) -> str:
    """The NRPE command charm-helpers names a check (``check_<shortname>``)."""
    return f"check_{shortname}"


def registration_hash(
    defs: Sequence[CheckDef],
    hostname: str,
    context: str,
    servicegroups: str,
    relation_ids: Sequence[str],
) -> str:
    """What the written check configs, Nagios service files and ``monitors`` depend on: a
    change of any (a new relation too: it gets ``monitors``) rewrites them."""
    text = json.dumps(
        {
            "checks": [asdict(d) for d in defs],
            "hostname": hostname,
            "context": context,
            "servicegroups": servicegroups,
            "relations": sorted(relation_ids),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def quota_bytes(conf_text: str) -> int:
    """The backend quota etcd runs with: ``quota-backend-bytes`` of its config file, etcd's
    default (2 GiB) when 0, absent or unreadable."""
    try:
        conf = yaml.safe_load(conf_text) or {}
    except yaml.YAMLError:
        return DEFAULT_QUOTA
    value = conf.get("quota-backend-bytes") if isinstance(conf, dict) else None
    try:
        quota = int(value or 0)
    except (TypeError, ValueError):
        return DEFAULT_QUOTA
    return quota if quota > 0 else DEFAULT_QUOTA


def member_record(
    endpoint: str,
    started: bool,
    reason: str,
    status: EndpointStatus | None,
    error: str | None,
) -> dict[str, Any]:
    """This unit's member as ``endpoint status`` answered (or why it did not)."""
    record: dict[str, Any] = {"endpoint": endpoint, "started": started, "reason": reason}
    if status is None:
        record.update(answered=False, error=error or ("not started" if not started else ""))
        return record
    record.update(
        answered=True,
        id=hex_id(status.member_id),
        leader=hex_id(status.leader) if status.leader else "",
        raft_term=status.raft_term,
        is_learner=status.is_learner,
        errors=list(status.errors),
        db_size=status.db_size,
        db_size_in_use=status.db_size_in_use,
        version=status.version,
    )
    return record


def status_record(
    now: float,
    member: dict[str, Any],
    alarms: Sequence[Alarm] | None,
    alarms_error: str,
    quota: int,
    cert_path: str,
    not_after: float | None,
    cert_error: str,
) -> dict[str, Any]:
    """The status file's content (:mod:`check_etcd` reads it). No secret: ids, sizes,
    error texts of etcdctl (which name endpoints, never credentials) and a certificate's
    expiry."""
    cert: dict[str, Any] = {"path": cert_path, "not_after": not_after}
    if not_after is None:
        cert["error"] = cert_error or "unreadable"
    return {
        "format": plugin.FORMAT,
        "collected_at": now,
        "member": member,
        "alarms": (
            None
            if alarms is None
            else [{"member": hex_id(a.member_id), "alarm": a.alarm} for a in alarms]
        ),
        "alarms_error": alarms_error if alarms is None else "",
        "quota_bytes": quota,
        "cert": cert,
    }


def collector_units(python: str, charm_dir: str, endpoint: str) -> dict[str, str]:
    """The collector's oneshot service and its timer (file name -> content): every 60 s
    (``OnUnitActiveSec``: after the service last started; ``OnActiveSec``: the first run
    after the timer starts; systemd.timer(5)). The service runs the charm's own Python with
    the charm's lib/ and venv/, as a hook does."""
    service = f"""\
# Written by the etcd charm while an nrpe-external-master relation exists.
[Unit]
Description=Collect etcd's state for the etcd charm's Nagios checks
After={plugin.SERVICE}.service

[Service]
Type=oneshot
Environment=PYTHONPATH={charm_dir}/lib:{charm_dir}/venv
ExecStart={python} -m etcd_charm.nagios_collect --endpoint {endpoint}
TimeoutStartSec=50
"""
    timer = f"""\
# Written by the etcd charm while an nrpe-external-master relation exists.
[Unit]
Description=Collect etcd's state for the etcd charm's Nagios checks every {plugin.INTERVAL}s

[Timer]
OnActiveSec={plugin.INTERVAL}s
OnUnitActiveSec={plugin.INTERVAL}s
AccuracySec=5s

[Install]
WantedBy=timers.target
"""
    return {f"{COLLECTOR}.service": service, f"{COLLECTOR}.timer": timer}

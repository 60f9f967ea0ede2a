"""The collector: this unit's etcd state, as root, into the status file the Nagios checks read.

The checks run as ``nagios`` (nagios-nrpe-server's ``nrpe_user``), who cannot read etcd's 0600
client key, so root collects (layer-etcd did the same for its alarms check with a root cron
job). It runs at the end of every hook's reconcile while an ``nrpe-external-master`` relation
exists (reusing the ``endpoint status`` the hook's status already took: :class:`Seen`) and
from the systemd timer :func:`nagios.collector_units` writes, every 60 s::

    python3 -m etcd_charm.nagios_collect --endpoint https://127.0.0.1:2379

Outside a hook there is no unit storage: the member counts as started once etcd's config file
exists (the charm writes it when it starts the member). The record holds no secret.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import check_etcd as plugin
from . import etcd_conf as C
from . import nagios
from .context import client
from .etcd_json import EndpointStatus
from .etcdctl import Etcdctl, EtcdctlError
from .workload import read_file, write_file

NOT_STARTED = "etcd's configuration is not written yet: this unit's member has not started"


@dataclass(frozen=True)
class Seen:
    """What a hook saw of this unit's member: whether it runs one (else why not), and the
    ``endpoint status`` its status took (``asked``: it asked; ``error``: why no status)."""

    started: bool
    reason: str = ""
    asked: bool = False
    status: EndpointStatus | None = None
    error: str | None = None


def observe(ctl: Etcdctl, endpoint: str) -> Seen:
    """Ask this unit's member for its status (outside a hook)."""
    if not os.path.exists(C.CONF_PATH):
        return Seen(started=False, reason=NOT_STARTED)
    try:
        answered = ctl.endpoint_status()
    except EtcdctlError as e:
        return Seen(started=True, asked=True, error=e.detail)
    status = next((s for s in answered if s.endpoint == endpoint), None)
    return Seen(started=True, asked=True, status=status, error=None if status else "no status")


def collect(
    endpoint: str,
    seen: Seen | None = None,
    path: str = plugin.STATUS_PATH,
    now: Callable[[], float] = time.time,
    ctl: Etcdctl | None = None,
) -> dict[str, Any]:
    """Collect and write the status file (0644); the record written."""
    ctl = ctl or client([endpoint])
    if seen is None:
        seen = observe(ctl, endpoint)
    elif seen.started and not seen.asked:
        seen = replace_status(seen, ctl, endpoint)
    alarms, alarms_error = None, ""
    if seen.status is not None:
        try:
            alarms = ctl.alarm_list()
        except EtcdctlError as e:
            alarms_error = e.detail
    else:
        alarms_error = "this unit's member does not answer"
    cert_text = read_file(C.SERVER_CERT_PATH)
    not_after, cert_error = None, ""
    try:
        not_after = plugin.cert_not_after(cert_text) if cert_text else None
        cert_error = "" if cert_text else "no certificate placed yet"
    except ValueError as e:
        cert_error = str(e)
    record = nagios.status_record(
        now(),
        nagios.member_record(endpoint, seen.started, seen.reason, seen.status, seen.error),
        alarms,
        alarms_error,
        nagios.quota_bytes(read_file(C.CONF_PATH)),
        C.SERVER_CERT_PATH,
        not_after,
        cert_error,
    )
    write_file(path, json.dumps(record, sort_keys=True, indent=1) + "\n", 0o644)
    return record


def replace_status(seen: Seen, ctl: Etcdctl, endpoint: str) -> Seen:
    """A started member the hook did not ask: ask it now."""
    asked = observe(ctl, endpoint)
    return Seen(True, seen.reason, True, asked.status, asked.error)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nagios_collect", description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True, help="this unit's client URL (loopback)")
    p.add_argument("--status-file", default=plugin.STATUS_PATH)
    args = p.parse_args(argv)
    record = collect(args.endpoint, path=args.status_file)
    member = record["member"]
    state = "answers" if member.get("answered") else f"does not answer ({member.get('error')})"
    print(f"etcd on {args.endpoint} {state}; written to {args.status_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

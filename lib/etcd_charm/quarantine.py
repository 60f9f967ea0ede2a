"""Quarantine: no client writes while a restore (or ``recover-cluster``) rebuilds the cluster.

etcd-manager's way: while the cluster is rebuilt, etcd serves clients on other client URLs
than the ones clients know. Here:

* The restore action, when other units exist, first removes their members from the old
  cluster (a removed member stops serving: it exits, and comes back refused by its peers),
  then starts the restored member with its client URLs on the *quarantine port*
  (:func:`port`) and writes leader data ``quarantine`` (the restored cluster's token).
* While ``quarantine`` is set, every unit renders etcd's configuration with that port, for
  listening and advertising, and no insecure HTTP listener: a client that knows the
  cluster's URLs (``port``) is refused its connection, so nothing it writes lands in data
  about to be replaced, and nothing it writes is kept in a half-rebuilt cluster. The units
  reach each other on the quarantine port (their published ``client-url``, the member list).
* ``db`` and ``proxy`` clients are told nothing new meanwhile (:func:`withheld`): what they
  were told before the restore (the cluster's usual URLs) stays, so afterwards they work
  again without being touched.
* The leader lifts it (:func:`ready_to_lift`) once every unit of the application runs a
  voting member of the restored cluster and every voter answers a health check. Each unit's
  configuration then differs from the one it runs, so the usual restart grants move the
  members back to ``port``, one at a time.

Pure: the port a member serves on, read from its written configuration, is
:func:`context.serving_port`'s (with :func:`advertised_port`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from .etcd_json import MemberList
from .settings import INSECURE_HTTP_PORT, Settings
from .state import Observed, departing, unit_number

#: the quarantine port is the client port plus this (minus, when that is not a port)
OFFSET = 10000


def port(settings: Settings) -> int:
    """The client port while quarantined: ``port`` + 10000 (or - 10000), moved on past the
    ports the unit already uses (peers, metrics, the insecure HTTP listener)."""
    taken = {settings.port, settings.management_port, settings.metrics_port, INSECURE_HTTP_PORT}
    candidate = (
        settings.port + OFFSET if settings.port + OFFSET <= 65535 else settings.port - OFFSET
    )
    while candidate in taken or candidate < 1:
        candidate = candidate + 1 if candidate < 65535 else 1
    return candidate


def apply(settings: Settings, quarantine: str) -> Settings:
    """The settings etcd runs with while leader data ``quarantine`` is ``quarantine``
    (unchanged when it is empty)."""
    if not quarantine:
        return settings
    return replace(settings, quarantine_port=port(settings), bind_with_insecure_http=False)


_ADVERTISED = re.compile(r"^advertise-client-urls:\s*(\S+)", re.MULTILINE)


def advertised_port(conf_text: str) -> int:
    """The port of the first client URL an etcd.conf.yml advertises (0: none)."""
    m = _ADVERTISED.search(conf_text)
    return _port_of(m.group(1).split(",")[0]) if m else 0


def quarantined_urls(members: MemberList, settings: Settings) -> list[str]:
    """The voters' client URLs on the quarantine port."""
    qport = port(settings)
    return sorted(u for m in members.voters for u in m.client_urls if _port_of(u) == qport)


def _port_of(url: str) -> int:
    try:
        return urlsplit(url).port or 0
    except ValueError:
        return 0


def withheld(settings: Settings, quarantine: str, members: MemberList) -> bool:
    """Whether ``db`` and ``proxy`` clients are told nothing new: during the quarantine, and
    after it until no voter advertises the quarantine port any more (the members move back
    to ``port`` one restart at a time)."""
    return bool(quarantine) or bool(quarantined_urls(members, settings))


def waiting_for(obs: Observed) -> list[str]:
    """The units the quarantine still waits for: units of the application (Juju's goal
    state, else the peer relation) that run no voting member of the cluster, or whose member
    did not answer the health check."""
    members = obs.members
    units = (
        sorted((u for u, state in obs.app_units.items() if state != "dying"), key=unit_number)
        if obs.app_units is not None
        else [u.unit for u in obs.all_units()]
    )
    out = []
    for name in units:
        if departing(obs, name):
            continue
        unit = obs.unit(name)
        member = members.by_id(unit.member_id) if (members and unit and unit.member_id) else None
        if member is None or member.is_learner:
            out.append(name)
        elif obs.healthy is not None and member.id not in obs.healthy:
            out.append(name)
    return out


def ready_to_lift(obs: Observed) -> bool:
    """The leader lifts the quarantine: set, no learner joining, every unit's member a
    healthy voter."""
    return (
        bool(obs.leader.quarantine)
        and obs.members is not None
        and obs.leader.joining is None
        and obs.healthy is not None
        and not waiting_for(obs)
    )


def note(settings: Settings, obs: Observed) -> str:
    """What the status adds ("" when nothing): clients are refused until the restored
    cluster is whole, or are coming back as the members restart."""
    members = obs.members
    if obs.leader.quarantine:
        waiting = waiting_for(obs) if obs.members is not None else []
        until = f"until {', '.join(waiting)} rejoined" if waiting else "until every unit rejoined"
        return f"clients quarantined after a restore: port {settings.port} refused {until}"
    if members is not None and quarantined_urls(members, settings):
        return f"clients return to port {settings.port} as the members restart"
    return ""

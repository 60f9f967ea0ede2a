"""Taking over a cluster the snap-era etcd charm runs (charmed-kubernetes/layer-etcd,
revision 25 and later) when ``juju refresh`` replaces it by this charm: what it left on
each unit and in leader data, recognised and kept, and what of it must go. Pure.

The old charm's member on a unit (``etcd<N>``, added with ``member add``) keeps running
through the refresh: its data, member id and name stay, this charm only records it as the
member this unit runs (:func:`adoption`). The leader records that the cluster exists from
the old charm's leader keys (:func:`leader_record`), so that nothing ever founds a cluster
over it. A configuration that etcd would run the same way is written without a restart
(:func:`same_runtime`); any other change waits for the leader's restart grant, one unit at a
time. Certificates are asked for with what the old request had (:func:`server_sans`) and the
clients keep the credentials they hold (:func:`client_pair`).

==========================  =============  ================  ==============================
this unit's storage         old member     who answers       decision
==========================  =============  ================  ==============================
a member recorded           any            any               nothing (already this charm's)
none                        no conf/flags  any               nothing (a new unit)
none                        another name   any               Refuse (not this unit's member)
none                        this unit's    its own etcd      Adopt (its member id)
none                        this unit's    another member    Adopt (the member of its name)
none                        this unit's    another, no such  Refuse (removed from the cluster)
none                        this unit's    nobody            Wait (adopted once one answers)
==========================  =============  ================  ==============================
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .etcd_conf import Bootstrap
from .etcd_json import MemberList

#: the old charm's reactive flags of a unit whose member was configured (it bootstrapped the
#: cluster, or registered with ``member add``): only such a unit has a member to adopt
MEMBER_FLAGS = ("etcd.registered", "etcd.leader.configured")
#: its systemd drop-in (Restart=always, RestartSec=10): sorted after this charm's, it won
OLD_DROPIN = "/etc/systemd/system/snap.etcd.etcd.service.d/always-restart.conf"
#: layer:cdk-service-kicker: restarts the listed services that are down, for 10 minutes
#: after every boot (it would fight every planned stop)
KICKER = "cdk-service-kicker"
KICKER_SCRIPT = "/usr/bin/cdk-service-kicker"
KICKER_UNIT = "/etc/systemd/system/cdk-service-kicker.service"
#: root's etcdctl variables (``render_default_user_ssl_exports``); /root/.etcdctl-env has them
BASH_ALIASES = "/root/.bash_aliases"

#: keys etcd reads only when a member first starts (its data directory is empty)
BOOTSTRAP_ONLY = frozenset(
    {
        "initial-cluster",
        "initial-cluster-token",
        "initial-cluster-state",
        "initial-advertise-peer-urls",
        "discovery",
        "discovery-fallback",
        "discovery-proxy",
        "discovery-srv",
    }
)
#: etcd's own defaults (etcd 3.4 and 3.5, ``embed.NewConfig`` and the v2 proxy flags) of
#: keys the old charm's template sets and this charm's leaves out
ETCD_DEFAULTS: Mapping[str, Any] = {
    "cors": None,
    "proxy": "off",
    "proxy-failure-wait": 5000,
    "proxy-refresh-interval": 30000,
    "proxy-dial-timeout": 1000,
    "proxy-write-timeout": 5000,
    "proxy-read-timeout": 0,
    "tls-min-version": None,
}
#: keys holding comma-separated URL lists (the order does not matter to etcd)
URL_LISTS = frozenset({"listen-peer-urls", "listen-client-urls", "advertise-client-urls"})


def parse_conf(text: str) -> dict[str, Any]:
    """etcd.conf.yml as etcd reads it ({} when it is no YAML mapping)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _urls(value: Any) -> tuple[str, ...]:
    return tuple(u.strip() for u in str(value or "").split(",") if u.strip())


@dataclass(frozen=True)
class OldMember:
    """The member the old charm configured on this unit (from its etcd.conf.yml)."""

    name: str
    data_dir: str
    initial_cluster: str
    token: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]

    @classmethod
    def from_conf(cls, conf: Mapping[str, Any]) -> OldMember | None:
        name = str(conf.get("name") or "")
        if not name:
            return None
        token = str(conf.get("initial-cluster-token") or "")
        return cls(
            name=name,
            data_dir=str(conf.get("data-dir") or ""),
            initial_cluster=str(conf.get("initial-cluster") or ""),
            # rendered before the leader had set one: Jinja's 'None'
            token="" if token == "None" else token,
            peer_urls=_urls(conf.get("initial-advertise-peer-urls")),
            client_urls=_urls(conf.get("advertise-client-urls")),
        )

    def bootstrap(self, leader_token: str) -> Bootstrap:
        """What this charm records as the member's first start: the old values, state
        ``existing`` (the member has data: etcd reads none of them again)."""
        return Bootstrap(
            initial_cluster=self.initial_cluster,
            token=self.token or leader_token,
            state="existing",
        )


def had_member(flags: Collection[str]) -> bool:
    """Whether the old charm configured a member on this unit (its reactive flags)."""
    return any(f in flags for f in MEMBER_FLAGS)


@dataclass(frozen=True)
class Adopt:
    """Record the running member as this unit's: ``member_id``, first started as
    ``bootstrap``."""

    member_id: int
    bootstrap: Bootstrap


@dataclass(frozen=True)
class Hold:
    """Adopt later: nothing answers to say which member is this unit's."""

    reason: str


@dataclass(frozen=True)
class Refuse:
    """The old member cannot be this unit's: say why and change nothing."""

    reason: str


Adoption = Adopt | Hold | Refuse | None


def adoption(
    old: OldMember | None,
    member_name: str,
    leader_token: str,
    local_member_id: int | None,
    members: MemberList | None,
) -> Adoption:
    """What to do with the old charm's member on a unit this charm has no member recorded
    for (see the module's table). ``local_member_id``: the id this unit's own etcd answers
    with (None: it does not answer); ``members``: the member list from any member."""
    if old is None:
        return None
    if old.name != member_name:
        return Refuse(
            f"etcd.conf.yml configures member {old.name!r}, and this unit's member is "
            f"{member_name!r}: it is no member of this unit to take over"
        )
    bootstrap = old.bootstrap(leader_token)
    if local_member_id is not None:
        if members is not None:
            mine = members.by_id(local_member_id)
            if mine is not None and mine.name and mine.name != member_name:
                return Refuse(
                    f"this unit's etcd answers as member {mine.name!r} ({local_member_id:x}), "
                    f"not {member_name!r}"
                )
        return Adopt(local_member_id, bootstrap)
    if members is None:
        return Hold(
            f"no member of the cluster answers: this unit's member {member_name} is taken "
            "over once one does"
        )
    mine = members.by_name(member_name)
    if mine is None:
        for url in old.peer_urls:
            mine = mine or members.by_peer_url(url)
    if mine is None:
        return Refuse(
            f"the cluster has no member {member_name} any more (removed while this unit was "
            "down?): remove this unit and add a new one to join again"
        )
    return Adopt(mine.id, bootstrap)


def leader_record(leader: Mapping[str, str | None]) -> dict[str, str]:
    """The leader data that says the old charm's cluster exists: ``bootstrapped`` (the
    member the old leader founded it with, first in its ``cluster`` key) when the old
    charm's ``cluster`` and ``token`` are there and this charm has recorded nothing ({}
    otherwise). The old leader set ``cluster`` only once its member ran."""
    if leader.get("bootstrapped"):
        return {}
    cluster, token = str(leader.get("cluster") or ""), str(leader.get("token") or "")
    if not cluster or not token:
        return {}
    first = cluster.split(",", 1)[0].split("=", 1)[0].strip()
    return {"bootstrapped": first} if first else {}


def _runtime(conf: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in conf.items():
        if key in BOOTSTRAP_ONLY:
            continue
        if key in ETCD_DEFAULTS and value in (ETCD_DEFAULTS[key], "", None):
            continue
        out[key] = tuple(sorted(_urls(value))) if key in URL_LISTS else value
    return out


def same_runtime(old_text: str, new_text: str) -> bool:
    """Whether etcd, already running with data, runs the same with ``new_text`` as with
    ``old_text``: equal but for keys read only at the first start and keys set to etcd's own
    default. False when either is no configuration."""
    old, new = parse_conf(old_text), parse_conf(new_text)
    return bool(old) and bool(new) and _runtime(old) == _runtime(new)


#: names this charm asks for that it never connects by (it talks to its own member at
#: 127.0.0.1): a request without them still serves
OPTIONAL_SANS = frozenset({"localhost"})


def server_sans(needed: Sequence[str], requested: Any) -> list[str]:
    """The SANs to ask for: the request already on the relation when it covers every name
    this unit connects by (the old charm's held every address of every peer, and no
    ``localhost``; asking for anything else would make the CA reissue, and etcd restart, for
    nothing), else what is needed."""
    if isinstance(requested, list) and all(isinstance(s, str) for s in requested):
        if set(needed) - OPTIONAL_SANS <= set(requested):
            return list(requested)
    return list(needed)


PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----")


def first_cert(text: str) -> str:
    """The first PEM certificate of ``text``, whitespace removed ("" when none)."""
    m = PEM_CERT.search(text or "")
    return "".join(m.group().split()) if m else ""


def client_pair(
    shared: tuple[str, str] | None, own: tuple[str, str] | None, placed: str
) -> tuple[str, str] | None:
    """The client certificate this unit uses and hands to ``db`` and ``proxy`` clients:
    the one already placed when it is still offered (the clients hold it: nothing to
    reconfigure), else the CA's shared one (``client.cert``: what the old charm handed out),
    else this unit's own (CN ``etcd-client``). None while neither has arrived."""
    placed_cert = first_cert(placed)
    for pair in (shared, own):
        if pair is not None and placed_cert and first_cert(pair[0]) == placed_cert:
            return pair
    return shared or own


def with_chain(cert: str, chain: str) -> str:
    """A certificate followed by the CA's ``chain`` (Vault's intermediates), as
    layer:tls-client writes it; the certificate alone without one."""
    return f"{cert}\n{chain}" if chain else cert


def kicker_services(script: str) -> tuple[str, ...] | None:
    """The services cdk-service-kicker restarts (its ``services="..."`` line); None when
    the script has none (it is not layer:cdk-service-kicker's)."""
    m = re.search(r'^services="([^"]*)"', script, re.MULTILINE)
    return tuple(m.group(1).split()) if m else None


def kicker_without(script: str, service: str) -> str | None:
    """The kicker script without ``service`` in its list; None when nothing else is left
    in it (the kicker goes), ``script`` itself when it does not list ``service``."""
    services = kicker_services(script)
    if services is None or service not in services:
        return script
    rest = [s for s in services if s != service]
    if not rest:
        return None
    return re.sub(
        r'^services="[^"]*"', f'services="{" ".join(rest)}"', script, count=1, flags=re.M
    )


def aliases_without(text: str, paths: Collection[str]) -> str:
    """``/root/.bash_aliases`` without the old charm's etcdctl exports (``export
    ETCDCTL_*=<one of paths>`` lines); the operator's own lines stay."""
    kept = []
    for line in text.splitlines(keepends=True):
        m = re.match(r"^\s*export\s+(ETCDCTL_[A-Z_]+)=(\S+)\s*$", line)
        if m and m.group(2) in paths:
            continue
        kept.append(line)
    return "".join(kept)

#!/usr/bin/python3
"""Hook entry point of the etcd-snap-era test fixture (run by ../dispatch). NOT FOR PRODUCTION.

It stands for the snap-era etcd charm (charmed-kubernetes/layer-etcd, revision 25 and later;
read at its master 233f62a, 2025-04-23) and leaves on each unit what that reactive charm and
its layers leave (README.md lists each item with its source). Every hook but stop and remove
runs the whole reconciliation, in the order in which the real charm's handlers act:

1. layer:snap: ``snap install core``, then ``snap install --channel=3.4/stable etcd`` (the
   ``channel: auto`` default) - each from its attached resource (``--dangerous``) when one is
   attached and not empty; snapd's ``refresh.timer`` from ``snapd_refresh`` (``max``: a
   weekday and occurrence a month ahead), then ``systemctl restart snapd.service``.
2. The leader's cluster token (6 characters), the ``always-restart.conf`` drop-in of
   snap.etcd.etcd, ``/root/.bash_aliases``, the cdk-service-kicker service (enabled, not
   started) and a first ``etcd.conf.yml``.
3. layer:tls-client: the server certificate request, then the CA, the server certificate and
   the CA's shared ``client`` certificate written to /var/snap/etcd/common (0440, directory
   0770) and the CA installed in the system's trust store.
4. The leader bootstraps a one-member cluster (``initial-cluster-state: new``) and publishes
   ``leader_address`` and ``cluster``; each other unit registers itself with the leader's
   member through the v2 API (``etcdctl member add``, its server certificate as client
   certificate), renders ``initial-cluster-state: existing`` and starts.
5. ``db-ingress-address`` on the peer relation; ``db`` and ``proxy`` data as interface-etcd and
   interface-etcd-proxy publish them; the application version; the status.
6. The reactive flags and unit data the real charm keeps in ``$CHARM_DIR/.unit-state.db``.

No key material is ever logged.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hooktools as ht  # noqa: E402

APP_SERVICE = "snap.etcd.etcd"
SNAP_COMMON = Path("/var/snap/etcd/common")
CONF_PATH = SNAP_COMMON / "etcd.conf.yml"
CA_PATH = SNAP_COMMON / "ca.crt"
SERVER_CERT_PATH = SNAP_COMMON / "server.crt"
SERVER_KEY_PATH = SNAP_COMMON / "server.key"
CLIENT_CERT_PATH = SNAP_COMMON / "client.crt"
CLIENT_KEY_PATH = SNAP_COMMON / "client.key"
DATA_DIR = "/var/snap/etcd/current"
ETCDCTL = "/snap/bin/etcd.etcdctl"
DROPIN_PATH = Path(f"/etc/systemd/system/{APP_SERVICE}.service.d/always-restart.conf")
KICKER_PATH = Path("/usr/bin/cdk-service-kicker")
KICKER_UNIT_PATH = Path("/etc/systemd/system/cdk-service-kicker.service")
BASH_ALIASES = Path("/root/.bash_aliases")
CA_TRUST_DIR = Path("/usr/local/share/ca-certificates")
AUTO_CHANNEL = "3.4/stable"  # reactive/etcd.py get_target_etcd_channel()

CERTIFICATES = "certificates"
PEERS = "cluster"
DB = "db"
PROXY = "proxy"

UNIT_STATE_DB = ".unit-state.db"
#: the fixture's own bookkeeping (what charmhelpers keeps in .juju-persistent-config and the
#: data_changed hashes): outside .unit-state.db, which holds only what the real charm keeps
FIXTURE_STATE = ".snap-era-fixture.json"

REGISTER_DEADLINE = 30.0
REGISTER_POLL = 2.0

#: the default cipher suites of the real charm's templates/etcd3.conf
DEFAULT_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
)

#: templates/service-always-restart.systemd-latest.conf (systemd 230 and later)
ALWAYS_RESTART = "[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nRestartSec=10\n"
#: templates/service-always-restart.systemd-229.conf (xenial's systemd)
ALWAYS_RESTART_229 = "[Unit]\nStartLimitInterval=0\n\n[Service]\nRestartSec=10\n"


class CommandError(RuntimeError):
    """A command exited non-zero; the message quotes its stderr (never its input)."""


# ---------------------------------------------------------------------------------------------
# Pure helpers


def member_name(unit: str) -> str:
    """The member name: the unit name without "/" (etcd/0 -> etcd0)."""
    return unit.replace("/", "")


def build_uri(scheme: str, address: str, port: int | str) -> str:
    """``scheme://address:port``, an IPv6 address in brackets (lib/etcd_lib.py build_uri)."""
    try:
        if ip_address(address).version == 6:
            address = f"[{address}]"
    except ValueError:
        pass
    return f"{scheme}://{address}:{port}"


def connection_string(addresses: Iterable[str], port: int | str) -> str:
    """lib/etcdctl.py get_connection_string (https)."""
    return ",".join(build_uri("https", a, port) for a in addresses)


def first_address(addresses: Sequence[str]) -> str:
    """lib/etcd_lib.py get_ingress_address: IPv4 before IPv6, else in the given order."""
    return sorted(addresses, key=lambda a: ip_address(a).version)[0]


def refresh_timer(value: str, now: datetime) -> str:
    """layer:snap set_refresh_timer: "max" is yesterday's weekday and its occurrence in the
    month ("thu2"), the farthest a monthly timer may be; anything else is used as given."""
    if value != "max":
        return value
    yesterday = now - timedelta(days=1)
    return f"{yesterday.strftime('%a').lower()}{yesterday.day // 7 + 1}"


def snapshot_count(value: str, channel: str) -> int:
    """lib/etcd_lib.py get_snapshot_count."""
    if value == "auto":
        track = channel.split("/")[0]
        if channel == "auto" or _version(track) >= (3, 2):
            return 100000
        return 10000
    return int(value)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def token() -> str:
    """EtcdDatabag.id_generator: 6 upper-case letters and digits."""
    return "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(6))


@dataclass(frozen=True)
class ConfFields:
    """The template fields of templates/etcd3.conf (EtcdDatabag's attributes)."""

    unit_name: str
    cluster_bind_address: str
    cluster_address: str
    db_address: str
    db_bind_address: str
    port: int
    management_port: int
    heartbeat_interval: int
    election_timeout: int
    snapshot_count: int
    cluster: str
    token: str | None
    cluster_state: str
    bind_with_insecure_http: bool
    tls_cipher_suites: str
    etcd_data_dir: str = DATA_DIR


def render_conf(f: ConfFields) -> str:
    """etcd.conf.yml with the real charm's keys and values (templates/etcd3.conf): the same
    YAML document once parsed. No trailing newline (Jinja drops the template's)."""
    listen_client = [build_uri("https", f.db_bind_address, f.port)]
    if f.bind_with_insecure_http:
        listen_client.insert(0, build_uri("http", "127.0.0.1", 4001))
    advertise = [build_uri("https", f.db_address, f.port)]
    ciphers = f.tls_cipher_suites or DEFAULT_CIPHER_SUITES
    security = (
        f"  cert-file: {SERVER_CERT_PATH}\n"
        f"  key-file:  {SERVER_KEY_PATH}\n"
        "  client-cert-auth: true\n"
        f"  trusted-ca-file: {CA_PATH}\n"
        "  auto-tls: false\n"
    )
    lines = [
        "# etcd.conf.yml of the etcd-snap-era test fixture: the keys and values that",
        "# layer-etcd's templates/etcd3.conf renders.",
        f"name: {f.unit_name}",
        "enable-v2: true",
        f"data-dir: {f.etcd_data_dir}",
        f"snapshot-count: {f.snapshot_count}",
        f"heartbeat-interval: {f.heartbeat_interval}",
        f"election-timeout:  {f.election_timeout}",
        "quota-backend-bytes: 0",
        f"listen-peer-urls: {build_uri('https', f.cluster_bind_address, f.management_port)}",
        f"listen-client-urls: {','.join(listen_client)}",
        "max-snapshots: 5",
        "max-wals: 5",
        "cors: ",
        "initial-advertise-peer-urls: " + build_uri("https", f.cluster_address, f.management_port),
        f"advertise-client-urls: {','.join(advertise)}",
        "discovery: ",
        "discovery-fallback: 'proxy'",
        "discovery-proxy: ",
        "discovery-srv: ",
        f"initial-cluster: {f.cluster}",
        f"initial-cluster-token: '{f.token}'",
        f"initial-cluster-state: {f.cluster_state}",
        "strict-reconfig-check: true",
        "proxy: 'off'",
        "proxy-failure-wait: 5000",
        "proxy-refresh-interval: 30000",
        "proxy-dial-timeout: 1000",
        "proxy-write-timeout: 5000",
        "proxy-read-timeout: 0",
        "client-transport-security: ",
        security + "peer-transport-security: ",
        security + f"cipher-suites: [{ciphers}]",
        "debug: false",
        "force-new-cluster: false",
    ]
    return "\n".join(lines)


def bash_aliases(version: str) -> str | None:
    """render_default_user_ssl_exports: etcdctl's TLS variables for root (v3 names from 3.3
    on, as its ``major >= 3 and minor >= 3`` test decides). None without a version."""
    parts = version.split(".")
    if len(parts) != 3:
        return None
    major, minor = int(parts[0]), int(parts[1])
    if major >= 3 and minor >= 3:
        names = ("ETCDCTL_KEY", "ETCDCTL_CERT", "ETCDCTL_CACERT")
    else:
        names = ("ETCDCTL_KEY_FILE", "ETCDCTL_CERT_FILE", "ETCDCTL_CA_FILE")
    paths = (CLIENT_KEY_PATH, CLIENT_CERT_PATH, CA_PATH)
    return "".join(f"export {n}={p}\n" for n, p in zip(names, paths, strict=True))


def kicker_script(services: Sequence[str]) -> str:
    """/usr/bin/cdk-service-kicker (layer:cdk-service-kicker): for 10 minutes after boot,
    restart each listed service that is not active, every 10 seconds."""
    return (
        "#!/bin/sh\n"
        "# cdk-service-kicker (etcd-snap-era test fixture): restart the charm's services that\n"
        "# are not active, every 10 s for 10 minutes after boot.\n"
        "set -eu\n"
        f'services="{" ".join(services)}"\n'
        'deadline="$(expr "$(date +%s)" + 600)"\n'
        'while [ "$(date +%s)" -lt "$deadline" ]; do\n'
        "  for service in $services; do\n"
        '    if ! systemctl is-active "$service"; then\n'
        '      systemctl restart "$service" || true\n'
        "    fi\n"
        "  done\n"
        "  sleep 10\n"
        "done"
    )


KICKER_UNIT = (
    "[Unit]\n"
    "Description=cdk-service-kicker\n"
    "\n"
    "[Service]\n"
    "ExecStart=/usr/bin/cdk-service-kicker\n"
    "Restart=on-failure\n"
    "Type=simple\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target"
)


def parse_member_list_v2(out: str) -> dict[str, dict[str, str]]:
    """``etcdctl member list`` (v2 API) as lib/etcdctl.py EtcdCtl.member_list keys it: by
    name (``unit_id``, ``name``, ``peer_urls``, ``client_urls``); an unstarted member under
    ``"unstarted"`` (``unit_id``, ``peer_urls``)."""
    members: dict[str, dict[str, str]] = {}
    for line in out.strip("\n").split("\n"):
        if not line.strip():
            continue
        head, _, rest = line.partition(": ")
        fields = dict(w.split("=", 1) for w in rest.split() if "=" in w)
        if "[unstarted]" in head:
            entry = {"unit_id": head.split("[")[0]}
            if "peerURLs" in fields:
                entry["peer_urls"] = fields["peerURLs"]
            members["unstarted"] = entry
            continue
        name = fields.get("name", "")
        members[name] = {
            "unit_id": head,
            "name": name,
            "peer_urls": fields.get("peerURLs", ""),
            "client_urls": fields.get("clientURLs", ""),
        }
    return members


def parse_member_add_v2(out: str) -> str:
    """The ``ETCD_INITIAL_CLUSTER`` that ``etcdctl member add`` (v2 API) prints ("" if none)."""
    for line in out.split("\n"):
        if "ETCD_INITIAL_CLUSTER=" in line:
            return line.split('="')[-1].rstrip('"')
    return ""


def health_status(health_line: str | None, peers: int | None) -> tuple[str, str]:
    """check_cluster_health: the last line of ``cluster-health`` (None: it failed) and the
    member count (None: ``member list`` failed)."""
    label = "Healthy"
    if health_line is None or "unhealthy" in health_line:
        label = "UnHealthy"
    count = 0
    if peers is None:
        label = "Errored"
    else:
        count = peers
    message = f"{label} with {count} known peer{'s' if count != 1 else ''}"
    return ("blocked" if label in ("UnHealthy", "Errored") else "active"), message


@dataclass
class StatusRecorder:
    """layer:status: the worst status recorded in the hook is set when it ends (blocked, then
    waiting, then active), the last one of its kind; none recorded: the status is left."""

    recorded: dict[str, list[str]] = field(default_factory=dict)

    def record(self, state: str, message: str) -> None:
        self.recorded.setdefault(state, []).append(message)

    def final(self) -> tuple[str, str] | None:
        for state in ("blocked", "waiting", "active"):
            if self.recorded.get(state):
                return state, self.recorded[state][-1]
        return None


def certificate_request(
    unit: str, common_name: str, sans: Iterable[str], published_name: str = ""
) -> dict[str, str]:
    """What prepare_tls_certificates publishes through interface-tls-certificates' requires
    side (the first request goes in the top-level keys; ``sans`` is JSON, the others raw)."""
    key = unit.replace("/", "_")
    return {
        "unit_name": key,
        "common_name": common_name,
        "sans": json.dumps(sorted(set(sans))),
        "certificate_name": published_name or key,
    }


# ---------------------------------------------------------------------------------------------
# The unit state database (charmhelpers.core.unitdata: sqlite, table kv, JSON values)

FLAG_PREFIX = "reactive.states."
LEADER_PREFIX = "leadership.settings."
#: EtcdDatabag's unit data keys
CLUSTER_KEY = "etcd.cluster"
CLUSTER_STATE_KEY = "etcd.cluster-state"
UNIT_STATE_SCHEMA = (
    "create table if not exists kv (key text, data text, primary key (key))",
    "create table if not exists kv_revisions (key text, revision integer, data text, "
    "primary key (key, revision))",
    "create table if not exists hooks (version integer primary key autoincrement, hook text, "
    "date text)",
)


@dataclass
class UnitState:
    flags: set[str]
    values: dict[str, Any]  # keys other than flags that the fixture owns

    @classmethod
    def load(cls, path: Path) -> UnitState:
        if not path.exists():
            return cls(set(), {})
        conn = sqlite3.connect(str(path))
        try:
            for statement in UNIT_STATE_SCHEMA:
                conn.execute(statement)
            flags: set[str] = set()
            values: dict[str, Any] = {}
            for key, data in conn.execute("select key, data from kv"):
                if key.startswith(FLAG_PREFIX):
                    flags.add(key[len(FLAG_PREFIX) :])
                elif key.startswith(LEADER_PREFIX) or key in (CLUSTER_KEY, CLUSTER_STATE_KEY):
                    values[key] = json.loads(data)
            return cls(flags, values)
        finally:
            conn.close()

    def save(self, path: Path) -> None:
        new = not path.exists()
        conn = sqlite3.connect(str(path))
        try:
            if new:
                os.chmod(path, 0o600)  # as charmhelpers makes it
            for statement in UNIT_STATE_SCHEMA:
                conn.execute(statement)
            owned = [
                key
                for (key,) in conn.execute("select key from kv")
                if key.startswith((FLAG_PREFIX, LEADER_PREFIX))
                or key in (CLUSTER_KEY, CLUSTER_STATE_KEY)
            ]
            wanted = {FLAG_PREFIX + f: None for f in self.flags}
            wanted.update(self.values)
            for key in owned:
                if key not in wanted:
                    conn.execute("delete from kv where key=?", [key])
            for key, value in sorted(wanted.items()):
                conn.execute(
                    "insert or replace into kv (key, data) values (?, ?)",
                    [key, json.dumps(value)],
                )
            conn.commit()
        finally:
            conn.close()

    def toggle(self, flag: str, on: object) -> None:
        if on:
            self.flags.add(flag)
        else:
            self.flags.discard(flag)


# ---------------------------------------------------------------------------------------------
# Commands and files


def command(
    argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 300
) -> str:
    """Run a command; its stdout, or CommandError with its stderr."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=full_env,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''}: timed out") from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip() or "no error text")[-2000:]
        raise CommandError(f"{' '.join(argv[:3])} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def write_file(path: Path, content: str, mode: int) -> bool:
    """Atomically write ``content`` (root-owned) with ``mode`` unless it is there already;
    True when anything changed."""
    try:
        if path.read_text() == content and path.stat().st_mode & 0o777 == mode:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as stream:
            stream.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def snap_installed(name: str) -> bool:
    proc = subprocess.run(["snap", "list", name], capture_output=True, text=True, check=False)
    return proc.returncode == 0


def resource_path(name: str) -> str | None:
    """layer:snap _resource_get: the attached resource, unless missing or empty."""
    try:
        path = ht.run(["resource-get", name]).strip()
    except ht.HookToolError:
        return None
    if path and os.path.isfile(path) and os.path.getsize(path) > 0:
        return path
    return None


def snap_install(name: str, channel: str) -> bool:
    """layer:snap snap.install: the resource (``--dangerous``) or the store. True when the
    resource was used (the ``snap.local.<name>`` flag)."""
    argv = ["snap", "install", f"--channel={channel}"]
    local = resource_path(name)
    if local:
        ht.log(f"Installing {local} from local resource")
        command([*argv, "--dangerous", local])
        return True
    ht.log(f"Installing {name} from store")
    command([*argv, name])
    return False


def snap_get_timer() -> str:
    try:
        return command(["snap", "get", "core", "refresh.timer"]).strip()
    except CommandError:
        return ""


def set_refresh_timer(value: str) -> None:
    timer = refresh_timer(value, datetime.now())
    ht.log(f"Set config refresh.timer={timer} for snap core")
    command(["snap", "set", "core", f"refresh.timer={timer}"])
    command(["systemctl", "restart", "snapd.service"])


def etcd_version() -> str:
    """etcd_version() of the real charm: ``etcdctl version`` (v3), else "n/a"."""
    try:
        out = command([ETCDCTL, "version"], env={"ETCDCTL_API": "3"}, timeout=60)
    except CommandError:
        return "n/a"
    for line in out.splitlines():
        if "etcdctl version" in line:
            return line.split()[-1]
    return "n/a"


def etcdctl_v2(args: Sequence[str], endpoint: str | None = None, timeout: float = 60) -> str:
    """lib/etcdctl.py EtcdCtl.run(api=2): the server certificate as client certificate,
    ``https://127.0.0.1:2379`` unless an endpoint is given."""
    env = {
        "ETCDCTL_API": "2",
        "ETCDCTL_CA_FILE": str(CA_PATH),
        "ETCDCTL_CERT_FILE": str(SERVER_CERT_PATH),
        "ETCDCTL_KEY_FILE": str(SERVER_KEY_PATH),
    }
    argv = [ETCDCTL, "--endpoint", endpoint or "https://127.0.0.1:2379", *args]
    return command(argv, env=env, timeout=timeout)


def restart_etcd() -> None:
    command(["systemctl", "restart", APP_SERVICE])


# ---------------------------------------------------------------------------------------------
# Network (charmhelpers' network-get, as lib/etcd_lib.py reads it)


def network(endpoint: str) -> dict[str, Any]:
    try:
        data = ht.run_json(["network-get", endpoint, "--format=json"])
        return dict(data or {})
    except (ht.HookToolError, ValueError):
        return {}


def private_address() -> str:
    return str(ht.run_json(["unit-get", "--format=json", "private-address"]) or "")


def ingress_addresses(endpoint: str) -> list[str]:
    found = [str(a) for a in network(endpoint).get("ingress-addresses") or []]
    return found or [private_address()]


def ingress_address(endpoint: str) -> str:
    return first_address(ingress_addresses(endpoint))


def bind_address(endpoint: str, all_interfaces: bool) -> str:
    """EtcdDatabag.get_bind_address: 0.0.0.0, or the endpoint's first bind address."""
    if all_interfaces:
        return "0.0.0.0"
    addresses = [
        str(a["address"])
        for ifc in network(endpoint).get("bind-addresses") or []
        for a in ifc.get("addresses") or []
        if a.get("address")
    ]
    return first_address(addresses) if addresses else private_address()


# ---------------------------------------------------------------------------------------------
# The hook


@dataclass
class Hook:
    hook: str
    unit: str
    config: dict[str, Any]
    state: UnitState
    fixture: dict[str, Any]
    leader: bool
    settings: dict[str, str]
    status: StatusRecorder = field(default_factory=StatusRecorder)
    peer_rid: str | None = None
    peers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def flags(self) -> set[str]:
        return self.state.flags

    def leader_set(self, values: Mapping[str, str]) -> None:
        """layer:leadership leader_set: the leadership.set/changed flags and kv at once."""
        for key, value in values.items():
            if value != self.settings.get(key):
                self.flags.add(f"leadership.changed.{key}")
            self.flags.add(f"leadership.set.{key}")
            self.settings[key] = value
            self.state.values[LEADER_PREFIX + key] = value
        ht.leader_set(dict(values))

    def conf_fields(self) -> ConfFields:
        cfg = self.config
        all_ifaces = bool(cfg.get("bind_to_all_interfaces", True))
        return ConfFields(
            unit_name=member_name(self.unit),
            cluster_bind_address=bind_address(PEERS, all_ifaces),
            cluster_address=ingress_address(PEERS),
            db_address=ingress_address(DB),
            db_bind_address=bind_address(DB, all_ifaces),
            port=int(cfg.get("port", 2379)),
            management_port=int(cfg.get("management_port", 2380)),
            heartbeat_interval=int(cfg.get("heartbeat_interval", 100)),
            election_timeout=int(cfg.get("election_timeout", 1000)),
            snapshot_count=snapshot_count(
                str(cfg.get("snapshot_count", "auto")), str(cfg.get("channel", "auto"))
            ),
            cluster=str(self.state.values.get(CLUSTER_KEY) or ""),
            token=self.settings.get("token") or None,
            cluster_state=str(self.state.values.get(CLUSTER_STATE_KEY) or "existing"),
            bind_with_insecure_http=bool(cfg.get("bind_with_insecure_http", False)),
            tls_cipher_suites=str(cfg.get("tls_cipher_suites", "")),
        )

    def render_config(self) -> None:
        """render_config: templating's render (root, 0444)."""
        if write_file(CONF_PATH, render_conf(self.conf_fields()), 0o444):
            ht.log(f"Rendered {CONF_PATH}")


def start_leadership(h: Hook, previous: Mapping[str, Any]) -> None:
    """layer:leadership initialize_leadership_state."""
    h.state.toggle("leadership.is_leader", h.leader)
    current: dict[str, str | None] = dict(h.settings)
    for key in previous:
        current.setdefault(key, None)
    for key, value in current.items():
        h.state.toggle(f"leadership.changed.{key}", value != previous.get(key))
        h.state.toggle(f"leadership.set.{key}", value is not None)
        if value is None:
            h.state.values.pop(LEADER_PREFIX + key, None)
        else:
            h.state.values[LEADER_PREFIX + key] = value


def relation_flags(h: Hook) -> None:
    """The interfaces' flags: tls-certificates (an Endpoint), etcd and etcd-proxy
    (RelationBase: db.connected, proxy.connected, cluster.joined, cluster.departing)."""
    peer_ids = ht.relation_ids(PEERS)
    h.peer_rid = peer_ids[0] if peer_ids else None
    if h.peer_rid is not None:
        for unit in ht.relation_list(h.peer_rid):
            h.peers[unit] = ht.relation_get(h.peer_rid, unit)
    departing = h.hook == f"{PEERS}-relation-departed"
    if departing:
        h.flags.add(f"{PEERS}.departing")
    h.state.toggle(f"{PEERS}.joined", bool(h.peers))
    h.state.toggle(f"{DB}.connected", any(u for _r, u in ht.live_relations(DB)))
    h.state.toggle(f"{PROXY}.connected", any(u for _r, u in ht.live_relations(PROXY)))

    joined = any(u for _r, u in ht.live_relations(CERTIFICATES))
    h.state.toggle("endpoint.certificates.joined", joined)
    if h.hook == "certificates-relation-departed":
        h.flags.add("endpoint.certificates.departed")
    elif joined:
        h.flags.discard("endpoint.certificates.departed")


def install(h: Hook) -> None:
    """snap_install (on config.changed.channel) and layer:snap's refresh timer."""
    if not snap_installed("etcd") and "etcd.installed" not in h.flags:
        channel = str(h.config.get("channel") or "auto")
        target = AUTO_CHANNEL if channel == "auto" else channel
        h.state.toggle("snap.local.core", snap_install("core", "stable"))
        h.flags.add("snap.installed.core")
        h.state.toggle("snap.local.etcd", snap_install("etcd", target))
        h.flags.add("snap.installed.etcd")
        h.flags.add("etcd.rerender-config")
    if snap_installed("core"):
        h.flags.add("snap.installed.core")
    if snap_installed("etcd"):
        h.flags.add("snap.installed.etcd")

    # layer:snap change_snapd_refresh (snap.refresh.set is cleared when snapd_refresh changes)
    timer = str(h.config.get("snapd_refresh") or "")
    if h.fixture.get("snapd_refresh") != timer:
        h.flags.discard("snap.refresh.set")
    if "snap.installed.core" in h.flags and "snap.refresh.set" not in h.flags:
        if timer or "snap.refresh.was-set" in h.flags:
            set_refresh_timer(timer)
        h.state.toggle("snap.refresh.was-set", timer)
        h.flags.add("snap.refresh.set")
        h.fixture["snapd_refresh"] = timer


def host_leftovers(h: Hook) -> None:
    """The always-restart drop-in, root's etcdctl variables, cdk-service-kicker."""
    if "snap.installed.etcd" in h.flags and "etcd.service-restart.configured" not in h.flags:
        content = ALWAYS_RESTART
        try:
            words = command(["systemd", "--version"]).splitlines()[0].split()
            if words[0] == "systemd" and int(words[1]) < 230:
                content = ALWAYS_RESTART_229
        except (CommandError, IndexError, ValueError) as exc:
            ht.log(f"Failed to detect systemd version, using latest template: {exc}", "ERROR")
        DROPIN_PATH.parent.mkdir(parents=True, exist_ok=True)
        write_file(DROPIN_PATH, content, 0o644)
        command(["systemctl", "daemon-reload"])
        restart_etcd()
        h.flags.add("etcd.service-restart.configured")

    if "snap.installed.etcd" in h.flags and "etcd.ssl.exported" not in h.flags:
        aliases = bash_aliases(etcd_version())
        if aliases is None:
            ht.log("Unable to determine version format for etcd SSL config", "ERROR")
        else:
            write_file(BASH_ALIASES, aliases, 0o644)
            h.flags.add("etcd.ssl.exported")

    if "cdk-service-kicker.installed" not in h.flags:
        write_file(KICKER_PATH, kicker_script([APP_SERVICE]), 0o775)
        write_file(KICKER_UNIT_PATH, KICKER_UNIT, 0o444)
        command(["systemctl", "enable", "cdk-service-kicker"])
        h.flags.add("cdk-service-kicker.installed")


# ---------------------------------------------------------------------------------------------
# Certificates (layer:tls-client over interface-tls-certificates' requires side)


@dataclass(frozen=True)
class Received:
    ca: str | None
    server: tuple[str, str] | None
    client: tuple[str, str] | None


def received(rid: str, unit: str) -> Received:
    key = unit.replace("/", "_")
    ca = server = client = None
    for remote in ht.relation_list(rid):
        data = ht.relation_get(rid, remote)
        ca = ca or data.get("ca") or None
        if not server and data.get(f"{key}.server.cert") and data.get(f"{key}.server.key"):
            server = (data[f"{key}.server.cert"], data[f"{key}.server.key"])
        if not client and data.get("client.cert") and data.get("client.key"):
            client = (data["client.cert"], data["client.key"])
    return Received(ca, server, client)


def endpoint_changed_flags(h: Hook, rid: str) -> None:
    """charms.reactive Endpoint: ``endpoint.certificates.changed[.<key>]`` for every key a
    remote unit published (never cleared by this interface)."""
    for remote in ht.relation_list(rid):
        keys = ht.relation_get(rid, remote).keys()
        if keys:
            h.flags.add("endpoint.certificates.changed")
        h.flags.update(f"endpoint.certificates.changed.{k}" for k in keys)


def place(path: Path, text: str) -> bool:
    """tls_client._write_file: 0440, the directory 0770; True when written."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o770)
    write_file(path, text, 0o440)
    ht.log(f"Wrote {path}")
    return True


def certificates(h: Hook) -> bool:
    """Request, receive and place; True when a certificate changed (tls_update)."""
    relations = [rid for rid, units in ht.live_relations(CERTIFICATES) if units]
    tls_flags = (
        "certificates.available",
        "certificates.ca.available",
        "certificates.server.certs.available",
        "certificates.certs.available",
        "certificates.server.cert.available",
        "certificates.client.cert.available",
        "certificates.batch.cert.available",
    )
    if not relations:
        for flag in tls_flags:
            h.flags.discard(flag)
        h.status.record("blocked", "Missing relation to certificate authority.")
        return False
    rid = relations[0]
    h.flags.add("certificates.available")
    endpoint_changed_flags(h, rid)

    # prepare_tls_certificates
    common_name = str(ht.run_json(["unit-get", "--format=json", "public-address"]) or "")
    if common_name:
        sans = {common_name, socket.gethostname(), "127.0.0.1"}
        sans.update(ingress_addresses(DB))
        sans.update(ingress_addresses(PEERS))
        if "cluster.joined" in h.flags:
            sans.update(
                d["db-ingress-address"] for d in h.peers.values() if d.get("db-ingress-address")
            )
        mine = ht.relation_get(rid, h.unit)
        if mine.get("common_name") in (None, "", common_name):
            wanted = certificate_request(
                h.unit, common_name, sans, mine.get("certificate_name", "")
            )
            changes = {k: v for k, v in wanted.items() if mine.get(k) != v}
            if changes:
                ht.log(f"{rid}: requesting a server certificate ({', '.join(sorted(changes))})")
                ht.relation_set(rid, changes)

    # TlsRequires.joined: server certificates (no client certificate requests, so the
    # certs.* flags follow the server's); the deprecated client.cert.available is set
    # whenever joined (get_client_cert() is a tuple, even of None).
    got = received(rid, h.unit)
    h.state.toggle("certificates.ca.available", got.ca)
    for flag in tls_flags[2:5] + tls_flags[6:]:
        h.state.toggle(flag, got.server)
    h.flags.add("certificates.client.cert.available")

    written = False
    if got.ca:
        ca = got.ca if got.ca.endswith("\n") else got.ca + "\n"
        if place(CA_PATH, ca):
            written = True
        if place(CA_TRUST_DIR / f"{ht.app_name()}.crt", ca):
            try:
                command(["update-ca-certificates"])
            except (CommandError, FileNotFoundError) as exc:
                ht.log(f"update-ca-certificates: {exc}", "WARNING")
        h.flags.update({"tls_client.ca.saved", "tls_client.ca_installed"})
    if got.server:
        written = place(SERVER_CERT_PATH, got.server[0]) or written
        place(SERVER_KEY_PATH, got.server[1])
        h.flags.update({"tls_client.server.certificate.saved", "tls_client.server.key.saved"})
        h.flags.add("tls_client.certs.saved")  # update_certs, no paths registered
    if got.client:
        written = place(CLIENT_CERT_PATH, got.client[0]) or written
        place(CLIENT_KEY_PATH, got.client[1])
        h.flags.update({"tls_client.client.certificate.saved", "tls_client.client.key.saved"})

    # tls_state_control
    saved = {
        "tls_client.ca.saved",
        "tls_client.server.key.saved",
        "tls_client.server.certificate.saved",
        "tls_client.client.certificate.saved",
    }
    if saved <= h.flags and SNAP_COMMON.is_dir():
        h.flags.add("etcd.ssl.placed")
    return written


# ---------------------------------------------------------------------------------------------
# The cluster


def bootstrap(h: Hook) -> None:
    """initialize_new_leader."""
    fields = h.conf_fields()
    h.state.values[CLUSTER_STATE_KEY] = "new"
    peer_url = build_uri("https", fields.cluster_address, fields.management_port)
    h.state.values[CLUSTER_KEY] = f"{fields.unit_name}={peer_url}"
    h.render_config()
    restart_etcd()
    time.sleep(2)  # "some hosts need this. The charm races with systemd and wins."
    ht.run(["open-port", f"{fields.port}/tcp"])
    h.leader_set(
        {
            "leader_address": build_uri("https", fields.cluster_address, fields.port),
            "cluster": h.state.values[CLUSTER_KEY],
        }
    )
    h.flags.update({"etcd.registered", "etcd.leader.configured"})


def register(h: Hook) -> None:
    """register_node_with_leader: unregister a member with our peer URL, ``member add``
    ourselves through the leader's client URL, render ``existing`` and start. The real charm
    gives up at the first failure and waits for a later hook; the fixture retries for 30 s."""
    leader_address = h.settings.get("leader_address")
    fields = h.conf_fields()
    peer_url = build_uri("https", fields.cluster_address, fields.management_port)
    deadline = time.monotonic() + REGISTER_DEADLINE
    while True:
        try:
            if not leader_address:
                raise CommandError("no leader_address yet")
            members = parse_member_list_v2(etcdctl_v2(["member", "list"], leader_address))
            for member in members.values():
                if member.get("peer_urls") == peer_url:
                    ht.log("Found member that matches our peer URL. Unregistering...")
                    etcdctl_v2(["member", "remove", member["unit_id"]], leader_address)
            out = etcdctl_v2(["member", "add", fields.unit_name, peer_url], leader_address)
            cluster = parse_member_add_v2(out)
            break
        except CommandError as exc:
            if time.monotonic() + REGISTER_POLL > deadline:
                ht.log(f"etcdctl.register failed, will retry: {exc}", "WARNING")
                h.status.record("waiting", "Waiting to retry etcd registration")
                return
        time.sleep(REGISTER_POLL)
    h.state.values[CLUSTER_KEY] = cluster
    h.render_config()
    restart_etcd()
    ht.run(["open-port", f"{fields.port}/tcp"])
    h.flags.add("etcd.registered")


def check_cluster_health(h: Hook) -> None:
    try:
        out = etcdctl_v2(["cluster-health"])
        line: str | None = out.strip("\n").split("\n")[-1]
    except CommandError:
        line = None
    try:
        peers: int | None = len(parse_member_list_v2(etcdctl_v2(["member", "list"])))
    except CommandError:
        peers = None
    h.status.record(*health_status(line, peers))


def publish(h: Hook, version: str) -> None:
    """set_db_ingress_address, send_*_connection_details, send_cluster_details."""
    registered = "etcd.registered" in h.flags
    if h.peer_rid and "cluster.joined" in h.flags and registered:
        address = ingress_address(DB)
        if ht.relation_get(h.peer_rid, h.unit).get("db-ingress-address") != address:
            ht.relation_set(h.peer_rid, {"db-ingress-address": address})
    if "etcd.ssl.placed" not in h.flags:
        return
    credentials = {
        "client_key": CLIENT_KEY_PATH.read_text(),
        "client_ca": CA_PATH.read_text(),
        "client_cert": CLIENT_CERT_PATH.read_text(),
    }
    if "db.connected" in h.flags and registered:
        members = [ingress_address(DB)]
        if "cluster.joined" in h.flags:
            members += [
                d["db-ingress-address"] for d in h.peers.values() if d.get("db-ingress-address")
            ]
        wanted = dict(credentials)
        wanted["connection_string"] = connection_string(
            sorted(members), h.config.get("port", 2379)
        )
        wanted["version"] = version
        for rid, _units in ht.live_relations(DB):
            set_changed(rid, h.unit, wanted)
    if "proxy.connected" in h.flags and (
        "etcd.leader.configured" in h.flags or "cluster.joined" in h.flags
    ):
        members_v2 = parse_member_list_v2(etcdctl_v2(["member", "list"]))
        cluster = [
            f"{m['name']}={m['peer_urls']}"
            for m in members_v2.values()
            if m.get("peer_urls") and m.get("name")
        ]
        wanted = dict(credentials, cluster=",".join(cluster))
        for rid, _units in ht.live_relations(PROXY):
            set_changed(rid, h.unit, wanted)


def set_changed(rid: str, unit: str, wanted: Mapping[str, str]) -> None:
    mine = ht.relation_get(rid, unit)
    # Juju trims values: compare trimmed, or the PEM texts would be re-sent on every hook.
    changes = {k: v for k, v in wanted.items() if (mine.get(k) or "").strip() != v.strip()}
    if changes:
        ht.log(f"{rid}: publishing {', '.join(sorted(changes))}")
        ht.relation_set(rid, changes)


def snapd_timer(h: Hook) -> None:
    """process_snapd_timer (leader) and set_snapd_timer (the others)."""
    if not {"snap.installed.etcd", "snap.refresh.set"} <= h.flags:
        return
    if h.leader:
        timer = snap_get_timer()
        if not timer:
            set_refresh_timer(
                h.settings.get("snapd_refresh") or str(h.config.get("snapd_refresh") or "")
            )
            timer = snap_get_timer()
        if h.fixture.get("etcd_snapd_refresh") != timer:  # data_changed
            h.fixture["etcd_snapd_refresh"] = timer
            ht.log(f"setting snapd_refresh timer to: {timer}")
            h.leader_set({"snapd_refresh": timer})
    elif "leadership.changed.snapd_refresh" in h.flags:
        set_refresh_timer(h.settings.get("snapd_refresh") or "")


def reconcile(hook: str) -> None:
    charm_dir = Path(ht.charm_dir())
    state = UnitState.load(charm_dir / UNIT_STATE_DB)
    fixture_path = charm_dir / FIXTURE_STATE
    fixture: dict[str, Any] = {}
    if fixture_path.exists():
        fixture = json.loads(fixture_path.read_text())
    h = Hook(
        hook=hook,
        unit=ht.unit_name(),
        config=dict(ht.run_json(["config-get", "--format=json"]) or {}),
        state=state,
        fixture=fixture,
        leader=ht.is_leader(),
        settings=ht.leader_get(),
    )
    previous = {
        k[len(LEADER_PREFIX) :]: v for k, v in state.values.items() if k.startswith(LEADER_PREFIX)
    }
    start_leadership(h, previous)
    relation_flags(h)

    install(h)
    if h.leader and not h.settings.get("token"):  # EtcdDatabag.cluster_token
        h.leader_set({"token": token()})
    host_leftovers(h)
    if "etcd.rerender-config" in h.flags and "snap.installed.etcd" in h.flags:
        h.render_config()  # rerender_config (etcd is not running yet: no restart)
        h.flags.discard("etcd.rerender-config")

    written = certificates(h)
    placed = "etcd.ssl.placed" in h.flags
    configured = "etcd.registered" in h.flags or "etcd.leader.configured" in h.flags
    if placed and written and configured:  # tls_update
        h.render_config()
        restart_etcd()

    if placed and h.leader and "etcd.leader.configured" not in h.flags:
        bootstrap(h)
    elif (
        placed
        and not h.leader
        and "snap.installed.etcd" in h.flags
        and "cluster.joined" in h.flags
        and "etcd.registered" not in h.flags
    ):
        register(h)

    version = ""
    if "snap.installed.etcd" in h.flags:
        version = etcd_version()
        ht.application_version_set(version)  # set_app_version
    publish(h, version)
    if "etcd.registered" in h.flags or "etcd.leader.configured" in h.flags:
        check_cluster_health(h)
    snapd_timer(h)

    state.save(charm_dir / UNIT_STATE_DB)
    write_file(fixture_path, json.dumps(fixture, sort_keys=True) + "\n", 0o600)
    final = h.status.final()
    if final:
        ht.status_set(*final)


def run_hook(hook: str) -> None:
    if hook in ("stop", "remove"):
        return
    reconcile(hook)


def run_action(name: str) -> None:
    ht.action_fail(f"Action {name} undefined: this test fixture has no actions")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))

#!/usr/bin/python3
"""Hook entry point of the etcd-deb test fixture (run by ../dispatch). NOT FOR PRODUCTION.

It stands for revision 24 and earlier of the etcd charm and leaves on each unit what that charm
left: etcd from the distribution's ``etcd`` package (etcd.service, User=etcd, configured by
``/etc/default/etcd`` rendered from the old template), data in ``/var/lib/etcd/default``,
certificates from the ``certificates`` relation in ``/etc/ssl/etcd``.

Every hook but update-status, stop and remove does the whole reconciliation, so hooks are
idempotent and any hook catches up with what is pending:

1. ``apt-get install -y etcd`` once; until this unit is configured, the member the package's
   postinst started with its default configuration is stopped and its data removed.
2. Certificates: a server certificate (CN = the ``cluster`` ingress address) and the client
   certificate ``client`` are requested from the tls-certificates provider and written to
   ``/etc/ssl/etcd`` (keys 0600; the server's owned by ``etcd``).
3. The Juju leader bootstraps a one-member cluster and records ``token``, ``leader_address``
   and ``cluster`` in leader data. Each unit publishes its ``peer_url`` on the ``cluster`` peer
   relation once its certificates are in place; the leader adds one unit at a time with
   ``etcdctl member add`` when every member has started, and records the unit's initial
   cluster as ``join-<app>-<n>``. The unit renders ``/etc/default/etcd`` (state ``existing``),
   restarts etcd.service and sets ``started=true``, which lets the leader add the next one.
4. ``db`` clients get ``connection_string``, ``version`` and the client credentials.
5. The reactive flags the deb-era charm would have set by now are written to this unit's
   ``$CHARM_DIR/.unit-state.db`` (charmhelpers' unitdata: table ``kv``, one key
   ``reactive.states.<flag>`` per flag), so that a ``juju refresh`` to the reactive charm finds
   them, ``etcd.installed`` among them (:func:`deb_era_flags`).

No key material is ever logged.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hooktools as ht  # noqa: E402

PACKAGE = "etcd"
SERVICE = "etcd"
SERVICE_USER = "etcd"
DEFAULTS = Path("/etc/default/etcd")
DATA_DIR = Path("/var/lib/etcd/default")
CERT_DIR = Path("/etc/ssl/etcd")
CA_PATH = CERT_DIR / "ca.crt"
SERVER_CERT_PATH = CERT_DIR / "server.crt"
SERVER_KEY_PATH = CERT_DIR / "server.key"
CLIENT_CERT_PATH = CERT_DIR / "client.crt"
CLIENT_KEY_PATH = CERT_DIR / "client.key"
ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"

CERTIFICATES = "certificates"
PEERS = "cluster"
DB = "db"

HEADER = "# This file is rendered by Juju, manual edits will not be persisted"
# A membership change is refused for ~5 s after a member (re)connects (strict reconfig check).
UNHEALTHY = "unhealthy cluster"
ADD_DEADLINE = 60.0
ADD_POLL = 0.5

MISSING_CA = ("blocked", "Missing relation to certificate authority.")
WAITING_CERTS = ("waiting", "Waiting for certificates")
WAITING_JOIN = ("waiting", "Waiting to join the cluster")


class CommandError(RuntimeError):
    """A command exited non-zero; the message quotes its stderr (never its input)."""


# ---------------------------------------------------------------------------------------------
# Pure helpers


def member_name(unit: str) -> str:
    """The old charm's member name: the unit name without "/" (etcd/0 -> etcd0)."""
    return unit.replace("/", "")


def join_key(unit: str) -> str:
    """Leader data key holding the initial cluster of a unit the leader added (join-etcd-1)."""
    return "join-" + unit.replace("/", "-")


def unit_number(unit: str) -> int:
    try:
        return int(unit.rpartition("/")[2])
    except ValueError:
        return -1


def render_defaults(
    name: str,
    address: str,
    port: int,
    management_port: int,
    cluster: str,
    cluster_state: str,
    token: str,
) -> str:
    """/etc/default/etcd exactly as the old charm's template rendered it."""
    return (
        f"{HEADER}\n"
        "ETCD_DATA_DIR=/var/lib/etcd/default\n"
        f"ETCD_NAME={name}\n"
        f'ETCD_ADVERTISE_CLIENT_URLS="https://{address}:{port}"\n'
        f'ETCD_LISTEN_CLIENT_URLS="http://127.0.0.1:4001,https://0.0.0.0:{port}"\n'
        f'ETCD_LISTEN_PEER_URLS="https://0.0.0.0:{management_port}"\n'
        f'ETCD_INITIAL_ADVERTISE_PEER_URLS="https://{address}:{management_port}"\n'
        f'ETCD_INITIAL_CLUSTER="{cluster}"\n'
        f"ETCD_INITIAL_CLUSTER_STATE={cluster_state}\n"
        f"ETCD_INITIAL_CLUSTER_TOKEN={token}\n"
        "# SSL CONFIGURATION\n"
        f"ETCD_CERT_FILE={SERVER_CERT_PATH}\n"
        f"ETCD_KEY_FILE={SERVER_KEY_PATH}\n"
        f"ETCD_TRUSTED_CA_FILE={CA_PATH}\n"
        f"ETCD_PEER_CERT_FILE={SERVER_CERT_PATH}\n"
        f"ETCD_PEER_KEY_FILE={SERVER_KEY_PATH}\n"
        f"ETCD_PEER_TRUSTED_CA_FILE={CA_PATH}\n"
        "# SSL Strict Mode\n"
        "ETCD_PEER_CLIENT_CERT_AUTH=true\n"
        "ETCD_CLIENT_CERT_AUTH=true\n"
    )


def parse_defaults(text: str) -> dict[str, str]:
    """KEY=value lines of the rendered file (values unquoted)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip().strip('"')
    return env


def cluster_string(members: Sequence[Mapping[str, Any]], new_id: Any, new_name: str) -> str:
    """``name=peer-url,...`` of a member list, naming the just-added (unstarted) member."""
    parts = []
    for member in members:
        name = member.get("name") or (new_name if member.get("ID") == new_id else "")
        for url in member.get("peerURLs") or []:
            parts.append(f"{name}={url}")
    return ",".join(parts)


def pem(text: str) -> str:
    """PEM text as a file holds it (Juju trims the trailing newline of relation values)."""
    return text if text.endswith("\n") else text + "\n"


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


def service_active() -> bool:
    proc = subprocess.run(
        ["systemctl", "is-active", SERVICE], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() == "active"


def write_file(path: Path, content: str, mode: int, owner: str = "root") -> bool:
    """Atomically write `content` with `mode` and `owner` (user and group) unless it is already
    there; True when anything changed."""
    entry = pwd.getpwnam(owner)
    uid, gid = entry.pw_uid, entry.pw_gid
    try:
        st = path.stat()
        if (
            path.read_text() == content
            and st.st_mode & 0o777 == mode
            and (st.st_uid, st.st_gid) == (uid, gid)
        ):
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "w") as stream:
            stream.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


# ---------------------------------------------------------------------------------------------
# The package


def package_installed() -> bool:
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and proc.stdout.strip() == "install ok installed"


def ensure_installed() -> None:
    if package_installed():
        return
    ht.status_set("maintenance", "Installing etcd from the archive")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    command(["apt-get", "update"], env=env)
    command(["apt-get", "install", "-y", PACKAGE], env=env)
    ht.log("Installed the etcd package")


def configured() -> bool:
    """Whether this unit rendered /etc/default/etcd (it then runs a clustered member)."""
    try:
        with DEFAULTS.open() as stream:
            return stream.readline().rstrip("\n") == HEADER
    except FileNotFoundError:
        return False


def discard_package_default() -> None:
    """Until configured: the package's postinst started etcd with its default configuration
    (a one-member cluster named after the hostname, data in /var/lib/etcd/default); stop it
    and remove that data, or the first clustered start would keep the wrong cluster."""
    if service_active():
        ht.log("Stopping the etcd the package started with its default configuration")
        command(["systemctl", "stop", SERVICE])
    if DATA_DIR.exists():
        ht.log(f"Removing the package default's data in {DATA_DIR}")
        shutil.rmtree(DATA_DIR)


def etcd_version() -> str:
    out = command([ETCD, "--version"], timeout=30)
    match = re.search(r"etcd Version:\s*(\S+)", out)
    return match.group(1) if match else ""


# ---------------------------------------------------------------------------------------------
# The unit


@dataclass(frozen=True)
class Unit:
    unit: str
    leader: bool
    address: str
    hostname: str
    port: int
    management_port: int

    @property
    def name(self) -> str:
        return member_name(self.unit)

    @property
    def peer_url(self) -> str:
        return f"https://{self.address}:{self.management_port}"

    @property
    def client_url(self) -> str:
        return f"https://{self.address}:{self.port}"

    @property
    def local_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def this_unit() -> Unit:
    config = ht.run_json(["config-get", "--format=json"]) or {}
    address = ht.ingress_address(PEERS)
    if not address:
        raise RuntimeError("this unit has no ingress address on the cluster binding yet")
    try:
        leader = ht.is_leader()
    except ht.HookToolError as exc:
        ht.log(f"treating this unit as a non-leader: {exc}", "WARNING")
        leader = False
    return Unit(
        unit=ht.unit_name(),
        leader=leader,
        address=address,
        hostname=socket.gethostname(),
        port=int(config.get("port") or 2379),
        management_port=int(config.get("management_port") or 2380),
    )


# ---------------------------------------------------------------------------------------------
# Certificates (requirer side of tls-certificates, as the interface publishes requests)


@dataclass(frozen=True)
class Material:
    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def certificate_request(me: Unit) -> dict[str, str]:
    """The deb-era charm's request (the tls-certificates interface of its time): one server
    certificate in the top-level keys; it used easyrsa's global client certificate."""
    key = me.unit.replace("/", "_")
    return {
        "unit_name": key,
        "common_name": me.address,
        "sans": json.dumps([me.address, me.hostname, "127.0.0.1"]),
        "certificate_name": key,
    }


def request_certificates(rid: str, me: Unit) -> None:
    mine = ht.relation_get(rid, me.unit)
    wanted = certificate_request(me)
    changes = {k: v for k, v in wanted.items() if mine.get(k) != v}
    if changes:
        ht.log(f"{rid}: requesting certificates ({', '.join(sorted(changes))})")
        ht.relation_set(rid, changes)


def received_certificates(rid: str, me: Unit) -> Material | None:
    """The CA, our server certificate and the client certificate, once the provider answered."""
    key = me.unit.replace("/", "_")
    found: dict[str, str] = {}
    for remote in ht.relation_list(rid):
        data = ht.relation_get(rid, remote)
        if data.get("ca"):
            found.setdefault("ca", data["ca"])
        if data.get(f"{key}.server.cert") and data.get(f"{key}.server.key"):
            found.setdefault("server_cert", data[f"{key}.server.cert"])
            found.setdefault("server_key", data[f"{key}.server.key"])
        if data.get("client.cert") and data.get("client.key"):
            found.setdefault("client_cert", data["client.cert"])
            found.setdefault("client_key", data["client.key"])
    fields = ("ca", "server_cert", "server_key", "client_cert", "client_key")
    if not all(found.get(f) for f in fields):
        return None
    return Material(**{f: found[f] for f in fields})


def place_certificates(material: Material) -> bool:
    """Write them to /etc/ssl/etcd; keys 0600, the server's owned by the service user."""
    changed = False
    CERT_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    for path, text, mode, owner in (
        (CA_PATH, material.ca, 0o644, "root"),
        (SERVER_CERT_PATH, material.server_cert, 0o644, SERVICE_USER),
        (SERVER_KEY_PATH, material.server_key, 0o600, SERVICE_USER),
        (CLIENT_CERT_PATH, material.client_cert, 0o644, "root"),
        (CLIENT_KEY_PATH, material.client_key, 0o600, "root"),
    ):
        if write_file(path, pem(text), mode, owner):
            ht.log(f"Wrote {path}")
            changed = True
    return changed


def certificates_in_place() -> bool:
    return all(
        p.exists()
        for p in (CA_PATH, SERVER_CERT_PATH, SERVER_KEY_PATH, CLIENT_CERT_PATH, CLIENT_KEY_PATH)
    )


# ---------------------------------------------------------------------------------------------
# etcdctl (v3, the package's client, with the client certificate)


def etcdctl(endpoints: Sequence[str], *args: str, timeout: float = 60) -> str:
    argv = [
        ETCDCTL,
        f"--endpoints={','.join(endpoints)}",
        f"--cacert={CA_PATH}",
        f"--cert={CLIENT_CERT_PATH}",
        f"--key={CLIENT_KEY_PATH}",
        *args,
    ]
    return command(argv, env={"ETCDCTL_API": "3"}, timeout=timeout)


def member_list(endpoints: Sequence[str]) -> list[dict[str, Any]]:
    return list(
        json.loads(etcdctl(endpoints, "member", "list", "-w", "json")).get("members") or []
    )


def member_add(endpoints: Sequence[str], name: str, peer_url: str) -> dict[str, Any]:
    """``member add``, retrying etcd's "unhealthy cluster" refusal (a member connected less
    than 5 s ago) every 0.5 s for at most 60 s; then the hook fails with etcd's message."""
    deadline = time.monotonic() + ADD_DEADLINE
    while True:
        try:
            out = etcdctl(
                endpoints, "member", "add", name, f"--peer-urls={peer_url}", "-w", "json"
            )
            return dict(json.loads(out))
        except CommandError as exc:
            if UNHEALTHY not in str(exc) or time.monotonic() + ADD_POLL > deadline:
                raise
        time.sleep(ADD_POLL)


# ---------------------------------------------------------------------------------------------
# Cluster formation


def peer_data(rid: str | None) -> dict[str, dict[str, str]]:
    """The peer relation's remote units -> their unit data."""
    if rid is None:
        return {}
    return {unit: ht.relation_get(rid, unit) for unit in ht.relation_list(rid)}


def start_member(me: Unit, cluster: str, state: str, token: str) -> None:
    discard_package_default()
    write_file(
        DEFAULTS,
        render_defaults(me.name, me.address, me.port, me.management_port, cluster, state, token),
        0o644,
    )
    ht.status_set("maintenance", f"Starting etcd ({state} cluster)")
    ht.log(f"Starting etcd as {me.name} ({state} cluster: {cluster})")
    command(["systemctl", "restart", SERVICE])  # returns when etcd reports READY


def bootstrap(me: Unit, settings: dict[str, str]) -> None:
    """Leader: start a one-member cluster (or record the one a failed hook started)."""
    if configured():
        env = parse_defaults(DEFAULTS.read_text())
        token = env.get("ETCD_INITIAL_CLUSTER_TOKEN", "")
        cluster = env.get("ETCD_INITIAL_CLUSTER", "")
        if not token or not service_active():
            return
    else:
        token = secrets.token_hex(16)
        cluster = f"{me.name}={me.peer_url}"
        start_member(me, cluster, "new", token)
    new = {"token": token, "leader_address": me.client_url, "cluster": cluster}
    ht.leader_set(new)
    settings.update(new)


def admin_endpoints(me: Unit, peers: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Where membership is changed: our member once it runs, else the started peers'."""
    if configured() and service_active():
        return [me.local_endpoint]
    return sorted(
        d["client_url"]
        for d in peers.values()
        if d.get("started") == "true" and d.get("client_url")
    )


def add_next_member(me: Unit, settings: dict[str, str], peers: dict[str, dict[str, str]]) -> None:
    """Leader: add one waiting unit (certificates in place, not started) when every current
    member has started; never a unit that is already a member (by name or peer URL)."""
    candidates: dict[str, str] = {
        unit: data["peer_url"]
        for unit, data in peers.items()
        if data.get("peer_url") and data.get("started") != "true"
    }
    if not configured() and certificates_in_place():
        candidates[me.unit] = me.peer_url  # a new leader that is no member yet
    if not candidates:
        return
    endpoints = admin_endpoints(me, peers)
    if not endpoints:
        return
    members = member_list(endpoints)
    pending = False
    for unit in sorted(candidates, key=unit_number):
        url = candidates[unit]
        member = next(
            (
                m
                for m in members
                if m.get("name") == member_name(unit) or url in (m.get("peerURLs") or [])
            ),
            None,
        )
        if member is None:
            continue
        if not member.get("name"):
            pending = True
            if not settings.get(join_key(unit)):  # added by a hook that failed afterwards
                joined = cluster_string(members, member.get("ID"), member_name(unit))
                ht.leader_set({join_key(unit): joined})
                settings[join_key(unit)] = joined
        candidates.pop(unit)
    if pending or any(not m.get("name") for m in members):
        return  # one member at a time: wait until the joining member has started
    for unit in sorted(candidates, key=unit_number):
        name = member_name(unit)
        ht.status_set("maintenance", f"Adding {name} to the cluster")
        ht.log(f"Adding {name} ({candidates[unit]}) to the cluster")
        result = member_add(endpoints, name, candidates[unit])
        added = result.get("member") or {}
        after = result.get("members") or member_list(endpoints)
        joined = cluster_string(after, added.get("ID"), name)
        ht.leader_set({join_key(unit): joined})
        settings[join_key(unit)] = joined
        return


def join(me: Unit, settings: Mapping[str, str]) -> None:
    """Any unit the leader added: render the existing cluster and start."""
    cluster = settings.get(join_key(me.unit))
    token = settings.get("token")
    if configured() or not cluster or not token or not certificates_in_place():
        return
    start_member(me, cluster, "existing", token)


def publish_peer(rid: str | None, me: Unit) -> None:
    if rid is None:
        return
    wanted: dict[str, str] = {}
    if certificates_in_place():
        wanted = {"peer_url": me.peer_url, "client_url": me.client_url}
    if configured() and service_active():
        wanted["started"] = "true"
    mine = ht.relation_get(rid, me.unit)
    changes = {k: v for k, v in wanted.items() if mine.get(k) != v}
    if changes:
        ht.relation_set(rid, changes)


# ---------------------------------------------------------------------------------------------
# db clients (interface etcd)


def publish_db(me: Unit, version: str) -> None:
    relations = ht.live_relations(DB)
    if not relations or not (configured() and service_active()):
        return
    members = member_list([me.local_endpoint])
    urls = sorted({u for m in members if m.get("name") for u in m.get("clientURLs") or []})
    wanted = {
        "connection_string": ",".join(urls),
        "version": version,
        "client_ca": CA_PATH.read_text(),
        "client_cert": CLIENT_CERT_PATH.read_text(),
        "client_key": CLIENT_KEY_PATH.read_text(),
    }
    for rid, _units in relations:
        mine = ht.relation_get(rid, me.unit)
        # Juju trims values: compare trimmed, or the PEM texts would be re-sent on every hook.
        changes = {k: v for k, v in wanted.items() if (mine.get(k) or "").strip() != v.strip()}
        if changes:
            ht.log(f"{rid}: publishing {', '.join(sorted(changes))}")
            ht.relation_set(rid, changes)


# ---------------------------------------------------------------------------------------------
# Status


def health_status(me: Unit) -> tuple[str, str]:
    try:
        members = member_list([me.local_endpoint])
    except (CommandError, ValueError) as exc:
        return "blocked", f"etcd does not answer: {str(exc)[-200:]}"
    count = len(members)
    try:
        etcdctl([me.local_endpoint], "endpoint", "health", "-w", "json")
    except CommandError:
        if any(not m.get("name") for m in members):
            return "waiting", f"Waiting for a new member to start ({count} known peers)"
        return "blocked", f"Unhealthy with {count} known peers"
    return "active", f"Healthy with {count} known peers"


def compute_status(me: Unit | None) -> tuple[str, str]:
    if not ht.relation_ids(CERTIFICATES):
        return MISSING_CA
    if not certificates_in_place():
        return WAITING_CERTS
    if me is None or not configured() or not service_active():
        return WAITING_JOIN
    return health_status(me)


# ---------------------------------------------------------------------------------------------
# The reactive state the deb-era charm left (layer-etcd, reactive/etcd.py as of 2017-02-02,
# commit 98a5bec, the last before the snap; its layers leadership, tls-client and the tls and
# etcd interfaces). Values are stored as charmhelpers stores them (JSON; null for a flag). The
# relation states' conversation records (charms.reactive's RelationBase) are not reproduced.

UNIT_STATE_DB = ".unit-state.db"
FLAG_PREFIX = "reactive.states."
#: charmhelpers.core.unitdata.Storage._init (charmhelpers 0.20.24)
UNIT_STATE_SCHEMA = (
    "create table if not exists kv (key text, data text, primary key (key))",
    "create table if not exists kv_revisions (key text, revision integer, data text, "
    "primary key (key, revision))",
    "create table if not exists hooks (version integer primary key autoincrement, hook text, "
    "date text)",
)
#: set once its certificates were written (the tls interface's and tls-client layer's flags,
#: then the charm's own once it took ownership of them)
CERTIFICATE_FLAGS = (
    "certificates.ca.available",
    "certificates.server.cert.available",
    "certificates.client.cert.available",
    "tls_client.ca.saved",
    "tls_client.server.certificate.saved",
    "tls_client.server.key.saved",
    "tls_client.client.certificate.saved",
    "tls_client.client.key.saved",
    "etcd.ssl.placed",
)


def deb_era_flags(
    *,
    certificates_related: bool,
    certificates_placed: bool,
    cluster_state: str,
    leader: bool,
    leader_keys: Sequence[str],
    peers: bool,
    db: bool,
) -> set[str]:
    """The flags the deb-era charm had set on a unit in this state. ``cluster_state``: the
    rendered ETCD_INITIAL_CLUSTER_STATE ("new": it bootstrapped the cluster, "existing": it
    registered with the leader, "": not configured yet)."""
    flags = {"etcd.installed", "etcd.package.adjusted", "etcd.pillowmints"}
    if certificates_related:
        flags.add("certificates.available")
    if certificates_placed:
        flags.update(CERTIFICATE_FLAGS)
    if cluster_state == "new":
        flags.add("etcd.leader.configured")
    elif cluster_state == "existing":
        flags.add("etcd.registered")
    if leader:
        flags.add("leadership.is_leader")
    flags.update(f"leadership.set.{key}" for key in leader_keys)
    if peers:
        flags.add("cluster.joined")
    if db:
        flags.add("db.connected")
    return flags


def write_flags(path: Path, flags: set[str]) -> None:
    """Make the reactive flags in the unit state database ``flags`` (the fixture is not
    reactive: every ``reactive.states.*`` key is its own)."""
    new = not path.exists()
    conn = sqlite3.connect(str(path))
    try:
        if new:
            os.chmod(path, 0o600)  # as charmhelpers makes it
        for statement in UNIT_STATE_SCHEMA:
            conn.execute(statement)
        present = {
            key[len(FLAG_PREFIX) :]
            for (key,) in conn.execute("select key from kv where key like ?", [FLAG_PREFIX + "%"])
        }
        for flag in sorted(present - flags):
            conn.execute("delete from kv where key=?", [FLAG_PREFIX + flag])
        for flag in sorted(flags - present):
            conn.execute(
                "insert into kv (key, data) values (?, ?)", [FLAG_PREFIX + flag, json.dumps(None)]
            )
        conn.commit()
    finally:
        conn.close()


def record_flags(me: Unit, settings: Mapping[str, str], peer_rid: str | None) -> None:
    state = ""
    if configured():
        state = parse_defaults(DEFAULTS.read_text()).get("ETCD_INITIAL_CLUSTER_STATE", "")
    charm_dir = os.environ.get("JUJU_CHARM_DIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))
    )
    flags = deb_era_flags(
        certificates_related=bool(ht.live_relations(CERTIFICATES)),
        certificates_placed=certificates_in_place(),
        cluster_state=state,
        leader=me.leader,
        leader_keys=sorted(k for k, v in settings.items() if v),
        peers=bool(peer_rid and ht.relation_list(peer_rid)),
        db=any(units for _rid, units in ht.live_relations(DB)),
    )
    write_flags(Path(charm_dir) / UNIT_STATE_DB, flags)


# ---------------------------------------------------------------------------------------------
# Hooks


def reconcile() -> None:
    ensure_installed()
    if not configured():
        discard_package_default()
    me = this_unit()
    settings = ht.leader_get()

    cert_relations = ht.live_relations(CERTIFICATES)
    for rid, _units in cert_relations:
        request_certificates(rid, me)
    for rid, _units in cert_relations:
        material = received_certificates(rid, me)
        if material is not None:
            if place_certificates(material) and configured() and service_active():
                ht.log("Certificates changed: restarting etcd")
                command(["systemctl", "restart", SERVICE])
            break

    peer_ids = ht.relation_ids(PEERS)
    peer_rid = peer_ids[0] if peer_ids else None
    peers = peer_data(peer_rid)

    if me.leader and certificates_in_place():
        if not settings.get("token"):
            bootstrap(me, settings)
        if settings.get("token"):
            add_next_member(me, settings, peers)
    join(me, settings)
    publish_peer(peer_rid, me)

    version = etcd_version()
    if version:
        ht.application_version_set(version)
    if configured():
        ht.run(["open-port", f"{me.port}/tcp"])
    publish_db(me, version)
    record_flags(me, settings, peer_rid)
    ht.status_set(*compute_status(me))


def update_status() -> None:
    try:
        me: Unit | None = this_unit()
    except (RuntimeError, ht.HookToolError):
        me = None
    ht.status_set(*compute_status(me))


def run_hook(hook: str) -> None:
    if hook in ("stop", "remove"):
        return
    if hook == "update-status":
        update_status()
        return
    reconcile()


def run_action(name: str) -> None:
    ht.action_fail(f"Action {name} undefined: this test fixture has no actions")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))

"""Tests of the built-in easyrsa charm: the pure core with real certificates, and the hook shell
run through its dispatch script against a small fake set of hook tools.

`FakeJuju` (the fake hook tools) is also used by test_etcd_client.py.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .toolserver import serving

CHARMS = Path(__file__).resolve().parents[1] / "charms"
EASYRSA = CHARMS / "easyrsa"
SYSTEM_PYTHON = "/usr/bin/python3"

sys.dont_write_bytecode = True  # keep __pycache__ out of the charm directories
sys.path.insert(0, str(EASYRSA / "src"))
import easyrsa_core as core  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Fake hook tools: one script, linked under each tool's name, backed by a JSON file.

FAKE_TOOL = r"""#!/usr/bin/python3
import json, os, sys
import yaml

STATE = os.environ["FAKE_JUJU_STATE"]
tool = os.path.basename(sys.argv[0])


def load():
    with open(STATE) as f:
        return json.load(f)


def save(s):
    with open(STATE, "w") as f:
        json.dump(s, f, indent=1, sort_keys=True)


def fail(msg, code=1):
    sys.stderr.write("ERROR " + msg + "\n")
    sys.exit(code)


def parse(argv, flags=(), options=()):
    opts, pos, i = {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            opts[k] = v
        elif a.lstrip("-") in flags and a.startswith("-") and a != "-":
            opts[a.lstrip("-")] = True
        elif a.lstrip("-") in options and a.startswith("-") and a != "-":
            opts[a.lstrip("-")] = argv[i + 1]
            i += 1
        else:
            pos.append(a)
        i += 1
    return opts, pos


def out(value, opts):
    if opts.get("format") == "json":
        print(json.dumps(value, sort_keys=True))
    elif isinstance(value, str):
        print(value)
    elif value is not None:
        print(yaml.safe_dump(value))


s = load()
args = sys.argv[1:]
rid_env = os.environ.get("JUJU_RELATION_ID", "")
if tool == "relation-ids":
    opts, pos = parse(args, options=("format",))
    name = pos[0] if pos else os.environ.get("JUJU_RELATION", "")
    out(sorted(r for r in s["relations"] if r.split(":")[0] == name), opts)
elif tool == "relation-list":
    opts, pos = parse(args, options=("format", "r"))
    rid = opts.get("r", rid_env)
    if rid not in s["relations"]:
        fail("invalid value %r for option -r: relation not found" % rid, 2)
    out(sorted(s["relations"][rid]["units"]), opts)
elif tool == "relation-get":
    opts, pos = parse(args, options=("format", "r"))
    rid = opts.get("r", rid_env)
    rel = s["relations"][rid]
    key = pos[0] if pos else "-"
    unit = pos[1] if len(pos) > 1 else os.environ.get("JUJU_REMOTE_UNIT", "")
    data = rel["local"] if unit == s["unit"] else rel["units"].get(unit)
    if data is None:
        fail("permission denied")
    out(data if key == "-" else data.get(key), opts)
elif tool == "relation-set":
    opts, pos = parse(args, options=("r", "file"))
    rid = opts.get("r", rid_env)
    settings = {}
    if "file" in opts:
        text = sys.stdin.read() if opts["file"] == "-" else open(opts["file"]).read()
        loaded = yaml.safe_load(text) or {}
        settings.update({k: "" if v is None else str(v) for k, v in loaded.items()})
    for kv in pos:
        k, v = kv.split("=", 1)
        settings[k] = v
    local = s["relations"][rid]["local"]
    for k, v in settings.items():
        if v == "":
            local.pop(k, None)
        else:
            local[k] = v
    s.setdefault("relation_sets", []).append([rid, sorted(settings)])
    save(s)
elif tool == "leader-get":
    opts, pos = parse(args, options=("format",))
    key = pos[0] if pos else "-"
    out(s["leader_settings"] if key == "-" else s["leader_settings"].get(key), opts)
elif tool == "leader-set":
    if not s["leader"]:
        fail("cannot write leadership settings: cannot write settings: not the leader")
    for kv in args:
        k, v = kv.split("=", 1)
        k, v = k.strip(), v.strip()  # juju/utils keyvalues trims both
        if v == "":
            s["leader_settings"].pop(k, None)
        else:
            s["leader_settings"][k] = v
    s["leader_sets"] = s.get("leader_sets", 0) + 1
    save(s)
elif tool == "is-leader":
    opts, pos = parse(args, options=("format",))
    out(s["leader"], opts)
elif tool == "status-set":
    s["status"] = [args[0], args[1] if len(args) > 1 else ""]
    save(s)
elif tool == "juju-log":
    opts, pos = parse(args, flags=("debug",), options=("l", "log-level"))
    s.setdefault("log", []).append(" ".join(pos))
    save(s)
elif tool == "application-version-set":
    s["version"] = args[0]
    save(s)
elif tool == "network-get":
    opts, pos = parse(args, flags=("ingress-address",), options=("format", "r"))
    out(s.get("ingress"), opts)
elif tool == "unit-get":
    opts, pos = parse(args, options=("format",))
    out(s.get("ingress"), opts)
elif tool == "action-get":
    opts, pos = parse(args, options=("format",))
    out(s.get("action_params", {}), opts)
elif tool == "action-set":
    res = s.setdefault("action_results", {})
    for kv in args:
        k, v = kv.split("=", 1)
        res[k] = v
    save(s)
elif tool == "action-fail":
    s["action_failed"] = args[0] if args else "action failed without reason given"
    save(s)
else:
    fail("unknown fake tool " + tool)
"""

TOOLS = (
    "relation-ids relation-list relation-get relation-set leader-get leader-set is-leader "
    "status-set juju-log application-version-set network-get unit-get action-get action-set "
    "action-fail"
).split()


class FakeJuju:
    """A unit of a charm with fake hook tools; `run()` executes the charm's dispatch."""

    def __init__(self, tmp: Path, charm_dir: Path, unit: str, root_env: str) -> None:
        self.tmp = tmp
        self.charm_dir = charm_dir
        self.root = tmp / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.root_env = root_env
        self.bin = tmp / "bin"
        self.bin.mkdir(exist_ok=True)
        tool = self.bin / "fake-tool"
        tool.write_text(FAKE_TOOL)
        tool.chmod(0o755)
        for name in TOOLS:
            link = self.bin / name
            if not link.exists():
                link.symlink_to(tool)
        self.state_file = tmp / "juju.json"
        self.save(
            {
                "unit": unit,
                "leader": False,
                "leader_settings": {},
                "relations": {},
                "ingress": "10.9.0.10",
                "status": None,
                "log": [],
            }
        )

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def save(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=1, sort_keys=True))

    def update(self, **changes: Any) -> None:
        state = self.state
        state.update(changes)
        self.save(state)

    def add_relation(self, rid: str, units: Mapping[str, Mapping[str, str]]) -> None:
        state = self.state
        rel = state["relations"].setdefault(rid, {"units": {}, "local": {}})
        rel["units"] = {u: dict(d) for u, d in units.items()}
        self.save(state)

    def local(self, rid: str) -> dict[str, str]:
        return dict(self.state["relations"][rid]["local"])

    def run(
        self,
        dispatch: str,
        relation: str = "",
        remote_unit: str = "",
        params: Mapping[str, Any] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        if params is not None:
            self.update(action_params=dict(params), action_results={}, action_failed=None)
        unit = self.state["unit"]
        kind, _, name = dispatch.partition("/")
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "JUJU_CHARM_DIR": str(self.charm_dir),
            "CHARM_DIR": str(self.charm_dir),
            "JUJU_UNIT_NAME": unit,
            "JUJU_MODEL_NAME": "test",
            "JUJU_DISPATCH_PATH": dispatch,
            "JUJU_HOOK_NAME": name if kind == "hooks" else "",
            "FAKE_JUJU_STATE": str(self.state_file),
            self.root_env: str(self.root),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8",
        }
        if kind == "actions":
            env["JUJU_ACTION_NAME"] = name
        if relation:
            env["JUJU_RELATION"] = relation.split(":")[0]
            env["JUJU_RELATION_ID"] = relation
            env["JUJU_REMOTE_UNIT"] = remote_unit
            env["JUJU_REMOTE_APP"] = remote_unit.split("/")[0]
        proc = subprocess.run(
            [str(self.charm_dir / "dispatch")],
            cwd=self.charm_dir,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{dispatch} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                f"stderr:\n{proc.stderr}\nlog:\n" + "\n".join(self.state.get("log", []))
            )
        return proc


class RealTools:
    """The project's real hook tools (jujuc client + server) over a FakeContext.

    `run()` executes a charm's dispatch with the context's hook/action fields set, and commits
    the context's buffered changes when it exits 0 (as the unit agent does).
    """

    CONTEXT_ID = "unit-0-hook-0123456789abcdef0123456789abcdef"

    def __init__(self, tmp: Path, charm_dir: Path, ctx: Any, root_env: str) -> None:
        self.tmp, self.charm_dir, self.ctx, self.root_env = tmp, charm_dir, ctx, root_env
        self.root = tmp / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket = tmp / "agent.socket"
        self.tools = tmp / "tools"

    @classmethod
    @contextlib.contextmanager
    def serve(cls, tmp: Path, charm_dir: Path, ctx: Any, root_env: str) -> Iterator[RealTools]:
        from localjuju.hooktools.server import install_tools

        self = cls(tmp, charm_dir, ctx, root_env)
        with serving(self.socket, lambda cid: self.ctx if cid == cls.CONTEXT_ID else None):
            install_tools(self.tools, SYSTEM_PYTHON)
            yield self

    def run(
        self,
        dispatch: str,
        relation_id: int | None = None,
        remote_unit: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        ctx = self.ctx
        kind, _, name = dispatch.partition("/")
        ctx.hook_name = name if kind == "hooks" else ""
        ctx.hook_relation_id = relation_id
        ctx.remote_unit = remote_unit
        ctx.remote_app = remote_unit.split("/")[0] if remote_unit else ""
        if kind == "actions":
            ctx.params = dict(params or {})
            ctx.results, ctx.failed, ctx.fail_message = {}, False, ""
        else:
            ctx.params = None
        env = {
            "PATH": f"{self.tools}:/usr/bin:/bin",
            "JUJU_CONTEXT_ID": self.CONTEXT_ID,
            "JUJU_AGENT_SOCKET_ADDRESS": str(self.socket),
            "JUJU_AGENT_SOCKET_NETWORK": "unix",
            "JUJU_CHARM_DIR": str(self.charm_dir),
            "CHARM_DIR": str(self.charm_dir),
            "JUJU_UNIT_NAME": ctx.unit_name,
            "JUJU_MODEL_NAME": ctx.model_name,
            "JUJU_DISPATCH_PATH": dispatch,
            "JUJU_HOOK_NAME": ctx.hook_name,
            self.root_env: str(self.root),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if kind == "actions":
            env["JUJU_ACTION_NAME"] = name
        if relation_id is not None:
            rel = ctx.relations[relation_id]
            env["JUJU_RELATION"] = rel.endpoint
            env["JUJU_RELATION_ID"] = f"{rel.endpoint}:{relation_id}"
            env["JUJU_REMOTE_UNIT"] = remote_unit
            env["JUJU_REMOTE_APP"] = rel.remote_app
        proc = subprocess.run(
            [str(self.charm_dir / "dispatch")],
            cwd=self.charm_dir,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        if proc.returncode != 0:
            ctx.discard()
            raise AssertionError(f"{dispatch} exited {proc.returncode}:\n{proc.stderr}")
        ctx.commit()
        return proc


# ---------------------------------------------------------------------------------------------
# Helpers


def load_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def not_after(cert: x509.Certificate) -> datetime.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return (
        value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    )


def not_before(cert: x509.Certificate) -> datetime.datetime:
    value = getattr(cert, "not_valid_before_utc", None)
    return (
        value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    )


def verify_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    assert cert.issuer == issuer.subject
    public = issuer.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert cert.signature_hash_algorithm is not None
    public.verify(
        cert.signature,
        cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        cert.signature_hash_algorithm,
    )


def openssl_verify(
    tmp: Path, ca_pem: str, cert_pem: str, purpose: str, untrusted: str | None = None
) -> None:
    (tmp / "ca.pem").write_text(ca_pem)
    (tmp / "leaf.pem").write_text(cert_pem)
    argv = ["openssl", "verify", "-CAfile", str(tmp / "ca.pem"), "-purpose", purpose]
    if untrusted:
        (tmp / "untrusted.pem").write_text(untrusted)
        argv += ["-untrusted", str(tmp / "untrusted.pem")]
    proc = subprocess.run(argv + [str(tmp / "leaf.pem")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def key_matches(cert_pem: str, key_pem: str) -> bool:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    public = load_cert(cert_pem).public_key()
    assert isinstance(key, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)  # easyrsa's
    return key.public_key().public_numbers() == public.public_numbers()


def sans_of(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [str(v) for v in san.get_values_for_type(x509.DNSName)]
    ips = [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


@pytest.fixture(scope="module")
def ca() -> core.CertificateAuthority:
    return core.create_ca("10.9.0.10")


def etcd_unit(
    n: int,
    sans: list[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    unit_name: bool = True,
) -> tuple[str, dict[str, str]]:
    addr = f"10.9.1.{n}"
    data = {
        "private-address": addr,
        "common_name": addr,
        "sans": json.dumps(sans if sans is not None else [addr, f"etcd-{n}", "127.0.0.1"]),
        "certificate_name": f"etcd_{n}",
    }
    if unit_name:
        data["unit_name"] = f"etcd_{n}"
    for key, value in (extra or {}).items():
        data[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return f"etcd/{n}", data


# ---------------------------------------------------------------------------------------------
# Core: certificates


def test_ca_is_self_signed_easyrsa_ca(ca: core.CertificateAuthority) -> None:
    cert = load_cert(ca.cert_pem)
    assert cn(cert) == "10.9.0.10"
    assert cert.subject == cert.issuer
    verify_signed_by(cert, cert)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.value.ca is True and bc.critical is False
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert aki.authority_cert_serial_number == cert.serial_number
    assert (not_after(cert) - not_before(cert)).days == core.CA_DAYS
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    assert key_matches(ca.cert_pem, ca.key_pem)
    assert ca.key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert int(ca.serial, 16) == cert.serial_number


def test_server_certificate(ca: core.CertificateAuthority, tmp_path: Path) -> None:
    cert_pem, key_pem = core.issue_certificate(
        ca, core.SERVER, "10.9.1.1", ["10.9.1.1", "etcd-1", "127.0.0.1", "fd00::5", "etcd-1"]
    )
    cert = load_cert(cert_pem)
    verify_signed_by(cert, load_cert(ca.cert_pem))
    openssl_verify(tmp_path, ca.cert_pem, cert_pem, "sslserver")
    openssl_verify(tmp_path, ca.cert_pem, cert_pem, "sslclient")
    assert cn(cert) == "10.9.1.1"
    dns, ips = sans_of(cert)
    assert dns == ["etcd-1"]
    assert ips == ["10.9.1.1", "127.0.0.1", "fd00::5"]
    assert eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert (not_after(cert) - not_before(cert)).days == core.CERT_DAYS
    assert key_matches(cert_pem, key_pem)
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    assert core.describe_certificate(cert_pem) == (
        core.SERVER,
        ["10.9.1.1", "127.0.0.1", "etcd-1", "fd00::5"],
    )


@pytest.mark.parametrize(
    "common_name,dns,ips", [("etcd.local", ["etcd.local"], []), ("10.1.1.1", [], ["10.1.1.1"])]
)
def test_server_without_sans_gets_cn_san(
    ca: core.CertificateAuthority, common_name: str, dns: list[str], ips: list[str]
) -> None:
    cert_pem, _ = core.issue_certificate(ca, core.SERVER, common_name, None)
    assert sans_of(load_cert(cert_pem)) == (dns, ips)


def test_client_certificate(ca: core.CertificateAuthority, tmp_path: Path) -> None:
    cert_pem, key_pem = core.issue_certificate(ca, core.CLIENT, "kube", ["ignored.example"])
    cert = load_cert(cert_pem)
    openssl_verify(tmp_path, ca.cert_pem, cert_pem, "sslclient")
    assert eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert sans_of(cert) == ([], [])
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_encipherment
    assert key_matches(cert_pem, key_pem)
    proc = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "sslserver"]
        + [str(tmp_path / "leaf.pem")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0, "a client certificate must not be usable as a server"


def test_intermediate_certificate_signs_a_chain(
    ca: core.CertificateAuthority, tmp_path: Path
) -> None:
    inter_pem, inter_key = core.issue_certificate(ca, core.INTERMEDIATE, "sub-ca", None)
    inter = load_cert(inter_pem)
    bc = inter.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is True and bc.path_length == 0
    sub = core.CertificateAuthority(inter_pem, inter_key, "01\n")
    leaf_pem, _ = core.issue_certificate(sub, core.SERVER, "leaf.local", ["leaf.local"])
    verify_signed_by(load_cert(leaf_pem), inter)
    openssl_verify(tmp_path, ca.cert_pem, leaf_pem, "sslserver", untrusted=inter_pem)


def test_leader_settings_round_trip(ca: core.CertificateAuthority) -> None:
    settings = core.ca_leader_settings(ca)
    assert set(settings) == {
        "certificate_authority",
        "certificate_authority_key",
        "certificate_authority_serial",
    }
    assert core.ca_from_leader(settings) == ca
    assert core.ca_from_leader({"certificate_authority": ca.cert_pem}) is None
    no_serial = core.ca_from_leader(
        {"certificate_authority": ca.cert_pem, "certificate_authority_key": ca.key_pem}
    )
    assert no_serial is not None and no_serial.serial == ca.serial


# ---------------------------------------------------------------------------------------------
# Core: requests


def test_parse_requests_all_kinds_and_unit_name_fallback() -> None:
    units = [
        etcd_unit(
            0,
            extra={
                "cert_requests": {"api": {"sans": ["api.local"]}, "10.9.1.0": {"sans": ["x"]}},
                "client_cert_requests": {"admin": {"sans": []}},
                "application_cert_requests": {"app": {"sans": ["app.local"]}},
                "intermediate_cert_requests": {"sub": {"sans": []}},
            },
        ),
        etcd_unit(1, unit_name=False),
    ]
    reqs = core.parse_requests(units)
    summary = [(r.kind, r.unit_key, r.common_name, r.top_level) for r in reqs]
    assert summary == [
        ("server", "etcd_0", "10.9.1.0", True),
        # cert_requests in JSON (sorted) order; the one with the top-level CN shares its slot
        ("server", "etcd_0", "10.9.1.0", True),
        ("server", "etcd_0", "api", False),
        ("client", "etcd_0", "admin", False),
        ("application", "etcd_0", "app", False),
        ("intermediate", "etcd_0", "sub", False),
        ("server", "etcd_1", "10.9.1.1", True),
    ]
    assert reqs[0].sans == ("10.9.1.0", "etcd-0", "127.0.0.1")
    assert reqs[0].publish_key == "etcd_0.processed_requests"


def test_answer_relation_publishes_every_form(ca: core.CertificateAuthority) -> None:
    state = core.new_state()
    units = [
        etcd_unit(
            0,
            extra={
                "cert_requests": {"api": {"sans": ["api.local", "10.9.9.9"]}},
                "client_cert_requests": {"admin": {"sans": []}},
                "application_cert_requests": {"app0": {"sans": ["a0.local"]}},
                "intermediate_cert_requests": {"sub": {"sans": []}},
            },
        ),
        etcd_unit(1, extra={"application_cert_requests": {"app1": {"sans": ["a1.local"]}}}),
    ]
    client = ("CLIENT-CERT", "CLIENT-KEY")
    updates = core.answer_relation(state, ca, "client:3", units, {}, True, client)
    assert updates["ca"] == ca.cert_pem
    assert (updates["client.cert"], updates["client.key"]) == client
    for n in (0, 1):
        cert = load_cert(updates[f"etcd_{n}.server.cert"])
        assert cn(cert) == f"10.9.1.{n}"
        assert sans_of(cert) == ([f"etcd-{n}"], [f"10.9.1.{n}", "127.0.0.1"])
        assert key_matches(updates[f"etcd_{n}.server.cert"], updates[f"etcd_{n}.server.key"])
    processed = json.loads(updates["etcd_0.processed_requests"])
    assert list(processed) == ["api"] and set(processed["api"]) == {"cert", "key"}
    assert updates["etcd_0.processed_requests"] == json.dumps(processed, sort_keys=True)
    client_certs = json.loads(updates["etcd_0.processed_client_requests"])
    assert eku(load_cert(client_certs["admin"]["cert"])) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    # one application certificate for both units, SANs merged over all units' requests
    app0 = json.loads(updates["etcd_0.processed_application_requests"])
    app1 = json.loads(updates["etcd_1.processed_application_requests"])
    assert app0 == app1 and list(app0) == ["app_data"]
    app_cert = load_cert(app0["app_data"]["cert"])
    assert sans_of(app_cert)[0] == ["a0.local", "a1.local", "app0", "app1"]
    inter = json.loads(updates["etcd_0.processed_intermediate_requests"])
    assert inter["sub"] == inter["app_data"]
    assert (
        load_cert(inter["sub"]["cert"])
        .extensions.get_extension_for_class(x509.BasicConstraints)
        .value.ca
    )
    assert "etcd_1.processed_requests" not in updates
    assert state["handled"]["client:3.etcd_0.10.9.1.0"] == ["10.9.1.0", "127.0.0.1", "etcd-0"]
    assert state["handled"]["client:3.app_cert"] == ["a0.local", "a1.local", "app0", "app1"]

    # Idempotent: a second run over the published bucket changes nothing and issues nothing.
    bucket = dict(updates)
    issued = json.dumps(state["issued"], sort_keys=True)
    assert core.answer_relation(state, ca, "client:3", units, bucket, True, client) == {}
    assert json.dumps(state["issued"], sort_keys=True) == issued


def test_reissue_only_when_sorted_sans_change(ca: core.CertificateAuthority) -> None:
    state = core.new_state()
    units = [etcd_unit(0, extra={"cert_requests": {"api": {"sans": ["api.local"]}}})]
    bucket = core.answer_relation(state, ca, "client:1", units, {}, True)
    first = bucket["etcd_0.server.cert"]
    api_first = json.loads(bucket["etcd_0.processed_requests"])["api"]

    # Same SANs in another order: handled, nothing re-issued.
    units = [
        etcd_unit(
            0,
            sans=["127.0.0.1", "etcd-0", "10.9.1.0", "etcd-0"],
            extra={"cert_requests": {"api": {"sans": ["api.local"]}}},
        )
    ]
    assert core.answer_relation(state, ca, "client:1", units, bucket, True) == {}

    # A new SAN on the top-level request: only that certificate is re-issued (with a new key).
    units = [
        etcd_unit(
            0,
            sans=["10.9.1.0", "etcd-0", "127.0.0.1", "10.9.2.0"],
            extra={"cert_requests": {"api": {"sans": ["api.local"]}}},
        )
    ]
    updates = core.answer_relation(state, ca, "client:1", units, bucket, True)
    assert set(updates) == {"etcd_0.server.cert", "etcd_0.server.key"}
    assert updates["etcd_0.server.cert"] != first
    assert sans_of(load_cert(updates["etcd_0.server.cert"]))[1] == [
        "10.9.1.0",
        "127.0.0.1",
        "10.9.2.0",
    ]
    bucket.update(updates)
    assert json.loads(bucket["etcd_0.processed_requests"])["api"] == api_first
    assert core.answer_relation(state, ca, "client:1", units, bucket, True) == {}


def test_client_certificates_are_never_reissued(ca: core.CertificateAuthority) -> None:
    state = core.new_state()
    units = [etcd_unit(0, extra={"client_cert_requests": {"admin": {"sans": ["a"]}}})]
    bucket = core.answer_relation(state, ca, "client:1", units, {}, True)
    first = json.loads(bucket["etcd_0.processed_client_requests"])["admin"]
    units = [etcd_unit(0, extra={"client_cert_requests": {"admin": {"sans": ["a", "b"]}}})]
    # The request is "new" again (its SANs changed), but EasyRSA hands back the same cert.
    assert core.answer_relation(state, ca, "client:1", units, bucket, True) == {}
    assert state["handled"]["client:1.etcd_0.admin"] == ["a", "b"]
    assert json.loads(bucket["etcd_0.processed_client_requests"])["admin"] == first


def test_lost_publication_is_republished_without_reissue(ca: core.CertificateAuthority) -> None:
    """A hook that failed after issuing: the bucket was rolled back, the state file was not."""
    state = core.new_state()
    units = [etcd_unit(0)]
    first = core.answer_relation(state, ca, "client:1", units, {}, True)
    again = core.answer_relation(state, ca, "client:1", units, {}, True)
    assert again["etcd_0.server.cert"] == first["etcd_0.server.cert"]
    assert again["etcd_0.server.key"] == first["etcd_0.server.key"]


def test_non_leader_and_former_leader(ca: core.CertificateAuthority) -> None:
    units = [etcd_unit(0)]
    # A unit that never held the CA publishes nothing.
    assert core.answer_relation(core.new_state(), None, "client:1", units, {}, False) == {}
    # A former leader (CA still held) keeps answering requests, without ca/client.cert.
    updates = core.answer_relation(core.new_state(), ca, "client:1", units, {}, False)
    assert set(updates) == {"etcd_0.server.cert", "etcd_0.server.key"}


def test_same_cn_shares_one_certificate_like_easyrsa(ca: core.CertificateAuthority) -> None:
    state = core.new_state()
    a = etcd_unit(0, extra={"cert_requests": {"shared": {"sans": ["s.local"]}}})
    b = etcd_unit(1, extra={"cert_requests": {"shared": {"sans": ["s.local"]}}})
    updates = core.answer_relation(state, ca, "client:1", [a, b], {}, True)
    assert (
        json.loads(updates["etcd_0.processed_requests"])["shared"]
        == json.loads(updates["etcd_1.processed_requests"])["shared"]
    )


def test_status_messages() -> None:
    assert core.status_message(False) == "Certificate Authority ready."
    assert core.status_message(True) == "Certificate Authority connected."


# ---------------------------------------------------------------------------------------------
# Shell: dispatch with fake hook tools


@pytest.fixture()
def leader(tmp_path: Path) -> Iterator[FakeJuju]:
    juju = FakeJuju(tmp_path / "easyrsa0", EASYRSA, "easyrsa/0", "EASYRSA_ROOT")
    juju.update(leader=True)
    yield juju


def _no_keys_logged(juju: FakeJuju) -> None:
    for line in juju.state.get("log", []):
        assert "PRIVATE KEY" not in line and "BEGIN CERTIFICATE" not in line


def test_dispatch_is_executable_and_metadata_valid() -> None:
    import yaml

    mode = (EASYRSA / "dispatch").stat().st_mode
    assert mode & stat.S_IXUSR
    text = (EASYRSA / "dispatch").read_text()
    assert text.startswith("#!/bin/sh\n") and "PY=/usr/libexec/localjuju/python3\n" in text
    meta = yaml.safe_load((EASYRSA / "metadata.yaml").read_text())
    assert meta["name"] == "easyrsa"
    assert meta["provides"] == {"client": {"interface": "tls-certificates"}}
    assert "jammy" in meta["series"]
    actions = yaml.safe_load((EASYRSA / "actions.yaml").read_text())
    assert set(actions) == {"backup", "restore", "list-backups", "delete-backup"}


def test_shell_leader_creates_ca_and_answers(leader: FakeJuju) -> None:
    leader.run("hooks/install")
    leader.run("hooks/leader-elected")
    settings = leader.state["leader_settings"]
    ca_pem = settings["certificate_authority"]
    assert cn(load_cert(ca_pem)) == "10.9.0.10"
    assert key_matches(ca_pem, settings["certificate_authority_key"])
    assert settings["certificate_authority_serial"]
    assert leader.state["status"] == ["active", "Certificate Authority ready."]
    assert leader.state["version"] == core.EASYRSA_VERSION

    leader.add_relation("client:4", {})
    leader.run("hooks/client-relation-created", "client:4")
    assert leader.local("client:4") == {}, "nothing is sent before a client joins"
    assert leader.state["status"] == ["active", "Certificate Authority ready."]

    unit, data = etcd_unit(0)
    leader.add_relation("client:4", {unit: {"private-address": data["private-address"]}})
    assert "client_certificate" not in settings, "created once a client joins"
    leader.run("hooks/client-relation-joined", "client:4", unit)
    settings = leader.state["leader_settings"]
    local = leader.local("client:4")
    assert local["ca"] == ca_pem
    assert local["client.cert"] == settings["client_certificate"]
    assert local["client.key"] == settings["client_key"]
    assert "etcd_0.server.cert" not in local
    assert leader.state["status"] == ["active", "Certificate Authority connected."]

    leader.add_relation("client:4", {unit: data})
    leader.run("hooks/client-relation-changed", "client:4", unit)
    local = leader.local("client:4")
    server = load_cert(local["etcd_0.server.cert"])
    verify_signed_by(server, load_cert(ca_pem))
    assert sans_of(server) == (["etcd-0"], ["10.9.1.0", "127.0.0.1"])
    assert key_matches(local["etcd_0.server.cert"], local["etcd_0.server.key"])

    # Re-running the hook (Juju retries, duplicate events) changes nothing.
    sets = len(leader.state.get("relation_sets", []))
    leader_sets = leader.state["leader_sets"]
    leader.run("hooks/client-relation-changed", "client:4", unit)
    leader.run("hooks/update-status")
    assert leader.local("client:4") == local
    assert len(leader.state.get("relation_sets", [])) == sets
    assert leader.state["leader_sets"] == leader_sets, "leader-set only when something changed"

    state_file = leader.root / "var/lib/easyrsa/easyrsa-0/state.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) == 0o700
    installed = leader.root / "usr/local/share/ca-certificates/easyrsa.crt"
    assert installed.read_text() == ca_pem + "\n"  # leader-set trimmed the newline
    _no_keys_logged(leader)

    # The relation goes away: its id is no longer listed after broken.
    leader.run("hooks/client-relation-departed", "client:4", unit)
    state = leader.state
    del state["relations"]["client:4"]
    leader.save(state)
    leader.run("hooks/update-status")
    assert leader.state["status"] == ["active", "Certificate Authority ready."]


def test_shell_scaled_easyrsa_keeps_one_ca(leader: FakeJuju, tmp_path: Path) -> None:
    unit, data = etcd_unit(0)
    leader.add_relation("client:4", {unit: data})
    leader.run("hooks/leader-elected")
    settings = leader.state["leader_settings"]
    first_cert = leader.local("client:4")["etcd_0.server.cert"]

    other = FakeJuju(tmp_path / "easyrsa1", EASYRSA, "easyrsa/1", "EASYRSA_ROOT")
    other.update(leader=False, leader_settings=settings)
    other.add_relation("client:4", {unit: data})
    other.run("hooks/install")
    other.run("hooks/leader-settings-changed")
    assert other.local("client:4") == {}, "a non-leader never signs nor publishes"
    assert other.state["status"] == ["active", "Certificate Authority connected."]

    # Leadership moves: the new leader recovers the CA from leader settings.
    other.update(leader=True)
    other.run("hooks/leader-elected")
    assert other.state["leader_settings"] == settings
    local = other.local("client:4")
    assert local["ca"] == settings["certificate_authority"]
    assert local["client.cert"] == settings["client_certificate"]
    assert local["etcd_0.server.cert"] != first_cert  # a fresh answer, same CA
    verify_signed_by(
        load_cert(local["etcd_0.server.cert"]), load_cert(settings["certificate_authority"])
    )
    _no_keys_logged(other)


def test_shell_non_leader_before_ca_waits(tmp_path: Path) -> None:
    juju = FakeJuju(tmp_path, EASYRSA, "easyrsa/1", "EASYRSA_ROOT")
    juju.run("hooks/install")
    assert juju.state["status"][0] == "waiting"
    assert juju.state["leader_settings"] == {}


def test_shell_blocked_without_address(leader: FakeJuju) -> None:
    leader.update(ingress=None)
    leader.run("hooks/leader-elected")
    assert leader.state["status"] == ["blocked", "Public address not available yet"]
    leader.update(ingress="10.9.0.11")
    leader.run("hooks/config-changed")
    assert leader.state["status"] == ["active", "Certificate Authority ready."]


def test_shell_series_upgrade(leader: FakeJuju) -> None:
    leader.run("hooks/leader-elected")
    leader.run("hooks/pre-series-upgrade")
    assert leader.state["status"] == ["blocked", "Series upgrade in progress"]
    leader.run("hooks/update-status")
    assert leader.state["status"] == ["blocked", "Series upgrade in progress"]
    leader.run("hooks/post-series-upgrade")
    assert leader.state["status"] == ["active", "Certificate Authority ready."]


def test_shell_hook_tool_failure_is_reported(leader: FakeJuju) -> None:
    leader.add_relation("client:4", {"etcd/0": etcd_unit(0)[1]})
    state = leader.state
    state["relations"]["client:4"]["units"] = {}  # relation-get of etcd/0 will be refused
    leader.save(state)
    tool = leader.bin / "relation-list"
    tool.unlink()
    tool.write_text("#!/bin/sh\necho '[\"etcd/0\"]'\n")
    tool.chmod(0o755)
    proc = leader.run("hooks/client-relation-changed", "client:4", "etcd/0", check=False)
    assert proc.returncode == 1
    assert "relation-get failed (exit 1): ERROR permission denied" in proc.stderr
    assert any("failed" in line for line in leader.state["log"])


def test_shell_backup_restore_actions(leader: FakeJuju, tmp_path: Path) -> None:
    unit, data = etcd_unit(0, extra={"client_cert_requests": {"admin": {"sans": []}}})
    leader.add_relation("client:4", {unit: data})
    leader.run("hooks/leader-elected")
    before = leader.local("client:4")
    leader.run("actions/backup", params={})
    results = leader.state["action_results"]
    assert leader.state.get("action_failed") is None, leader.state
    assert results["command"].startswith("juju scp easyrsa/0:")
    backup = Path(results["command"].split(":", 1)[1].rsplit(" ", 1)[0])
    backup = leader.root / str(backup).split(str(leader.root) + "/", 1)[-1]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with tarfile.open(backup) as tar:
        names = set(tar.getnames())
    assert {"pki/ca.crt", "pki/private/ca.key", "pki/serial", "pki/issued/client.crt"} <= names
    assert "pki/issued/10.9.1.0.crt" in names and "pki/issued/admin.crt" in names

    leader.run("actions/list-backups", params={})
    assert backup.name in leader.state["action_results"]["message"]

    # Restore onto a fresh leader unit (e.g. a redeployed easyrsa): same CA, same certificates.
    fresh = FakeJuju(tmp_path / "fresh", EASYRSA, "easyrsa/0", "EASYRSA_ROOT")
    fresh.update(leader=True)
    (fresh.root / "home/ubuntu/easyrsa_backup").mkdir(parents=True)
    (fresh.root / "home/ubuntu/easyrsa_backup" / backup.name).write_bytes(backup.read_bytes())
    fresh.add_relation("client:4", {unit: data})
    fresh.run("actions/restore", params={"name": backup.name})
    assert fresh.state.get("action_failed") is None, fresh.state
    after = fresh.local("client:4")
    for key in ("ca", "client.cert", "etcd_0.server.cert", "etcd_0.processed_client_requests"):
        assert after[key] == before[key], key
    fresh.run("hooks/update-status")
    assert fresh.local("client:4") == after

    fresh.run("actions/restore", params={"name": "../../etc/passwd"})
    assert "Path traversal" in fresh.state["action_failed"]
    leader.run("actions/delete-backup", params={"name": backup.name})
    assert not backup.exists()
    leader.run("actions/delete-backup", params={"name": "nope.tar.gz"})
    assert "does not exist" in leader.state["action_failed"]


# ---------------------------------------------------------------------------------------------
# Debian's python3 (cryptography 38) runs the charm code


def test_src_runs_under_system_python(tmp_path: Path) -> None:
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("no /usr/bin/python3")
    script = (
        "import sys, json; sys.path.insert(0, sys.argv[1]);"
        "import cryptography, charm, hooktools, easyrsa_core as c;"
        "ca = c.create_ca('10.0.0.1');"
        "s = c.new_state();"
        "u = [('etcd/0', {'common_name': 'a', 'sans': json.dumps(['a', '10.0.0.2'])})];"
        "up = c.answer_relation(s, ca, 'client:1', u, {}, True, ('c', 'k'));"
        "print(cryptography.__version__, sorted(up))"
    )
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-W", "error", "-c", script, str(EASYRSA / "src")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "'etcd_0.server.cert'" in proc.stdout


def test_shell_with_the_real_hook_tools(tmp_path: Path) -> None:
    """The argument forms the charm uses, against the project's own hook tool implementations."""
    from localjuju.hooktools.context import InterfaceAddress, NetworkInfo, NetworkInterface
    from localjuju.hooktools.fake import FakeContext, FakeRelation

    ctx = FakeContext(unit_name="easyrsa/0", leader=True)
    ctx.networks = {
        "client": NetworkInfo(
            (NetworkInterface("00:16:3e:00:00:01", "eth0", (InterfaceAddress("10.9.0.10", ""),)),),
            ("10.9.0.10/32",),
            ("10.9.0.10",),
        )
    }
    unit, data = etcd_unit(0, extra={"cert_requests": {"api": {"sans": ["api.local"]}}})
    ctx.relations[3] = FakeRelation(
        3, "client", "etcd", members=[unit], units={unit: data, "easyrsa/0": {}}
    )
    with RealTools.serve(tmp_path, EASYRSA, ctx, "EASYRSA_ROOT") as tools:
        tools.run("hooks/install")
        tools.run("hooks/leader-elected")
        tools.run("hooks/client-relation-changed", 3, unit)
        published = dict(ctx.relations[3].units["easyrsa/0"])
        assert cn(load_cert(ctx.leader_data["certificate_authority"])) == "10.9.0.10"
        assert published["ca"] == ctx.leader_data["certificate_authority"]
        assert published["client.cert"] == ctx.leader_data["client_certificate"]
        assert sans_of(load_cert(published["etcd_0.server.cert"]))[0] == ["etcd-0"]
        assert list(json.loads(published["etcd_0.processed_requests"])) == ["api"]
        assert (ctx.status.status, ctx.status.message) == (
            "active",
            "Certificate Authority connected.",
        )
        assert ctx.workload_version == core.EASYRSA_VERSION
        tools.run("hooks/client-relation-changed", 3, unit)
        assert ctx.relations[3].units["easyrsa/0"] == published
        tools.run("actions/list-backups", params={})
        assert ctx.results == {"message": "There are no available backup files."}
        for _level, line in ctx.logs:
            assert "PRIVATE KEY" not in line

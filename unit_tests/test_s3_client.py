"""The standard-library S3 client (lib/etcd_charm/s3_client.py) against a real S3 server
(SeaweedFS, tests/s3_server.py: one per module, HTTP and HTTPS), checked a second way where
cheap: through the server's filer, which serves the stored objects under their plain names
without S3 in between. Failures a real server cannot be made to show (a body cut short, an
upload refused before it was read, a kept-alive connection closed) come from small socket
servers here. The pure parts (addresses, key encoding, error parsing) are tested alone."""

from __future__ import annotations

import glob
import hashlib
import http.client
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from etcd_charm import s3_client
from etcd_charm.s3_client import S3Client, S3Config, S3Error
from tests.s3_server import S3Server, certificates, s3_server, sockets

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    """One server for the module, HTTP and HTTPS, virtual-host style for ``*.s3.test``; once
    stopped, nothing of it is left: process, listeners, directory, sockets."""
    with s3_server(tls=True, domain_name="s3.test") as s:
        yield s
    assert not Path(f"/proc/{s.pid}").exists()
    assert not s.directory.exists()
    assert sockets(s.ports) == []
    for port in s.ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def config(server: S3Server, bucket: str, **changes: Any) -> S3Config:
    fields: dict[str, Any] = {
        "endpoint": server.endpoint,
        "bucket": bucket,
        "access_key": server.access_key,
        "secret_key": server.secret_key,
    }
    fields.update(changes)
    return S3Config(**fields)


def client(server: S3Server, bucket: str, **changes: Any) -> S3Client:
    """A client of ``bucket``, which exists."""
    c = S3Client(config(server, bucket, **changes), timeout=10)
    c.ensure_bucket()
    return c


def assert_no_secret(e: S3Error, *secrets: str) -> None:
    for text in (str(e), repr(e), *map(str, e.args)):
        for secret in secrets:
            assert secret not in text
        for word in ("Signature=", "Authorization", "AWS4-HMAC", "Credential="):
            assert word not in text


# --- pure: configuration, addresses, encoding, errors --------------------------------------


def test_the_configuration_shows_no_key() -> None:
    c = S3Config("https://s3.example.com", "b-1", "AKIAEXAMPLE", "s3cr3t/K+ey")
    assert "AKIAEXAMPLE" not in repr(c) and "s3cr3t" not in repr(c)
    assert "AKIAEXAMPLE" not in str(c) and "s3cr3t" not in str(c)
    assert "https://s3.example.com" in repr(c) and "'b-1'" in repr(c)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"endpoint": "s3.example.com"}, "is not http(s)://host[:port]"),
        ({"endpoint": "ftp://s3.example.com"}, "is not http(s)://host[:port]"),
        ({"endpoint": "https://s3.example.com/prefix"}, "must have no path"),
        ({"endpoint": "https://user:pw@s3.example.com"}, "must have no path nor user"),
        ({"endpoint": "https://s3.example.com:99999"}, "has an invalid port"),
        ({"uri_style": "virtual"}, "is neither 'path' nor 'host'"),
        ({"uri_style": "host", "endpoint": "http://10.0.0.1:8333"}, "need a DNS name"),
        ({"bucket": ""}, "is empty"),
        ({"bucket": "a/b"}, "holds a '/'"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused(changes: dict[str, str], words: str) -> None:
    fields: dict[str, Any] = {"endpoint": "https://s3.example.com", "bucket": "b-1"}
    fields.update(access_key="AK", secret_key="SK", **changes)
    with pytest.raises(S3Error, match=re.escape(words)):
        S3Config(**fields)


def test_a_trailing_slash_of_the_endpoint_is_tolerated() -> None:
    t = s3_client.address(S3Config("https://s3.example.com/", "b-1", "AK", "SK"), "k")
    assert (t.host, t.path) == ("s3.example.com", "/b-1/k")


def test_path_style_addresses() -> None:
    c = S3Config("http://127.0.0.1:8333", "etcd-backups", "AK", "SK")
    assert s3_client.address(c) == ("http", "127.0.0.1", 8333, "127.0.0.1:8333", "/etcd-backups")
    assert s3_client.address(c, "etcd/a b.db") == (
        "http", "127.0.0.1", 8333, "127.0.0.1:8333", "/etcd-backups/etcd/a%20b.db",
    )  # fmt: skip
    v6 = S3Config("https://[::1]:9000", "etcd-backups", "AK", "SK")
    assert s3_client.address(v6, "k") == ("https", "::1", 9000, "[::1]:9000", "/etcd-backups/k")


def test_host_style_addresses() -> None:
    c = S3Config("https://S3.Example.com", "etcd-backups", "AK", "SK", uri_style="host")
    assert s3_client.address(c) == (
        "https", "etcd-backups.s3.example.com", None, "etcd-backups.s3.example.com", "/",
    )  # fmt: skip
    with_port = S3Config("http://s3.test:8333", "bkt", "AK", "SK", uri_style="host")
    assert s3_client.address(with_port, "a/b c") == (
        "http", "bkt.s3.test", 8333, "bkt.s3.test:8333", "/a/b%20c",
    )  # fmt: skip


@pytest.mark.parametrize(
    "key, wire",
    [
        ("etcd/snapshot.db", "etcd/snapshot.db"),
        ("a b", "a%20b"),
        ("x+y", "x%2By"),
        ("2024-01-02T03:04:05Z", "2024-01-02T03%3A04%3A05Z"),
        ("p%41", "p%2541"),  # a % is a character of the key: encoded once, never decoded
        ("p%2541", "p%252541"),
        ("ünï/çødé", "%C3%BCn%C3%AF/%C3%A7%C3%B8d%C3%A9"),
        ("q?x=1#f&g", "q%3Fx%3D1%23f%26g"),
        ("dir/sub/", "dir/sub/"),
        ("-_.~", "-_.~"),
        ("(*)!'$,;@", "%28%2A%29%21%27%24%2C%3B%40"),
    ],
)
def test_keys_are_encoded_the_s3_way(key: str, wire: str) -> None:
    assert s3_client.encode_key(key) == wire


def test_the_query_sent_is_the_query_signed() -> None:
    q = s3_client.encode_query(
        {"prefix": "etcd/a b", "list-type": "2", "continuation-token": "x+y/z="}
    )
    assert q == "continuation-token=x%2By%2Fz%3D&list-type=2&prefix=etcd%2Fa%20b"
    assert s3_client.sigv4.canonical_query(q) == q


@pytest.mark.parametrize(
    "body, parsed",
    [
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>'
            b"The specified key does not exist.</Message><Key>k</Key></Error>",
            ("NoSuchKey", "The specified key does not exist."),
        ),
        (
            b'<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>AccessDenied</Code>'
            b"</Error>",
            ("AccessDenied", None),
        ),
        (b"<html><body>502 Bad Gateway</body></html>", (None, None)),
        (b"<Error><Code>Trunc", (None, None)),
        (b"", (None, None)),
        (b"Client sent an HTTP request to an HTTPS server.\n", (None, None)),
    ],
)
def test_error_bodies_are_parsed(body: bytes, parsed: tuple[str | None, str | None]) -> None:
    assert s3_client.parse_error(body) == parsed


def test_aws_s_signature_error_gives_its_code_and_message_only() -> None:
    """AWS's SignatureDoesNotMatch body also holds the string to sign, the canonical request
    and the signature provided: none of it may reach the message."""
    body = (
        b"<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
        b"calculated does not match the signature you provided.</Message><AWSAccessKeyId>"
        b"AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256</StringToSign>"
        b"<SignatureProvided>abc123</SignatureProvided><CanonicalRequest>GET</CanonicalRequest>"
        b"</Error>"
    )
    code, message = s3_client.parse_error(body)
    assert code == "SignatureDoesNotMatch"
    assert (
        message == "The request signature we calculated does not match the signature you provided."
    )


@pytest.mark.parametrize(
    "status, code, words",
    [
        (403, "InvalidAccessKeyId", "the store refused the credentials (InvalidAccessKeyId: m)"),
        (403, "SignatureDoesNotMatch", "refused the credentials (SignatureDoesNotMatch: m)"),
        (403, "AccessDenied", "refused the credentials (AccessDenied: m)"),
        (403, None, "refused the credentials (m)"),
        (404, "NoSuchBucket", "the bucket 'b-1' does not exist"),
        (404, "NoSuchKey", "there is no such object"),
        (403, "RequestTimeTooSkewed", "clock differs"),
        (400, "AuthorizationHeaderMalformed", "is the region 'us-east-1'"),
        (500, "InternalError", "HTTP 500 Reason, InternalError: m"),
        (409, "BucketAlreadyExists", "HTTP 409 Reason, BucketAlreadyExists: m"),
    ],
)
def test_failures_are_explained(status: int, code: str | None, words: str) -> None:
    c = S3Config("https://s3.example.com", "b-1", "AK", "SK")
    assert words in s3_client.explain(c, status, "Reason", code, "m")


def test_a_bucket_in_another_region_is_said_so() -> None:
    """AWS answers a request to the wrong region with 301 (400 for a HEAD) and the bucket's
    region in ``x-amz-bucket-region``."""
    c = S3Config("https://s3.example.com", "b-1", "AK", "SK", region="us-east-1")
    assert s3_client.explain(
        c, 301, "Moved Permanently", "PermanentRedirect", None, "eu-west-1"
    ) == ("HTTP 301 PermanentRedirect: the bucket is in region 'eu-west-1', not 'us-east-1'")
    assert "HTTP 400 Bad Request: the bucket is in region 'eu-west-1'" in s3_client.explain(
        c, 400, "Bad Request", None, None, "eu-west-1"
    )
    assert "region" not in s3_client.explain(c, 500, "Internal", None, None, "us-east-1")


def test_a_listing_is_parsed() -> None:
    """AWS's documented ListObjectsV2 answer (namespace, milliseconds, quoted ETag)."""
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix/><KeyCount>205</KeyCount><MaxKeys>1</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>happyface.jpg</Key><LastModified>2014-11-21T19:40:05.000Z</LastModified>
    <ETag>"70ee1738b6b21e2c8a43f3a5ab0eee71"</ETag><Size>11</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
</ListBucketResult>"""
    objects, truncated, token = s3_client.parse_listing(body)
    assert truncated and token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    assert [(o.key, o.size, o.etag) for o in objects] == [
        ("happyface.jpg", 11, "70ee1738b6b21e2c8a43f3a5ab0eee71")
    ]
    assert objects[0].last_modified.isoformat() == "2014-11-21T19:40:05+00:00"


# --- against the real server ---------------------------------------------------------------


def test_ensure_bucket_creates_the_bucket_once(server: S3Server) -> None:
    assert "made-here" not in server.filer_names("/buckets")
    c = S3Client(config(server, "made-here"))
    assert c.ensure_bucket() is True
    assert "made-here" in server.filer_names("/buckets")
    assert c.ensure_bucket() is False
    assert c.create_bucket() is False  # PUT on an existing bucket: BucketAlreadyOwnedByYou
    c.put_bytes("k", b"v")
    assert server.filer_get("/buckets/made-here/k") == b"v"


def test_a_bucket_outside_us_east_1_is_created_with_its_region(server: S3Server) -> None:
    c = S3Client(config(server, "in-eu", region="eu-west-1"))
    assert c.ensure_bucket() is True
    c.put_bytes("k", b"v")
    assert c.get_bytes("k") == b"v"
    assert "in-eu" in server.filer_names("/buckets")


def test_writing_to_a_missing_bucket_says_so(server: S3Server) -> None:
    c = S3Client(config(server, "never-made"))
    with pytest.raises(S3Error) as e:
        c.put_bytes("k", b"v")
    assert e.value.code == "NoSuchBucket"
    assert str(e.value) == (
        f"cannot upload 'k' in bucket 'never-made' at {server.endpoint}: the bucket "
        "'never-made' does not exist"
    )
    assert c.head("k") is None  # HEAD has no body: a missing bucket reads as a missing key


def test_a_20_mb_file_goes_up_and_comes_back_streamed(server: S3Server, tmp_path: Path) -> None:
    src = tmp_path / "snapshot.db"
    src.write_bytes(os.urandom(20 * MB))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    c = client(server, "round-trip")
    tracemalloc.start()
    try:
        c.put_file("etcd/2024-01-02T03:04:05Z.db", src, digest)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        dest = tmp_path / "restored.db"
        dest.write_text("an older file, replaced only by a complete download")
        dest.chmod(0o644)
        size, got = c.get_file("etcd/2024-01-02T03:04:05Z.db", dest)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (size, got) == (20 * MB, digest)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restored.db", "snapshot.db"]
    # streamed in 1 MiB chunks, never the whole 20 MiB in memory
    assert put_peak < 4 * MB and get_peak < 4 * MB, (put_peak, get_peak)
    # the stored object, read past S3 through the filer
    stored = server.filer_get("/buckets/round-trip/etcd/2024-01-02T03:04:05Z.db")
    assert hashlib.sha256(stored).hexdigest() == digest
    head = c.head("etcd/2024-01-02T03:04:05Z.db")
    assert head is not None and head.size == 20 * MB


def test_the_destination_appears_only_complete(
    server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the download runs, only a hidden temporary file beside the destination grows;
    the rename to the destination comes when every byte is written."""
    c = client(server, "rename-only")
    data = os.urandom(3 * MB)
    c.put_bytes("k.db", data, content_type="application/octet-stream")
    dest = tmp_path / "k.db"
    renames: list[tuple[str, int, bool]] = []
    replace = os.replace

    def spy(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        renames.append((Path(a).name, Path(a).stat().st_size, Path(b).exists()))
        replace(a, b)

    monkeypatch.setattr(s3_client.os, "replace", spy)
    c.get_file("k.db", dest)
    assert len(renames) == 1
    name, size, dest_existed = renames[0]
    assert name.startswith(".k.db.") and name.endswith(".part")
    assert (size, dest_existed) == (len(data), False)
    assert dest.read_bytes() == data


def test_a_missing_object_downloads_nothing(server: S3Server, tmp_path: Path) -> None:
    c = client(server, "no-object")
    with pytest.raises(S3Error) as e:
        c.get_file("nothing-here", tmp_path / "dest")
    assert (e.value.status, e.value.code) == (404, "NoSuchKey")
    assert "there is no such object" in str(e.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(S3Error) as e:
        c.get_bytes("nothing-here")
    assert e.value.code == "NoSuchKey"


def test_listing_follows_continuation_tokens_within_a_prefix(
    server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client(server, "listing")
    contents = {f"etcd/snap-{i}.db": os.urandom(100 + i) for i in range(5)}
    for key, data in contents.items():
        c.put_bytes(key, data)
    c.put_bytes("etcd-other/x", b"x")
    c.put_bytes("other/y", b"y")
    pages: list[dict[str, str]] = []
    send = c._send

    def spy(method: str, key: str | None, query: Any = None, **kw: Any) -> Any:
        if query:
            pages.append(dict(query))
        return send(method, key, query, **kw)

    monkeypatch.setattr(c, "_send", spy)
    listed = c.list("etcd/", max_keys=2)
    assert [o.key for o in listed] == sorted(contents)
    assert [(o.size, o.etag) for o in listed] == [
        (len(d), hashlib.md5(d).hexdigest()) for _, d in sorted(contents.items())
    ]
    assert len(pages) == 3  # 2 + 2 + 1
    assert "continuation-token" not in pages[0]
    assert all(p.get("continuation-token") for p in pages[1:])
    assert all(p["max-keys"] == "2" and p["prefix"] == "etcd/" for p in pages)
    assert [o.key for o in c.list("etcd")] == sorted(contents) + ["etcd-other/x"]
    assert len(c.list()) == 7
    assert c.list("none/") == []


def test_delete_removes_the_object(server: S3Server) -> None:
    c = client(server, "deleting")
    c.put_bytes("a/keep", b"1")
    c.put_bytes("a/drop", b"2")
    assert server.filer_names("/buckets/deleting/a") == ["drop", "keep"]
    c.delete("a/drop")
    assert c.head("a/drop") is None
    assert [o.key for o in c.list("a/")] == ["a/keep"]
    assert server.filer_names("/buckets/deleting/a") == ["keep"]
    c.delete("a/drop")  # gone already: no error, as S3 does


def test_head_describes_an_object_or_says_none(server: S3Server) -> None:
    c = client(server, "heads")
    assert c.head("missing") is None
    c.put_bytes("there", b"12345")
    head = c.head("there")
    assert head is not None
    assert (head.key, head.size, head.etag) == ("there", 5, hashlib.md5(b"12345").hexdigest())
    listed = c.list()[0]
    assert head.last_modified == listed.last_modified


ODD_KEYS = [
    "a b",
    "x+y",
    "etcd/2024-01-02T03:04:05Z.db",
    "p%41",
    "ünï/çødé €",
    "q?x=1#f&g=h",
    "(*)!'$,;@~",
    'quote"',
]


def test_odd_key_names_are_stored_under_their_exact_names(server: S3Server) -> None:
    c = client(server, "odd-keys")
    for key in ODD_KEYS:
        c.put_bytes(key, key.encode())
    assert sorted(o.key for o in c.list()) == sorted(ODD_KEYS)
    for key in ODD_KEYS:
        assert c.get_bytes(key) == key.encode()
        head = c.head(key)
        assert head is not None and head.size == len(key.encode())
        # the filer, without S3: the name is the key, not an encoding of it
        assert server.filer_get(f"/buckets/odd-keys/{key}") == key.encode()
    top = {k.split("/")[0] for k in ODD_KEYS}
    assert server.filer_names("/buckets/odd-keys") == sorted(top)
    assert "p%41" in top and "pA" not in server.filer_names("/buckets/odd-keys")
    for key in ODD_KEYS:
        c.delete(key)
    assert c.list() == []


@pytest.mark.parametrize("which", ["secret", "access", "read-only"])
def test_refused_credentials_are_named_without_keys(
    server: S3Server, tmp_path: Path, which: str
) -> None:
    client(server, "guarded").put_bytes("there", b"1")
    wrong_secret = "wrong-" + server.secret_key[6:]
    keys = {
        "secret": (server.access_key, wrong_secret, "SignatureDoesNotMatch"),
        "access": ("AKNOBODY" + server.access_key[8:], server.secret_key, "InvalidAccessKeyId"),
        "read-only": (server.read_only_access_key, server.read_only_secret_key, "AccessDenied"),
    }
    access_key, secret_key, code = keys[which]
    c = S3Client(config(server, "guarded", access_key=access_key, secret_key=secret_key))
    src = tmp_path / "f"
    src.write_bytes(os.urandom(2 * MB))
    attempts: list[Callable[[], object]] = [
        lambda: c.put_bytes("k", b"v"),
        lambda: c.put_file("big", src, hashlib.sha256(src.read_bytes()).hexdigest()),
    ]
    if which != "read-only":
        attempts += [lambda: c.list(), lambda: c.get_bytes("there"), lambda: c.head("there")]
        attempts += [c.ensure_bucket]
    for attempt in attempts:
        with pytest.raises(S3Error) as e:
            attempt()
        assert e.value.status == 403
        assert "the store refused the credentials" in str(e.value)
        assert e.value.code in (code, None)  # None: HEAD answers have no body
        assert_no_secret(
            e.value, server.access_key, server.secret_key, wrong_secret, access_key, secret_key
        )
    with pytest.raises(S3Error) as e:
        c.put_bytes("k", b"v")
    assert f"refused the credentials ({code}:" in str(e.value)
    assert "k" not in server.filer_names("/buckets/guarded")


def test_an_unreachable_endpoint_is_said_so() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = S3Client(S3Config(f"http://127.0.0.1:{port}", "bkt", "AK", "SK"))
    with pytest.raises(S3Error, match="connection refused") as e:
        c.ensure_bucket()
    assert str(e.value) == f"cannot reach http://127.0.0.1:{port}: connection refused"
    assert e.value.status is None
    c = S3Client(S3Config("http://no-such-host.invalid:8333", "bkt", "AK", "SK"))
    with pytest.raises(S3Error) as e:
        c.list()
    assert str(e.value).startswith(
        "cannot reach http://no-such-host.invalid:8333: cannot resolve its host name"
    )


def test_a_silent_endpoint_times_out() -> None:
    with socket.socket() as s:  # listens, never accepts: the connection opens, no answer
        s.bind(("127.0.0.1", 0))
        s.listen()
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
        c = S3Client(S3Config(endpoint, "bkt", "AK", "SK"), timeout=0.5)
        with pytest.raises(S3Error) as e:
            c.head("k")
    assert str(e.value) == f"cannot reach {endpoint}: no answer within 0.5 s"


def test_https_with_the_relation_s_ca(server: S3Server, tmp_path: Path) -> None:
    assert server.https_endpoint and server.ca_pem
    c = client(server, "over-tls", endpoint=server.https_endpoint, ca_chain=(server.ca_pem,))
    src = tmp_path / "f"
    src.write_bytes(os.urandom(MB))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    c.put_file("k", src, digest)
    assert c.get_file("k", tmp_path / "g") == (MB, digest)
    assert hashlib.sha256(server.filer_get("/buckets/over-tls/k")).hexdigest() == digest


def test_https_without_the_ca_is_refused_with_a_hint(server: S3Server, tmp_path: Path) -> None:
    """Neither the system's trust store nor another CA trusts the server."""
    assert server.https_endpoint and server.ca_pem
    other_ca = certificates(tmp_path, "127.0.0.1")[0]
    for ca_chain in ((), (other_ca,)):
        c = S3Client(config(server, "over-tls", endpoint=server.https_endpoint, ca_chain=ca_chain))
        with pytest.raises(S3Error) as e:
            c.ensure_bucket()
        assert str(e.value).startswith(
            f"the TLS certificate of {server.https_endpoint} is not trusted ("
        )
        assert str(e.value).endswith(
            "): the s3 relation's tls-ca-chain must hold the CA that signed it"
        )


def test_https_to_a_plain_http_port_and_a_bad_ca_chain(server: S3Server) -> None:
    c = S3Client(config(server, "b-1", endpoint=server.endpoint.replace("http:", "https:")))
    with pytest.raises(S3Error, match="does it speak https on that port"):
        c.head("k")
    c = S3Client(config(server, "b-1", endpoint="https://localhost:1", ca_chain=("not a PEM",)))
    with pytest.raises(S3Error, match="the tls-ca-chain holds no usable PEM certificate"):
        c.head("k")


def test_host_style_requests_reach_the_bucket(
    server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Virtual-host style, ``<bucket>.s3.test``, with the server told its domain; the name is
    resolved to the server's address here (no DNS for it)."""
    client(server, "by-host")
    port = int(server.endpoint.rsplit(":", 1)[1])
    resolve = socket.getaddrinfo
    asked: list[str] = []

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if host.endswith(".s3.test"):
            asked.append(host)
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    c = S3Client(config(server, "by-host", endpoint=f"http://s3.test:{port}", uri_style="host"))
    c.put_bytes("a b/c", b"by host")
    assert asked == ["by-host.s3.test"]
    assert [o.key for o in c.list()] == ["a b/c"]
    assert server.filer_get("/buckets/by-host/a b/c") == b"by host"
    assert client(server, "by-host").get_bytes("a b/c") == b"by host"


# --- failures only a small socket server here can stage -------------------------------------


@contextmanager
def socket_server(handle: Callable[[int, socket.socket], None]) -> Iterator[str]:
    """An endpoint whose every connection (numbered from 0) is given to ``handle``."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve() -> None:
        n = 0
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                handle(n, conn)
            n += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        srv.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        srv.close()
        thread.join(timeout=10)
        assert not thread.is_alive()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def answer(
    status: str, body: bytes = b"", close: bool = False, length: int | None = None
) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body) if length is None else length}\r\n"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


def test_a_download_cut_short_leaves_no_file(tmp_path: Path) -> None:
    def handle(n: int, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(answer("200 OK", os.urandom(MB), length=5 * MB))  # then closes

    dest = tmp_path / "restored.db"
    dest.write_bytes(b"the previous file")
    with socket_server(handle) as endpoint:
        c = S3Client(S3Config(endpoint, "bkt", "AK", "SK"))
        with pytest.raises(S3Error) as e:
            c.get_file("k", dest)
        with pytest.raises(S3Error, match="broke off after 1048576 of 5242880 bytes"):
            c.get_bytes("k")
    assert str(e.value) == (
        f"cannot download 'k' in bucket 'bkt' at {endpoint}: the transfer broke off after "
        f"{MB} of {5 * MB} bytes"
    )
    assert dest.read_bytes() == b"the previous file"
    assert [p.name for p in tmp_path.iterdir()] == ["restored.db"]


def test_an_upload_refused_before_it_was_read_gives_the_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store answers 403 after the headers and closes: the rest of the body meets a
    broken pipe, and the answer waiting on the socket is what the operator is told."""
    refusal = b"<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>"

    def handle(n: int, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(answer("403 Forbidden", refusal, close=True))

    broken: list[str] = []
    request = http.client.HTTPConnection.request

    def spy(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> None:
        try:
            request(self, *args, **kwargs)
        except OSError as e:
            broken.append(type(e).__name__)
            raise

    monkeypatch.setattr(http.client.HTTPConnection, "request", spy)
    src = tmp_path / "f"
    src.write_bytes(os.urandom(20 * MB))
    with socket_server(handle) as endpoint:
        c = S3Client(S3Config(endpoint, "bkt", "AK", "SK"))
        with pytest.raises(S3Error) as e:
            c.put_file("k", src, "0" * 64)
    assert broken and set(broken) <= {"BrokenPipeError", "ConnectionResetError"}
    assert "refused the credentials (AccessDenied: Access Denied.)" in str(e.value)


def test_keys_a_store_echoes_stay_out_of_the_message() -> None:
    access, secret = "AKIAECHOEDBACK", "echoed/secret+KEY"

    def handle(n: int, conn: socket.socket) -> None:
        read_request(conn)
        message = f"key {access} with secret {secret} refused"
        body = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        conn.sendall(answer("403 Forbidden", body.encode(), close=True))

    with socket_server(handle) as endpoint:
        c = S3Client(S3Config(endpoint, "bkt", access, secret))
        with pytest.raises(S3Error) as e:
            c.put_bytes("k", b"v")
    assert "(AccessDenied: key *** with secret *** refused)" in str(e.value)
    assert_no_secret(e.value, access, secret)


def test_a_dropped_kept_alive_connection_is_reopened_once() -> None:
    """The server closes a kept-alive connection after one answer (as an idle timeout does):
    the next request goes once more on a new connection; when that fails as well, it is
    reported, without a third try."""
    connections: list[int] = []

    def handle(n: int, conn: socket.socket) -> None:
        connections.append(n)
        if n < 2:
            read_request(conn)
            conn.sendall(answer("200 OK"))  # keep-alive, then gone

    with socket_server(handle) as endpoint:
        c = S3Client(S3Config(endpoint, "bkt", "AK", "SK"))
        c.put_bytes("a", b"1")
        c.put_bytes("b", b"2")  # connection 0 is gone: sent again on connection 1
        assert connections == [0, 1]
        with pytest.raises(S3Error) as e:
            c.put_bytes("c", b"3")  # connection 1 gone, 2 closes without answering
    assert connections == [0, 1, 2]
    assert str(e.value).startswith(
        f"cannot reach {endpoint}: it closed the connection without answering"
    )


# --- the Pythons of the charm's bases -------------------------------------------------------

ROUND_TRIP = """
import hashlib, os, sys, tempfile
from etcd_charm.s3_client import S3Client, S3Config
e = os.environ
c = S3Client(S3Config(e["S3_ENDPOINT"], e["S3_BUCKET"], e["S3_ACCESS"], e["S3_SECRET"],
                      ca_chain=(e["S3_CA"],)))
c.ensure_bucket()
d = tempfile.mkdtemp()
src = os.path.join(d, "src")
with open(src, "wb") as f:
    f.write(os.urandom(3 << 20))
with open(src, "rb") as f:
    digest = hashlib.sha256(f.read()).hexdigest()
key = "py%d.%d/ü b.db" % sys.version_info[:2]
c.put_file(key, src, digest)
assert c.get_file(key, os.path.join(d, "dest")) == (3 << 20, digest)
c.put_bytes(key + ".json", b"{}")
assert c.get_bytes(key + ".json") == b"{}"
assert [o.key for o in c.list(key)] == [key, key + ".json"]
c.delete(key + ".json")
assert c.head(key + ".json") is None
print("ok", sys.version_info[:2])
"""


def base_python(version: str) -> str | None:
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    except OSError:
        root = ""
    found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}")) if root else []
    return found[-1] if found else shutil.which(f"python{version}")


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_the_client_works_on_the_pythons_of_the_bases(server: S3Server, version: str) -> None:
    python = base_python(version)
    if python is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Python {version} (pyenv or PATH)")
        pytest.skip(f"no Python {version} (pyenv or PATH)")
    assert server.https_endpoint and server.ca_pem
    env = {
        "PATH": os.environ.get("PATH", ""),
        "S3_ENDPOINT": server.https_endpoint,
        "S3_BUCKET": "other-pythons",
        "S3_ACCESS": server.access_key,
        "S3_SECRET": server.secret_key,
        "S3_CA": server.ca_pem,
    }
    script = f"import sys; sys.path.insert(0, {str(ROOT / 'lib')!r})\n" + ROUND_TRIP
    out = subprocess.run(
        [python, "-I", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    major, minor = version.split(".")
    assert out.stdout.strip() == f"ok ({major}, {minor})"
    assert f"py{version}" in server.filer_names("/buckets/other-pythons")

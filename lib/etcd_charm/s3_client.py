"""A small S3 client with the standard library only, for the etcd charm's backups (the charm
ships no boto3: docs/backup-research.md, section 3.2). It speaks what the backups need: create
the bucket, put a file (streamed from disk, with the sha256 the caller already computed), get a
file (streamed to disk beside its destination and renamed only when complete), list with
ListObjectsV2, head, delete, and small JSON objects. Requests are signed with AWS Signature
Version 4 (:mod:`etcd_charm.sigv4`).

Every failure is an :class:`S3Error` whose message is written for an operator: what was tried,
where, and why it failed (unreachable, untrusted certificate, credentials refused, missing
bucket, or the HTTP status and S3 error code). No message holds the keys, the signature or the
``Authorization`` header. There are no retries and no sleeps, except one reconnect when a kept-
alive connection turns out to be closed by the server (every request here is idempotent).

Runs on Python 3.10 to 3.12 (Ubuntu 22.04 and 24.04).
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import http.client
import ipaddress
import os
import socket
import ssl
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from etcd_charm import sigv4
from etcd_charm.s3_errors import S3Error

#: bytes read or written at a time while streaming a file
CHUNK = 1 << 20
#: the largest object :meth:`S3Client.get_bytes` reads into memory
MAX_BYTES = 16 << 20
#: error codes by which a store says it refused the credentials
REFUSED = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
#: an error while a kept-alive connection is reused that means the server had closed it
_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True, repr=False)
class S3Config:
    """Where the store is and how to sign for it, as the ``s3`` relation gives it.

    ``endpoint``: ``http(s)://host[:port]`` without a path. ``uri_style``: ``path``
    (``endpoint/bucket/key``) or ``host`` (``bucket.host/key``). ``ca_chain``: PEM
    certificates the store's certificate must chain to; empty: the system's trust store."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    uri_style: str = "path"
    ca_chain: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise S3Error(f"the S3 endpoint {self.endpoint!r} is not http(s)://host[:port]")
        if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
            raise S3Error(f"the S3 endpoint {self.endpoint!r} must have no path nor user")
        try:
            _ = parts.port  # raises on a port that is no number or out of range
        except ValueError:
            raise S3Error(f"the S3 endpoint {self.endpoint!r} has an invalid port") from None
        if self.uri_style not in ("path", "host"):
            raise S3Error(f"the s3-uri-style {self.uri_style!r} is neither 'path' nor 'host'")
        if self.uri_style == "host" and _is_ip(parts.hostname):
            raise S3Error(f"host-style URIs need a DNS name, not {parts.hostname}")
        if not self.bucket or "/" in self.bucket:
            raise S3Error(f"the bucket name {self.bucket!r} is empty or holds a '/'")
        if not self.region:
            raise S3Error("the S3 region is empty")

    def __repr__(self) -> str:
        return (
            f"S3Config(endpoint={self.endpoint!r}, bucket={self.bucket!r}, "
            f"region={self.region!r}, uri_style={self.uri_style!r}, "
            f"ca_chain=<{len(self.ca_chain)} PEM>)"
        )


@dataclass(frozen=True)
class Object:
    """An object as a listing or HEAD reports it; ``etag`` without its quotes."""

    key: str
    size: int
    etag: str
    last_modified: datetime.datetime


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def encode_key(key: str) -> str:
    """The URI path form of an object key, as S3 and SigV4 want it: UTF-8, every byte but
    the unreserved ``A-Za-z0-9-_.~`` percent-encoded, ``/`` kept; encoded once (a ``%`` in
    a key is a character of the key: ``%2541`` on the wire)."""
    return urllib.parse.quote(key, safe="/-_.~")


def encode_query(params: Mapping[str, str]) -> str:
    """A query string with names and values encoded as SigV4 canonicalises them, sorted, so
    what is sent is what is signed."""
    return sigv4.canonical_query(
        "&".join(
            f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
            for k, v in params.items()
        )
    )


class Target(NamedTuple):
    """Where a request goes: ``hostname`` and ``port`` to connect to (port None: the
    scheme's default), the ``Host`` header (with the port when the endpoint names one) and the
    URI path (encoded once: sent and signed as is)."""

    scheme: str
    hostname: str
    port: int | None
    host: str
    path: str


def address(config: S3Config, key: str = "") -> Target:
    """The target of a request to the bucket (``key`` empty) or to an object.

    Path style: ``Host: <endpoint host>``, path ``/<bucket>/<key>``; host style:
    ``Host: <bucket>.<endpoint host>``, path ``/<key>``."""
    parts = urllib.parse.urlsplit(config.endpoint)
    hostname = (parts.hostname or "").lower()
    if config.uri_style == "host":
        hostname = f"{config.bucket}.{hostname}"
        path = "/" + encode_key(key)
    else:
        path = f"/{encode_key(config.bucket)}" + (f"/{encode_key(key)}" if key else "")
    host = f"[{hostname}]" if ":" in hostname else hostname
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return Target(parts.scheme, hostname, parts.port, host, path)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_error(body: bytes) -> tuple[str | None, str | None]:
    """(Code, Message) of an S3 XML error body; (None, None) when it is none (empty, HTML
    from a proxy, or truncated)."""
    if not body.strip():
        return None, None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    if _local(root.tag) != "Error":
        return None, None
    found = {_local(e.tag): (e.text or "").strip() for e in root}
    return found.get("Code") or None, found.get("Message") or None


def explain(
    config: S3Config,
    status: int,
    reason: str,
    code: str | None,
    message: str | None,
    bucket_region: str | None = None,
) -> str:
    """Why an S3 answer is a failure, for an operator (who is told the endpoint beside it).
    ``bucket_region``: the region AWS says the bucket is in (``x-amz-bucket-region``)."""
    said = f"{code}: {message}" if code and message else code or message or ""
    if bucket_region and bucket_region != config.region:
        return (
            f"HTTP {status} {said or reason}: the bucket is in region {bucket_region!r}, not "
            f"{config.region!r}"
        )
    if status == 403 and (code in REFUSED or code is None):
        what = f" ({said})" if said else " (HTTP 403, no error code)"
        return (
            f"the store refused the credentials{what}: check the access key and secret key, "
            f"and that they may use bucket {config.bucket!r}"
        )
    if code == "NoSuchBucket":
        return f"the bucket {config.bucket!r} does not exist"
    if code == "NoSuchKey":
        return "there is no such object"
    if code == "RequestTimeTooSkewed":
        return f"{said} (this machine's clock differs too much from the store's)"
    if code in ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraint"):
        return f"HTTP {status} {said} (is the region {config.region!r} the bucket's?)"
    return f"HTTP {status} {reason}" + (f", {said}" if said else "")


def _scrub(text: str, config: S3Config) -> str:
    """``text`` without the keys, should a server have echoed one."""
    for secret in (config.secret_key, config.access_key):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


class S3Client:
    """Requests to one bucket of one store, over one kept-alive connection (not thread-safe:
    one client per thread)."""

    def __init__(self, config: S3Config, timeout: float = 60.0) -> None:
        self.config = config
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._ssl: ssl.SSLContext | None = None

    # --- connection -------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        """The TLS context: only the relation's CAs when it gives some (as a CA file would),
        else the system's trust store."""
        if self._ssl is None:
            if self.config.ca_chain:
                pem = "\n".join(p.strip() for p in self.config.ca_chain) + "\n"
                try:
                    self._ssl = ssl.create_default_context(cadata=pem)
                except (ssl.SSLError, ValueError) as e:
                    raise S3Error(f"the tls-ca-chain holds no usable PEM certificate: {e}") from e
            else:
                self._ssl = ssl.create_default_context()
        return self._ssl

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """The connection to use and whether it was already open (kept alive)."""
        if self._conn is None:
            t = address(self.config)
            if t.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    t.hostname, t.port, timeout=self.timeout, context=self._context(),
                    blocksize=CHUNK,
                )  # fmt: skip
            else:
                self._conn = http.client.HTTPConnection(
                    t.hostname, t.port, timeout=self.timeout, blocksize=CHUNK
                )
        if self._conn.sock is not None:
            return self._conn, True
        try:
            self._conn.connect()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise self._unreachable(e) from None
        return self._conn, False

    def close(self) -> None:
        """Close the kept-alive connection (a later request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> S3Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unreachable(self, e: BaseException) -> S3Error:
        """The connection-level failure ``e`` as an operator reads it."""
        where = self.config.endpoint
        if isinstance(e, ssl.SSLCertVerificationError):
            detail = e.verify_message or str(e)
            if "mismatch" in detail.lower():
                return S3Error(
                    f"the TLS certificate of {where} does not match its host name ({detail})"
                )
            return S3Error(
                f"the TLS certificate of {where} is not trusted ({detail}): the s3 "
                "relation's tls-ca-chain must hold the CA that signed it"
            )
        if isinstance(e, ssl.SSLError):
            return S3Error(
                f"TLS with {where} failed ({e.reason or e}): does it speak https on that port?"
            )
        if isinstance(e, socket.gaierror):
            reason = f"cannot resolve its host name ({e.strerror})"
        elif isinstance(e, ConnectionRefusedError):
            reason = "connection refused"
        elif isinstance(e, TimeoutError):  # socket.timeout is TimeoutError since 3.10
            reason = f"no answer within {self.timeout:g} s"
        elif isinstance(e, http.client.RemoteDisconnected):
            reason = "it closed the connection without answering"
        elif isinstance(e, (BrokenPipeError, ConnectionResetError)):
            reason = f"it closed the connection without answering ({e.strerror or e})"
        elif isinstance(e, http.client.HTTPException):
            reason = f"broken HTTP exchange ({type(e).__name__}: {e})"
        else:
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        return S3Error(f"cannot reach {where}: {reason}")

    # --- requests ---------------------------------------------------------------------------

    def _signed(
        self, method: str, t: Target, query: str, payload_hash: str, extra: Mapping[str, str]
    ) -> dict[str, str]:
        """The request's headers, signed: ``Host``, ``x-amz-content-sha256`` and
        ``x-amz-date`` are signed; ``extra`` (length, type) is sent unsigned."""
        now = datetime.datetime.now(datetime.timezone.utc)
        signed = {
            "Host": t.host,
            "x-amz-content-sha256": payload_hash,
            "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
        }
        auth = sigv4.authorization(
            method, t.path, query, signed, payload_hash,
            self.config.access_key, self.config.secret_key, self.config.region, "s3", now,
        )  # fmt: skip
        return {**signed, **extra, "Authorization": auth}

    def _send(
        self,
        method: str,
        key: str | None,
        query: Mapping[str, str] | None = None,
        body: bytes | BinaryIO | None = None,
        payload_hash: str = sigv4.EMPTY_SHA256,
        extra: Mapping[str, str] | None = None,
    ) -> http.client.HTTPResponse:
        """Send one request; its response comes back with the body unread. ``key`` None:
        the bucket itself. A file ``body`` is streamed from its current position (rewound
        there for the reconnect).

        A kept-alive connection the server has closed in the meantime fails at once (reset,
        broken pipe, or closed before any answer): then the request is sent once more on a
        new connection. A store may also answer an upload early (a refusal) and close before
        reading the whole body: that answer is read rather than the broken pipe reported."""
        if key is not None and not key:
            raise ValueError("an object key must not be empty")
        t = address(self.config, key or "")
        qs = encode_query(query or {})
        headers = self._signed(method, t, qs, payload_hash, extra or {})
        target = t.path + (f"?{qs}" if qs else "")
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        for attempt in (1, 2):
            conn, reused = self._connection()
            broken: OSError | None = None
            try:
                if body is not None and not isinstance(body, bytes):
                    body.seek(start)
                conn.request(method, target, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError) as e:
                broken = e
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise self._unreachable(e) from None
            if broken is not None and reused and attempt == 1:
                self.close()
                continue
            try:
                return conn.getresponse()
            except _DROPPED as e:
                self.close()
                if reused and attempt == 1 and broken is None:
                    continue
                raise self._unreachable(broken or e) from None
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise self._unreachable(e) from None
        raise AssertionError("not reached")  # pragma: no cover

    def _read(self, r: http.client.HTTPResponse) -> bytes:
        """The whole (small) body of a response."""
        try:
            return r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise self._unreachable(e) from None

    def _fail(
        self, r: http.client.HTTPResponse, action: str, body: bytes | None = None
    ) -> S3Error:
        """The S3Error for a failed answer to ``action``; the body is read here (its first
        64 KiB: an error document is small) if not given."""
        if body is None:
            try:
                body = r.read(64 << 10)
            except (OSError, http.client.HTTPException):
                body = b""
            if not r.isclosed():
                self.close()  # the rest of the body is not worth reading
        code, message = parse_error(body)
        if code is None:  # a HEAD answer has no body; some stores say it in a header
            code = r.getheader("x-amz-error-code") or r.getheader("x-minio-error-code")
        text = body[:200].decode("utf-8", "replace").strip()
        if code is None and message is None and text and not text.startswith("<"):
            message = text.splitlines()[0]  # plain text (not XML nor HTML): its first line
        region = r.getheader("x-amz-bucket-region")
        why = explain(self.config, r.status, r.reason, code, message, region)
        text = " ".join(_scrub(f"{action}: {why}", self.config).split())
        return S3Error(text[:1000], status=r.status, code=code)

    def _where(self, key: str | None = None) -> str:
        if key is None:
            return f"bucket {self.config.bucket!r} at {self.config.endpoint}"
        return f"{key!r} in bucket {self.config.bucket!r} at {self.config.endpoint}"

    # --- operations -------------------------------------------------------------------------

    def ensure_bucket(self) -> bool:
        """Make sure the bucket exists: HEAD it, create it if missing. True if this call
        created it (False also when another creator won the race: BucketAlreadyOwnedByYou)."""
        r = self._send("HEAD", None)
        self._read(r)
        if 200 <= r.status < 300:
            return False
        if r.status != 404:
            raise self._fail(r, f"cannot check {self._where()}", b"")
        return self.create_bucket()

    def create_bucket(self) -> bool:
        """PUT the bucket; True if created, False if it was already ours."""
        body = b""
        if self.config.region != "us-east-1":  # AWS wants the region said, except this one
            body = (
                f'<CreateBucketConfiguration xmlns="{_NS[1:-1]}"><LocationConstraint>'
                f"{self.config.region}</LocationConstraint></CreateBucketConfiguration>"
            ).encode()
        r = self._send(
            "PUT", None, body=body, payload_hash=hashlib.sha256(body).hexdigest(),
            extra={"Content-Length": str(len(body))},
        )  # fmt: skip
        data = self._read(r)
        if 200 <= r.status < 300:
            return True
        if parse_error(data)[0] == "BucketAlreadyOwnedByYou":
            return False
        raise self._fail(r, f"cannot create {self._where()}", data)

    def put_file(self, key: str, path: str | os.PathLike[str], sha256_hex: str) -> None:
        """Upload the file at ``path`` as ``key``, streamed from disk; ``sha256_hex`` is the
        file's sha256, computed by the caller, sent as ``x-amz-content-sha256`` (a store that
        checks it refuses a file that changed since; SeaweedFS does not check)."""
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            extra = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
            r = self._send("PUT", key, body=f, payload_hash=sha256_hex, extra=extra)
        data = self._read(r)
        if not 200 <= r.status < 300:
            raise self._fail(r, f"cannot upload {self._where(key)}", data)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/json") -> None:
        """Upload a small object held in memory (a JSON document, for instance)."""
        extra = {"Content-Length": str(len(data)), "Content-Type": content_type}
        digest = hashlib.sha256(data).hexdigest()
        r = self._send("PUT", key, body=data, payload_hash=digest, extra=extra)
        body = self._read(r)
        if not 200 <= r.status < 300:
            raise self._fail(r, f"cannot upload {self._where(key)}", body)

    def get_file(self, key: str, dest: str | os.PathLike[str]) -> tuple[int, str]:
        """Download ``key`` to ``dest`` (mode 0600): streamed into a temporary file beside it,
        hashed on the way, and renamed to ``dest`` only once complete, so ``dest`` is never a
        partial file (one already there stays as it was on failure). Returns (size, sha256
        hex) of what was received: the caller compares it with what it expects."""
        dest = Path(dest)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                size, digest = self._stream(key, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size, digest

    def _stream(self, key: str, out: BinaryIO) -> tuple[int, str]:
        """GET ``key`` into ``out``: (size, sha256 hex), checked against Content-Length
        (http.client's chunked reads do not notice a body cut short)."""
        r = self._send("GET", key)
        if r.status != 200:
            raise self._fail(r, f"cannot download {self._where(key)}")
        expected = r.getheader("Content-Length")
        digest, size = hashlib.sha256(), 0
        while True:
            try:
                chunk = r.read(CHUNK)
            except (OSError, http.client.HTTPException) as e:
                self.close()
                raise S3Error(
                    f"cannot download {self._where(key)}: the transfer broke off after {size} "
                    f"bytes ({self._unreachable(e)})"
                ) from None
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        if expected is not None and int(expected) != size:
            self.close()
            raise S3Error(
                f"cannot download {self._where(key)}: the transfer broke off after {size} of "
                f"{expected} bytes"
            )
        return size, digest.hexdigest()

    def get_bytes(self, key: str, limit: int = MAX_BYTES) -> bytes:
        """A small object's content. S3Error if it is larger than ``limit`` bytes, or missing
        (``code`` NoSuchKey, ``status`` 404)."""
        r = self._send("GET", key)
        if r.status != 200:
            raise self._fail(r, f"cannot download {self._where(key)}")
        expected = r.getheader("Content-Length")
        if expected is not None and int(expected) > limit:
            self.close()
            raise S3Error(f"{self._where(key)} is {expected} bytes, more than {limit} expected")
        try:
            data = r.read(limit + 1)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise self._unreachable(e) from None
        if not r.isclosed():
            self.close()
        if len(data) > limit:
            raise S3Error(f"{self._where(key)} is more than {limit} bytes")
        if expected is not None and int(expected) != len(data):
            raise S3Error(
                f"cannot download {self._where(key)}: the transfer broke off after "
                f"{len(data)} of {expected} bytes"
            )
        return data

    def head(self, key: str) -> Object | None:
        """The object ``key`` as the store describes it, or None if there is none. (A HEAD
        answer has no body: a missing bucket also reads as None.)"""
        r = self._send("HEAD", key)
        self._read(r)
        if r.status == 404:
            return None
        if r.status != 200:
            raise self._fail(r, f"cannot look up {self._where(key)}", b"")
        modified = r.getheader("Last-Modified")
        return Object(
            key=key,
            size=int(r.getheader("Content-Length") or 0),
            etag=(r.getheader("ETag") or "").strip('"'),
            last_modified=(
                email.utils.parsedate_to_datetime(modified) if modified else _timestamp("")
            ),
        )

    def delete(self, key: str) -> None:
        """Delete ``key`` (no error if it does not exist, as S3 does)."""
        r = self._send("DELETE", key)
        data = self._read(r)
        if not 200 <= r.status < 300:
            raise self._fail(r, f"cannot delete {self._where(key)}", data)

    def list(self, prefix: str = "", max_keys: int = 1000) -> list[Object]:
        """Every object whose key starts with ``prefix``, in key order, read by ListObjectsV2
        pages of up to ``max_keys``, each asked with the previous one's continuation token."""
        found: list[Object] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            query = {"list-type": "2", "max-keys": str(max_keys), "prefix": prefix}
            if token is not None:
                query["continuation-token"] = token
            r = self._send("GET", None, query=query)
            data = self._read(r)
            if r.status != 200:
                raise self._fail(r, f"cannot list {prefix!r} in {self._where()}", data)
            objects, truncated, token = parse_listing(data)
            found.extend(objects)
            if not truncated:
                return found
            if not token or token in seen:
                raise S3Error(
                    f"cannot list {prefix!r} in {self._where()}: the store says the listing "
                    "goes on but gives no new continuation token"
                )
            seen.add(token)


def _timestamp(text: str) -> datetime.datetime:
    """A time as S3 lists it (``2024-01-02T03:04:05.000Z``, always UTC), to the second; the
    epoch if there is none."""
    text = text.strip()
    if not text:
        return datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
    try:
        value = datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise S3Error(f"the store's listing has an unreadable time {text!r}") from None
    return value.replace(tzinfo=datetime.timezone.utc)


def parse_listing(body: bytes) -> tuple[list[Object], bool, str | None]:
    """(objects, truncated, next continuation token) of a ListObjectsV2 answer."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise S3Error(f"the store's listing is not XML ({e})") from None
    objects: list[Object] = []
    truncated, token = False, None
    for element in root:
        name = _local(element.tag)
        if name == "IsTruncated":
            truncated = (element.text or "").strip().lower() == "true"
        elif name == "NextContinuationToken":
            token = element.text or None
        elif name == "Contents":
            fields = {_local(e.tag): e.text or "" for e in element}
            objects.append(
                Object(
                    key=fields.get("Key", ""),
                    size=int(fields.get("Size") or 0),
                    etag=fields.get("ETag", "").strip('"'),
                    last_modified=_timestamp(fields.get("LastModified", "")),
                )
            )
    return objects, truncated, token

"""A minimal etcd v3 client over etcd's JSON gRPC-gateway (HTTPS + client certificate).

Standard library only (http.client + ssl), so it runs under the host's Debian Python
(``/usr/libexec/localjuju/python3``) on a machine. The built-in etcd-client charm's
``src/etcd_gateway.py`` is a symlink here, resolved when the local model deploys the charm (the
deployed charm directory is self-contained); the tests' continuous-writes checker
(``tests/writes.py``) imports it as ``localjuju.charms.etcd_gateway``.

Works with etcd 3.4 and 3.5, which both serve the gateway under ``/v3/`` on the client URLs:
``POST /v3/kv/put`` and ``POST /v3/kv/range`` with base64 keys and values; int64 fields come
back as JSON strings.

Each call tries the endpoints in turn, starting with the one that answered last, and fails over
on connection errors, timeouts and 5xx answers (etcd maps Unavailable/DeadlineExceeded to
503/504). A 4xx answer is the request's own fault and is raised at once.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

RETRYABLE_STATUS = {408, 429, 499}
DEADLINE_REACHED = "deadline reached"


class EtcdError(RuntimeError):
    """A request failed; `retryable` is False for requests etcd rejected as invalid."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class KeyValue:
    key: bytes
    value: bytes
    mod_revision: int
    create_revision: int
    version: int


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def prefix_range_end(prefix: bytes) -> bytes:
    """etcd's range_end for "every key starting with prefix" (clientv3.GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class Gateway:
    """Client for a list of etcd client URLs (``https://10.0.0.1:2379``)."""

    def __init__(
        self,
        endpoints: Sequence[str],
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not endpoints:
            raise EtcdError("no etcd endpoints", retryable=False)
        self.endpoints = list(endpoints)
        self.timeout = timeout
        self._current = 0
        self._conns: dict[int, http.client.HTTPConnection] = {}
        self._context: ssl.SSLContext | None = None
        if any(e.startswith("https://") for e in self.endpoints):
            ctx = ssl.create_default_context(cafile=ca_file)
            if cert_file and key_file:
                ctx.load_cert_chain(cert_file, key_file)
            self._context = ctx

    # -----------------------------------------------------------------------------------------
    # Transport

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def current_endpoint(self) -> str:
        return self.endpoints[self._current]

    def _connection(self, index: int, timeout: float) -> http.client.HTTPConnection:
        conn = self._conns.get(index)
        if conn is None:
            url = urlsplit(self.endpoints[index])
            host = url.hostname or ""
            if url.scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, url.port or 2379, timeout=timeout, context=self._context
                )
            else:
                conn = http.client.HTTPConnection(host, url.port or 2379, timeout=timeout)
            self._conns[index] = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop(self, index: int) -> None:
        conn = self._conns.pop(index, None)
        if conn is not None:
            conn.close()

    def _post_once(self, index: int, path: str, body: bytes, timeout: float) -> dict[str, Any]:
        conn = self._connection(index, timeout)
        reused = conn.sock is not None
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The server closed an idle keep-alive connection: once more on a fresh one.
            self._drop(index)
            conn = self._connection(index, timeout)
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            try:
                detail = json.loads(data).get("message") or json.loads(data).get("error")
            except (ValueError, AttributeError):
                detail = data[:200].decode(errors="replace")
            retryable = resp.status >= 500 or resp.status in RETRYABLE_STATUS
            if retryable:
                self._drop(index)
            raise EtcdError(
                f"{self.endpoints[index]}{path}: HTTP {resp.status}: {detail}", retryable
            )
        return dict(json.loads(data or b"{}"))

    def post(self, path: str, payload: dict[str, Any], deadline: float | None = None) -> dict:
        """POST to the first endpoint that answers; raise EtcdError when none does."""
        body = json.dumps(payload).encode()
        errors = []
        for attempt in range(len(self.endpoints)):
            index = (self._current + attempt) % len(self.endpoints)
            timeout = self.timeout
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    errors.append(DEADLINE_REACHED)
                    break
            try:
                result = self._post_once(index, path, body, timeout)
            except EtcdError as exc:
                if not exc.retryable:
                    raise
                errors.append(str(exc))
                continue
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self._drop(index)
                errors.append(f"{self.endpoints[index]}: {type(exc).__name__}: {exc}")
                continue
            self._current = index
            return result
        self._current = (self._current + 1) % len(self.endpoints)
        raise EtcdError("; ".join(errors) or "no endpoint answered")

    # -----------------------------------------------------------------------------------------
    # KV

    def put(self, key: bytes | str, value: bytes | str, deadline: float | None = None) -> int:
        """Store key=value; returns the revision of the write (the response header's)."""
        result = self.post("/v3/kv/put", {"key": b64(key), "value": b64(value)}, deadline)
        return _int(result.get("header", {}).get("revision"))

    def get(self, key: bytes | str, deadline: float | None = None) -> tuple[KeyValue | None, int]:
        """(the key's KeyValue or None, the store revision of the read)."""
        result = self.post("/v3/kv/range", {"key": b64(key)}, deadline)
        kvs = [self._kv(kv) for kv in result.get("kvs") or []]
        return (kvs[0] if kvs else None), _int(result.get("header", {}).get("revision"))

    def range(
        self,
        start: bytes,
        end: bytes,
        limit: int = 1000,
        deadline: float | None = None,
    ) -> tuple[list[KeyValue], bool, int]:
        """Keys in [start, end) up to `limit`: (kvs sorted by key, more, store revision)."""
        payload = {"key": b64(start), "range_end": b64(end), "limit": limit}
        result = self.post("/v3/kv/range", payload, deadline)
        kvs = [self._kv(kv) for kv in result.get("kvs") or []]
        return kvs, bool(result.get("more")), _int(result.get("header", {}).get("revision"))

    def scan_prefix(
        self, prefix: bytes, page: int = 1000, deadline: float | None = None
    ) -> tuple[list[KeyValue], int]:
        """Every key under `prefix`, paged; returns (kvs, revision of the last page)."""
        end = prefix_range_end(prefix)
        start = prefix
        out: list[KeyValue] = []
        revision = 0
        while True:
            kvs, more, revision = self.range(start, end, page, deadline)
            out.extend(kvs)
            if not more or not kvs:
                return out, revision
            start = kvs[-1].key + b"\x00"

    @staticmethod
    def _kv(raw: dict[str, Any]) -> KeyValue:
        return KeyValue(
            key=unb64(raw.get("key")),
            value=unb64(raw.get("value")),
            mod_revision=_int(raw.get("mod_revision")),
            create_revision=_int(raw.get("create_revision")),
            version=_int(raw.get("version")),
        )

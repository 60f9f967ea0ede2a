#!/usr/bin/python3
"""Hook and action entry point of the built-in etcd-client charm (run by ../dispatch).

Hooks: every hook reads the ``etcd`` relation as kubernetes-control-plane's library does (one
remote unit's bucket, see etcd_client_core), records what that unit published into
/var/lib/etcd-client/ (ca.crt, client.crt, client.key 0600, connection.json) and sets the status.
Actions (put, get, show, write-loop, check) talk to etcd through its JSON gateway using the
recorded files, trying each endpoint of the connection string in turn.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import etcd_client_core as core  # noqa: E402
import etcd_gateway as gw  # noqa: E402
import hooktools as ht  # noqa: E402

ENDPOINT = "etcd"
# Only set by tests: a directory standing in for "/" (Juju passes no such variable).
ROOT = Path(os.environ.get("ETCD_CLIENT_ROOT", "/"))
CA_FILE = "ca.crt"
CERT_FILE = "client.crt"
KEY_FILE = "client.key"
CONNECTION_FILE = "connection.json"


def data_dir() -> Path:
    return ROOT / "var/lib/etcd-client"


# ---------------------------------------------------------------------------------------------
# Files


def write_file(path: Path, content: str, mode: int) -> bool:
    """Atomically write `content` with `mode` unless it is already there; True if written."""
    if path.exists() and path.read_text() == content and (path.stat().st_mode & 0o777) == mode:
        return False
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


def remove_file(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def record(
    conn: core.Connection, relation_ids: list[str], units: list[str], unit: str
) -> list[str]:
    """Write what etcd published (as ``unit``, the one remote unit read); returns the names of
    the files that changed."""
    directory = data_dir()
    changed = []
    for name, content, mode in (
        (CA_FILE, conn.client_ca, 0o644),
        (CERT_FILE, conn.client_cert, 0o644),
        (KEY_FILE, conn.client_key, 0o600),
    ):
        path = directory / name
        if content:
            if write_file(path, content, mode):
                changed.append(name)
        elif remove_file(path):
            changed.append(name)
    summary = dict(conn.summary(), relation_ids=relation_ids, units=units, unit=unit)
    if write_file(directory / CONNECTION_FILE, core.dumps(summary), 0o644):
        changed.append(CONNECTION_FILE)
    return changed


def forget() -> list[str]:
    directory = data_dir()
    return [
        name
        for name in (CA_FILE, CERT_FILE, KEY_FILE, CONNECTION_FILE)
        if remove_file(directory / name)
    ]


# ---------------------------------------------------------------------------------------------
# Hooks


def run_hook(hook: str) -> None:  # every hook does the same
    relation = core.the_relation(ENDPOINT, ht.live_relations(ENDPOINT))
    rid, units = relation if relation is not None else ("", [])
    unit = core.pick_unit(units)
    data = ht.relation_get(rid, unit) if unit else {}
    conn = core.Connection.from_remote(core.remote_values(data))
    if relation is not None:
        changed = record(conn, [rid], list(units), unit)
    else:
        changed = forget()
    if changed:
        ht.log(f"etcd-client: updated {', '.join(changed)} in {data_dir()}")
    status, message = core.status_for(relation is not None, conn)
    ht.status_set(status, message)


# ---------------------------------------------------------------------------------------------
# Actions


def load_connection() -> tuple[core.Connection, Path]:
    directory = data_dir()
    try:
        summary = json.loads((directory / CONNECTION_FILE).read_text())
    except FileNotFoundError:
        raise core.ParamError("not related to etcd: relate this application to etcd") from None
    conn = core.Connection(
        connection_string=summary.get("connection_string", ""),
        version=summary.get("version", ""),
        endpoints=list(summary.get("endpoints") or []),
    )
    if not conn.endpoints or not summary.get("tls"):
        raise core.ParamError("etcd has not published its connection string and client TLS yet")
    return conn, directory


def gateway(timeout: float = 5.0) -> tuple[gw.Gateway, core.Connection]:
    conn, directory = load_connection()
    client = gw.Gateway(
        conn.endpoints,
        ca_file=str(directory / CA_FILE),
        cert_file=str(directory / CERT_FILE),
        key_file=str(directory / KEY_FILE),
        timeout=timeout,
    )
    return client, conn


def action_show(params: dict[str, Any]) -> dict[str, Any]:
    conn, _ = load_connection()
    return {
        "connection-string": conn.connection_string,
        "version": conn.version,
        "endpoints": len(conn.endpoints),
    }


def action_put(params: dict[str, Any]) -> dict[str, Any]:
    key = core.require_str(params, "key")
    value = core.require_str(params, "value", allow_empty=True)
    client, _ = gateway()
    with client:
        revision = client.put(key, value)
        return {"revision": revision, "endpoint": client.current_endpoint}


def action_get(params: dict[str, Any]) -> dict[str, Any]:
    key = core.require_str(params, "key")
    client, _ = gateway()
    with client:
        kv, store_revision = client.get(key)
    if kv is None:
        return {"found": "false", "value": "", "revision": 0, "store-revision": store_revision}
    return {
        "found": "true",
        "value": kv.value.decode(errors="replace"),
        "revision": kv.mod_revision,
        "create-revision": kv.create_revision,
        "store-revision": store_revision,
    }


def action_write_loop(params: dict[str, Any]) -> dict[str, Any]:
    prefix = core.loop_prefix(str(params.get("prefix", "write-loop")))
    count = core.bounded_int(params, "count", 1000, 1, core.MAX_WRITE_COUNT)
    timeout = core.bounded_float(params, "timeout", 60.0, 0.0, core.MAX_TIMEOUT)
    client, _ = gateway()
    start = time.monotonic()
    deadline = start + timeout
    acked = errors = last_revision = 0
    first_error = last_error = ""
    with client:
        while acked < count and time.monotonic() < deadline:
            try:
                last_revision = client.put(
                    core.loop_key(prefix, acked), core.loop_value(prefix, acked), deadline
                )
                acked += 1
            except gw.EtcdError as exc:
                if time.monotonic() >= deadline and str(exc) == gw.DEADLINE_REACHED:
                    break  # no attempt was made: the time was up
                errors += 1
                last_error = str(exc)[:500]
                first_error = first_error or last_error
                if not exc.retryable:
                    break
                time.sleep(max(0.0, min(0.2, deadline - time.monotonic())))
    elapsed = time.monotonic() - start
    ht.log(
        f"write-loop {prefix}: {acked}/{count} acknowledged, {errors} errors, "
        f"last revision {last_revision}, {elapsed:.1f}s"
    )
    results: dict[str, Any] = {
        "acknowledged": acked,
        "requested": count,
        "complete": "true" if acked == count else "false",
        "last-revision": last_revision,
        "errors": errors,
        "elapsed": f"{elapsed:.3f}",
    }
    if first_error:
        results["first-error"] = first_error
        results["last-error"] = last_error
    return results


def action_check(params: dict[str, Any]) -> dict[str, Any]:
    prefix = core.loop_prefix(str(params.get("prefix", "write-loop")))
    count = core.bounded_int(params, "count", 1000, 0, core.MAX_WRITE_COUNT)
    timeout = core.bounded_float(params, "timeout", 60.0, 0.0, core.MAX_TIMEOUT)
    client, _ = gateway()
    with client:
        kvs, revision = client.scan_prefix(
            (prefix + "/").encode(), deadline=time.monotonic() + timeout
        )
    found = {kv.key.decode(errors="replace"): kv.value.decode(errors="replace") for kv in kvs}
    missing = core.missing_indices(prefix, count, found)
    ht.log(f"check {prefix}: {count - len(missing)}/{count} readable, {len(missing)} missing")
    results: dict[str, Any] = {
        "missing": len(missing),
        "checked": count,
        "found": len(found),
        "revision": revision,
    }
    if missing:
        results["missing-keys"] = ",".join(core.loop_key(prefix, i) for i in missing[:10])
    return results


ACTIONS = {
    "show": action_show,
    "put": action_put,
    "get": action_get,
    "write-loop": action_write_loop,
    "check": action_check,
}


def run_action(name: str) -> None:
    handler = ACTIONS.get(name)
    if handler is None:
        ht.action_fail(f"Action {name} undefined")
        return
    params = ht.action_get()
    try:
        results = handler(params)
    except core.ParamError as exc:
        ht.action_fail(f"{name}: {exc}")
        return
    except gw.EtcdError as exc:
        ht.log(f"{name}: etcd request failed: {exc}", "ERROR")
        ht.action_fail(f"{name}: etcd request failed: {exc}")
        return
    ht.action_set(results)


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))

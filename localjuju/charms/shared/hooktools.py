"""Thin wrappers around the Juju hook tools (run as subprocesses, found on PATH).

The one copy shared by the built-in charms (easyrsa, etcd-client): each charm's
``src/hooktools.py`` is a symlink here, resolved when the local model deploys the charm, so the
deployed charm directory is self-contained. Only the standard library and PyYAML are
used, so it runs under the host's Debian Python (``/usr/libexec/localjuju/python3``).

No function here logs the values it reads or writes: relation data and leader settings carry
private keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml


class HookToolError(RuntimeError):
    """A hook tool exited non-zero; the message names the tool and quotes its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"{argv[0]} failed (exit {returncode}): {self.stderr or 'no error text'}")


def run(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run one hook tool and return its stdout; raise HookToolError on a non-zero exit."""
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise HookToolError(argv, 127, f"hook tool not found on PATH: {exc}") from exc
    if proc.returncode != 0:
        raise HookToolError(argv, proc.returncode, proc.stderr)
    return proc.stdout


def run_json(argv: Sequence[str]) -> Any:
    """Run a tool that was given --format=json and decode its output (empty output -> None)."""
    out = run(argv).strip()
    if not out:
        return None
    return json.loads(out)


# ---------------------------------------------------------------------------------------------
# Environment


def unit_name() -> str:
    return os.environ.get("JUJU_UNIT_NAME", "")


def app_name() -> str:
    return unit_name().split("/")[0]


def charm_dir() -> str:
    return os.environ.get("JUJU_CHARM_DIR") or os.environ.get("CHARM_DIR") or os.getcwd()


def dispatch_path() -> str:
    """`hooks/<hook>` or `actions/<action>`; falls back to JUJU_HOOK_NAME / JUJU_ACTION_NAME."""
    path = os.environ.get("JUJU_DISPATCH_PATH", "")
    if path:
        return path
    if os.environ.get("JUJU_ACTION_NAME"):
        return "actions/" + os.environ["JUJU_ACTION_NAME"]
    return "hooks/" + os.environ.get("JUJU_HOOK_NAME", "")


def hook_name() -> str:
    kind, _, name = dispatch_path().partition("/")
    return name if kind == "hooks" else ""


def action_name() -> str:
    kind, _, name = dispatch_path().partition("/")
    return name if kind == "actions" else ""


def current_relation_id() -> str:
    return os.environ.get("JUJU_RELATION_ID", "")


def remote_unit() -> str:
    return os.environ.get("JUJU_REMOTE_UNIT", "")


# ---------------------------------------------------------------------------------------------
# Logging and status


def log(message: str, level: str = "INFO") -> None:
    """juju-log; never raises (logging must not fail a hook)."""
    try:
        run(["juju-log", "-l", level, message])
    except HookToolError:
        pass


def status_set(status: str, message: str = "") -> None:
    run(["status-set", status, message])


def application_version_set(version: str) -> None:
    run(["application-version-set", version])


# ---------------------------------------------------------------------------------------------
# Leadership


def is_leader() -> bool:
    return bool(run_json(["is-leader", "--format=json"]))


def leader_get() -> dict[str, str]:
    data = run_json(["leader-get", "--format=json", "-"])
    return {str(k): str(v) for k, v in (data or {}).items()}


def leader_set(settings: Mapping[str, str | None]) -> None:
    """Set leader settings; None or "" deletes a key. Values may contain newlines."""
    if not settings:
        return
    run(["leader-set"] + [f"{k}={'' if v is None else v}" for k, v in settings.items()])


# ---------------------------------------------------------------------------------------------
# Relations


def relation_ids(endpoint: str) -> list[str]:
    return [str(r) for r in run_json(["relation-ids", "--format=json", endpoint]) or []]


def relation_list(relation_id: str) -> list[str]:
    return [str(u) for u in run_json(["relation-list", "--format=json", "-r", relation_id]) or []]


def relation_get(relation_id: str, unit: str) -> dict[str, str]:
    """The whole bucket of `unit` (a remote unit, or the local unit for our own bucket)."""
    data = run_json(["relation-get", "--format=json", "-r", relation_id, "-", unit])
    return {str(k): "" if v is None else str(v) for k, v in (data or {}).items()}


def relation_set(relation_id: str, settings: Mapping[str, str | None]) -> None:
    """Write our unit bucket through `relation-set --file -` (a YAML map on stdin).

    None or "" deletes a key. Using stdin keeps private keys out of argv and off the disk.
    """
    if not settings:
        return
    doc = {str(k): ("" if v is None else str(v)) for k, v in settings.items()}
    run(
        ["relation-set", "-r", relation_id, "--file", "-"],
        stdin=yaml.safe_dump(doc, default_flow_style=False),
    )


# ---------------------------------------------------------------------------------------------
# Network


def ingress_address(binding: str) -> str | None:
    """First ingress address of `binding` (network-get), else the unit's private address."""
    try:
        value = run_json(["network-get", binding, "--ingress-address", "--format=json"])
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            return str(value)
    except (HookToolError, ValueError):
        pass
    try:
        value = run_json(["unit-get", "--format=json", "private-address"])
        return str(value) if value else None
    except (HookToolError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Actions


def action_get() -> dict[str, Any]:
    return dict(run_json(["action-get", "--format=json"]) or {})


def action_set(results: Mapping[str, Any]) -> None:
    if not results:
        return
    run(["action-set"] + [f"{k}={v}" for k, v in results.items()])


def action_fail(message: str) -> None:
    run(["action-fail", message])


# ---------------------------------------------------------------------------------------------
# Hook plumbing shared by the built-in charms


def live_relations(endpoint: str) -> list[tuple[str, list[str]]]:
    """(relation id, related units) of every relation of ``endpoint`` still alive in this hook:
    the relation being broken and the unit departing are left out."""
    hook = hook_name()
    current = current_relation_id()
    departing = remote_unit() if hook.endswith("-relation-departed") else ""
    result = []
    for rid in relation_ids(endpoint):
        if hook == f"{endpoint}-relation-broken" and rid == current:
            continue
        units = [u for u in relation_list(rid) if not (rid == current and u == departing)]
        result.append((rid, units))
    return result


def main(run_action: Callable[[str], None], run_hook: Callable[[str], None]) -> int:
    """Dispatch one hook or action; a failure is logged where ``juju debug-log`` shows it and
    fails the hook (exit 1)."""
    action = action_name()
    try:
        if action:
            run_action(action)
        else:
            run_hook(hook_name())
    except Exception as exc:  # noqa: BLE001 - log it, then fail
        print(traceback.format_exc(), file=sys.stderr)
        log(f"{dispatch_path()} failed: {exc}", "ERROR")
        return 1
    return 0

"""hooklog: records every hook it runs, for localjuju's conformance tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

LOG = "/var/lib/hooklog/hooks.log"


def tool(*args: str, check: bool = True) -> str:
    proc = subprocess.run(args, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def tool_json(*args: str) -> Any:
    out = tool(*args, "--format=json")
    return json.loads(out) if out.strip() else None


def record(entry: dict) -> None:
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    with open(LOG, "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def main() -> None:
    dispatch = os.environ.get("JUJU_DISPATCH_PATH", "")
    kind, _, name = dispatch.partition("/")
    if kind == "actions":
        return action(name)
    hook = name
    entry = {
        "hook": hook,
        "unit": os.environ["JUJU_UNIT_NAME"],
        "argv0": sys.argv[0],
        "cwd": os.getcwd(),
        "time": time.time(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("JUJU_", "CHARM_DIR"))},
        "env_keys": sorted(os.environ),
        "leader": tool_json("is-leader"),
        # the charm revision whose code runs this hook (Juju writes it into the charm dir)
        "revision": open("revision").read().strip() if os.path.exists("revision") else "",
    }
    rid = os.environ.get("JUJU_RELATION_ID")
    if rid:
        entry["relation_list"] = tool_json("relation-list", "-r", rid)
        entry["relation_ids"] = tool_json("relation-ids", os.environ["JUJU_RELATION"])
        remote = os.environ.get("JUJU_REMOTE_UNIT")
        if remote:
            entry["remote_data"] = tool_json("relation-get", "-r", rid, "-", remote)
        elif hook.endswith("-relation-changed"):
            app = os.environ["JUJU_REMOTE_APP"]
            entry["remote_app_data"] = tool_json("relation-get", "-r", rid, "--app", "-", app)
        if hook.endswith("-relation-joined"):
            assert remote is not None  # Juju sets JUJU_REMOTE_UNIT in relation-joined
            tool("relation-set", "-r", rid, f"joined-{remote.replace('/', '-')}=yes")
    sid = os.environ.get("JUJU_STORAGE_ID")
    if sid:
        entry["storage_get"] = tool_json("storage-get")
        entry["storage_list"] = tool_json("storage-list")
        cfg0 = tool_json("config-get") or {}
        if cfg0.get("mount-storage"):
            entry["mount"] = mount_storage(sid, hook, bool(cfg0.get("keep-mounted")))
    record(entry)
    # The same in the debug log, which outlives the machine (teardown of a removed unit).
    brief = {k: entry.get(k) for k in ("hook", "relation_list")}
    brief["env"] = {
        k: os.environ[k]
        for k in ("JUJU_REMOTE_UNIT", "JUJU_REMOTE_APP", "JUJU_DEPARTING_UNIT")
        if k in os.environ
    }
    tool("juju-log", "hooklog: " + json.dumps(brief, sort_keys=True))
    cfg = tool_json("config-get")
    hang = (cfg or {}).get("hang-hooks", "").split()
    if hook in hang or f"{os.environ['JUJU_UNIT_NAME']}:{hook}" in hang:
        time.sleep(120)
    fail = (cfg or {}).get("fail-hooks", "").split()
    if rid and hook in fail:
        tool("relation-set", "-r", rid, "uncommitted=yes")
    if hook in fail:
        tool("status-set", "maintenance", f"failing {hook} on purpose")
        print(f"failing {hook} on purpose", file=sys.stderr)
        sys.exit(1)
    if hook == "install":
        tool("application-version-set", "1.2.3")
        tool("open-port", "8080/tcp")
    if hook in ("leader-elected", "config-changed") and tool_json("is-leader"):
        tool("leader-set", f"leader={os.environ['JUJU_UNIT_NAME']}")
    if hook not in ("stop", "remove"):
        tool("status-set", "active", cfg.get("message", "ready"))


def mount_storage(sid: str, hook: str, keep: bool) -> str:
    """Format (unless it holds a file system) and mount a volume, in /etc/fstab by UUID; on
    detaching, unmount it and drop the line (unless ``keep``). Returns what it did."""
    dev = tool("storage-get", "location").strip()
    mnt = "/mnt/" + sid.replace("/", "-")
    if hook.endswith("-storage-detaching"):
        if keep:
            return "kept"
        subprocess.run(["umount", mnt], check=True)
        with open("/etc/fstab") as f:
            lines = [ln for ln in f if f" {mnt} " not in ln]
        with open("/etc/fstab", "w") as f:
            f.writelines(lines)
        return "unmounted"
    fs = subprocess.run(["blkid", "-o", "value", "-s", "TYPE", dev], capture_output=True,
                        text=True).stdout.strip()  # fmt: skip
    did = "mounted"
    if not fs:
        subprocess.run(["mkfs.ext4", "-q", "-F", dev], check=True)
        did = "formatted and mounted"
    uuid = subprocess.run(["blkid", "-o", "value", "-s", "UUID", dev], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    os.makedirs(mnt, exist_ok=True)
    subprocess.run(["mount", dev, mnt], check=True)
    with open("/etc/fstab", "a") as f:
        f.write(f"UUID={uuid} {mnt} ext4 defaults,nofail 0 2\n")
    return did


def action(name: str) -> None:
    params = tool_json("action-get") or {}
    if name == "echo":
        tool(
            "action-set", f"text={params.get('text', '')}", f"unit={os.environ['JUJU_UNIT_NAME']}"
        )
        print("echo stdout line")
    elif name == "fail":
        tool("action-fail", params.get("message", "failed"))
    elif name == "log-progress":
        for i in range(3):
            tool("action-log", f"step {i + 1} of 3")
        tool("action-set", "steps=3")
    elif name == "set-data":
        ids: list[str] = []
        for ep in ("db", "client", "peers"):
            ids += tool_json("relation-ids", ep) or []
        for rid in ids:
            args = ["relation-set", "-r", rid]
            if params.get("app"):
                args.append("--app")
            tool(*args, f"{params['key']}={params['value']}")
        tool("action-set", f"relations={len(ids)}")
        sys.exit(int(params.get("exit-code", 0)))
    elif name == "env":
        env = os.environ
        tool(
            "action-set",
            f"hook-name={env.get('JUJU_HOOK_NAME', '<unset>')}",
            f"action-name={env.get('JUJU_ACTION_NAME', '')}",
            f"action-uuid={env.get('JUJU_ACTION_UUID', '')}",
            f"action-tag={env.get('JUJU_ACTION_TAG', '')}",
            f"dispatch-path={env.get('JUJU_DISPATCH_PATH', '')}",
            f"cwd={os.getcwd()}",
        )
    elif name == "resource":
        path = tool("resource-get", "blob", check=False)
        if not path:
            tool("action-fail", "no blob resource")
            return
        with open(path) as f:
            content = f.read()
        tool("action-set", f"path={path}", f"content={content.strip()}")


if __name__ == "__main__":
    main()

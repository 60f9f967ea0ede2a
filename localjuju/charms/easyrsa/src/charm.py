#!/usr/bin/python3
"""Hook and action entry point of the built-in easyrsa charm (run by ../dispatch).

The shell around easyrsa_core: it reads what Juju shows this unit (leadership, leader settings,
relation data), calls the pure core, and writes the answers back with the hook tools. Every hook
does the whole reconciliation, as the reactive charm's handlers do, so it is idempotent and any
hook (relation-changed, leader-elected, upgrade-charm, update-status...) answers pending requests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import easyrsa_core as core  # noqa: E402
import hooktools as ht  # noqa: E402

ENDPOINT = "client"
# Only set by tests: a directory standing in for "/" (Juju passes no such variable).
ROOT = Path(os.environ.get("EASYRSA_ROOT", "/"))


def _path(absolute: str) -> Path:
    return ROOT / absolute.lstrip("/")


def state_dir() -> Path:
    return _path("/var/lib/easyrsa") / ht.unit_name().replace("/", "-")


def backup_dir() -> Path:
    return _path("/home/ubuntu/easyrsa_backup")


# ---------------------------------------------------------------------------------------------
# State file (0600: it holds the CA key and every issued key)


def load_state() -> dict[str, Any]:
    path = state_dir() / "state.json"
    state = core.new_state()
    if path.exists():
        state.update(json.loads(path.read_text()))
    return state


def save_state(state: dict[str, Any]) -> None:
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".state.")
    try:
        with os.fdopen(fd, "w") as stream:
            json.dump(state, stream, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, directory / "state.json")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_ca(ca_pem: str) -> None:
    """install_ca(): trust the CA on this machine (best effort, as the real charm)."""
    target = _path("/usr/local/share/ca-certificates") / f"{ht.app_name()}.crt"
    try:
        if target.exists() and target.read_text() == ca_pem:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(ca_pem)
        ht.log(f"Writing CA to {target}")
        if str(ROOT) == "/" and shutil.which("update-ca-certificates"):
            subprocess.run(["update-ca-certificates"], capture_output=True, check=False)
    except OSError as exc:
        ht.log(f"Could not install the CA in the system trust store: {exc}", "WARNING")


# ---------------------------------------------------------------------------------------------
# Hooks


def ensure_ca(state: dict[str, Any], leader: bool, settings: dict[str, str]) -> str | None:
    """create_certificate_authority(): leader only, once; returns a blocked message or None."""
    if core.state_ca(state) is not None or not leader:
        return None
    ca = core.ca_from_leader(settings)
    if ca is not None:
        ht.log("Recovering CA from controller")
    else:
        cn = ht.ingress_address(ENDPOINT)
        if not cn:
            ht.log("Public address not available yet", "WARNING")
            return "Public address not available yet"
        ht.log(f"Creating new CA with CN={cn}")
        ca = core.create_ca(cn)
    core.set_state_ca(state, ca)
    save_state(state)
    wanted = core.ca_leader_settings(ca)
    if core.leader_settings_differ(settings, wanted):
        ht.leader_set(wanted)
        settings.clear()
        settings.update(ht.leader_get())  # as Juju stores them (values trimmed)
    install_ca(ca.cert_pem)
    return None


def ensure_global_client(
    state: dict[str, Any], leader: bool, settings: dict[str, str]
) -> tuple[str, str] | None:
    """create_global_client_cert(): the leader keeps it in leader settings."""
    ca = core.state_ca(state)
    if not leader or ca is None:
        return None
    cert, key, created = core.global_client_cert(state, ca, settings)
    if created:
        ht.log("Unable to find global client cert on leadership data, generating...")
        save_state(state)
        ht.leader_set({core.LEADER_CLIENT_CERT: cert, core.LEADER_CLIENT_KEY: key})
        settings.clear()
        settings.update(ht.leader_get())
        cert = settings.get(core.LEADER_CLIENT_CERT) or cert
        key = settings.get(core.LEADER_CLIENT_KEY) or key
    return cert, key


def publish(
    state: dict[str, Any],
    leader: bool,
    global_client: tuple[str, str] | None,
    settings: dict[str, str],
    relations: list[tuple[str, list[str]]],
) -> None:
    """Answer every relation: the leader's CA and global client cert (once any client joined,
    as the real handlers wait for ``client.available``), and every unhandled request."""
    ca = core.state_ca(state)
    ca_pem = settings.get(core.LEADER_CA) or None
    available = any(units for _rid, units in relations)
    for rid, units in relations:
        data = [(unit, ht.relation_get(rid, unit)) for unit in units]
        bucket = ht.relation_get(rid, ht.unit_name())
        before = json.dumps(state.get("issued"), sort_keys=True)
        updates = core.answer_relation(
            state, ca, rid, data, bucket, leader and available, global_client, ca_pem=ca_pem
        )
        if json.dumps(state.get("issued"), sort_keys=True) != before:
            save_state(state)
        if updates:
            answered = sorted(k for k in updates if k not in ("ca", "client.cert", "client.key"))
            ht.log(
                f"{rid}: publishing {len(updates)} key(s)"
                + (f", answers: {', '.join(answered)}" if answered else "")
            )
            ht.relation_set(rid, updates)


def run_hook(hook: str) -> None:
    state = load_state()
    if hook == "pre-series-upgrade":
        state["series_upgrade"] = True
        save_state(state)
        ht.status_set("blocked", "Series upgrade in progress")
        return
    if hook == "post-series-upgrade":
        state["series_upgrade"] = False
    ht.application_version_set(core.EASYRSA_VERSION)
    try:
        leader = ht.is_leader()
    except ht.HookToolError as exc:  # e.g. "leadership status unknown" while a unit goes away
        ht.log(f"treating this unit as a non-leader: {exc}", "WARNING")
        leader = False
    settings = ht.leader_get()
    relations = ht.live_relations(ENDPOINT)
    available = any(units for _rid, units in relations)  # the client.available flag
    blocked = None
    if not state.get("series_upgrade"):
        blocked = ensure_ca(state, leader, settings)
    global_client = ensure_global_client(state, leader, settings) if available else None
    publish(state, leader, global_client, settings, relations)
    save_state(state)
    if state.get("series_upgrade"):
        ht.status_set("blocked", "Series upgrade in progress")
    elif blocked:
        ht.status_set("blocked", blocked)
    elif core.state_ca(state) is not None or core.ca_from_leader(settings) is not None:
        ht.status_set("active", core.status_message(available))
    else:
        ht.status_set("waiting", "Waiting for the leader to create the Certificate Authority")


# ---------------------------------------------------------------------------------------------
# Actions (backup, restore, list-backups, delete-backup), with EasyRSA's pki/ layout in backups

TAR_REQUIRED = {
    "pki",
    "pki/ca.crt",
    "pki/issued",
    "pki/issued/client.crt",
    "pki/private",
    "pki/private/ca.key",
    "pki/private/client.key",
    "pki/serial",
}


def _add_bytes(tar: tarfile.TarFile, name: str, data: str, mode: int = 0o600) -> None:
    import io

    info = tarfile.TarInfo(name)
    raw = data.encode()
    info.size = len(raw)
    info.mode = mode
    tar.addfile(info, io.BytesIO(raw))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o700
    tar.addfile(info)


def action_backup() -> None:
    state = load_state()
    ca = core.state_ca(state)
    if ca is None:
        raise RuntimeError("This unit holds no Certificate Authority; run backup on the leader.")
    settings = ht.leader_get()
    issued = dict(state.get("issued") or {})
    client_cert = settings.get(core.LEADER_CLIENT_CERT) or issued.get("client:client", {}).get(
        "cert", ""
    )
    client_key = settings.get(core.LEADER_CLIENT_KEY) or issued.get("client:client", {}).get(
        "key", ""
    )
    directory = backup_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    name = "easyrsa-{}.tar.gz".format(datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for d in ("pki", "pki/issued", "pki/private"):
            _add_dir(tar, d)
        _add_bytes(tar, "pki/ca.crt", ca.cert_pem, 0o644)
        _add_bytes(tar, "pki/private/ca.key", ca.key_pem)
        _add_bytes(tar, "pki/serial", ca.serial)
        _add_bytes(tar, "pki/issued/client.crt", client_cert, 0o644)
        _add_bytes(tar, "pki/private/client.key", client_key)
        for store_key, entry in sorted(issued.items()):
            kind, _, cn = store_key.partition(":")
            if kind not in (core.SERVER, core.CLIENT) or cn == core.GLOBAL_CLIENT_NAME:
                continue
            if "/" in cn or cn in ("", ".", ".."):
                continue
            _add_bytes(tar, f"pki/issued/{cn}.crt", entry["cert"], 0o644)
            _add_bytes(tar, f"pki/private/{cn}.key", entry["key"])
    ht.action_set(
        {
            "command": f"juju scp {ht.unit_name()}:{path} .",
            "message": "Backup archive created successfully. Use the juju scp command to copy "
            "it to your local machine.",
        }
    )


def _backup_file(name: str) -> Path:
    directory = backup_dir().resolve()
    path = (directory / name).resolve()
    if path.parent != directory:
        raise RuntimeError(
            f"Path traversal detected. '{path}' tries to travers out of {directory}"
        )
    return path


def action_restore(params: dict[str, Any]) -> None:
    name = params.get("name")
    if not name:
        raise RuntimeError("Parameter 'name' is required.")
    if not ht.is_leader():
        raise RuntimeError("restore must run on the leader (it rewrites leader settings).")
    path = _backup_file(str(name))
    if not path.is_file():
        raise RuntimeError(
            f"Backup with name '{name}' does not exist. Use action 'list-backups' to list all "
            "available backups"
        )
    files: dict[str, str] = {}
    with tarfile.open(path, "r:gz") as tar:
        members = {m.name.rstrip("/") for m in tar.getmembers()}
        if not TAR_REQUIRED.issubset(members):
            raise RuntimeError("Backup has unexpected content. Corrupted file?")
        for member in tar.getmembers():
            parts = member.name.split("/")
            if ".." in parts or member.name.startswith("/"):
                raise RuntimeError(f"Path traversal detected in backup: {member.name}")
            if member.isfile():
                stream = tar.extractfile(member)
                if stream is not None:
                    files[member.name] = stream.read().decode()
    ca = core.CertificateAuthority(
        files["pki/ca.crt"], files["pki/private/ca.key"], files["pki/serial"]
    )
    state = load_state()
    core.set_state_ca(state, ca)
    issued: dict[str, Any] = {}
    for arcname, cert in files.items():
        if not arcname.startswith("pki/issued/") or not arcname.endswith(".crt"):
            continue
        cn = arcname[len("pki/issued/") : -len(".crt")]
        key = files.get(f"pki/private/{cn}.key")
        if not key:
            continue
        kind, sans = core.describe_certificate(cert)
        issued[f"{kind}:{cn}"] = {"sans": sans, "cert": cert, "key": key}
    state["issued"] = issued
    state["handled"] = {}  # re-publish everything from the restored pki
    save_state(state)
    ht.leader_set(
        {
            **core.ca_leader_settings(ca),
            core.LEADER_CLIENT_CERT: files["pki/issued/client.crt"],
            core.LEADER_CLIENT_KEY: files["pki/private/client.key"],
        }
    )
    install_ca(ca.cert_pem)
    settings = ht.leader_get()
    client = settings[core.LEADER_CLIENT_CERT], settings[core.LEADER_CLIENT_KEY]
    publish(state, True, client, settings, ht.live_relations(ENDPOINT))
    save_state(state)
    ht.action_set({"message": f"Restored the pki from {name}."})


def action_list_backups() -> None:
    directory = backup_dir()
    names = sorted(os.listdir(directory)) if directory.is_dir() else []
    if names:
        message = "Available backup files:" + "".join(f"\n{n}" for n in names)
    else:
        message = "There are no available backup files."
    ht.action_set({"message": message})


def action_delete_backup(params: dict[str, Any]) -> None:
    if params.get("all"):
        ht.log("Removing all backup files.")
        shutil.rmtree(backup_dir(), ignore_errors=True)
        return
    name = params.get("name")
    if not name:
        raise RuntimeError("Parameter 'name' is required if parameter 'all' is False.")
    path = _backup_file(str(name))
    if not path.is_file():
        raise RuntimeError(f"Backup file '{name}' does not exist")
    path.unlink()


def run_action(name: str) -> None:
    params = ht.action_get()
    ht.log(f"Running action '{name}'.")
    try:
        if name == "backup":
            action_backup()
        elif name == "restore":
            action_restore(params)
        elif name == "list-backups":
            action_list_backups()
        elif name == "delete-backup":
            action_delete_backup(params)
        else:
            ht.action_fail(f"Action {name} undefined")
    except Exception as exc:  # noqa: BLE001 - reported to the operator as the action's failure
        ht.log(traceback.format_exc(), "ERROR")
        ht.action_fail(f"Action {name} failed: {exc}")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))

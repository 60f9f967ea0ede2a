"""s3-integrator-stand-in test fixture: what s3-integrator track 1 (canonical/s3-integrator
051ef46bbb4ffe5df6aec37831b6b149193957bc, an ops charm with data-platform-libs' v0 ``s3``
library, LIBPATCH 6, in its ``lib/``) does on the ``s3-credentials`` relation (interface
``s3``), without ops: dispatch, the shared hook tools and PyYAML.

Source lines below are ``src/charm.py``, ``src/constants.py`` and
``lib/charms/data_platform_libs/v0/s3.py`` at that commit.

- Storage: every option and both keys live in the application bag of the peer relation
  ``s3-integrator-peers`` (charm.py:50-57, ``get_secret``/``set_secret`` :166-188, scope
  "app"); only the leader writes it; an empty value deletes the key.
- ``config-changed`` (charm.py:77-137), leader only: for each of :data:`S3_OPTIONS`
  (constants.py:7-20) the keys are skipped (not config); an option unset or ``""`` is deleted
  from the peer bag if it was there and then sent as ``""``; ``attributes`` is split on ``,``
  (no stripping) into a list, ``tls-ca-chain`` is base64-decoded and cut into its PEM
  certificates (:func:`parse_ca_chain`, charm.py:260-284; neither base64 nor PEM may fail, or
  the hook fails), the others are ``str()``; ``experimental-delete-older-than-days`` is kept
  as ``delete-older-than-days`` when 1..9999999 (status active) and otherwise ignored (status
  blocked). Everything collected (every option set, ``""`` for each one just reset, never
  the keys) goes to every s3 relation (:135-137).
- The v0 provider (s3.py:232-241, ``diff`` :154-188): on ``s3-credentials-relation-changed``
  the leader compares the requirer's application bag (without ``data``) with the JSON copy it
  keeps in key ``data`` of its own application bag, writes the new copy, and only when
  ``bucket`` is among the added keys runs the charm's ``credentials_requested`` handler
  (charm.py:139-164): bucket = the peer bag's ``bucket`` (the config's, or one kept from an
  earlier request) or else the requirer's; it is stored in the peer bag unless a peer key
  named like the bucket's value exists (the check reads ``get_secret("app", bucket)``,
  :150); then every option the peer bag holds, the keys included, goes to that relation.
- Encoding (``update_connection_info``, s3.py:325-357): ``attributes`` and ``tls-ca-chain``
  as ``json.dumps`` of their list (a reset one as ``json.dumps("")``: the two characters
  ``""``, not a deletion), the rest as the plain strings; ``""`` deletes a key.
- ``sync-s3-credentials`` (charm.py:198-216): leader only (else it fails "The action can be
  run only on leader unit."); keeps both keys in the peer bag, writes them to every s3
  relation, result ``ok`` = "Credentials successfully updated.". ``get-s3-credentials`` and
  ``get-s3-connection-info`` (:233-258) as the real ones (keys masked).
- Status (charm.py:68-75, :218-226): on ``start`` and ``s3-integrator-peers-relation-changed``
  blocked "Missing parameters: [...]" (a Python list of the missing keys) or active with no
  message; ``config-changed`` sets only the retention option's status (:95, :102).

One addition: real Juju runs ``s3-integrator-peers-relation-changed`` on the leader after it
changed its own peer application bag (juju/juju#20178, Juju 3.6.8; juju/juju#22525 documents
it instead of changing it), which is how the real charm turns active after
``sync-s3-credentials``. The local model follows Juju's older documentation (no
relation-changed for the writer's own write), so the stand-in runs that handler's status
update itself at the end of any hook or action in which the leader changed the peer bag
(:func:`finish`).

Left out: nothing else happens in the real charm's other hooks (no install work, no
relation-broken handling: the data stays until the relation is gone). No Juju secrets are
involved in track 1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import hooktools as ht
import yaml

PEER = "s3-integrator-peers"
RELATION = "s3-credentials"
#: constants.py S3_OPTIONS, in its order: what the peer bag may hold and the relation gets
S3_OPTIONS = (
    "access-key",
    "secret-key",
    "region",
    "storage-class",
    "attributes",
    "bucket",
    "endpoint",
    "path",
    "s3-api-version",
    "s3-uri-style",
    "tls-ca-chain",
    "delete-older-than-days",
)
S3_MANDATORY_OPTIONS = ("access-key", "secret-key")
#: written to the relation as JSON lists (constants.py and the v0 library's own list)
S3_LIST_OPTIONS = ("attributes", "tls-ca-chain")
KEYS_LIST = ("access-key", "secret-key")
MAX_RETENTION_DAYS = 9999999
RETENTION = "delete-older-than-days"
RETENTION_CONFIG = "experimental-delete-older-than-days"
MASK = "************"
NOT_LEADER = "The action can be run only on leader unit."
SYNCED = "Credentials successfully updated."
NOT_SET = "Credentials are not set!"
CONFIGURED = "Credentials are configured."

_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


# --- pure: what the real charm and its library compute -----------------------------------------


def set_secret(peer: dict[str, str], key: str, value: str | None) -> None:
    """charm.py set_secret, scope app: a falsy value deletes the key."""
    if not value:
        peer.pop(key, None)
    else:
        peer[key] = value


def missing_parameters(peer: Mapping[str, str]) -> list[str]:
    """charm.py get_missing_parameters: the keys not (or emptily) in the peer bag."""
    return [option for option in S3_MANDATORY_OPTIONS if not peer.get(option)]


def status(peer: Mapping[str, str]) -> tuple[str, str]:
    """The status of _on_start and _on_peer_relation_changed."""
    missing = missing_parameters(peer)
    if missing:
        return "blocked", f"Missing parameters: {missing}"
    return "active", ""


def parse_ca_chain(ca_chain_pem: str) -> list[str]:
    """charm.py parse_ca_chain: each ``-----BEGIN CERTIFICATE-----`` .. ``-----END
    CERTIFICATE-----`` block, markers included; none is an error."""
    chain = _CERT.findall(ca_chain_pem)
    if not chain:
        raise ValueError("No certificate found in chain file")
    return chain


def config_changed(
    config: Mapping[str, Any], peer: dict[str, str]
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """charm.py _on_config_changed on the leader: updates ``peer`` in place and returns what
    goes to every relation (lists still lists) and the status it set, if any. ``config`` is
    what config-get prints: options without a default and unset are absent."""
    update: dict[str, Any] = {}
    unit_status: tuple[str, str] | None = None
    for option in S3_OPTIONS:
        if option == RETENTION and RETENTION_CONFIG in config:
            value = config[RETENTION_CONFIG]
            if 0 < value <= MAX_RETENTION_DAYS:
                update[option] = str(value)
                set_secret(peer, option, str(value))
                unit_status = ("active", "")
            else:
                unit_status = (
                    "blocked",
                    f"Option {option} value {value} outside allowed range "
                    f"[1, {MAX_RETENTION_DAYS}].",
                )
            continue
        if option not in config or config[option] == "":
            if option in KEYS_LIST:
                continue
            if peer.get(option) is not None:
                set_secret(peer, option, None)
                update[option] = ""
            continue
        if option == "attributes":
            values = config[option].split(",")
            update[option] = values
            set_secret(peer, option, json.dumps(values))
        elif option == "tls-ca-chain":
            chain = parse_ca_chain(base64.b64decode(config[option]).decode("utf-8"))
            update[option] = chain
            set_secret(peer, option, json.dumps(chain))
        else:
            update[option] = str(config[option])
            set_secret(peer, option, str(config[option]))
    return update, unit_status


def encode_connection_info(connection_data: Mapping[str, Any]) -> dict[str, str]:
    """S3Provider.update_connection_info: the list options as JSON, the rest as they are
    (strings; ``""`` deletes the key when written)."""
    return {
        option: json.dumps(value) if option in S3_LIST_OPTIONS else value
        for option, value in connection_data.items()
    }


class Diff(NamedTuple):
    added: set[str]
    changed: set[str]
    deleted: set[str]


def diff(old_copy: str | None, requirer_app: Mapping[str, str] | None) -> tuple[Diff, str]:
    """The v0 library's ``diff``: the requirer's application bag (None: no remote
    application) against the copy in the provider's ``data`` key; returns the diff and the
    new copy to write back to ``data``."""
    old = json.loads(old_copy or "{}")
    new = {k: v for k, v in (requirer_app or {}).items() if k != "data"}
    added = set(new) - set(old)
    deleted = set(old) - set(new)
    changed = {k for k in set(old) & set(new) if old[k] != new[k]}
    return Diff(added, changed, deleted), json.dumps(new)


def credentials_requested(peer: dict[str, str], requirer_bucket: str | None) -> dict[str, Any]:
    """charm.py _on_credential_requested: the bucket rule (updates ``peer``) and what goes to
    the requesting relation (lists as lists)."""
    bucket = peer.get("bucket") or requirer_bucket
    if bucket is None:  # the real handler asserts it
        raise AssertionError("no bucket")
    if peer.get(bucket) is None:  # sic: a key named like the bucket, not "bucket"
        set_secret(peer, "bucket", bucket)
    desired: dict[str, Any] = {}
    for option in S3_OPTIONS:
        if peer.get(option) is not None:
            desired[option] = (
                json.loads(peer[option]) if option in S3_LIST_OPTIONS else peer[option]
            )
    return desired


def connection_info(peer: Mapping[str, str]) -> dict[str, str]:
    """get-s3-connection-info's results: every option held, the keys masked."""
    return {
        option: MASK if option in KEYS_LIST else peer[option]
        for option in S3_OPTIONS
        if peer.get(option) is not None
    }


def bag_changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str]:
    """The relation-set settings that turn ``before`` into ``after`` (``""`` deletes)."""
    changes = {k: v for k, v in after.items() if before.get(k) != v}
    changes.update({k: "" for k in before if k not in after})
    return changes


# --- the shell -------------------------------------------------------------------------------


def app_bag(relation_id: str, app: str) -> dict[str, str]:
    data = ht.run_json(["relation-get", "--app", "--format=json", "-r", relation_id, "-", app])
    return {str(k): "" if v is None else str(v) for k, v in (data or {}).items()}


def set_app_bag(relation_id: str, settings: Mapping[str, str]) -> None:
    """relation-set --app through stdin (the keys stay out of argv); ``""`` deletes."""
    if settings:
        ht.run(
            ["relation-set", "--app", "-r", relation_id, "--file", "-"],
            stdin=yaml.safe_dump(dict(settings), default_flow_style=False),
        )


class Peer:
    """The peer relation's application bag, read once; :meth:`save` writes what changed.
    Without the peer relation (ops: an empty dict that keeps nothing) nothing is written."""

    def __init__(self) -> None:
        ids = ht.relation_ids(PEER)
        self.relation_id = ids[0] if ids else None
        self.saved = app_bag(self.relation_id, ht.app_name()) if self.relation_id else {}
        self.data = dict(self.saved)
        self.changed = False

    def save(self) -> None:
        changes = bag_changes(self.saved, self.data)
        if self.relation_id is not None and changes:
            set_app_bag(self.relation_id, changes)
            self.changed = True
        self.saved = dict(self.data)


def update_connection_info(relation_id: str, connection_data: Mapping[str, Any]) -> None:
    """S3Provider.update_connection_info (the callers are the leader's handlers)."""
    if relation_id in ht.relation_ids(RELATION):
        set_app_bag(relation_id, encode_connection_info(connection_data))


def config() -> dict[str, Any]:
    return dict(ht.run_json(["config-get", "--format=json"]) or {})


def set_status(unit_status: tuple[str, str]) -> None:
    ht.status_set(*unit_status)


def relation_changed(peer: Peer) -> None:
    """S3Provider._on_relation_changed, then the charm's credentials_requested handler."""
    rid = ht.current_relation_id()
    remote_app = os.environ.get("JUJU_REMOTE_APP", "")
    requirer = app_bag(rid, remote_app) if remote_app else None
    found, copy = diff(app_bag(rid, ht.app_name()).get("data"), requirer)
    set_app_bag(rid, {"data": copy})
    if "bucket" in found.added:
        desired = credentials_requested(peer.data, (requirer or {}).get("bucket", ""))
        peer.save()
        update_connection_info(rid, desired)


def finish(peer: Peer) -> None:
    """The leader's own s3-integrator-peers-relation-changed that real Juju runs after it
    changed the peer application bag (juju/juju#20178): its status update."""
    if peer.changed:
        set_status(status(peer.data))


#: the hooks the real charm observes (charm.py:36-48, s3.py:230); in the others (install,
#: leader-elected, update-status, relation-joined/-departed/-broken, ...) it does nothing
HOOKS = frozenset(
    {"start", "config-changed", f"{PEER}-relation-changed", f"{RELATION}-relation-changed"}
)


def run_hook(hook: str) -> None:
    if hook not in HOOKS:
        return
    peer = Peer()
    if hook in ("start", f"{PEER}-relation-changed"):
        set_status(status(peer.data))
        return
    if not ht.is_leader():
        return
    if hook == "config-changed":
        update, unit_status = config_changed(config(), peer.data)
        peer.save()
        if unit_status is not None:
            set_status(unit_status)
        for rid in ht.relation_ids(RELATION):
            update_connection_info(rid, update)
    else:
        relation_changed(peer)
    finish(peer)


def run_action(name: str) -> None:
    peer = Peer()
    if name == "sync-s3-credentials":
        if not ht.is_leader():
            ht.action_fail(NOT_LEADER)
            return
        params = ht.action_get()
        access_key, secret_key = params["access-key"], params["secret-key"]
        set_secret(peer.data, "access-key", access_key)
        set_secret(peer.data, "secret-key", secret_key)
        peer.save()
        for rid in ht.relation_ids(RELATION):
            update_connection_info(rid, {"access-key": access_key})
            update_connection_info(rid, {"secret-key": secret_key})
        ht.action_set({"ok": SYNCED})
        finish(peer)
    elif name == "get-s3-credentials":
        if peer.data.get("access-key") is None or peer.data.get("secret-key") is None:
            ht.action_fail(NOT_SET)
            return
        ht.action_set({"ok": CONFIGURED})
    elif name == "get-s3-connection-info":
        info = connection_info(peer.data)
        if not info:
            ht.action_fail(NOT_SET)
            return
        ht.action_set(info)
    else:
        ht.action_fail(f"no action {name}")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))

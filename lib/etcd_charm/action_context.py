"""What every action works with (:class:`Context`: the charm, its params, its output) and the
helpers the action families share: the operator's ownership of what an action writes, the
directory an archive goes to."""

from __future__ import annotations

import os
import pwd
import subprocess
from typing import Any

from charmhelpers.core import hookenv

from . import observe, targets
from .charm import EtcdCharm
from .context import client, local_url
from .etcd_json import MemberList
from .etcdctl import Etcdctl, EtcdctlError
from .params import ActionError, Params

OPERATOR = "ubuntu"  # the user juju ssh/scp log in as


class Context:
    """What an action works with: the charm (settings, identity, kv), its params, output."""

    def __init__(self, action: str, charm: EtcdCharm, params: Params) -> None:
        self.action = action
        self.charm = charm
        self.params = params
        self.results: dict[str, str] = {}

    def set(self, key: str, value: object) -> None:
        self.results[key] = str(value)

    def progress(self, message: str) -> None:
        """Shown while the action runs (``action-log``) and kept in the unit's log."""
        hookenv.log(f"{self.action}: {message}")
        try:
            subprocess.run(["action-log", message], check=False, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass

    @property
    def settings(self) -> Any:
        if self.charm.settings is None:
            raise ActionError(
                "the charm's config is invalid ("
                + "; ".join(self.charm.errors)
                + "); fix it first"
            )
        return self.charm.settings

    def check_config(self) -> None:
        """Fail (nothing changed) when the charm's config is invalid."""
        _ = self.settings

    def local(self) -> Etcdctl:
        return client([local_url(self.settings)])

    def endpoints(self) -> list[str]:
        """This unit's member and every peer's published client URL."""
        peers = observe.peers(self.charm.hook)
        return [local_url(self.settings)] + [
            p.client_url for p in peers if p.client_url and p.member_id
        ]

    def members(self) -> MemberList:
        """The member list from the first member that answers (one endpoint at a time:
        etcd 3.4's learners refuse the request)."""
        errors = []
        for url in self.endpoints():
            try:
                return client([url]).member_list()
            except EtcdctlError as e:
                errors.append(f"{url}: {e.detail}")
        raise ActionError("no etcd member answers: " + "; ".join(errors))

    @staticmethod
    def voters(members: MemberList) -> Etcdctl:
        """etcdctl against every voting member (etcd 3.4's learners refuse most requests)."""
        return client(sorted({u for m in members.voters for u in m.client_urls}))

    @staticmethod
    def everyone(members: MemberList) -> Etcdctl:
        """etcdctl against every member, for the per-endpoint commands (status, health)."""
        return client(sorted({u for m in members.members for u in m.client_urls}))


def operator_ids() -> tuple[int, int] | None:
    try:
        pw = pwd.getpwnam(OPERATOR)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def give_to_operator(path: str) -> None:
    """The files operators fetch with ``juju scp`` (which logs in as ubuntu): owned by that
    user, readable by nobody else."""
    ids = operator_ids()
    if ids is not None:
        os.chown(path, *ids)


def declared_default(ctx: Context, param: str) -> str:
    """The param's default in actions.yaml (what a refusal suggests instead)."""
    return str((ctx.params.declared.get(param) or {}).get("default") or "/home/ubuntu")


def target_dir(ctx: Context, path: str, param: str) -> str:
    """The directory an archive is written to (see :mod:`targets`): refused with the rule
    it breaks (nothing written or created), created 0700 for the operator when missing."""
    return targets.ensure(path, param, declared_default(ctx, param), give_to_operator)

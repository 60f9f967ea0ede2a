"""A charm's own endpoint, opened as an action opens it (``context.action_endpoint``), over fake
hook tools: one relation ``<endpoint>:7`` to one remote unit, this unit's bucket given. Shared
by the tests of the monitoring endpoints (prometheus, grafana, cos-agent)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from charmhelpers.core import hookenv

from etcd_charm import context

ROOT = Path(__file__).resolve().parent.parent


class Tools:
    """relation-ids, relation-list, relation-get and relation-set of one relation; what the
    endpoint sets is kept in ``sets``."""

    def __init__(self, mine: dict[str, str], endpoint: str, remote: str) -> None:
        self.mine, self.endpoint, self.remote = mine, endpoint, remote
        self.rid = f"{endpoint}:7"
        self.sets: list[dict[str, Any]] = []
        self.app_sets: list[dict[str, Any]] = []
        #: the remote application's bag (``relation-get --app``)
        self.remote_app: dict[str, str] = {}
        self.joined = True  # whether the remote unit has joined yet
        self.leader = True  # only the leader may read this application's own bag
        self.own_app: dict[str, str] = {}

    def relation_ids(self, name: str | None = None) -> list[str]:
        return [self.rid] if name == self.endpoint else []

    def related_units(self, rid: str | None = None) -> list[str]:
        return [self.remote] if rid in (None, self.rid) and self.joined else []

    def relation_get(
        self,
        attribute: str | None = None,
        unit: str | None = None,
        rid: str | None = None,
        app: str | None = None,
    ) -> Any:
        if app is not None:
            if app == self.remote.split("/")[0]:
                data = self.remote_app
            elif not self.leader:  # this application's own bag (Juju: leader only)
                raise subprocess.CalledProcessError(1, ["relation-get"], "permission denied")
            else:
                data = self.own_app
        else:
            data = self.mine if unit == "etcd/0" else {}
        return dict(data) if attribute is None else data.get(attribute)

    def relation_set(
        self,
        relation_id: str | None = None,
        relation_settings: Any = None,
        app: bool = False,
        **kw: Any,
    ) -> None:
        (self.app_sets if app else self.sets).append(dict(relation_settings or {}))


def open_endpoint(
    monkeypatch: pytest.MonkeyPatch, name: str, mine: dict[str, str], remote: str
) -> tuple[Any, Tools]:
    """The endpoint ``name`` of unit etcd/0, whose bucket holds ``mine``, related to
    ``remote``; and the fake tools under it. Call :func:`forget` after the test."""
    import charmhelpers.osplatform as platform

    tools = Tools(mine, name, remote)
    monkeypatch.setattr(platform, "get_platform", lambda: "ubuntu")
    monkeypatch.setenv("CHARM_DIR", str(ROOT))
    monkeypatch.setenv("JUJU_UNIT_NAME", "etcd/0")
    for tool in ("relation_ids", "related_units", "relation_get", "relation_set"):
        monkeypatch.setattr(hookenv, tool, getattr(tools, tool))
    monkeypatch.setattr(hookenv, "log", lambda *a, **k: None)
    forget()
    return context.action_endpoint(name), tools


def forget() -> None:
    """Drop the opened endpoints and charm-helpers' cache of hook-tool answers."""
    context._ACTION_ENDPOINTS.clear()
    hookenv.cache.clear()

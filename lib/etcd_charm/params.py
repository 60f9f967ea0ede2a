"""Action params, read exactly as ``actions.yaml`` declares them. Pure."""

from __future__ import annotations

import os
from typing import Any

import yaml


class ActionError(Exception):
    """The action cannot do what was asked; the message is shown as the failure."""


class Params:
    """The action's params, read as ``actions.yaml`` declares them (Juju validated the
    values and inserted the defaults; an undeclared name is a bug in this charm)."""

    def __init__(self, action: str, values: dict[str, Any], declared: dict[str, Any]) -> None:
        self.action = action
        self.values = values
        self.declared = declared

    def get(self, name: str) -> Any:
        spec = self.declared.get(name)
        if spec is None:
            raise KeyError(f"{self.action} declares no param {name!r}")
        value = self.values.get(name, spec.get("default"))
        kind = spec.get("type")
        expected = {"string": str, "boolean": bool, "integer": int}.get(kind)
        if expected is not None and not isinstance(value, expected):
            raise ActionError(f"param {name} must be a {kind}, got {value!r}")
        return value


def declared_params(action: str, charm_dir: str) -> dict[str, Any]:
    with open(os.path.join(charm_dir, "actions.yaml")) as f:
        spec = yaml.safe_load(f) or {}
    return dict((spec.get(action) or {}).get("params") or {})

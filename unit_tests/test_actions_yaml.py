"""actions.yaml, actions/ and lib/etcd_charm/actions.py agree: every action declared has an
executable entry point and a handler, refuses undeclared params, and its handler reads
exactly the params it declares (found in the handler's source, in the module actions.py
imports it from), with their declared types."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from etcd_charm.params import ActionError, Params, declared_params

ROOT = Path(__file__).resolve().parents[1]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "actions.yaml").read_text())
PACKAGE = ROOT / "lib" / "etcd_charm"
SOURCE = ast.parse((PACKAGE / "actions.py").read_text())


def handlers() -> dict[str, str]:
    """The ``ACTIONS`` table of actions.py: action name -> handler function name (read from
    the source: the shell module needs a Juju machine to import)."""
    table = next(
        n.value
        for n in ast.walk(SOURCE)
        if isinstance(n, ast.AnnAssign)
        and isinstance(n.target, ast.Name)
        and n.target.id == "ACTIONS"
    )
    assert isinstance(table, ast.Dict)
    return {
        k.value: v.id
        for k, v in zip(table.keys, table.values, strict=True)
        if isinstance(k, ast.Constant) and isinstance(k.value, str) and isinstance(v, ast.Name)
    }


def handler_source(function: str) -> ast.Module:
    """The source of the module that defines a handler of the ``ACTIONS`` table: actions.py
    itself, or the module of the package it imports the handler from."""
    for n in SOURCE.body:
        if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module:
            if any(a.name == function and a.asname is None for a in n.names):
                return ast.parse((PACKAGE / f"{n.module}.py").read_text())
    return SOURCE


def params_read(function: str) -> set[str]:
    """The names passed to ``ctx.params.get(...)`` in a handler of the ``ACTIONS`` table."""
    fn = next(
        n
        for n in ast.walk(handler_source(function))
        if isinstance(n, ast.FunctionDef) and n.name == function
    )
    return {
        call.args[0].value
        for call in ast.walk(fn)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "get"
        and isinstance(call.func.value, ast.Attribute)
        and call.func.value.attr == "params"
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    }


def test_every_action_has_an_entry_point_and_a_handler() -> None:
    assert set(SPEC) == set(handlers())
    for name in SPEC:
        script = ROOT / "actions" / name
        assert script.is_file() and os.access(script, os.X_OK), script
        assert "run_action()" in script.read_text()


@pytest.mark.parametrize("action", sorted(SPEC))
def test_params_declared_and_read_exactly(action: str) -> None:
    spec = SPEC[action]
    assert spec.get("additionalProperties") is False
    declared = spec.get("params") or {}
    for name, p in declared.items():
        assert p.get("type") in ("string", "boolean", "integer"), name
        assert "default" in p and p.get("description"), name
    assert params_read(handlers()[action]) == set(declared)


def test_old_charm_names_and_defaults_kept() -> None:
    """The defaults of the etcd charm this one replaces."""
    assert SPEC["snapshot"]["params"]["target"]["default"] == "/home/ubuntu/etcd-snapshots"
    assert SPEC["snapshot"]["params"]["keys-version"]["default"] == "v3"
    assert SPEC["restore"]["params"]["target"]["default"] == "/home/ubuntu"
    assert SPEC["restore"]["params"]["skip-backup"]["default"] is True
    assert SPEC["compact"]["params"]["revision"] == {
        **SPEC["compact"]["params"]["revision"],
        "type": "string",
        "default": "",
    }
    assert SPEC["compact"]["params"]["physical"]["default"] is False


def test_params_reader() -> None:
    declared = SPEC["restore"]["params"]
    assert declared_params("restore", str(ROOT)) == declared
    p = Params("restore", {"path": "/tmp/x.tar.gz"}, declared)
    assert p.get("path") == "/tmp/x.tar.gz"
    assert p.get("skip-backup") is True  # the declared default when Juju sent none
    with pytest.raises(KeyError):
        p.get("undeclared")
    with pytest.raises(ActionError, match="skip-backup must be a boolean"):
        Params("restore", {"skip-backup": "yes"}, declared).get("skip-backup")

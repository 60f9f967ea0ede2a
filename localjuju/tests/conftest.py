"""Shared fixtures for localjuju's tests."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jubilant
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / ".venv" / "bin" / "localjuju"
HOOKLOG = ROOT / "localjuju" / "tests" / "charms" / "hooklog"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: runs a local model (needs root)")


@pytest.fixture(scope="module")
def juju() -> Iterator[jubilant.Juju]:
    """A fresh local model for one test module, destroyed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the local model needs root (bridge, veth, mounts)")
    name = f"t-{secrets.token_hex(3)}"
    j = jubilant.Juju(cli_binary=str(CLI))
    j.add_model(name)
    j.model = name
    try:
        yield j
    finally:
        j.destroy_model(name, destroy_storage=True, force=True)


@pytest.fixture
def open_root() -> Iterator[Path]:
    """A machine root that a service running as another user can traverse (pytest's own
    temporary directories are private to root)."""
    d = Path(tempfile.mkdtemp(prefix="lj-root-", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def machineless_controller(root: Path) -> Any:
    """A Controller over a new, empty model ``m`` in ``root`` that boots no machine (its
    ``changed`` notifications go nowhere): for tests of the controller's own decisions."""
    from localjuju.controller import state
    from localjuju.controller.controller import Controller

    d = root / "models" / "m"
    d.mkdir(parents=True)
    model = state.Model(name="m", uuid="0" * 36, network_index=1)
    model.config = dict(state.MODEL_CONFIG_DEFAULTS)
    state.save(model, d / "state.json")
    c = Controller(d)
    c.changed = lambda: None  # type: ignore[method-assign]
    return c

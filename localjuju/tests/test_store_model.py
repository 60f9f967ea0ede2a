"""The model's side of the store: model config keys and ``localjuju store`` edit the overlay
that the model's machines read (the controller without machines)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from localjuju import store as S
from localjuju.controller.controller import Controller, UserError
from localjuju.controller.daemon import API

from .conftest import machineless_controller
from .test_store import make_fake_cache


@pytest.fixture
def ctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Controller:
    cache = make_fake_cache(tmp_path / "cache", ("3.4.23", "3.5.16", "3.5.30"))
    S.build_etcd_store(str(cache), str(tmp_path / "store"))
    monkeypatch.setenv("LOCALJUJU_STORE", str(tmp_path / "store"))
    c: Controller = machineless_controller(tmp_path)
    return c


def overlay(c: Controller) -> dict:
    return dict(json.loads((c.store_overlay_dir / S.OVERLAY_FILE).read_text()))


def test_model_config_drives_the_overlay(ctl: Controller) -> None:
    api = API(ctl)
    ctl.sync_store_overlay()
    assert overlay(ctl)["reachable"] is True and overlay(ctl)["auto-refresh"] == 0
    asyncio.run(api.cmd_model_config(values={"localjuju-snap-store-reachable": "false"}))
    assert overlay(ctl)["reachable"] is False
    with pytest.raises(S.StoreUnreachable):
        S.open_store(os.environ["LOCALJUJU_STORE"], str(ctl.store_overlay_dir))
    asyncio.run(api.cmd_model_config(values={"localjuju-snap-auto-refresh": "1m30s"}))
    assert overlay(ctl)["auto-refresh"] == 90
    assert (ctl.store_overlay_dir / S.AUTO_REFRESH_FILE).read_text() == "90\n"
    asyncio.run(api.cmd_model_config(reset=["localjuju-snap-store-reachable"]))
    asyncio.run(api.cmd_model_config(values={"localjuju-snap-auto-refresh": "0"}))
    assert overlay(ctl)["reachable"] is True and overlay(ctl)["auto-refresh"] == 0
    for k, v in (
        ("localjuju-snap-auto-refresh", "often"),
        ("localjuju-snap-store-reachable", "x"),
    ):
        with pytest.raises(UserError):
            asyncio.run(api.cmd_model_config(values={k: v}))


def test_store_operations_edit_the_model_s_channels_only(ctl: Controller) -> None:
    api = API(ctl)
    res = asyncio.run(api.cmd_store("release", "etcd", ["530", "3.5/stable"]))
    assert res["channels"]["3.5/stable"] == {"revision": 530, "version": "3.5.30"}
    assert overlay(ctl)["snaps"]["etcd"]["channels"] == {"3.5/stable": 530}
    # the model config keeps what the store operations did
    asyncio.run(api.cmd_model_config(values={"localjuju-snap-auto-refresh": "10s"}))
    assert overlay(ctl)["snaps"]["etcd"]["channels"] == {"3.5/stable": 530}
    res = asyncio.run(api.cmd_store("remove-track", "etcd", ["3.5"]))
    assert "3.5" not in res["tracks"] and not any(c.startswith("3.5/") for c in res["channels"])
    res = asyncio.run(api.cmd_store("reset", "etcd", []))
    assert res["channels"]["3.5/stable"]["revision"] == 516
    shared = S.load_store(str(ctl.store_overlay_dir.parent.parent.parent / "store"))
    assert shared.snap("etcd").channels["3.5/stable"].revision == 516  # type: ignore[union-attr]
    with pytest.raises(UserError, match="has no revision 999"):
        asyncio.run(api.cmd_store("release", "etcd", ["999", "3.5/stable"]))

""":func:`etcd_charm.install.install` against a fake snapd: which channel ``auto`` takes from
the store, a channel the store lacks, an unreachable store, the core and etcd resources
(the base first, a missing base named), and the refresh hold after every install."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from charmhelpers.core import hookenv

from etcd_charm import install, workload
from etcd_charm.context import Hook
from etcd_charm.record import Record
from etcd_charm.settings import parse_settings
from etcd_charm.snapshot import sha256_file

from .fixtures import Kv, config_defaults
from .test_snap_store import BOTH, OLD

BASE_ERROR = (
    'snap install --dangerous /r/etcd.snap failed: - Ensure prerequisites for "etcd" are '
    'available (cannot install snap base "core18": persistent network error: dial tcp: '
    "lookup snap-store.localjuju: Temporary failure in name resolution)"
)


class Snapd:
    """``snap`` as the charm runs it: what the store says, what got installed, in order."""

    def __init__(self, info: str | Exception = BOTH) -> None:
        self.info = info
        self.commands: list[list[str]] = []
        self.installed: tuple[str, str, str] | None = None
        self.held = False
        self.fail_install: str = ""

    def run(self, argv: list[str], timeout: float = 600) -> str:
        self.commands.append(argv)
        if argv[:2] == ["snap", "info"]:
            if isinstance(self.info, Exception):
                raise self.info
            return self.info
        if argv[:2] == ["snap", "list"]:
            if self.installed is None:
                raise workload.WorkloadError("error: no matching snaps installed")
            version, rev, tracking = self.installed
            notes = "held" if self.held else "-"
            return f"Name Version Rev Tracking Publisher Notes\netcd {version} {rev} {tracking} canonical✓ {notes}\n"
        if argv[:2] == ["snap", "install"]:
            if self.fail_install and argv[-1].endswith("etcd.snap"):
                raise workload.WorkloadError(self.fail_install)
            if argv[2] == "--dangerous":
                if argv[3].endswith("etcd.snap"):
                    self.installed = ("3.5.16", "x1", "-")
                return ""
            channel = argv[3].split("=", 1)[1]
            self.installed = ("3.4.23" if channel.startswith("3.4") else "3.5.16", "1", channel)
            return ""
        if argv[:3] == ["snap", "refresh", "--hold"]:
            self.held = True
            return 'General refreshes of "etcd" held indefinitely'
        raise AssertionError(f"unexpected {argv}")

    def installs(self) -> list[list[str]]:
        return [c for c in self.commands if c[:2] == ["snap", "install"]]


@pytest.fixture
def snapd(monkeypatch: pytest.MonkeyPatch) -> Iterator[Snapd]:
    fake = Snapd()
    monkeypatch.setattr(workload, "_run", fake.run)
    monkeypatch.setattr(workload, "legacy_install", lambda: None)
    monkeypatch.setattr(hookenv, "log", lambda *a, **k: None)
    monkeypatch.setattr(hookenv, "status_set", lambda *a, **k: None)
    monkeypatch.setattr(install, "snap_resource", lambda name="etcd": None)
    workload.forget_listing()
    yield fake
    workload.forget_listing()


def make_hook(channel: str = "auto") -> Hook:
    config = {**config_defaults(), "channel": channel}
    settings, errors = parse_settings(config)
    assert settings is not None, errors
    return Hook("etcd/0", "install", Record(Kv()), config, settings, errors)


@pytest.mark.parametrize(("info", "channel"), [(BOTH, "3.5/stable"), (OLD, "3.4/stable")])
def test_auto_installs_the_newest_track_the_store_has(
    snapd: Snapd, info: str, channel: str
) -> None:
    snapd.info = info
    h = make_hook()
    assert install.install(h) is True
    assert snapd.installs() == [["snap", "install", "etcd", f"--channel={channel}"]]
    assert snapd.held  # only the charm refreshes etcd from now on
    assert h.status is not None and h.status.message == f"Installing etcd from channel {channel}"


def test_a_channel_the_store_lacks_blocks_and_installs_nothing(snapd: Snapd) -> None:
    snapd.info = OLD
    h = make_hook("3.5/stable")
    assert install.install(h) is False
    assert snapd.installs() == []
    assert h.status is not None and h.status.state == "blocked"
    assert "'3.5/stable' is not in the snap store" in h.status.message
    assert "3.4/stable" in h.status.message


def test_an_unreachable_store_blocks_saying_what_to_attach(snapd: Snapd) -> None:
    snapd.info = workload.WorkloadError('snap info etcd failed: error: no snap found for "etcd"')
    h = make_hook()
    assert install.install(h) is False
    assert snapd.installs() == []
    assert h.status is not None and h.status.state == "blocked"
    assert h.status.message.startswith("The snap store does not answer (")
    assert "core18, as the core resource" in h.status.message


def test_resources_install_the_base_first(
    snapd: Snapd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {"etcd": tmp_path / "etcd.snap", "core": tmp_path / "core18.snap"}
    for f in files.values():
        f.write_bytes(f.name.encode())
    monkeypatch.setattr(install, "snap_resource", lambda name="etcd": str(files[name]))
    h = make_hook()
    assert install.install(h) is True
    assert snapd.installs() == [
        ["snap", "install", "--dangerous", str(files["core"])],
        ["snap", "install", "--dangerous", str(files["etcd"])],
    ]
    assert h.record.resource_digest == sha256_file(str(files["etcd"]))
    assert not any(c[:2] == ["snap", "info"] for c in snapd.commands)  # no store asked
    assert snapd.held


def test_without_its_base_the_unit_names_the_base_to_attach(
    snapd: Snapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        install, "snap_resource", lambda name="etcd": {"etcd": "/r/etcd.snap"}.get(name)
    )
    snapd.fail_install = BASE_ERROR
    h = make_hook()
    assert install.install(h) is False
    assert h.status is not None and h.status.message == (
        "etcd's snap needs its base core18, which the store cannot give: attach it as the "
        "core resource (juju attach-resource etcd core=./core18.snap)"
    )
    snapd.fail_install = "snap install --dangerous /r/etcd.snap failed: error: disk full"
    install.install(h)
    assert h.status is not None and h.status.message.startswith("Installing etcd failed:")


def test_the_hold_is_set_once(snapd: Snapd) -> None:
    snapd.installed = ("3.5.16", "516", "3.5/stable")
    install.hold_refreshes()
    install.hold_refreshes()
    assert [c for c in snapd.commands if "--hold" in c] == [["snap", "refresh", "--hold", "etcd"]]
    snapd.installed = None
    snapd.held = False
    workload.forget_listing()
    install.hold_refreshes()  # nothing installed: nothing to hold
    assert len([c for c in snapd.commands if "--hold" in c]) == 1

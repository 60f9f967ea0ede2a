"""``snap list etcd`` is read once while snapd's state file stays as it was, from one hook to
the next (the unit's kv keeps it with the file's stamp), and again after anything changed it:
a snap command of the charm's own, or one of snapd's or the operator's, which rewrites it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from etcd_charm import workload
from etcd_charm.record import KV_SNAP_LISTING

from .fixtures import Kv

LISTING = "Name Version Rev Tracking Publisher Notes\netcd 3.5.16 1 3.5/stable canonical✓ held\n"


@dataclass
class Machine:
    state: Path
    kv: Kv = field(default_factory=Kv)
    listing: str = LISTING
    lists: int = 0
    during_list: list[str] = field(default_factory=list)

    def run(self, argv: list[str], timeout: float = 600) -> str:
        assert argv[:2] == ["snap", "list"], argv
        self.lists += 1
        for text in self.during_list:  # snapd changes its state while the listing is read
            self.rewrite(text)
        return self.listing

    def rewrite(self, text: str) -> None:
        """snapd saves its state: a new file renamed over the old one."""
        tmp = self.state.with_name(".state.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.state)

    def next_hook(self) -> None:
        workload._listing.cache_clear()  # a new process: only the kv is left


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    m = Machine(tmp_path / "state.json")
    m.rewrite('{"snaps": {"etcd": 1}}')
    monkeypatch.setenv("JUJU_CONTEXT_ID", "etcd-0-update-status-1")
    monkeypatch.setattr(workload, "SNAPD_STATE", str(m.state))
    monkeypatch.setattr(workload, "_run", m.run)
    monkeypatch.setattr(workload, "kv", lambda: m.kv)
    workload._listing.cache_clear()
    yield m
    workload._listing.cache_clear()


def test_one_listing_for_many_hooks_while_snapd_state_stands(machine: Machine) -> None:
    for _ in range(3):
        assert workload.installed() == ("3.5.16", "1", "3.5/stable")
        assert workload.refreshes_held()
        machine.next_hook()
    assert machine.lists == 1


def test_a_change_of_snapd_state_reads_the_listing_again(machine: Machine) -> None:
    assert workload.installed_revision() == "1"
    machine.next_hook()
    machine.listing = LISTING.replace(" 1 3.5/stable", " 2 3.6/stable")
    machine.rewrite('{"snaps": {"etcd": 2}}')  # e.g. an operator's snap refresh --channel
    assert (workload.installed_revision(), workload.tracking()) == ("2", "3.6/stable")
    assert machine.lists == 2


def test_the_charm_s_own_snap_command_forgets_the_listing(machine: Machine) -> None:
    assert workload.installed_revision() == "1"
    workload.forget_listing()
    assert (KV_SNAP_LISTING in machine.kv) is False
    assert workload.installed_revision() == "1"
    assert machine.lists == 2


def test_a_listing_read_while_snapd_state_changed_is_not_kept(machine: Machine) -> None:
    machine.during_list = ['{"snaps": {"etcd": 2}}']
    workload.installed()
    assert (KV_SNAP_LISTING in machine.kv) is False
    machine.next_hook()
    machine.during_list = []
    workload.installed()
    assert machine.lists == 2
    assert (KV_SNAP_LISTING in machine.kv) is True


def test_without_snapd_state_nothing_is_kept(machine: Machine) -> None:
    machine.state.unlink()
    workload.installed()
    machine.next_hook()
    workload.installed()
    assert machine.lists == 2 and machine.kv == {}


def test_outside_a_hook_nothing_is_kept(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUJU_CONTEXT_ID")  # e.g. the scheduled backup's program
    workload.installed()
    machine.next_hook()
    workload.installed()
    assert machine.lists == 2 and machine.kv == {}

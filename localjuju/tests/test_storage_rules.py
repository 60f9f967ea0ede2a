"""Storage decisions of the local model without machines: Juju's directive syntax and defaults,
the storage resolver's order, and ``juju storage``'s output (Juju 3.6, see test_storage.py for
the same on a running model)."""

from __future__ import annotations

import json

import pytest

from localjuju.controller import resolver
from localjuju.controller.resolver import HookInfo, Op, Remote
from localjuju.controller.state import UnitLocal
from localjuju.controller.storage import (
    Directive,
    StorageError,
    _human,
    count_range,
    parse_directive,
    parse_storage_flag,
)
from localjuju.formats.storage import show_storage_output, storage_output


@pytest.mark.parametrize(
    "spec, want",
    [
        ("1G", Directive(size=1024)),
        ("ljvolume,10G", Directive(pool="ljvolume", size=10240)),
        ("2,loop", Directive(pool="loop", count=2)),
        ("16M,ebs-ssd,3", Directive(pool="ebs-ssd", size=16, count=3)),
        ("1.5G", Directive(size=1536)),
        ("512MiB", Directive(size=512)),
    ],
)
def test_directives_take_pool_size_and_count_in_any_order(spec: str, want: Directive) -> None:
    assert parse_directive(spec) == want


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "storage constraints require at least one field to be specified"),
        ("0", "adding storage where instance count is 0 not valid"),
        ("1G,+x", 'unrecognized storage constraint "+x" not valid'),
    ],
)
def test_bad_directives_are_refused(spec: str, message: str) -> None:
    with pytest.raises(StorageError, match=message.replace("+", r"\+")):
        parse_directive(spec)


def test_a_bare_store_name_is_one_instance() -> None:
    assert parse_storage_flag("data") == ("data", Directive(count=1))
    assert parse_storage_flag("data=loop,1G") == ("data", Directive(pool="loop", size=1024))


@pytest.mark.parametrize(
    "multiple, want",
    [(None, (1, 1)), ({"range": "0-1"}, (0, 1)), ({"range": "2"}, (2, 2)),
     ({"range": "1-"}, (1, None))],
)  # fmt: skip
def test_count_ranges(multiple: dict[str, str] | None, want: tuple[int, int | None]) -> None:
    assert count_range({"type": "block", "multiple": multiple}) == want


def test_sizes_are_worded_as_juju_words_them() -> None:
    # humanize.Bytes(MiB * 10^6): Juju's own unit mix-up, kept
    assert [_human(n) for n in (16, 8, 1024, 10240)] == ["16 MB", "8.0 MB", "1.0 GB", "10 GB"]


def attached(*ids: str) -> UnitLocal:
    return UnitLocal(installed=True, started=True, config_hash="c", charm_revision=0,
                     leader_settings_version=0,
                     storage_attached=list(ids))  # fmt: skip


def remote(**kw: object) -> Remote:
    base: dict[str, object] = {"unit": "u/0", "config_hash": "c", "charm_revision": 0}
    base.update(kw)
    return Remote(**base)  # type: ignore[arg-type]


def hook(name: str, sid: str) -> Op:
    kind = "storage-" + name.rsplit("-storage-", 1)[1]
    return Op("hook", HookInfo(name, kind, storage_id=sid))


def test_deployed_storage_runs_before_install_and_install_waits_for_it() -> None:
    fresh = UnitLocal()
    assert resolver.next_op(fresh, remote(storage=["data/0"])) == hook(
        "data-storage-attached", "data/0"
    )
    fresh.storage_attached.append("data/0")
    assert resolver.next_op(fresh, remote(storage=["data/0"])) == Op("hook", HookInfo(
        "install", "install"))  # fmt: skip
    assert resolver.next_op(UnitLocal(), remote(storage_pending=True)) is None


def test_detaching_runs_first_for_a_dying_unit_and_never_for_what_it_did_not_attach() -> None:
    local = attached("data/0")
    assert resolver.next_op(local, remote(life="dying", storage_detaching=["data/0"])) == hook(
        "data-storage-detaching", "data/0"
    )
    assert resolver.next_op(attached(), remote(life="dying", storage_detaching=["data/0"])) == Op(
        "hook", HookInfo("stop", "stop")
    )
    # a living unit: storage added after install is attached when nothing else is to do
    assert resolver.next_op(attached(), remote(storage=["data/1"])) == hook(
        "data-storage-attached", "data/1"
    )
    assert resolver.next_op(attached("data/1"), remote(storage=["data/1"])) is None


def test_a_detaching_hook_commits_by_forgetting_the_storage() -> None:
    local = attached("data/0", "data/1")
    resolver.commit(local, HookInfo("data-storage-detaching", "storage-detaching",
                                    storage_id="data/0"), remote())  # fmt: skip
    assert local.storage_attached == ["data/1"]


STATUS = {"current": "attached", "since": "05 Dec 2026 15:23:21Z"}
COMBINED = {
    "storage": {
        "data/0": {"kind": "block", "life": "alive", "status": STATUS, "persistent": True,
                   "attachments": {"units": {"etcd/0": {"machine": "0", "location": "/dev/loop0",
                                                        "life": "alive"}}}},
        "data/1": {"kind": "block", "life": "alive",
                   "status": {"current": "detached", "since": STATUS["since"]},
                   "persistent": True},
    },
    "volumes": {
        "0": {"provider-id": "volume-0", "storage": "data/0",
              "attachments": {"machines": {"0": {"device": "loop0", "read-only": False,
                                                 "life": "alive"}}},
              "pool": "ljvolume", "size": 1024, "persistent": True, "life": "alive",
              "status": STATUS},
        "1": {"provider-id": "volume-1", "storage": "data/1", "pool": "ljvolume", "size": 1024,
              "persistent": True, "life": "alive",
              "status": {"current": "detached", "since": STATUS["since"]}},
    },
}  # fmt: skip


def test_storage_json_keeps_the_go_field_order_and_omits_what_juju_omits() -> None:
    out, err = storage_output(COMBINED, "json")
    assert err == "" and out.endswith("\n") and "\n" not in out[:-1]
    assert out.startswith('{"storage":{"data/0":{"kind":"block","life":"alive","status":{')
    doc = json.loads(out)
    assert list(doc) == ["storage", "volumes"]
    assert list(doc["volumes"]["0"]) == ["provider-id", "storage", "attachments", "pool", "size",
                                         "persistent", "life", "status"]  # fmt: skip
    assert "attachments" not in doc["storage"]["data/1"]


def test_storage_tabular_and_an_empty_model() -> None:
    out, _ = storage_output(COMBINED, "tabular")
    assert out.splitlines() == [
        "Unit    Storage ID  Type   Pool      Size     Status    Message",
        "etcd/0  data/0      block  ljvolume  1.0 GiB  attached",
        "        data/1      block  ljvolume  1.0 GiB  detached",
    ]
    assert storage_output({}, "json") == ("", "")
    assert storage_output({}, "tabular") == ("", "No storage to display.\n")


def test_show_storage_is_keyed_by_id_without_a_wrapper() -> None:
    out = show_storage_output({"data/1": COMBINED["storage"]["data/1"]}, "yaml")
    assert out.splitlines()[:3] == ["data/1:", "  kind: block", "  life: alive"]

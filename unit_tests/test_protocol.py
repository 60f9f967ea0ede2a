"""The protocol table (lib/etcd_charm/protocol.py) against the code and the docs: a key the code
reads or writes that the table does not list fails here, and so does a table entry the code no
longer uses, and docs/protocol.md drifting from the table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from etcd_charm import protocol
from etcd_charm.state import LeaderData, UnitInfo

from .protocol_scan import Scan, scan_sources

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "lib/etcd_charm/*.py",
    "reactive/*.py",
    "actions/*",
    "hooks/relations/etcd/*.py",
    "hooks/relations/etcd-proxy/*.py",
)
TABLE = {(k.scope, k.name) for k in protocol.PROTOCOL}
#: methods whose result is a dict of protocol keys: what they publish
PRODUCERS = {"to_relation": frozenset(UnitInfo("etcd/0", "etcd0").to_relation())}


def charm_sources() -> dict[str, str]:
    paths = sorted({p for pattern in SOURCES for p in ROOT.glob(pattern) if p.is_file()})
    return {str(p.relative_to(ROOT)): p.read_text() for p in paths}


def scan_charm() -> Scan:
    return scan_sources(charm_sources(), PRODUCERS)


class Recording(dict[str, Any]):
    """A mapping that remembers which keys were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)


def codec_uses() -> set[tuple[str, str, str]]:
    """(scope, key, access) of the codecs in state.py: what UnitInfo publishes and decodes,
    what LeaderData decodes."""
    peer, leader = Recording(), Recording()
    UnitInfo.from_relation("etcd/1", peer)
    LeaderData.from_dict(leader)
    uses = {("peer unit", k, "write") for k in PRODUCERS["to_relation"]}
    uses |= {("peer unit", k, "read") for k in peer.asked}
    return uses | {("leader", k, "read") for k in leader.asked}


def test_the_table_lists_each_key_once_with_every_column() -> None:
    assert not [k for k, n in Counter(TABLE).items() if n > 1]
    assert len(TABLE) == len(protocol.PROTOCOL)
    for key in protocol.PROTOCOL:
        assert key.scope in protocol.SCOPES
        assert all((key.writer, key.readers, key.meaning, key.cleared)), key


def test_the_code_reads_and_writes_only_keys_the_table_lists() -> None:
    scan = scan_charm()
    assert scan.uses, "the scan found no key at all: it is broken"
    assert scan.unresolved == []
    unlisted = sorted(
        f"{u.where}: {u.access} of {u.scope} key {u.key!r}"
        for u in scan.uses
        if (u.scope, u.key) not in TABLE
    )
    assert unlisted == [], "add these keys to PROTOCOL in lib/etcd_charm/protocol.py"
    assert {(s, k) for s, k, _ in codec_uses()} <= TABLE


def test_every_key_in_the_table_is_written_and_read_as_it_says() -> None:
    uses = {(u.scope, u.key, u.access) for u in scan_charm().uses} | codec_uses()
    for key in protocol.PROTOCOL:
        assert (key.scope, key.name, "write") in uses, f"nothing writes {key}"
        read = (key.scope, key.name, "read") in uses
        assert read is not key.external, f"{key.scope} key {key.name!r}: " + (
            "read here: not external" if read else "read by nothing here: external=True"
        )


def test_the_docs_show_the_table() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    assert protocol.render_markdown() in doc, (
        "docs/protocol.md is out of date: replace its table with "
        "etcd_charm.protocol.render_markdown()"
    )
    listed = {
        line.split("`")[1] for line in doc.splitlines() if line.startswith("| `") and "`" in line
    }
    assert listed == {k.name for k in protocol.PROTOCOL}


# --- the checker itself: what it must catch ----------------------------------------------

NEW_KEY = [
    (
        'def f(rid):\n    for rid in hookenv.relation_ids("cluster"):\n'
        '        hookenv.relation_set(rid, {"new-key": "x"})\n',
        ("peer unit", "new-key", "write"),
    ),
    (
        'def f():\n    rid = hookenv.relation_ids("cluster")[0]\n'
        '    return hookenv.relation_get("new-key", "etcd/1", rid)\n',
        ("peer unit", "new-key", "read"),
    ),
    ('def f():\n    hookenv.leader_set({"new-key": "x"})\n', ("leader", "new-key", "write")),
    ('def f():\n    hookenv.leader_set(new_key="x")\n', ("leader", "new_key", "write")),
    (
        'def f():\n    record = {"token": "t"}\n    record["new-key"] = "x"\n'
        "    hookenv.leader_set(record)\n",
        ("leader", "new-key", "write"),
    ),
    ('def f():\n    return hookenv.leader_get("new-key")\n', ("leader", "new-key", "read")),
    (
        'def f():\n    d = hookenv.leader_get() or {}\n    return d.get("new-key")\n',
        ("leader", "new-key", "read"),
    ),
    (
        'KV_NEW = "etcd.new-key"\n\n\nclass C:\n    def f(self):\n'
        "        self.kv.set(KV_NEW, 1)\n",
        ("unit storage", "etcd.new-key", "write"),
    ),
    (
        'def f():\n    for key in ("etcd.started", "etcd.new-key"):\n'
        "        unitdata.kv().unset(key)\n",
        ("unit storage", "etcd.new-key", "write"),
    ),
    (
        'def f(me):\n    peers = endpoint_from_name("cluster")\n    values = me.to_relation()\n'
        '    values["new-key"] = "x"\n    peers.publish(values)\n',
        ("peer unit", "new-key", "write"),
    ),
    # record.py: a Record property over a new key constant
    (
        'KV_NEW = "etcd.new-key"\n\n\nclass Record:\n    @property\n    def new(self):\n'
        "        return self.kv.get(KV_NEW)\n",
        ("unit storage", "etcd.new-key", "read"),
    ),
    # record.py: a new key in a module tuple of keys (forget_member, member_state, put_back)
    (
        'KV_STARTED = "etcd.started"\nKEYS = (KV_STARTED, "etcd.new-key")\n\n\n'
        "class Record:\n    def forget(self):\n        for key in KEYS:\n"
        "            self.kv.unset(key)\n",
        ("unit storage", "etcd.new-key", "write"),
    ),
    (
        'KEYS = ("etcd.started", "etcd.new-key")\n\n\nclass Record:\n    def state(self):\n'
        "        return tuple(self.kv.get(key) for key in KEYS)\n",
        ("unit storage", "etcd.new-key", "read"),
    ),
    (
        'KEYS = ("etcd.started", "etcd.new-key")\n\n\nclass Record:\n'
        "    def put_back(self, state):\n"
        "        for key, value in zip(KEYS, state, strict=True):\n"
        "            self.kv.set(key, value)\n",
        ("unit storage", "etcd.new-key", "write"),
    ),
    # publish.py: the peer endpoint from the hook context
    (
        'def publish(hook, obs):\n    peers = hook.endpoint("cluster")\n'
        '    values = obs.me.to_relation()\n    values["new-key"] = "x"\n'
        "    peers.publish(values)\n",
        ("peer unit", "new-key", "write"),
    ),
    (
        'PEERS = "cluster"\n\n\ndef publish(hook):\n'
        '    hook.endpoint(PEERS).publish({"new-key": "x"})\n',
        ("peer unit", "new-key", "write"),
    ),
]


@pytest.mark.parametrize(("source", "use"), NEW_KEY)
def test_the_checker_catches_a_key_the_table_does_not_list(
    source: str, use: tuple[str, str, str]
) -> None:
    scan = scan_sources({"lib/etcd_charm/new.py": source}, PRODUCERS)
    assert scan.unresolved == []
    found = {(u.scope, u.key, u.access) for u in scan.uses}
    assert use in found
    assert (use[0], use[1]) not in TABLE


def test_the_checker_catches_a_new_key_in_an_endpoint() -> None:
    source = (
        "class EtcdProvides:\n    def publish(self, x):\n"
        '        values = {"connection_string": x, "new_key": x}\n'
    )
    scan = scan_sources({"hooks/relations/etcd/provides.py": source})
    assert ("db", "new_key") in {(u.scope, u.key) for u in scan.uses}


UNRESOLVED = [
    "def f(key):\n    hookenv.leader_set({key: 1})\n",
    "def f(data):\n    hookenv.leader_set(data)\n",
    "def f(key):\n    return hookenv.leader_get(key)\n",
    "def f():\n    return check(hookenv.leader_get())\n",
    'def f(rid):\n    hookenv.relation_set(rid, {"ready": ""})\n',  # which relation?
    'def f(rid):\n    for r in hookenv.relation_ids("cluster"):\n        relation_get(None, "u", r)\n',
    "def f(self, key):\n    self.kv.get(key)\n",
    # the peer endpoint publishes what it is given: keys it cannot see are refused
    'def publish(hook, values):\n    hook.endpoint("cluster").publish(values)\n',
    'def publish(hook, values):\n    peers = hook.endpoint("cluster")\n    peers.publish(values)\n',
    # an endpoint whose relation is a parameter
    'def publish(hook, name):\n    hook.endpoint(name).publish({"ready": ""})\n',
    'def publish(hook, name):\n    ep = hook.endpoint(name)\n    ep.publish({"ready": ""})\n',
    # loops over what is not (only) keys
    "def f(self, keys):\n    for key in keys:\n        self.kv.unset(key)\n",
    'KEYS = ("etcd.started", other())\n\n\ndef f(self):\n    for key in KEYS:\n'
    "        self.kv.unset(key)\n",
    'KEYS = ("etcd.started",)\nKEYS = other()\n\n\ndef f(self):\n'
    "    return [self.kv.get(key) for key in KEYS]\n",
    'def f(self, data):\n    for key in ("etcd.started",):\n        self.kv.unset(key)\n'
    "    for key, value in data.items():\n        self.kv.set(key, value)\n",
    "def f(self, names, state):\n    for key, value in zip(names, state, strict=True):\n"
    "        self.kv.set(key, value)\n",
]


@pytest.mark.parametrize("source", UNRESOLVED)
def test_the_checker_refuses_what_it_cannot_follow(source: str) -> None:
    assert scan_sources({"lib/etcd_charm/new.py": source}, PRODUCERS).unresolved


def test_the_codec_check_sees_a_new_field() -> None:
    class Wider(UnitInfo):
        def to_relation(self) -> dict[str, str]:
            return {**super().to_relation(), "new-key": ""}

    assert "new-key" in Wider("etcd/0", "etcd0").to_relation()
    assert not set(Wider("etcd/0", "etcd0").to_relation()) <= protocol.keys("peer unit")

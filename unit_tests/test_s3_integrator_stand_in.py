"""The s3-integrator-stand-in test fixture (tests/charms/s3-integrator-stand-in/src/charm.py):
what it writes on the s3 relation, as s3-integrator track 1 (canonical/s3-integrator 051ef46)
and its v0 s3 library do, run against fake hook tools that keep the relation bags."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHARM = ROOT / "tests" / "charms" / "s3-integrator-stand-in"
SRC = CHARM / "src"


def _load() -> Any:
    sys.path.insert(0, str(SRC))  # its hooktools
    try:
        spec = importlib.util.spec_from_file_location(
            "s3_integrator_stand_in_charm", SRC / "charm.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SRC))


S = _load()
HookToolError = S.ht.HookToolError

PEER_ID = "s3-integrator-peers:0"
APP = "s3-integrator"


def pem(n: int) -> str:
    return f"-----BEGIN CERTIFICATE-----\nMIIB{n}AAAA\nBBBB{n}==\n-----END CERTIFICATE-----"


class FakeModel:
    """The hook tools the stand-in runs, over in-memory bags: one unit of the integrator
    (leader or not), its peer relation and the s3 relations added with :meth:`relate`."""

    def __init__(self, leader: bool = True) -> None:
        self.leader = leader
        options = yaml.safe_load((CHARM / "config.yaml").read_text())["options"]
        self.config: dict[str, Any] = {k: v.get("default") for k, v in options.items()}
        self.endpoints = {PEER_ID: "s3-integrator-peers"}
        self.bags: dict[str, dict[str, dict[str, str]]] = {PEER_ID: {APP: {}}}
        self.remote: dict[str, str] = {}
        self.writes: list[tuple[str, dict[str, str]]] = []
        self.status: tuple[str, str] | None = None
        self.params: dict[str, Any] = {}
        self.results: dict[str, str] = {}
        self.failed: str | None = None
        self.calls: list[str] = []

    # the model's side

    def relate(self, relation_id: int, requirer: str = "etcd") -> str:
        rid = f"s3-credentials:{relation_id}"
        self.endpoints[rid] = "s3-credentials"
        self.bags[rid] = {APP: {}, requirer: {}}
        self.remote[rid] = requirer
        return rid

    def requirer_sets(self, rid: str, **settings: str) -> None:
        bag = self.bags[rid][self.remote[rid]]
        for key, value in settings.items():
            if value:
                bag[key] = value
            else:
                bag.pop(key, None)

    def provided(self, rid: str) -> dict[str, str]:
        return dict(self.bags[rid][APP])

    @property
    def peer(self) -> dict[str, str]:
        return dict(self.bags[PEER_ID][APP])

    # the tools

    def run(self, argv: list[str], stdin: str | None = None) -> str:
        tool, args = argv[0], list(argv[1:])
        self.calls.append(tool)
        if tool == "is-leader":
            return json.dumps(self.leader)
        if tool == "config-get":
            return json.dumps({k: v for k, v in self.config.items() if v is not None})
        if tool == "relation-ids":
            return json.dumps(sorted(r for r, ep in self.endpoints.items() if ep == args[-1]))
        if tool == "relation-get":
            assert args[:2] == ["--app", "--format=json"] and args[2] == "-r"
            rid, app = args[3], args[5]
            if app == APP and not self.leader and rid != PEER_ID:
                raise HookToolError(argv, 1, "permission denied")
            return json.dumps(self.bags[rid].get(app, {}), sort_keys=True)  # as Juju's Go map
        if tool == "relation-set":
            assert args[:2] == ["--app", "-r"] and args[3:] == ["--file", "-"]
            if not self.leader:
                raise HookToolError(argv, 1, "cannot write relation settings")
            rid, settings = args[2], yaml.safe_load(stdin or "")
            assert all(isinstance(v, str) for v in settings.values())
            self.writes.append((rid, settings))
            bag = self.bags[rid][APP]
            for key, value in settings.items():
                if value:
                    bag[key] = value
                else:
                    bag.pop(key, None)
            return ""
        if tool == "status-set":
            self.status = (args[0], args[1])
            return ""
        if tool == "action-get":
            return json.dumps(self.params)
        if tool == "action-set":
            self.results.update(dict(a.split("=", 1) for a in args))
            return ""
        if tool == "action-fail":
            self.failed = args[0]
            return ""
        if tool == "juju-log":
            return ""
        raise AssertionError(f"unexpected hook tool {argv}")

    def writes_to(self, rid: str) -> list[dict[str, str]]:
        return [settings for r, settings in self.writes if r == rid]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeModel]:
    fake = FakeModel()
    monkeypatch.setattr(S.ht, "run", fake.run)
    monkeypatch.setenv("JUJU_UNIT_NAME", f"{APP}/0")
    for var in ("JUJU_RELATION_ID", "JUJU_REMOTE_APP", "JUJU_REMOTE_UNIT"):
        monkeypatch.delenv(var, raising=False)
    yield fake


def hook(model: FakeModel, name: str, rid: str = "") -> None:
    env = {"JUJU_RELATION_ID": rid, "JUJU_REMOTE_APP": model.remote.get(rid, "")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        S.run_hook(name)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def changed(model: FakeModel, rid: str) -> None:
    hook(model, "s3-credentials-relation-changed", rid)


def action(model: FakeModel, name: str, **params: str) -> None:
    model.params, model.results, model.failed = dict(params), {}, None
    S.run_action(name)


def configure(model: FakeModel, **options: Any) -> None:
    model.config.update({k.replace("_", "-"): v for k, v in options.items()})
    hook(model, "config-changed")


def sync(model: FakeModel, access: str = "AKIA-TEST", secret: str = "s3cr3t") -> None:
    action(model, "sync-s3-credentials", **{"access-key": access, "secret-key": secret})


def requirer_view(bag: Mapping[str, str]) -> dict[str, Any]:
    """What the v0 S3Requirer's get_s3_connection_info makes of the provider's bag: every
    value through json.loads, the raw string when that fails."""
    out: dict[str, Any] = {}
    for key, value in bag.items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


# --- the charm's shape -------------------------------------------------------------------------


def test_the_fixture_has_the_real_charm_s_endpoints_options_and_actions() -> None:
    meta = yaml.safe_load((CHARM / "metadata.yaml").read_text())
    assert meta["provides"] == {"s3-credentials": {"interface": "s3"}}
    assert meta["peers"] == {"s3-integrator-peers": {"interface": "s3-integrator-peers"}}
    assert "requires" not in meta and not meta.get("subordinate")
    options = yaml.safe_load((CHARM / "config.yaml").read_text())["options"]
    assert {k: (v["type"], v.get("default")) for k, v in options.items()} == {
        "endpoint": ("string", None), "bucket": ("string", ""), "region": ("string", ""),
        "path": ("string", ""), "attributes": ("string", ""), "s3-uri-style": ("string", ""),
        "storage-class": ("string", ""), "tls-ca-chain": ("string", ""),
        "s3-api-version": ("string", ""), "experimental-delete-older-than-days": ("int", None),
    }  # fmt: skip
    assert "default" not in options["endpoint"]
    assert "default" not in options["experimental-delete-older-than-days"]
    actions = yaml.safe_load((CHARM / "actions.yaml").read_text())
    assert set(actions) == {"sync-s3-credentials", "get-s3-credentials", "get-s3-connection-info"}
    sync_action = actions["sync-s3-credentials"]
    assert set(sync_action["params"]) == {"access-key", "secret-key"}
    assert sync_action["required"] == ["access-key", "secret-key"]
    assert all(p["type"] == "string" for p in sync_action["params"].values())


def test_the_charm_directory_deploys_like_the_other_stand_ins() -> None:
    link = SRC / "hooktools.py"
    assert link.is_symlink()
    assert link.resolve() == ROOT / "localjuju" / "charms" / "shared" / "hooktools.py"
    dispatch = CHARM / "dispatch"
    assert os.access(dispatch, os.X_OK)
    assert dispatch.read_text() == (ROOT / "tests/charms/nrpe-stand-in/dispatch").read_text()


# --- statuses ----------------------------------------------------------------------------------


def test_it_starts_blocked_on_the_missing_keys(model: FakeModel) -> None:
    hook(model, "start")
    assert model.status == ("blocked", "Missing parameters: ['access-key', 'secret-key']")
    model.bags[PEER_ID][APP]["access-key"] = "a"
    hook(model, "s3-integrator-peers-relation-changed", PEER_ID)
    assert model.status == ("blocked", "Missing parameters: ['secret-key']")
    model.bags[PEER_ID][APP]["secret-key"] = "s"
    hook(model, "start")
    assert model.status == ("active", "")


def test_hooks_the_real_charm_does_not_observe_do_nothing(model: FakeModel) -> None:
    for name in (
        "install", "leader-elected", "update-status", "upgrade-charm", "stop", "remove",
        "s3-credentials-relation-joined", "s3-credentials-relation-departed",
        "s3-credentials-relation-broken", "s3-integrator-peers-relation-joined",
    ):  # fmt: skip
        hook(model, name)
    assert model.calls == [] and model.status is None


def test_the_sync_action_turns_the_leader_active(model: FakeModel) -> None:
    hook(model, "start")
    sync(model)
    assert model.results == {"ok": "Credentials successfully updated."}
    assert model.peer == {"access-key": "AKIA-TEST", "secret-key": "s3cr3t"}
    # the leader's own peer relation-changed (juju/juju#20178), played by the stand-in
    assert model.status == ("active", "")


# --- the request and the answer ----------------------------------------------------------------


def test_nothing_is_answered_until_the_requirer_adds_bucket(model: FakeModel) -> None:
    sync(model)
    configure(model, endpoint="http://10.0.0.1:8333")
    rid = model.relate(5)
    changed(model, rid)  # after relation-joined: the requirer's bag is still empty
    assert model.provided(rid) == {"data": "{}"}
    model.requirer_sets(rid, other="x")
    changed(model, rid)
    assert model.provided(rid) == {"data": '{"other": "x"}'}  # the copy only
    model.requirer_sets(rid, bucket="relation-5")
    changed(model, rid)
    assert model.provided(rid) == {
        "data": '{"bucket": "relation-5", "other": "x"}',
        "bucket": "relation-5",
        "endpoint": "http://10.0.0.1:8333",
        "access-key": "AKIA-TEST",
        "secret-key": "s3cr3t",
    }


def test_only_a_newly_added_bucket_is_a_request(model: FakeModel) -> None:
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="relation-5")
    changed(model, rid)
    assert model.provided(rid)["bucket"] == "relation-5"
    del model.bags[rid][APP]["bucket"]  # (as a config-changed may leave it, see below)
    model.requirer_sets(rid, bucket="other-name")  # changed, not added
    changed(model, rid)
    assert "bucket" not in model.provided(rid)
    assert json.loads(model.provided(rid)["data"]) == {"bucket": "other-name"}
    model.requirer_sets(rid, bucket="")
    changed(model, rid)  # deleted
    assert model.provided(rid)["data"] == "{}"
    model.requirer_sets(rid, bucket="again")
    changed(model, rid)  # added again: answered again (with the bucket kept in the peer bag)
    assert model.provided(rid)["bucket"] == "relation-5"


def test_the_data_copy_is_the_requirer_s_bag_without_data() -> None:
    found, copy = S.diff(None, {"bucket": "b", "data": '{"x": "1"}', "path": "p"})
    assert copy == '{"bucket": "b", "path": "p"}'
    assert found == S.Diff({"bucket", "path"}, set(), set())
    found, copy = S.diff(copy, {"bucket": "c", "region": "r"})
    assert found == S.Diff({"region"}, {"bucket"}, {"path"})
    assert copy == '{"bucket": "c", "region": "r"}'
    assert S.diff(copy, None) == (S.Diff(set(), set(), {"bucket", "region"}), "{}")


def test_the_data_copy_is_kept_in_the_provider_s_app_bag(model: FakeModel) -> None:
    rid = model.relate(3)
    model.requirer_sets(rid, bucket="etcd-backups", path="cluster-a")
    changed(model, rid)
    assert json.loads(model.provided(rid)["data"]) == {
        "bucket": "etcd-backups",
        "path": "cluster-a",
    }
    assert model.writes_to(rid)[0] == {"data": '{"bucket": "etcd-backups", "path": "cluster-a"}'}


def test_a_non_leader_writes_nothing(model: FakeModel) -> None:
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="relation-5")
    model.leader = False
    changed(model, rid)
    configure(model, endpoint="http://e", bucket="b")
    assert model.writes == []
    action(model, "sync-s3-credentials", **{"access-key": "a", "secret-key": "s"})
    assert model.failed == "The action can be run only on leader unit."
    assert model.results == {} and model.writes == []
    hook(model, "start")  # a non-leader reads the peer bag for its status
    assert model.status == ("blocked", "Missing parameters: ['access-key', 'secret-key']")


# --- the bucket --------------------------------------------------------------------------------


def test_the_config_s_bucket_wins_over_the_requirer_s(model: FakeModel) -> None:
    configure(model, bucket="etcd-backups")
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="relation-5")
    changed(model, rid)
    assert model.provided(rid)["bucket"] == "etcd-backups"
    configure(model, bucket="moved")  # pushed to every relation
    assert model.provided(rid)["bucket"] == "moved"


def test_without_a_config_bucket_the_first_requirer_s_is_kept_for_all(model: FakeModel) -> None:
    first, second = model.relate(5), model.relate(6, "other")
    model.requirer_sets(first, bucket="relation-5")
    changed(model, first)
    assert model.peer["bucket"] == "relation-5"
    model.requirer_sets(second, bucket="relation-6")
    changed(model, second)
    assert model.provided(second)["bucket"] == "relation-5"


def test_a_config_change_without_a_bucket_drops_the_kept_one_everywhere(model: FakeModel) -> None:
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="relation-5")
    changed(model, rid)
    configure(model, region="eu-1")
    assert "bucket" not in model.peer
    assert "bucket" not in model.provided(rid)
    assert model.provided(rid)["region"] == "eu-1"
    changed(model, rid)  # the requirer's bucket is not new: no answer
    assert "bucket" not in model.provided(rid)


def test_the_bucket_is_not_kept_when_a_peer_key_has_its_name(model: FakeModel) -> None:
    configure(model, region="eu-1")
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="region")  # get_secret("app", bucket): the region key
    changed(model, rid)
    assert "bucket" not in model.peer and "bucket" not in model.provided(rid)


# --- config changes and encodings --------------------------------------------------------------


def test_every_option_set_goes_to_every_relation_with_its_encoding(model: FakeModel) -> None:
    first, second = model.relate(5), model.relate(6, "other")
    for rid in (first, second):
        model.requirer_sets(rid, bucket=f"b{rid[-1]}")
        changed(model, rid)
    chain = base64.b64encode(f"{pem(1)}\n{pem(2)}\n".encode()).decode()
    configure(
        model,
        endpoint="https://s3.example:443/",
        region="us-east-2",
        path="/etcd/",
        attributes="x-amz-server-side-encryption:AES256, a2:v2",
        s3_uri_style="path",
        storage_class="STANDARD",
        tls_ca_chain=chain,
        s3_api_version="4",
        experimental_delete_older_than_days=7,
    )
    for rid in (first, second):
        bag = model.provided(rid)
        assert bag["attributes"] == '["x-amz-server-side-encryption:AES256", " a2:v2"]'
        assert json.loads(bag["tls-ca-chain"]) == [pem(1), pem(2)]  # PEM, not base64
        assert {k: bag[k] for k in ("endpoint", "region", "path", "s3-uri-style")} == {
            "endpoint": "https://s3.example:443/", "region": "us-east-2", "path": "/etcd/",
            "s3-uri-style": "path",
        }  # fmt: skip
        assert (bag["storage-class"], bag["s3-api-version"]) == ("STANDARD", "4")
        assert bag["delete-older-than-days"] == "7"
        assert requirer_view(bag)["s3-api-version"] == 4  # the v0 requirer's json.loads
        assert "access-key" not in bag
    assert model.peer["tls-ca-chain"] == json.dumps([pem(1), pem(2)])
    assert model.peer["attributes"] == '["x-amz-server-side-encryption:AES256", " a2:v2"]'


def test_a_config_change_sends_all_options_set_not_only_the_changed_one(
    model: FakeModel,
) -> None:
    configure(model, endpoint="http://e", region="r")
    rid = model.relate(5)
    hook(model, "config-changed")
    assert model.writes_to(rid) == [{"region": "r", "endpoint": "http://e"}]


def test_a_reset_option_is_deleted_a_reset_list_becomes_two_quotes(model: FakeModel) -> None:
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="relation-5")
    configure(
        model,
        endpoint="http://e",
        attributes="a:1",
        tls_ca_chain=base64.b64encode(pem(1).encode()).decode(),
    )
    changed(model, rid)
    assert json.loads(model.provided(rid)["attributes"]) == ["a:1"]
    del model.config["endpoint"]  # juju config --reset (no default)
    configure(model, attributes="", tls_ca_chain="")
    bag = model.provided(rid)
    assert "endpoint" not in bag and "endpoint" not in model.peer
    assert bag["attributes"] == '""' and bag["tls-ca-chain"] == '""'
    assert "attributes" not in model.peer and "tls-ca-chain" not in model.peer
    # the bucket kept from the request goes too (no bucket config)
    assert model.writes_to(rid)[-1] == {
        "attributes": '""', "bucket": "", "endpoint": "", "tls-ca-chain": '""'
    }  # fmt: skip
    configure(model)  # nothing held any more: nothing sent
    assert len(model.writes_to(rid)) == 4  # options, data, the answer, the reset


def test_the_request_answer_carries_the_lists_as_json(model: FakeModel) -> None:
    configure(
        model, attributes="h1:v1,h2:v2", tls_ca_chain=base64.b64encode(pem(7).encode()).decode()
    )
    rid = model.relate(5)
    model.requirer_sets(rid, bucket="relation-5")
    changed(model, rid)
    bag = model.provided(rid)
    assert bag["attributes"] == '["h1:v1", "h2:v2"]'
    assert bag["tls-ca-chain"] == json.dumps([pem(7)])
    assert requirer_view(bag)["tls-ca-chain"] == [pem(7)]


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"no certificate").decode()])
def test_a_bad_ca_chain_fails_the_hook_and_writes_nothing(model: FakeModel, value: str) -> None:
    rid = model.relate(5)
    model.config.update({"endpoint": "http://e", "tls-ca-chain": value})
    with pytest.raises(ValueError):  # binascii.Error is a ValueError
        hook(model, "config-changed")
    assert model.writes == [] and model.writes_to(rid) == []


def test_the_ca_chain_is_cut_into_its_certificates() -> None:
    text = f"junk\n{pem(1)}\nmore junk\n{pem(2)}{pem(3)}\n"
    assert S.parse_ca_chain(text) == [pem(1), pem(2), pem(3)]
    with pytest.raises(ValueError, match="No certificate found in chain file"):
        S.parse_ca_chain("-----BEGIN CERTIFICATE-----\nno end\n")


@pytest.mark.parametrize("days", [0, -1, 10000000])
def test_a_retention_out_of_range_blocks_and_is_not_sent(model: FakeModel, days: int) -> None:
    rid = model.relate(5)
    configure(model, experimental_delete_older_than_days=days)
    assert model.status == (
        "blocked",
        f"Option delete-older-than-days value {days} outside allowed range [1, 9999999].",
    )
    assert "delete-older-than-days" not in model.peer and model.writes_to(rid) == []


def test_a_valid_retention_sets_active_until_the_peer_change_says_otherwise(
    model: FakeModel,
) -> None:
    configure(model, experimental_delete_older_than_days=9999999)
    # config-changed set active, then the leader's own peer relation-changed (the bag changed)
    assert model.status == ("blocked", "Missing parameters: ['access-key', 'secret-key']")
    configure(model)  # same value, the peer bag unchanged: the real charm's active stays
    assert model.status == ("active", "")
    del model.config["experimental-delete-older-than-days"]  # reset: the generic path
    rid = model.relate(5)
    configure(model)
    assert "delete-older-than-days" not in model.peer
    assert model.writes_to(rid) == [{"delete-older-than-days": ""}]


# --- credentials -------------------------------------------------------------------------------


def test_without_keys_the_answer_has_no_keys_and_the_sync_brings_them(model: FakeModel) -> None:
    configure(model, endpoint="http://e", bucket="etcd-backups")
    first, second = model.relate(5), model.relate(6, "other")
    model.requirer_sets(first, bucket="relation-5")
    changed(model, first)
    assert model.provided(first) == {
        "data": '{"bucket": "relation-5"}', "bucket": "etcd-backups", "endpoint": "http://e"
    }  # fmt: skip
    assert model.status == ("blocked", "Missing parameters: ['access-key', 'secret-key']")
    sync(model, "AK", "SK")
    for rid in (first, second):  # every relation, even one that asked for nothing yet
        assert (model.provided(rid)["access-key"], model.provided(rid)["secret-key"]) == (
            "AK",
            "SK",
        )
    assert model.writes_to(second) == [{"access-key": "AK"}, {"secret-key": "SK"}]
    sync(model, "AK", "SK2")  # new keys replace the old ones
    assert model.provided(first)["secret-key"] == "SK2" and model.peer["secret-key"] == "SK2"
    assert model.status == ("active", "")


def test_a_config_change_leaves_the_keys_alone(model: FakeModel) -> None:
    sync(model, "AK", "SK")
    rid = model.relate(5)
    configure(model, endpoint="http://e")  # no key option in config: skipped, not reset
    assert model.peer == {"access-key": "AK", "secret-key": "SK", "endpoint": "http://e"}
    assert model.writes_to(rid) == [{"endpoint": "http://e"}]


def test_the_credential_and_connection_actions(model: FakeModel) -> None:
    action(model, "get-s3-credentials")
    assert model.failed == "Credentials are not set!"
    action(model, "get-s3-connection-info")
    assert model.failed == "Credentials are not set!"
    configure(model, region="eu-1", attributes="a:1")
    action(model, "get-s3-connection-info")
    assert model.results == {"region": "eu-1", "attributes": '["a:1"]'}
    sync(model)
    action(model, "get-s3-credentials")
    assert model.results == {"ok": "Credentials are configured."} and model.failed is None
    action(model, "get-s3-connection-info")
    assert model.results == {
        "access-key": "************", "secret-key": "************", "region": "eu-1",
        "attributes": '["a:1"]',
    }  # fmt: skip


# --- the shell through its dispatch, with the project's own hook tools -------------------------


def _system_python_has_yaml() -> bool:
    """dispatch runs /usr/bin/python3 where the local model's Python is absent."""
    python = "/usr/bin/python3"
    if not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", "import yaml"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _system_python_has_yaml(), reason="no /usr/bin/python3 with PyYAML")
def test_the_dispatch_with_the_local_model_s_hook_tools(tmp_path: Path) -> None:
    """The argument forms the stand-in uses (relation-get/-set --app, --file -, action-set),
    against localjuju's own hook tool implementations over a FakeContext."""
    from localjuju.hooktools.fake import FakeContext, FakeRelation
    from localjuju.tests.test_easyrsa import RealTools

    ctx = FakeContext(unit_name=f"{APP}/0", leader=True)
    options = yaml.safe_load((CHARM / "config.yaml").read_text())["options"]
    ctx.config_values = {k: v["default"] for k, v in options.items() if "default" in v}
    ctx.relations[0] = FakeRelation(0, "s3-integrator-peers", APP, is_peer=True, apps={APP: {}})
    ctx.relations[5] = FakeRelation(
        5, "s3-credentials", "etcd", members=["etcd/0"], units={"etcd/0": {}},
        apps={"etcd": {}, APP: {}},
    )  # fmt: skip
    with RealTools.serve(tmp_path, CHARM, ctx, "UNUSED_ROOT") as tools:
        tools.run("hooks/install")
        tools.run("hooks/start")
        assert (ctx.status.status, ctx.status.message) == (
            "blocked",
            "Missing parameters: ['access-key', 'secret-key']",
        )
        ctx.config_values.update(
            {
                "endpoint": "https://10.0.0.1:8333",
                "attributes": "a:1,b:2",
                "tls-ca-chain": base64.b64encode(pem(1).encode()).decode(),
            }
        )
        tools.run("hooks/config-changed")
        tools.run("hooks/s3-credentials-relation-changed", 5, "etcd/0")
        assert ctx.relations[5].apps[APP] == {
            "data": "{}",
            "endpoint": "https://10.0.0.1:8333",
            "attributes": '["a:1", "b:2"]',
            "tls-ca-chain": json.dumps([pem(1)]),
        }
        ctx.relations[5].apps["etcd"] = {"bucket": "relation-5"}
        tools.run("hooks/s3-credentials-relation-changed", 5, "etcd/0")
        assert ctx.relations[5].apps[APP]["bucket"] == "relation-5"
        assert ctx.relations[5].apps[APP]["data"] == '{"bucket": "relation-5"}'
        tools.run("actions/sync-s3-credentials", params={"access-key": "AK", "secret-key": "S K="})
        assert ctx.results == {"ok": "Credentials successfully updated."}
        assert (ctx.status.status, ctx.status.message) == ("active", "")
        peer = ctx.relations[0].apps[APP]
        assert (peer["access-key"], peer["secret-key"], peer["bucket"]) == (
            "AK",
            "S K=",
            "relation-5",
        )
        provided = ctx.relations[5].apps[APP]
        assert (provided["access-key"], provided["secret-key"]) == ("AK", "S K=")
        tools.run("actions/get-s3-connection-info", params={})
        assert ctx.results["access-key"] == "************"
        assert ctx.results["attributes"] == '["a:1", "b:2"]'

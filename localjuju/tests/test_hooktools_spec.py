"""Hook tools checked fact by fact against the Juju 3 spec (juju-model-spec section 2).

``test_hooktools.py`` holds the main table; this file adds the facts it did not cover, each
case named after its spec section. Where the spec was silent or disagreed with Juju 3's own
sources (internal/worker/uniter/runner/jujuc, juju/cmd v3, juju/gnuflag), Juju's sources
decide and the case says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localjuju.hooktools.context import (
    GoalState,
    InterfaceAddress,
    NetworkInfo,
    NetworkInterface,
    StatusInfo,
    StorageInfo,
    ToolError,
)
from localjuju.hooktools.fake import FakeContext

from . import test_hooktools as base

KCP = base.KCP
NET = base.NET
run = base.run


def make_ctx(**kw: object) -> FakeContext:
    """``base.make_ctx``, but ``networks`` and ``config_values`` overrides win too."""
    late = {k: kw.pop(k) for k in ("networks", "config_values") if k in kw}
    ctx = base.make_ctx(**kw)
    for k, v in late.items():
        setattr(ctx, k, v)
    return ctx


NET_NO_INGRESS = NetworkInfo(interfaces=NET.interfaces, egress_subnets=(), ingress_addresses=())
NET_REL = NetworkInfo(
    interfaces=NET.interfaces, egress_subnets=("192.0.2.0/24",), ingress_addresses=("192.0.2.7",)
)
NET_HOSTNAME = NetworkInfo(
    interfaces=(
        NetworkInterface(
            "00:16:3e:aa:bb:cc",
            "eth0",
            (InterfaceAddress("10.5.0.9", "10.5.0.0/24", "etcd-0.lxd"),),
        ),
    ),
)
DISK = {"data/0": StorageInfo("data/0", "block", "/dev/vdb")}
CLOUD = {
    "type": "lxd",
    "name": "localhost",
    "endpoint": "https://10.0.0.1:8443",
    "credential": {"auth-type": "certificate", "attrs": {"client-cert": "x"}},
}

# (spec reference + fact, context overrides, argv, code, stdout, stderr)
# fmt: off
CASES: list[tuple[str, dict, list[str], int, str | None, str]] = [
    # ---- 2.0 common command-line behaviour ----
    ("2.0 help wins over Init errors (parse comes first)", {},
     ["relation-get", "a", "b", "c", "--help"], 0, None, ""),
    ("2.0 an option error before --help is reported", {}, ["is-leader", "--foo", "--help"], 2,
     "", "ERROR option provided but not defined: --foo\n"),
    ("2.0 -r needs an argument", {}, ["relation-get", "-r"], 2, "",
     "ERROR option needs an argument: -r\n"),
    ("2.0 -- ends options", {"params": {}}, ["action-log", "--", "-l", "x"], 0, "", ""),
    ("2.0 short option with attached value", {}, ["relation-get", "-r7", "x", f"{KCP}/0"], 0,
     "y\n", ""),
    ("2.0 short option with attached name:id", {}, ["relation-get", "-rcluster:2", "peer",
                                                   "etcd/1"], 0, "yes\n", ""),
    ("2.0 smart: empty string prints nothing", {"config_values": {"s": ""}},
     ["config-get", "s"], 0, "", ""),
    ("2.0 json: empty string", {"config_values": {"s": ""}}, ["config-get", "s",
                                                           "--format=json"], 0, '""\n', ""),
    ("2.0 yaml: nil prints nothing", {}, ["relation-get", "nope", "--format=yaml"], 0, "", ""),
    ("2.0 yaml: string", {}, ["relation-get", "private-address", "--format=yaml"], 0,
     "10.5.0.9\n", ""),
    ("2.0 smart: empty map prints {}", {}, ["state-get"], 0, "{}\n", ""),
    ("2.0 smart: bool False", {}, ["is-leader", "--format", "smart"], 0, "False\n", ""),
    ("2.0 -r: only the integer after the last ':' matters", {},
     ["relation-get", "-r", "foo:bar:7", "x", f"{KCP}/0"], 0, "y\n", ""),
    ("2.0 -r: empty id after ':'", {}, ["relation-get", "-r", "db:", "x"], 2, "",
     'ERROR invalid value "db:" for option -r: invalid relation id\n'),
    ("2.0 -r: unknown id, long form", {}, ["relation-list", "--relation=42"], 2, "",
     'ERROR invalid value "42" for option --relation: relation not found\n'),
    ("2.0 keyvalues: duplicate after trimming", {}, ["relation-set", "a=1", " a =2"], 2, "",
     'ERROR key "a" specified more than once\n'),
    ("2.0 keyvalues: empty key after trimming", {}, ["relation-set", " =v"], 2, "",
     'ERROR expected "key=value", got "=v"\n'),
    ("2.0 keyvalues: leader-set", {"leader": True}, ["leader-set", "foo"], 2, "",
     'ERROR expected "key=value", got "foo"\n'),
    ("2.0 keyvalues: state-set", {}, ["state-set", "a=1", "a=2"], 2, "",
     'ERROR key "a" specified more than once\n'),
    # ---- 2.1 relation-get ----
    ("2.1 --app with no remote application", {"hook_relation_id": None, "remote_unit": "",
                                              "remote_app": ""},
     ["relation-get", "-r", "7", "--app"], 2, "", "ERROR no unit or application specified\n"),
    ("2.1 no target outside a relation hook", {"hook_relation_id": None, "remote_unit": "",
                                               "remote_app": ""},
     ["relation-get", "-r", "7", "x"], 2, "", "ERROR no unit or application specified\n"),
    ("2.1 own app via a unit name, non-leader, non-peer", {},
     ["relation-get", "--app", "-", "etcd/1"], 1, "", "ERROR permission denied\n"),
    ("2.1 own app key, non-leader, non-peer", {},
     ["relation-get", "--app", "connection_string", "etcd"], 1, "", "ERROR permission denied\n"),
    ("2.1 remote app bucket readable by a non-leader", {},
     ["relation-get", "--app", "cluster", KCP], 0, "k8s\n", ""),
    ("2.1 own app in a peer relation, non-leader, json", {},
     ["relation-get", "-r", "2", "--app", "--format=json", "-", "etcd/1"], 0,
     '{"token":"abc"}\n', ""),
    ("2.1 peer unit", {}, ["relation-get", "-r", "2", "-", "etcd/1"], 0, "peer: \"yes\"\n", ""),
    # ---- 2.2 relation-set ----
    ("2.2 --format accepts any value (deprecated)", {}, ["relation-set", "--format=xml", "a=b"],
     0, "", '--format flag deprecated for command "relation-set"'),
    ("2.2 no pairs is a no-op", {}, ["relation-set"], 0, "", ""),
    # ---- 2.3 relation-ids ----
    ("2.3 no endpoint outside a relation hook (Juju 3 wording)", {"hook_relation_id": None},
     ["relation-ids", "--format=json"], 2, "", "ERROR no endpoint name specified\n"),
    ("2.3 explicit name outside a relation hook", {"hook_relation_id": None},
     ["relation-ids", "cluster"], 0, "cluster:2\n", ""),
    ("2.3 broken relation hidden but -r still works", {},
     ["relation-list", "-r", "proxy:11", "--format=json"], 0, "[]\n", ""),
    ("2.3 extra args", {}, ["relation-ids", "db", "x"], 2, "",
     'ERROR unrecognized args: ["x"]\n'),
    # ---- 2.4 relation-list ----
    ("2.4 --app json", {}, ["relation-list", "--app", "--format=json"], 0, f'"{KCP}"\n', ""),
    ("2.4 empty smart", {}, ["relation-list", "-r", "10"], 0, "", ""),
    ("2.4 yaml list", {}, ["relation-list", "--format=yaml"], 0, f"- {KCP}/0\n- {KCP}/1\n", ""),
    ("2.4 empty in broken (no members)", {"hook_name": "db-relation-broken", "remote_unit": ""},
     ["relation-list", "-r", "10", "--format=json"], 0, "[]\n", ""),
    # ---- 2.5 config-get ----
    ("2.5 no key: unset options left out", {}, ["config-get", "--format=json"], 0,
     '{"bind_to_all_interfaces":true,"channel":"3.5/stable","heartbeat":0.5,"port":2379}\n', ""),
    ("2.5 unset option with --all, smart", {}, ["config-get", "unset"], 0, "", ""),
    ("2.5 unknown key yaml", {}, ["config-get", "nope", "--format=yaml"], 0, "", ""),
    ("2.5 float smart", {}, ["config-get", "heartbeat"], 0, "0.5\n", ""),
    ("2.5 key and -a", {}, ["config-get", "channel", "-a"], 2, "",
     'ERROR cannot use argument --all together with key "channel"\n'),
    # ---- 2.6 leadership ----
    ("2.6 leader-get by a non-leader", {"leader_data": {"k": "v"}}, ["leader-get", "k"], 0,
     "v\n", ""),
    ("2.6 leader-get missing smart", {}, ["leader-get", "k"], 0, "", ""),
    ("2.6 leader-get all smart", {"leader_data": {"b": "2", "a": "x"}}, ["leader-get"], 0,
     'a: x\nb: "2"\n', ""),
    ("2.6 leader-get extra args", {}, ["leader-get", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    ("2.6 is-leader true smart", {"leader": True}, ["is-leader"], 0, "True\n", ""),
    # ---- 2.7 status ----
    ("2.7 status-get yaml", {"status": StatusInfo("active", "ok")},
     ["status-get", "--format=yaml"], 0, "status: active\n", ""),
    ("2.7 status-get include-data with data", {"status": StatusInfo("blocked", "m", {"k": 1})},
     ["status-get", "--include-data", "--format=json"], 0,
     '{"message":"m","status":"blocked","status-data":{"k":1}}\n', ""),
    ("2.7 status-get --application --include-data json",
     {"leader": True, "app_status": StatusInfo("active", "all good"),
      "status": StatusInfo("active", "u0"), "peer_statuses": {"etcd/1": StatusInfo("waiting")}},
     ["status-get", "--application", "--include-data", "--format=json"], 0,
     '{"application-status":{"message":"all good","status":"active","status-data":{},'
     '"units":{"etcd/0":{"message":"u0","status":"active","status-data":{}},'
     '"etcd/1":{"message":"","status":"waiting","status-data":{}}}}}\n', ""),
    ("2.7 status-get --application smart with data is YAML", {"leader": True},
     ["status-get", "--application", "--include-data"], 0,
     "application-status:\n  message: \"\"\n  status: unknown\n  status-data: {}\n  units:\n"
     "    etcd/0:\n      message: \"\"\n      status: unknown\n      status-data: {}\n", ""),
    ("2.7 status-get extra args", {}, ["status-get", "x"], 2, "",
     'ERROR unrecognized args: ["x"]\n'),
    ("2.7 status-set unknown status", {}, ["status-set", "unknown"], 2, "",
     'ERROR invalid status "unknown", expected one of [maintenance blocked waiting active]\n'),
    # ---- 2.8 actions ----
    ("2.8 action-get nested map as YAML", {"params": {"a": {"b": "c", "n": 1}}},
     ["action-get", "a"], 0, "b: c\n\"n\": 1\n", ""),
    ("2.8 action-get through a non-map", {"params": {"a": "x"}}, ["action-get", "a.b"], 0, "",
     ""),
    ("2.8 action-get number json", {"params": {"n": 3}}, ["action-get", "n", "--format=json"],
     0, "3\n", ""),
    ("2.8 action-get bool smart", {"params": {"b": True}}, ["action-get", "b"], 0, "True\n", ""),
    ("2.8 action-get extra args", {"params": {}}, ["action-get", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    ("2.8 action-set underscore rejected", {"params": {}}, ["action-set", "foo_bar=1"], 2, "",
     'ERROR key "foo_bar" must start and end with lowercase alphanumeric, and contain only '
     "lowercase alphanumeric, hyphens and periods\n"),
    ("2.8 action-set trailing hyphen rejected", {"params": {}}, ["action-set", "foo-=1"], 2, "",
     'ERROR key "foo-" must start and end with lowercase alphanumeric, and contain only '
     "lowercase alphanumeric, hyphens and periods\n"),
    ("2.8 action-set empty segment rejected", {"params": {}}, ["action-set", "a..b=1"], 2, "",
     'ERROR key "" must start and end with lowercase alphanumeric, and contain only '
     "lowercase alphanumeric, hyphens and periods\n"),
    ("2.8 action-set reserved key in a path", {"params": {}}, ["action-set", "a.stderr=1"], 2,
     "", 'ERROR cannot set reserved action key "stderr"\n'),
    ("2.8 action-set outside an action, bad key first", {}, ["action-set", "Bad=1"], 2, "",
     'ERROR key "Bad" must start and end with lowercase alphanumeric, and contain only '
     "lowercase alphanumeric, hyphens and periods\n"),
    ("2.8 action-log outside an action", {}, ["action-log", "a", "b"], 1, "",
     "ERROR not running an action\n"),
    # ---- 2.9 application-version-set ----
    ("2.9 two args", {}, ["application-version-set", "1", "2"], 2, "",
     'ERROR unrecognized args: ["2"]\n'),
    # ---- 2.10 ports ----
    ("2.10 single port above 65535", {}, ["open-port", "65536"], 2, "",
     "ERROR port range bounds must be between 0 and 65535, got 65536-65536\n"),
    ("2.10 range with a bad bound", {}, ["close-port", "80-x/udp"], 2, "",
     'ERROR invalid port "x": strconv.Atoi: parsing "x": invalid syntax\n'),
    ("2.10 close-port none", {}, ["close-port"], 2, "", "ERROR no port or range specified\n"),
    ("2.10 close-port --format deprecated", {}, ["close-port", "80", "--format=json"], 0, "",
     '--format flag deprecated for command "close-port"'),
    ("2.10 extra args", {}, ["open-port", "80", "81"], 2, "", 'ERROR unrecognized args: ["81"]\n'),
    ("2.10 opened-ports yaml", {"ports": {"": [base.PortRange("tcp", 2379, 2380)]}},
     ["opened-ports", "--format=yaml"], 0, "- 2379-2380/tcp\n", ""),
    ("2.10 opened-ports --endpoints json",
     {"ports": {"db": [base.PortRange("udp", 53, 53)], "cluster": [base.PortRange("udp", 53, 53)]}},
     ["opened-ports", "--endpoints", "--format=json"], 0, '["53/udp (cluster, db)"]\n', ""),
    # ---- 2.11 unit-get ----
    ("2.11 private-address prefers the hostname", {"networks": {"": NET_HOSTNAME}},
     ["unit-get", "private-address"], 0, "etcd-0.lxd\n", ""),
    ("2.11 private-address falls back to the legacy address",
     {"networks": {}, "private_addr": "10.9.9.9"}, ["unit-get", "private-address"], 0,
     "10.9.9.9\n", ""),
    ("2.11 public-address json", {"public_addr": "1.2.3.4"},
     ["unit-get", "public-address", "--format=json"], 0, '"1.2.3.4"\n', ""),
    ("2.11 extra args", {}, ["unit-get", "public-address", "x"], 2, "",
     'ERROR unrecognized args: ["x"]\n'),
    # ---- 2.12 network-get ----
    ("2.12 empty binding name", {}, ["network-get", ""], 2, "",
     "ERROR no binding name specified\n"),
    ("2.12 extra args", {}, ["network-get", "db", "x"], 2, "",
     'ERROR unrecognized args: ["x"]\n'),
    ("2.12 -r: relation-specific ingress", {"relation_networks": {("db", 10): NET_REL}},
     ["network-get", "db", "-r", "10", "--ingress-address"], 0, "192.0.2.7\n", ""),
    ("2.12 default relation is the hook's", {"relation_networks": {("db", 7): NET_REL}},
     ["network-get", "db", "--egress-subnets"], 0, "192.0.2.0/24\n", ""),
    ("2.12 --ingress-address falls back to the first bind address",
     {"networks": {"db": NET_NO_INGRESS}}, ["network-get", "db", "--ingress-address"], 0,
     "10.5.0.9\n", ""),
    ("2.12 no egress subnets: smart prints nothing", {"networks": {"db": NET_NO_INGRESS}},
     ["network-get", "db", "--egress-subnets"], 0, "", ""),
    ("2.12 no egress subnets: json null (nil slice)", {"networks": {"db": NET_NO_INGRESS}},
     ["network-get", "db", "--egress-subnets", "--format=json"], 0, "null\n", ""),
    ("2.12 no egress subnets: yaml []", {"networks": {"db": NET_NO_INGRESS}},
     ["network-get", "db", "--egress-subnets", "--format=yaml"], 0, "[]\n", ""),
    ("2.12 no egress subnets in a map", {"networks": {"db": NET_NO_INGRESS}},
     ["network-get", "db", "--egress-subnets", "--bind-address", "--format=json"], 0,
     '{"bind-address":"10.5.0.9","egress-subnets":null}\n', ""),
    ("2.12 egress + ingress json", {},
     ["network-get", "db", "--egress-subnets", "--ingress-address", "--format=json"], 0,
     '{"egress-subnets":["10.5.0.9/32"],"ingress-address":"10.5.0.9"}\n', ""),
    ("2.12 three selectors smart = YAML map", {},
     ["network-get", "db", "--egress-subnets", "--ingress-address", "--bind-address"], 0,
     "bind-address: 10.5.0.9\negress-subnets:\n- 10.5.0.9/32\ningress-address: 10.5.0.9\n", ""),
    ("2.12 json omits empty top-level lists", {"networks": {"db": NET_NO_INGRESS}},
     ["network-get", "db", "--format=json"], 0,
     '{"bind-addresses":[{"mac-address":"00:16:3e:aa:bb:cc","interface-name":"eth0",'
     '"addresses":[{"hostname":"","value":"10.5.0.9","cidr":"10.5.0.0/24"}]}]}\n', ""),
    ("2.12 hostname kept in the structure", {"networks": {"db": NET_HOSTNAME}},
     ["network-get", "db", "--format=yaml"], 0,
     "bind-addresses:\n- mac-address: 00:16:3e:aa:bb:cc\n  interface-name: eth0\n"
     "  addresses:\n  - hostname: etcd-0.lxd\n    value: 10.5.0.9\n    cidr: 10.5.0.0/24\n"
     "    address: 10.5.0.9\n  macaddress: 00:16:3e:aa:bb:cc\n  interfacename: eth0\n", ""),
    ("2.12 --primary-address json", {}, ["network-get", "db", "--primary-address",
                                         "--format=json"], 0, '"10.5.0.9"\n', ""),
    ("2.12 unknown binding with selectors", {}, ["network-get", "nope", "--bind-address"], 1, "",
     'ERROR no network config found for binding "nope"\n'),
    ("2.12 extra-binding / default binding by name", {"networks": {"": NET, "metrics": NET}},
     ["network-get", "metrics", "--bind-address"], 0, "10.5.0.9\n", ""),
    # ---- 2.14 storage ----
    ("2.14 storage-get smart map", {"storages": DISK}, ["storage-get", "-s", "data/0"], 0,
     "kind: block\nlocation: /dev/vdb\n", ""),
    ("2.14 storage-get kind", {"storages": DISK, "hook_storage_id": "data/0"},
     ["storage-get", "kind"], 0, "block\n", ""),
    ("2.14 storage-get extra args", {"storages": DISK}, ["storage-get", "-s", "data/0", "a",
                                                        "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    ("2.14 storage-list extra args", {}, ["storage-list", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    # ---- 2.15 resource-get ----
    ("2.15 extra args", {}, ["resource-get", "a", "b"], 2, "", 'ERROR unrecognized args: ["b"]\n'),
    # ---- 2.16 goal-state ----
    ("2.16 empty goal state yaml", {}, ["goal-state"], 0, "units: {}\nrelations: {}\n", ""),
    ("2.16 extra args", {}, ["goal-state", "x"], 2, "", 'ERROR unrecognized args: ["x"]\n'),
    ("2.16 help shows the yaml default", {}, ["goal-state", "--help"], 0, None, ""),
    # ---- 2.17 credential-get ----
    ("2.17 json: params.CloudSpec field order, omitempty", {"cloud": CLOUD},
     ["credential-get", "--format=json"], 0,
     '{"type":"lxd","name":"localhost","endpoint":"https://10.0.0.1:8443",'
     '"credential":{"auth-type":"certificate","attrs":{"client-cert":"x"}}}\n', ""),
    ("2.17 smart: YAML with lower-cased Go field names", {"cloud": CLOUD}, ["credential-get"], 0,
     "type: lxd\nname: localhost\nregion: \"\"\nendpoint: https://10.0.0.1:8443\n"
     "identityendpoint: \"\"\nstorageendpoint: \"\"\ncredential:\n  authtype: certificate\n"
     "  attributes:\n    client-cert: x\n  redacted: []\ncacertificates: []\n"
     "skiptlsverify: false\niscontrollercloud: false\n", ""),
    # ---- 2.18 juju-reboot ----
    ("2.18 extra args", {}, ["juju-reboot", "now"], 2, "", 'ERROR unrecognized args: ["now"]\n'),
    ("2.18 in an action, no --now", {"params": {}}, ["juju-reboot"], 1, "",
     "ERROR juju-reboot is not supported when running an action.\n"),
    # ---- add-metric (metrics are only allowed in collect-metrics) ----
    ("add-metric: HookContext.AddMetric refuses, annotated", {},
     ["add-metric", "-l", "a=b", "requests=3"], 1, "",
     "ERROR cannot record metric: metrics not allowed in this context\n"),
    ("add-metric: reserved juju prefix", {}, ["add-metric", "juju-units=1"], 1, "",
     "ERROR juju-units uses a reserved prefix\n"),
    ("add-metric: none", {}, ["add-metric"], 2, "", "ERROR no metrics specified\n"),
    ("add-metric: empty value not allowed", {}, ["add-metric", "a="], 2, "",
     'ERROR invalid metrics: expected "key=value", got "a="\n'),
    ("add-metric: duplicate", {}, ["add-metric", "a=1", "a=2"], 2, "",
     'ERROR invalid metrics: key "a" specified more than once\n'),
    ("add-metric: bad labels", {}, ["add-metric", "--labels", "x", "a=1"], 2, "",
     'ERROR invalid labels: expected "key=value", got "x"\n'),
    # ---- 2.19 charm state ----
    ("2.19 state-get - is the whole map", {"state": {"a": "1"}}, ["state-get", "-"], 0,
     'a: "1"\n', ""),
    ("2.19 state-get --strict present", {"state": {"a": "1"}}, ["state-get", "--strict", "a"],
     0, "1\n", ""),
    ("2.19 state-get extra args", {}, ["state-get", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    ("2.19 state-set value too long", {}, ["state-set", "k=" + "v" * (64 * 1024 + 1)], 1, "",
     "ERROR max allowed value length (65536) exceeded\n"),
    ("2.19 state-set value at the limit", {}, ["state-set", "k=" + "v" * (64 * 1024)], 0, "", ""),
    ("2.19 state-delete without a key is a no-op", {}, ["state-delete"], 0, "", ""),
    ("2.19 state-delete extra args", {}, ["state-delete", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
]
# fmt: on


@pytest.mark.parametrize(
    "overrides,argv,code,stdout,stderr", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_spec_case(
    overrides: dict, argv: list[str], code: int, stdout: str | None, stderr: str
) -> None:
    ctx = make_ctx(**overrides)
    got_code, got_out, got_err = run(ctx, *argv)
    assert (got_code, got_err) == (code, stderr)
    if stdout is not None:
        assert got_out == stdout
    else:
        assert got_out.startswith(f"Usage: {argv[0]}")


# ---- 2.0 help layout ----------------------------------------------------------------------


def test_help_layout_sections_in_juju_cmd_order() -> None:
    code, out, err = run(make_ctx(), "relation-get", "--help")
    assert (code, err) == (0, "")
    assert out.startswith("Usage: relation-get [options] [<key> [<unit id>]]\n\nSummary:\n")
    positions = [out.index(h) for h in ("\nSummary:\n", "\nOptions:\n", "\nDetails:\n")]
    assert positions == sorted(positions)
    assert "--app  (= false)\n    Get the relation data for the overall application" in out
    assert "--format  (= smart)\n    Specify output format (json|smart|yaml)\n" in out
    assert "-r, --relation  (= db:7)\n    Specify a relation by id\n" in out
    assert f'Current default unit id is "{KCP}/1".' in out


def test_help_without_options_has_no_options_section() -> None:
    _, out, _ = run(make_ctx(), "leader-set", "--help")
    assert out.startswith("Usage: leader-set <key>=<value> [...]\n\nSummary:\n")
    assert "Options:" not in out
    assert "[options]" not in out


def test_help_outside_relation_hook_shows_required_args() -> None:
    ctx = make_ctx(hook_relation_id=None, remote_unit="", remote_app="")
    _, out, _ = run(ctx, "relation-get", "--help")
    assert out.startswith("Usage: relation-get [options] <key> <unit id>\n")
    assert '-r, --relation  (= "")' not in out  # not a gnuflag string value: no quotes
    assert "-r, --relation  (= )\n" in out
    _, out, _ = run(ctx, "relation-list", "--help")
    assert "-r must be specified when not in a relation hook" in out


def test_relation_set_help_file_option_line() -> None:
    _, out, _ = run(make_ctx(), "relation-set", "--help")
    assert "--file  (= )\n    file containing key-value pairs\n" in out
    assert '--format (= "")\n    deprecated format flag\n' in out
    assert 'A value of "-" for the filename means <stdin>.' in out


def test_relation_ids_help_juju3() -> None:
    _, out, _ = run(make_ctx(), "relation-ids", "--help")
    assert out.startswith("Usage: relation-ids [options] [<name>]\n\nSummary:\n")
    assert "list all relation ids for the given endpoint\n" in out
    assert (
        '\nDetails:\nCurrent default endpoint name is "db".\n'
        "Only relation ids for relations which are not broken are included.\n"
    ) in out
    _, out, _ = run(make_ctx(hook_relation_id=None), "relation-ids", "--help")
    assert out.startswith("Usage: relation-ids [options] <name>\n")
    assert "\nDetails:\nOnly relation ids for relations which are not broken" in out


def test_goal_state_help_format_default() -> None:
    _, out, _ = run(make_ctx(), "goal-state", "--help")
    assert "--format  (= yaml)\n    Specify output format (json|yaml)\n" in out


def test_juju_log_help_lists_level_aliases() -> None:
    _, out, _ = run(make_ctx(), "juju-log", "--help")
    assert '-l, --log-level (= "INFO")\n    Send log message at the given level\n' in out
    assert "--debug  (= false)\n    log at debug level\n" in out


# ---- 2.0 options and output ---------------------------------------------------------------


def test_grouped_short_options_bool_then_value(tmp_path: Path) -> None:
    ctx = make_ctx()
    assert run(ctx, "config-get", "-ao", "all.yaml", cwd=str(tmp_path)) == (0, "", "")
    assert (tmp_path / "all.yaml").read_text().endswith("unset: null\n")


def test_output_file_created_even_when_nothing_printed(tmp_path: Path) -> None:
    ctx = make_ctx()
    assert run(ctx, "relation-get", "nope", "--output", "o.txt", cwd=str(tmp_path)) == (
        0,
        "",
        "",
    )
    assert (tmp_path / "o.txt").read_bytes() == b""


def test_output_file_error_is_a_run_error(tmp_path: Path) -> None:
    code, out, err = run(make_ctx(), "is-leader", "-o", str(tmp_path / "no" / "such"))
    assert (code, out) == (1, "")
    assert err == f"ERROR open {tmp_path}/no/such: no such file or directory\n"


def test_keyvalues_trimmed_and_empty_value_deletes() -> None:
    ctx = make_ctx()
    assert run(ctx, "relation-set", " a = b ", "private-address= ", "") == (0, "", "")
    assert ctx.pending_relation[(7, False)] == {"a": "b", "private-address": ""}
    assert "private-address" not in run(ctx, "relation-get", "-", "etcd/0")[1]


# ---- 2.1 / 2.2 relation data -------------------------------------------------------------


def test_relation_get_local_unit_sees_own_pending_writes_with_key() -> None:
    ctx = make_ctx()
    run(ctx, "relation-set", "-r", "db:10", "k=v")
    ctx.relations[10].units["etcd/0"] = {}
    assert run(ctx, "relation-get", "-r", "10", "k", "etcd/0") == (0, "v\n", "")
    assert run(ctx, "relation-get", "-r", "7", "k", "etcd/0") == (0, "", "")


def test_relation_set_app_by_leader_is_pending_until_commit() -> None:
    ctx = make_ctx(leader=True)
    assert run(ctx, "relation-set", "--app", "-r", "7", "x=1") == (0, "", "")
    assert ctx.relations[7].apps["etcd"].get("x") is None
    ctx.commit()
    assert ctx.relations[7].apps["etcd"]["x"] == "1"


def test_relation_set_file_args_override_and_null_deletes(tmp_path: Path) -> None:
    ctx = make_ctx()
    (tmp_path / "f.yaml").write_text("a: '1'\nb: 2\nc:\n")
    assert run(ctx, "relation-set", "--file=f.yaml", "b=3", cwd=str(tmp_path)) == (0, "", "")
    assert ctx.pending_relation[(7, False)] == {"a": "1", "b": "3", "c": ""}


def test_relation_set_app_non_leader_checked_after_file(tmp_path: Path) -> None:
    """Juju reads --file before it checks leadership: a bad file wins."""
    code, _, err = run(make_ctx(), "relation-set", "--app", "--file", str(tmp_path / "none"))
    assert (code, err) == (1, f"ERROR open {tmp_path}/none: no such file or directory\n")


# ---- 2.6 leadership errors ----------------------------------------------------------------


class _LeaseUnknown(FakeContext):
    def is_leader(self) -> bool:
        raise ToolError("lease manager stopped")


def _unknown_leader() -> FakeContext:
    ctx = make_ctx()
    return _LeaseUnknown(**{f: getattr(ctx, f) for f in ctx.__dataclass_fields__})


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["is-leader"], "ERROR leadership status unknown: lease manager stopped\n"),
        (
            ["leader-set", "a=b"],
            "ERROR cannot write leadership settings: lease manager stopped\n",
        ),
        (
            ["relation-set", "--app", "a=b"],
            "ERROR cannot determine leadership status: lease manager stopped\n",
        ),
        (
            ["relation-get", "--app", "-", "etcd"],
            "ERROR cannot determine leadership status: lease manager stopped\n",
        ),
        (
            ["status-set", "--application", "active"],
            "ERROR cannot determine leadership: lease manager stopped\n",
        ),
        (
            ["status-get", "--application"],
            "ERROR finding application status: lease manager stopped\n",
        ),
    ],
)
def test_leadership_unknown(argv: list[str], expected: str) -> None:
    assert run(_unknown_leader(), *argv) == (1, "", expected)


def test_leader_set_by_leader_is_immediate_and_empty_deletes() -> None:
    ctx = make_ctx(leader=True, leader_data={"a": "1", "b": "2"})
    assert run(ctx, "leader-set", "a=", "c=3") == (0, "", "")
    ctx.discard()
    assert ctx.leader_data == {"b": "2", "c": "3"}


# ---- 2.7 status ---------------------------------------------------------------------------


def test_status_set_message_optional_and_application_by_leader() -> None:
    ctx = make_ctx(leader=True, status=StatusInfo("active", "old"))
    assert run(ctx, "status-set", "waiting") == (0, "", "")
    assert ctx.status == StatusInfo("waiting", "")
    assert run(ctx, "status-set", "--application", "blocked", "need a relation") == (0, "", "")
    assert ctx.app_status == StatusInfo("blocked", "need a relation")


def test_status_set_application_non_leader_changes_nothing() -> None:
    ctx = make_ctx(app_status=StatusInfo("active", "fine"))
    assert run(ctx, "status-set", "--application", "blocked", "x")[0] == 1
    assert ctx.app_status == StatusInfo("active", "fine")


# ---- 2.8 actions --------------------------------------------------------------------------


def test_action_fail_message_and_script_continues() -> None:
    ctx = make_ctx(params={}, hook_relation_id=None)
    assert run(ctx, "action-fail", "cannot reach etcd") == (0, "", "")
    assert run(ctx, "action-set", "after=1") == (0, "", "")
    assert (ctx.failed, ctx.fail_message, ctx.results) == (
        True,
        "cannot reach etcd",
        {"after": "1"},
    )


def test_action_set_merges_nested_keys() -> None:
    ctx = make_ctx(params={})
    assert run(ctx, "action-set", "foo.bar=2", "foo.baz.val=3", "a-b=x=y") == (0, "", "")
    assert ctx.results == {"foo": {"bar": "2", "baz": {"val": "3"}}, "a-b": "x=y"}


# ---- 2.10 ports ---------------------------------------------------------------------------


def test_open_port_endpoints_split_and_trimmed() -> None:
    ctx = make_ctx()
    assert run(ctx, "open-port", "2379/TCP", "--endpoints", "db, cluster") == (0, "", "")
    assert ctx.pending_ports == [
        ("open", "db", base.PortRange("tcp", 2379, 2379)),
        ("open", "cluster", base.PortRange("tcp", 2379, 2379)),
    ]


def test_close_port_icmp_and_range() -> None:
    ctx = make_ctx()
    assert run(ctx, "close-port", "icmp") == (0, "", "")
    assert run(ctx, "close-port", "1000-2000/UDP") == (0, "", "")
    assert [p[2] for p in ctx.pending_ports] == [
        base.PortRange("icmp", -1, -1),
        base.PortRange("udp", 1000, 2000),
    ]


# ---- 2.13 juju-log ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level,logged",
    [
        ("TRACE", "TRACE"),
        ("debug", "DEBUG"),
        ("Info", "INFO"),
        ("WARN", "WARNING"),
        ("warning", "WARNING"),
        ("ERROR", "ERROR"),
        ("critical", "CRITICAL"),
    ],
)
def test_juju_log_levels_case_insensitive(level: str, logged: str) -> None:
    ctx = make_ctx(hook_relation_id=None)
    assert run(ctx, "juju-log", "-l", level, "a", "b") == (0, "", "")
    assert ctx.logs == [(logged, "a b")]


def test_juju_log_debug_flag_wins_over_level() -> None:
    ctx = make_ctx(hook_relation_id=None)
    run(ctx, "juju-log", "--debug", "--log-level", "ERROR", "x")
    assert ctx.logs == [("DEBUG", "x")]


def test_juju_log_relation_prefix_uses_hook_relation() -> None:
    ctx = make_ctx(hook_relation_id=2)
    run(ctx, "juju-log", "hello")
    assert ctx.logs == [("INFO", "cluster:2: hello")]


def test_juju_log_empty_message_is_a_message() -> None:
    ctx = make_ctx(hook_relation_id=None)
    assert run(ctx, "juju-log", "") == (0, "", "")
    assert ctx.logs == [("INFO", "")]


# ---- 2.16 goal-state ----------------------------------------------------------------------


def test_goal_state_json_empty() -> None:
    assert run(make_ctx(goal=GoalState()), "goal-state", "--format=json") == (
        0,
        '{"units":{},"relations":{}}\n',
        "",
    )


# ---- 2.19 charm state ---------------------------------------------------------------------


def test_state_set_file_and_quota_on_file_values(tmp_path: Path) -> None:
    ctx = make_ctx()
    (tmp_path / "s.yaml").write_text("k: " + "v" * (64 * 1024 + 1) + "\n")
    code, _, err = run(ctx, "state-set", "--file", "s.yaml", cwd=str(tmp_path))
    assert (code, err) == (1, "ERROR max allowed value length (65536) exceeded\n")
    assert ctx.pending_state == {}

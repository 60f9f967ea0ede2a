"""Table-driven tests of every hook tool against the in-memory FakeContext.

Expected outputs follow docs/juju-model-spec section 2 and Juju's own sources
(internal/worker/uniter/runner/jujuc/*.go, juju/cmd output.go, juju/gnuflag).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from localjuju.hooktools.context import (
    GoalState,
    GoalStateEntry,
    InterfaceAddress,
    NetworkInfo,
    NetworkInterface,
    PortRange,
    StatusInfo,
    StorageInfo,
)
from localjuju.hooktools.fake import FakeContext, FakeRelation
from localjuju.hooktools.formatting import go_json, go_yaml
from localjuju.hooktools.tools import TOOL_NAMES, NeedInput, run_tool

KCP = "kubernetes-control-plane"
NET = NetworkInfo(
    interfaces=(
        NetworkInterface(
            "00:16:3e:aa:bb:cc", "eth0", (InterfaceAddress("10.5.0.9", "10.5.0.0/24"),)
        ),
    ),
    egress_subnets=("10.5.0.9/32",),
    ingress_addresses=("10.5.0.9",),
)
NETWORK_YAML = """\
bind-addresses:
- mac-address: 00:16:3e:aa:bb:cc
  interface-name: eth0
  addresses:
  - hostname: ""
    value: 10.5.0.9
    cidr: 10.5.0.0/24
    address: 10.5.0.9
  macaddress: 00:16:3e:aa:bb:cc
  interfacename: eth0
egress-subnets:
- 10.5.0.9/32
ingress-addresses:
- 10.5.0.9
"""
NETWORK_JSON = (
    '{"bind-addresses":[{"mac-address":"00:16:3e:aa:bb:cc","interface-name":"eth0",'
    '"addresses":[{"hostname":"","value":"10.5.0.9","cidr":"10.5.0.0/24"}]}],'
    '"egress-subnets":["10.5.0.9/32"],"ingress-addresses":["10.5.0.9"]}\n'
)
ADDR = {
    "egress-subnets": "10.5.0.9/32",
    "ingress-address": "10.5.0.9",
    "private-address": "10.5.0.9",
}
ADDR_JSON = (
    '{"egress-subnets":"10.5.0.9/32","ingress-address":"10.5.0.9",'
    '"private-address":"10.5.0.9"}\n'
)


def make_ctx(**kw: object) -> FakeContext:
    """etcd/0 in db-relation-changed for kubernetes-control-plane/1, with a peer relation."""
    defaults: dict[str, object] = {
        "unit_name": "etcd/0",
        "hook_name": "db-relation-changed",
        "hook_relation_id": 7,
        "remote_unit": f"{KCP}/1",
        "remote_app": KCP,
    }
    defaults.update(kw)
    ctx = FakeContext(**defaults)  # type: ignore[arg-type]
    ctx.relations[7] = FakeRelation(
        7,
        "db",
        KCP,
        members=[f"{KCP}/1", f"{KCP}/0"],
        units={f"{KCP}/1": dict(ADDR), f"{KCP}/0": {"x": "y"}, "etcd/0": dict(ADDR)},
        apps={KCP: {"cluster": "k8s"}, "etcd": {"connection_string": "https://10.5.0.9:2379"}},
    )
    ctx.relations[2] = FakeRelation(
        2,
        "cluster",
        "etcd",
        is_peer=True,
        members=["etcd/1"],
        units={"etcd/1": {"peer": "yes"}},
        apps={"etcd": {"token": "abc"}},
    )
    ctx.relations[10] = FakeRelation(10, "db", "other", members=[])
    ctx.relations[11] = FakeRelation(11, "proxy", "gone", broken=True)
    ctx.config_values = {
        "channel": "3.5/stable",
        "port": 2379,
        "bind_to_all_interfaces": True,
        "heartbeat": 0.5,
        "unset": None,
    }
    ctx.networks = {"db": NET, "": NET, "cluster": NET}
    return ctx


def run(ctx: FakeContext, *argv: str, stdin: bytes = b"", cwd: str = "/") -> tuple:
    res = run_tool(ctx, argv[0], list(argv[1:]), stdin, cwd)
    return res.code, res.stdout.decode(), res.stderr.decode()


# (description, context overrides, argv, expected code, stdout, stderr)
# fmt: off
CASES: list[tuple[str, dict, list[str], int, str, str]] = [
    # ---- common option handling ----
    ("unknown option", {}, ["relation-get", "--foo"], 2, "",
     "ERROR option provided but not defined: --foo\n"),
    ("unknown short option", {}, ["is-leader", "-x"], 2, "",
     "ERROR option provided but not defined: -x\n"),
    ("missing value", {}, ["relation-get", "--format"], 2, "",
     "ERROR option needs an argument: --format\n"),
    ("bad format", {}, ["is-leader", "--format=xml"], 2, "",
     'ERROR invalid value "xml" for option --format: unknown format "xml"\n'),
    ("extra args", {}, ["is-leader", "a", "b"], 2, "", 'ERROR unrecognized args: ["a" "b"]\n'),
    ("empty option name", {}, ["is-leader", "--=x"], 2, "",
     'ERROR empty option in argument "--=x"\n'),
    ("bool option with value", {}, ["config-get", "--all=false", "--format", "json"], 0,
     '{"bind_to_all_interfaces":true,"channel":"3.5/stable","heartbeat":0.5,"port":2379}\n', ""),
    ("bad bool value", {}, ["config-get", "--all=maybe"], 2, "",
     'ERROR invalid value "maybe" for option --all: strconv.ParseBool: parsing "maybe": '
     "invalid syntax\n"),
    # ---- relation-get ----
    ("relation-get json all (charmhelpers)",
     {}, ["relation-get", "--format=json", "-", f"{KCP}/1"],
     0, ADDR_JSON, ""),
    ("relation-get interspersed", {}, ["relation-get", "-", f"{KCP}/1", "--format", "json"], 0,
     ADDR_JSON, ""),
    ("relation-get default unit smart", {}, ["relation-get"], 0,
     "egress-subnets: 10.5.0.9/32\ningress-address: 10.5.0.9\nprivate-address: 10.5.0.9\n", ""),
    ("relation-get key", {}, ["relation-get", "private-address"], 0, "10.5.0.9\n", ""),
    ("relation-get missing key smart", {}, ["relation-get", "nope"], 0, "", ""),
    ("relation-get missing key json",
     {}, ["relation-get", "--format=json", "nope"], 0, "null\n", ""),
    ("relation-get -r by id", {}, ["relation-get", "-r", "7", "x", f"{KCP}/0"], 0, "y\n", ""),
    ("relation-get -r name:id", {}, ["relation-get", "-r", "db:7", "x", f"{KCP}/0"], 0, "y\n", ""),
    ("relation-get -r invalid", {}, ["relation-get", "-r", "db:x"], 2, "",
     'ERROR invalid value "db:x" for option -r: invalid relation id\n'),
    ("relation-get -r unknown", {}, ["relation-get", "-r", "db:99"], 2, "",
     'ERROR invalid value "db:99" for option -r: relation not found\n'),
    ("relation-get --relation= form",
     {}, ["relation-get", "--relation=cluster:2", "peer", "etcd/1"],
     0, "yes\n", ""),
    ("relation-get no relation", {"hook_relation_id": None, "remote_unit": "", "remote_app": ""},
     ["relation-get"], 2, "", "ERROR no relation id specified\n"),
    ("relation-get no target", {"remote_unit": "", "remote_app": ""}, ["relation-get"], 2, "",
     "ERROR no unit or application specified\n"),
    ("relation-get app implied (broken/created)", {"remote_unit": ""}, ["relation-get", "cluster"],
     0, "k8s\n", ""),
    ("relation-get --app remote", {}, ["relation-get", "--app", "--format=json"], 0,
     '{"cluster":"k8s"}\n', ""),
    ("relation-get --app converts unit", {}, ["relation-get", "--app", "-", f"{KCP}/3"], 0,
     "cluster: k8s\n", ""),
    ("relation-get app name without --app", {}, ["relation-get", "-", KCP], 2, "",
     f'ERROR expected unit name, got application name "{KCP}"\n'),
    ("relation-get invalid unit", {}, ["relation-get", "-", "Foo/x"], 2, "",
     'ERROR invalid unit name "Foo/x"\n'),
    ("relation-get own app non-leader non-peer", {}, ["relation-get", "--app", "-", "etcd"], 1, "",
     "ERROR permission denied\n"),
    ("relation-get own app leader", {"leader": True}, ["relation-get", "--app", "-", "etcd"], 0,
     "connection_string: https://10.5.0.9:2379\n", ""),
    ("relation-get own app peer non-leader", {},
     ["relation-get", "-r", "cluster:2", "--app", "token", "etcd"], 0, "abc\n", ""),
    ("relation-get unit of unrelated app", {}, ["relation-get", "-", "mysql/0"], 1, "",
     "ERROR permission denied\n"),
    ("relation-get app unrelated", {}, ["relation-get", "--app", "-", "mysql"], 1, "",
     "ERROR permission denied\n"),
    ("relation-get local unit", {}, ["relation-get", "--format=json", "-", "etcd/0"], 0,
     ADDR_JSON, ""),
    # ---- relation-ids / relation-list ----
    ("relation-ids default", {}, ["relation-ids"], 0, "db:10\ndb:7\n", ""),
    ("relation-ids json",
     {}, ["relation-ids", "--format=json", "db"], 0, '["db:10","db:7"]\n', ""),
    ("relation-ids none json", {}, ["relation-ids", "--format=json", "nothing"], 0, "[]\n", ""),
    ("relation-ids none smart", {}, ["relation-ids", "nothing"], 0, "", ""),
    ("relation-ids hides broken", {}, ["relation-ids", "proxy"], 0, "", ""),
    ("relation-ids outside relation", {"hook_relation_id": None}, ["relation-ids"], 2, "",
     "ERROR no endpoint name specified\n"),
    ("relation-list", {}, ["relation-list"], 0, f"{KCP}/0\n{KCP}/1\n", ""),
    ("relation-list json -r", {}, ["relation-list", "--format=json", "-r", "cluster:2"], 0,
     '["etcd/1"]\n', ""),
    ("relation-list empty json",
     {}, ["relation-list", "-r", "10", "--format=json"], 0, "[]\n", ""),
    ("relation-list --app", {}, ["relation-list", "--app"], 0, f"{KCP}\n", ""),
    ("relation-list no relation", {"hook_relation_id": None}, ["relation-list"], 2, "",
     "ERROR no relation id specified\n"),
    ("relation-model-get", {}, ["relation-model-get", "--format=json"], 0,
     '{"uuid":"b7e5c0de-0000-4000-8000-000000000001"}\n', ""),
    # ---- relation-set errors ----
    ("relation-set bad pair", {}, ["relation-set", "foo"], 2, "",
     'ERROR expected "key=value", got "foo"\n'),
    ("relation-set empty key", {}, ["relation-set", "=v"], 2, "",
     'ERROR expected "key=value", got "=v"\n'),
    ("relation-set duplicate", {}, ["relation-set", "a=1", "a=2"], 2, "",
     'ERROR key "a" specified more than once\n'),
    ("relation-set --app non-leader", {}, ["relation-set", "--app", "a=b"], 1, "",
     "ERROR cannot write relation settings\n"),
    ("relation-set no relation", {"hook_relation_id": None}, ["relation-set", "a=b"], 2, "",
     "ERROR no relation id specified\n"),
    ("relation-set --format deprecated", {}, ["relation-set", "--format", "json", "a=b"], 0, "",
     '--format flag deprecated for command "relation-set"'),
    ("relation-set missing file", {}, ["relation-set", "--file", "/nonexistent/x.yaml"], 1, "",
     "ERROR open /nonexistent/x.yaml: no such file or directory\n"),
    # ---- config-get ----
    ("config-get all json", {}, ["config-get", "--all", "--format=json"], 0,
     '{"bind_to_all_interfaces":true,"channel":"3.5/stable","heartbeat":0.5,"port":2379,'
     '"unset":null}\n', ""),
    ("config-get -a smart", {}, ["config-get", "-a"], 0,
     "bind_to_all_interfaces: true\nchannel: 3.5/stable\nheartbeat: 0.5\nport: 2379\n"
     "unset: null\n", ""),
    ("config-get string", {}, ["config-get", "channel"], 0, "3.5/stable\n", ""),
    ("config-get int", {}, ["config-get", "port"], 0, "2379\n", ""),
    ("config-get bool smart", {}, ["config-get", "bind_to_all_interfaces"], 0, "True\n", ""),
    ("config-get bool json", {}, ["config-get", "bind_to_all_interfaces", "--format=json"], 0,
     "true\n", ""),
    ("config-get float yaml", {}, ["config-get", "heartbeat", "--format=yaml"], 0, "0.5\n", ""),
    ("config-get unknown", {}, ["config-get", "nope"], 0, "", ""),
    ("config-get unknown json", {}, ["config-get", "nope", "--format=json"], 0, "null\n", ""),
    ("config-get key and --all", {}, ["config-get", "--all", "port"], 2, "",
     'ERROR cannot use argument --all together with key "port"\n'),
    # ---- leadership ----
    ("is-leader smart", {}, ["is-leader"], 0, "False\n", ""),
    ("is-leader json", {"leader": True}, ["is-leader", "--format=json"], 0, "true\n", ""),
    ("is-leader yaml", {"leader": True}, ["is-leader", "--format=yaml"], 0, "true\n", ""),
    ("leader-get all",
     {"leader_data": {"a": "1", "b": "x y"}}, ["leader-get", "--format=json", "-"],
     0, '{"a":"1","b":"x y"}\n', ""),
    ("leader-get key", {"leader_data": {"a": "1"}}, ["leader-get", "a"], 0, "1\n", ""),
    ("leader-get missing json", {}, ["leader-get", "--format=json", "a"], 0, "null\n", ""),
    ("leader-get invalid key", {}, ["leader-get", "a=b"], 2, "", 'ERROR invalid key "a=b"\n'),
    ("leader-set non-leader", {}, ["leader-set", "a=b"], 1, "",
     "ERROR cannot write leadership settings: cannot write settings: not the leader\n"),
    ("leader-set leader", {"leader": True}, ["leader-set", "a=b"], 0, "", ""),
    # ---- status ----
    ("status-set", {}, ["status-set", "active", "Healthy"], 0, "", ""),
    ("status-set no args", {}, ["status-set"], 2, "",
     "ERROR invalid args, require <status> [message]\n"),
    ("status-set bad status", {}, ["status-set", "error"], 2, "",
     'ERROR invalid status "error", expected one of [maintenance blocked waiting active]\n'),
    ("status-set too many", {}, ["status-set", "active", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    ("status-set --application non-leader", {}, ["status-set", "--application", "active"], 1, "",
     "ERROR this unit is not the leader\n"),
    ("status-get smart",
     {"status": StatusInfo("active", "ok")}, ["status-get"], 0, "active\n", ""),
    ("status-get json", {"status": StatusInfo("active", "ok")}, ["status-get", "--format=json"], 0,
     '{"status":"active"}\n', ""),
    ("status-get include-data json", {"status": StatusInfo("active", "ok")},
     ["status-get", "--format=json", "--include-data"], 0,
     '{"message":"ok","status":"active","status-data":{}}\n', ""),
    ("status-get include-data smart", {"status": StatusInfo("blocked", "need certs")},
     ["status-get", "--include-data"], 0,
     "message: need certs\nstatus: blocked\nstatus-data: {}\n", ""),
    ("status-get --application non-leader", {}, ["status-get", "--application"], 1, "",
     "ERROR finding application status: this unit is not the leader\n"),
    ("status-get --application smart", {"leader": True, "app_status": StatusInfo("active")},
     ["status-get", "--application"], 0, "active\n", ""),
    ("status-get --application json",
     {"leader": True, "app_status": StatusInfo("active"), "status": StatusInfo("waiting", "w")},
     ["status-get", "--application", "--format=json"], 0,
     '{"application-status":{"status":"active","units":{"etcd/0":{"status":"waiting"}}}}\n', ""),
    # ---- application-version-set ----
    ("application-version-set", {}, ["application-version-set", "3.5.16"], 0, "", ""),
    ("application-version-set none", {}, ["application-version-set"], 2, "",
     "ERROR no version specified\n"),
    # ---- ports ----
    ("open-port upper-case proto", {}, ["open-port", "2379/TCP"], 0, "", ""),
    ("open-port range", {}, ["open-port", "8000-8080/udp"], 0, "", ""),
    ("open-port icmp", {}, ["open-port", "ICMP"], 0, "", ""),
    ("open-port none", {}, ["open-port"], 2, "", "ERROR no port or range specified\n"),
    ("open-port bad port", {}, ["open-port", "x"], 2, "",
     'ERROR invalid port "x": strconv.Atoi: parsing "x": invalid syntax\n'),
    ("open-port bad range",
     {}, ["open-port", "a-b-c"], 2, "", 'ERROR invalid port range "a-b-c"\n'),
    ("open-port bad proto", {}, ["open-port", "80/sctp"], 2, "",
     'ERROR invalid protocol "sctp", expected "tcp", "udp", or "icmp"\n'),
    ("open-port bounds", {}, ["open-port", "0-70000"], 2, "",
     "ERROR port range bounds must be between 0 and 65535, got 0-70000\n"),
    ("open-port reversed", {}, ["open-port", "90-80/tcp"], 2, "",
     "ERROR invalid port range 90-80/tcp\n"),
    ("open-port icmp with port", {}, ["open-port", "80/icmp"], 2, "",
     'ERROR protocol "icmp" doesn\'t support any ports; got "80"\n'),
    ("open-port --format deprecated", {}, ["open-port", "80", "--format", "json"], 0, "",
     '--format flag deprecated for command "open-port"'),
    ("close-port", {}, ["close-port", "80"], 0, "", ""),
    ("opened-ports", {"ports": {"": [PortRange("tcp", 2379, 2379), PortRange("icmp", -1, -1)],
                                "db": [PortRange("udp", 8000, 8080), PortRange("tcp", 80, 80)]}},
     ["opened-ports"], 0, "icmp\n80/tcp\n2379/tcp\n8000-8080/udp\n", ""),
    ("opened-ports json", {"ports": {"": [PortRange("tcp", 2379, 2379)]}},
     ["opened-ports", "--format=json"], 0, '["2379/tcp"]\n', ""),
    ("opened-ports none json", {}, ["opened-ports", "--format=json"], 0, "[]\n", ""),
    ("opened-ports --endpoints",
     {"ports": {"": [PortRange("tcp", 2379, 2379)], "db": [PortRange("tcp", 80, 80)],
                "cluster": [PortRange("tcp", 80, 80)]}},
     ["opened-ports", "--endpoints"], 0, "80/tcp (cluster, db)\n2379/tcp (*)\n", ""),
    # ---- unit-get ----
    ("unit-get private", {}, ["unit-get", "private-address"], 0, "10.5.0.9\n", ""),
    ("unit-get private json", {}, ["unit-get", "--format=json", "private-address"], 0,
     '"10.5.0.9"\n', ""),
    ("unit-get public", {"public_addr": "1.2.3.4"}, ["unit-get", "public-address"], 0,
     "1.2.3.4\n", ""),
    ("unit-get unknown", {}, ["unit-get", "foo"], 2, "", 'ERROR unknown setting "foo"\n'),
    ("unit-get none", {}, ["unit-get"], 2, "", "ERROR no setting specified\n"),
    # ---- network-get ----
    ("network-get yaml (charmhelpers)", {}, ["network-get", "db", "--format", "yaml"], 0,
     NETWORK_YAML, ""),
    ("network-get smart = yaml", {}, ["network-get", "db"], 0, NETWORK_YAML, ""),
    ("network-get json", {}, ["network-get", "db", "--format=json"], 0, NETWORK_JSON, ""),
    ("network-get primary", {}, ["network-get", "--primary-address", "db"], 0, "10.5.0.9\n", ""),
    ("network-get primary with other", {}, ["network-get", "--primary-address", "--bind-address",
                                            "db"], 1, "",
     "ERROR --primary-address must be the only flag specified\n"),
    ("network-get ingress", {}, ["network-get", "db", "--ingress-address"], 0, "10.5.0.9\n", ""),
    ("network-get bind json", {}, ["network-get", "db", "--bind-address", "--format=json"], 0,
     '"10.5.0.9"\n', ""),
    ("network-get egress", {}, ["network-get", "db", "--egress-subnets"], 0, "10.5.0.9/32\n", ""),
    ("network-get two selectors", {}, ["network-get", "db", "--ingress-address",
                                       "--bind-address", "--format=json"], 0,
     '{"bind-address":"10.5.0.9","ingress-address":"10.5.0.9"}\n', ""),
    ("network-get unknown binding", {}, ["network-get", "foo"], 1, "",
     'ERROR no network config found for binding "foo"\n'),
    ("network-get no args", {}, ["network-get"], 2, "", "ERROR no arguments specified\n"),
    # ---- juju-log ----
    ("juju-log", {}, ["juju-log", "hello"], 0, "", ""),
    ("juju-log no message", {}, ["juju-log"], 2, "", "ERROR no message specified\n"),
    ("juju-log --format deprecated", {}, ["juju-log", "--format", "json", "hi"], 0, "",
     '--format flag deprecated for command "juju-log"'),
    # ---- actions outside an action ----
    ("action-get outside", {}, ["action-get"], 1, "", "ERROR not running an action\n"),
    ("action-set outside", {}, ["action-set", "a=b"], 1, "", "ERROR not running an action\n"),
    ("action-fail outside", {}, ["action-fail"], 1, "", "ERROR not running an action\n"),
    ("action-log outside", {}, ["action-log", "x"], 1, "", "ERROR not running an action\n"),
    # ---- actions ----
    ("action-get all", {"params": {"target": "/tmp/s.db", "n": 3, "nested": {"a": {"b": "c"}}}},
     ["action-get"], 0, '"n": 3\nnested:\n  a:\n    b: c\ntarget: /tmp/s.db\n', ""),
    ("action-get key", {"params": {"target": "/tmp/s.db"}}, ["action-get", "target"], 0,
     "/tmp/s.db\n", ""),
    ("action-get dotted", {"params": {"nested": {"a": {"b": "c"}}}}, ["action-get", "nested.a.b"],
     0, "c\n", ""),
    ("action-get missing json", {"params": {}}, ["action-get", "x.y", "--format=json"], 0,
     "null\n", ""),
    ("action-get empty", {"params": {}}, ["action-get"], 0, "{}\n", ""),
    ("action-set bad key", {"params": {}}, ["action-set", "Foo=1"], 2, "",
     'ERROR key "Foo" must start and end with lowercase alphanumeric, and contain only '
     "lowercase alphanumeric, hyphens and periods\n"),
    ("action-set no =", {"params": {}}, ["action-set", "foo"], 2, "",
     'ERROR argument "foo" must be of the form key...=value\n'),
    ("action-set reserved", {"params": {}}, ["action-set", "stdout=x"], 2, "",
     'ERROR cannot set reserved action key "stdout"\n'),
    ("action-fail two args", {"params": {}}, ["action-fail", "a", "b"], 2, "",
     'ERROR unrecognized args: ["b"]\n'),
    ("action-log none", {"params": {}}, ["action-log"], 2, "", "ERROR no message specified\n"),
    # ---- storage ----
    ("storage-get none", {}, ["storage-get"], 2, "", "ERROR no storage instance specified\n"),
    ("storage-get hook storage", {"hook_storage_id": "data/0",
                                  "storages": {"data/0": StorageInfo("data/0", "filesystem",
                                                                     "/srv/data")}},
     ["storage-get", "--format=json"], 0, '{"kind":"filesystem","location":"/srv/data"}\n', ""),
    ("storage-get -s key", {"storages": {"data/0": StorageInfo("data/0", "block", "/dev/vdb")}},
     ["storage-get", "-s", "data/0", "location"], 0, "/dev/vdb\n", ""),
    ("storage-get bad attr", {"storages": {"data/0": StorageInfo("data/0", "block", "/dev/vdb")}},
     ["storage-get", "-s", "data/0", "size"], 1, "", 'ERROR invalid storage attribute "size"\n'),
    ("storage-get invalid id", {}, ["storage-get", "-s", "Data"], 2, "",
     'ERROR invalid value "Data" for option -s: invalid storage ID "Data"\n'),
    ("storage-list", {"storages": {"data/0": StorageInfo("data/0", "block", "/dev/vdb"),
                                   "logs/1": StorageInfo("logs/1", "filesystem", "/l")}},
     ["storage-list"], 0, "data/0\nlogs/1\n", ""),
    ("storage-list filter json", {"storages": {"data/0": StorageInfo("data/0", "block", "/d"),
                                               "logs/1": StorageInfo("logs/1", "block", "/l")}},
     ["storage-list", "--format=json", "logs"], 0, '["logs/1"]\n', ""),
    ("storage-list empty json", {}, ["storage-list", "--format=json"], 0, "[]\n", ""),
    ("storage-add none", {}, ["storage-add"], 2, "",
     "ERROR storage add requires a storage constraint\n"),
    # ---- resource-get ----
    ("resource-get", {"resources": {"etcd": "/var/lib/juju/agents/unit-etcd-0/resources/etcd/e"}},
     ["resource-get", "etcd"], 0, "/var/lib/juju/agents/unit-etcd-0/resources/etcd/e", ""),
    ("resource-get missing name", {}, ["resource-get"], 2, "",
     "ERROR missing required resource name\n"),
    ("resource-get unknown", {}, ["resource-get", "nope"], 1, "",
     'ERROR could not download resource: failed to download resource "nope": resource not '
     "found\n"),
    # ---- goal-state ----
    ("goal-state yaml default",
     {"goal": GoalState(
         units={"etcd/0": GoalStateEntry("active", datetime.datetime(
             2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)), "etcd/1": GoalStateEntry(
             "waiting")},
         relations={"db": {KCP: GoalStateEntry("joined"), f"{KCP}/0": GoalStateEntry("active")}},
     )},
     ["goal-state"], 0,
     "units:\n  etcd/0:\n    status: active\n    since: 2024-01-02 03:04:05Z\n  etcd/1:\n"
     "    status: waiting\nrelations:\n  db:\n    kubernetes-control-plane:\n"
     "      status: joined\n    kubernetes-control-plane/0:\n      status: active\n", ""),
    ("goal-state since from the controller's ISO string",
     {"goal": GoalState(units={"etcd/0": GoalStateEntry("dying", "2026-11-21T18:12:16+00:00")})},
     ["goal-state", "--format=json"], 0,
     '{"units":{"etcd/0":{"status":"dying","since":"2026-11-21 18:12:16Z"}},"relations":{}}\n',
     ""),
    ("goal-state json", {"goal": GoalState(units={"etcd/0": GoalStateEntry("active")})},
     ["goal-state", "--format=json"], 0,
     '{"units":{"etcd/0":{"status":"active"}},"relations":{}}\n', ""),
    ("goal-state no smart", {}, ["goal-state", "--format=smart"], 2, "",
     'ERROR invalid value "smart" for option --format: unknown format "smart"\n'),
    # ---- credential-get / juju-reboot ----
    ("credential-get untrusted", {}, ["credential-get"], 1, "",
     "ERROR cannot access cloud credentials: permission denied\n"),
    ("credential-get trusted", {"cloud": {"type": "lxd", "name": "localhost"}},
     ["credential-get", "--format=json"], 0, '{"type":"lxd","name":"localhost"}\n', ""),
    ("juju-reboot", {}, ["juju-reboot"], 0, "", ""),
    ("juju-reboot in action", {"params": {}}, ["juju-reboot", "--now"], 1, "",
     "ERROR juju-reboot is not supported when running an action.\n"),
    # ---- charm state ----
    ("state-get all", {"state": {"a": "1"}}, ["state-get", "--format=json"], 0, '{"a":"1"}\n', ""),
    ("state-get key", {"state": {"a": "1"}}, ["state-get", "a"], 0, "1\n", ""),
    ("state-get missing", {}, ["state-get", "a"], 0, "", ""),
    ("state-get missing json", {}, ["state-get", "a", "--format=json"], 0, '""\n', ""),
    ("state-get strict", {}, ["state-get", "--strict", "a"], 1, "", 'ERROR "a" not found\n'),
    ("state-set key too long", {}, ["state-set", "k" * 257 + "=v"], 1, "",
     "ERROR max allowed key length (256) exceeded\n"),
    ("state-delete", {"state": {"a": "1"}}, ["state-delete", "a"], 0, "", ""),
    # ---- other tools ----
    ("add-metric",
     {}, ["add-metric", "a=1"], 1, "",
     "ERROR cannot record metric: metrics not allowed in this context\n"),
    ("unknown tool", {}, ["no-such-tool"], 1, "",
     "ERROR bad request: unknown hook command: no-such-tool\n"),
]
# fmt: on


@pytest.mark.parametrize(
    "overrides,argv,code,stdout,stderr", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_tool(overrides: dict, argv: list[str], code: int, stdout: str, stderr: str) -> None:
    ctx = make_ctx(**overrides)
    assert run(ctx, *argv) == (code, stdout, stderr)


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_every_tool_has_help(name: str) -> None:
    code, out, err = run(make_ctx(), name, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"Usage: {name}")
    code2, out2, _ = run(make_ctx(), name, "-h")
    assert (code2, out2) == (0, out)


def test_relation_set_help_mentions_file() -> None:
    code, out, _ = run(make_ctx(), "relation-set", "--help")
    assert code == 0
    assert "--file" in out
    assert out.startswith("Usage: relation-set [options] key=value [key=value ...]\n")
    assert "-r, --relation  (= db:7)\n    specify a relation by id\n" in out


def test_help_lists_options_like_gnuflag() -> None:
    _, out, _ = run(make_ctx(), "config-get", "--help")
    assert out.startswith("Usage: config-get [options] [<key>]\n\nSummary:\n")
    assert "-a, --all  (= false)\n    print all keys\n" in out
    assert "--format  (= smart)\n    Specify output format (json|smart|yaml)\n" in out
    assert '-o, --output (= "")\n    Specify an output file\n' in out


# ---- buffered writes and commit semantics ------------------------------------------------


def test_relation_set_buffered_until_commit() -> None:
    ctx = make_ctx()
    assert run(ctx, "relation-set", "a=b", "private-address=")[0] == 0
    # visible to the writer in the same hook, not committed yet
    assert run(ctx, "relation-get", "--format=json", "-", "etcd/0")[1] == (
        '{"a":"b","egress-subnets":"10.5.0.9/32","ingress-address":"10.5.0.9"}\n'
    )
    assert ctx.relations[7].units["etcd/0"] == ADDR
    ctx.commit()
    assert ctx.relations[7].units["etcd/0"] == {
        "a": "b",
        "egress-subnets": "10.5.0.9/32",
        "ingress-address": "10.5.0.9",
    }


def test_relation_set_discarded_on_failure() -> None:
    ctx = make_ctx(leader=True)
    run(ctx, "relation-set", "--app", "x=1")
    assert run(ctx, "relation-get", "--app", "x", "etcd")[1] == "1\n"
    ctx.discard()
    assert "x" not in ctx.relations[7].apps["etcd"]


def test_relation_set_file_yaml(tmp_path: Path) -> None:
    ctx = make_ctx()
    (tmp_path / "s.yaml").write_text("a: hello\nb: null\nc: 1.50\nd: 'true'\nz: ~\n")
    res = run(ctx, "relation-set", "--file", "s.yaml", "z=override", cwd=str(tmp_path))
    assert res == (0, "", "")
    assert ctx.pending_relation[(7, False)] == {
        "a": "hello",
        "b": "",
        "c": "1.50",
        "d": "true",
        "z": "override",
    }


def test_relation_set_file_stdin() -> None:
    ctx = make_ctx(leader=True)
    assert run(ctx, "relation-set", "--app", "--file", "-", stdin=b"k: v\n") == (0, "", "")
    assert ctx.pending_relation[(7, True)] == {"k": "v"}


def test_relation_set_file_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("a: [1, 2]\n")
    code, _, err = run(make_ctx(), "relation-set", "--file", str(tmp_path / "s.yaml"))
    assert code == 1
    assert err == "ERROR yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string\n"


def test_stdin_requested_lazily_in_server_mode() -> None:
    ctx = make_ctx()
    with pytest.raises(NeedInput) as info:
        run_tool(ctx, "relation-set", ["--file", "-"], None, "/", local_fs=False)
    assert info.value.stdin
    with pytest.raises(NeedInput) as info2:
        run_tool(ctx, "relation-set", ["--file", "x.yaml"], None, "/tmp", local_fs=False)
    assert info2.value.files == ("/tmp/x.yaml",)
    res = run_tool(
        ctx,
        "relation-set",
        ["--file", "x.yaml"],
        None,
        "/tmp",
        files={"/tmp/x.yaml": b"q: r\n"},
        local_fs=False,
    )
    assert res.code == 0
    assert ctx.pending_relation[(7, False)] == {"q": "r"}
    # a tool that does not read stdin never asks for it
    assert run_tool(ctx, "is-leader", [], None, "/", local_fs=False).code == 0


def test_output_file(tmp_path: Path) -> None:
    ctx = make_ctx()
    res = run(ctx, "relation-get", "-o", "out.json", "--format=json", "-", cwd=str(tmp_path))
    assert res == (0, "", "")
    assert (tmp_path / "out.json").read_text() == ADDR_JSON
    srv = run_tool(ctx, "is-leader", ["--output", "o.txt"], b"", "/w", local_fs=False)
    assert srv.output_file == ("/w/o.txt", b"False\n")


def test_ports_committed_only_on_success() -> None:
    ctx = make_ctx()
    run(ctx, "open-port", "2379/tcp")
    run(ctx, "open-port", "80", "--endpoints", "db")
    assert run(ctx, "opened-ports")[1] == ""  # pending ports are not listed
    ctx.commit()
    assert run(ctx, "opened-ports", "--endpoints")[1] == "80/tcp (db)\n2379/tcp (*)\n"
    run(ctx, "close-port", "2379")
    ctx.discard()
    assert run(ctx, "opened-ports")[1] == "80/tcp\n2379/tcp\n"


def test_state_buffered() -> None:
    ctx = make_ctx(state={"keep": "1", "drop": "2"})
    run(ctx, "state-set", "new=3")
    run(ctx, "state-delete", "drop")
    assert run(ctx, "state-get", "--format=json")[1] == '{"keep":"1","new":"3"}\n'
    ctx.discard()
    assert run(ctx, "state-get", "--format=json")[1] == '{"drop":"2","keep":"1"}\n'
    run(ctx, "state-set", "--file", "-", "b=2", stdin=b"a: 1\nb: 1\n")
    ctx.commit()
    assert ctx.state == {"keep": "1", "drop": "2", "a": "1", "b": "2"}


def test_immediate_effects() -> None:
    ctx = make_ctx(leader=True)
    run(ctx, "status-set", "maintenance", "installing")
    run(ctx, "status-set", "--application", "active")
    run(ctx, "leader-set", "a=b", "c=d")
    run(ctx, "leader-set", "c=")
    run(ctx, "application-version-set", "3.5.16")
    run(ctx, "juju-log", "-l", "warn", "careful")
    run(ctx, "juju-log", "--debug", "detail")
    run(ctx, "juju-log", "--log-level=bogus", "x")
    ctx.discard()
    assert ctx.status == StatusInfo("maintenance", "installing")
    assert ctx.app_status == StatusInfo("active", "")
    assert ctx.leader_data == {"a": "b"}
    assert ctx.workload_version == "3.5.16"
    assert ctx.logs == [
        ("WARNING", "db:7: careful"),
        ("DEBUG", "db:7: detail"),
        ("WARNING", 'Specified log level of "bogus" is not valid'),
        ("INFO", "db:7: x"),
    ]


def test_actions() -> None:
    ctx = make_ctx(params={"target": "x"}, hook_name="", hook_relation_id=None)
    assert run(ctx, "action-set", "outfile.size=10G", "foo.bar=2", "result=ok") == (0, "", "")
    assert run(ctx, "action-log", "step", "one") == (0, "", "")
    assert run(ctx, "action-fail") == (0, "", "")
    assert ctx.results == {"outfile": {"size": "10G"}, "foo": {"bar": "2"}, "result": "ok"}
    assert ctx.action_messages == ["step one"]
    assert ctx.failed
    assert ctx.fail_message == "action failed without reason given, check action for errors"


def test_reboot_flag() -> None:
    ctx = make_ctx()
    run(ctx, "juju-reboot", "--now")
    assert ctx.reboot == "now"


def test_relation_ids_sorted_as_strings() -> None:
    ctx = make_ctx()
    ctx.relations[2].endpoint = "db"
    ctx.relations[2].is_peer = False
    assert run(ctx, "relation-ids", "db")[1] == "db:10\ndb:2\ndb:7\n"


# ---- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("plain", "plain\n"),
        ("", '""\n'),
        ("true", '"true"\n'),
        ("yes", '"yes"\n'),
        ("y", '"y"\n'),
        ("null", '"null"\n'),
        ("123", '"123"\n'),
        ("1.5", '"1.5"\n'),
        ("0x1F", '"0x1F"\n'),
        ("2001-12-14", '"2001-12-14"\n'),
        ("1:20", '"1:20"\n'),
        ("- a", "'- a'\n"),
        ("a: b", "'a: b'\n"),
        ("#x", "'#x'\n"),
        ("multi\nline", "|-\n  multi\n  line\n"),
        ("cert\n", "|\n  cert\n"),
        (1e6, "1e+06\n"),
        (123456.0, "123456\n"),
        (0.0001, "0.0001\n"),
        (0.00001, "1e-05\n"),
        ({"b": 1, "a": 2}, "a: 2\nb: 1\n"),
        ({"x10": 1, "x2": 2, "x1": 3}, "x1: 3\nx2: 2\nx10: 1\n"),
        ({"a": [], "b": {}}, "a: []\nb: {}\n"),
        ({"k": ["x", "z"]}, "k:\n- x\n- z\n"),
    ],
)
def test_yaml_v2_style(value: object, expected: str) -> None:
    assert go_yaml(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ({"b": "<&>", "a": 1}, '{"a":1,"b":"\\u003c\\u0026\\u003e"}'),
        ([1.0, 0.5, 1e21, 1e-7, 100.0], "[1,0.5,1e+21,1e-7,100]"),
        ("é\u2028\n\x01", '"é\\u2028\\n\\u0001"'),
        # every escape Go's encoder makes (Go 1.22 on: \b and \f short), a lone surrogate
        # (invalid UTF-8 to Go) as U+FFFD, the rest as it is
        (
            '"\\\b\f\r\t\x1f\x7f\u2029\ud800\udfff\ue000\U0001f600',
            '"\\"\\\\\\b\\f\\r\\t\\u001f\x7f\\u2029\\ufffd\\ufffd\ue000\U0001f600"',
        ),
        (None, "null"),
        ([], "[]"),
    ],
)
def test_go_json(value: object, expected: str) -> None:
    assert go_json(value) == expected


def test_fake_context_satisfies_protocol() -> None:
    from localjuju.hooktools.context import ToolContext

    assert isinstance(make_ctx(), ToolContext)

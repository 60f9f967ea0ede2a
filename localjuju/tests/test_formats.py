"""Tests for localjuju.formats: Juju 3.6 CLI output, checked against jubilant's parsers
and against tabular output derived from Juju's own formatter tests."""

from __future__ import annotations

import datetime
import json
import pathlib
import stat
import sys
from typing import Any

import jubilant
import pytest
import yaml
from jubilant._task import Task as JubilantTask
from jubilant.modeltypes import ModelInfo as JubilantModelInfo
from jubilant.statustypes import Status
from jubilant.unittypes import UnitInfo as JubilantUnitInfo

from localjuju import formats as f
from localjuju.formats import tasks as t
from localjuju.formats._go import go_float_json
from localjuju.formats._goyaml import go_yaml
from localjuju.formats._tabwriter import TabWriter, Wrapper, natural_sorted

UTC = datetime.timezone.utc
T0 = datetime.datetime(2025, 11, 21, 16, 19, 5, tzinfo=UTC)
S = f.StatusInfo


# -- a realistic model: easyrsa x1 + etcd x3, one unit in error ----------------------------


def _machine(i: int) -> f.Machine:
    ip = f"10.0.0.{10 + i}"
    return f.Machine(
        juju_status=S("started", "", T0, version="3.6.1"),
        hostname=f"juju-0a1b2c-{i}",
        dns_name=ip,
        ip_addresses=[ip],
        instance_id=f"juju-0a1b2c-{i}",
        machine_status=S("running", "Running", T0),
        modification_status=S("idle", "", T0),
        base=f.Base("ubuntu", "22.04"),
        network_interfaces={
            "eth0": f.NetworkInterface([ip], f"00:16:3e:00:00:{i:02x}", "10.0.0.1", space="alpha")
        },
        constraints="arch=amd64",
        hardware="arch=amd64 cores=0 mem=0M virt-type=container",
    )


def _etcd_unit(n: int, leader: bool = False, error: bool = False) -> f.Unit:
    if error:
        ws = S("error", 'hook failed: "config-changed"', T0)
    else:
        ws = S("active", "Healthy with 3 known peers", T0)
    return f.Unit(
        workload_status=ws,
        juju_status=S("idle", "", T0, version="3.6.1"),
        leader=leader,
        machine=str(n + 1),
        open_ports=["2379/tcp"],
        public_address=f"10.0.0.{11 + n}",
    )


def etcd_model(error: bool = True) -> f.StatusDocument:
    ep = f.RelationEndpoint
    return f.StatusDocument(
        model=f.ModelInfo(
            name="test",
            controller="localjuju",
            cloud="localhost",
            region="localhost",
            version="3.6.1",
            status=S("available", "", T0),
        ),
        controller_timestamp=T0,
        machines={str(i): _machine(i) for i in range(4)},
        applications={
            "easyrsa": f.Application(
                charm_url="local:easyrsa-0",
                base=f.Base("ubuntu", "22.04"),
                status=S("active", "Certificate Authority connected.", T0),
                version="3.0.1",
                units={
                    "easyrsa/0": f.Unit(
                        workload_status=S("active", "Certificate Authority connected.", T0),
                        juju_status=S("idle", "", T0, version="3.6.1"),
                        leader=True,
                        machine="0",
                        public_address="10.0.0.10",
                    )
                },
                endpoint_bindings={"": "alpha", "client": "alpha"},
            ),
            "etcd": f.Application(
                charm_url="local:etcd-0",
                base=f.Base("ubuntu", "22.04"),
                status=(
                    S("error", 'hook failed: "config-changed"', T0)
                    if error
                    else S("active", "Healthy with 3 known peers", T0)
                ),
                version="3.5.16",
                units={
                    "etcd/0": _etcd_unit(0, leader=True),
                    "etcd/1": _etcd_unit(1),
                    "etcd/2": _etcd_unit(2, error=error),
                },
                endpoint_bindings={"": "alpha", "certificates": "alpha", "cluster": "alpha"},
            ),
        },
        relations=[
            f.Relation(0, "etcd", [ep("etcd", "cluster", "peer")]),
            f.Relation(
                1,
                "tls-certificates",
                [ep("etcd", "certificates", "requirer"), ep("easyrsa", "client", "provider")],
            ),
        ],
    )


ETCD_TABULAR = """\
Model  Controller  Cloud/Region         Version  SLA          Timestamp
test   localjuju   localhost/localhost  3.6.1    unsupported  16:19:05Z

App      Version  Status  Scale  Charm    Channel  Rev  Exposed  Message
easyrsa  3.0.1    active      1  easyrsa             0  no       Certificate Authority connected.
etcd     3.5.16   error       3  etcd                0  no       hook failed: "config-changed"

Unit        Workload  Agent  Machine  Public address  Ports     Message
easyrsa/0*  active    idle   0        10.0.0.10                 Certificate Authority connected.
etcd/0*     active    idle   1        10.0.0.11       2379/tcp  Healthy with 3 known peers
etcd/1      active    idle   2        10.0.0.12       2379/tcp  Healthy with 3 known peers
etcd/2      error     idle   3        10.0.0.13       2379/tcp  hook failed: "config-changed"

Machine  State    Address    Inst id        Base          AZ  Message
0        started  10.0.0.10  juju-0a1b2c-0  ubuntu@22.04      Running
1        started  10.0.0.11  juju-0a1b2c-1  ubuntu@22.04      Running
2        started  10.0.0.12  juju-0a1b2c-2  ubuntu@22.04      Running
3        started  10.0.0.13  juju-0a1b2c-3  ubuntu@22.04      Running

Integration provider  Requirer           Interface         Type     Message
easyrsa:client        etcd:certificates  tls-certificates  regular__
etcd:cluster          etcd:cluster       etcd              peer_____
""".replace("_", " ")


def test_status_json_through_jubilant() -> None:
    out = f.status_json(etcd_model(), tz=UTC)
    assert out.endswith("}\n") and out.count("\n") == 1  # one line, like json.Marshal
    status = Status._from_dict(json.loads(out))
    assert status.model.name == "test"
    assert status.model.type == "iaas"
    assert status.model.version == "3.6.1"
    assert status.model.model_status.current == "available"
    assert status.controller.timestamp == "16:19:05Z"
    assert set(status.machines) == {"0", "1", "2", "3"}
    m1 = status.machines["1"]
    assert m1.juju_status.current == "started" and m1.juju_status.version == "3.6.1"
    assert m1.base is not None and (m1.base.name, m1.base.channel) == ("ubuntu", "22.04")
    assert m1.network_interfaces["eth0"].ip_addresses == ["10.0.0.11"]
    assert m1.network_interfaces["eth0"].is_up
    assert m1.hostname == "juju-0a1b2c-1" and m1.dns_name == "10.0.0.11"
    etcd = status.apps["etcd"]
    assert (etcd.charm, etcd.charm_origin, etcd.charm_name, etcd.charm_rev) == (
        "local:etcd-0",
        "local",
        "etcd",
        0,
    )
    assert etcd.exposed is False
    assert etcd.is_error
    assert etcd.version == "3.5.16"
    assert [r.related_app for r in etcd.relations["cluster"]] == ["etcd"]
    assert etcd.relations["certificates"][0].interface == "tls-certificates"
    assert etcd.relations["certificates"][0].scope == "global"
    assert etcd.units["etcd/0"].leader and not etcd.units["etcd/1"].leader
    assert etcd.units["etcd/0"].open_ports == ["2379/tcp"]
    assert etcd.units["etcd/2"].is_error
    assert etcd.units["etcd/0"].juju_status.version == "3.6.1"
    assert etcd.units["etcd/0"].workload_status.since == "21 Nov 2025 16:19:05Z"
    assert etcd.endpoint_bindings["cluster"] == "alpha"
    assert status.get_units("etcd").keys() == {"etcd/0", "etcd/1", "etcd/2"}

    assert jubilant.any_error(status)
    assert jubilant.any_error(status, "etcd")
    assert not jubilant.any_error(status, "easyrsa")
    assert not jubilant.all_active(status)
    assert jubilant.all_active(status, "easyrsa")
    assert jubilant.all_agents_idle(status)
    assert jubilant.all_agents_idle(status, "etcd")

    healthy = Status._from_dict(json.loads(f.status_json(etcd_model(error=False))))
    assert jubilant.all_active(healthy)
    assert jubilant.all_active(healthy, "etcd", "easyrsa")
    assert not jubilant.any_error(healthy)


def test_status_json_field_order_and_encoding() -> None:
    out = f.status_json(etcd_model(), tz=UTC)
    # struct order: model, machines, applications, storage, controller
    assert list(json.loads(out)) == ["model", "machines", "applications", "storage", "controller"]
    assert out.startswith('{"model":{"name":"test","type":"iaas","controller":"localjuju",')
    unit = json.loads(out)["applications"]["etcd"]["units"]["etcd/1"]
    assert list(unit) == [
        "workload-status",
        "juju-status",
        "machine",
        "open-ports",
        "public-address",
    ]
    assert '"storage":{}' in out
    # encoding/json escapes <, > and & and prints floats the Go way
    assert f.go_json({"m": "a<b>&c", "x": 1.0}) == '{"m":"a\\u003cb\\u003e\\u0026c","x":1}\n'
    assert go_float_json(1e21) == "1e+21" and go_float_json(1e-7) == "1e-7"


def test_status_json_keeps_empty_status_structs() -> None:
    doc = etcd_model()
    doc.applications["etcd"].units["etcd/1"].workload_status = S()
    doc.model.status = S()
    data = json.loads(f.status_json(doc))
    assert data["model"]["model-status"] == {}
    assert data["applications"]["etcd"]["units"]["etcd/1"]["workload-status"] == {}
    ydata = yaml.safe_load(f.status_yaml(doc))
    assert "model-status" not in ydata["model"]
    assert "workload-status" not in ydata["applications"]["etcd"]["units"]["etcd/1"]


def test_status_yaml_matches_json_and_go_style() -> None:
    doc = etcd_model()
    text = f.status_yaml(doc, tz=UTC)
    assert yaml.safe_load(text) == json.loads(f.status_json(doc, tz=UTC))
    lines = text.splitlines()
    assert lines[:3] == ["model:", "  name: test", "  type: iaas"]
    assert '  "0":' in lines  # machine ids are quoted (they read back as ints)
    assert '      channel: "22.04"' in lines
    assert "storage: {}" in lines
    assert lines[-2:] == ["controller:", "  timestamp: 16:19:05Z"]
    assert "    - 2379/tcp" not in lines and "        - 2379/tcp" in lines


def test_status_tabular_etcd() -> None:
    assert f.status_tabular(etcd_model(), relations=True, tz=UTC) == ETCD_TABULAR
    without = f.status_tabular(etcd_model(), tz=UTC)
    assert "Integration provider" not in without
    assert without == ETCD_TABULAR.split("\n\nIntegration provider")[0] + "\n"


def test_status_tabular_color() -> None:
    out = f.status_tabular(etcd_model(), color=True, tz=UTC)
    assert "\x1b[1;39mModel  \x1b[0m" in out
    # app status red; the reset opens the next (right-aligned Scale) cell, after its padding
    assert "\x1b[31merror       \x1b[0m3  etcd" in out
    assert "\x1b[95m2379\x1b[0m/tcp" in out


# Juju's own expectation: cmd/juju/status/status_internal_test.go, expectedTabularStatus
# (juju 3.6), for the model built by prepareTabularData.
JUJU_EXPECTED_TABULAR = """\
Model       Controller  Cloud/Region        Version  SLA          Timestamp       Notes
controller  kontroll    dummy/dummy-region  1.2.3    unsupported  15:04:05+07:00  @NOTES

SAAS         Status   Store  URL
hosted-riak  unknown  local  me/model.riak

App        Version          Status       Scale  Charm      Channel  Rev  Exposed  Message
logging    a bit too lo...  error            2  logging    stable     1  yes      @LOST
mysql      5.7.13           maintenance    1/2  mysql      stable     1  yes      @INSTALLING
wordpress  4.5.3            active           1  wordpress  stable     3  yes      _

Unit          Workload     Agent  Machine  Public address  Ports  Message
mysql/0*      maintenance  idle   2        10.0.2.1               installing all the things
  logging/1*  error        idle            10.0.2.1               somehow lost in all those logs
mysql/1       terminated   idle   1        10.0.1.1               gooooone
wordpress/0*  active       idle   1        10.0.1.1               _
  logging/0   active       idle            10.0.1.1               _

Machine  State    Address   Inst id       Base          AZ          Message
0        started  10.0.0.1  controller-0  ubuntu@12.10  us-east-1a  _
1        started  10.0.1.1  snowflake     ubuntu@12.10              _
2        started  10.0.2.1  controller-2  ubuntu@12.10              _
3        started  10.0.3.1  controller-3  ubuntu@12.10              I am number three
4        error    10.0.3.1  controller-4  ubuntu@12.10              I am an error

Offer         Application  Charm  Rev  Connected  Endpoint  Interface  Role
hosted-mysql  mysql        mysql  1    1/1        server    mysql      provider

Integration provider   Requirer                   Interface  Type         Message
mysql:juju-info        logging:info               juju-info  subordinate  _
mysql:server           wordpress:db               mysql      regular      suspended  _
wordpress:logging-dir  logging:logging-directory  logging    subordinate  _
""".replace("  _\n", "  \n")
JUJU_EXPECTED_TABULAR = (
    JUJU_EXPECTED_TABULAR.replace("@NOTES", "upgrade available: 1.2.4")
    .replace("@LOST", "somehow lost in all those logs")
    .replace("@INSTALLING", "installing all the things")
)


def juju_test_model() -> f.StatusDocument:
    def unit(
        w: str,
        wm: str,
        a: str,
        machine: str,
        addr: str,
        leader: bool = False,
        subs: dict[str, f.Unit] | None = None,
    ) -> f.Unit:
        return f.Unit(
            workload_status=S(w, wm),
            juju_status=S(a),
            leader=leader,
            machine=machine,
            public_address=addr,
            subordinates=subs or {},
        )

    def machine(i: int, **kw: Any) -> f.Machine:
        ip = "10.0.3.1" if i == 4 else f"10.0.{i}.1"
        kw.setdefault("instance_id", f"controller-{i}")
        return f.Machine(
            juju_status=S("started"), dns_name=ip, base=f.Base("ubuntu", "12.10"), **kw
        )

    ep = f.RelationEndpoint
    logging1 = unit("error", "somehow lost in all those logs", "idle", "", "10.0.2.1", True)
    return f.StatusDocument(
        model=f.ModelInfo(
            name="controller",
            controller="kontroll",
            cloud="dummy",
            region="dummy-region",
            version="1.2.3",
            upgrade_available="1.2.4",
        ),
        controller_timestamp="15:04:05+07:00",
        remote_applications={
            "hosted-riak": f.RemoteApplication(url="me/model.riak", status=S("unknown"))
        },
        applications={
            "logging": f.Application(
                charm_url="ch:logging-1",
                charm_channel="stable",
                exposed=True,
                status=S("error", "somehow lost in all those logs"),
                version="a bit too long, really",
                subordinate_to=["mysql", "wordpress"],
            ),
            "mysql": f.Application(
                charm_url="ch:mysql-1",
                charm_channel="stable",
                exposed=True,
                status=S("maintenance", "installing all the things"),
                version="5.7.13\nanother",
                units={
                    "mysql/0": unit(
                        "maintenance",
                        "installing all the things",
                        "idle",
                        "2",
                        "10.0.2.1",
                        True,
                        {"logging/1": logging1},
                    ),
                    "mysql/1": unit("terminated", "gooooone", "idle", "1", "10.0.1.1"),
                },
            ),
            "wordpress": f.Application(
                charm_url="ch:wordpress-3",
                charm_channel="stable",
                exposed=True,
                status=S("active"),
                version="4.5.3",
                units={
                    "wordpress/0": unit(
                        "active",
                        "",
                        "idle",
                        "1",
                        "10.0.1.1",
                        True,
                        {"logging/0": unit("active", "", "idle", "", "10.0.1.1")},
                    )
                },
            ),
        },
        machines={
            "0": machine(0, hardware="availability-zone=us-east-1a"),
            "1": machine(1, display_name="snowflake"),
            "2": machine(2),
            "3": machine(3, machine_status=S("running", "I am number three")),
            "4": machine(
                4,
                machine_status=S("running", "I am number four"),
                modification_status=S("error", "I am an error"),
            ),
        },
        offers={
            "hosted-mysql": f.Offer(
                application="mysql",
                charm_url="ch:mysql-1",
                total_connected_count=1,
                active_connected_count=1,
                endpoints={"server": f.RemoteEndpoint("mysql", "provider")},
            )
        },
        relations=[
            f.Relation(
                1,
                "mysql",
                [ep("wordpress", "db", "requirer"), ep("mysql", "server", "provider")],
                status="suspended",
            ),
            f.Relation(
                2,
                "logging",
                [
                    ep("wordpress", "logging-dir", "provider"),
                    ep("logging", "logging-directory", "requirer"),
                ],
                scope="container",
            ),
            f.Relation(
                3,
                "juju-info",
                [ep("mysql", "juju-info", "provider"), ep("logging", "info", "requirer")],
                scope="container",
            ),
        ],
    )


def test_status_tabular_matches_juju_expectation() -> None:
    assert f.status_tabular(juju_test_model(), relations=True) == JUJU_EXPECTED_TABULAR


def _bare(units: dict[str, f.Unit], model_type: str = "iaas") -> f.StatusDocument:
    return f.StatusDocument(
        model=f.ModelInfo(name="", controller="", cloud="", version="", type=model_type, sla=""),
        applications={"foo": f.Application(charm_url="", scale=1, units=units)},
    )


def test_status_tabular_hook_and_action_names() -> None:
    # cmd/juju/status/status_internal_test.go TestFormatTabularHookActionName
    units = {
        "foo/0": f.Unit(
            juju_status=S("executing", "running config-changed hook"),
            workload_status=S("maintenance", "doing some work"),
        ),
        "foo/1": f.Unit(
            juju_status=S("executing", "running action backup database"),
            workload_status=S("maintenance", "doing some work"),
        ),
    }
    doc = _bare(units)
    expected = (
        "Model  Controller  Cloud/Region  Version\n"
        "                                 \n"
        "\n"
        "App  Version  Status  Scale  Charm  Channel  Rev  Exposed  Message\n"
        "foo                       2                    0  no       \n"
        "\n"
        "Unit   Workload     Agent      Machine  Public address  Ports  Message\n"
        "foo/0  maintenance  executing                                  "
        "(config-changed) doing some work\n"
        "foo/1  maintenance  executing                                  "
        "(backup database) doing some work\n"
    )
    assert f.status_tabular(doc) == expected


@pytest.mark.parametrize(
    "ports,expected",
    [
        (["80/TCP"], "80/TCP"),
        (["1555/TCP", "123/UDP", "ICMP", "80/TCP"], "80,1555/TCP 123/UDP ICMP"),
        (["1557/TCP", "1555/TCP", "80/TCP", "ICMP", "1556/TCP"], "80,1555-1557/TCP ICMP"),
        (
            ["1557/TCP", "1555/TCP", "1558/TCP", "1559/TCP", "80/TCP", "1556/TCP"],
            "80,1555-1559/TCP",
        ),
        (["2379/tcp", "2380/tcp"], "2379-2380/tcp"),
        (["8000-8080/tcp"], "8000-8080/tcp"),
    ],
)
def test_status_tabular_ports(ports: list[str], expected: str) -> None:
    # the port cases of status_internal_test.go TestFormatTabularManyPorts*
    doc = _bare({"foo/0": f.Unit(open_ports=ports)})
    unit_line = f.status_tabular(doc).splitlines()[-1]
    assert unit_line.startswith("foo/0  ")
    assert unit_line.endswith(f"  {expected}  ")  # the Ports cell, padded; no message
    assert unit_line.split("  ")[0] == "foo/0" and unit_line.strip().endswith(expected)


def test_empty_model() -> None:
    doc = f.StatusDocument(
        model=f.ModelInfo(name="test", controller="localjuju", cloud="localhost", version="3.6.1"),
        controller_timestamp="16:19:05Z",
    )
    assert f.status_tabular(doc) == (
        "Model  Controller  Cloud/Region  Version  SLA          Timestamp\n"
        "test   localjuju   localhost     3.6.1    unsupported  16:19:05Z\n"
    )
    data = json.loads(f.status_json(doc))
    assert data["machines"] == {} and data["applications"] == {}
    assert Status._from_dict(data).apps == {}
    assert f.empty_model_message("admin/test") == '\nModel "admin/test" is empty.\n'


def test_tabwriter_semantics() -> None:
    tw = TabWriter()
    w = Wrapper(tw)
    w.println("a", "bbb", "c")
    w.println("aaaa", "b", "")
    tw.set_column_align_right(1)
    w.println()  # single-cell line: flushes and forgets the alignment
    w.println("x", "1", "end")
    w.println("xx", "22", "end")
    tw.flush()
    # the alignment set before the flushing line still applies to the lines buffered so far
    assert tw.getvalue() == "a     bbb  c\naaaa    b  \n\nx   1   end\nxx  22  end\n"
    assert natural_sorted(["etcd/10", "etcd/2", "etcd/1", "a"]) == [
        "a",
        "etcd/1",
        "etcd/2",
        "etcd/10",
    ]


def test_go_yaml_scalars() -> None:
    assert go_yaml({"a": ["", "yes", "y", "1", "1.5", "08", "2024-01-02", "1:20", "x: y"]}) == (
        'a:\n- ""\n- "yes"\n- "y"\n- "1"\n- "1.5"\n- 08\n- "2024-01-02"\n- "1:20"\n' "- 'x: y'\n"
    )
    assert go_yaml({"m": "two\nlines"}) == "m: |-\n  two\n  lines\n"
    assert go_yaml({"e": {}, "l": [], "n": None, "t": "tab\there"}) == (
        'e: {}\nl: []\n"n": null\nt: "tab\\there"\n'  # "n" is a YAML 1.1 bool
    )
    # go-yaml sorts digits numerically inside keys
    assert go_yaml({"etcd/10": 1, "etcd/9": 2}) == "etcd/9: 2\netcd/10: 1\n"


# -- run / exec ----------------------------------------------------------------------------


def _action(**kw: Any) -> t.Task:
    base: dict[str, Any] = dict(
        id="2",
        receiver="etcd/0",
        status="completed",
        results={"return-code": 0, "result": "ok"},
        enqueued=T0,
        started=T0 + datetime.timedelta(seconds=1),
        completed=T0 + datetime.timedelta(seconds=2, microseconds=250000),
    )
    base.update(kw)
    return t.Task(**base)


def test_run_json_completed_through_jubilant() -> None:
    task = _action(
        results={
            "return-code": 0,
            "stdout": "hello\n",
            "result": "ok",
            "nested": {"key": "value"},
        },
        log=[(T0, "starting"), (T0 + datetime.timedelta(milliseconds=5), "done")],
    )
    out = t.run_output("1", [task], format="json", utc=True)
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert list(data) == ["etcd/0"]
    d = data["etcd/0"]
    assert list(d) == ["id", "log", "results", "status", "timing", "unit"]
    assert d["timing"] == {
        "completed": "2025-11-21 16:19:07.25 +0000 UTC",
        "enqueued": "2025-11-21 16:19:05 +0000 UTC",
        "started": "2025-11-21 16:19:06 +0000 UTC",
    }
    assert d["log"] == [
        "2025-11-21 16:19:05 +0000 UTC starting",
        "2025-11-21 16:19:05.005 +0000 UTC done",
    ]
    assert out.stderr == (
        "Running operation 1 with 1 task\n"
        "  - task 2 on unit-etcd-0\n"
        "\n"
        "Waiting for task 2...\n"
        "16:19:05 starting\n"
        "16:19:05 done\n"
        "\n"
    )
    jt = JubilantTask._from_dict(d)
    assert jt.success and jt.status == "completed" and jt.return_code == 0
    assert jt.results == {"result": "ok", "nested": {"key": "value"}}
    assert jt.stdout == "hello\n" and jt.log == d["log"]


def test_run_failures() -> None:
    # action-fail: status failed, return code 0, the CLI itself succeeds
    failed = _action(status="failed", message="no leader yet")
    out = t.run_output("1", [failed], format="json")
    assert out.exit_code == 0 and "task failed" not in out.stderr
    jt = JubilantTask._from_dict(json.loads(out.stdout)["etcd/0"])
    assert not jt.success and jt.message == "no leader yet"
    with pytest.raises(jubilant.TaskError):
        jt.raise_on_failure()

    # uncaught exception: exit status 1
    crashed = _action(
        status="failed",
        message="exit status 1",
        results={"return-code": 1, "stderr": "Traceback ...\n"},
    )
    out = t.run_output("1", [crashed], format="json")
    assert out.exit_code == 1
    assert out.stderr.endswith(
        "ERROR the following task failed:\n"
        ' - id "2" with return code 1\n'
        "\n"
        "use 'juju show-task' to inspect the failure\n"
        "\n"
    )
    jt = JubilantTask._from_dict(json.loads(out.stdout)["etcd/0"])
    assert jt.return_code == 1 and jt.stderr == "Traceback ...\n"

    # --wait expired
    out = t.run_output("1", [_action(status="running", results=None)], timed_out=[_action()])
    assert out.stdout == "" and out.exit_code == 1
    assert out.stderr.endswith("ERROR timed out waiting for results from: unit etcd/0\n")


def test_run_plain() -> None:
    task = _action(results={"return-code": 0, "stdout": "hello", "stderr": "world", "a": "b"})
    assert t.run_plain([task]) == "a: b\n\nhello\nworld\n"
    failed = _action(status="failed", message="boom", results={"return-code": 0})
    assert t.run_plain([failed]) == "Action id 2 failed: boom\n\n"
    assert t.run_plain([_action(results=None)]) == "Task 2 completed\n\n"


def test_exec_json_and_plain() -> None:
    ok = _action(id="4", results={"return-code": 0, "stdout": "etcd 3.5.16\n"})
    out = t.exec_output([ok], format="json")
    assert (out.stderr, out.exit_code) == ("", 0)
    jt = JubilantTask._from_dict(json.loads(out.stdout)["etcd/0"])
    assert jt.success and jt.stdout == "etcd 3.5.16\n"

    bad = _action(id="6", results={"return-code": 3, "stderr": "nope"})
    out = t.exec_output([bad], format="json")
    assert out.exit_code == 1 and "task failed" in out.stderr
    jt = JubilantTask._from_dict(json.loads(out.stdout)["etcd/0"])
    assert jt.status == "completed" and jt.return_code == 3 and not jt.success

    machine = t.Task(
        id="8",
        receiver="0",
        kind="machine",
        status="completed",
        results={"return-code": 0, "stdout": "x"},
    )
    assert json.loads(t.tasks_json([machine]))["0"]["machine"] == "0"
    assert t.exec_output([ok]).stdout == "etcd 3.5.16\n"
    assert t.exec_plain([ok, machine]) == "0:\nx\n\netcd/0:\netcd 3.5.16\n\n"


# -- other commands --------------------------------------------------------------------------


def test_show_unit_through_jubilant() -> None:
    unit = f.UnitDetails(
        name="etcd/0",
        charm="local:etcd-0",
        leader=True,
        workload_version="3.5.16",
        machine="1",
        opened_ports=["2379/tcp"],
        public_address="10.0.0.11",
        relations=[
            f.EndpointRelationData(
                relation_id=0,
                endpoint="cluster",
                related_endpoint="cluster",
                application_data={},
                unit_data={
                    "etcd/0": f.UnitRelationData(True, {"ingress-address": "10.0.0.11"}),
                    "etcd/1": f.UnitRelationData(True, {"ingress-address": "10.0.0.12"}),
                    "etcd/2": f.UnitRelationData(False),
                },
            )
        ],
    )
    data = json.loads(f.show_unit_json([unit]))
    info = JubilantUnitInfo._from_dict(data["etcd/0"])
    assert info.leader and info.charm == "local:etcd-0" and info.opened_ports == ["2379/tcp"]
    rel = info.relation_info[0]
    assert rel.local_unit is not None and rel.local_unit.data["ingress-address"] == "10.0.0.11"
    assert list(rel.related_units) == ["etcd/1", "etcd/2"]
    assert rel.related_units["etcd/2"].in_scope is False
    assert list(data["etcd/0"]) == [
        "workload-version",
        "machine",
        "opened-ports",
        "public-address",
        "charm",
        "leader",
        "life",
        "relation-info",
    ]
    assert yaml.safe_load(f.show_unit_yaml([unit]))["etcd/0"]["life"] == "alive"


def test_model_commands_through_jubilant() -> None:
    details = f.ModelDetails(
        short_name="test",
        uuid="5f1c0c3e-0000-4000-8000-000000000001",
        controller_uuid="5f1c0c3e-0000-4000-8000-000000000000",
        controller_name="localjuju",
        region="localhost",
        provider_type="lxd",
        status=f.ModelStatus(current="available", since="just now"),
        users={"admin": f.ModelUser("admin", "just now", "admin")},
        machines={"0": 0},
        agent_version="3.6.1",
        credential=f.ModelCredential("localhost", "admin", "localhost", "valid"),
    )
    data = json.loads(f.show_model_json(details))
    info = JubilantModelInfo._from_dict(next(iter(data.values())))
    assert info.name == "admin/test" and info.short_name == "test"
    assert info.status.current == "available" and info.agent_version == "3.6.1"
    assert info.credential is not None and info.credential.validity_check == "valid"
    assert info.machines["0"].cores == 0

    cfg = {"name": ("test", "model"), "update-status-hook-interval": ("5m", "default")}
    data = json.loads(f.model_config_json(cfg))
    assert data == {"update-status-hook-interval": {"Value": "5m", "Source": "default"}}
    assert (
        f.model_config_yaml(cfg)
        == "update-status-hook-interval:\n  value: 5m\n  source: default\n"
    )
    assert f.model_config_tabular(cfg) == (
        "Attribute                    From     Value\nupdate-status-hook-interval  default  5m\n"
    )
    summary = f.ModelSummary(
        short_name="test",
        uuid=details.uuid,
        controller_uuid=details.controller_uuid,
        controller_name="localjuju",
        agent_version="3.6.1",
    )
    models = json.loads(f.models_json([summary], current_model="test"))
    assert models["current-model"] == "test" and models["models"][0]["name"] == "admin/test"


def test_config_and_version_and_debug_log() -> None:
    out = f.app_config_value(
        "etcd",
        "etcd",
        {
            "port": f.ConfigOption("int", "Client port", 2379),
            "channel": f.ConfigOption("string", "Snap channel", "3.5/stable"),
            "extra": f.ConfigOption("string", "No default"),
        },
        {"port": 2379, "channel": "3.4/stable"},
    )
    settings = out["settings"]
    assert settings["port"] == {
        "default": 2379,
        "description": "Client port",
        "source": "default",
        "type": "int",
        "value": 2379,
    }
    assert settings["channel"]["source"] == "user" and settings["channel"]["value"] == "3.4/stable"
    assert "value" not in settings["extra"] and settings["extra"]["source"] == "unset"
    assert out["application-config"]["trust"]["value"] is False
    text = f.app_config_json("etcd", "etcd", {"port": f.ConfigOption("int", "p", 2379)}, {})
    assert text.startswith('{"application":"etcd","application-config":{"trust":')

    detail = f.VersionDetail("3.6.1-ubuntu-amd64", git_commit="abc", git_tree_state="clean")
    v = jubilant._version.Version._from_dict(json.loads(f.version_json(detail)))
    assert v.tuple == (3, 6, 1) and v.release == "ubuntu" and v.git_commit == "abc"

    line = f.debug_log_line(
        "unit-etcd-0", T0, "INFO", "unit.etcd/0.juju-log", "cluster:0: joined", utc=True
    )
    assert line == "unit-etcd-0: 16:19:05 INFO unit.etcd/0.juju-log cluster:0: joined\n"


# -- end to end: jubilant driving a CLI that prints these formats ---------------------------


def _fake_cli(tmp_path: pathlib.Path, stdout: str, stderr: str, code: int) -> str:
    (tmp_path / "out").write_text(stdout)
    (tmp_path / "err").write_text(stderr)
    script = tmp_path / "juju"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        f"d = pathlib.Path({str(tmp_path)!r})\n"
        "sys.stdout.write((d / 'out').read_text())\n"
        "sys.stderr.write((d / 'err').read_text())\n"
        f"sys.exit({code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_jubilant_run_and_exec_end_to_end(tmp_path: pathlib.Path) -> None:
    crashed = _action(status="failed", message="exit status 1", results={"return-code": 1})
    out = t.run_output("1", [crashed], format="json")
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, out.stdout, out.stderr, out.exit_code))
    with pytest.raises(jubilant.TaskError) as exc:
        juju.run("etcd/0", "health")
    assert exc.value.task.message == "exit status 1" and exc.value.task.return_code == 1

    ok = _action(results={"return-code": 0, "result": "ok"})
    out = t.run_output("1", [ok], format="json")
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, out.stdout, out.stderr, out.exit_code))
    assert juju.run("etcd/leader", "health").results == {"result": "ok"}

    timed = t.run_output("1", [ok], format="json", timed_out=[ok])
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, timed.stdout, timed.stderr, 1))
    with pytest.raises(TimeoutError):
        juju.run("etcd/0", "health", wait=1)

    bad = _action(results={"return-code": 2, "stdout": "x"})
    out = t.exec_output([bad], format="json")
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, out.stdout, out.stderr, out.exit_code))
    with pytest.raises(jubilant.TaskError):
        juju.exec("false", unit="etcd/0")

    status = f.status_json(etcd_model())
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, status, "", 0))
    assert jubilant.any_error(juju.status())

    cfg = f.model_config_json({"update-status-hook-interval": ("5m", "default")})
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, cfg, "", 0))
    assert juju.model_config() == {"update-status-hook-interval": "5m"}

    app_cfg = f.app_config_json("etcd", "etcd", {"port": f.ConfigOption("int", "p", 2379)}, {})
    juju = jubilant.Juju(cli_binary=_fake_cli(tmp_path, app_cfg, "", 0))
    assert juju.config("etcd") == {"port": 2379}
    assert juju.config("etcd", app_config=True) == {"trust": False}

"""Conformance of the local model to Juju 3, with the hooklog test charm and jubilant.

Every assertion reads what really happened on the machines (the charm's own hook log, relation
data, statuses) rather than what the model says it did.
"""

from __future__ import annotations

import json
from typing import Any

import jubilant
import pytest

from .conftest import HOOKLOG

pytestmark = pytest.mark.integration


def hook_log(juju: jubilant.Juju, unit: str) -> list[dict[str, Any]]:
    task = juju.exec("cat /var/lib/hooklog/hooks.log", unit=unit)
    return [json.loads(line) for line in task.stdout.splitlines() if line.strip()]


def hooks(juju: jubilant.Juju, unit: str) -> list[str]:
    return [e["hook"] for e in hook_log(juju, unit)]


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    juju.deploy(HOOKLOG, "hooklog", num_units=3)
    juju.wait(jubilant.all_active, timeout=120)
    return juju


def test_install_sequence(deployed: jubilant.Juju) -> None:
    juju = deployed
    status = juju.status()
    units = status.apps["hooklog"].units
    leaders = [name for name, u in units.items() if u.leader]
    assert len(leaders) == 1
    for name in units:
        seq = hooks(juju, name)
        first = "leader-elected" if name == leaders[0] else "leader-settings-changed"
        # A leader-set by the leader may add leader-settings-changed hooks in between (the
        # leadership resolver comes before config-changed), but nothing else may.
        head = seq[:3] + [h for h in seq[3:7] if h != "leader-settings-changed"]
        assert head[:5] == ["install", "peers-relation-created", first, "config-changed", "start"]
        log = hook_log(juju, name)
        created = log[1]
        assert created["env"]["JUJU_REMOTE_UNIT"] == ""
        assert created["env"]["JUJU_REMOTE_APP"] == "hooklog"
        assert created["env"]["JUJU_RELATION_ID"].startswith("peers:")
        assert created["cwd"] == created["env"]["JUJU_CHARM_DIR"]
        assert "JUJU_DEPARTING_UNIT" not in created["env"]
        assert "HOME" not in created["env_keys"]
        # Every peer joined, then changed immediately after (per relation).
        joined = [e for e in log if e["hook"] == "peers-relation-joined"]
        assert sorted(e["env"]["JUJU_REMOTE_UNIT"] for e in joined) == sorted(
            u for u in units if u != name
        )
        for e in joined:
            i = log.index(e)
            nxt = [x for x in log[i + 1 :] if x["hook"].startswith("peers-relation-")][0]
            assert nxt["hook"] == "peers-relation-changed"
            assert nxt["env"]["JUJU_REMOTE_UNIT"] == e["env"]["JUJU_REMOTE_UNIT"]
        # install set the version and opened the port: committed on success.
        assert units[name].open_ports == ["8080/tcp"]
    assert status.apps["hooklog"].version == "1.2.3"


def test_actions(deployed: jubilant.Juju) -> None:
    juju = deployed
    task = juju.run("hooklog/0", "echo", {"text": "hello there"})
    assert task.results == {"text": "hello there", "unit": "hooklog/0"}
    assert task.stdout == "echo stdout line\n"
    assert task.return_code == 0
    with pytest.raises(jubilant.TaskError) as exc:
        juju.run("hooklog/leader", "fail", {"message": "no good"})
    assert exc.value.task.status == "failed"
    assert exc.value.task.message == "no good"
    task = juju.run("hooklog/1", "log-progress")
    assert [line.split(" ", 1)[1] for line in task.log] == [
        "step 1 of 3",
        "step 2 of 3",
        "step 3 of 3",
    ]
    with pytest.raises(jubilant.CLIError):
        juju.run("hooklog/1", "echo", {"text": 5})  # schema: text must be a string


def test_exec_and_tool_permissions(deployed: jubilant.Juju) -> None:
    juju = deployed
    leader = next(n for n, u in juju.status().apps["hooklog"].units.items() if u.leader)
    other = next(n for n in juju.status().apps["hooklog"].units if n != leader)
    task = juju.exec("is-leader --format=json; echo $JUJU_UNIT_NAME", unit=other)
    assert task.stdout.split() == ["false", other]
    with pytest.raises(jubilant.TaskError) as exc:
        juju.exec("leader-set a=b", unit=other)
    assert "cannot write leadership settings" in exc.value.task.stderr
    rid = juju.exec("relation-ids peers", unit=other).stdout.strip()
    with pytest.raises(jubilant.TaskError) as exc:
        juju.exec(f"relation-set -r {rid} --app x=y", unit=other)
    assert "ERROR cannot write relation settings" in exc.value.task.stderr
    # A peer may read its own application's bucket.
    juju.exec(f"relation-get -r {rid} --app - hooklog", unit=other)
    # output of any shape comes back whole: one 300 000-byte line, then a short one
    task = juju.exec("head -c 300000 /dev/zero | tr '\\0' x; echo; echo end", unit=other)
    assert task.stdout == "x" * 300000 + "\nend\n"


def test_network_get_and_status_give_the_mac_address_eth0_has(deployed: jubilant.Juju) -> None:
    """The MAC address network-get and status give (no ``ip`` process of the controller's
    any more) is the one the machine's kernel has on eth0."""
    juju = deployed
    unit = sorted(juju.status().apps["hooklog"].units)[0]
    kernel = juju.exec("cat /sys/class/net/eth0/address", unit=unit).stdout.strip()
    info = json.loads(juju.exec("network-get peers --format=json", unit=unit).stdout)
    assert [a["mac-address"] for a in info["bind-addresses"]] == [kernel]
    machine = juju.status().apps["hooklog"].units[unit].machine
    nics = juju.status().machines[machine].network_interfaces
    assert nics["eth0"].mac_address == kernel


def test_commit_on_success_only_and_retry(deployed: jubilant.Juju) -> None:
    juju = deployed
    juju.model_config({"automatically-retry-hooks": True})
    juju.config("hooklog", {"fail-hooks": "config-changed", "message": "second"})
    cfg = juju.config("hooklog")
    assert (cfg["fail-hooks"], cfg["message"], cfg["count"]) == ("config-changed", "second", 1)
    status = juju.wait(
        lambda s: all(
            u.workload_status.current == "error" for u in s.apps["hooklog"].units.values()
        ),
        timeout=60,
    )
    unit = status.apps["hooklog"].units["hooklog/0"]
    assert unit.workload_status.message == 'hook failed: "config-changed"'
    # The failing hook wrote peer relation data before exiting 1: nothing was committed.
    for name in status.apps["hooklog"].units:
        info = juju.cli("show-unit", name, "--format", "json")
        data = json.loads(info)[name]
        for rel in data["relation-info"]:
            for peer in rel.get("related-units", {}).values():
                assert "uncommitted" not in peer["data"]
            assert "uncommitted" not in rel["local-unit"]["data"]
    # Fixing the config lets the retry (Juju's back-off, 5 s first) succeed.
    juju.config("hooklog", {"fail-hooks": ""})
    juju.wait(jubilant.all_active, timeout=120)
    after = hooks(juju, "hooklog/0")
    assert after.count("config-changed") >= 3


def test_integrate_and_remove_relation(deployed: jubilant.Juju) -> None:
    juju = deployed
    juju.deploy(HOOKLOG, "other")
    juju.wait(jubilant.all_active, timeout=120)
    juju.integrate("hooklog:db", "other:client")
    juju.wait(
        lambda s: hooks(juju, "other/0").count("client-relation-changed") >= 3,
        timeout=120,
    )
    log = hook_log(juju, "other/0")
    rel_hooks = [e for e in log if e["hook"].startswith("client-relation-")]
    assert rel_hooks[0]["hook"] == "client-relation-created"
    joined = [e["env"]["JUJU_REMOTE_UNIT"] for e in rel_hooks if e["hook"].endswith("joined")]
    assert sorted(joined) == ["hooklog/0", "hooklog/1", "hooklog/2"]

    # Relation data: each hooklog unit wrote joined-other-0 in its db-relation-joined for
    # other/0, and other/0 saw it in a relation-changed for that unit.
    def seen(_: jubilant.Status) -> bool:
        changed = [e for e in hook_log(juju, "other/0") if e["hook"] == "client-relation-changed"]
        got = {
            e["env"]["JUJU_REMOTE_UNIT"] for e in changed if "joined-other-0" in e["remote_data"]
        }
        return got == {"hooklog/0", "hooklog/1", "hooklog/2"}

    juju.wait(seen, timeout=60)
    juju.remove_relation("hooklog:db", "other:client")
    juju.wait(
        lambda s: "client-relation-broken" in hooks(juju, "other/0"),
        timeout=60,
    )
    seq = [h for h in hooks(juju, "other/0") if h.startswith("client-relation-")]
    assert seq[-1] == "client-relation-broken"
    assert seq[-4:-1] == ["client-relation-departed"] * 3
    # relation-ids lists the dying relation while it has members, the last departed included
    # (membership as committed when the context was made); in broken it is gone.
    log = hook_log(juju, "other/0")
    departs = [e for e in log if e["hook"] == "client-relation-departed"]
    assert all(e["env"]["JUJU_RELATION_ID"] in e["relation_ids"] for e in departs)
    assert departs[-1]["relation_list"] == []
    broken = [e for e in log if e["hook"] == "client-relation-broken"][-1]
    assert broken["env"]["JUJU_RELATION_ID"] not in (broken["relation_ids"] or [])
    assert (
        broken["env"]["JUJU_REMOTE_UNIT"] == "" and broken["env"]["JUJU_REMOTE_APP"] == "hooklog"
    )
    juju.remove_application("other")
    juju.wait(lambda s: "other" not in s.apps, timeout=60)


def test_remove_leader_elects_another(deployed: jubilant.Juju) -> None:
    juju = deployed
    status = juju.status()
    leader = next(n for n, u in status.apps["hooklog"].units.items() if u.leader)
    juju.remove_unit(leader)
    status = juju.wait(
        lambda s: leader not in s.apps["hooklog"].units
        and any(u.leader for u in s.apps["hooklog"].units.values()),
        timeout=60,
    )
    new_leader = next(n for n, u in status.apps["hooklog"].units.items() if u.leader)
    assert new_leader != leader
    log = hook_log(juju, new_leader)
    assert "leader-elected" in [e["hook"] for e in log]
    departed = [e for e in log if e["hook"] == "peers-relation-departed"]
    assert departed[-1]["env"]["JUJU_REMOTE_UNIT"] == leader
    assert departed[-1]["env"]["JUJU_DEPARTING_UNIT"] == leader
    assert leader not in departed[-1]["relation_list"]


def test_update_status_interval(deployed: jubilant.Juju) -> None:
    juju = deployed
    unit = next(iter(juju.status().apps["hooklog"].units))
    before = hooks(juju, unit).count("update-status")
    juju.model_config({"update-status-hook-interval": "2s"})
    assert juju.model_config()["update-status-hook-interval"] == "2s"
    juju.wait(lambda s: hooks(juju, unit).count("update-status") >= before + 2, timeout=60)
    juju.model_config({"update-status-hook-interval": "5m"})


def test_kill_and_start_machine(deployed: jubilant.Juju) -> None:
    juju = deployed
    status = juju.status()
    unit = next(iter(status.apps["hooklog"].units))
    machine = status.apps["hooklog"].units[unit].machine
    juju.cli("kill-machine", machine)
    status = juju.wait(
        lambda s: s.apps["hooklog"].units[unit].juju_status.current == "lost", timeout=30
    )
    assert status.machines[machine].juju_status.current == "down"
    juju.cli("start-machine", machine)
    juju.wait(jubilant.all_active, timeout=60)
    # The machine's disk survived: its hook log is still there.
    assert hooks(juju, unit)[0] == "install"


def test_easyrsa_publishes_ca_to_clients(deployed: jubilant.Juju) -> None:
    juju = deployed
    juju.deploy("easyrsa")
    juju.integrate("hooklog:certificates", "easyrsa:client")
    unit = sorted(juju.status().apps["hooklog"].units)[0]

    def got_ca(_: jubilant.Status) -> bool:
        return any(
            e["hook"] == "certificates-relation-changed"
            and (e.get("remote_data") or {}).get("ca", "").startswith("-----BEGIN CERTIFICATE")
            for e in hook_log(juju, unit)
        )

    juju.wait(lambda s: got_ca(s) and jubilant.all_active(s), timeout=120)
    rid = juju.exec("relation-ids certificates", unit=unit).stdout.strip()
    ca = juju.exec(f"relation-get -r {rid} ca easyrsa/0", unit=unit).stdout
    # A real CA: it parses, it is a CA certificate, and it signed itself.
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(ca.encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == cert.subject

"""The etcd charm on a model: a 3-unit and a 1-unit TLS cluster with easyrsa, a client on
``db``, scaling to 5, removing the Juju leader, a port change and invalid config.

The tests of this module share one model and run in order; each asserts on etcd's own state
(member list, endpoint status, keys), not only on status messages.
"""

from __future__ import annotations

import base64
import json
import lzma
import shlex
import time
import urllib.request
from pathlib import Path

import jsonschema
import jubilant
import pytest

from .conftest import (
    ROOT,
    all_healthy,
    etcd_starts,
    etcd_units,
    etcdctl,
    member_list,
    packed,
    run,
    unit_addresses,
)
from .dashboard_plot import plot
from .prometheus import prometheus
from .writes import continuous_writes, note

pytestmark = pytest.mark.integration

APP = "etcd"
SOLO = "etcd-solo"
CLIENT = "etcd-client"
LMA = "prometheus"  # the stand-in for prometheus2 and grafana; the datasource's name
COS = "cos-agent"  # the stand-in for grafana-agent / opentelemetry-collector (a subordinate)
COS_SCHEMA = json.loads(
    (ROOT / "unit_tests" / "data" / "schemas" / "cos_agent_v0_provider.json").read_text()
)


IDLE_RECORD = (
    "import json, sqlite3, sys\n"
    "row = sqlite3.connect(sys.argv[1]).execute(\n"
    "    \"select data from kv where key = 'etcd.idle-inputs'\").fetchone()\n"
    "print(json.dumps(json.loads(row[0]) if row else None))\n"
)


def idle_record(juju: jubilant.Juju, unit: str) -> str | None:
    """The unit's idle.py record (unit storage ``etcd.idle-inputs``), None when absent."""
    db = f"/var/lib/juju/agents/unit-{unit.replace('/', '-')}/charm/.unit-state.db"
    # juju exec runs its arguments as one shell command line
    return json.loads(juju.exec(shlex.join(["python3", "-c", IDLE_RECORD, db]), unit=unit).stdout)


def run_idle_hook(juju: jubilant.Juju, unit: str, hook: str) -> str:
    """Runs the charm's ``hook`` on ``unit`` in a ``juju exec`` context (Juju's hook tools,
    JUJU_HOOK_NAME set as for that hook); returns what the unit logged at DEBUG meanwhile."""
    before = juju.cli("debug-log", "--replay", "--no-tail", "--include", unit, "--level", "DEBUG")
    juju.exec(f'cd "$JUJU_CHARM_DIR" && JUJU_HOOK_NAME={hook} hooks/{hook}', unit=unit)
    after = juju.cli("debug-log", "--replay", "--no-tail", "--include", unit, "--level", "DEBUG")
    return after[len(before) :] if after.startswith(before) else after


def check_idle_records(juju: jubilant.Juju, mode: str, hook: str, why: str) -> None:
    """idle.py on APP's units: the leader keeps no record (it reconciles every hook); each
    other unit's last full reconcile recorded ``mode``, and a ``hook`` with nothing new ends
    before the framework loads, saying ``why``."""
    # no hook running or due on APP's units: each record is its last full reconcile's
    status = juju.wait(
        lambda s: all(u.juju_status.current == "idle" for u in s.apps[APP].units.values()),
        error=jubilant.any_error,
        timeout=300,
    )
    units = status.apps[APP].units
    for name, unit in sorted(units.items()):
        record = idle_record(juju, name)
        if unit.leader:
            assert record is None, (name, record)
        else:
            assert record is not None and record.startswith(f"{mode}:"), (name, record)
    follower = min(n for n, u in units.items() if not u.leader)
    logged = run_idle_hook(juju, follower, hook)
    assert f"{hook} (): {why}; the framework was not loaded" in logged, logged
    assert "Reactive main running" not in logged, logged


def test_deploy(juju: jubilant.Juju, etcd_charm: str) -> None:
    start = time.monotonic()
    juju.deploy("easyrsa")
    juju.deploy(etcd_charm, APP, num_units=3)
    juju.deploy(etcd_charm, SOLO)
    juju.integrate(f"{SOLO}:certificates", "easyrsa:client")
    # APP's units wait for a CA first: what idle.py records and skips while they wait
    juju.wait(
        lambda s: len(s.apps[APP].units) == 3
        and all(u.workload_status.message == "Missing relation to certificate authority."
                and u.juju_status.current == "idle" for u in s.apps[APP].units.values()),
        error=jubilant.any_error,
        timeout=600,
    )  # fmt: skip
    why = "nothing to act on while this unit waits for its certificates"
    check_idle_records(juju, "waiting", "leader-settings-changed", why)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    status = juju.wait(
        lambda s: all_healthy(APP, 3)(s) and all_healthy(SOLO, 1)(s),
        error=jubilant.any_error,
        timeout=600,
    )
    print(f"\ndeploy of easyrsa + 3 etcd + 1 etcd to all healthy: {time.monotonic() - start:.1f}s")
    assert status.apps[APP].version.startswith("3.5.")
    for unit in etcd_units(status).values():
        assert unit.open_ports == ["2379/tcp"]


def test_settled_members_end_hooks_with_nothing_new_at_once(juju: jubilant.Juju) -> None:
    """idle.py: once healthy, each unit but the leader is a settled member (it runs a member
    with its certificates and asks for no restart): a certificates hook with nothing new for
    it (the CA's answer to another unit) ends at once."""
    why = "nothing this unit's member has not seen"
    check_idle_records(juju, "settled", "certificates-relation-changed", why)


def test_member_list_matches_units(juju: jubilant.Juju) -> None:
    status = juju.status()
    addresses = unit_addresses(status)
    expected = {
        name.replace("/", ""): (f"https://{addr}:2380", f"https://{addr}:2379")
        for name, addr in addresses.items()
    }
    cluster_ids = set()
    for unit in addresses:
        members = member_list(juju, unit)
        got = {m["name"]: (m["peerURLs"][0], m["clientURLs"][0]) for m in members}
        assert got == expected
        assert not any(m.get("isLearner") for m in members)
        st = etcdctl(juju, unit, "endpoint status")[0]["Status"]
        assert st["leader"] != 0
        cluster_ids.add(st["header"]["cluster_id"])
    assert len(cluster_ids) == 1, "every unit is in the same cluster"
    solo = member_list(juju, f"{SOLO}/0")
    assert [m["name"] for m in solo] == [f"{SOLO}0"]


def initial_config(juju: jubilant.Juju, unit: str) -> dict[str, str]:
    """The initial-* settings a unit's member started with (its etcd.conf.yml)."""
    text = juju.exec("cat /var/snap/etcd/common/etcd.conf.yml", unit=unit).stdout
    keys = ("initial-cluster", "initial-cluster-state", "initial-cluster-token")
    return {
        k: v.strip().strip("'\"")
        for k, _, v in (line.partition(":") for line in text.splitlines())
        if k in keys
    }


def test_founded_together(juju: jubilant.Juju) -> None:
    """The units of the deploy found the cluster together: one static initial cluster of all
    three, state new, one token (no learner cycle)."""
    addresses = unit_addresses(juju.status())
    expected = ",".join(
        f"{u.replace('/', '')}=https://{addresses[u]}:2380"
        for u in sorted(addresses, key=lambda u: int(u.split("/")[1]))
    )
    configs = [initial_config(juju, unit) for unit in addresses]
    assert {c["initial-cluster-state"] for c in configs} == {"new"}
    assert {c["initial-cluster"] for c in configs} == {expected}
    assert len({c["initial-cluster-token"] for c in configs}) == 1
    log = juju.debug_log(limit=100000)
    names = ", ".join(sorted(u.replace("/", "") for u in addresses))
    assert f"founding the cluster with {names}" in log  # the charm's own log is there ...
    assert " as learner " not in log  # ... and no learner was added to found it


def test_etcd_started_once_per_unit(juju: jubilant.Juju) -> None:
    for unit in [*unit_addresses(juju.status()), f"{SOLO}/0"]:
        assert etcd_starts(juju, unit) == 1, unit


def test_files_and_shell(juju: jubilant.Juju) -> None:
    task = juju.exec(
        "stat -c '%a %n' /var/snap/etcd/common/server.key /var/snap/etcd/common/client.key; "
        "bash -ic 'echo $ETCDCTL_ENDPOINTS $ETCDCTL_CERT' 2>/dev/null",
        unit=f"{APP}/0",
    )
    lines = task.stdout.splitlines()
    assert lines[0] == "600 /var/snap/etcd/common/server.key"
    assert lines[1] == "600 /var/snap/etcd/common/client.key"
    assert lines[2] == "https://127.0.0.1:2379 /var/snap/etcd/common/client.crt"


def test_client_reads_and_writes(juju: jubilant.Juju) -> None:
    juju.deploy(CLIENT)
    juju.integrate(f"{CLIENT}:etcd", f"{APP}:db")
    juju.wait(lambda s: jubilant.all_active(s, CLIENT), error=jubilant.any_error, timeout=300)
    status = juju.status()
    want = ",".join(sorted(f"https://{a}:2379" for a in unit_addresses(status).values()))
    shown = run(juju, f"{CLIENT}/0", "show")
    assert shown["connection-string"] == want
    assert shown["version"].startswith("3.5.")
    put = run(juju, f"{CLIENT}/0", "put", key="greeting", value="hello")
    got = run(juju, f"{CLIENT}/0", "get", key="greeting")
    assert (got["found"], got["value"]) == ("true", "hello")
    assert int(got["revision"]) == int(put["revision"])
    # the write is in etcd itself, on every member
    for unit in unit_addresses(status):
        kvs = etcdctl(juju, unit, "get greeting --consistency=s")["kvs"]
        assert len(kvs) == 1


TLS_PROBE = r"""
import socket, ssl, sys
host, port, with_cert = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "cert"
ctx = ssl.create_default_context(cafile="/var/lib/etcd-client/ca.crt")
ctx.check_hostname = False
if with_cert:
    ctx.load_cert_chain("/var/lib/etcd-client/client.crt", "/var/lib/etcd-client/client.key")
try:
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            tls.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
            data = tls.recv(100)
            print("answered" if data else "closed")
except (ssl.SSLError, ConnectionError, OSError) as e:
    print("refused", type(e).__name__)
"""


def test_client_without_certificate_is_refused(juju: jubilant.Juju) -> None:
    addr = unit_addresses(juju.status())[f"{APP}/0"]
    script = base64.b64encode(TLS_PROBE.encode()).decode()
    for port in (2379, 2380):
        # the same probe with the client certificate gets an answer: the port is open and
        # speaks TLS, so the refusal below is the certificate check
        for cert, expected in (("cert", "answered"), ("none", "refused")):
            task = juju.exec(
                f"echo {script} | base64 -d | python3 - {addr} {port} {cert}",
                unit=f"{CLIENT}/0",
            )
            assert task.stdout.startswith(expected), (port, cert, task.stdout)
    # TLS 1.1 is refused, TLS 1.2 is spoken
    for version, expected in (("-tls1_1", "alert protocol version"), ("-tls1_2", "TLSv1.2")):
        task = juju.exec(
            f"echo | openssl s_client {version} -connect {addr}:2379 2>&1 || true",
            unit=f"{CLIENT}/0",
        )
        assert expected in task.stdout, (version, task.stdout[-500:])


def test_add_units_to_five(juju: jubilant.Juju) -> None:
    before = {u: etcd_starts(juju, u) for u in unit_addresses(juju.status())}
    juju.add_unit(APP, num_units=2)
    status = juju.wait(all_healthy(APP, 5), error=jubilant.any_error, timeout=600)
    members = member_list(juju, f"{APP}/0")
    assert sorted(m["name"] for m in members) == sorted(
        u.replace("/", "") for u in unit_addresses(status)
    )
    assert not any(m.get("isLearner") for m in members)
    for unit in unit_addresses(status):
        assert etcd_starts(juju, unit) == before.get(unit, 1), unit
    # the added units joined as learners, with the membership of the running cluster
    for unit in set(unit_addresses(status)) - set(before):
        assert initial_config(juju, unit)["initial-cluster-state"] == "existing", unit
    shown = run(juju, f"{CLIENT}/0", "show")
    assert int(shown["endpoints"]) == 5


def test_remove_juju_leader(juju: jubilant.Juju) -> None:
    status = juju.status()
    leader = next(n for n, u in etcd_units(status).items() if u.leader)
    others = [u for u in unit_addresses(status) if u != leader]
    starts = {u: etcd_starts(juju, u) for u in others}
    juju.remove_unit(leader)
    status = juju.wait(all_healthy(APP, 4), error=jubilant.any_error, timeout=600)
    members = member_list(juju, others[0])
    assert sorted(m["name"] for m in members) == sorted(u.replace("/", "") for u in others)
    for unit in others:
        assert etcd_starts(juju, unit) == starts[unit], f"etcd restarted on {unit}"
    new_leader = next(n for n, u in etcd_units(status).items() if u.leader)
    assert new_leader in others
    got = run(juju, f"{CLIENT}/0", "get", key="greeting")
    assert got["value"] == "hello"
    want = ",".join(sorted(f"https://{a}:2379" for a in unit_addresses(status).values()))
    juju.wait(lambda s: run(juju, f"{CLIENT}/0", "show")["connection-string"] == want, timeout=120)


def requests_to(juju: jubilant.Juju, endpoint: str) -> list[dict]:
    """The requests the consumer sees from the etcd units on ``endpoint`` (their relation
    data): scrape jobs on manual-jobs, dashboards on dashboards."""
    info = json.loads(juju.cli("show-unit", f"{LMA}/0", "--format", "json"))
    found = []
    for rel in info[f"{LMA}/0"].get("relation-info") or []:
        if rel.get("endpoint") != endpoint:
            continue
        for data in (u.get("data") or {} for u in (rel.get("related-units") or {}).values()):
            found += [json.loads(v) for k, v in data.items() if k.startswith("request_")]
    return found


def scrape_jobs(juju: jubilant.Juju) -> list[dict]:
    return requests_to(juju, "manual-jobs")


def scraped(juju: jubilant.Juju, tmp_path: Path, port: int, picture: Path | None = None) -> None:
    """A real Prometheus, given the one job the leader published, scrapes every member.
    With ``picture``: under a minute of client writes, then the dashboard's time-series panels
    drawn from that Prometheus into ``picture``."""
    status = juju.status()
    want = sorted(f"{a}:{port}" for a in unit_addresses(status).values())
    juju.wait(
        lambda _: [j["job_data"]["static_configs"][0]["targets"] for j in scrape_jobs(juju)]
        == [want],
        timeout=120,
    )
    (job,) = scrape_jobs(juju)
    assert job["job_name"] == "etcd" and job["job_data"]["scheme"] == "https"
    with prometheus([job], tmp_path) as server:
        name = f"etcd-{job['request_id']}"

        def all_up() -> bool:
            up = server.query(f'up{{job="{name}"}}')
            return sorted(r["metric"]["instance"] for r in up if r["value"][1] == "1") == want

        juju.wait(lambda _: all_up(), timeout=60, delay=1)
        leaders = server.query(f'etcd_server_has_leader{{job="{name}"}}')
        assert sorted((r["metric"]["instance"], r["value"][1]) for r in leaders) == [
            (t, "1") for t in want
        ]
        note(f"prometheus-scrape-port-{port}", up_targets=want)
        # every expression of the dashboard the leader registered: valid PromQL on the real
        # server, on the series of this job
        (request,) = requests_to(juju, "dashboards")
        board = request["dashboard"]
        assert request["name"] == "etcd"
        exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
        assert {p["datasource"] for p in board["panels"]} == {f"{LMA} - Juju generated source"}
        juju.wait(lambda _: server.query(f'rate(up{{job="{name}"}}[5m])') != [], timeout=60)
        empty = [e for e in exprs if not server.query(e)]
        note(
            f"prometheus-scrape-port-{port}",
            dashboard_expressions=len(exprs),
            dashboard_expressions_with_data=len(exprs) - len(empty),
            dashboard_expressions_empty=empty,
        )
        # what needs traffic or time may be empty on a quiet, young cluster; never these
        for core in ("up{", "etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes"):
            assert not [e for e in empty if core in e], empty
        if picture is None:
            return
        start = time.time()
        with continuous_writes(juju, "dashboard-picture") as writes:
            writes.wait_for_acks(1500, timeout=90)  # about 40 s at the writer's pace
        drawn = plot(board, server.url, start - 30, time.time() + 5, picture)
        note("dashboard-picture", series_per_panel=drawn)
        # every time-series panel has data under load (the stat panels were checked above)
        assert all(drawn.values()), drawn


def test_prometheus_scrapes_every_member(juju: jubilant.Juju, tmp_path: Path) -> None:
    juju.deploy(packed(ROOT / "tests" / "charms" / "lma-stand-in"), LMA)
    juju.integrate(f"{APP}:prometheus", f"{LMA}:manual-jobs")
    juju.integrate(f"{APP}:grafana", f"{LMA}:dashboards")
    scraped(juju, tmp_path, 2379)
    # the consumer answered the leader's request
    leader = next(n for n, u in etcd_units(juju.status()).items() if u.leader)
    (job,) = scrape_jobs(juju)
    mine = json.loads(juju.cli("show-unit", leader, "--format", "json"))[leader]
    answers = [
        d
        for rel in mine.get("relation-info") or []
        if rel.get("endpoint") == "prometheus"
        for d in ((u.get("data") or {}) for u in (rel.get("related-units") or {}).values())
    ]
    assert answers and all(
        json.loads(a[f"response_{job['request_id']}"]) == {"reason": None, "success": True}
        for a in answers
    )


def cos_configs(juju: jubilant.Juju) -> dict[str, dict]:
    """principal unit -> the ``config`` it published to its machine's agent (the agent unit's
    relation view), each validated against the cos_agent v0 schema."""
    found = {}
    for sub in juju.status().get_units(COS):
        info = json.loads(juju.cli("show-unit", sub, "--format", "json"))[sub]
        for rel in info.get("relation-info") or []:
            for unit, seen in (rel.get("related-units") or {}).items():
                data = seen.get("data") or {}
                if "config" not in data:
                    continue
                bucket = {k: v for k, v in data.items() if k == "config"}
                jsonschema.validate({"unit": bucket}, COS_SCHEMA)
                nested = json.loads(data["config"])
                jsonschema.validate(
                    nested,
                    {**COS_SCHEMA["$defs"]["NestedDataModel"], "$defs": COS_SCHEMA["$defs"]},
                )
                found[unit] = nested
    return found


def test_cos_agent_without_a_metrics_listener(juju: jubilant.Juju) -> None:
    """A subordinate agent on every etcd machine; with no metrics listener there is nothing it
    could scrape (the client port needs root's client key): no job, and the status says so."""
    juju.deploy(packed(ROOT / "tests" / "charms" / "cos-agent-stand-in"), COS)
    juju.integrate(f"{APP}:cos-agent", f"{COS}:cos-agent")
    juju.wait(
        lambda s: len(s.get_units(COS)) == 4 and len(cos_configs(juju)) == 4,
        error=jubilant.any_error,
        timeout=300,
    )
    status = juju.status()
    subs = {p: sorted(u.subordinates) for p, u in etcd_units(status).items()}
    assert all(len(v) == 1 for v in subs.values()), subs
    for unit, config in cos_configs(juju).items():
        assert config["metrics_scrape_jobs"] == [], unit
        assert config["metrics_alert_rules"]["groups"][0]["rules"], unit
    for unit, u in etcd_units(status).items():
        assert u.workload_status.current == "active", (unit, u.workload_status)
        assert "cos-agent: no metrics to scrape: set metrics_port" in u.workload_status.message


def test_port_change_and_client_follows(juju: jubilant.Juju) -> None:
    # one rolling restart: the client port moves and the metrics listener opens
    juju.config(APP, {"port": 2381, "metrics_port": 9379})
    status = juju.wait(
        lambda s: all_healthy(APP, 4)(s)
        and all(sorted(u.open_ports) == ["2381/tcp", "9379/tcp"] for u in etcd_units(s).values()),
        error=jubilant.any_error,
        timeout=600,
    )
    # plain HTTP, no client certificate: etcd's own /metrics and /health on every member
    for address in unit_addresses(status).values():
        with urllib.request.urlopen(f"http://{address}:9379/metrics", timeout=10) as r:
            metrics = r.read().decode()
        assert "etcd_server_has_leader 1" in metrics
        with urllib.request.urlopen(f"http://{address}:9379/health", timeout=10) as r:
            assert json.loads(r.read())["health"] == "true"
    members = member_list(juju, next(iter(unit_addresses(status))), port=2381)
    assert all(m["clientURLs"][0].endswith(":2381") for m in members)
    want = ",".join(sorted(f"https://{a}:2381" for a in unit_addresses(status).values()))
    juju.wait(lambda s: run(juju, f"{CLIENT}/0", "show")["connection-string"] == want, timeout=120)
    run(juju, f"{CLIENT}/0", "put", key="after-port-change", value="yes")
    assert run(juju, f"{CLIENT}/0", "get", key="greeting")["value"] == "hello"


def test_cos_agent_jobs_rules_and_dashboard(juju: jubilant.Juju, tmp_path: Path) -> None:
    """With the metrics listener: each unit names its member's job (127.0.0.1, scraped by the
    agent on its machine), the rules and the dashboard. A real Prometheus scrapes the jobs as
    the agents would (their target moved to the unit's address: the test host is not the
    machine; the agent's topology labels added), loads the rules, and evaluates them; a
    stopped etcd makes EtcdMemberDown match."""
    status = juju.wait(
        lambda s: len(cos_configs(juju)) == 4
        and all(c["metrics_scrape_jobs"] for c in cos_configs(juju).values()),
        timeout=300,
    )
    addresses = unit_addresses(status)
    configs = cos_configs(juju)
    jobs, groups = [], {}
    for unit, config in configs.items():
        (job,) = config["metrics_scrape_jobs"]
        (static,) = job["static_configs"]
        assert static["targets"] == ["127.0.0.1:9379"] and job["scheme"] == "http"
        assert static["labels"]["instance"] == f"{addresses[unit]}:9379"
        # the agent on the unit's machine reaches it there
        sub = next(iter(etcd_units(status)[unit].subordinates))
        fetched = juju.exec(
            "python3 -c 'import urllib.request as u;"
            'print(u.urlopen("http://127.0.0.1:9379/metrics", timeout=10).read().decode())\'',
            unit=sub,
        ).stdout
        assert "etcd_server_has_leader 1" in fetched
        (group,) = config["metrics_alert_rules"]["groups"]
        groups[group["name"]] = group  # one copy per application: the same from every unit
        topology = {k: v for k, v in group["rules"][0]["labels"].items() if k != "severity"}
        labels = {**static["labels"], **topology, "juju_unit": unit}
        jobs.append(
            {**job, "static_configs": [{"targets": [f"{addresses[unit]}:9379"], "labels": labels}]}
        )
    assert len(groups) == 1, sorted(groups)
    names = sorted(r["alert"] for r in next(iter(groups.values()))["rules"])
    assert names == sorted(
        ["EtcdNoLeader", "EtcdFrequentLeaderChanges", "EtcdHighFsyncDurations",
         "EtcdHighCommitDurations", "EtcdDatabaseNearQuota", "EtcdMemberDown",
         "EtcdQuorumAtRisk"]
    )  # fmt: skip
    with prometheus(
        [], tmp_path, scrape_configs=jobs, rule_groups=list(groups.values())
    ) as server:
        juju.wait(lambda _: len([r for r in server.query("up") if r["value"][1] == "1"]) == 4,
                  timeout=60, delay=1)  # fmt: skip
        juju.wait(lambda _: all(r["health"] == "ok" for r in server.rules()), timeout=30, delay=1)
        rules = {r["name"]: r for r in server.rules()}
        assert sorted(rules) == names
        for rule in rules.values():
            server.query(rule["query"])  # valid PromQL on the live series
        encoded = next(iter(configs.values()))["dashboards"][0]  # base64(lzma(JSON)), as cosl
        board = json.loads(lzma.decompress(base64.b64decode(encoded)))
        exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
        empty = [e for e in exprs if not server.query(e)]
        note("cos-agent", dashboard_expressions=len(exprs), empty=empty, rules=len(rules))
        for core in ("up{", "etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes"):
            assert not [e for e in empty if core in e], empty
        assert rules["EtcdMemberDown"]["state"] == "inactive"
        victim = sorted(addresses)[-1]
        juju.exec("systemctl stop snap.etcd.etcd", unit=victim)
        try:
            juju.wait(
                lambda _: {r["name"]: r["state"] for r in server.rules()}["EtcdMemberDown"]
                in ("pending", "firing"),
                timeout=60,
                delay=1,
            )
        finally:
            juju.exec("systemctl start snap.etcd.etcd", unit=victim)
    juju.wait(all_healthy(APP, 4), error=jubilant.any_error, timeout=300)
    juju.remove_relation(f"{APP}:cos-agent", f"{COS}:cos-agent")
    juju.wait(lambda s: not s.get_units(COS), timeout=180)
    status = juju.status()
    assert all(not u.subordinates for u in etcd_units(status).values())
    juju.remove_application(COS)


def test_the_scrape_job_follows_the_port_and_goes_with_the_relation(
    juju: jubilant.Juju, tmp_path: Path
) -> None:
    scraped(juju, tmp_path, 2381, picture=ROOT / "build" / "dashboard.png")
    for ours, theirs in (("prometheus", "manual-jobs"), ("grafana", "dashboards")):
        juju.remove_relation(f"{APP}:{ours}", f"{LMA}:{theirs}")
    juju.wait(lambda s: not s.apps[LMA].relations, timeout=120)
    juju.remove_application(LMA)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"management_port": 2379}, "port and management_port are both 2379"),
        ({"channel": "banana"}, "channel 'banana' is not a snap channel"),
        ({"tls_cipher_suites": "TLS_NOT_A_SUITE"}, "unknown cipher suite 'TLS_NOT_A_SUITE'"),
        ({"heartbeat_interval": 500}, "election_timeout=1000 must be at least 5 times"),
        ({"metrics_port": 2380}, "metrics_port=2380 is taken by management_port"),
    ],
)
def test_invalid_config_blocks_and_changes_nothing(
    juju: jubilant.Juju, config: dict[str, jubilant.ConfigValue], fragment: str
) -> None:
    unit = f"{SOLO}/0"
    before_starts = etcd_starts(juju, unit)
    before_conf = juju.exec("cat /var/snap/etcd/common/etcd.conf.yml", unit=unit).stdout
    juju.config(SOLO, config)
    status = juju.wait(
        lambda s: s.apps[SOLO].units[unit].workload_status.current == "blocked",
        timeout=120,
    )
    message = status.apps[SOLO].units[unit].workload_status.message
    assert fragment in message, message
    assert message.startswith("Invalid config: ")
    assert juju.exec("cat /var/snap/etcd/common/etcd.conf.yml", unit=unit).stdout == before_conf
    assert etcd_starts(juju, unit) == before_starts
    assert etcdctl(juju, unit, "endpoint health")[0]["health"] is True
    juju.config(SOLO, reset=list(config))
    juju.wait(all_healthy(SOLO, 1), error=jubilant.any_error, timeout=120)
    assert [m["name"] for m in member_list(juju, unit)] == [f"{SOLO}0"]

"""The operator actions on a scaled cluster: health, package-client-credentials, snapshot,
restore (3 and 5 units, a corrupt file, the migration to a new application), compact, defrag
and the alarms. Every check reads etcd's real state: keys counted on each member with a
serializable read of its own copy, cluster IDs, member lists."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import stat
import subprocess
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jubilant
import pytest

from .conftest import (
    LOCAL,
    ROOT,
    all_healthy,
    ctl,
    etcd_units,
    etcdctl,
    failure,
    member_list,
    packed,
    run,
    stored_backups,
    unit_addresses,
)
from .s3_server import S3Server, s3_server
from .writes import continuous_writes

APP = "etcd"
NEW = "etcd-new"
CLIENT = "etcd-client"
ETCDCTL = ROOT / ".cache" / "etcd" / "3.5.16" / "etcdctl"
NRPE = "nrpe"  # the stand-in for the nrpe subordinate (canonical/charm-nrpe)
#: Debian's check_nrpe, extracted on the test host by scripts/fetch-nrpe: the Nagios server's
#: side of NRPE
CHECK_NRPE = ROOT / ".cache" / "nrpe-plugin" / "check_nrpe"
#: the checks the charm registers (the first two under layer-etcd's names)
NRPE_CHECKS = (
    "check_snap.etcd.etcd",
    "check_etcd-alarms",
    "check_etcd-health",
    "check_etcd-dbsize",
    "check_etcd-cert",
    "check_etcd-backup",
)
pytestmark = pytest.mark.integration


def count(juju: jubilant.Juju, unit: str, prefix: str) -> int:
    """Keys under ``prefix`` ("": every key) in the unit's own member (serializable: its
    local copy)."""
    out = etcdctl(juju, unit, f"get '{prefix}' --prefix --keys-only --consistency=s")
    return int(out.get("count", 0))


CTL = ctl()
CONF = "/var/snap/etcd/common/etcd.conf.yml"


def put_keys(juju: jubilant.Juju, unit: str, prefix: str, n: int) -> None:
    juju.exec(
        f"for i in $(seq 1 {n}); do {CTL} put {prefix}$i value-$i >/dev/null || exit 1; done",
        unit=unit,
    )


def answering(juju: jubilant.Juju, unit: str) -> None:
    """A bounded wait (90 s) for the unit's member to answer a health check."""
    juju.exec(
        f"timeout 90 sh -c 'until {CTL} endpoint health >/dev/null 2>&1; do sleep 0.5; done'",
        unit=unit,
    )


def cluster_id(juju: jubilant.Juju, unit: str) -> int:
    return int(etcdctl(juju, unit, "member list")["header"]["cluster_id"])


def leader(juju: jubilant.Juju, app: str = APP) -> str:
    status = juju.status()
    return next(n for n, u in etcd_units(status, app).items() if u.leader)


def test_deploy(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.deploy("easyrsa")
    juju.deploy(etcd_charm, APP, num_units=3)
    juju.deploy(CLIENT)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.integrate(f"{APP}:db", CLIENT)
    juju.wait(
        lambda s: all_healthy(APP, 3)(s) and jubilant.all_active(s, CLIENT),
        error=jubilant.any_error,
        timeout=600,
    )


def test_health_table(juju: jubilant.Juju) -> None:
    results = run(juju, f"{APP}/0", "health")
    assert results["cluster"]["healthy"] == "true"
    assert results["cluster"]["summary"] == "Healthy with 3 known peers"
    members = {m["name"]: m for m in member_list(juju, f"{APP}/0")}
    table = results["members"]
    assert set(table) == set(members)
    for name, row in table.items():
        assert row["id"] == f"{members[name]['ID']:x}"
        assert row["client-url"] == members[name]["clientURLs"][0]
        assert row["healthy"] == "true" and row["learner"] == "false"
        assert row["version"].startswith("3.5.") and int(row["db-size"]) > 0
    raft_leader = etcdctl(juju, f"{APP}/0", "endpoint status")[0]["Status"]["leader"]
    assert [n for n, r in table.items() if r["leader"] == "true"] == [
        next(n for n, m in members.items() if m["ID"] == raft_leader)
    ]
    assert "Healthy with 3 known peers" in results["result-map"]["message"]


def test_undeclared_params_are_refused(juju: jubilant.Juju) -> None:
    with pytest.raises(jubilant.CLIError) as e:
        juju.run(f"{APP}/0", "health", {"verbose": True})
    assert 'additional property "verbose" is not allowed' in e.value.stderr
    with pytest.raises(jubilant.CLIError) as e:
        juju.run(f"{APP}/0", "snapshot", {"target": 5})
    assert "target" in e.value.stderr


def test_package_client_credentials(juju: jubilant.Juju, tmp_path: Path) -> None:
    results = run(juju, f"{APP}/1", "package-client-credentials")
    assert results["path"] == "/home/ubuntu/etcd_credentials.tar.gz"
    assert results["copy"]["cmd"] == f"juju scp {APP}/1:etcd_credentials.tar.gz ."
    on_unit = juju.exec(f"stat -c '%a %U' {results['path']}", unit=f"{APP}/1").stdout.split()
    assert on_unit == ["600", "ubuntu"]
    juju.scp(f"{APP}/1:etcd_credentials.tar.gz", tmp_path)
    with pytest.raises(jubilant.CLIError):  # scp logs in as ubuntu: root's keys stay out
        juju.scp(f"{APP}/1:/var/snap/etcd/common/client.key", tmp_path)
    tarball = tmp_path / "etcd_credentials.tar.gz"
    assert hashlib.sha256(tarball.read_bytes()).hexdigest() == results["sha256"]
    assert stat.S_IMODE(tarball.stat().st_mode) == 0o600
    with tarfile.open(tarball) as tar:
        names = sorted(tar.getnames())
        key = tar.getmember("etcd_credentials/client.key")
        assert stat.S_IMODE(key.mode) == 0o600
        tar.extractall(tmp_path)  # noqa: S202 - our own tarball
    assert names == [
        "etcd_credentials",
        "etcd_credentials/README.txt",
        "etcd_credentials/ca.crt",
        "etcd_credentials/client.crt",
        "etcd_credentials/client.key",
        "etcd_credentials/etcdctl.env",
    ]
    # the unpacked files reach the cluster with etcdctl, as the README says
    creds = tmp_path / "etcd_credentials"
    out = subprocess.run(
        ["bash", "-c", f". ./etcdctl.env && {ETCDCTL} member list -w json"],
        cwd=creds,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(json.loads(out.stdout)["header"]["cluster_id"]) == cluster_id(juju, f"{APP}/0")
    # and the key never shows in the action's output
    key_text = (creds / "client.key").read_text()
    assert key_text.strip().splitlines()[1] not in json.dumps(results)


@pytest.fixture(scope="module")
def archive(juju: jubilant.Juju, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A snapshot of 200 keys ``snap/``, taken on a follower, copied to the test host."""
    put_keys(juju, f"{APP}/0", "snap/", 200)
    unit = next(u for u in etcd_units(juju.status(), APP) if u != leader(juju))
    results = run(juju, unit, "snapshot")
    host = tmp_path_factory.mktemp("snapshot")
    cmd = results["copy"]["cmd"].split()
    assert cmd[:2] == ["juju", "scp"] and cmd[-1] == "."
    juju.scp(cmd[2], host)
    local = host / Path(results["snapshot"]["path"]).name
    return {"results": results, "unit": unit, "local": local}


def test_snapshot(juju: jubilant.Juju, archive: dict[str, Any]) -> None:
    results, unit, local = archive["results"], archive["unit"], archive["local"]
    snap = results["snapshot"]
    assert snap["path"].startswith("/home/ubuntu/etcd-snapshots/etcd-snapshot-")
    assert hashlib.sha256(local.read_bytes()).hexdigest() == snap["sha256"]
    assert snap["version"].startswith("3.5.")
    assert int(snap["revision"]) > 200
    assert snap["cluster-id"] == f"{cluster_id(juju, unit):x}"
    mode = juju.exec(f"stat -c '%a %U' {snap['path']}", unit=unit).stdout.split()
    assert mode == ["600", "ubuntu"]
    with tarfile.open(local) as tar:
        assert sorted(tar.getnames()) == ["db", "etcd-snapshot.json"]
        meta = json.loads(tar.extractfile("etcd-snapshot.json").read())  # type: ignore[union-attr]
        db = tar.extractfile("db").read()  # type: ignore[union-attr]
    assert meta["revision"] == int(snap["revision"]) and meta["members"] == 3
    # keys: what a client sees at the snapshot's revision, not etcd's count of its entries
    at_revision = etcdctl(
        juju,
        unit,
        f"get '' --prefix --keys-only --limit=1 --consistency=s --rev={snap['revision']}",
    )
    assert int(snap["keys"]) == int(at_revision.get("count", 0)) >= 200
    assert int(snap["db-entries"]) > int(snap["keys"])
    assert (meta["keys"], meta["db_entries"]) == (int(snap["keys"]), int(snap["db-entries"]))
    assert meta["sha256"] == hashlib.sha256(db).hexdigest()
    assert len(db) % 512 == 32  # etcdctl snapshot save appends the database's sha256
    assert hashlib.sha256(db[:-32]).digest() == db[-32:]
    message = failure(juju, unit, "snapshot", None, **{"keys-version": "v2"})
    assert "the v2 store is gone" in message
    for target, rule in (
        ("/etc", "/etc holds the system's configuration"),
        ("/var/snap/etcd/current", "it is under /var/snap/etcd"),
        ("/home/ubuntu/../../usr/x", "it has a '..' component"),
    ):
        message = failure(juju, unit, "snapshot", target=target)
        assert message.startswith(f"target={target!r} is refused: {rule}"), message
        assert "the default /home/ubuntu/etcd-snapshots" in message, message
    leftovers = juju.exec(  # refused before anything was written or created
        "ls /etc /var/snap/etcd/current | grep -c etcd-snapshot || true; "
        "ls -d /usr/x 2>/dev/null | wc -l",
        unit=unit,
    ).stdout.split()
    assert leftovers == ["0", "0"]


def corrupt_variants(good: Path, where: Path) -> dict[str, Path]:
    with tarfile.open(good) as tar:
        meta = tar.extractfile("etcd-snapshot.json").read()  # type: ignore[union-attr]
        whole_db = tar.extractfile("db").read()  # type: ignore[union-attr]
    db = bytearray(whole_db)
    db[len(db) // 2] ^= 0xFF
    flipped = where / "flipped.tar.gz"
    with tarfile.open(flipped, "w:gz") as tar:
        for name, data in (("etcd-snapshot.json", meta), ("db", bytes(db))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    truncated = where / "truncated.tar.gz"
    whole = good.read_bytes()
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    foreign = where / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    no_version = where / "no-version.tar.gz"
    fields = json.loads(meta)
    del fields["etcd_version"]
    with tarfile.open(no_version, "w:gz") as tar:
        for name, data in (("etcd-snapshot.json", json.dumps(fields).encode()), ("db", whole_db)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    text = where / "notes.txt"
    text.write_text("not a snapshot\n" * 100)
    return {
        "flipped": flipped,
        "truncated": truncated,
        "foreign": foreign,
        "no-version": no_version,
        "text": text,
    }


def test_restore_refuses_corrupt_files(
    juju: jubilant.Juju, archive: dict[str, Any], tmp_path: Path
) -> None:
    put_keys(juju, f"{APP}/0", "kept/", 20)
    before = cluster_id(juju, f"{APP}/0")
    expected = {
        "flipped": "does not match",
        "truncated": "not a complete snapshot archive",
        "foreign": "holds no etcd database",
        "no-version": "its etcd-snapshot.json is not valid: the field 'etcd_version' is "
        "missing. Take a new snapshot with the snapshot action, or restore the database alone",
        "text": "is neither a gzip'd nor a plain tar archive, and as a bare snapshot file it "
        "carries no etcd hash",
    }
    for name, path in corrupt_variants(archive["local"], tmp_path).items():
        juju.cli("attach-resource", APP, f"snapshot={path}")
        message = failure(juju, f"{APP}/leader", "restore")
        assert expected[name] in message and "nothing was changed" in message, message
    assert "is not the leader" in failure(
        juju, next(u for u in etcd_units(juju.status(), APP) if u != leader(juju)), "restore"
    )
    for unit in etcd_units(juju.status(), APP):
        assert cluster_id(juju, unit) == before
        assert count(juju, unit, "kept/") == 20
    juju.wait(all_healthy(APP, 3), timeout=120)


def restored_everywhere(juju: jubilant.Juju, app: str, units: int, old_id: int) -> None:
    juju.wait(all_healthy(app, units), error=jubilant.any_error, timeout=600, delay=2)
    ids = set()
    for unit in etcd_units(juju.status(), app):
        ids.add(cluster_id(juju, unit))
        assert count(juju, unit, "snap/") == 200, unit
        assert count(juju, unit, "kept/") == 0, unit
        assert count(juju, unit, "after/") == 0, unit
        members = member_list(juju, unit)
        assert all(not m.get("isLearner") for m in members)
        assert len(members) == units
        # the quarantine is over: every member serves clients on the usual port again
        assert all(u.endswith(":2379") for m in members for u in m["clientURLs"]), members
    assert len(ids) == 1 and old_id not in ids


def restore_quarantined(
    juju: jubilant.Juju, app: str, units: int, old_id: int, prefix: str
) -> dict[str, Any]:
    """Right after a restore on several units: a db client writes (etcd-client's
    write-loop, which retries a refused write) while the other units rejoin. Its writes are
    refused until the quarantine lifts, then go through with nothing done to the client,
    and every write it had acknowledged is there at the end. Its results."""
    before = run(juju, f"{CLIENT}/0", "show")
    with ThreadPoolExecutor(1) as pool:
        loop = pool.submit(
            run, juju, f"{CLIENT}/0", "write-loop", 600, prefix=prefix, count=30, timeout=500
        )
        restored_everywhere(juju, app, units, old_id)
        written = loop.result()
    print(f"\nwrites during the quarantine: {written}")
    assert written["complete"] == "true", written
    assert int(written["errors"]) > 0, written  # refused while the units rejoined
    assert "Connection refused" in written["first-error"], written
    checked = run(juju, f"{CLIENT}/0", "check", prefix=prefix, count=30)
    assert int(checked["missing"]) == 0, checked
    # the client was told nothing new: the quarantine's URLs never reached it
    assert run(juju, f"{CLIENT}/0", "show") == before
    conf = juju.exec(f"cat {CONF}", unit=f"{app}/0").stdout
    assert ":12379" not in conf, conf
    return written


def test_restore_on_three_units(juju: jubilant.Juju, archive: dict[str, Any]) -> None:
    put_keys(juju, f"{APP}/0", "after/", 50)
    old_id = cluster_id(juju, f"{APP}/0")
    juju.cli("attach-resource", APP, f"snapshot={archive['local']}")
    start = time.monotonic()
    results = run(juju, f"{APP}/leader", "restore", **{"skip-backup": False})
    action = time.monotonic() - start
    restore_quarantined(juju, APP, 3, old_id, "quarantine-3")
    print(
        f"\nrestore on 3 units: action {action:.1f}s, all healthy {time.monotonic() - start:.1f}s"
    )
    assert results["restore"]["hash-check"] == "verified"
    assert results["restore"]["revision"] == archive["results"]["snapshot"]["revision"]
    # the keys counted on the restored member: those of the snapshot, not etcd's entries
    assert results["restore"]["keys"] == archive["results"]["snapshot"]["keys"]
    assert results["restore"]["db-entries"] == archive["results"]["snapshot"]["db-entries"]
    # the data it replaced was saved first, as a snapshot archive: of the whole cluster, the
    # other members removed and etcd stopped (a copy of its database: no write after it)
    assert "origin" not in results["backup"], results["backup"]
    backup = results["backup"]["path"]
    assert backup.startswith("/home/ubuntu/etcd-data-") and backup.endswith(".tar.gz")
    sums = juju.exec(f"sha256sum {backup}", unit=f"{APP}/leader").stdout.split()
    assert sums[0] == results["backup"]["sha256sum"]
    # and recorded in the leader's backup store as a pre-restore backup, the same archive
    kept = stored_backups(juju, leader(juju), "pre-restore")
    assert [b["id"] for b in kept] == [results["backup"]["id"]], kept
    assert kept[0]["archive_sha256"] == results["backup"]["sha256sum"]
    # the db client follows: it reads the restored data
    got = run(juju, f"{CLIENT}/0", "get", key="snap/7")
    assert got.get("value") == "value-7", got


STORE = "/var/snap/etcd/common/backups"
LAST = "/var/snap/etcd/common/backup-last.json"
TIMER = "/etc/systemd/system/etcd-backup.timer"


def rows(table: str) -> list[list[str]]:
    """list-backups' table: its rows below the header, as cells."""
    return [[c.strip() for c in line.split(" | ")] for line in table.splitlines()[2:]]


def test_create_list_and_restore_a_backup(juju: jubilant.Juju) -> None:
    """create-backup under the continuous writer, list-backups, then restore backup-id=:
    the keys of the backup are back on every unit, those written after it are not."""
    lead = leader(juju)
    put_keys(juju, f"{APP}/0", "bk/", 30)
    with continuous_writes(juju, "create-backup"):
        created = run(juju, lead, "create-backup")
    bid = created["backup-id"]
    assert created["backup"]["location"] == f"{lead}:{STORE}"
    listing = juju.exec(f"ls -l --time-style=+ {STORE}", unit=lead).stdout
    assert f"{bid}.tar.gz" in listing and f"{bid}.json" in listing
    sums = juju.exec(f"sha256sum {STORE}/{bid}.tar.gz", unit=lead).stdout.split()
    assert sums[0] == created["backup"]["sha256"]
    mode = juju.exec(f"stat -c '%a %U' {STORE}/{bid}.tar.gz {STORE}", unit=lead).stdout.split()
    assert mode == ["600", "root", "700", "root"]
    keys = int(created["backup"]["keys"])
    assert keys >= 30 and "healthy member" in created["backup"]["origin"]
    listed = run(juju, lead, "list-backups")
    assert listed["newest"] == bid
    row = next(r for r in rows(listed["backups"]) if r[0] == bid)
    assert row[1:4] == ["manual", created["backup"]["revision"], str(keys)]
    put_keys(juju, f"{APP}/0", "bk-after/", 10)
    old_id = cluster_id(juju, lead)
    restored = run(juju, lead, "restore", **{"backup-id": bid})
    assert restored["restore"]["source"] == f"backup {bid} in {lead}:{STORE}"
    assert restored["restore"]["keys"] == str(keys)
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=600, delay=2)
    for unit in etcd_units(juju.status(), APP):
        assert cluster_id(juju, unit) != old_id
        assert count(juju, unit, "bk/") == 30, unit
        assert count(juju, unit, "bk-after/") == 0, unit
        assert count(juju, unit, "") == keys, unit


def test_scheduled_backups_keep_the_newest_under_writes(juju: jubilant.Juju) -> None:
    """A 5-second schedule with retention 2 under the continuous writer: the timer on the
    Juju leader takes them outside hooks and prunes the older ones; a calendar expression
    systemd refuses changes nothing; an empty schedule removes the timer."""
    lead = leader(juju)
    seen: list[str] = []

    def last_ids() -> bool:
        text = juju.exec(f"cat {LAST} 2>/dev/null || true", unit=lead).stdout.strip()
        if text:
            last = json.loads(text)
            assert last["ok"], last
            if last["backup_id"] not in seen:
                seen.append(last["backup_id"])
        return len(seen) >= 4

    def gone() -> bool:
        out = juju.exec(
            f"test -e {TIMER} && echo timer; systemctl is-active etcd-backup.service || true",
            unit=lead,
        ).stdout.split()
        return out == ["inactive"]

    with continuous_writes(juju, "scheduled-backups"):
        juju.config(APP, {"backup_schedule": "*:*:0/5", "backup_retention": 2})
        juju.wait(lambda _: last_ids(), timeout=180, delay=1)
        juju.config(APP, {"backup_schedule": "Mon..Funday"})
        status = juju.wait(
            lambda s: "backup_schedule='Mon..Funday' is not a systemd calendar expression"
            in etcd_units(s, APP)[lead].workload_status.message,
            timeout=120,
        )
        assert etcd_units(status, APP)[lead].workload_status.current == "blocked"
        assert "OnCalendar=*:*:0/5" in juju.exec(f"cat {TIMER}", unit=lead).stdout  # kept
        juju.config(APP, {"backup_schedule": ""})
        juju.wait(lambda _: gone(), timeout=120, delay=1)
    juju.wait(all_healthy(APP, 3), timeout=120)
    others = [u for u in etcd_units(juju.status(), APP) if u != lead]
    for unit in others:  # only the leader's machine ran them
        assert juju.exec(f"test -e {TIMER} && echo yes || echo no", unit=unit).stdout == "no\n"
    scheduled = [r[0] for r in rows(run(juju, lead, "list-backups")["backups"])
                 if r[1] == "scheduled"]  # fmt: skip
    # retention kept the newest two: the first runs seen are gone, the newest is kept
    assert len(scheduled) == 2 and max(scheduled) >= seen[-1], (scheduled, seen)
    assert seen[0] not in scheduled and seen[1] not in scheduled, (scheduled, seen)


def check_nrpe(address: str, command: str) -> tuple[int, str]:
    """What a Nagios server gets from the unit's NRPE daemon: exit status and output."""
    p = subprocess.run(
        [str(CHECK_NRPE), "-H", address, "-t", "30", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return p.returncode, p.stdout.strip()


def nrpe_until(
    juju: jubilant.Juju, address: str, command: str, code: int, timeout: float = 150
) -> str:
    """Wait (bounded) until ``command`` returns ``code`` on the unit: the collector runs every
    60 s and in every hook. Its output."""
    seen: list[tuple[int, str]] = []

    def reached() -> bool:
        seen.append(check_nrpe(address, command))
        return seen[-1][0] == code

    try:
        juju.wait(lambda _: reached(), timeout=timeout, delay=2)
    except TimeoutError:
        raise AssertionError(f"{command} on {address}: {seen[-3:]}, wanted {code}") from None
    return seen[-1][1]


COLLECTOR = "etcd-nagios-collect"


def collect_now(juju: jubilant.Juju, unit: str) -> None:
    """What the collector's timer does every 60 s, now: the test need not wait for it."""
    juju.exec(f"systemctl start {COLLECTOR}.service", unit=unit)


def test_nrpe_checks_on_a_healthy_cluster(juju: jubilant.Juju) -> None:
    """The nrpe subordinate on every etcd machine (Debian's nagios-nrpe-server): the charm
    registers its five checks, and check_nrpe from the test host, allowed as the Nagios
    server, gets OK for each on every unit."""
    status = juju.status()
    addresses = unit_addresses(status)
    some = next(iter(addresses.values()))
    # the host's address on the model's bridge: where a Nagios server would ask from
    gateway = str(ipaddress.IPv4Network(f"{some}/24", strict=False).network_address + 1)
    juju.deploy(
        packed(ROOT / "tests" / "charms" / "nrpe-stand-in"),
        NRPE,
        config={"nagios_master": gateway},
    )
    juju.integrate(f"{APP}:nrpe-external-master", f"{NRPE}:nrpe-external-master")
    # active and idle: the subordinates set "Ready" after start too, before their relation
    # hooks (which write the monitors) have run; idle means nothing is left to run
    juju.wait(
        lambda s: len(s.get_units(NRPE)) == 3
        and jubilant.all_active(s, NRPE)
        and jubilant.all_agents_idle(s, NRPE),
        error=jubilant.any_error,
        timeout=300,
    )
    sub = next(iter(juju.status().get_units(NRPE)))
    listed = run(juju, sub, "list-nrpe-checks")["checks"]

    def leaves(d: Any) -> list[str]:  # action-set nests dotted keys (check-snap.etcd.etcd)
        return [x for v in d.values() for x in leaves(v)] if isinstance(d, dict) else [d]

    commands = sorted(c.split("check_etcd.py ", 1)[1] for c in leaves(listed))
    assert commands == sorted(
        ["service", "alarms", "health", "dbsize -w 80 -c 90", "cert -w 30 -c 7", "backup"]
    ), listed
    monitors = run(juju, sub, "show-monitors")["monitors"]
    for name in NRPE_CHECKS:
        assert name.removeprefix("check_") in monitors, monitors
    for unit, address in addresses.items():
        for command in NRPE_CHECKS:
            out = nrpe_until(juju, address, command, 0)
            assert " OK" in out, (unit, command, out)
    rc, out = check_nrpe(some, "check_etcd-dbsize")
    assert "|" in out and "db_size=" in out  # perfdata for the graphs


def test_nrpe_is_critical_while_etcd_is_stopped(juju: jubilant.Juju) -> None:
    status = juju.status()
    unit = sorted(etcd_units(status))[-1]
    address = unit_addresses(status)[unit]
    assert juju.exec(f"systemctl is-active {COLLECTOR}.timer", unit=unit).stdout.strip() == (
        "active"
    )
    juju.exec("systemctl stop snap.etcd.etcd", unit=unit)
    try:
        rc, out = check_nrpe(address, "check_snap.etcd.etcd")
        assert rc == 2, out  # at once: the check asks systemd itself
        collect_now(juju, unit)
        out = nrpe_until(juju, address, "check_etcd-health", 2)
        assert "CRITICAL" in out
    finally:
        juju.exec("systemctl start snap.etcd.etcd", unit=unit)
    answering(juju, unit)
    collect_now(juju, unit)
    nrpe_until(juju, address, "check_etcd-health", 0)
    assert check_nrpe(address, "check_snap.etcd.etcd")[0] == 0
    # an update-status that ran while etcd was stopped left the unit saying so until the
    # next one (every 5 minutes): have the next one come now, then restore the interval
    juju.model_config({"update-status-hook-interval": "5s"})
    try:
        juju.wait(all_healthy(APP, 3), timeout=120)
    finally:
        juju.model_config({"update-status-hook-interval": "5m"})


def test_compact_defrag_alarms(juju: jubilant.Juju) -> None:
    unit = f"{APP}/0"
    put_keys(juju, unit, "churn/", 100)
    put_keys(juju, unit, "churn/", 100)  # a second revision of each
    revision = int(etcdctl(juju, unit, "endpoint status")[0]["Status"]["header"]["revision"])
    assert "newer than the keyspace's current revision" in failure(
        juju, unit, "compact", revision=str(revision + 1000)
    )
    assert "positive whole number" in failure(juju, unit, "compact", revision="x1")
    results = run(juju, unit, "compact", physical=True)
    assert results["compact"]["revision"] == str(revision)
    with pytest.raises(jubilant.TaskError) as e:  # the history before it is gone
        etcdctl(juju, unit, f"get churn/1 --rev={revision - 150}")
    assert "required revision has been compacted" in e.value.task.stderr
    assert "compacted already" in failure(juju, unit, "compact", revision=str(revision - 10))

    task = juju.run(f"{APP}/leader", "defrag")
    results = task.results
    members = {m["name"] for m in member_list(juju, unit)}
    assert set(results["defrag"]) == members
    before = sum(int(sizes["before"]) for sizes in results["defrag"].values())
    after = sum(int(sizes["after"]) for sizes in results["defrag"].values())
    assert 0 < after < before  # the compacted history's pages were given back
    # one member at a time, the raft leader last (the action's progress log)
    order = [
        line.split("defragmenting ")[1].split()[0] for line in task.log if "defragmenting" in line
    ]
    raft_leader = etcdctl(juju, unit, "endpoint status")[0]["Status"]["leader"]
    leader_name = next(m["name"] for m in member_list(juju, unit) if m["ID"] == raft_leader)
    assert sorted(order) == sorted(members) and order[-1] == leader_name, order
    assert run(juju, unit, "alarm-list")["output"] == "no alarms"
    assert run(juju, unit, "alarm-disarm")["output"] == "no alarms to disarm"
    juju.wait(all_healthy(APP, 3), timeout=120)


def test_nospace_alarm(juju: jubilant.Juju) -> None:
    """A real NOSPACE alarm: one member runs with a 16 MB quota (its config edited by hand,
    restarted), the cluster is filled until etcd refuses writes; then the documented way
    out: the alarm is listed, disarming is refused while the database is still full, the
    keys are deleted, compact + defrag shrink it, and the alarm is disarmed."""
    unit = f"{APP}/0"
    name = f"{APP}0"
    juju.exec(
        f"cp {CONF} /root/etcd.conf.yml.orig && echo 'quota-backend-bytes: 16000000' >> {CONF}"
        " && systemctl restart snap.etcd.etcd",
        unit=unit,
    )
    try:
        answering(juju, unit)
        # bounded: at most 200 writes of 200 KB (40 MB) before the 16 MB quota refuses them
        out = juju.exec(
            f"for i in $(seq 1 200); do head -c 150000 /dev/urandom | base64 -w0 | "
            f"{CTL} put big/$i >/dev/null 2>/tmp/put.err || {{ tail -1 /tmp/put.err; exit 0; }};"
            " done; echo 'no alarm'",
            unit=unit,
        ).stdout
        assert "database space exceeded" in out, out
        listed = run(juju, unit, "alarm-list")
        assert listed["output"] == f"NOSPACE on {name}"
        assert listed["alarms"]["a0"] == {"alarm": "NOSPACE", "member": name}
        assert f"alarm NOSPACE on {name}" in failure(juju, f"{APP}/1", "health")
        # Nagios sees it from any member: the alarm is the cluster's
        address = unit_addresses(juju.status())[f"{APP}/1"]
        collect_now(juju, f"{APP}/1")
        assert "NOSPACE" in nrpe_until(juju, address, "check_etcd-alarms", 2)
        unit_address = unit_addresses(juju.status())[unit]
        collect_now(juju, unit)
        assert "CRITICAL" in nrpe_until(juju, unit_address, "check_etcd-dbsize", 2)
        refusal = failure(juju, unit, "alarm-disarm")
        assert "Compact and defragment first" in refusal and "nothing was disarmed" in refusal
        assert run(juju, unit, "alarm-list")["alarms"]["count"] == "1"
        juju.exec(f"{CTL} del --prefix big/ >/dev/null", unit=unit)  # deletes are allowed
        run(juju, unit, "compact", physical=True)
        sizes = run(juju, f"{APP}/leader", "defrag")["defrag"][name]
        assert int(sizes["after"]) < 16000000 * 0.9 < int(sizes["before"]), sizes
        assert run(juju, unit, "alarm-disarm")["output"] == f"disarmed NOSPACE on {name}"
        assert run(juju, unit, "alarm-list")["output"] == "no alarms"
        juju.exec(f"{CTL} put after-nospace ok", unit=unit)
    finally:
        juju.exec(
            f"cp /root/etcd.conf.yml.orig {CONF} && systemctl restart snap.etcd.etcd", unit=unit
        )
    answering(juju, unit)
    assert count(juju, f"{APP}/1", "big/") == 0


def test_nrpe_checks_go_with_the_relation(juju: jubilant.Juju) -> None:
    address = unit_addresses(juju.status())[f"{APP}/1"]
    collect_now(juju, f"{APP}/1")
    nrpe_until(juju, address, "check_etcd-alarms", 0)  # disarmed, seen by Nagios too
    juju.remove_relation(f"{APP}:nrpe-external-master", f"{NRPE}:nrpe-external-master")
    juju.wait(lambda s: not s.get_units(NRPE), timeout=180)
    juju.remove_application(NRPE)
    for unit in sorted(etcd_units(juju.status())):
        left = juju.exec(
            "ls /etc/nagios/nrpe.d /usr/local/lib/nagios/plugins 2>/dev/null | grep -i etcd;"
            " ls /etc/systemd/system | grep etcd-nagios;"
            " ls /var/lib/nagios/etcd-status.json 2>/dev/null; true",
            unit=unit,
        ).stdout
        assert left.strip() == "", (unit, left)


def test_migration_to_a_new_application(
    juju: jubilant.Juju, etcd_charm: str, archive: dict[str, Any]
) -> None:
    """The README's procedure: snapshot, deploy a new application with the snapshot
    attached, restore on its one unit, then scale."""
    juju.deploy(etcd_charm, NEW, resources={"snapshot": str(archive["local"])})
    juju.integrate(f"{NEW}:certificates", "easyrsa:client")
    juju.wait(all_healthy(NEW, 1), error=jubilant.any_error, timeout=600)
    old_id = cluster_id(juju, f"{NEW}/0")
    run(juju, f"{NEW}/0", "restore")
    juju.add_unit(NEW, num_units=2)
    restored_everywhere(juju, NEW, 3, old_id)
    assert cluster_id(juju, f"{NEW}/0") != cluster_id(juju, f"{APP}/0")


# --- the S3 store (a real SeaweedFS on the host, the model's machines reach it) -----------

S3_APP = "s3-integrator"
S3_STAND_IN = ROOT / "tests" / "charms" / "s3-integrator-stand-in"
DR = "etcd-dr"


@pytest.fixture(scope="module")
def s3(juju: jubilant.Juju) -> Iterator[S3Server]:
    """A SeaweedFS server on the model bridge's host address (the machines' gateway), and
    the s3-integrator stand-in configured for it, with its credentials synced."""
    address = next(iter(unit_addresses(juju.status(), APP).values()))
    gateway = str(ipaddress.ip_network(f"{address}/24", strict=False).network_address + 1)
    with s3_server(host=gateway) as server:
        juju.deploy(
            packed(S3_STAND_IN),
            S3_APP,
            config={"endpoint": server.endpoint, "bucket": "etcd-backups", "path": "prod"},
        )
        juju.wait(lambda s: S3_APP in s.apps and bool(s.apps[S3_APP].units), timeout=300)
        task = juju.run(
            f"{S3_APP}/0",
            "sync-s3-credentials",
            {"access-key": server.access_key, "secret-key": server.secret_key},
        )
        assert task.status == "completed", task.message
        yield server


def no_secret_anywhere(juju: jubilant.Juju, server: S3Server, outputs: list[Any]) -> None:
    """Neither key in action outputs, statuses or the debug log."""
    texts = [json.dumps(o) for o in outputs]
    texts.append(juju.cli("status", "--format", "json"))
    texts.append(juju.cli("debug-log", "--replay", "--no-tail", "--level", "DEBUG"))
    for text in texts:
        assert server.secret_key not in text and server.access_key not in text


def provider_answered(juju: jubilant.Juju, unit: str) -> bool:
    """Whether the unit sees the integrator's answer (its application data holds the keys;
    only their presence is looked at)."""
    info = json.loads(juju.cli("show-unit", unit, "--format", "json"))[unit]
    return any(
        "secret-key" in (rel.get("application-data") or {})
        for rel in info.get("relation-info") or []
        if rel.get("endpoint") == "s3-credentials"
    )


def scheduled_runs(
    juju: jubilant.Juju, lead: str, runs: int, config: dict[str, str | int]
) -> list[dict[str, Any]]:
    """Set a schedule, wait for ``runs`` scheduled runs on the leader (each must succeed),
    then turn the schedule off again (the timer is gone); their outcomes, in order."""
    seen: list[dict[str, Any]] = []

    def ran() -> bool:
        text = juju.exec(f"cat {LAST} 2>/dev/null || true", unit=lead).stdout.strip()
        if text:
            last = json.loads(text)
            assert last["ok"], last
            if all(o["backup_id"] != last["backup_id"] for o in seen):
                seen.append(last)
        return len(seen) >= runs

    juju.config(APP, config)
    juju.wait(lambda _: ran(), timeout=180, delay=1)
    juju.config(APP, {"backup_schedule": ""})
    juju.wait(
        lambda _: juju.exec(f"test -e {TIMER} && echo timer || true", unit=lead).stdout == "",
        timeout=120,
        delay=1,
    )
    return seen


def test_backups_go_to_s3_once_related(juju: jubilant.Juju, s3: S3Server) -> None:
    juju.integrate(f"{APP}:s3-credentials", S3_APP)
    lead = leader(juju)
    units = len(etcd_units(juju.status(), APP))
    juju.wait(
        lambda s: all_healthy(APP, units)(s) and provider_answered(juju, lead),
        error=jubilant.any_error,
        timeout=300,
    )
    assert "backups:" not in etcd_units(juju.status(), APP)[lead].workload_status.message
    put_keys(juju, f"{APP}/0", "s3/", 25)
    created = run(juju, lead, "create-backup")
    bid = created["backup-id"]
    assert created["backup"]["location"] == "s3://etcd-backups/prod/"
    # in the bucket, read through SeaweedFS's filer (not S3): the archive and its record
    assert {f"{bid}.tar.gz", f"{bid}.json"} <= set(s3.filer_names("/buckets/etcd-backups/prod"))
    stored = s3.filer_get(f"/buckets/etcd-backups/prod/{bid}.tar.gz")
    assert hashlib.sha256(stored).hexdigest() == created["backup"]["sha256"]
    record = json.loads(s3.filer_get(f"/buckets/etcd-backups/prod/{bid}.json"))
    assert record["kind"] == "manual" and record["application"] == APP
    listed = run(juju, lead, "list-backups")
    assert "backups in s3://etcd-backups/prod/:" in listed["backups"]
    assert listed["newest"] == bid
    # scheduled backups go to the bucket too, and the retention prunes them there
    seen = scheduled_runs(juju, lead, 3, {"backup_schedule": "*:*:0/5", "backup_retention": 1})
    assert all(o["location"] == "s3://etcd-backups/prod/" for o in seen), seen
    kinds = {
        name[: -len(".json")]: json.loads(s3.filer_get(f"/buckets/etcd-backups/prod/{name}"))[
            "kind"
        ]
        for name in s3.filer_names("/buckets/etcd-backups/prod")
        if name.endswith(".json")
    }
    scheduled = sorted(i for i, kind in kinds.items() if kind == "scheduled")
    assert len(scheduled) == 1 and scheduled[0] >= seen[-1]["backup_id"], (scheduled, seen)
    assert kinds[bid] == "manual"  # a manual backup is never pruned
    put_keys(juju, f"{APP}/0", "s3-after/", 5)
    old_id = cluster_id(juju, lead)
    restored = run(juju, lead, "restore", **{"backup-id": bid})
    assert restored["restore"]["source"] == f"backup {bid} in s3://etcd-backups/prod/"
    juju.wait(all_healthy(APP, units), error=jubilant.any_error, timeout=600, delay=2)
    for unit in etcd_units(juju.status(), APP):
        assert cluster_id(juju, unit) != old_id
        assert count(juju, unit, "s3/") == 25 and count(juju, unit, "s3-after/") == 0, unit
    no_secret_anywhere(juju, s3, [created, listed, restored])


def test_restore_on_five_units(juju: jubilant.Juju, archive: dict[str, Any]) -> None:
    juju.add_unit(APP, num_units=2)
    juju.wait(all_healthy(APP, 5), error=jubilant.any_error, timeout=600)
    put_keys(juju, f"{APP}/0", "after/", 30)
    old_id = cluster_id(juju, f"{APP}/0")
    # this time from a file on the leader (path), not the resource
    juju.scp(archive["local"], f"{leader(juju)}:/home/ubuntu/snapshot.tar.gz")
    start = time.monotonic()
    results = run(juju, f"{APP}/leader", "restore", path="/home/ubuntu/snapshot.tar.gz")
    assert results["restore"]["source"] == "/home/ubuntu/snapshot.tar.gz"
    assert "backup" not in results  # skip-backup defaults to true, as in the old charm
    restore_quarantined(juju, APP, 5, old_id, "quarantine-5")
    print(f"\nrestore on 5 units: all healthy after {time.monotonic() - start:.1f}s")


@pytest.mark.skipif(not LOCAL, reason="kill-machine is a local-model fault")
def test_total_loss_a_new_application_restores_from_s3(
    juju: jubilant.Juju, etcd_charm: str, s3: S3Server
) -> None:
    """Every machine of the application lost: a new application related to the same
    integrator lists the old one's backups in the bucket and restores the newest; every key
    of that backup is back."""
    lead = leader(juju)
    put_keys(juju, f"{APP}/0", "dr/", 40)
    created = run(juju, lead, "create-backup")
    keys = int(created["backup"]["keys"])
    for unit in etcd_units(juju.status(), APP):
        juju.cli("kill-machine", unit)
    juju.deploy(etcd_charm, DR)
    juju.integrate(f"{DR}:certificates", "easyrsa:client")
    juju.integrate(f"{DR}:s3-credentials", S3_APP)
    juju.wait(all_healthy(DR, 1), error=jubilant.any_error, timeout=600)
    listed = run(juju, f"{DR}/0", "list-backups")
    assert created["backup-id"] in listed["backups"] and listed["newest"] == created["backup-id"]
    start = time.monotonic()
    restored = run(juju, f"{DR}/0", "restore", **{"backup-id": created["backup-id"]})
    took = time.monotonic() - start
    assert restored["restore"]["keys"] == str(keys)
    juju.wait(all_healthy(DR, 1), error=jubilant.any_error, timeout=300)
    assert count(juju, f"{DR}/0", "dr/") == 40
    assert count(juju, f"{DR}/0", "") == keys
    print(f"\ntotal loss: restore from S3 into a new application took {took:.1f}s")

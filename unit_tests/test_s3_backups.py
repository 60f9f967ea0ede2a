"""The S3 backup store: the s3 relation's data as s3-integrator writes it (s3_relation.py,
pure tables), and backups recorded, listed, fetched and pruned in a real S3 server
(SeaweedFS, tests/s3_server.py) through S3Store, checked a second way through its filer."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcd_charm import backups, s3_relation
from etcd_charm import snapshot as snap
from etcd_charm.backup_store import S3Store, StoreError
from etcd_charm.s3_client import S3Client, S3Config
from tests.s3_server import S3Server, s3_server

from .fixtures import DATA

DB = DATA / "snapshots" / "etcd-3.5.16.db"
UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 12, 5, 2, 0, 0, tzinfo=UTC)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def provider(**changes: str) -> dict[str, str]:
    """What s3-integrator (track 1) writes into its application bag: plain strings, JSON
    lists for attributes and tls-ca-chain, and ``data``, its copy of ours."""
    data = {
        "bucket": "etcd-backups",
        "access-key": "AKIAEXAMPLE",
        "secret-key": "s3cr3t/KEY",
        "endpoint": "http://10.1.2.3:8333/",
        "region": "eu-west-1",
        "path": "/clusters/prod/",
        "s3-uri-style": "path",
        "data": json.dumps({"bucket": "relation-7"}),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != "-"}


def test_the_provider_s_data_becomes_a_store_under_its_path() -> None:
    store, problem = s3_relation.parse(provider())
    assert problem == "" and store is not None
    c = store.config
    assert (c.endpoint, c.bucket, c.region, c.uri_style) == (
        "http://10.1.2.3:8333",
        "etcd-backups",
        "eu-west-1",
        "path",
    )
    assert (c.access_key, c.secret_key, c.ca_chain) == ("AKIAEXAMPLE", "s3cr3t/KEY", ())
    assert store.prefix == "clusters/prod/"
    assert store.location == "s3://etcd-backups/clusters/prod/"
    assert "s3cr3t" not in repr(store) and "AKIA" not in repr(store)
    assert s3_relation.S3Store.from_job(store.job()) == store


@pytest.mark.parametrize(
    ("changes", "want"),
    [
        ({"access-key": "-"}, "waiting for the S3 provider's access-key"),
        ({"bucket": "-", "secret-key": ""}, "waiting for the S3 provider's bucket, secret-key"),
        ({"s3-api-version": "2"}, "s3-api-version 2 is not supported"),
        ({"endpoint": "ftp://x"}, "the S3 provider's data is not usable: the S3 endpoint"),
        ({"tls-ca-chain": json.dumps(["bm90IGEgY2VydA=="])}, "base64 of something else"),
        ({"s3-uri-style": "virtual"}, "is neither 'path' nor 'host'"),
    ],
)
def test_incomplete_or_unusable_data_says_why(changes: dict[str, str], want: str) -> None:
    store, problem = s3_relation.parse(provider(**changes))
    assert store is None and want in problem


def test_defaults_and_the_ca_chain_in_either_encoding() -> None:
    store, _ = s3_relation.parse(
        provider(**{"endpoint": "-", "region": "", "path": "-", "s3-uri-style": "-"})
    )
    assert store is not None
    assert store.config.endpoint == "https://s3.amazonaws.com"
    assert (store.config.region, store.config.uri_style, store.prefix) == ("us-east-1", "host", "")
    b64 = base64.b64encode(PEM.encode()).decode()
    for chain in (json.dumps([PEM]), json.dumps([b64]), PEM):
        store, problem = s3_relation.parse(provider(**{"tls-ca-chain": chain}))
        assert problem == "" and store is not None
        assert store.config.ca_chain == (PEM + "\n",)
    store, _ = s3_relation.parse(provider(**{"s3-api-version": "4"}))
    assert store is not None


def test_the_requested_bucket_is_the_v0_library_s_default() -> None:
    assert s3_relation.requested_bucket(7) == "relation-7"
    assert s3_relation.requested_bucket("s3-credentials:7") == "relation-7"


# --- a real server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with s3_server() as s:
        yield s


def store_of(server: S3Server, bucket: str, prefix: str = "etcd/") -> S3Store:
    config = S3Config(server.endpoint, bucket, server.access_key, server.secret_key)
    return S3Store(S3Client(config), prefix)


def archive(tmp_path: Path, name: str) -> snap.Written:
    meta = snap.Meta("3.5.16", 2, 9, "cdf8a14ad7e9c732", 3, "2026-12-05T02:00:00Z", "etcd/0",
                     "", 0, keys=1)  # fmt: skip
    (tmp_path / "w").mkdir(exist_ok=True)
    return snap.write_archive(str(tmp_path / "w" / name), str(DB), meta)


def test_backups_round_trip_through_s3(server: S3Server, tmp_path: Path) -> None:
    store = store_of(server, "round-trip")
    assert store.names() == []  # no bucket yet: nothing, not an error
    written = archive(tmp_path, "a.tar.gz")
    b = backups.record(store, written, "scheduled", "m-1", "etcd", T0)
    assert store.location == "s3://round-trip/etcd/"
    # in the bucket under the prefix, as the filer (not S3) sees it: the archive, its record
    assert server.filer_names("/buckets/round-trip/etcd") == sorted(
        [f"{b.id}.json", f"{b.id}.tar.gz"]
    )
    stored = server.filer_get(f"/buckets/round-trip/etcd/{b.id}.tar.gz")
    assert stored == Path(written.path).read_bytes()
    got, path = backups.fetch(store, b.id, str(tmp_path))
    assert got == b and Path(path).read_bytes() == stored
    unpacked = snap.unpack(path, str(tmp_path / "staging"))
    assert unpacked.hash_checked and unpacked.meta == written.meta


def test_retention_and_listing_in_s3(server: S3Server, tmp_path: Path) -> None:
    store = store_of(server, "retention", prefix="")
    ids = []
    for i in range(4):
        when = T0 + datetime.timedelta(hours=i)
        w = archive(tmp_path, f"{i}.tar.gz")
        ids.append(backups.record(store, w, "scheduled", "m-1", "etcd", when).id)
    assert backups.prune(store, 2, "m-1", "etcd") == ids[:2]
    assert [b.id for b in backups.listing(store).backups] == ids[2:]
    assert sorted(server.filer_names("/buckets/retention")) == sorted(
        f"{i}{ext}" for i in ids[2:] for ext in (".json", ".tar.gz")
    )


def test_a_corrupted_object_is_refused_on_fetch(server: S3Server, tmp_path: Path) -> None:
    """SeaweedFS does not check the payload hash: the recorded sha256 does."""
    store = store_of(server, "corrupt")
    b = backups.record(store, archive(tmp_path, "a.tar.gz"), "manual", "m-1", "etcd", T0)
    other = tmp_path / "other"
    other.write_bytes(b"not the archive")
    store.client.put_file(f"etcd/{b.id}.tar.gz", str(other), snap.sha256_file(str(other)))
    with pytest.raises(backups.BackupError, match="corrupt in the store or in transit"):
        backups.fetch(store, b.id, str(tmp_path))


def test_refused_credentials_are_a_store_error_without_the_keys(
    server: S3Server, tmp_path: Path
) -> None:
    config = S3Config(server.endpoint, "refused", server.access_key, "wrong-secret-123")
    store = S3Store(S3Client(config), "")
    with pytest.raises(StoreError) as e:
        backups.record(store, archive(tmp_path, "a.tar.gz"), "manual", "m", "etcd", T0)
    assert "refused the credentials" in str(e.value)
    assert "wrong-secret-123" not in str(e.value) and server.access_key not in str(e.value)

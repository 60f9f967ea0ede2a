"""The continuous-writes checker of the integration tests detects what it must: a lost or
altered acknowledged write, failed and retried requests, the longest gap."""

from __future__ import annotations

from typing import Any

from tests.writes import ContinuousWrites, gw, longest_gap, percentile


class Store:
    """One in-memory keyspace behind several endpoints; ``down`` endpoints fail puts."""

    def __init__(self) -> None:
        self.kv: dict[str, str] = {}
        self.down: set[str] = set()


class Client:
    def __init__(self, store: Store, endpoints: list[str]) -> None:
        self.store = store
        self.endpoints = endpoints

    def put(self, key: str, value: str) -> int:
        if self.endpoints[0] in self.store.down:
            raise gw.EtcdError(f"{self.endpoints[0]}: connection refused")
        self.store.kv[key] = value
        return len(self.store.kv)

    def scan_prefix(self, prefix: bytes, deadline: float | None = None) -> tuple[list, int]:
        kvs = [
            gw.KeyValue(k.encode(), v.encode(), 0, 0, 1)
            for k, v in sorted(self.store.kv.items())
            if k.encode().startswith(prefix)
        ]
        return kvs, 0

    def close(self) -> None:
        pass

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class Creds:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.endpoints = ("https://a:2379", "https://b:2379")

    def client(self, endpoints: list[str] | None = None, timeout: float = 2.0) -> Any:
        return Client(self.store, endpoints or list(self.endpoints))


def run(store: Store, writes: int) -> ContinuousWrites:
    cw = ContinuousWrites(Creds(store), "cw/t", max_writes=writes, interval=0.0)  # type: ignore[arg-type]
    cw.start()
    assert cw._thread is not None
    cw._thread.join(timeout=10)
    return cw


def test_every_acknowledged_write_is_found() -> None:
    store = Store()
    report = run(store, 50).stop()
    assert report.acknowledged == 50 and report.lost == [] and report.wrong == []
    assert report.failed == report.retried == 0


def test_a_down_endpoint_counts_as_failed_and_retried_writes() -> None:
    store = Store()
    store.down.add("https://a:2379")
    report = run(store, 10).stop()
    # the first write fails on a, then b answers every write (it answered last)
    assert report.acknowledged == 10 and report.failed == 1 and report.retried == 1


def test_a_lost_or_altered_write_is_reported() -> None:
    store = Store()
    cw = run(store, 20)
    del store.kv["cw/t/00000003"]
    store.kv["cw/t/00000007"] = "x"
    report = cw.stop()
    assert report.lost == [3] and report.wrong == [7]


def test_percentile_and_gap() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0
    assert percentile([], 99) == 0.0
    assert longest_gap(0.0, [1.0, 1.5, 4.0], 4.5) == 2.5


def test_an_endpoint_that_loses_its_gateway_is_written_through_etcdctl(
    monkeypatch: Any,
) -> None:
    """A member moved from the Debian package to the snap answers 404 on the JSON gateway:
    the checker keeps writing to it through etcdctl."""
    import tests.writes as writes

    store = Store()

    class NoGateway(Client):
        def put(self, key: str, value: str) -> int:
            raise gw.EtcdError(f"{self.endpoints[0]}/v3/kv/put: HTTP 404: 404 page not found")

    through_etcdctl: list[list[str]] = []

    def etcdctl_client(endpoints: list[str], creds: Any, timeout: float) -> Client:
        through_etcdctl.append(endpoints)
        return Client(store, endpoints)

    monkeypatch.setattr(writes, "EtcdctlClient", etcdctl_client)
    creds = Creds(store)
    monkeypatch.setattr(
        creds, "client", lambda endpoints=None, timeout=2.0: NoGateway(store, endpoints or [])
    )
    cw = ContinuousWrites(creds, "cw/t", max_writes=10, interval=0.0)  # type: ignore[arg-type]
    cw.start()
    assert cw._thread is not None
    cw._thread.join(timeout=10)
    report = cw.stop(verify_with=Creds(store))  # type: ignore[arg-type]
    assert through_etcdctl == [["https://a:2379"]]  # the endpoint that answered 404, once
    assert report.acknowledged == 10 and report.lost == []
    assert report.failed == 1 and report.retried == 1

"""A real Prometheus server (Debian's ``prometheus`` package, installed by scripts/setup),
started by a test on the test host with the scrape jobs the etcd charm published on the
``prometheus`` relation (interface prometheus-manual), as a consumer turns them into its
configuration: each job named ``<job_name>-<request_id>``, the CA, client certificate and key
written to files whose paths go into the job's ``tls_config`` (``JobRequest.to_json``)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

BINARY = "/usr/bin/prometheus"


def scrape_config(request: dict[str, Any], directory: Path) -> dict[str, Any]:
    """A job request as the consumer configures it."""
    job = json.loads(json.dumps(request["job_data"]))
    job["job_name"] = f"{request['job_name']}-{request['request_id']}"
    paths = {}
    for field, name in (
        ("ca_cert", "ca_file"),
        ("client_cert", "cert_file"),
        ("client_key", "key_file"),
    ):
        if request.get(field):
            path = directory / f"{request['request_id']}-{name}.pem"
            path.write_text(request[field])
            path.chmod(0o600)
            paths[name] = str(path)
    if "tls_config" in job:
        job["tls_config"].update(paths)
    return job


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (raises on a PromQL error)."""
        q = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded alerting rule (``/api/v1/rules``): name, query, state, health."""
        with urllib.request.urlopen(f"{self.url}/api/v1/rules?type=alert", timeout=10) as r:
            groups = json.loads(r.read())["data"]["groups"]
        return [rule for g in groups for rule in g["rules"]]

    def targets(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=10) as r:
            return list(json.loads(r.read())["data"]["activeTargets"])


@contextmanager
def prometheus(
    requests: list[dict[str, Any]],
    directory: Path,
    scrape_configs: list[dict[str, Any]] | None = None,
    rule_groups: list[dict[str, Any]] | None = None,
) -> Iterator[Prometheus]:
    """A Prometheus scraping every second with these job requests (and ``scrape_configs`` as
    they are), evaluating ``rule_groups`` (Prometheus rule groups) every second; stopped
    afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [scrape_config(r, directory) for r in requests]
        + list(scrape_configs or []),
    }
    if rule_groups:
        (directory / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups}))
        config["rule_files"] = [str(directory / "rules.yml")]
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log = open(directory / "prometheus.log", "w")
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "prometheus did not start: " + (directory / "prometheus.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

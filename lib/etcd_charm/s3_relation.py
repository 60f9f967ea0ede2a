"""The ``s3-credentials`` relation (interface ``s3``, v0), the requirer's side, pure: what the
leader asks for and how the provider's answer becomes an S3 store.

As Canonical's data charms do it (data-platform-libs ``v0/s3.py``, docs/backup-research.md
section 1): both sides write their **application** bag. The requirer's leader writes
``bucket`` (the library's default ``relation-<id>``); the provider (s3-integrator) answers,
once ``bucket`` appeared, with ``bucket`` (its own config's, or ours), ``access-key``,
``secret-key`` and the optional ``endpoint``, ``region``, ``path``, ``s3-uri-style``,
``tls-ca-chain``, ``s3-api-version``, ``storage-class``, ``attributes``; it also keeps a copy
of our data under ``data``, which is ignored. Values are read as the library reads them:
JSON when they parse as JSON, else the plain string (``tls-ca-chain`` is a JSON list of PEM
texts, or of their base64 as the interface's spec words it: both are accepted).

Defaults where the provider says nothing, as the mysql charm's backups take them: endpoint
``https://s3.amazonaws.com``, region ``us-east-1``, no path; ``s3-uri-style`` ``path``
unless the endpoint is AWS's (``host``). Signature version 2 is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .s3_errors import S3Error

if TYPE_CHECKING:  # the client (http.client, ssl, xml) is imported where it is used
    from .s3_client import S3Config

ENDPOINT = "s3-credentials"
REQUIRED = ("bucket", "access-key", "secret-key")
AWS_ENDPOINT = "https://s3.amazonaws.com"


def requested_bucket(relation_id: int | str) -> str:
    """The bucket the leader asks for: the v0 library's default, ``relation-<id>`` with the
    relation's number (``s3-credentials:7`` -> ``relation-7``); the provider's own ``bucket``
    config, when set, wins (set it there to find the backups of an application that is
    gone)."""
    return f"relation-{str(relation_id).rsplit(':', 1)[-1]}"


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _pem(item: str) -> str:
    text = item.strip()
    if "-----BEGIN" in text:
        return text + "\n"
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("an item of tls-ca-chain is neither PEM nor base64 of PEM") from None
    if "-----BEGIN" not in decoded:
        raise ValueError("an item of tls-ca-chain is base64 of something else than PEM")
    return decoded.strip() + "\n"


@dataclass(frozen=True)
class S3Store:
    """What the provider gave: the client's config and the prefix our objects go under."""

    config: S3Config
    prefix: str  # "" or "path/" (the relation's path, stripped of slashes)

    @property
    def location(self) -> str:
        return f"s3://{self.config.bucket}/{self.prefix}"

    def job(self) -> dict[str, Any]:
        """The store as the scheduled backup's job file keeps it (root's, 0600: it holds
        the keys)."""
        c = self.config
        return {
            "kind": "s3",
            "endpoint": c.endpoint,
            "bucket": c.bucket,
            "region": c.region,
            "uri_style": c.uri_style,
            "ca_chain": list(c.ca_chain),
            "access_key": c.access_key,
            "secret_key": c.secret_key,
            "prefix": self.prefix,
        }

    @classmethod
    def from_job(cls, d: Mapping[str, Any]) -> S3Store:
        from .s3_client import S3Config

        config = S3Config(
            endpoint=str(d["endpoint"]),
            bucket=str(d["bucket"]),
            access_key=str(d["access_key"]),
            secret_key=str(d["secret_key"]),
            region=str(d["region"]),
            uri_style=str(d["uri_style"]),
            ca_chain=tuple(str(p) for p in d.get("ca_chain") or ()),
        )
        return cls(config, str(d.get("prefix", "")))


def parse(app_data: Mapping[str, str]) -> tuple[S3Store | None, str]:
    """The provider's application data -> (the store, "") or (None, what is missing or
    wrong, for the status)."""
    data = {k: _value(v) for k, v in app_data.items() if k != "data"}
    missing = [k for k in REQUIRED if not str(data.get(k) or "").strip()]
    if missing:
        return None, "waiting for the S3 provider's " + ", ".join(missing)
    version = str(data.get("s3-api-version") or "").strip()
    if version and version not in ("4", "auto"):
        return None, (
            f"s3-api-version {version} is not supported: the charm signs with AWS Signature "
            "Version 4 (set s3-api-version=4 on the S3 integrator)"
        )
    endpoint = str(data.get("endpoint") or AWS_ENDPOINT).strip().rstrip("/")
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    style = str(data.get("s3-uri-style") or "").strip()
    if not style or style == "auto":
        style = "host" if host.endswith("amazonaws.com") else "path"
    from .s3_client import S3Config

    chain = data.get("tls-ca-chain") or []
    if isinstance(chain, str):
        chain = [chain]
    try:
        pems = tuple(_pem(str(p)) for p in chain if str(p).strip())
        config = S3Config(
            endpoint=endpoint,
            bucket=str(data["bucket"]).strip().strip("/"),
            access_key=str(data["access-key"]).strip(),
            secret_key=str(data["secret-key"]).strip(),
            region=str(data.get("region") or "").strip() or "us-east-1",
            uri_style=style,
            ca_chain=pems,
        )
    except (ValueError, S3Error) as e:
        return None, f"the S3 provider's data is not usable: {e}"
    path = str(data.get("path") or "").strip().strip("/")
    return S3Store(config, f"{path}/" if path else ""), ""

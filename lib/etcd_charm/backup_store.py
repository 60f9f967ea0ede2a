"""Where backups are kept: a directory on the unit (:class:`LocalStore`), or an S3 bucket
(``S3Store``, over the ``s3-credentials`` relation). Both hold the same layout
(:mod:`backup_catalog`); :mod:`backups` is written against :class:`Store` only.

A store is told object names relative to its prefix. Nothing here decides what a backup is.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Protocol

from .s3_errors import S3Error

if TYPE_CHECKING:  # the client is imported by whoever makes one
    from .s3_client import S3Client
from .workload import atomic_file

#: this unit's backup store: the snap's common directory (kept across snap refreshes; the
#: pre-upgrade snapshots are kept there too, under other names)
LOCAL_DIR = "/var/snap/etcd/common/backups"
#: a backup's metadata is small; anything larger in its place is not ours
SMALL_OBJECT = 1 << 20


class StoreError(Exception):
    """The store could not do what was asked; the message is for the operator (it never
    holds a credential)."""


class Store(Protocol):
    #: where the store is, as the operator reads it (``etcd/0:/var/snap/...``, ``s3://b/p``)
    location: str

    def names(self) -> list[str]:
        """Every object name under the prefix (relative to it)."""
        ...

    def put_file(self, name: str, path: str, sha256: str) -> None:
        """Store the file at ``path`` (whose sha256 the caller computed) as ``name``; the
        file may be moved into place rather than copied."""
        ...

    def put_bytes(self, name: str, data: bytes) -> None: ...

    def fetch(self, name: str, workdir: str) -> tuple[str, str | None]:
        """A local path holding ``name`` (in ``workdir`` when it had to be downloaded) and
        the sha256 of what was transferred (None when nothing was: a local file)."""
        ...

    def get_bytes(self, name: str) -> bytes: ...

    def delete(self, name: str) -> None:
        """Remove ``name``; a name that is not there is not an error."""
        ...


class LocalStore:
    """A directory on this unit (0700, root's); its files are 0600."""

    def __init__(self, directory: str, unit: str) -> None:
        self.directory = directory
        self.location = f"{unit}:{directory}"

    def _path(self, name: str) -> str:
        if not name or "/" in name or name.startswith("."):
            raise StoreError(f"{name!r} is not a name in the backup directory")
        return os.path.join(self.directory, name)

    def names(self) -> list[str]:
        try:
            return sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StoreError(f"cannot list {self.directory}: {e.strerror}") from None

    def _ensure(self) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)

    def put_file(self, name: str, path: str, sha256: str) -> None:
        dest = self._path(name)
        self._ensure()
        try:
            if os.stat(path).st_dev == os.stat(self.directory).st_dev:
                os.chmod(path, 0o600)
                os.replace(path, dest)
                return
            with open(path, "rb") as src, atomic_file(dest, 0o600) as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except OSError as e:
            raise StoreError(f"cannot write {dest}: {e.strerror}") from None

    def put_bytes(self, name: str, data: bytes) -> None:
        dest = self._path(name)
        self._ensure()
        try:
            with atomic_file(dest, 0o600) as out:
                out.write(data)
        except OSError as e:
            raise StoreError(f"cannot write {dest}: {e.strerror}") from None

    def fetch(self, name: str, workdir: str) -> tuple[str, str | None]:
        path = self._path(name)
        if not os.path.isfile(path):
            raise StoreError(f"{path} is not there")
        return path, None

    def get_bytes(self, name: str) -> bytes:
        path = self._path(name)
        try:
            if os.path.getsize(path) > SMALL_OBJECT:
                raise StoreError(f"{path} is too large to be a backup's metadata")
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror}") from None

    def delete(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise StoreError(f"cannot remove {self._path(name)}: {e.strerror}") from None


class S3Store:
    """An S3 bucket, under the prefix the relation gave (``path/``, or none); the bucket is
    created when it is missing (as the data charms do), once per store object."""

    def __init__(self, client: S3Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.location = f"s3://{client.config.bucket}/{prefix}"
        self._ready = False

    def _key(self, name: str) -> str:
        if not name or "/" in name:
            raise StoreError(f"{name!r} is not a name in the backup store")
        return self.prefix + name

    def _bucket(self) -> None:
        if not self._ready:
            try:
                self.client.ensure_bucket()
            except S3Error as e:
                raise StoreError(str(e)) from None
            self._ready = True

    def names(self) -> list[str]:
        try:
            objects = self.client.list(self.prefix)
        except S3Error as e:
            if e.code == "NoSuchBucket":
                return []
            raise StoreError(str(e)) from None
        cut = len(self.prefix)
        return sorted(o.key[cut:] for o in objects if "/" not in o.key[cut:])

    def put_file(self, name: str, path: str, sha256: str) -> None:
        self._bucket()
        try:
            self.client.put_file(self._key(name), path, sha256)
        except S3Error as e:
            raise StoreError(str(e)) from None

    def put_bytes(self, name: str, data: bytes) -> None:
        self._bucket()
        try:
            self.client.put_bytes(self._key(name), data)
        except S3Error as e:
            raise StoreError(str(e)) from None

    def fetch(self, name: str, workdir: str) -> tuple[str, str | None]:
        dest = os.path.join(workdir, name)
        try:
            _, digest = self.client.get_file(self._key(name), dest)
        except S3Error as e:
            raise StoreError(str(e)) from None
        return dest, digest

    def get_bytes(self, name: str) -> bytes:
        try:
            return self.client.get_bytes(self._key(name), SMALL_OBJECT)
        except S3Error as e:
            raise StoreError(str(e)) from None

    def delete(self, name: str) -> None:
        try:
            self.client.delete(self._key(name))
        except S3Error as e:
            raise StoreError(str(e)) from None

"""Where uploaded files live: a small storage interface and its local-directory implementation.

    from app.storage import content_key, get_storage
    key = content_key(data)                      # the SHA-256 of the bytes, hex
    get_storage().put(key, data, "image/jpeg")   # idempotent: the same key always holds the same bytes
    get_storage().get(key)                       # bytes; StorageKeyMissing when absent
    get_storage().delete(key)

Keys are content hashes (64 lowercase hex digits), so identical files share one stored
object and a key can never name anything outside the store (no path traversal: anything
else is refused with ValueError). `LocalStorage` keeps each object at
`<ATTACHMENT_DIR>/ab/cd/<key>` (two levels of subdirectories keep directories small) and
writes atomically (a temporary file in the same directory, fsync, then `os.replace`), so a
reader or a crash never sees half a file. It keeps no content type: the database row that
names a key knows it.

The interface is what an S3-compatible store (MinIO, a cloud object store) would implement
later: `put` → PutObject (with ContentType), `get`/`open` → GetObject, `delete` →
DeleteObject, `exists` → HeadObject. `get_storage()` is the one place that chooses the
class; a STORAGE setting (e.g. "s3://bucket/prefix") would be read there. Callers never
touch paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO

from flask import current_app

KEY_RE = re.compile(r"^[0-9a-f]{64}$")


class StorageKeyMissing(KeyError):
    """No object is stored under the key."""


def content_key(data: bytes) -> str:
    """The storage key of `data`: its SHA-256, hex."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise ValueError("a storage key is 64 lowercase hex digits (a SHA-256)")
    return key


class Storage(ABC):
    """Content-addressed object storage. Every method takes a key from `content_key`."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key` (a no-op when the key is already stored: same key, same bytes)."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object (the caller closes it); StorageKeyMissing."""

    def get(self, key: str) -> bytes:
        """The object's bytes; StorageKeyMissing."""
        with self.open(key) as stream:
            return stream.read()

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the object; False when there was none (deleting twice is harmless)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""


class LocalStorage(Storage):
    """Objects as files under `root`, at root/ab/cd/<key>."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        target = self.path(key)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            raise StorageKeyMissing(key) from None

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def get_storage() -> Storage:
    """The current app's attachment storage (LocalStorage under ATTACHMENT_DIR)."""
    app = current_app
    root = app.config["ATTACHMENT_DIR"]
    storage = app.extensions.get("attachment_storage")
    if storage is None or storage.root != Path(root).resolve():
        storage = LocalStorage(root)
        app.extensions["attachment_storage"] = storage
    return storage

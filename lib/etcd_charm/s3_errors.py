"""The S3 client's error, apart from the client: modules that catch it do not import the client
(``http.client``, ``ssl``, ``xml``) in every hook."""

from __future__ import annotations

__all__ = ["S3Error"]


class S3Error(Exception):
    """An S3 request failed; ``str()`` is the operator-facing explanation. ``status`` is the
    HTTP status (None when no response came) and ``code`` the S3 error code, if any."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

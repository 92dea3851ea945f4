"""Keep secrets out of the logs of exchangelib and the HTTP/OAuth libraries under it.

At DEBUG level exchangelib logs every request's headers (``Authorization: Basic <base64 user:password>``, NTLM
messages, ``Bearer <token>``) and requests_oauthlib logs the token request body (``client_secret=...``) and the
token. A filter on those loggers masks them with :func:`ground.secrets.mask_secrets` before any handler
formats the record: authorization headers, URL passwords, OAuth secrets and tokens, and the run's own secret
in every form it travels in (plain, URL-encoded, Basic-encoded) where it stands as a whole token.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

from ground.secrets import mask_secrets

LOGGER_PREFIXES = ("exchangelib", "requests_oauthlib", "oauthlib", "requests_ntlm", "urllib3", "requests")


class SecretFilter(logging.Filter):
    """Rewrites each record's message with secrets masked (the record's args are merged into the text)."""

    def __init__(self) -> None:
        super().__init__("commhealth-secrets")
        self._lock = threading.Lock()
        self._secrets: dict[str, int] = {}  # secret form -> number of runs using it

    def redact(self, text: str) -> str:
        with self._lock:
            forms = list(self._secrets)
        return mask_secrets(text, forms)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record must still not leak; keep its raw template
            message = str(record.msg)
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    @contextmanager
    def hiding(self, secret: str, username: str | None = None) -> Iterator[None]:
        """Mask `secret` (and its encodings) in these loggers for the duration of the block."""
        forms = _forms(secret, username)
        with self._lock:
            for form in forms:
                self._secrets[form] = self._secrets.get(form, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for form in forms:
                    self._secrets[form] -= 1
                    if not self._secrets[form]:
                        del self._secrets[form]


def _forms(secret: str, username: str | None) -> set[str]:
    if not secret:
        return set()
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    if username:
        forms.add(base64.b64encode(f"{username}:{secret}".encode()).decode())
    return forms


SECRET_FILTER = SecretFilter()


def install() -> SecretFilter:
    """Attach the filter to every existing logger of those libraries (they create their loggers on import)."""
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in LOGGER_PREFIXES]
    for name in {*names, *LOGGER_PREFIXES, __package__ or "connectors.exchange"}:
        logger = logging.getLogger(name)
        if SECRET_FILTER not in logger.filters:
            logger.addFilter(SECRET_FILTER)
    return SECRET_FILTER

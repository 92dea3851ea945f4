"""A thin Microsoft Graph client: an app-only token from msal, and GET with retries.

- Token: the OAuth 2.0 client-credentials grant through ``msal.ConfidentialClientApplication`` against
  ``{authority}/{tenant_id}`` (no instance discovery, so only that authority is contacted). Refused credentials
  (``invalid_client``, ``unauthorized_client``) raise :class:`SourceAuthError` at once.
- Retries: 429, 503 and 504 wait as long as ``Retry-After`` says (seconds or an HTTP date); other 5xx and
  transport errors back off exponentially; at most ``max_retries`` retries, then :class:`GraphError`.
  A 401 refreshes the token once (it may have expired during a long run); a second 401 is an auth error.
- Secrets: the client secret only goes to msal, the access token only into the ``Authorization`` header, and
  only to the configured Graph host (links from answers are checked first). Errors and logs carry the client
  and tenant ids, the HTTP status and Graph's error code, never a secret, a token or a response body.
- TLS: httpx and msal (requests) verify certificates against the system bundle; a private CA (a TLS-inspecting
  proxy, a test server) is given by ``SSL_CERT_FILE`` (httpx) and ``REQUESTS_CA_BUNDLE`` (msal).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
import msal

from connectors.base import SourceAuthError, SourceError
from ground.config import GraphApp

from .settings import (
    AUTH_ERRORS,
    BACKOFF_BASE_SECONDS,
    BACKOFF_MAX_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_RETRY_AFTER_SECONDS,
    MAIL_PERMISSIONS_HINT,
    MAX_RETRY_AFTER_SECONDS,
    READ_TIMEOUT_SECONDS,
    RETRY_AFTER_STATUSES,
    SCOPE,
    USER_AGENT,
)

log = logging.getLogger(__name__)

_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")  # error codes we pass on; anything else is dropped


class GraphError(SourceError):
    """A Graph request failed for good: ``status`` is the last HTTP status (None: no answer), ``code`` Graph's
    error code (e.g. ``SyncStateNotFound``) when the answer had one."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def safe_code(value: object) -> str | None:
    """An error code fit for messages and logs, or None."""
    return value if isinstance(value, str) and _CODE.match(value) else None


def error_code(response: httpx.Response) -> str | None:
    """Graph's ``{"error": {"code": ...}}`` (or an OAuth ``{"error": "..."}``) from an error answer."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("code")
    return safe_code(error)


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date); None if absent or unusable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


class GraphClient:
    """One source's connection to Graph; use as a context manager (it closes its HTTP connections)."""

    def __init__(
        self,
        source: GraphApp,
        client_secret: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        permissions_hint: str = MAIL_PERMISSIONS_HINT,
    ) -> None:
        if not client_secret or not client_secret.strip():
            raise SourceAuthError(f"no client secret for Microsoft Graph {self._describe(source)}")
        self.source = source
        self.api_url = source.api_url.rstrip("/")
        self._api = urlsplit(self.api_url)
        self._secret = client_secret.strip()
        self._sleep = sleep
        self._permissions_hint = permissions_hint
        self._app: msal.ConfidentialClientApplication | None = None
        self._http = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        if self._app is not None:
            self._app.http_client.close()

    @staticmethod
    def _describe(source: GraphApp) -> str:
        return f"client {source.client_id} in tenant {source.tenant_id}"

    @property
    def who(self) -> str:
        return self._describe(self.source)

    # --- token

    def authenticate(self) -> None:
        """Get the first token now, so refused credentials fail before any mailbox is read."""
        self._acquire_token(refresh=False)

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            authority = f"{self.source.authority.rstrip('/')}/{self.source.tenant_id}"
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.source.client_id,
                    client_credential=self._secret,
                    authority=authority,
                    instance_discovery=False,  # talk to the configured authority only
                    azure_region=False,
                    timeout=READ_TIMEOUT_SECONDS,
                    token_cache=msal.TokenCache(),
                )
            except ValueError:
                # msal: the authority is not https, or its OpenID configuration answered 4xx (unknown tenant)
                raise SourceAuthError(
                    f"Microsoft Graph sign-in failed for {self.who}: the authority {authority} has no usable "
                    "OpenID configuration (check authority and tenant_id)"
                ) from None
            except Exception as exc:  # noqa: BLE001 - network errors of requests, 5xx from the authority
                raise SourceError(
                    f"could not reach the Microsoft identity platform at {authority} for {self.who} "
                    f"({type(exc).__name__})"
                ) from None
        return self._app

    def _acquire_token(self, *, refresh: bool) -> str:
        app = self._application()
        if refresh:
            app.remove_tokens_for_client()  # msal would answer from its cache otherwise
        try:
            result: dict[str, Any] = app.acquire_token_for_client(scopes=[SCOPE])
        except Exception as exc:  # noqa: BLE001 - requests errors, 5xx, a non-JSON answer
            raise SourceError(
                f"Microsoft Graph token request for {self.who} failed ({type(exc).__name__})"
            ) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if isinstance(token, str) and token:
            return token
        error = safe_code(result.get("error") if isinstance(result, dict) else None) or "unknown_error"
        if error in AUTH_ERRORS:
            raise SourceAuthError(f"Microsoft Graph refused the app credentials for {self.who}: {error}")
        raise SourceError(f"Microsoft Graph token request for {self.who} failed: {error}")

    # --- requests

    def check_url(self, url: str) -> None:
        """The token only goes to the configured Graph endpoint, whatever a link in an answer says."""
        parts = urlsplit(url)
        same_host = (parts.scheme, parts.netloc.lower()) == (self._api.scheme, self._api.netloc.lower())
        if not same_host or not parts.path.startswith(self._api.path + "/"):
            raise GraphError(
                f"Microsoft Graph gave a link outside {self.api_url} ({parts.scheme}://{parts.netloc}); "
                "refusing to follow it"
            )

    def get(self, url: str, *, what: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET with the token and the retry policy; returns a 2xx answer or raises GraphError/SourceAuthError.

        ``what`` names the request in messages and logs (the URL may hold delta tokens, so it is not logged).
        """
        self.check_url(url)
        retries = 0
        refreshed = False
        while True:
            # msal answers from its cache until the token is about to expire, then gets a new one.
            token = self._acquire_token(refresh=False)
            status: int | None = None
            code: str | None = None
            try:
                response = self._http.get(
                    url, headers={**(headers or {}), "Authorization": f"Bearer {token}"}
                )
            except httpx.TransportError as exc:
                problem = type(exc).__name__
                wait = self._backoff(retries)
            else:
                status = response.status_code
                if status < 400:
                    return response
                code = error_code(response)
                problem = f"HTTP {status}" + (f" {code}" if code else "")
                if status == 401:
                    if not refreshed:
                        log.info("Microsoft Graph %s: token refused (%s); getting a new one", what, problem)
                        refreshed = True
                        self._acquire_token(refresh=True)
                        continue
                    raise SourceAuthError(
                        f"Microsoft Graph refused the access token of {self.who} for {what}: {problem}"
                    )
                if status == 403:
                    raise SourceAuthError(
                        f"Microsoft Graph denied {what} to {self.who}: {problem} ({self._permissions_hint})"
                    )
                if status in RETRY_AFTER_STATUSES:
                    told = retry_after_seconds(response.headers.get("Retry-After"))
                    wait = DEFAULT_RETRY_AFTER_SECONDS if told is None else told
                elif status >= 500:
                    wait = self._backoff(retries)
                else:
                    raise GraphError(f"Microsoft Graph {what} failed: {problem}", status=status, code=code)
            if retries >= self.source.max_retries:
                attempts = f"{retries + 1} attempt" + ("s" if retries else "")
                raise GraphError(
                    f"Microsoft Graph {what} failed: {problem} after {attempts}", status=status, code=code
                )
            retries += 1
            log.warning(
                "Microsoft Graph %s: %s; retry %d of %d in %.1f s",
                what,
                problem,
                retries,
                self.source.max_retries,
                wait,
            )
            self._sleep(wait)

    def get_json(self, url: str, *, what: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        response = self.get(url, what=what, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GraphError(f"Microsoft Graph {what}: the answer is not a JSON object", status=200)
        return body

    @staticmethod
    def _backoff(retries: int) -> float:
        base = min(BACKOFF_BASE_SECONDS * 2**retries, BACKOFF_MAX_SECONDS)
        return base + random.uniform(0, base / 2)

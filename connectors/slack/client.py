"""A configured ``slack_sdk.WebClient`` and the one error type our Slack code raises.

Retries: 429 responses are waited out (``Retry-After`` plus up to 1 s of jitter); 500/503, Slack's transient
error codes (``{"ok": false, "error": "internal_error"}``…) and dropped or timed-out connections are retried with
exponential back-off. The token is only ever sent in the ``Authorization`` header;
slack_sdk redacts that header in its debug logs, and :class:`SlackPublishError` carries only the method name,
Slack's error code and the HTTP status, never the request, the response headers or the token.
"""

from __future__ import annotations

import re
from http.client import IncompleteRead, RemoteDisconnected
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler, default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from ground.secrets import mask_secrets

DEFAULT_API_URL = "https://slack.com/api/"
_ERROR_CODE = re.compile(r"^[a-z0-9_.]{1,80}$")  # Slack error codes; anything else is not passed on
# A conversation id (public or private channel, DM): what a configured channel is when it is not a name.
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
# Answers Slack documents as its own passing trouble (HTTP 200 with ok: false): worth the same retry as a 5xx.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# A connection dropped or stalled: refused or reset (URLError), closed before or while answering, timed out.
_CONNECTION_ERRORS = [URLError, ConnectionError, RemoteDisconnected, IncompleteRead, TimeoutError]


class SlackPublishError(RuntimeError):
    """A Slack Web API call failed; ``error`` is Slack's error code (e.g. ``invalid_auth``)."""

    def __init__(self, method: str, error: str, status: int | None = None) -> None:
        self.method = method
        self.error = error
        self.status = status
        detail = f" (HTTP {status})" if status and status != 200 else ""
        super().__init__(f"Slack API {method} failed: {error}{detail}")


class TransientErrorRetryHandler(RetryHandler):
    """Retries an ``ok: false`` answer whose error is one of Slack's transient codes, like a 5xx."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        body = response.body if response is not None else None
        return isinstance(body, dict) and body.get("ok") is False and body.get("error") in TRANSIENT_ERRORS


def make_client(
    token: str,
    api_url: str = DEFAULT_API_URL,
    *,
    max_retries: int = 3,
    timeout: int = 30,
    backoff: RetryIntervalCalculator = default_interval_calculator,
) -> WebClient:
    """A WebClient for ``api_url`` (which may point at a test server) with rate-limit and error retries.

    ``backoff`` spaces the retries of errors (not of 429s, which wait as long as Slack says).
    """
    if not token or not token.strip():
        raise ValueError("a Slack token is required")
    if not api_url.endswith("/"):
        api_url += "/"  # slack_sdk joins the method name with urljoin
    return WebClient(
        token=token.strip(),
        base_url=api_url,
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=max_retries),
            ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
            TransientErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
            ConnectionErrorRetryHandler(
                max_retry_count=max_retries, interval_calculator=backoff, error_types=_CONNECTION_ERRORS
            ),
        ],
    )


def publish_error(method: str, exc: Exception, token: str | None = None) -> SlackPublishError:
    """Our error for a failed call: the API error code only, with the token scrubbed just in case."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None)
        code = None
        try:
            code = response.get("error")
        except ValueError:  # a binary body
            code = None
        if not isinstance(code, str) or not _ERROR_CODE.match(code):
            code = "ratelimited" if status == 429 else f"http_{status}" if status else "unknown_error"
        return SlackPublishError(method, mask_secrets(code, [token] if token else []), status)
    if isinstance(exc, SlackClientError):
        return SlackPublishError(method, "request_failed")
    return SlackPublishError(method, f"{type(exc).__name__}")

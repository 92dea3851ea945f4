"""Thin exchangelib setup: credentials, configuration, accounts, the fail-fast credential probe, folders."""

from __future__ import annotations

import logging
import time

from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    UTC,
    Account,
    Configuration,
    Credentials,
    FailFast,
    FaultTolerance,
    Identity,
    OAuth2Credentials,
)
from exchangelib.errors import (
    AutoDiscoverFailed,
    ErrorAccessDenied,
    ErrorFolderNotFound,
    ErrorInternalServerTransientError,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    ErrorTooManyObjectsOpened,
    EWSError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.folders import BaseFolder
from exchangelib.protocol import Protocol, RetryPolicy
from exchangelib.version import Version
from oauthlib.oauth2 import OAuth2Error

from connectors.base import SourceAuthError, SourceError
from ground.config import ExchangeSource
from ground.secrets import mask_secrets

from .settings import DISTINGUISHED_FOLDERS, PROBE_ATTEMPTS, PROBE_MAX_SLEEP

log = logging.getLogger(__name__)

# What the server says when it is busy rather than refusing us (FaultTolerance retries these in the real run).
TRANSIENT_ERRORS = (
    ErrorServerBusy,
    ErrorInternalServerTransientError,
    ErrorTimeoutExpired,
    ErrorTooManyObjectsOpened,
)

__all__ = [
    "clear_protocol_cache",
    "connect",
    "fault_tolerance",
    "make_configuration",
    "open_folder",
    "probe_credentials",
]


def clear_protocol_cache() -> None:
    """Forget cached Protocol objects (one per endpoint + credentials) and close their sessions.

    exchangelib caches a Protocol per (endpoint, credentials), and the Protocol keeps the Configuration it was
    first built with: without this, a new Configuration with another retry policy silently reuses the old one.
    """
    Protocol.clear_cache()


def _identity(source: ExchangeSource) -> str:
    """Who is authenticating, for messages: the username, or the OAuth client id."""
    return source.username or source.client_id or "?"


def _where(source: ExchangeSource) -> str:
    return source.endpoint or "autodiscover"


def make_configuration(
    source: ExchangeSource,
    secret: str,
    *,
    mailbox: str,
    retry_policy: RetryPolicy,
    version: Version | None = None,
) -> Configuration:
    """A Configuration for one mailbox (OAuth2 credentials carry the mailbox as their identity).

    `version` skips exchangelib's version probe; it is meant for tests, the server reports its version otherwise.
    """
    if source.auth == "oauth2":
        credentials = OAuth2Credentials(
            client_id=source.client_id,
            client_secret=secret,
            tenant_id=source.tenant_id,
            identity=Identity(primary_smtp_address=mailbox),
        )
        auth_type = None  # exchangelib sets OAUTH2 for OAuth2 credentials
    else:
        credentials = Credentials(source.username, secret)
        auth_type = NTLM if source.auth == "ntlm" else BASIC
    return Configuration(
        service_endpoint=source.endpoint if not source.autodiscover or source.endpoint else None,
        credentials=credentials,
        auth_type=auth_type,
        version=version,
        retry_policy=retry_policy,
        max_connections=1,
    )


def connect(
    source: ExchangeSource,
    secret: str,
    mailbox: str,
    *,
    retry_policy: RetryPolicy,
    version: Version | None = None,
) -> Account:
    """An Account on one mailbox. No request is sent until a folder or item is touched."""
    config = make_configuration(source, secret, mailbox=mailbox, retry_policy=retry_policy, version=version)
    return Account(
        primary_smtp_address=mailbox,
        config=config,
        autodiscover=source.autodiscover and not source.endpoint,
        # A service account reads the shared mailboxes it was granted access to; app-only OAuth impersonates.
        access_type=IMPERSONATION if source.auth == "oauth2" else DELEGATE,
        default_timezone=UTC,
    )


def probe_credentials(source: ExchangeSource, secret: str, *, version: Version | None = None) -> None:
    """Open the first mailbox's Inbox with a fail-fast policy, so that refused credentials raise at once.

    Under FaultTolerance exchangelib takes an HTTP 401 for throttling and retries until max_wait, which looks
    like a hang. A busy server is not a verdict: the probe is retried a few times, then the real run (which
    backs off) goes ahead. The probe's Protocol is dropped from exchangelib's cache afterwards so the real run
    gets its own retry policy.
    """
    for attempt in range(1, PROBE_ATTEMPTS + 1):
        clear_protocol_cache()
        try:
            _probe_once(source, secret, version)
            return
        except TRANSIENT_ERRORS as exc:
            wait = min(getattr(exc, "back_off", None) or 1.0, PROBE_MAX_SLEEP)
            log.info(
                "Exchange at %s is busy (%s); credential probe %d/%d, next in %.1f s",
                _where(source),
                type(exc).__name__,
                attempt,
                PROBE_ATTEMPTS,
                wait,
            )
            if attempt < PROBE_ATTEMPTS:
                time.sleep(wait)
        finally:
            clear_protocol_cache()
    log.warning(
        "Exchange at %s stayed busy during the credential probe; going on with back-off", _where(source)
    )


def _probe_once(source: ExchangeSource, secret: str, version: Version | None) -> None:
    mailbox = source.mailboxes[0]
    try:
        account = connect(source, secret, mailbox, retry_policy=FailFast(), version=version)
        _ = account.inbox
    except (UnauthorizedError, OAuth2Error) as exc:
        code = "401" if isinstance(exc, UnauthorizedError) else "OAuth2 token refused"
        log.warning(
            "Exchange refused the credentials for %s at %s (%s)", _identity(source), _where(source), code
        )
        raise SourceAuthError(
            f"Exchange refused the credentials for {_identity(source)} at {_where(source)} ({code})"
        ) from None
    except TRANSIENT_ERRORS:
        raise
    except TransportError as exc:
        # A busy answer to exchangelib's version probe comes back as "No valid version headers found".
        if isinstance(exc.__context__, TRANSIENT_ERRORS):
            raise exc.__context__ from None
        raise SourceError(
            f"Exchange at {_where(source)} could not be reached: {type(exc).__name__}: "
            f"{mask_secrets(str(exc), [secret])}"
        ) from None
    except (ErrorAccessDenied, ErrorNonExistentMailbox) as exc:
        raise SourceError(
            f"Exchange at {_where(source)}: {_identity(source)} cannot open mailbox {mailbox}: "
            f"{type(exc).__name__}: {mask_secrets(str(exc), [secret])}"
        ) from None
    except AutoDiscoverFailed as exc:
        raise SourceError(
            f"Exchange autodiscover failed for {mailbox}: {mask_secrets(str(exc), [secret])}"
        ) from None
    except (EWSError, OSError) as exc:  # requests' connection errors are OSErrors
        raise SourceError(
            f"Exchange at {_where(source)} could not be reached: {type(exc).__name__}: "
            f"{mask_secrets(str(exc), [secret])}"
        ) from None


def open_folder(account: Account, name: str) -> BaseFolder:
    """A configured folder: a distinguished one (inbox, sent/sentitems, ...) or a path under the message root."""
    attribute = DISTINGUISHED_FOLDERS.get(name.strip().lower())
    if attribute:
        return getattr(account, attribute)
    folder = account.msg_folder_root
    try:
        for part in (p for p in name.split("/") if p.strip()):
            folder = folder // part.strip()
    except ErrorFolderNotFound:
        raise SourceError(
            f"Exchange folder {name!r} not found in mailbox {account.primary_smtp_address}"
        ) from None
    return folder


def fault_tolerance(max_wait_seconds: int) -> FaultTolerance:
    """The retry policy of a real run: back off on ErrorServerBusy, 503 and the like, up to max_wait seconds."""
    return FaultTolerance(max_wait=max_wait_seconds)

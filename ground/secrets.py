"""Secrets come from an environment variable or a Prefect Secret block, never from the config file itself; and
text that leaves the process (logs, errors) has them masked."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

MASK = "********"  # always this long, so a mask tells nothing of the secret's length

# The places a secret travels in text: an Authorization header's value, the password in a URL, and the value
# of a field named like a secret (in a form body, a query string, JSON, a dict's repr).
_SECRET_FIELD_NAMES = (
    "client_secret|client_assertion|access_token|refresh_token|id_token|token|password|passwd|pwd|secret|"
    "api_key|apikey"
)
_SECRET_PLACES = (
    re.compile(r"((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+", re.IGNORECASE),
    re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]*:)[^\s/@'\"]+(?=@)", re.IGNORECASE),
    re.compile(rf"((?<![\w-])(?:{_SECRET_FIELD_NAMES})['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}}]+", re.IGNORECASE),
)
# A known secret is also masked wherever it stands as a whole token, when it cannot be a word of the text:
# masking a short one or a plain word ("res********onse" for the password "p") would mangle the text and give
# it away.
DISTINCTIVE_SECRET_CHARS = 8


class SecretUnavailableError(RuntimeError):
    """A configured secret could not be read (its value is never part of the message)."""


def resolve_secret(env_name: str | None, block_name: str | None, what: str) -> str | None:
    """The environment variable first, then the Prefect Secret block; None when neither is configured or set."""
    if env_name:
        value = os.environ.get(env_name, "").strip()
        if value:
            return value
    if not block_name:
        return None
    try:
        from prefect.blocks.system import Secret

        value = Secret.load(block_name).get()
    except Exception as exc:  # noqa: BLE001 - missing block, no API, bad auth: all mean "not available here"
        hint = f" or set ${env_name}" if env_name else ""
        raise SecretUnavailableError(
            f"could not read {what} from the Prefect Secret block {block_name!r} ({type(exc).__name__}); "
            f"create the block{hint}"
        ) from None
    return str(value).strip() or None


def require_secret(env_name: str | None, block_name: str | None, what: str) -> str:
    """Like resolve_secret, but a missing secret is an error that says where it was looked for."""
    value = resolve_secret(env_name, block_name, what)
    if value is None:
        places = " or ".join(
            p
            for p in (f"${env_name}" if env_name else "", block_name and f"Secret block {block_name!r}")
            if p
        )
        raise SecretUnavailableError(f"{what} is not set (looked in {places or 'nothing configured'})")
    return value


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with secrets masked where they travel (Authorization headers, URL passwords, fields named like
    secrets), and the given secrets (in every form they travel in: plain, URL- or Basic-encoded) wherever they
    stand as whole tokens, if they are distinctive (long, not a plain word). Never inside other words."""
    for place in _SECRET_PLACES:
        text = place.sub(lambda m: m.group(1) + MASK, text)
    distinctive = sorted(
        {s for s in secrets if len(s) >= DISTINCTIVE_SECRET_CHARS and not s.isalpha()}, key=len, reverse=True
    )
    if distinctive:
        tokens = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, distinctive)) + r")(?!\w)")
        text = tokens.sub(MASK, text)
    return text

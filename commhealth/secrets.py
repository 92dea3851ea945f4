"""Secrets come from an environment variable or a Prefect Secret block, never from the config file itself."""

from __future__ import annotations

import os


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

"""Secrets are masked where they travel (headers, URLs, secret fields), never inside ordinary words, and the
mask says nothing about them."""

from __future__ import annotations

import base64
import logging

import pytest

from connectors.exchange.redact import install
from ground.secrets import MASK, mask_secrets

SHORT = "pon"  # inside "response" and "component"
TEXT = "The response came from a component of the server"


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_short_password_leaves_words_alone_and_is_masked_where_it_travels(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("exchangelib.util")
    caplog.set_level(logging.DEBUG, logger="exchangelib")
    with install().hiding(SHORT, "svc"):
        logger.debug(TEXT)
        logger.debug(
            "Request headers: %s", {"Authorization": f"Basic {basic('svc', SHORT)}", "Accept": "*/*"}
        )
        logger.debug("Connecting to %s", f"https://svc:{SHORT}@mail.example/EWS/Exchange.asmx")
        logger.debug("Request body was %s", f"grant_type=password&username=svc&password={SHORT}&scope=x")
        logger.debug("Sent %s", f'{{"password": "{SHORT}", "user": "svc"}}')
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        TEXT,
        f"Request headers: {{'Authorization': '{MASK}', 'Accept': '*/*'}}",
        f"Connecting to https://svc:{MASK}@mail.example/EWS/Exchange.asmx",
        f"Request body was grant_type=password&username=svc&password={MASK}&scope=x",
        f'Sent {{"password": "{MASK}", "user": "svc"}}',
    ]


@pytest.mark.parametrize("secret", ["p", "pon", "hunter2-pw", "a-much-longer-client-secret~0123456789"])
def test_the_mask_does_not_depend_on_the_secret(secret: str) -> None:
    masked = mask_secrets(f"{TEXT}; client_secret={secret}&x=1; Authorization: Bearer {secret}", [secret])
    assert masked == f"{TEXT}; client_secret={MASK}&x=1; Authorization: {MASK}"


def test_a_distinctive_secret_is_masked_as_a_whole_token_anywhere_but_not_inside_a_word() -> None:
    secret = "hunter2-pw"
    assert mask_secrets(f"failed with {secret} (retrying)", [secret]) == f"failed with {MASK} (retrying)"
    assert mask_secrets(f"id x{secret}9", [secret]) == f"id x{secret}9"  # not a token of its own: not it
    encoded = basic("svc", "pw")  # a Basic credential is distinctive even when the password is short
    assert mask_secrets(f"sent {encoded} once", [encoded]) == f"sent {MASK} once"


def test_a_plain_word_as_a_password_is_masked_only_where_it_travels() -> None:
    assert mask_secrets("the password field", ["password"]) == "the password field"
    assert mask_secrets("password=password", ["password"]) == f"password={MASK}"

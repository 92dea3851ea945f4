"""The exchangelib setup: configurations per auth kind, folder names, and log redaction."""

from __future__ import annotations

import logging

import pytest
from exchangelib import BASIC, NTLM, OAUTH2, FailFast, FaultTolerance, OAuth2Credentials

from connectors.base import SourceError
from connectors.exchange.client import fault_tolerance, make_configuration
from connectors.exchange.redact import install
from ground.config import ExchangeSource
from tests.exchange.conftest import MAILBOX, Env, Seeder


def source(**fields: object) -> ExchangeSource:
    base: dict[str, object] = {
        "endpoint": "https://mail.example.com/EWS/Exchange.asmx",
        "username": "svc@example.com",
        "mailboxes": [MAILBOX],
    }
    return ExchangeSource.model_validate(base | fields)


def test_ntlm_and_basic_use_the_username_and_secret() -> None:
    for auth, auth_type in (("ntlm", NTLM), ("basic", BASIC)):
        config = make_configuration(source(auth=auth), "pw-1234", mailbox=MAILBOX, retry_policy=FailFast())
        assert config.auth_type == auth_type
        assert (config.credentials.username, config.credentials.password) == ("svc@example.com", "pw-1234")
        assert config.service_endpoint == "https://mail.example.com/EWS/Exchange.asmx"
        assert "pw-1234" not in repr(config.credentials)


def test_oauth2_uses_client_credentials_with_the_mailbox_as_identity() -> None:
    src = source(auth="oauth2", username=None, tenant_id="tenant-1", client_id="client-1")
    config = make_configuration(src, "client-secret-1", mailbox=MAILBOX, retry_policy=fault_tolerance(30))
    creds = config.credentials
    assert isinstance(creds, OAuth2Credentials)
    assert (creds.client_id, creds.client_secret, creds.tenant_id) == (
        "client-1",
        "client-secret-1",
        "tenant-1",
    )
    assert creds.identity.primary_smtp_address == MAILBOX
    assert config.auth_type == OAUTH2
    assert isinstance(config.retry_policy, FaultTolerance) and config.retry_policy.max_wait == 30


def test_an_unknown_folder_is_a_clear_source_error(env: Env, seed: Seeder) -> None:
    config = env.write(folders=["inbox", "Nope"])
    seed("inbox", 0, 1)
    with pytest.raises(SourceError, match=rf"Exchange folder 'Nope' not found in mailbox {MAILBOX}"):
        env.extract(config)


def test_the_log_filter_masks_auth_headers_tokens_and_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    secret_filter = install()
    logger = logging.getLogger("exchangelib.util")
    caplog.set_level(logging.DEBUG, logger="exchangelib")
    with secret_filter.hiding("hunter2-pw", "svc"):
        logger.debug("Request headers: %s", {"Authorization": "Bearer eyJ0eXAi.abc", "Accept": "*/*"})
        logger.debug("Request body was %s", "grant_type=client_credentials&client_secret=hunter2-pw&scope=x")
        logger.debug("Obtained token %s.", {"access_token": "eyJ0eXAi.def", "expires_in": 3599})
        logger.debug("plain %s", "hunter2-pw")
    logger.debug("after the run %s", "hunter2-pw")  # no longer a secret of a running pull
    text = caplog.text
    assert "eyJ0eXAi" not in text
    assert text.count("hunter2-pw") == 1 and "after the run hunter2-pw" in text
    assert "'Accept': '*/*'" in text and "scope=x" in text

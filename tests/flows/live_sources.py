"""The fake Exchange (EWS) and Graph servers as sources of a flow run: config sections and seeded mail."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import EXAMPLE_CONFIG, write_config
from tests.fakes.ews import FakeEWS
from tests.fakes.graph import FakeGraph
from tests.graph.graph_testlib import make_mime
from tests.mail.mail_samples import message

EXCHANGE_MAILBOX = "achats@norelec.fr"
GRAPH_MAILBOX = "compta@norelec.fr"
EXCHANGE_PASSWORD_ENV = "COMMHEALTH_TEST_EXCHANGE_PASSWORD"
GRAPH_SECRET_ENV = "COMMHEALTH_TEST_GRAPH_SECRET"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def exchange_section(ews: FakeEWS) -> str:
    return (
        "\n[sources.exchange]\n"
        f'endpoint = "{ews.url}"\nauth = "basic"\nusername = "{ews.username}"\n'
        f'password_env = "{EXCHANGE_PASSWORD_ENV}"\nmailboxes = ["{EXCHANGE_MAILBOX}"]\nfolders = ["inbox"]\n'
        "max_wait_seconds = 5\n"
    )


def graph_section(graph: FakeGraph) -> str:
    return (
        "\n[sources.graph]\n"
        f'tenant_id = "{graph.tenant_id}"\nclient_id = "{graph.client_id}"\n'
        f'client_secret_env = "{GRAPH_SECRET_ENV}"\n'
        f'authority = "{graph.authority}"\napi_url = "{graph.api_url}"\n'
        f'mailboxes = ["{GRAPH_MAILBOX}"]\nfolders = ["inbox"]\n'
        "max_retries = 0\n"  # a server error fails the attempt at once: the flow's retries are under test
    )


def seed_exchange(ews: FakeEWS, count: int) -> list[str]:
    """Vendor mails in the Exchange mailbox's inbox; their Message-IDs."""
    ids = [f"ews{n}@kappa-offshore.in" for n in range(count)]
    for n, message_id in enumerate(ids):
        mime = message(
            f"Status update {n} from Exchange.\n",
            subject=f"Order e{n}",
            message_id=f"<{message_id}>",
            sender="Priya <priya@kappa-offshore.in>",
            date=f"Mon, 16 Nov 2026 10:{n:02d}:00 +0530",
            newline=b"\r\n",
        )
        ews.add_message(EXCHANGE_MAILBOX, "inbox", mime)
    return ids


def seed_graph(graph: FakeGraph, count: int) -> list[str]:
    """Vendor mails in the Graph mailbox's inbox; their Message-IDs."""
    graph.add_mailbox(GRAPH_MAILBOX, "inbox")
    for n in range(count):
        graph.add_message(GRAPH_MAILBOX, "inbox", make_mime(n))
    return [f"{n}.graph-test@kappa-offshore.in" for n in range(count)]


def write_live_config(folder: Path, *sections: str) -> Path:
    return write_config(folder, EXAMPLE_CONFIG + "".join(sections))

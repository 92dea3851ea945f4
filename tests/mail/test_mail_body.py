"""Body selection and decoding."""

from __future__ import annotations

import base64
import os
import time

from mail_samples import message

from connectors.mail import parse_email
from ground.records import MessageRecord


def parse(raw: bytes) -> MessageRecord:
    record = parse_email(raw, "test.eml")
    assert isinstance(record, MessageRecord), record
    return record


def test_wrong_declared_charset_body_is_repaired() -> None:
    body = "Le devis a été validé, à lundi.\n".encode("latin-1")
    record = parse(message(body, content_type="text/plain; charset=utf-8"))
    assert record.body_full == "Le devis a été validé, à lundi.\n"
    assert record.body_text == "Le devis a été validé, à lundi."
    assert record.flags == ["charset_repaired"]


def test_unknown_body_charset_is_repaired() -> None:
    record = parse(message("Réponse jointe.\n".encode(), content_type="text/plain; charset=x-klingon"))
    assert record.body_full == "Réponse jointe.\n"
    assert record.flags == ["charset_repaired"]


def test_declared_latin1_and_quoted_printable() -> None:
    raw = message(
        "D=E9j=E0 envoy=E9, merci.=\nSuite.\n",
        content_type="text/plain; charset=iso-8859-1",
        extra=["Content-Transfer-Encoding: quoted-printable"],
    )
    record = parse(raw)
    assert record.body_full == "Déjà envoyé, merci.Suite.\n"
    assert record.flags == []


def test_crlf_normalised() -> None:
    record = parse(message("Line one\nLine two\n", newline=b"\r\n"))
    assert record.body_full == "Line one\nLine two\n"


MULTIPART_ALT = """\
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8

Plain version.
--ALT
Content-Type: text/html; charset=utf-8

<p>HTML version.</p>
--ALT--
"""


def test_multipart_alternative_prefers_plain() -> None:
    head, _, rest = MULTIPART_ALT.partition("\n\n")
    record = parse(message(rest, content_type=None, extra=head.split("\n")))
    assert record.body_full == "Plain version."
    assert record.flags == []


def test_an_empty_plain_alternative_falls_back_to_the_html_one() -> None:
    head, _, rest = MULTIPART_ALT.partition("\n\n")
    rest = rest.replace("Plain version.", " \n")
    record = parse(message(rest, content_type=None, extra=head.split("\n")))
    assert record.body_full == "HTML version."
    assert record.flags == ["html_only_body"]


HTML_ONLY = """\
<html><head><style>p { color: red }</style><title>t</title></head><body>
<div dir="ltr">Bonjour Bob,<br><br>Le devis est <b>validé</b>.<div><br></div><div>Jean</div>
<div class="gmail_quote"><div class="gmail_attr">On Mon, Bob wrote:</div>
<blockquote class="gmail_quote">As I mentioned, send the quote.</blockquote></div></div>
<script>alert(1)</script></body></html>
"""


def test_html_only_body_converted_and_quote_removed() -> None:
    record = parse(message(HTML_ONLY, content_type="text/html; charset=utf-8"))
    assert record.body_full == "Bonjour Bob,\n\nLe devis est validé.\n\nJean"
    assert record.body_text == "Bonjour Bob,\n\nLe devis est validé.\n\nJean"
    assert record.flags == ["html_only_body"]


OUTLOOK_HTML = """\
<html><body><div class=WordSection1><p class=MsoNormal>Thanks, received.<o:p></o:p></p>
<p class=MsoNormal>&nbsp;</p><p class=MsoNormal>Ann<o:p></o:p></p>
<div style="border:none"><hr tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Bob<br>
<b>Sent:</b> Monday<br><b>Subject:</b> Quote</div></div>
<div><p>As I mentioned, the old text.</p></div></div></body></html>
"""


def test_outlook_html_history_removed() -> None:
    record = parse(message(OUTLOOK_HTML, content_type="text/html; charset=windows-1252"))
    assert record.body_full == "Thanks, received.\n\nAnn"
    assert "mentioned" not in record.body_text
    assert record.flags == ["html_only_body"]


def test_malformed_html_reads_as_a_browser_shows_it() -> None:
    """HTML is parsed as browsers parse it (lexbor, HTML5): a block inside a paragraph ends the paragraph, a row
    outside a table is no row, a NUL is blank. BeautifulSoup's html.parser, used before, kept the nesting as
    written: "ThanksBob" in the first case, a blank line in the second."""
    cases = {
        '<p>Thanks<div class="gmail_quote">old</div>Bob</p>': "Thanks\nBob",
        "<tr>Hi</tr><br>Thanks": "Hi\nThanks",
        "<p>Thanks<div>see below</div>Bob</p>": "Thanks\nsee below\nBob",
        "<div>Ship it\x00today</div>": "Ship it today",
        "<table>Note:<tr><td>42</td></tr></table>": "Note:\n42",
    }
    for html, text in cases.items():
        assert parse(message(html, content_type="text/html; charset=utf-8")).body_full == text, html


def test_ten_megabyte_attachment_is_not_decoded() -> None:
    blob = base64.encodebytes(os.urandom(7_600_000)).decode()
    assert len(blob) > 10_000_000
    body = (
        "--MIX\nContent-Type: text/plain; charset=utf-8\n\nPlease find the drawings attached.\n"
        "--MIX\nContent-Type: application/pdf; name=drawings.pdf\nContent-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="drawings.pdf"\n\n' + blob + "--MIX--\n"
    )
    raw = message(body, content_type='multipart/mixed; boundary="MIX"')
    start = time.perf_counter()
    record = parse(raw)
    elapsed = time.perf_counter() - start
    assert record.body_full == "Please find the drawings attached."
    assert record.body_text == "Please find the drawings attached."
    assert elapsed < 3.0


def test_text_attachment_and_attached_message_are_not_the_body() -> None:
    body = (
        "--MIX\nContent-Type: text/plain; name=notes.txt\nContent-Disposition: attachment; filename=notes.txt\n\n"
        "attachment text\n--MIX\nContent-Type: message/rfc822\n\nFrom: x@y.example\nSubject: old\n\nforwarded\n"
        "--MIX\nContent-Type: text/html; charset=utf-8\n\n<p>Real body</p>\n--MIX--\n"
    )
    record = parse(message(body, content_type='multipart/mixed; boundary="MIX"'))
    assert record.body_full == "Real body"
    assert record.flags == ["html_only_body"]


def test_no_text_part_gives_empty_body() -> None:
    body = "--MIX\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--MIX--\n"
    record = parse(message(body, content_type='multipart/mixed; boundary="MIX"'))
    assert record.body_full == ""
    assert record.body_text == ""


def test_huge_text_body_is_capped() -> None:
    record = parse(message("a" * 3_000_000 + "\n"))
    assert record.body_full == "a" * 1_000_000


def test_raw_8bit_content_type_header_does_not_break_parsing() -> None:
    raw = message(b"Corps du message.\n", content_type=None).replace(
        b"\n\n", b'\nContent-Type: text/plain; charset=utf-8; name="r\xe9sum\xe9"\n\n', 1
    )
    record = parse(raw)
    assert record.body_full == "Corps du message.\n"


def test_single_part_base64_body_with_declared_charset() -> None:
    body = base64.encodebytes("Réponse : d'accord.\n".encode("iso-8859-1")).decode()
    raw = message(
        body, content_type='text/plain; charset="ISO-8859-1"', extra=["Content-Transfer-Encoding: base64"]
    )
    record = parse(raw)
    assert record.body_full == "Réponse : d'accord.\n"
    assert record.flags == []


def test_single_part_truncated_base64_does_not_raise() -> None:
    raw = message("SGVsbG8gd29ybGQ=\nSGVsb", extra=["Content-Transfer-Encoding: base64"])
    assert parse(raw).body_full.startswith("Hello world")

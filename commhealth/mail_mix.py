"""The generator's "realistic" mail mix (issue 16's bench): the same messages rendered as mail clients send them
today, mostly HTML with the client's styles and signature, and a third of them carrying attachments.

The demo's own mix (`demo_data._mime_body`) is mostly short plain text, which flatters a parser; this one costs
what real mailboxes cost: tens of KB a message, base64 attachments to skip, Outlook's Word-made HTML and Gmail's
nested quotes to render. Its choices come from a random stream of their own, so a dataset rendered in this mix
holds the same conversations, senders and times as in the demo's mix.
"""

from __future__ import annotations

import base64
import html
import random

P_HTML_ONLY = 0.25
P_ALTERNATIVE = 0.6  # HTML with a text/plain part; the rest is plain text
P_ATTACHMENTS = 0.35
P_LOGO = 0.6  # an Outlook HTML signature with the company's logo as an inline image

# (file name, MIME type, magic bytes, smallest and largest size in KB)
ATTACHMENT_KINDS = (
    ("specification.pdf", "application/pdf", b"%PDF-1.7\n", 40, 400),
    ("screenshot.png", "image/png", b"\x89PNG\r\n\x1a\n", 30, 250),
    (
        "report.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
        15,
        120,
    ),
    (
        "minutes.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
        15,
        90,
    ),
    ("export.csv", "text/csv", b"id;date;status\n", 5, 60),
)

_FONT_FACES = ("Cambria Math", "Calibri", "Aptos", "Segoe UI", "Tahoma", "Consolas")
# Outlook's "filtered medium" styles, as every message written in Outlook for Windows carries them.
OUTLOOK_STYLE = (
    "<style><!--\n/* Font Definitions */\n"
    + "".join(
        f'@font-face\n\t{{font-family:"{face}";\n\tpanose-1:2 15 5 2 2 2 4 3 2 4;}}\n' for face in _FONT_FACES
    )
    + "/* Style Definitions */\n"
    "p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;\n\tfont-size:11.0pt;\n"
    '\tfont-family:"Calibri",sans-serif;\n\tmso-ligatures:standardcontextual;\n\tmso-fareast-language:EN-US;}\n'
    "a:link, span.MsoHyperlink\n\t{mso-style-priority:99;\n\tcolor:#0563C1;\n\ttext-decoration:underline;}\n"
    "span.EmailStyle17\n\t{mso-style-type:personal-compose;\n"
    '\tfont-family:"Calibri",sans-serif;\n\tcolor:windowtext;}\n'
    ".MsoChpDefault\n\t{mso-style-type:export-only;\n\tfont-size:10.0pt;\n\tmso-fareast-language:EN-US;}\n"
    "@page WordSection1\n\t{size:612.0pt 792.0pt;\n\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}\n"
    "div.WordSection1\n\t{page:WordSection1;}\n--></style>"
    '<!--[if gte mso 9]><xml>\n<o:shapedefaults v:ext="edit" spidmax="1026" />\n</xml><![endif]-->'
)
_OUTLOOK_SPAN = "<span style='font-size:11.0pt;font-family:\"Calibri\",sans-serif;color:#1F3864'>"
_GMAIL_QUOTE_STYLE = "margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"


def render(
    rng: random.Random, fresh: str, quoted: str, plain: str, client: str, html_only: bool = True
) -> tuple[list[str], str]:
    """Headers and encoded body of one message in the realistic mix (same shape as `_mime_body`'s)."""
    outlook = client.startswith("outlook")
    roll = rng.random()
    logo = outlook and rng.random() < P_LOGO
    markup = _outlook_html(rng, fresh, quoted, logo) if outlook else _gmail_html(fresh, quoted)
    if roll < P_HTML_ONLY and html_only:
        parts = [_text_part("html", markup)]
    elif roll < P_HTML_ONLY + P_ALTERNATIVE:
        parts = [_multipart(rng, "alternative", [_text_part("plain", plain), _text_part("html", markup)])]
    else:
        parts = [_text_part("plain", plain)]
        logo = False
    if logo:
        parts.append(_attachment(rng, "image001.png", "image/png", b"\x89PNG\r\n\x1a\n", 4, 12, inline=True))
    if rng.random() < P_ATTACHMENTS:
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            name, mime, magic, low, high = rng.choice(ATTACHMENT_KINDS)
            parts.append(_attachment(rng, name, mime, magic, low, high, inline=False))
    if len(parts) == 1:
        return parts[0]
    return _multipart(rng, "mixed", parts)


def _text_part(subtype: str, text: str) -> tuple[list[str], str]:
    return [f'Content-Type: text/{subtype}; charset="utf-8"', "Content-Transfer-Encoding: base64"], _b64(text)


def _multipart(rng: random.Random, subtype: str, parts: list[tuple[list[str], str]]) -> tuple[list[str], str]:
    boundary = f"_00{rng.getrandbits(64):016x}_"
    lines: list[str] = []
    for headers, body in parts:
        lines += [f"--{boundary}", *headers, "", body.rstrip("\n"), ""]
    lines += [f"--{boundary}--", ""]
    return [f'Content-Type: multipart/{subtype}; boundary="{boundary}"'], "\n".join(lines)


def _attachment(
    rng: random.Random, name: str, mime: str, magic: bytes, low_kb: int, high_kb: int, *, inline: bool
) -> tuple[list[str], str]:
    # Sizes spread as real attachments do: many small ones, a few large (log-uniform between the bounds).
    size = int(1024 * low_kb * (high_kb / low_kb) ** rng.random())
    data = magic + rng.randbytes(max(0, size - len(magic)))
    disposition = "inline" if inline else "attachment"
    headers = [
        f'Content-Type: {mime}; name="{name}"',
        f"Content-Description: {name}",
        f'Content-Disposition: {disposition}; filename="{name}"; size={len(data)}',
        "Content-Transfer-Encoding: base64",
    ]
    if inline:
        headers.append(f"Content-ID: <{name}@01DB{rng.getrandbits(32):08X}.{rng.getrandbits(32):08X}>")
    return headers, _b64_bytes(data)


def _b64(text: str) -> str:
    return _b64_bytes(text.encode("utf-8"))


def _b64_bytes(data: bytes) -> str:
    # encodebytes breaks lines at 76 characters, as RFC 2045 asks.
    return base64.encodebytes(data).decode("ascii")


def _paragraphs(text: str, wrap: str) -> str:
    return "".join(wrap.format(html.escape(line, quote=False) or "&nbsp;") for line in text.split("\n"))


def _outlook_html(rng: random.Random, fresh: str, quoted: str, logo: bool) -> str:
    """Word-made HTML as Outlook for Windows sends it; the history under a top-bordered block."""
    paragraph = "<p class=MsoNormal>" + _OUTLOOK_SPAN + "{}<o:p></o:p></span></p>\n"
    body = _paragraphs(fresh, paragraph)
    if logo:
        body += (
            "<table class=MsoNormalTable border=0 cellspacing=0 cellpadding=0><tr><td width=120 valign=top "
            "style='width:90.0pt;padding:0cm 5.4pt 0cm 5.4pt'><p class=MsoNormal><img width=120 height=40 "
            f'style="width:1.25in;height:.4166in" id="Picture_x0020_1" src="cid:image001.png@01DB{rng.getrandbits(32):08X}"'
            ' alt="logo"></p></td></tr></table>\n'
        )
    history = ""
    if quoted:
        history = (
            "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>\n"
            + _paragraphs(quoted, "<p class=MsoNormal>{}<o:p></o:p></p>\n")
            + "</div>\n"
        )
    return (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
        'xmlns="http://www.w3.org/TR/REC-html40"><head><meta http-equiv=Content-Type content="text/html; '
        'charset=utf-8"><meta name=Generator content="Microsoft Word 15 (filtered medium)">'
        f'{OUTLOOK_STYLE}</head><body lang=EN-US link="#0563C1" vlink="#954F72" style=\'word-wrap:break-word\'>'
        f"<div class=WordSection1>\n{body}<p class=MsoNormal><o:p>&nbsp;</o:p></p>\n{history}</div></body></html>\n"
    )


def _gmail_html(fresh: str, quoted: str) -> str:
    """Gmail's HTML: a ltr div per paragraph, the history in a gmail_quote block, each level a blockquote."""
    body = _paragraphs(fresh, '<div dir="ltr">{}</div>')
    history = ""
    if quoted:
        attribution, _, rest = quoted.partition("\n")
        history = (
            '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            f"{html.escape(attribution, quote=False)}<br></div>{_nested_quote(rest)}</div>"
        )
    return f'<div dir="ltr">{body}</div>{history}\n'


def _nested_quote(text: str) -> str:
    """ "> " lines as nested blockquotes, one per level, as Gmail keeps a quoted history."""
    out: list[str] = []
    depth = 0
    for line in text.split("\n"):
        level = len(line) - len(line.lstrip(">"))
        content = line[level:].lstrip(" ")
        level = max(level, 1)
        while depth < level:
            out.append(f'<blockquote class="gmail_quote" style="{_GMAIL_QUOTE_STYLE}">')
            depth += 1
        while depth > level:
            out.append("</blockquote>")
            depth -= 1
        out.append(f'<div dir="ltr">{html.escape(content, quote=False) or "<br>"}</div>')
    out.extend("</blockquote>" for _ in range(depth))
    return "".join(out)

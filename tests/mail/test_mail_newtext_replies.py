"""New text, issue 14: the reply-parsing defects found against other projects' suites, in our own words.

Each case below failed before the fix it names. The guard suite holds ordinary messages, some with lines that look
like markers, that must come out whole; the property test says a message without any quote comes out unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_samples import message

from connectors.mail import extract_new_text, parse_email
from connectors.mail.htmltext import html_to_text, html_to_texts
from ground.records import MessageRecord

REPLY = "The pallets leave the warehouse on Thursday."
HISTORY = "Can you confirm the pallet count for the Lyon shipment?"


def html_new_text(html: str) -> str:
    """body_text of an HTML-only message, as ingestion computes it."""
    return extract_new_text(html_to_texts(html)[1])


# The quoted part under REPLY, one per defect: every one must be cut, leaving REPLY alone.
ATTRIBUTIONS = {
    "on_wrote_no_colon": "On Tue, 3 Mar 2026 at 09:14, Dana Reyes <dana@vendor.example> wrote\n> " + HISTORY,
    "zoho_dashed": "---- On Tue, 03 Mar 2026 09:14:10 +0100 dana@vendor.example wrote ----\n\n" + HISTORY,
    "android_dashed": "---- Dana Reyes wrote ----\n\n" + HISTORY,
    "dashes_no_spaces": "------On 03/03/2026 9:14 AM, Dana Reyes wrote-----\n" + HISTORY,
    "address_sent": "On 3-Mar-2026, at 9:14 AM, Dana Reyes <dana@vendor.example> sent:\n\n" + HISTORY,
    "date_led_wrapped_address": "2026-03-03 09:14 GMT+01:00 Dana Reyes <\ndana@vendor.example>:\n\n"
    + HISTORY,
    "time_led_quoted_name": '9:14 AM, March 3, 2026, "Dana - Vendor Co" <dana@vendor.example>:\n\n' + HISTORY,
    "polymail_address_lines": "On Tue, Mar 3, 2026 at 9:14 AM Dana Reyes\n\n<\nmailto:Dana Reyes "
    "<dana@vendor.example>\n> wrote:\n" + HISTORY,
    "gmail_date_led_address_removed": "2026-03-03 09:14 GMT+01:00 Dana Reyes\n\n" + HISTORY,
    "date_led_address_over_quote": "2026/3/3 Dana Reyes <dana@vendor.example>\n\n> " + HISTORY,
    "date_led_address_over_bar_quote": "2026/3/3 Dana Reyes <dana@vendor.example>\n\n| " + HISTORY,
    "eudora_at_time": "At 09:14 AM 3/3/2026, you wrote:\n>" + HISTORY,
    "quote_wrapped_by_client": "On Tue, Mar 3, 2026 at 9:14 AM, Dana <dana@vendor.example> wrote:\n"
    "> Can you confirm the pallet count for the Lyon shipment and the delivery window\nfor Thursday\n> Thanks",
    "quoted_link_broken": "On Tue, Mar 3, 2026 at 9:14 AM, Dana <dana@vendor.example> wrote:\n> "
    + HISTORY
    + "\n> View the order (https://orders.vendor.example/view?id=12&\n_token=3dd518)\n>",
    "quote_then_signature": "On Tue, Mar 3, 2026 at 9:14 AM, Dana <dana@vendor.example> wrote:\n> "
    + HISTORY
    + "\n\n-- \nVendor Co, 3 rue des Palettes, Lyon",
}

QUOTE_HEADERS = {
    "german": "Von: Dana Reyes <dana@vendor.example>\nGesendet: Dienstag, 3. März 2026 09:14\n"
    "An: Sam <sam@us.example>\nBetreff: Paletten\n\n" + HISTORY,
    "german_separator": "-----Ursprüngliche Nachricht-----\nDana hat gefragt.\n\n" + HISTORY,
    "italian": "Da: Dana Reyes <dana@vendor.example>\nInviato: martedì 3 marzo 2026 09:14\n"
    "A: Sam\nOggetto: Pallet\n\n" + HISTORY,
    "dutch": "Van: Dana Reyes <dana@vendor.example>\nVerzonden: dinsdag 3 maart 2026 09:14\n"
    "Aan: Sam\nOnderwerp: Pallets\n\n" + HISTORY,
    "danish_norwegian": "Fra: Dana Reyes <dana@vendor.example>\nSendt: 3. marts 2026 09:14\n"
    "Til: Sam\nEmne: Paller\n\n" + HISTORY,
    "spanish_portuguese": "De: Dana Reyes <dana@vendor.example>\nEnviado: martes, 3 de marzo de 2026 9:14\n"
    "Para: Sam\nAsunto: Palés\n\n" + HISTORY,
    "polish": "W dniu 3.03.2026 o 09:14, Dana Reyes <dana@vendor.example> napisał:\n> " + HISTORY,
    "reply_message": "-----Reply Message-----\nDana asked before.\n\n" + HISTORY,
    "german_antwort": "-----Antwort Nachricht-----\nDana hat gefragt.\n\n" + HISTORY,
    "chinese_outlook": "________________________________\n发件人: Dana Reyes <dana@vendor.example>\n"
    "发送时间: 2026年3月3日 9:14\n收件人: Sam\n主题: Pallets\n\n" + HISTORY,
    "swedish": "Från: Dana Reyes [mailto:dana@vendor.example]\nSkickat: den 3 mars 2026 09:14\nTill: Sam\n"
    "Ämne: Pallar\n\n" + HISTORY,
    "dutch_attribution": "Op 3 mrt. 2026, om 09:14 heeft Dana Reyes <dana@vendor.example> het volgende "
    "geschreven:\n\n" + HISTORY,
    "norwegian_attribution": "På 3. mars 2026 kl. 09:14, Dana Reyes (dana@vendor.example) skrev:\n\n"
    + HISTORY,
    "weekday_time_address_other_verb": "Tue, 3 Mar 2026 09:14:00 +0100 от Dana <dana@vendor.example>:\n\n"
    + HISTORY,
    "russian_header": "От: Dana Reyes\nОтправлено: вторник, 3 марта 2026 г. 9:14\nКому: Sam\nТема: Паллеты\n\n"
    + HISTORY,
    "french_webmail_header": '====\n\nMessage du : 03/03/2026 09:14\nDe : "Dana Reyes" <dana@vendor.example>\n'
    "A : sam@us.example\nSujet : Palettes\n\n" + HISTORY,
    "polish_dnia": "Dnia 3 marca 2026 09:14 Dana Reyes <dana@vendor.example> napisał(a):\n> " + HISTORY,
    "russian_attribution": "вторник, 3 марта 2026 г. пользователь Dana Reyes написал:\n\n> " + HISTORY,
    "finnish_wrapped_address": "ti 3. maaliskuuta 2026 klo 9.14 Dana Reyes\n<dana@vendor.example> kirjoitti:\n"
    + HISTORY,
    "norwegian_gmail_wrapped": "tir. 3. mar. 2026 kl. 09:14 skrev Dana Reyes <dana@vendor.example\n>:\n> "
    + HISTORY,
    "russian_separator": "-----Исходное сообщение-----\nОт: Dana Reyes\nОтправлено: 3 марта 2026 г. 9:14\n\n"
    + HISTORY,
    "chinese_gmail": "Dana Reyes <dana@vendor.example> 于2026年3月3日周二 09:14写道：\n\n> " + HISTORY,
    "turkish_gmail": "Dana Reyes <dana@vendor.example>, 3 Mar 2026 Sal, 09:14 tarihinde şunu yazdı:\n\n> "
    + HISTORY,
    "czech": "út 3. 3. 2026 v 9:14 odesílatel Dana Reyes <dana@vendor.example> napsal:\n\n> " + HISTORY,
    "german_gmail_wrapped": "Dana Reyes <dana@vendor.example> schrieb am Di., 3.\nMärz 2026 um 09:14 Uhr:\n\n> "
    + HISTORY,
}


@pytest.mark.parametrize("quoted", list(ATTRIBUTIONS.values()) + list(QUOTE_HEADERS.values()),
                         ids=list(ATTRIBUTIONS) + list(QUOTE_HEADERS))  # fmt: skip
def test_quote_header_is_cut(quoted: str) -> None:
    assert extract_new_text(f"{REPLY}\n\n{quoted}\n") == REPLY


def test_attribution_on_the_reply_line_is_cut() -> None:
    body = f"{REPLY} On Tue, Mar 3, 2026 at 9:14 AM, dana@vendor.example wrote:\n> {HISTORY}\n"
    assert extract_new_text(body) == REPLY
    dashed = f"Agreed\n{REPLY}--- On Tue, Mar 3, 2026 at 9:14 AM, dana@vendor.example wrote:\n> {HISTORY}\n"
    assert extract_new_text(dashed) == f"Agreed\n{REPLY}"


def test_sent_from_my_desk_is_a_sentence() -> None:
    body = f"Sent from my desk, which is quicker than the phone.\n{REPLY}\n\n> {HISTORY}\n"
    assert extract_new_text(body) == f"Sent from my desk, which is quicker than the phone.\n{REPLY}"
    assert extract_new_text(f"{REPLY}\n\nSent from my iPhone\n") == REPLY
    assert extract_new_text(f"{REPLY}\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n") == REPLY


@pytest.mark.parametrize(
    "device",
    ["Von meinem iPhone gesendet", "Gesendet von Outlook für Android<https://aka.ms/ghei36>", "Sendt fra min iPad",
     "Skickat från min iPhone", "Enviado desde mi iPhone", "Inviato da iPhone", "Verzonden vanaf mijn iPhone",
     "Sent from TypeApp<http://www.typeapp.example/r?b=1>", "Sent with Sparrow"],
)  # fmt: skip
def test_device_lines_of_other_languages_and_apps_are_cut(device: str) -> None:
    assert extract_new_text(f"{REPLY}\n{device}\n") == REPLY


def test_inline_answers_under_a_question_stay() -> None:
    body = (
        "On Tue, Mar 3, 2026 at 9:14 AM, Dana <dana@vendor.example> wrote:\n"
        "> Can you confirm the pallet count for the Lyon shipment before Thursday?\nyes, twelve pallets\n"
        "> And the delivery window?\nMorning, before ten.\n"
    )
    assert extract_new_text(body) == "yes, twelve pallets\nMorning, before ten."


def test_short_note_over_a_forward_keeps_the_forwarded_message() -> None:
    forward = (
        "---------- Forwarded message ----------\nFrom: Dana Reyes <dana@vendor.example>\n"
        f"Date: Tue, Mar 3, 2026 at 9:14 AM\nSubject: Pallets\nTo: Sam <sam@us.example>\n\n{HISTORY}"
    )
    assert extract_new_text(f"FYI\n\n{forward}\n") == f"FYI\n\n{forward}"
    # A question above the forward is what this message asks: the forwarded one is history.
    assert extract_new_text(f"Can you handle this?\n\n{forward}\n") == "Can you handle this?"
    assert extract_new_text(f"{REPLY}\nPlease check the count.\n\n{forward}\n") == (
        f"{REPLY}\nPlease check the count."
    )


def test_attribution_with_nothing_above_keeps_what_it_introduces() -> None:
    attribution = 'On 3 Mar 2026 09:14, "Dana Reyes" <dana@vendor.example> wrote:'
    assert extract_new_text(f"{attribution}\n\n{HISTORY}\n\n{REPLY}\n") == f"{HISTORY}\n\n{REPLY}"
    # Only a quote under it: nothing was written.
    assert extract_new_text(f"{attribution}\n> {HISTORY}\n") == ""


def test_tracker_mark_is_not_text() -> None:
    assert extract_new_text(f"{REPLY}\n\n\u1427\n") == REPLY


def test_mailing_list_footer_is_removed() -> None:
    rule = "_" * 47
    mailman = "Pallets mailing list\npallets@lists.vendor.example\nhttp://lists.vendor.example/mailman/listinfo/pallets"
    mailman3 = (
        "Pallets-users mailing list -- pallets@lists.vendor.example\n"
        "To unsubscribe send an email to pallets-leave@lists.vendor.example"
    )
    for footer in (mailman, mailman3):
        assert extract_new_text(f"{REPLY}\n\n{rule}\n{footer}\n") == REPLY


def test_library_fallback_leaves_a_message_without_quotes_alone() -> None:
    body = (
        "Please enter your remarks below. Thank you.\n\n"
        "------------------------------------- Enter Remarks Below -------------------------------------\n\n"
        "The labels were printed upside down on two pallets."
    )
    assert extract_new_text(body) == body


def test_html_processing_instruction_is_not_text() -> None:
    html = '<?xml version="1.0" encoding="UTF-8"?><html><body><p>' + REPLY + "</p></body></html>"
    assert html_to_text(html) == REPLY


def test_html_rule_then_bold_headers_on_one_line_is_cut() -> None:
    html = (
        f"<html><body><div>{REPLY}</div><hr><b>From:</b> dana@vendor.example <b>Date:</b> Tue, 3 Mar 2026"
        f" 09:14:00 +0100<br><div>{HISTORY}</div></body></html>"
    )
    assert html_new_text(html) == REPLY


def test_html_reply_wholly_in_a_blockquote_is_not_lost() -> None:
    html = f"<blockquote>{REPLY}<div>On 3-Mar-2026, at 9:14 AM, Dana &lt;dana@vendor.example&gt; wrote:</div>"
    html += f"<div>{HISTORY}</div></blockquote>"
    assert html_new_text(html) == REPLY


def test_html_answers_between_quotes_stay() -> None:
    html = (
        "<div>On Tue, Mar 3, 2026 at 9:14 AM, Dana &lt;dana@vendor.example&gt; wrote:</div>"
        f'<blockquote type="cite">{HISTORY}</blockquote><div>{REPLY}</div>'
        '<blockquote type="cite">And the delivery window?</blockquote><div>Morning, before ten.</div>'
    )
    assert html_new_text(html) == f"{REPLY}\nMorning, before ten."


def test_html_stored_text_still_drops_blockquotes() -> None:
    """body_full is part of a message's content hash: re-reading a stored HTML message must give the same text."""
    html = (
        "<div>On Tue, Mar 3, 2026 at 9:14 AM, Dana &lt;dana@vendor.example&gt; wrote:</div>"
        f'<blockquote type="cite">{HISTORY}</blockquote><div>{REPLY}</div>'
    )
    record = parse_email(message(html, content_type="text/html; charset=utf-8"), "x.eml")
    assert isinstance(record, MessageRecord)
    assert HISTORY not in record.body_full
    assert record.body_text == REPLY


def test_html_stored_text_is_unchanged_by_quote_marking() -> None:
    # Outlook's history marker inside a blockquote went with the blockquote: what follows stays.
    html = (
        f'<div>{REPLY}</div><blockquote><div id="divRplyFwdMsg">{HISTORY}</div></blockquote><div>Thanks</div>'
    )
    assert html_to_text(html) == f"{REPLY}\nThanks"
    # Control characters in the text are not taken for quote marks.
    assert html_to_text(f"<p>{REPLY}\x01</p><blockquote>{HISTORY}</blockquote>") == f"{REPLY}\x01"


def test_html_indented_text_is_the_senders() -> None:
    html = (
        f'<div>Here is the plan:</div><blockquote style="margin: 0 0 0 40px; border: none; padding: 0px;">'
        f"<div>{REPLY}</div></blockquote><div>Tell me if it suits you.</div>"
    )
    assert html_new_text(html) == f"Here is the plan:\n{REPLY}\nTell me if it suits you."


def test_quoted_forward_under_a_note_is_the_message() -> None:
    quoted = (
        "> From: Dana Reyes <dana@vendor.example>\n> Subject: Pallets\n> Date: Tue, 3 Mar 2026 09:14\n>\n> "
    )
    body = f"FYI\n\nBegin forwarded message:\n\n{quoted}{HISTORY}\n"
    assert extract_new_text(body).endswith(f"Subject: Pallets\nDate: Tue, 3 Mar 2026 09:14\n\n{HISTORY}")
    html = (
        '<div>FYI</div><div>Begin forwarded message:</div><blockquote type="cite"><div><b>From:</b> Dana Reyes'
        f"</div><div><b>Subject:</b> Pallets</div><div>{HISTORY}</div></blockquote>"
    )
    assert html_new_text(html).endswith(f"Subject: Pallets\n{HISTORY}")


GMAIL_FORWARD = (
    '<div dir="ltr"><br><div class="gmail_quote">---------- Forwarded message ---------<br>'
    "From: <b>Dana Reyes</b> &lt;dana@vendor.example&gt;<br>Date: Tue, Mar 3, 2026 at 9:14 AM<br>"
    f"Subject: Pallets<br>To: Sam &lt;sam@us.example&gt;<br><br><br>{HISTORY}</div></div>"
)


def test_gmail_html_forward_is_not_empty() -> None:
    record = parse_email(message(GMAIL_FORWARD, content_type="text/html; charset=utf-8"), "x.eml")
    assert isinstance(record, MessageRecord)
    assert HISTORY in record.body_full
    assert HISTORY in record.body_text


# Guard suite: ordinary messages, EN and FR, that must come out whole (some lines look like markers).
GUARD = {
    "on_monday_we_wrote": "On Monday we wrote the spec:\n- two pallets\n- one crate\nCan you check it?",
    "on_wrote_in_sentence": "We agreed on 3 points, as Dana wrote: price, date and count.",
    "sent_from_my_desk": "Sent from my desk, because the laptop is at the repair shop.\nThe invoice is attached.",
    "de_la_part_de": "De : la part de Marie, le devis est validé.\nMerci de lancer la production.",
    "from_to_in_sentence": "From: our side, nothing blocks. To: yours, the date is the question.",
    "dashes_in_text": "Step one -- unpack.\nStep two -- count the crates -- twice.",
    "mailing_list_sentence": "Should we post this on the vendors mailing list\nor keep it between us?",
    "mailing_list_how_to": "The labels are fixed.\nYou can leave this mailing list by yourself: write to\n"
    "pallets-request@lists.vendor.example with the subject unsubscribe.",
    "fr_ecrit": "Comme je l'ai écrit hier, la livraison arrive jeudi.\nPouvez-vous confirmer ?",
    "fr_le_matin": "Le matin du 3 mars, nous avons écrit au transporteur.\nIl n'a pas répondu.",
    "de_word": "Da Vinci is the name of the project.\nDate: to be fixed next week.",
    "address_in_text": "Write to dana@vendor.example or to <sam@us.example> for the labels.",
    "time_and_address": "At 9:14 we mailed <dana@vendor.example> and she answered at 9:30.",
    "banner_line": "Visit the portal:\n>>> https://portal.vendor.example <<<\nThe labels are there.",
    "at_meeting_wrote": "At the meeting Dana wrote:\nthe price is final, the date is not.",
    "german_schrieb_sentence": "Wie Dana schrieb:\ndie Paletten kommen am Donnerstag.",
    "norwegian_skrev_year_sentence": "Jeg skrev til dem i 2025 om det:\npallene kommer torsdag.",
    "german_schrieben_time_sentence": "Wir schrieben den Preis 9.50 EUR pro Palette:\nbitte bestätigen.",
    "date_led_sentence": "2026/3/3 is the date we agreed with <dana@vendor.example>\n\nThe labels are ready.",
    "gesendet_sentence": "Gesendet von meinem Kollegen, die Preise sind fix.\nBitte bestätigen.",
}


@pytest.mark.parametrize("text", list(GUARD.values()), ids=list(GUARD))
def test_ordinary_message_comes_out_whole(text: str) -> None:
    assert extract_new_text(text) == text


# Text without a quote, header, sign-off, rule or marker word: words, punctuation, line breaks, blank lines.
_WORDS = st.sampled_from(
    ["pallet", "crate", "Lyon", "livraison", "jeudi", "price", "confirm", "count", "label", "2026", "9:14",
     "semaine", "prix", "ok", "we", "ship", "the", "de", "la", "on", "from", "sent"]
)  # fmt: skip
_LINE = (
    st.lists(_WORDS, min_size=1, max_size=12)
    .map(" ".join)
    .flatmap(lambda line: st.sampled_from([".", "?", "!", ",", ""]).map(lambda end: line + end))
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINE, st.just("")), min_size=1, max_size=12))
def test_message_without_quotes_comes_out_unchanged(lines: list[str]) -> None:
    """Unchanged modulo the white-space rules: trailing blanks dropped, blank-line runs made one, ends stripped."""
    text = "\n".join(lines)
    expected = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    while "\n\n\n" in expected:
        expected = expected.replace("\n\n\n", "\n\n")
    assert extract_new_text(text) == expected

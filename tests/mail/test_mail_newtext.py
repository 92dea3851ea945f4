"""New-text extraction in English and French."""

from __future__ import annotations

import pytest
from mail_samples import message

from connectors.mail import extract_new_text, parse_email
from ground.records import MessageRecord

CASES = {
    "quoted_lines": (
        "Agreed, go ahead.\n\n> As I mentioned, the price is final.\n> Bob\n",
        "Agreed, go ahead.",
    ),
    "on_wrote": (
        (
            "Sure, attached.\n\nOn Mon, Nov 16, 2026 at 10:12 AM John Smith <john@x.example> wrote:\n"
            "> As I mentioned, send it.\n"
        ),
        "Sure, attached.",
    ),
    "on_wrote_wrapped": (
        "Sure.\n\nOn Mon, Nov 16, 2026 at 10:12 AM John Smith <\njohn@x.example> wrote:\n> as I mentioned\n",
        "Sure.",
    ),
    "le_a_ecrit": (
        (
            "Bonjour,\n\nVoici le devis.\n\nLe lun. 16 nov. 2026 à 10:12, Jean Dupont <jean@x.example> a écrit :\n"
            "> Pouvez-vous l'envoyer, as I mentioned ?\n"
        ),
        "Bonjour,\n\nVoici le devis.",
    ),
    "le_a_ecrit_gmail_two_lines": (
        (
            "Voici le devis.\n\nLe lun. 16 nov. 2026 à 10:12, Jean Dupont <jean@x.example> a\nécrit :\n"
            "> as I mentioned\n"
        ),
        "Voici le devis.",
    ),
    "le_a_ecrit_no_space_nbsp": (
        "C'est noté.\n\nLe 16/11/2026 à 10:12, Jean a écrit\xa0:\n> as I mentioned\n",
        "C'est noté.",
    ),
    "original_message": (
        "Ok for me.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\nas I mentioned\n",
        "Ok for me.",
    ),
    "message_d_origine": (
        "D'accord.\n\n-------- Message d'origine --------\nDe : Bob\nDate : 16/11/2026\nas I mentioned\n",
        "D'accord.",
    ),
    "outlook_en": (
        (
            "Done.\n\n________________________________\nFrom: Bob <bob@y.example>\n"
            "Sent: Monday, November 16, 2026 10:12 AM\nTo: Jean <jean@x.example>\nSubject: RE: Quote\n\nas I mentioned\n"
        ),
        "Done.",
    ),
    "outlook_fr": (
        (
            "Merci pour le retour.\n\nDe : Bob <bob@y.example>\nEnvoyé : lundi 16 novembre 2026 10:12\n"
            "À : Jean <jean@x.example>\nObjet : RE: Devis\n\nas I mentioned\n"
        ),
        "Merci pour le retour.",
    ),
    "outlook_fr_no_space_before_colon": (
        (
            "Reçu.\n\nDe: Bob <bob@y.example>\nEnvoyé: lundi 16 novembre 2026 10:12\nÀ: Jean\nObjet: RE: Devis\n\n"
            "as I mentioned\n"
        ),
        "Reçu.",
    ),
    "outlook_fr_nbsp": (
        "Reçu.\n\nDe\xa0: Bob\nEnvoyé\xa0: lundi\nÀ\xa0: Jean\nObjet\xa0: RE\n\nas I mentioned\n",
        "Reçu.",
    ),
    "outlook_bold_from_html": (
        "Received.\n\n*From:* Bob\n*Sent:* Monday\n*To:* Jean\n\nas I mentioned\n",
        "Received.",
    ),
    "best_regards": (
        "The parts ship Monday.\n\nBest regards,\nBob Smith\nACME Corp\n+1 555 0100\n",
        "The parts ship Monday.",
    ),
    "thanks_name": ("Please send the invoice.\n\nThanks,\nBob\n", "Please send the invoice."),
    "cordialement": (
        "Le devis est validé.\n\nCordialement,\nJean Dupont\nACME SAS\n",
        "Le devis est validé.",
    ),
    "bien_a_vous": ("C'est noté.\n\nBien à vous,\nJean Dupont\n", "C'est noté."),
    "bonne_journee": ("Livraison lundi.\n\nBonne journée,\nJean\n", "Livraison lundi."),
    "merci_name": ("Pouvez-vous confirmer ?\n\nMerci,\nJean\n", "Pouvez-vous confirmer ?"),
    "sent_from_iphone": ("Yes, ok.\n\nSent from my iPhone\n", "Yes, ok."),
    "envoye_de_mon_iphone": ("Oui, ok.\n\nEnvoyé de mon iPhone\n", "Oui, ok."),
    "signature_delimiter": ("See you then.\n\n-- \nBob Smith\nACME Corp\n", "See you then."),
    "disclaimer_en": (
        (
            "Please find the file.\n\nThis e-mail and any attachments are confidential and may be privileged. "
            "If you are not the intended recipient, please delete it.\n"
        ),
        "Please find the file.",
    ),
    "confidentiality_notice": (
        "Attached.\n\nCONFIDENTIALITY NOTICE: The contents of this email message are confidential.\n",
        "Attached.",
    ),
    "disclaimer_fr": (
        (
            "Voici le fichier.\n\nCe message et toutes les pièces jointes sont confidentiels et établis à "
            "l'intention exclusive de ses destinataires.\n"
        ),
        "Voici le fichier.",
    ),
    "disclaimer_fr_courriel": ("Voici le fichier.\n\nCe courriel est confidentiel.\n", "Voici le fichier."),
    "signature_then_disclaimer": (
        "Ok.\n\nRegards,\nBob\n\nThis email is confidential and intended solely for the addressee.\n",
        "Ok.",
    ),
    "external_banner_on_top": (
        "CAUTION: This email originated from outside of the organization.\n\nHello, the invoice is attached.\n",
        "Hello, the invoice is attached.",
    ),
    "merci_only": ("Merci !", "Merci !"),
    "thanks_only": ("Thanks!\n", "Thanks!"),
    # A last line that is the sender's name (From: "Bob Stone" in these cases) is a signature; another one-word
    # line is what was said.
    "thanks_comma_name_only": ("Thanks,\nBob\n", "Thanks,"),
    "one_word_answer_kept": (
        "The build is out.\n\nApproved\n\nOn Tue, 3 Mar 2026, Jean wrote:\n> Can we ship?",
        "The build is out.\n\nApproved",
    ),
    "sender_initials": ("Will do.\n\n- BS\n\nOn Tue, 3 Mar 2026, Jean wrote:\n> Can we ship?", "Will do."),
    # An acknowledgement under a greeting is the message, not a sign-off; a lower-case word is not a name.
    "greeting_then_thanks_name": ("Hi Jean,\n\nThanks, Priya\n", "Hi Jean,\n\nThanks, Priya"),
    "thanks_that_works": (
        "Hello Priya,\n\nThanks, that works.\n\nBob",
        "Hello Priya,\n\nThanks, that works.",
    ),
    "merci_cest_parfait": (
        "Bonjour Marie,\n\nMerci, c'est parfait.\n\nBob",
        "Bonjour Marie,\n\nMerci, c'est parfait.",
    ),
    "thanks_name_starts_sentence": (
        "Hello Priya,\nThanks, Priya will check.\nBest,\nJean",
        "Hello Priya,\nThanks, Priya will check.",
    ),
    "thanks_in_sentence": (
        "Hi John,\nThanks, that works for me. We ship Monday.\nBob",
        "Hi John,\nThanks, that works for me. We ship Monday.\nBob",
    ),
    "bonne_journee_in_sentence": (
        "Bonjour,\nBonne journée à vous aussi, et merci pour le fichier. Le planning est bon.",
        "Bonjour,\nBonne journée à vous aussi, et merci pour le fichier. Le planning est bon.",
    ),
    "regards_in_sentence": (
        "With regards to the invoice, it is paid.\nCordialement is how we sign.",
        "With regards to the invoice, it is paid.\nCordialement is how we sign.",
    ),
    "hyphen_list_kept": ("Points:\n- one\n- two\n\nBest,\nBob", "Points:\n- one\n- two"),
    "inline_reply": ("On Mon, Bob wrote:\n> Q1?\nA1 yes\n> Q2?\nA2 no\n", "A1 yes\nA2 no"),
    "plain_no_markers": ("Hello.\r\n\r\n\r\n\r\nSee you tomorrow.  \r\n", "Hello.\n\nSee you tomorrow."),
    "empty": ("", ""),
}


@pytest.mark.parametrize(("text", "expected"), list(CASES.values()), ids=list(CASES))
def test_extract_new_text(text: str, expected: str) -> None:
    assert extract_new_text(text, "Bob Stone", "b.stone@example.com") == expected


def test_trailing_name_needs_the_sender() -> None:
    text = "Will do.\n\nPriya\n\nOn Tue, 3 Mar 2026, Jean wrote:\n> Can we ship?"
    assert extract_new_text(text, "Priya Raman", "priya@example.in") == "Will do."
    assert extract_new_text(text, None, "priya.raman@example.in") == "Will do."
    # Unknown sender, or someone else's name: the line stays.
    assert extract_new_text(text) == "Will do.\n\nPriya"
    assert extract_new_text(text, "Jean Martin", "jean@example.fr") == "Will do.\n\nPriya"


def test_quoted_history_phrase_never_in_body_text() -> None:
    body = (
        "Bonjour Bob,\n\nLe prix est confirmé.\n\nCordialement,\nJean\n\n"
        "-----Original Message-----\nFrom: Bob\nSent: Monday\nSubject: Prix\n\n"
        "As I mentioned last week, the price needs to go down.\n"
    )
    record = parse_email(message(body), "x.eml")
    assert isinstance(record, MessageRecord)
    assert record.body_text == "Bonjour Bob,\n\nLe prix est confirmé."
    assert "as i mentioned" in record.body_full.lower()
    assert "mentioned" not in record.body_text


def test_long_text_is_fast_enough() -> None:
    text = ("Plain line of new text without any marker at all.\n" * 20_000) + "\n> quoted\n"
    assert extract_new_text(text).count("\n") > 1000

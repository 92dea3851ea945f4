"""The phrase lexicon, exercised through the real build (normalisation and matching in DuckDB).

Positives must raise the named signal; negatives must raise no signal at all. Acknowledgements are checked in
staging.stg_message_requests, and through the awaiting rule: a reply that is an acknowledgement waits for nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from transforms_testlib import insert_messages, make_config, write_lexicon

from transforms import lexicon
from transforms.build import build_marts
from warehouse.db import open_writer

POSITIVE = {
    ("clarification", "en"): [
        "Just to confirm, have you restarted the worker after changing the setting?",
        "Just to make sure. Did you upload the file to the staging bucket or to prod?",
        "Are you, by any chance, referring to the old export screen?",
        "What are you hoping to achieve with the nightly sync?",
        "What is it you need from the pricing table exactly?",
        "Am I understanding this correctly?",
        "If I'm reading the webhooks guide right, retries stop after three tries?",
        "When you say the sync is paused, are you saying nothing is written at all?",
        "So nothing changes for the existing contacts?",
        "ok so the token only works for one portal?",
        "Like the monthly totals?",
        "I am not following you 100% yet.",
        "Could you please clarify what you need for the export?",
        "Can you explain what you mean by 'final'?",
        "What exactly do you mean by a full refresh?",
        "I'm not sure I understand the new requirement.",
        "We are not sure what you are asking for here.",
        "Sorry, I don't understand what the deadline refers to.",
        "Could you elaborate on the second point?",
        "I am a bit confused by your last answer.",
        "Would you mind helping me understand the flow? Could you be more specific?",
        "It's not clear to us which version you want.",
        "We need some clarification on the acceptance criteria.",
        "Did you mean the staging or the production server?",
        "Could you elaborate a bit?",
        "Does that mean we have to migrate the whole table first?",
        "Which report are you referring to?",
        "Are you talking about the nightly sync or the weekly one?",
        "Just to confirm, you want both exports merged?",
        "Are you sure? The field looked empty yesterday.",
        "are u sure it's the prod database",
        "Am I right that the import skips archived rows?",
        "Do I understand correctly that the key is per tenant?",
        "Are you asking whether we keep the history?",
        "What exactly are you trying to achieve with the filter?",
        "I assume you mean the billing account.",
        "Sorry, not sure I follow.",
        "you lost me at the second step",
        "ok so we need to rebuild the index first?",
        "So the worker just retries forever?",
        "The retry happens after the lock is released, right?",
        "Is that correct?",
        "wdym by stale?",
        "As in, the cache is per user?",
        "You're asking whether the job can run twice?",
        "Are you trying to call the API from the browser?",
        "What's the end goal?",
    ],
    ("clarification", "fr"): [
        "Pourriez-vous préciser le format attendu ?",
        "Pouvez-vous m'expliquer ce point ?",
        "Je ne comprends pas votre dernière remarque.",
        "Je ne suis pas sûr de bien comprendre la demande.",
        "Qu'entendez-vous par « livraison complète » ?",
        "Que voulez-vous dire exactement ?",
        "Ce n'est pas très clair pour nous.",
        "Nous aurions besoin de quelques précisions sur le périmètre.",
        "Si je comprends bien, la migration est reportée ?",
        "Je n'ai pas bien compris ce que vous attendez.",
        "Peux-tu clarifier ce point ?",
        "Qu'attendez-vous exactement de notre part ?",
        "Pouvez-vous clarifier votre dernier point ?",
        "Pourriez-vous préciser ce que recouvre le terme actif ?",
        "Pouvez-vous préciser ?",
        "C'est-à-dire ?",
        "Cela veut dire qu'il faut tout relancer ?",
        "De quel fichier parlez-vous ?",
        "À quoi faites-vous référence ?",
        "Tu veux parler du lien de téléchargement ?",
        "On doit donc relancer l'import chaque nuit ?",
        "C'est donc la colonne B qui pose problème ?",
    ],
    ("info_request", "en"): [
        "Are you getting a specific error message when you log in?",
        "At that rate are you seeing any overruns on the receiver?",
        "Please open a ticket and remember to attach your order number.",
        "Can you share the link to the failing page?",
        "do you have a preview link?",
        "could you DM me your portal ID?",
        "Can you show the workflow settings as they are now?",
        "Can you share the logs from last night's run?",
        "Could u also share datatypes of the null column ?",
        "Please send a screenshot of the error.",
        "Which version are you using?",
        "Could you give us access to the repository?",
        "What does the log say?",
        "Can you run the export again and send the output?",
        "We need the configuration file to reproduce it.",
        "Could you please paste the full error output here?",
        "If you could attach the docker-compose file, that would help.",
        "pls send us the verbose logs",
        "What does your config file look like?",
        "What's the exact version of the driver?",
        "What does the status command print?",
        "How are you deploying the worker?",
        "Did you install it with pip?",
        "We need more context to reproduce this.",
        "Let us know which version you upgraded to.",
        "Do you see anything in the logs?",
        "Did you get any errors when starting it?",
        "What is the output of the health check?",
        "Are you seeing an error message?",
        "Did you enable the cache?",
        "What do you see when you open the page?",
        "What value is returned by the health endpoint?",
        "Which browser/OS?",
        "Which queues are listed in your worker config?",
        "Could you provide some information about the errors?",
    ],
    ("info_request", "fr"): [
        "Pouvez-vous nous transmettre les logs ?",
        "Merci de nous envoyer une capture d'écran.",
        "Quelle version utilisez-vous ?",
        "Pourriez-vous nous donner un accès au serveur ?",
        "Pouvez-vous partager le fichier de configuration ?",
        "Nous aurions besoin des logs du 3 novembre.",
        "Peux-tu m'envoyer le message d'erreur ?",
        "Quel message d'erreur obtenez-vous ?",
        "Pouvez-vous nous indiquer la version du navigateur ?",
        "Merci de nous indiquer le message d'erreur exact.",
        "vous pouvez m'envoyer les journaux ?",
        "Avez-vous des logs côté serveur ?",
        "Je veux bien un extrait du fichier.",
        "Quelle est votre version de Python ?",
        "Qu'affichent les journaux ?",
    ],
    ("nudge", "en"): [
        "Has this bug been fixed yet? Our export still hangs.",
        "Have these issues been looked at?",
        "Same here with the v3 endpoint. Have you found a solution?",
        "found a fix for this yet?",
        "Any update on this?",
        "Hi Priya, any news?",
        "Just following up on my previous email.",
        "Gentle reminder about the invoice below.",
        "We are still waiting for your answer.",
        "We haven't heard back from you yet.",
        "Did you get a chance to look at the file?",
        "Bumping this up.",
        "Hi team, bumping this, since we still have the error.",
        "Just bumping this thread.",
        "Following up on this request, please.",
        "Resending this in case it got lost.",
        "Sorry to chase, but the client is asking.",
        "Is there any update regarding the fix?",
    ],
    ("nudge", "fr"): [
        "Je me permets de vous relancer concernant notre demande.",
        "Nous attendons toujours votre retour.",
        "Petite relance sur ce sujet.",
        "Avez-vous des nouvelles ?",
        "Où en est la livraison ?",
        "Nous n'avons toujours pas reçu de réponse.",
        "Toujours sans nouvelles de votre part.",
        "Petit rappel concernant le devis.",
        "Je vous relance au sujet de la facture.",
        "Avez-vous pu regarder notre proposition ?",
        "Sauf erreur de ma part, je n'ai pas reçu le fichier.",
        "Je reviens vers vous concernant ma demande du 3 novembre.",
        "Des news ?",
        "Pas de nouvelles ?",
        "Y a-t-il du nouveau sur la migration ?",
        "Aucune réponse à ce jour.",
        "Pouvez-vous nous donner des nouvelles du correctif ?",
        "Bonjour, up svp",
    ],
    ("repetition", "en"): [
        "As I mentioned, the deadline is Friday.",
        "Per my last email, we need the PDF.",
        "As previously stated, the budget is fixed.",
        "We already explained that the field is mandatory.",
        "As mentioned before, the API is read-only.",
        "To reiterate, we need both files.",
        "I said this before: no weekend deployments.",
        "For the third time, please use the new template.",
        "Please refer to my previous email.",
        "Like I said, the logo must be blue.",
        "As we discussed... as I said before, it is fixed.",
        "I have already answered this question.",
    ],
    ("repetition", "fr"): [
        "Comme indiqué dans mon précédent message, la date est fixe.",
        "Je vous rappelle que la livraison est due lundi.",
        "Comme je vous l'ai déjà dit, le format est PDF.",
        "Comme mentionné précédemment, le budget est fixe.",
        "Je me permets de vous rappeler que la recette commence demain.",
        "Nous l'avons déjà signalé la semaine dernière... nous vous l'avons déjà indiqué.",
        "Je me répète, mais il faut la version 2.",
        "Pour la troisième fois, merci d'utiliser le modèle.",
        "Comme déjà indiqué, le champ est obligatoire.",
        "Voir mon précédent message.",
        "Comme nous l'avions précisé, la charte est imposée.",
        "Nous vous rappelons que le contrat prévoit des pénalités.",
        "Je réitère ma demande du 3 novembre.",
        "Comme indiqué, la date est fixe.",
    ],
    ("rework", "en"): [
        "I cleared the cache as you said and I'm still getting error 502 on the upload page.",
        "Reinstalled the plugin, still receiving the timeout exception.",
        "Deployed the patch this morning, still hitting the same timeout error on two stores.",
        "Restarted the dev server and redid every step, still the same.",
        "I tried what you suggested but it doesn't work.",
        "It still doesn't quite work on the mobile layout.",
        "This is not what we asked for.",
        "The delivery does not match the specification.",
        "It doesn't meet the requirements.",
        "The whole module needs to be redone.",
        "Please redo the translation.",
        "We have to reject this delivery.",
        "Wrong version delivered again.",
        "This is not as specified in the brief.",
        "We cannot accept this deliverable.",
        "The layout deviates from the agreed design.",
        "The report was rejected by QA.",
        "Not what we requested at all.",
        "I still get the same error after the upgrade.",
        "Same exception even after clearing the cache.",
        "It throws the same error.",
        "Unfortunately the problem persists.",
        "But now we get a different error on login.",
        "Tried again and we still see the same failure.",
        "Doesnt work for us, the page stays blank.",
        "Unfortunately it still doesn't work.",
        "Your patch broke the CSV export.",
        "It looks like a regression since 4.2.",
        "Reopening this ticket, the bug is back.",
        "We applied the workaround but it still fails on startup.",
        "I restarted the service and it still crashes.",
        "still failing with the same error",
        "I already tried that, same thing.",
        "None of those steps worked.",
        "nope, still the same",
        "Your answer doesn't address my question.",
        "I tried the command you gave and it still errors out.",
        "It crashed when we tried the new build.",
    ],
    ("rework", "fr"): [
        "Ce n'est pas ce que nous avions demandé.",
        "Il faut tout refaire.",
        "Le livrable ne correspond pas au cahier des charges.",
        "C'est à refaire.",
        "La maquette n'est pas conforme.",
        "Nous devons refuser cette livraison.",
        "Merci de refaire la traduction.",
        "Ce n'est pas du tout ce qu'on avait demandé.",
        "Vous avez livré la mauvaise version du fichier.",
        "Il faudra reprendre toute la mise en page.",
        "Nous ne pouvons pas valider cette version.",
        "La livraison est non conforme.",
        "Toujours KO de notre côté.",
        "Ça ne marche toujours pas.",
        "ca marche pas non plus",
        "J'ai toujours la même erreur.",
        "Même erreur qu'avant avec la nouvelle version.",
        "Le correctif ne corrige pas le problème.",
        "Les chiffres sont toujours faux.",
        "C'est une régression.",
        "Ça plante encore.",
        "Cette solution ne résout pas mon problème.",
        "Ce n'est pas la bonne méthode.",
        "Je viens d'essayer avec l'autre outil : erreur au chargement.",
        "La méthode que vous proposez n'est pas adaptée à nos fichiers.",
    ],
    ("escalation", "en"): [
        "I'm escalating this to our director.",
        "Looping in my manager.",
        "We will escalate if this is not fixed today.",
        "Adding our CTO to this thread.",
        "I will take this up with senior management.",
        "I'd like to speak to your manager.",
        "Copying my boss for visibility.",
        "This has been escalated to the account team.",
        "We are raising a formal complaint.",
        "Keeping our leadership in the loop.",
        "I'm cc'ing my line manager.",
        "We will have to involve our legal team.",
    ],
    ("escalation", "fr"): [
        "J'escalade le sujet.",
        "Je mets en copie mon responsable.",
        "Je vais devoir escalader.",
        "Je mets en copie ma hiérarchie.",
        "Je vais remonter le sujet à ma direction.",
        "Nous allons informer notre direction.",
        "Je souhaite parler à votre responsable.",
        "Ceci vaut mise en demeure.",
        "En copie, notre directrice.",
        "Nous ferons remonter le problème à la direction générale.",
        "Je vais porter ce point à la connaissance de ma direction.",
        "Nous escaladons le ticket.",
    ],
}

NEGATIVE = {
    ("clarification", "en"): [
        "Just to confirm: the release went out at 10:00 and all checks passed.",
        "Are you referring customers to the new portal already? Great news.",
        "So what time works for you on Monday?",
        "So is it possible to filter by owner?",
        "The clarification document is attached.",
        "Thanks for clarifying!",
        "That explains the delay.",
        "I understand, we will adjust.",
        "The explanation is in section 3.",
        "That means the export is done.",
        "Just to clarify, our deadline is Friday.",
        "We are not following the old naming scheme anymore.",
        "Right, we will ship on Monday.",
        "Are you available on Tuesday?",
        "As in previous years, the audit is in May.",
        "We are trying to reach the team.",
    ],
    ("clarification", "fr"): [
        "Merci pour la précision.",
        "Voici quelques précisions sur le planning.",
        "Je comprends parfaitement.",
        "L'explication est dans le document joint.",
        "C'est très clair, merci.",
        "Merci de bien vouloir nous préciser la date.",
        "Cela veut dire que le fichier est prêt.",
        "Nous avons donc livré la version 2.",
        "Il s'agit du fichier de mars.",
    ],
    ("info_request", "en"): [
        "You should have received an email with more info about the outage.",
        "We are getting a specific error on our side and will fix it today.",
        "The order number is attached to the invoice we sent.",
        "I can share the link if that helps.",
        "I can send the logs if useful.",
        "The logs are attached.",
        "Could you confirm the delivery date?",
        "We upgraded to version 3.2 yesterday.",
        "Please give me an example of a dashboard you like.",
        "I can share the output later if needed.",
        "Please send the invoice.",
        "What is the plan for next week?",
        "How are you doing?",
        "We need more time.",
        "Did you enjoy the workshop?",
        "Which option do you prefer?",
    ],
    ("info_request", "fr"): [
        "Je peux vous envoyer les logs si besoin.",
        "Vous trouverez les logs en pièce jointe.",
        "Pouvez-vous confirmer la date de livraison ?",
        "Nous sommes passés en version 3.2 hier.",
        "Merci de nous indiquer la date de livraison.",
        "Avez-vous des questions ?",
        "Je vous envoie les journaux demain.",
        "Auriez-vous un exemple de rapport qui vous plaît ?",
    ],
    ("nudge", "en"): [
        "This bug has been fixed in 4.2, see the release notes.",
        "Has this bug been around for long? Just curious, no rush.",
        "We found a fix for the export; it ships tomorrow.",
        "We will follow up with the results tomorrow.",
        "Please find the update attached.",
        "Let us know if there are any updates to the plan.",
        "Looking forward to your reply.",
        "The follow-up meeting is on Tuesday.",
        "Up to date, nothing to change on our side.",
        "Thank you for bumping this. I will give it another try today.",
    ],
    ("nudge", "fr"): [
        "Nous attendons votre retour avec impatience.",
        "Voici les nouvelles maquettes.",
        "La relance marketing démarre lundi.",
        "Bonne nouvelle : le serveur est réparé.",
        "Je reviens vers vous demain avec le devis.",
        "Aucun retour depuis la mise en production, tout va bien.",
    ],
    ("repetition", "en"): [
        "As mentioned in the spec, the field is optional.",
        "As shown above, the totals match.",
        "Once again, thank you for your help.",
        "I mentioned it to the team and they agreed.",
    ],
    ("repetition", "fr"): [
        "Comme indiqué ci-dessous, le total est correct.",
        "Rappelez-moi demain si besoin.",
        "Comme prévu, la livraison arrive lundi.",
        "Pour rappel, la recette commence demain.",
        "Je vous ai envoyé le fichier ce matin.",
    ],
    ("rework", "en"): [
        "Are you still facing the issue after the restart?",
        "Nothing works on the old kernel, so we moved to 6.1 and it is fine.",
        "We are still seeing good results after the migration.",
        "I am still having lunch, will look at the error after.",
        "I restarted the server and it's the same version as before, 2.4.1.",
        "The build matches the specification.",
        "This is exactly what we asked for.",
        "We will redo the planning meeting next week if needed... no, keep it.",
        "The delivery meets all requirements.",
        "If you run the probe now, it will probably give the same error as before, with more detail.",
        "Great work, approved.",
        "Let us know if the issue persists.",
        "The new query gives the same result as the old one.",
        "We ran the regression tests last night.",
        "No change to the schedule.",
    ],
    ("rework", "fr"): [
        "Le livrable est conforme au cahier des charges.",
        "C'est exactement ce que nous avions demandé.",
        "Tout est validé, merci.",
        "Nous allons faire le point demain.",
        "La campagne de tests de non-régression démarre lundi.",
        "Le traitement fonctionne toujours.",
        "Même si le fichier est gros, il passe.",
    ],
    ("escalation", "en"): [
        "The escalator in the lobby is being repaired.",
        "My manager approved the budget.",
        "Our director will join the kickoff.",
        "The escalation matrix is unchanged.",
    ],
    ("escalation", "fr"): [
        "Le mur d'escalade est fermé.",
        "Mon responsable a validé le devis.",
        "La direction sera présente à la réunion.",
        "Je mets le fichier en pièce jointe.",
    ],
}

ACKNOWLEDGEMENTS = [
    "Thanks!",
    "Thank you very much.",
    "Noted, thanks.",
    "Got it, thanks",
    "Thanks, Priya",
    "Many thanks for the update.",
    "OK, received.",
    "Merci !",
    "Merci beaucoup",
    "Bien reçu, merci.",
    "Bien noté",
    "Reçu, merci",
    "OK merci",
    "C’est noté, merci pour le retour.",
    "Thanks, that works.",
    "Hello Priya, thanks, that works.",
    "Looks good, thanks!",
    "Ça me va, merci.",
    "Merci, c'est parfait.",
]
NOT_ACKNOWLEDGEMENTS = [
    "Thanks, can you send the invoice?",
    "Thanks! When will it ship?",
    "Thanks, but this is not what we asked for.",
    "Noted, we will need the final figures by Monday morning please.",
    "Merci, pouvez-vous confirmer la date ?",
    "Merci de me renvoyer le fichier.",
    "Reçu, mais il manque la page 2.",
    "Please send the file.",
    "That works, but the export still fails on Mondays.",
    "Ça me va, mais il faut refaire le rapport.",
]

CASES = [(signal, lang, text) for (signal, lang), texts in POSITIVE.items() for text in texts]
NEGATIVES = [(signal, lang, text) for (signal, lang), texts in NEGATIVE.items() for text in texts]
AS_OF = dt.datetime(2026, 11, 6, 17, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def built() -> dict[str, object]:
    texts = [text for _, _, text in CASES] + [text for _, _, text in NEGATIVES]
    rows = []
    for i, text in enumerate(texts):
        # Each one answers a delivery, since rework is only counted in a reply to the other side.
        rows.append(
            {
                "message_key": f"d{i}",
                "conversation_key": f"s{i}",
                "sent_at": dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
                "side": "vendor",
                "vendor_id": "kappa",
                "body_text": "Here is the delivery.",
            }
        )
        rows.append(
            {
                "message_key": f"s{i}",
                "conversation_key": f"s{i}",
                "sent_at": dt.datetime(2026, 11, 4, 9, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
                "side": "company",
                "recipient_vendor_ids": ["kappa"],
                "body_text": text,
            }
        )
    for i, text in enumerate(ACKNOWLEDGEMENTS + NOT_ACKNOWLEDGEMENTS):
        base = dt.datetime(2026, 11, 4, 10, tzinfo=dt.UTC) + dt.timedelta(minutes=i)
        rows.append(
            {
                "message_key": f"a{i}-1",
                "conversation_key": f"a{i}",
                "sent_at": base,
                "side": "vendor",
                "vendor_id": "zeta",
                "body_text": "Here is the file.",
            }
        )
        rows.append(
            {
                "message_key": f"a{i}-2",
                "conversation_key": f"a{i}",
                "sent_at": base + dt.timedelta(seconds=30),
                "side": "company",
                "recipient_vendor_ids": ["zeta"],
                "body_text": text,
            }
        )
    with open_writer(":memory:", threads=2) as con:
        insert_messages(con, rows)
        build_marts(con, make_config(), AS_OF)
        signals: dict[str, set[str]] = {}
        for key, signal in con.execute("SELECT message_key, signal FROM marts.message_signals").fetchall():
            signals.setdefault(key, set()).add(signal)
        awaiting = {row[0] for row in con.execute("SELECT conversation_key FROM marts.awaiting").fetchall()}
        acknowledgements = {
            key.removesuffix("-2")
            for (key,) in con.execute(
                "SELECT message_key FROM staging.stg_message_requests WHERE is_acknowledgement"
            ).fetchall()
        }
    by_text = {text: signals.get(f"s{i}", set()) for i, text in enumerate(texts)}
    return {"signals": by_text, "awaiting": awaiting, "acknowledgements": acknowledgements}


@pytest.mark.parametrize(("signal", "lang", "text"), CASES)
def test_positive(built, signal: str, lang: str, text: str) -> None:
    assert signal in built["signals"][text], f"{text!r} should raise {signal}, got {built['signals'][text]}"


@pytest.mark.parametrize(("signal", "lang", "text"), NEGATIVES)
def test_negative(built, signal: str, lang: str, text: str) -> None:
    assert not built["signals"][text], f"{text!r} should raise nothing, got {built['signals'][text]}"


@pytest.mark.parametrize(
    ("signal", "text"),
    [("rework", "The export is still not working."), ("clarification", "Could you clarify what you mean?")],
)
def test_only_in_a_reply(signal: str, text: str) -> None:
    """Opening a conversation, 'still not working' is a first report and 'could you clarify' a plain question;
    after the other side's message they reject its fix or question its meaning."""
    sent = dt.datetime(2026, 11, 4, 9, tzinfo=dt.UTC)
    rows = [
        {
            "message_key": "opening",
            "conversation_key": "c1",
            "sent_at": sent,
            "side": "company",
            "recipient_vendor_ids": ["kappa"],
            "body_text": text,
        },
        {
            "message_key": "vendor",
            "conversation_key": "c2",
            "sent_at": sent,
            "side": "vendor",
            "vendor_id": "kappa",
            "body_text": "We deployed a fix this morning.",
        },
        {
            "message_key": "reply",
            "conversation_key": "c2",
            "sent_at": sent + dt.timedelta(hours=1),
            "side": "company",
            "recipient_vendor_ids": ["kappa"],
            "body_text": text,
        },
    ]
    with open_writer(":memory:", threads=2) as con:
        insert_messages(con, rows)
        build_marts(con, make_config(), AS_OF)
        found = con.execute(
            "SELECT message_key FROM marts.message_signals WHERE signal = ?", [signal]
        ).fetchall()
    assert found == [("reply",)]


@pytest.mark.parametrize("index", range(len(ACKNOWLEDGEMENTS)), ids=ACKNOWLEDGEMENTS)
def test_acknowledgement(built, index: int) -> None:
    assert f"a{index}" in built["acknowledgements"]
    assert f"a{index}" not in built["awaiting"]


@pytest.mark.parametrize("index", range(len(NOT_ACKNOWLEDGEMENTS)), ids=NOT_ACKNOWLEDGEMENTS)
def test_not_acknowledgement(built, index: int) -> None:
    assert f"a{len(ACKNOWLEDGEMENTS) + index}" not in built["acknowledgements"]


def test_counts_per_signal_and_language() -> None:
    for signal in lexicon.SIGNALS:
        for lang in ("en", "fr"):
            assert len(POSITIVE[(signal, lang)]) >= 8
            assert len(NEGATIVE[(signal, lang)]) >= 4


def test_every_builtin_entry_is_valid_and_unique() -> None:
    entries = lexicon.load_entries()
    assert len({e.id for e in entries}) == len(entries)
    assert {e.signal for e in entries} == set(lexicon.KINDS)
    assert {e.lang for e in entries} == {"en", "fr"}


def test_extra_lexicon_id_collision(tmp_path: Path) -> None:
    path = write_lexicon(
        tmp_path / "extra.yaml",
        [{"id": "nudge_en_reminder", "signal": "nudge", "lang": "en", "pattern": "x"}],
    )
    with pytest.raises(
        lexicon.LexiconError, match=r"extra\.yaml: entry 'nudge_en_reminder': id already used"
    ):
        lexicon.load_entries(make_config({"signals": {"extra_lexicon": str(path)}}))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "bad_re", "signal": "nudge", "lang": "en", "pattern": "(unclosed"}, "not a valid RE2 regex"),
        ({"id": "lookahead", "signal": "nudge", "lang": "en", "pattern": "(?=x)y"}, "not a valid RE2 regex"),
        ({"id": "empty", "signal": "nudge", "lang": "en", "pattern": "(x)?"}, "matches empty text"),
        ({"id": "zero_width", "signal": "nudge", "lang": "en", "pattern": r"\b"}, "matches empty text"),
        ({"id": "sig", "signal": "anger", "lang": "en", "pattern": "x"}, "signal 'anger' is not one of"),
        ({"id": "lang", "signal": "nudge", "lang": "English", "pattern": "x"}, "lang 'English'"),
    ],
)
def test_extra_lexicon_invalid(tmp_path: Path, entry: dict[str, str], message: str) -> None:
    path = write_lexicon(tmp_path / "extra.yaml", [entry])
    with pytest.raises(lexicon.LexiconError, match=message) as info:
        lexicon.load_entries(make_config({"signals": {"extra_lexicon": str(path)}}))
    assert str(path) in str(info.value)


def test_missing_extra_lexicon_file(tmp_path: Path) -> None:
    with pytest.raises(lexicon.LexiconError, match="cannot read the extra lexicon"):
        lexicon.load_entries(make_config({"signals": {"extra_lexicon": str(tmp_path / "nope.yaml")}}))


def test_lexicon_table_loaded(warehouse: duckdb.DuckDBPyConnection) -> None:
    build_marts(warehouse, make_config(), AS_OF)
    rows = warehouse.execute("SELECT DISTINCT origin FROM marts.signal_lexicon").fetchall()
    assert rows == [("builtin",)]

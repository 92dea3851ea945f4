"""Deterministic synthetic vendor traffic: a `commhealth.toml`, mbox mail, a Slack export and the ground truth.

`write_scenario_dataset` writes the messages of a `commhealth.scenario.Scenario`: its vendors, each with a
profile, a baseline behaviour and perhaps a degradation from an onset date, plus `scenario.json` (the ground truth)
beside them. `write_demo_dataset` writes the demo's scenario (Norelec and twelve vendors over ten weeks) and one
more vendor, Tessera, that only talks to the company in Microsoft Teams (saved Graph chatMessage pages under
`teams/`); `write_synthetic_archive` runs the same generator at benchmark scale. Everything is driven by one
`random.Random(seed)`, so the same arguments always give byte-identical files; the Teams vendor draws from a
stream of its own, so the demo's mail and Slack export are byte for byte the scenario's. Messages are produced
conversation by conversation and written straight to disk: mail goes to one mbox per month, Slack messages are
spooled per channel and only sorted into day files one channel at a time at the end; the Teams vendor's are
written once all its conversations are planned, as one Graph page per month for its chats and one for its channel.

A conversation is a script of steps (who says what: a request, an answer, a clarification, a rework...), timed
step by step: each reply comes after a time drawn in the responder's business hours and scaled by the day's
behaviour; when it is slow, or never comes, the asking side chases it once its patience runs out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.charset
import hashlib
import html
import json
import quopri
import random
import shutil
import unicodedata
from collections.abc import Iterator
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from commhealth import mail_mix as realistic_mail
from commhealth.scenario import (
    DEMO_END,
    DEMO_VENDORS,
    DEMO_WEEKS,
    MON_FRI,
    MON_SAT,
    WEEKDAYS,
    Behaviour,
    Degradation,
    Scenario,
    VendorProfile,
    VendorSpec,
    demo_scenario,
    ground_truth,
)

UTC = dt.UTC
CONFIG_NAME = "commhealth.toml"
MAIL_DIR = "mail"
SLACK_DIR = "slack-export"
TEAMS_DIR = "teams"  # the demo's Teams vendor: saved Graph chatMessage pages, one file per kind and month
SCENARIO_FILE = "scenario.json"  # the ground truth: what each vendor was made to do, and from when
WAREHOUSE_FILE = (
    "warehouse.duckdb"  # its published copy, staging, spill folder and digest files share its stem
)
DEMO_MARKER = ".commhealth-demo"  # written first into every target: how a later run knows what it may delete
# What a later demo run deletes in its target, besides the warehouse files.
DEMO_ENTRIES = (CONFIG_NAME, MAIL_DIR, SLACK_DIR, TEAMS_DIR, SCENARIO_FILE)
# How the generator renders mail: "plain" (the demo's: mostly short plain text) or "realistic" (commhealth.mail_mix).
MAIL_MIXES = ("plain", "realistic")
ARCHIVE_DEGRADED_DAYS = 7  # the synthetic archive's kappa gets slower over its last week

# Behaviour knobs (probabilities per conversation unless stated otherwise); what varies by vendor and over time
# is in commhealth.scenario.Behaviour.
P_AUTOREPLY = 0.06
P_FORWARD = 0.08
P_EVENING = 0.06
P_SLOW_REPLY = 0.04  # the occasional slow answer, so that every vendor misses the SLA now and then
P_SLACK_THREADED = 0.8
# Top-level (unthreaded) Slack messages of a channel all form one conversation, where consecutive messages of a
# side are one turn: yesterday's "Thanks!" and today's new question would read as one request waiting since
# yesterday. Conversations of the last three weeks (the awaiting lookback and the recent alert window) are
# therefore always threaded.
ALWAYS_THREADED = dt.timedelta(days=21)
P_FOLLOWUP = 0.25  # one more question once the answer is in
MAX_EXCHANGE = 8  # messages before the closing follow-up and acknowledgement
UNCOUNTED_KINDS = frozenset({"autoreply", "forward"})  # automated or internal: never a turn
# Kinds an exchange can end on.
RESOLUTIONS = frozenset({"answer", "fix", "apology", "followup_answer", "explain"})
# Kinds whose message asks the other side for something (an opening asks unless it is a delivery or a notice):
# the replies to them are what a slow or silent side delays, and what the asking side chases.
ASKING_KINDS = frozenset({"clarify", "query", "rework", "followup", "later_question", "nudge", "escalation"})
VENDOR_TOPICS = ("delivery", "vendor_question")  # what a vendor opens besides notices
# Conversations with a vendor during its closure, relative to a normal day: mail the company sends anyway, which
# the vendor's auto-reply answers with the day it reopens.
CLOSED_VOLUME = 0.3
# Almost every conversation ends with an acknowledgement from the side that asked. Only recent exchanges are
# still open: the ones in flight at as_of, and a few where the expected reply simply has not come yet (a stall,
# possible when the request is at most STALL_WINDOW old, so it waits a business day or two at most).
P_STALL = 0.08
STALL_WINDOW = dt.timedelta(days=2)
P_CHAT_ACK = 0.4  # Slack acknowledgements from CHAT_ACKS ("Thanks, Priya")
P_SLACK_ACK_EMOJI = 0.4
P_LOOKALIKE = 0.08
JUNK_REFERENCES_EVERY = 150  # one reply in N carries `References: <yes>`
MISSING_MESSAGE_ID_EVERY = 60  # one closing acknowledgement in N has no Message-ID
P_HTML_ONLY = 0.04
P_ALTERNATIVE = 0.08
P_QUOTED_PRINTABLE = 0.2
EXTRAS_SHARE = {"notification": 0.025, "general": 0.04, "bot": 0.03, "poll": 0.004}
P_NOTICE_THANKS = 0.5  # the company thanks for a notice
P_LATER_QUESTION = 0.3  # ...and comes back days later in the same thread with a new question
# The demo's Teams vendor (TEAMS_SPEC). Its conversations are planned like Slack ones and written as chatMessages:
# in the shared channel (one thread each), in a 1:1 chat of the two people, or in the group chat of both teams.
TEAMS_CONVERSATIONS_PER_DAY = 1.6  # on a company working day (a tenth of it on a day only the vendor works)
P_TEAMS_CHANNEL = 0.3
P_TEAMS_GROUP_CHAT = 0.2  # the group chat rather than the 1:1 chat, when both are free
# A chat is one conversation that the marts cut into segments at each silence of [metrics]
# slack_segment_gap_hours (8 by default, which the demo keeps), unless the message before the silence asked
# something. A conversation starts in a chat only once the previous one there has been quiet longer than that.
TEAMS_SEGMENT_GAP = dt.timedelta(hours=8)
TEAMS_CHAT_QUIET = TEAMS_SEGMENT_GAP + dt.timedelta(hours=1)
P_TEAMS_MENTION = 0.3  # in the channel and the group chat, besides the first message
P_TEAMS_EDITED = 0.04
P_TEAMS_ACK_EMOJI = 0.3
P_TEAMS_BOT = 0.3  # a connector's post in the shared channel, per vendor working day

# --------------------------------------------------------------------------------------------------------------
# Parties
# --------------------------------------------------------------------------------------------------------------

COMPANY = {
    "name": "Norelec",
    "domain": "norelec.fr",
    "team_id": "T0NORELEC",
    "timezone": "Europe/Paris",
    "holidays": "FR",
    "closures": ("2026-12-24",),
    "business_hours": ("09:00-12:30", "13:30-18:00"),
    "workdays": MON_FRI,
    # first, last, title, mail client; the last person is the manager used in escalations.
    "people": (
        ("Claire", "Martin", "Cheffe de projet SI", "outlook_fr"),
        ("Julien", "Bernard", "Architecte solutions", "outlook_fr"),
        ("Sophie", "Lefèvre", "Responsable recette", "gmail_fr"),
        ("Thomas", "Moreau", "Product owner facturation", "outlook_fr"),
        ("Frédéric", "Girard", "Chef de projet applicatif", "gmail_fr"),
        ("Camille", "Durand", "Directrice des systèmes d'information", "outlook_fr"),
    ),
}
COMPANY_TEAMS_TENANT = "5c3e9f1a-7b2d-4e8c-a6f0-3d9b1c2e4f70"  # Norelec's Microsoft Entra tenant

# The demo's Teams vendor: a healthy relationship held in Microsoft Teams only (chats and a shared channel), where
# people chase sooner than by mail. Its team_id is its Entra tenant, which the config lists as teams_tenant_ids.
# fmt: off
TEAMS_VENDOR = VendorProfile(
    id="tessera", name="Tessera Engineering", domain="tessera-engineering.de",
    team_id="8d4b2a6e-1f3c-4a7d-9e5b-0c6f2d8a1b93", timezone="Europe/Berlin", holidays="DE",
    business_hours=("08:00-12:00", "12:45-16:45"), workdays=MON_FRI, language="en", client="outlook_en",
    slack_share=1.0, weight=1.0,
    people=(("Katrin", "Weber", "Project Manager"), ("Jonas", "Becker", "Lead Engineer"),
            ("Lena", "Hoffmann", "Test Engineer"), ("Stefan", "Schulz", "Head of Delivery")),
)
# fmt: on
TEAMS_SPEC = VendorSpec(TEAMS_VENDOR, baseline={"trouble": 0.08, "patience": (3.0, 6.0)})
TEAMS_BOT = ("Azure DevOps", "0d820ecd-def2-4297-adad-78056cde7c78")  # (display name, application id)
TEAMS_BOT_POSTS = (
    "Build {build} of {module} succeeded and was deployed to UAT.",
    "Work item {ticket} ({bug}) was moved to Resolved by {first}.",
    "Pull request {build}: fix for {ticket} was completed by {first}.",
)

# Regions that generated vendors cycle through in the scaled archive:
# (timezone, holidays, business hours, workdays, language, top-level domain, first names, last names).
# fmt: off
REGIONS = (
    ("Asia/Kolkata", "IN", ("09:30-18:30",), MON_FRI, "en", "in",
     ("Arjun", "Kavya", "Suresh", "Neha", "Ravi"), ("Patel", "Reddy", "Gupta", "Menon", "Joshi")),
    ("Europe/Bucharest", "RO", ("09:00-17:30",), MON_SAT, "mix", "ro",
     ("Radu", "Ana", "Vlad", "Irina", "Sorin"), ("Marin", "Georgescu", "Constantin", "Rusu", "Lazar")),
    ("America/Montreal", "CA-QC", ("08:30-12:00", "13:00-17:00"), MON_FRI, "fr", "ca",
     ("Mathieu", "Geneviève", "Simon", "Isabelle", "Olivier"), ("Côté", "Pelletier", "Lavoie", "Fortin", "Roy")),
    ("Asia/Ho_Chi_Minh", "VN", ("08:30-12:00", "13:30-17:30"), MON_FRI, "en", "vn",
     ("Minh", "Lan", "Tuan", "Thu", "Khoa"), ("Hoang", "Vu", "Dang", "Bui", "Do")),
    ("Africa/Casablanca", "MA", ("09:00-13:00", "14:00-18:00"), MON_FRI, "fr", "ma",
     ("Youssef", "Salma", "Karim", "Imane", "Mehdi"), ("Benali", "El Idrissi", "Alaoui", "Tazi", "Berrada")),
    ("Europe/Warsaw", "PL", ("08:00-16:00",), MON_FRI, "en", "pl",
     ("Piotr", "Anna", "Tomasz", "Kasia", "Marek"), ("Nowak", "Kowalski", "Wiśniewska", "Zieliński", "Lewandowski")),
    ("Africa/Tunis", "TN", ("08:30-12:30", "13:30-17:30"), MON_FRI, "fr", "tn",
     ("Amine", "Sarra", "Walid", "Ines", "Nizar"), ("Trabelsi", "Ben Salah", "Jebali", "Gharbi", "Mansour")),
    ("America/Sao_Paulo", "BR", ("09:00-18:00",), MON_FRI, "en", "com.br",
     ("Lucas", "Beatriz", "Rafael", "Camila", "Bruno"), ("Silva", "Souza", "Oliveira", "Costa", "Almeida")),
    ("Asia/Manila", "PH", ("08:00-17:00",), MON_SAT, "en", "ph",
     ("Paolo", "Angela", "Miguel", "Joy", "Carlo"), ("Santos", "Reyes", "Cruz", "Bautista", "Garcia")),
    ("Europe/Lisbon", "PT", ("09:00-13:00", "14:00-18:00"), MON_FRI, "en", "pt",
     ("João", "Inês", "Tiago", "Marta", "Rui"), ("Ferreira", "Pereira", "Santos", "Rodrigues", "Martins")),
)
# fmt: on
VENDOR_STEMS = (
    "Orion",
    "Delta",
    "Sigma",
    "Nimbus",
    "Zenith",
    "Helix",
    "Quartz",
    "Boreal",
    "Cobalt",
    "Vertex",
    "Pixel",
    "Nova",
    "Terra",
    "Aurora",
    "Falcon",
    "Granite",
    "Meridian",
    "Polaris",
    "Cedar",
    "Summit",
)
VENDOR_KINDS = ("Digital", "Software", "IT Services", "Consulting", "Labs")
VENDOR_TITLES = ("Project Manager", "Tech Lead", "Developer", "Delivery Manager")

# --------------------------------------------------------------------------------------------------------------
# Phrase banks. Placeholders: {module} {module2} {feature} {bug} {ticket} {version} {version2} {days} {date}
# {specv} {prev} {manager} {colleague} {first}. French and English variants of everything a conversation says.
# --------------------------------------------------------------------------------------------------------------

MODULES = (
    ("the invoicing API", "l'API de facturation"),
    ("the customer portal", "le portail client"),
    ("the meter-reading batch", "le batch de relève des compteurs"),
    ("the SAP connector", "le connecteur SAP"),
    ("the mobile app", "l'application mobile"),
    ("the billing export", "l'export de facturation"),
    ("the outage map", "la carte des coupures"),
    ("the payment gateway", "la passerelle de paiement"),
)
FEATURES = (
    ("bulk cancellation of contracts", "l'annulation en masse des contrats"),
    ("CSV export of consumption data", "l'export CSV des consommations"),
    ("two-factor authentication", "l'authentification à deux facteurs"),
    ("smart-meter alerts", "les alertes des compteurs communicants"),
    ("payment by instalments", "le paiement en plusieurs fois"),
    ("the new tariff grid", "la nouvelle grille tarifaire"),
)
BUGS = (
    ("duplicate meter readings", "des relevés en double"),
    ("wrong VAT rounding on credit notes", "un mauvais arrondi de TVA sur les avoirs"),
    ("timeouts (> 30s) on the export endpoint", "des timeouts (> 30 s) sur l'export"),
    ("a login loop after SSO", "une boucle de connexion après le SSO"),
    ("broken accents in PDF invoices", "des accents cassés dans les factures PDF"),
    ("missing consumption data for Q&A accounts", "des consommations manquantes pour les comptes Q&A"),
)
TOPIC_KINDS = ("question", "bug", "spec", "estimate")

SUBJECTS = {
    "question": {
        "en": ("Question about {feature}", "{feature_cap} – quick question"),
        "fr": ("Question sur {feature}", "Précision sur {feature}"),
    },
    "bug": {
        "en": ("[{ticket}] {bug_cap} in {module}", "{ticket}: {bug}"),
        "fr": ("[{ticket}] {bug_cap} dans {module}", "{ticket} : {bug}"),
    },
    "spec": {
        "en": ("Spec review: {feature}", "Updated specification – {feature}"),
        "fr": ("Relecture de la spécification : {feature}", "Spécification mise à jour – {feature}"),
    },
    "estimate": {
        "en": ("Estimate request – {feature}", "Quote for {feature}"),
        "fr": ("Demande de chiffrage – {feature}", "Chiffrage : {feature}"),
    },
    "delivery": {
        "en": ("Delivery {version} – {module}", "Release {version} is on UAT"),
        "fr": ("Livraison {version} – {module}", "Livraison de la version {version}"),
    },
    "vendor_question": {
        "en": ("Need your input – {feature}", "Request from our team – {ticket}"),
        "fr": ("Besoin de votre retour – {feature}", "Demande de notre équipe – {ticket}"),
    },
    "notice": {
        "en": ("Weekly status – {module}", "Deployment {version} – {module}", "Maintenance on {module}"),
        "fr": ("Point hebdomadaire – {module}", "Déploiement {version} – {module}", "Maintenance {module}"),
    },
}
# Statements a vendor posts that need no reply: a thank-you after them is no late answer.
NOTICES = {
    "en": (
        "Deployed {version} of {module} to UAT.",
        "Weekly status for {module}: {days} tickets closed, 2 in progress, no blocker. Any questions, let me know.",
        "FYI: maintenance on {module} on {date}, 22:00-23:00 CET. No action needed on your side.",
        "Release notes for {version} are on the wiki. Let me know if you have any questions.",
    ),
    "fr": (
        "Version {version} de {module} déployée en recette.",
        "Point hebdo {module} : {days} tickets fermés, 2 en cours, aucun point bloquant. N'hésitez pas si besoin.",
        "Pour info : maintenance de {module} le {date}, 22h-23h. Aucune action de votre côté.",
        "Les notes de version de la {version} sont sur le wiki.",
    ),
}
LATER_QUESTIONS = {
    "en": (
        "Thanks again for the update. One more thing: does {version} also include the fix for {ticket}?",
        "Coming back to this: can you confirm {module} is back to normal after the maintenance?",
    ),
    "fr": (
        "Merci encore pour le point. Une question : la {version} contient-elle aussi le correctif de {ticket} ?",
        "Je reviens sur ce sujet : pouvez-vous confirmer que {module} fonctionne normalement depuis ?",
    ),
}
LATER_ANSWERS = {
    "en": ("Yes, {ticket} is fixed in {version}.", "Confirmed, {module} has been stable since then."),
    "fr": ("Oui, {ticket} est corrigé dans la {version}.", "Confirmé, {module} est stable depuis."),
}
POLLS = (
    "Petit sondage pour le déjeuner de lancement : jeudi ou vendredi ? Réagissez avec un emoji :smile:",
    "Quick poll for the kick-off lunch: Thursday or Friday? React with :one: or :two:",
)
POLL_REPLIES = ("Vendredi pour moi", "Jeudi !", ":two:")
OPENERS = {
    "question": {
        "en": (
            (
                "Could you confirm whether {module} supports {feature}? We need the answer for our steering "
                "committee on {date}."
            ),
            (
                "We are planning {feature} for Q1. Is it already possible with {module}, or does it need "
                "development on your side?"
            ),
        ),
        "fr": (
            (
                "Pouvez-vous nous confirmer si {module} permet {feature} ? Nous en avons besoin pour le comité de "
                "pilotage du {date}."
            ),
            (
                "Nous prévoyons {feature} pour le T1. Est-ce déjà possible avec {module}, ou faut-il un "
                "développement de votre côté ?"
            ),
        ),
    },
    "bug": {
        "en": (
            "We found an issue in {module}: {bug}. Steps to reproduce are in {ticket}. Can you take a look?",
            (
                "Since yesterday's deployment we see {bug} in production & UAT ({ticket}). Could you investigate "
                "as a priority?"
            ),
        ),
        "fr": (
            (
                "Nous avons constaté un problème dans {module} : {bug}. Les étapes pour reproduire sont dans "
                "{ticket}. Pouvez-vous regarder ?"
            ),
            "Depuis la mise en production d'hier nous avons {bug} ({ticket}). Pouvez-vous analyser en priorité ?",
        ),
    },
    "spec": {
        "en": (
            (
                "Please find attached the updated specification for {feature} (v{specv}). Could you review it and "
                "tell us if anything is unclear?"
            ),
        ),
        "fr": (
            (
                "Vous trouverez ci-joint la spécification mise à jour pour {feature} (v{specv}). Pouvez-vous la "
                "relire et nous dire si quelque chose n'est pas clair ?"
            ),
        ),
    },
    "estimate": {
        "en": ("Could you send us an estimate for {feature} in {module}? Ideally before {date}.",),
        "fr": (
            (
                "Pourriez-vous nous transmettre un chiffrage pour {feature} dans {module} ? Idéalement avant le "
                "{date}."
            ),
        ),
    },
    "vendor_question": {  # the vendor asks the company
        "en": (
            (
                "Could you give us access to the UAT environment of {module} again? Our accounts were disabled "
                "after the migration."
            ),
            "Can you send us anonymised test data for {feature}? We need it to finish the tests of {ticket}.",
            "Could you validate version {specv} of the specification for {feature}, so that we can start?",
        ),
        "fr": (
            (
                "Pourriez-vous nous redonner l'accès à l'environnement de recette de {module} ? Nos comptes ont été "
                "désactivés après la migration."
            ),
            (
                "Pouvez-vous nous envoyer un jeu de données anonymisées pour {feature} ? Nous en avons besoin pour "
                "terminer les tests de {ticket}."
            ),
            "Pourriez-vous valider la version {specv} de la spécification de {feature} afin que nous puissions démarrer ?",
        ),
    },
    "delivery": {
        "en": (
            (
                "Please find attached the release notes for version {version} of {module}. The build is deployed "
                "on UAT and includes the fix for {ticket}."
            ),
        ),
        "fr": (
            (
                "Veuillez trouver ci-joint les notes de version de la {version} pour {module}. Le build est déployé "
                "en recette et contient le correctif de {ticket}."
            ),
        ),
    },
}
ANSWERS = {
    "vendor_question": {  # the company answers the vendor
        "en": (
            "Your accounts on the UAT environment are active again since this morning.",
            "The anonymised test data is on the shared drive, in the folder {ticket}.",
            "We validate version {specv} of the specification, you can start the development.",
        ),
        "fr": (
            "Vos comptes sur l'environnement de recette sont réactivés depuis ce matin.",
            "Le jeu de données anonymisées est sur le partage, dans le dossier {ticket}.",
            "Nous validons la version {specv} de la spécification, vous pouvez démarrer le développement.",
        ),
    },
    "question": {
        "en": (
            (
                "Yes, {module} already supports {feature}; it can be enabled per customer segment in the admin "
                "console."
            ),
            "Not yet: {feature} is planned for the next sprint. The effort is about {days} days.",
        ),
        "fr": (
            (
                "Oui, {module} gère déjà {feature} ; cela s'active par segment client dans la console "
                "d'administration."
            ),
            "Pas encore : {feature} est prévu pour le prochain sprint, pour environ {days} jours de charge.",
        ),
    },
    "bug": {
        "en": (
            (
                "We reproduced the issue; the root cause was a missing index on the readings table. The fix is "
                "deployed on UAT in build {version}."
            ),
            (
                "Our analysis of {ticket} is done: it is a time zone conversion bug in the nightly batch. Patch "
                "{version} is ready for your tests.\nFrom Monday the patch will also be on the staging branch."
            ),
        ),
        "fr": (
            (
                "Nous avons reproduit le problème : il venait d'un index manquant sur la table des relevés. Le "
                "correctif est déployé en recette (build {version})."
            ),
            (
                "L'analyse de {ticket} est terminée : c'est une erreur de conversion de fuseau horaire dans le batch "
                "de nuit. Le patch {version} est prêt pour vos tests."
            ),
        ),
    },
    "spec": {
        "en": (
            (
                "We have reviewed the specification, it is clear for us. Estimated effort: {days} person-days, "
                "delivery on {date}."
            ),
        ),
        "fr": (
            (
                "Nous avons relu la spécification, c'est clair pour nous. Charge estimée : {days} jours-homme, "
                "livraison le {date}."
            ),
        ),
    },
    "estimate": {
        "en": ("Our estimate for {feature} is {days} person-days including tests. We can start on {date}.",),
        "fr": (
            (
                "Notre chiffrage pour {feature} est de {days} jours-homme, tests inclus. Nous pouvons démarrer le "
                "{date}."
            ),
        ),
    },
    "delivery": {
        "en": ("Thanks, we will test it in UAT and come back to you.",),
        "fr": ("Merci, nous allons la tester en recette et revenir vers vous.",),
    },
}
NUDGES = {
    "en": (
        "Any update on this?",
        "Just following up on my previous {prev}.",
        "Gentle reminder: we are still waiting for your answer on this.",
        "Any news on this one? We need it for the release.",
    ),
    "fr": (
        "Je me permets de vous relancer concernant ma demande ci-dessous.",
        "Petite relance : nous attendons toujours votre retour.",
        "Avez-vous des nouvelles sur ce sujet ? Je me permets de vous relancer.",
    ),
}
CLARIFY = {
    "en": (
        'Could you clarify what you mean by "{feature}"? Should it apply to existing contracts as well?',
        "I'm not sure I understand what is expected here. Could you share an example?",
        "Can you please clarify whether this applies to {module} only or to all modules?",
    ),
    "fr": (
        (
            "Pourriez-vous préciser ce que vous entendez par « {feature} » ? Cela concerne-t-il aussi les "
            "contrats existants ?"
        ),
        "Je ne suis pas sûr de comprendre ce qui est attendu. Auriez-vous un exemple ?",
    ),
}
REPETITIONS = {
    "en": ("As I mentioned in my last {prev}, ", "Per my last {prev}, ", "As already explained, "),
    "fr": ("Comme indiqué dans mon précédent message, ", "Comme je vous l'ai déjà indiqué, "),
}
CLARIFY_ANSWERS = {
    "en": (
        (
            "{rep}the change only concerns {module}: {feature} must be available for residential customers, "
            "nothing else changes."
        ),
        "{rep}we need the behaviour described in section 3.2 of the specification, for new contracts only.",
    ),
    "fr": (
        (
            "{rep}la modification concerne uniquement {module} : {feature} doit être disponible pour les clients "
            "particuliers, le reste ne change pas."
        ),
        (
            "{rep}nous attendons le comportement décrit en section 3.2 de la spécification, pour les nouveaux "
            "contrats uniquement."
        ),
    ),
}
# The company does not follow the vendor's answer, and the vendor explains again (perhaps repeating itself).
QUERIES = {
    "en": (
        "I'm not sure I understand your answer: does it mean that {feature} will not work for existing contracts?",
        "Could you clarify your last {prev}? We don't see how it solves {ticket}.",
    ),
    "fr": (
        "Je ne suis pas sûr de comprendre votre réponse : {feature} ne marchera donc pas pour les contrats existants ?",
        "Pourriez-vous préciser votre dernier message ? Nous ne voyons pas en quoi cela règle {ticket}.",
    ),
}
EXPLAINS = {
    "en": (
        "{rep}the fix covers {module} only; existing contracts keep their current behaviour.",
        "{rep}{ticket} is solved by the new index, the batch itself does not change.",
    ),
    "fr": (
        "{rep}le correctif couvre uniquement {module} ; les contrats existants gardent leur comportement actuel.",
        "{rep}{ticket} est réglé par le nouvel index, le batch lui-même ne change pas.",
    ),
}
REWORKS = {
    "en": (
        "This is not what we asked for: {feature} should be available to all customers, not only to admins.",
        "The delivery does not match the specification (section 3.2). Could you rework it?",
        "Unfortunately the fix does not solve the issue, we still see {bug} in UAT.",
    ),
    "fr": (
        "Ce n'est pas ce que nous avions demandé : {feature} doit être accessible à tous les clients.",
        "La livraison ne correspond pas à la spécification (section 3.2). Merci de la reprendre.",
        "Malheureusement le correctif ne règle pas le problème, nous avons toujours {bug} en recette.",
    ),
}
FIXES = {
    "en": (
        "Thanks for the feedback. We have corrected it, version {version2} is on the UAT server.",
        "Sorry about that. The corrected build {version2} is deployed, please test again.",
    ),
    "fr": (
        "Merci pour votre retour. C'est corrigé, la version {version2} est en recette.",
        "Désolé pour ce contretemps. Le build corrigé {version2} est déployé, vous pouvez retester.",
    ),
}
ESCALATIONS = {
    "en": (
        "I'm looping in my manager, {manager}, as this is now blocking our release.",
        "We are escalating this: the topic has been open for too long and is blocking production.",
    ),
    "fr": (
        "Je mets en copie {manager}, ma responsable, car ce sujet bloque maintenant notre mise en production.",
        "Je me vois obligé d'escalader ce point auprès de notre direction.",
    ),
}
APOLOGIES = {
    "en": (
        "Apologies for the delay. I have put two more engineers on it and you will have a fix by tomorrow.",
    ),
    "fr": (
        (
            "Toutes nos excuses pour ce délai. Deux personnes de plus travaillent dessus, vous aurez un correctif "
            "demain."
        ),
    ),
}
FOLLOWUPS = {
    "en": (
        "Thanks. One more question: will this also work for {module2}?",
        "OK. Could you also send us the release notes for {version}?",
    ),
    "fr": (
        "Merci. Une autre question : est-ce que cela fonctionne aussi pour {module2} ?",
        "D'accord. Pouvez-vous aussi nous envoyer les notes de version de la {version} ?",
    ),
}
FOLLOWUP_ANSWERS = {
    "en": ("Yes, it works the same way for {module2}.", "Sure, the release notes are attached."),
    "fr": (
        "Oui, cela fonctionne de la même façon pour {module2}.",
        "Bien sûr, les notes de version sont jointes.",
    ),
}
# Closing acknowledgements: short, no question, only thanks or confirmation of receipt (the awaiting rule's
# definition), so that a closed conversation is not counted as waiting for a reply.
ACKS = {
    "en": (
        "Thanks!",
        "Noted, thanks.",
        "Perfect, thank you.",
        "Great, thanks a lot.",
        "Received, thanks.",
        "Got it, thanks.",
        "Thanks for the update.",
        "Much appreciated, thanks.",
    ),
    "fr": (
        "Merci !",
        "Bien reçu, merci.",
        "Parfait, merci beaucoup.",
        "C'est noté, merci.",
        "Merci pour le retour.",
        "Très bien, merci.",
    ),
}
# Chat only: in mail, a line like "Thanks, Priya" or "Merci, c'est parfait." reads as a sign-off and is cut.
CHAT_ACKS = {
    "en": ("Thanks, {name}", "Noted, thanks {name}.", "Perfect, thanks!"),
    "fr": ("Merci, c'est parfait.", "Merci {name} !", "Bien reçu, merci {name}."),
}
# Sentences that look like signals but are not: a good detector leaves them alone.
LOOKALIKES = {
    "en": (
        "We will follow up with the results tomorrow.",
        "The clarification document is attached.",
        "No need to remind the end users, the banner is enough.",
    ),
    "fr": (
        "Merci pour la précision.",
        "Nous reviendrons vers vous avec les résultats demain.",
        "Le document de clarification est en pièce jointe.",
    ),
}
FORWARD_NOTES = (
    "Pour info, voir la réponse de {first} ci-dessous. Peux-tu vérifier la partie {module} avant qu'on réponde ?",
    "{colleague}, peux-tu regarder ce qu'ils proposent ? Je ne suis pas convaincue.",
    "FYI – leur réponse ci-dessous, on en parle au point de demain.",
)
AUTOREPLIES = {
    "en": (
        "Out of Office: ",
        (
            "Thank you for your email. I am out of the office until {date} with limited access "
            "to email. For urgent matters please contact {colleague}."
        ),
    ),
    "fr": (
        "Réponse automatique : ",
        (
            "Bonjour,\n\nJe suis absent(e) jusqu'au {date} inclus. Pour toute urgence, "
            "merci de contacter {colleague}."
        ),
    ),
}
CLOSURE_AUTOREPLIES = {
    "en": (
        "Automatic reply: ",
        "Thank you for your message. Our office is closed until {date} included; we will answer when we reopen.",
    ),
    "fr": (
        "Réponse automatique : ",
        "Bonjour,\n\nNos bureaux sont fermés jusqu'au {date} inclus. Nous traiterons votre message à notre retour.",
    ),
}
GREETINGS = {"en": ("Hi {first},", "Hello {first},", "Dear {first},"), "fr": ("Bonjour {first},",)}
SIGNOFFS = {
    "en": ("Best regards,", "Kind regards,", "Thanks,", "Regards,"),
    "fr": ("Cordialement,", "Bien cordialement,", "Merci,"),
}
DISCLAIMERS = {
    "en": "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely for the "
    "addressee. If you have received it in error, please notify the sender and delete it.",
    "fr": "Ce message et ses pièces jointes sont confidentiels et établis à l'intention exclusive de ses "
    "destinataires. Si vous l'avez reçu par erreur, merci d'en avertir l'expéditeur et de le détruire.",
}
GENERAL_CHATTER = (
    "Rappel : comité de pilotage fournisseurs jeudi 14h.",
    "Qui a les accès à la sandbox SAP ?",
    "Le build de recette est KO depuis ce matin, je regarde.",
    "Réunion R&D déplacée à 15h.",
    "<@{colleague}> tu peux valider la MEP de ce soir ?",
    "Les chiffrages Q1 sont à rendre avant vendredi <3 merci à tous",
)
BOT_MESSAGES = (
    ("Jira Cloud", "B0JIRA0001", "*{ticket}* _{bug}_ moved from *To Do* to *In Progress* by {first}"),
    ("Jira Cloud", "B0JIRA0001", "*{ticket}* was resolved as *Fixed* by {first}"),
    ("Jenkins", "B0JENKINS1", "Build #{build} for {module} passed & deployed to UAT"),
)
NOTIFICATIONS = (
    (
        "Jira",
        "noreply@norelec.atlassian.net",
        "[JIRA] ({ticket}) {bug_cap}",
        "{first} updated {ticket}.\n\nStatus: In Progress -> Waiting for vendor\n\nView the issue in Jira.",
    ),
    (
        "{vendor} Service Desk",
        "noreply@{domain}",
        "[{ticket}] Ticket update",
        "Your ticket {ticket} has been updated.\n\nThis is an automated message, please do not reply.",
    ),
)

DAY_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTH_FR_SHORT = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)
MONTH_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
OUTLOOK_RULE = "________________________________"

_QP_UTF8 = email.charset.Charset("utf-8")
_QP_UTF8.header_encoding = email.charset.QP


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class DemoDataset:
    """What a generator wrote: paths, how many messages (mail + Slack entries + Teams items), and the demo's
    "now"."""

    config_path: Path
    mail_paths: list[Path]
    slack_export_path: Path
    scenario_path: Path
    messages_written: int
    as_of: dt.datetime
    teams_path: Path | None = None  # the demo's saved Teams pages; None for a scenario


def write_scenario_dataset(
    target: Path, scenario: Scenario, *, seed: int, mail_mix: str = "plain"
) -> DemoDataset:
    """Write the config, mbox mail, Slack export and ground truth of `scenario` under `target`; same seed, same
    bytes. `mail_mix` is one of MAIL_MIXES."""
    scenario.validate()
    return _generate(Path(target), seed, scenario, mail_mix=mail_mix)


def write_demo_dataset(
    target: Path, *, seed: int = 7, end: dt.date = DEMO_END, weeks: int = DEMO_WEEKS
) -> DemoDataset:
    """Write the demo (`commhealth.scenario.demo_scenario`, plus the Teams vendor TEAMS_SPEC) under `target`;
    same seed, same bytes. Everything but the Teams vendor is what `write_scenario_dataset` writes for the demo's
    scenario."""
    scenario = demo_scenario(end, weeks)
    scenario.validate()
    return _generate(Path(target), seed, scenario, teams=TEAMS_SPEC)


def write_synthetic_archive(
    target: Path, *, seed: int, end: dt.date, days: int, messages_per_day: int, mail_mix: str = "plain"
) -> DemoDataset:
    """The demo generator at benchmark scale: about `days * messages_per_day` messages, streamed to disk. The
    vendors are healthy but kappa, slower over the last week. `mail_mix` "realistic" renders the same mail as
    today's clients send it (commhealth.mail_mix): mostly HTML, attachments, tens of KB a message."""
    count = min(200, max(4, messages_per_day // 25))
    profiles = DEMO_VENDORS + tuple(_generated_profile(i) for i in range(len(DEMO_VENDORS), count))
    onset = Degradation("latency", end - dt.timedelta(days=ARCHIVE_DEGRADED_DAYS - 1))
    specs = tuple(VendorSpec(p, degradation=onset if p.id == "kappa" else None) for p in profiles[:count])
    scenario = Scenario("archive", end, days, messages_per_day, specs)
    return write_scenario_dataset(target, scenario, seed=seed, mail_mix=mail_mix)


def _generated_profile(i: int) -> VendorProfile:
    stem = VENDOR_STEMS[i % len(VENDOR_STEMS)]
    tz, hol, hours, workdays, lang, tld, firsts, lasts = REGIONS[i % len(REGIONS)]
    kind = VENDOR_KINDS[i % len(VENDOR_KINDS)]
    people = tuple(
        (firsts[(i + k) % len(firsts)], lasts[(i + 2 * k) % len(lasts)], VENDOR_TITLES[k]) for k in range(4)
    )
    client = "gmail_fr" if lang == "fr" else ("outlook_en" if i % 2 else "gmail_en")
    return VendorProfile(
        f"{stem.lower()}{i:03d}",
        f"{stem} {kind} {i:03d}",
        f"{stem.lower()}{i:03d}.{tld}",
        f"T0{stem.upper()[:6]}{i:03d}",
        tz,
        hol,
        hours,
        workdays,
        lang,
        client,
        people,
        slack_share=0.2 + (i % 4) * 0.1,
        weight=0.6 + (i % 5) * 0.2,
    )


# --------------------------------------------------------------------------------------------------------------
# Calendars: business-hour arithmetic in each party's own zone
# --------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _holiday_dates(code: str, years: tuple[int, ...]) -> frozenset[dt.date]:
    country, _, subdiv = code.partition("-")
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdiv or None, years=years).keys())


class _Calendar:
    def __init__(
        self,
        timezone: str,
        holidays: str,
        hours: tuple[str, ...],
        workdays: tuple[str, ...],
        closures: tuple[str, ...],
        years: tuple[int, ...],
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.intervals = [tuple(dt.time.fromisoformat(t) for t in h.split("-")) for h in hours]
        self.workdays = {WEEKDAYS.index(d) for d in workdays}
        self.off = _holiday_dates(holidays, years) | {dt.date.fromisoformat(c) for c in closures}

    def works(self, day: dt.date) -> bool:
        return day.weekday() in self.workdays and day not in self.off

    def _spans(self, day: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        for start, end in self.intervals:
            yield (dt.datetime.combine(day, start, self.zone), dt.datetime.combine(day, end, self.zone))

    def add_hours(self, moment: dt.datetime, hours: float) -> dt.datetime:
        """The instant `hours` business hours after `moment` (UTC in, UTC out)."""
        local = moment.astimezone(self.zone)
        remaining = dt.timedelta(hours=hours)
        day = local.date()
        for _ in range(400):
            if self.works(day):
                for start, end in self._spans(day):
                    begin = max(local, start)
                    if begin >= end:
                        continue
                    if begin + remaining <= end:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= end - begin
            day += dt.timedelta(days=1)
        return (local + remaining).astimezone(UTC)

    def moment_in_day(
        self, day: dt.date, rng: random.Random, force: bool = False, before: dt.datetime | None = None
    ) -> dt.datetime | None:
        """A random business instant of local `day` earlier than `before`, in UTC; None if there is none."""
        if not self.works(day) and not force:
            return None
        spans = [(s, min(e, before) if before else e) for s, e in self._spans(day)]
        spans = [(s, e) for s, e in spans if e - s > dt.timedelta(minutes=20)]
        if not spans:
            return None
        start, end = rng.choices(spans, weights=[(e - s).total_seconds() for s, e in spans])[0]
        seconds = max(60, (end - start).total_seconds() - 900)
        return (start + dt.timedelta(seconds=rng.uniform(0, seconds))).astimezone(UTC)

    def evening(self, moment: dt.datetime, rng: random.Random) -> dt.datetime:
        local = moment.astimezone(self.zone)
        base = dt.datetime.combine(local.date(), dt.time(18, 40), self.zone)
        return (base + dt.timedelta(minutes=rng.uniform(0, 230))).astimezone(UTC)


# --------------------------------------------------------------------------------------------------------------
# Runtime parties
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Person:
    first: str
    last: str
    title: str
    email: str
    slack_id: str
    client: str
    org: str
    team_id: str
    disclaimer: str | None = None  # language of the corporate disclaimer this person's mail carries

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclasses.dataclass
class _Party:
    id: str
    name: str
    domain: str
    team_id: str
    language: str
    people: list[_Person]
    calendar: _Calendar
    config: dict[str, Any]
    channel: str = ""
    channel_id: str = ""
    slack_share: float = 0.0
    weight: float = 1.0
    healthy: Behaviour = dataclasses.field(default_factory=Behaviour)
    degraded: Behaviour | None = None
    onset_at: dt.datetime | None = None  # company-local midnight of the degradation's onset, in UTC
    closures: frozenset[dt.date] = frozenset()
    chat: str = "slack"  # the chat tool of its conversations that are not mail: "slack" or "teams"

    def behaviour(self, when: dt.datetime) -> Behaviour:
        """How this vendor's relationship runs at `when`."""
        if self.degraded is not None and self.onset_at is not None and when >= self.onset_at:
            return self.degraded
        return self.healthy

    def is_degraded(self, when: dt.datetime) -> bool:
        return self.degraded is not None and self.onset_at is not None and when >= self.onset_at

    def closed_on(self, when: dt.datetime) -> bool:
        """Whether `when` falls on one of the vendor's declared closures (its own local date)."""
        return when.astimezone(self.calendar.zone).date() in self.closures

    @property
    def manager(self) -> _Person:
        return self.people[-1]

    @property
    def staff(self) -> list[_Person]:
        return self.people[:-1]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


class _Ids:
    """Unique, deterministic Slack-style ids."""

    ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def new(self, prefix: str) -> str:
        while True:
            value = prefix + "0" + "".join(self.rng.choice(self.ALPHABET) for _ in range(9))
            if value not in self.seen:
                self.seen.add(value)
                return value


def _make_people(
    raw: tuple, domain: str, team_id: str, org: str, client: str, lang: str, ids: _Ids
) -> list[_Person]:
    people = []
    for i, row in enumerate(raw):
        first, last, title = row[:3]
        people.append(
            _Person(
                first,
                last,
                title,
                f"{_ascii(first)}.{_ascii(last)}@{domain}",
                ids.new("U"),
                row[3] if len(row) > 3 else client,
                org,
                team_id,
                disclaimer=lang if i == 0 else None,
            )
        )
    return people


def _build_parties(
    specs: tuple[VendorSpec, ...], years: tuple[int, ...], ids: _Ids
) -> tuple[_Party, list[_Party]]:
    c = COMPANY
    company_cal = _Calendar(
        c["timezone"], c["holidays"], c["business_hours"], c["workdays"], c["closures"], years
    )
    company = _Party(
        "norelec",
        c["name"],
        c["domain"],
        c["team_id"],
        "fr",
        _make_people(c["people"], c["domain"], c["team_id"], c["name"], "outlook_fr", "fr", ids),
        company_cal,
        {},
    )
    vendors = []
    for spec in specs:
        p = spec.profile
        cal = _Calendar(p.timezone, p.holidays, p.business_hours, p.workdays, p.closures, years)
        onset = spec.degradation.onset if spec.degradation else None
        vendor = _Party(
            p.id,
            p.name,
            p.domain,
            p.team_id,
            p.language,
            _make_people(
                p.people, p.domain, p.team_id, p.name, p.client, "fr" if p.language == "fr" else "en", ids
            ),
            cal,
            dataclasses.asdict(p),
            f"ext-{p.id}",
            ids.new("C"),
            p.slack_share,
            p.weight,
            healthy=spec.healthy(),
            degraded=spec.degraded(),
            onset_at=(
                dt.datetime.combine(onset, dt.time(0), company_cal.zone).astimezone(UTC) if onset else None
            ),
            closures=frozenset(dt.date.fromisoformat(d) for d in p.closures),
        )
        vendors.append(vendor)
    return company, vendors


# --------------------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _config_text(vendors: list[_Party], teams: _TeamsWorld | None = None) -> str:
    c = COMPANY
    lines = [
        "[company]",
        f"name = {_toml(c['name'])}",
        f"email_domains = {_toml([c['domain']])}",
        f"slack_team_ids = {_toml([c['team_id']])}",
        "slack_user_ids = []",
        *([f"teams_tenant_ids = {_toml([COMPANY_TEAMS_TENANT])}"] if teams else []),
        f"timezone = {_toml(c['timezone'])}",
        f"holidays = {_toml(c['holidays'])}",
        f"closures = {_toml(c['closures'])}",
        f"business_hours = {_toml(c['business_hours'])}",
        f"workdays = {_toml(c['workdays'])}",
        "sla_hours = 8",
    ]
    for v in vendors:
        p = v.config
        lines += [
            "",
            "[[vendors]]",
            f"id = {_toml(p['id'])}",
            f"name = {_toml(p['name'])}",
            f"email_domains = {_toml([p['domain']])}",
            f"slack_team_ids = {_toml([p['team_id']])}",
            "slack_user_ids = []",
            f"slack_channels = {_toml([v.channel])}",
            f"timezone = {_toml(p['timezone'])}",
            f"holidays = {_toml(p['holidays'])}",
            f"business_hours = {_toml(p['business_hours'])}",
            f"workdays = {_toml(p['workdays'])}",
            *([f"closures = {_toml(p['closures'])}"] if p["closures"] else []),
            "sla_hours = 8",
            f"alert_channel = {_toml('#vendor-' + p['id'])}",
        ]
    if teams:  # a vendor of Teams only: known by its tenant, its shared channel listed
        p = teams.vendor.config
        lines += [
            "",
            "[[vendors]]",
            f"id = {_toml(p['id'])}",
            f"name = {_toml(p['name'])}",
            f"email_domains = {_toml([p['domain']])}",
            f"teams_tenant_ids = {_toml([p['team_id']])}",
            f"teams_channels = {_toml([teams.channel_id])}",
            f"timezone = {_toml(p['timezone'])}",
            f"holidays = {_toml(p['holidays'])}",
            f"business_hours = {_toml(p['business_hours'])}",
            f"workdays = {_toml(p['workdays'])}",
            "sla_hours = 8",
            f"alert_channel = {_toml('#vendor-' + p['id'])}",
        ]
    lines += [
        "",
        "[metrics]",
        "awaiting_lookback_days = 14",
        "",
        "[warehouse]",
        f'path = "{WAREHOUSE_FILE}"',
        "store_bodies = true",
        "",
        "[sources.mbox]",
        f'paths = ["{MAIL_DIR}/"]',
        "",
        "[sources.slack_export]",
        f'paths = ["{SLACK_DIR}/"]',
        "",
        *(["[sources.teams_export]", f'paths = ["{TEAMS_DIR}/"]', ""] if teams else []),
        "[alerts]",
        'channel = "#vendor-health"',
        'token_env = "SLACK_BOT_TOKEN"            # unset: the digest is a dry run',
        'slack_api_url = "https://slack.com/api/"',
        'slack_workspace_url = "https://norelec.slack.com"',
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Conversation planning
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Turn:
    side: str  # "company" or "vendor"
    kind: str
    author: _Person
    when: dt.datetime


@dataclasses.dataclass
class _Thread:
    vendor: _Party
    channel: str  # "email", "slack" or "teams"
    lang: str
    topic: str
    owner: _Person
    contact: _Person
    values: dict[str, dict[str, str]]
    behaviour: Behaviour  # the relationship's behaviour when the conversation starts
    degraded: bool
    turns: list[_Turn]
    # The vendor is closed when the conversation starts: its last closed day.
    closed_until: dt.date | None = None


def _script(rng: random.Random, topic: str, b: Behaviour, email: bool, closed: bool) -> list[tuple[str, str]]:
    """Who says what, in order: a list of (side, kind); timing, chasers and authors come later.

    The exchange (at most MAX_EXCHANGE messages) ends on an answer, possibly followed by one more question and
    its answer, and the conversation is closed by an acknowledgement from the other side: the requester thanks
    for the answer (or the vendor confirms receipt of our feedback on a delivery).
    """
    s: list[tuple[str, str]] = []
    if topic in VENDOR_TOPICS:
        s.append(("vendor", "open"))
        if topic == "delivery" and rng.random() < b.trouble:  # the delivery is rejected
            s += [
                ("company", "rework"),
                ("vendor", "clarify"),
                ("company", "clarify_answer"),
                ("vendor", "fix"),
            ]
        elif rng.random() < b.trouble:  # we do not follow what the vendor needs
            s += [("company", "query"), ("vendor", "explain"), ("company", "answer")]
        else:
            s.append(("company", "answer"))
    else:
        s.append(("company", "open"))
        if email and (closed or rng.random() < P_AUTOREPLY):
            s.append(("vendor", "autoreply"))
        if rng.random() < b.trouble:
            s += [("vendor", "clarify"), ("company", "clarify_answer")]
        s.append(("vendor", "answer"))
        if email and rng.random() < P_FORWARD:
            s.append(("company", "forward"))
        if rng.random() < b.trouble * 0.5:  # we do not follow the answer
            s += [("company", "query"), ("vendor", "explain")]
        if rng.random() < b.trouble * 0.7:
            s += [("company", "rework"), ("vendor", "fix")]
    s = s[:MAX_EXCHANGE]
    # End on a resolution; an internal forward after the answer stays (it is no turn of the exchange).
    while len(s) > 1 and _last_counted(s)[1] not in RESOLUTIONS:
        s.pop()
    if _last_counted(s)[0] == "vendor" and rng.random() < P_FOLLOWUP:
        s += [("company", "followup"), ("vendor", "followup_answer")]
    s.append(("vendor" if _last_counted(s)[0] == "company" else "company", "ack"))
    return s


def _last_counted(script: list[tuple[str, str]]) -> tuple[str, str]:
    """The last (side, kind) of a script that is a turn of the exchange (not an auto-reply or a forward)."""
    return next((step for step in reversed(script) if step[1] not in UNCOUNTED_KINDS), script[-1])


def _notice_script(rng: random.Random) -> list[tuple[str, str]]:
    """A vendor statement, perhaps thanked for, perhaps followed days later by a new question and its answer."""
    s = [("vendor", "notice")]
    if rng.random() < P_NOTICE_THANKS:
        s.append(("company", "ack"))
        if rng.random() < P_LATER_QUESTION:
            s += [("company", "later_question"), ("vendor", "later_answer"), ("company", "ack")]
    return s


def _fmt_date(day: dt.date, lang: str) -> str:
    return f"{day.day} {MONTH_FR[day.month - 1]}" if lang == "fr" else f"{MONTH_EN[day.month - 1]} {day.day}"


def _values(rng: random.Random, start: dt.datetime, company: _Party, chat: bool) -> dict:
    """Placeholder values for one conversation, per language."""
    m, m2 = rng.sample(range(len(MODULES)), 2)
    f, b = rng.randrange(len(FEATURES)), rng.randrange(len(BUGS))
    major, minor = rng.randint(2, 5), rng.randint(0, 12)
    due = start.date() + dt.timedelta(days=rng.randint(3, 12))
    common = {
        "ticket": f"NOR-{rng.randint(1000, 4999)}",
        "version": f"{major}.{minor}.{rng.randint(0, 9)}",
        "version2": f"{major}.{minor}.{rng.randint(10, 19)}",
        "days": str(rng.randint(3, 25)),
        "specv": f"{rng.randint(1, 3)}.{rng.randint(0, 9)}",
        "manager": company.manager.name,
        "build": str(rng.randint(1200, 9800)),
        "colleague": "",
    }
    out = {}
    for i, lang in enumerate(("en", "fr")):
        v = dict(common)
        v.update(
            module=MODULES[m][i],
            module2=MODULES[m2][i],
            feature=FEATURES[f][i],
            bug=BUGS[b][i],
            date=_fmt_date(due, lang),
            prev=("message" if chat else "email") if lang == "en" else "message",
        )
        v["feature_cap"] = _cap(v["feature"])
        v["bug_cap"] = _cap(v["bug"])
        out[lang] = v
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _plan_thread(
    rng: random.Random, ctx: _Context, vendor: _Party, start: dt.datetime, vendor_first: bool
) -> _Thread:
    company = ctx.company
    behaviour = vendor.behaviour(start)
    channel = vendor.chat if rng.random() < vendor.slack_share else "email"
    lang = vendor.language
    if lang == "mix":
        lang = "fr" if rng.random() < 0.25 else "en"
    if vendor_first:
        topic = "notice" if rng.random() < behaviour.notices else rng.choice(VENDOR_TOPICS)
    else:
        topic = rng.choice(TOPIC_KINDS)
    owner, contact = rng.choice(company.staff), rng.choice(vendor.staff)
    values = _values(rng, start, company, channel != "email")
    closed = vendor.closed_on(start)
    thread = _Thread(
        vendor, channel, lang, topic, owner, contact, values, behaviour, vendor.is_degraded(start), []
    )
    if closed:
        last = start.astimezone(vendor.calendar.zone).date()
        while last + dt.timedelta(days=1) in vendor.closures:
            last += dt.timedelta(days=1)
        thread.closed_until = last
    script = (
        _notice_script(rng)
        if topic == "notice"
        else _script(rng, topic, behaviour, channel == "email", closed)
    )
    planner = _Planner(rng, ctx, thread)
    for i, (side, kind) in enumerate(script):
        if not (planner.start(side, kind, start) if i == 0 else planner.step(side, kind)):
            break
    return thread


def _asks(thread: _Thread, kind: str) -> bool:
    """Whether a message of this kind asks the other side for something (what a reply answers)."""
    if kind == "open":
        return thread.topic not in ("delivery", "notice")
    return kind in ASKING_KINDS


class _Planner:
    """Times the steps of one conversation's script: each reply after a time drawn in the responder's business
    hours, scaled by the relationship's behaviour at the request; chasers from the asking side when the reply is
    slow or never comes; and where the conversation stops (as_of, a request left unanswered, a stall)."""

    def __init__(self, rng: random.Random, ctx: _Context, thread: _Thread) -> None:
        self.rng, self.ctx, self.thread = rng, ctx, thread
        self.anchor = dt.datetime.min.replace(tzinfo=UTC)  # the message the next reply answers
        self.responder = thread.contact  # who answers for the vendor (a colleague after an out-of-office)
        self.away = False  # an auto-reply came: nobody chases a vendor that said it is away
        self.escalated = False

    def start(self, side: str, kind: str, when: dt.datetime) -> bool:
        self._add(side, kind, when)
        return True

    def step(self, side: str, kind: str) -> bool:
        """Plan one more step; False when the conversation stops before it."""
        rng, ctx, thread = self.rng, self.ctx, self.thread
        company, vendor = ctx.company, thread.vendor
        if kind == "autoreply":
            when = self.anchor + dt.timedelta(seconds=rng.uniform(20, 240))
            if when > ctx.as_of:
                return False
            self._add(side, kind, when)
            self.responder = rng.choice(
                [p for p in vendor.staff if p is not thread.contact] or [thread.contact]
            )
            self.away = True
            return True
        if kind == "forward":
            when: dt.datetime | None = company.calendar.add_hours(self.anchor, rng.uniform(0.1, 1.5))
        elif kind == "later_question":  # days later, in the same thread
            when = company.calendar.add_hours(self.anchor, rng.uniform(16, 40))
        else:
            when = self._reply_time(side, kind)
            if when is None:
                return False
            if self.escalated and side == "vendor":  # the vendor's manager apologises first, in the same turn
                if when > ctx.as_of:
                    return False
                self._add(side, "apology", when)
                when += dt.timedelta(minutes=rng.uniform(5, 40))
                self.escalated = False
        if when > ctx.as_of or _stalls(rng, ctx, thread, side, kind):
            return False
        self._add(side, kind, when)
        return True

    def _reply_time(self, side: str, kind: str) -> dt.datetime | None:
        """When `side` replies to the last turn; None if it never does. A reply to a request may be ignored
        (the behaviour says how often) and a slow or missing one is chased."""
        rng, thread = self.rng, self.thread
        behaviour = thread.vendor.behaviour(self.anchor)
        counted = [t for t in thread.turns if t.kind not in UNCOUNTED_KINDS]
        asked = bool(counted) and counted[-1].side != side and _asks(thread, counted[-1].kind)
        ignores = behaviour.vendor_ignores if side == "vendor" else behaviour.company_ignores
        slowness = behaviour.vendor_slowness if side == "vendor" else behaviour.company_slowness
        party = thread.vendor if side == "vendor" else self.ctx.company
        if asked and rng.random() < ignores:
            when = None
        else:
            when = _response_time(
                rng, party, side, self.anchor, thread.channel, slowness if kind != "ack" else None
            )
        if asked:
            self._chase("company" if side == "vendor" else "vendor", behaviour, when)
        return when

    def _chase(self, side: str, behaviour: Behaviour, answer_at: dt.datetime | None) -> None:
        """The asking `side` nudges each time its patience runs out before the answer; the company escalates a
        request chased to the end, now and then."""
        rng, ctx, thread = self.rng, self.ctx, self.thread
        if self.away or thread.vendor.closed_on(self.anchor):
            return
        asker = ctx.company if side == "company" else thread.vendor
        moment = self.anchor
        for _ in range(behaviour.max_nudges):
            moment = asker.calendar.add_hours(moment, rng.uniform(*behaviour.patience))
            if moment > ctx.as_of or (answer_at is not None and moment >= answer_at):
                return
            self._add(side, "nudge", moment, move_anchor=False)
        if side == "company" and rng.random() < behaviour.escalation:
            moment = asker.calendar.add_hours(moment, rng.uniform(*behaviour.patience))
            if moment <= ctx.as_of and (answer_at is None or moment < answer_at):
                self._add(side, "escalation", moment, move_anchor=False)
                self.escalated = True

    def _add(self, side: str, kind: str, when: dt.datetime, move_anchor: bool = True) -> None:
        thread = self.thread
        if side == "company":
            author = thread.owner
        elif kind == "apology":
            author = thread.vendor.manager
        elif kind == "autoreply":
            author = thread.contact
        else:
            author = self.responder
        thread.turns.append(_Turn(side, kind, author, when))
        if move_anchor and kind != "autoreply":
            self.anchor = when


def _stalls(rng: random.Random, ctx: _Context, thread: _Thread, side: str, kind: str) -> bool:
    """Whether the reply now due never comes before as_of: only for a recent request, outside a degradation."""
    if thread.degraded or kind in UNCOUNTED_KINDS:
        return False
    counted = [t for t in thread.turns if t.kind not in UNCOUNTED_KINDS]
    if not counted or counted[-1].side == side:
        return False
    requested = counted[-1].when
    for turn in reversed(counted):
        if turn.side != side:
            requested = turn.when
        else:
            break
    return ctx.as_of - requested <= STALL_WINDOW and rng.random() < P_STALL


def _response_time(
    rng: random.Random,
    party: _Party,
    side: str,
    anchor: dt.datetime,
    channel: str,
    slowness: tuple[float, float] | None,
) -> dt.datetime:
    """When `party` replies to a message sent at `anchor`: a few business hours, now and then many more, faster
    in a chat (Slack, Teams), times a factor drawn from `slowness` (None: never slowed, as a thank-you)."""
    hours = rng.uniform(1, 6) if side == "vendor" else rng.uniform(1, 8)
    if rng.random() < P_SLOW_REPLY:
        hours = rng.uniform(6, 12)
    if channel != "email":
        hours *= 0.5
    if slowness is not None:
        hours *= rng.uniform(*slowness)
    when = party.calendar.add_hours(anchor, hours)
    if rng.random() < P_EVENING:
        evening = party.calendar.evening(anchor, rng)
        if anchor < evening < when:
            return evening
    return when


# --------------------------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------------------------


def _pick(rng: random.Random, bank: dict, lang: str, values: dict) -> str:
    return rng.choice(bank[lang]).format(**values[lang])


def _fresh_text(rng: random.Random, thread: _Thread, turn: _Turn, chat_to: _Person | None = None) -> str:
    """What the author writes in this message, without greeting, signature or quoted history.

    `chat_to` (Slack only) is who the message answers: a chat acknowledgement may name them, when their first
    name is one word (so that "Thanks, Priya" stays a short acknowledgement).
    """
    lang, values, kind = thread.lang, thread.values, turn.kind
    if kind == "open":
        text = _pick(rng, OPENERS[thread.topic], lang, values)
    elif kind == "answer":
        text = _pick(rng, ANSWERS[thread.topic], lang, values)
    elif kind == "nudge":
        text = _pick(rng, NUDGES, lang, values)
    elif kind == "clarify":
        text = _pick(rng, CLARIFY, lang, values)
    elif kind in ("clarify_answer", "explain"):
        repeat = rng.random() < thread.behaviour.repetition
        rep = _pick(rng, REPETITIONS, lang, values) if repeat else ""
        bank = CLARIFY_ANSWERS if kind == "clarify_answer" else EXPLAINS
        body = rng.choice(bank[lang]).format(rep=rep, **values[lang])
        text = body if rep else _cap(body)
    elif kind == "query":
        text = _pick(rng, QUERIES, lang, values)
    elif kind == "rework":
        text = _pick(rng, REWORKS, lang, values)
    elif kind == "fix":
        text = _pick(rng, FIXES, lang, values)
    elif kind == "escalation":
        text = _pick(rng, ESCALATIONS, lang, values)
    elif kind == "apology":
        text = _pick(rng, APOLOGIES, lang, values)
    elif kind == "followup":
        text = _pick(rng, FOLLOWUPS, lang, values)
    elif kind == "followup_answer":
        text = _pick(rng, FOLLOWUP_ANSWERS, lang, values)
    elif kind == "notice":
        text = _pick(rng, NOTICES, lang, values)
    elif kind == "later_question":
        text = _pick(rng, LATER_QUESTIONS, lang, values)
    elif kind == "later_answer":
        text = _pick(rng, LATER_ANSWERS, lang, values)
    elif kind == "ack":
        if chat_to is not None and rng.random() < P_CHAT_ACK:
            template = rng.choice(CHAT_ACKS[lang])
            if "{name}" not in template or chat_to.first.isalpha():
                return template.format(name=chat_to.first)
        return _pick(rng, ACKS, lang, values)
    else:
        raise ValueError(kind)
    if kind in ("answer", "fix", "followup_answer", "open") and rng.random() < P_LOOKALIKE:
        text += " " + _pick(rng, LOOKALIKES, lang, values)
    return text


def _signature(rng: random.Random, person: _Person, lang: str, full: bool) -> str:
    sig = f"{rng.choice(SIGNOFFS[lang])}\n{person.first}"
    if full:
        sig += f"\n\n--\n{person.name}\n{person.title} | {person.org}"
    if person.disclaimer:
        sig += "\n\n" + DISCLAIMERS[person.disclaimer]
    return sig


def _quote_header(prev: _Email, replier: _Person, zone: ZoneInfo) -> tuple[str, bool]:
    """The attribution line or block of a reply and whether the quoted text gets `>` prefixes."""
    local = prev.when.astimezone(zone)
    who = f"{prev.author.name} <{prev.author.email}>"
    if replier.client == "outlook_fr":
        sent = f"{DAY_FR[local.weekday()]} {local.day} {MONTH_FR[local.month - 1]} {local.year} {local:%H:%M}"
        cc = f"Cc : {prev.cc}\n" if prev.cc else ""
        return (
            f"{OUTLOOK_RULE}\nDe : {who}\nEnvoyé : {sent}\nÀ : {prev.to}\n{cc}Objet : {prev.subject}\n",
            False,
        )
    if replier.client == "outlook_en":
        sent = f"{local:%A}, {local:%B} {local.day}, {local.year} {local:%I:%M %p}"
        cc = f"Cc: {prev.cc}\n" if prev.cc else ""
        return (
            f"-----Original Message-----\nFrom: {who}\nSent: {sent}\nTo: {prev.to}\n{cc}Subject: {prev.subject}\n",
            False,
        )
    if replier.client == "gmail_fr":
        day = f"{DAY_FR[local.weekday()][:3]}. {local.day} {MONTH_FR_SHORT[local.month - 1]}"
        return f"Le {day} {local.year} à {local:%H:%M}, {who} a écrit :", True
    day = f"{DAY_EN[local.weekday()]}, {local.day} {MONTH_EN[local.month - 1]} {local.year}"
    return f"On {day} at {local:%H:%M}, {who} wrote:", True


def _quoted(prev: _Email, replier: _Person, zone: ZoneInfo) -> str:
    header, prefix = _quote_header(prev, replier, zone)
    if prefix:
        lines = [
            ">" if not line else ("> " + line if not line.startswith(">") else ">" + line)
            for line in prev.body.split("\n")
        ]
        return header + "\n" + "\n".join(lines)
    return header + "\n" + prev.body


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------------------------------------------
# Email rendering
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Email:
    author: _Person
    when: dt.datetime
    to: str
    cc: str
    subject: str
    body: str
    message_id: str | None


def _addr(person: _Person) -> str:
    return _format_address(person.name, person.email)


@lru_cache(maxsize=8192)
def _format_address(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")


@lru_cache(maxsize=8192)
def _header_value(text: str) -> str:
    return text if text.isascii() else Header(text, _QP_UTF8).encode()


def _every(ctx: _Context, key: str, n: int) -> bool:
    """True once every `n` calls per key: rare defects at a steady, seed-independent rate."""
    ctx.counters[key] = ctx.counters.get(key, 0) + 1
    return ctx.counters[key] % n == n // 2


def _next_serial(ctx: _Context) -> int:
    ctx.serial += 1
    return ctx.serial


def _message_id(rng: random.Random, ctx: _Context, author: _Person) -> str:
    ctx.serial += 1
    token = f"{rng.getrandbits(64):016X}"
    if author.org == COMPANY["name"]:
        return f"<PR1P264MB{token}{ctx.serial:07d}@PR1P264MB{token[:4]}.FRAP264.PROD.OUTLOOK.COM>"
    return f"<{token.lower()}.{ctx.serial}@mail.{author.email.split('@')[1]}>"


def _subject_prefix(author: _Person, kind: str) -> str:
    french = author.client.endswith("_fr")
    if kind == "forward":
        return "TR : " if french else "Fwd: "
    if author.client.startswith("outlook"):
        return "RE : " if french else "RE: "
    return "Re: "


def _mime_body(
    rng: random.Random, fresh: str, quoted: str, plain: str, html_only: bool = True
) -> tuple[list[str], str]:
    """Headers and encoded body for one message: mostly plain 8bit, some QP, a few HTML-only or alternative.

    `html_only=False` keeps a text/plain part (multipart/alternative instead of HTML-only).
    """
    roll = rng.random()
    if roll < P_HTML_ONLY and html_only:
        return [
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
        ], _qp(_html(fresh, quoted))
    if roll < P_HTML_ONLY + P_ALTERNATIVE:
        boundary = f"_000_{rng.getrandbits(64):016x}_"
        parts = [
            f"--{boundary}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _qp(plain).rstrip("\n"),
            "",
            f"--{boundary}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _qp(_html(fresh, quoted)).rstrip("\n"),
            "",
            f"--{boundary}--",
            "",
        ]
        return [f'Content-Type: multipart/alternative; boundary="{boundary}"'], "\n".join(parts)
    if roll < P_HTML_ONLY + P_ALTERNATIVE + P_QUOTED_PRINTABLE:
        return [
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
        ], _qp(plain)
    encoding = "7bit" if plain.isascii() else "8bit"
    return [
        'Content-Type: text/plain; charset="utf-8"; format=flowed',
        f"Content-Transfer-Encoding: {encoding}",
    ], plain


def _qp(text: str) -> str:
    encoded = quopri.encodestring(text.encode("utf-8")).decode("ascii")
    # Encode a leading "F" of "From " so the mbox escaping cannot alter quoted-printable content.
    return "\n".join("=46" + line[1:] if line.startswith("From ") else line for line in encoded.split("\n"))


def _html(fresh: str, quoted: str) -> str:
    def paras(text: str) -> str:
        return "".join(
            f"<p>{html.escape(p, quote=False).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n")
        )

    quote = f'<blockquote style="margin:0 0 0 .8ex;border-left:1px solid #ccc">{paras(quoted)}</blockquote>'
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>\n'
        f"<body>\n<div>{paras(fresh)}</div>\n{quote if quoted else ''}\n</body></html>\n"
    )


def _render_email(lines: list[tuple[str, str]], body_headers: list[str], body: str) -> str:
    head = [f"{name}: {value}" for name, value in lines if value]
    return "\n".join(head + ["MIME-Version: 1.0"] + body_headers) + "\n\n" + body


class _EmailThread:
    """Renders one planned conversation as RFC 5322 messages, reply by reply."""

    def __init__(self, rng: random.Random, ctx: _Context, thread: _Thread) -> None:
        self.rng, self.ctx, self.thread = rng, ctx, thread
        self.subject = _pick(rng, SUBJECTS[thread.topic], thread.lang, thread.values)
        self.chain: list[str] = []
        self.last: _Email | None = None
        self.cc: list[_Person] = []

    def render(self) -> Iterator[tuple[dt.datetime, str, str]]:
        for turn in self.thread.turns:
            yield self._message(turn)

    def _counterpart(self, turn: _Turn) -> _Person:
        if self.last is not None and self.last.author.org != turn.author.org:
            return self.last.author
        return self.thread.contact if turn.side == "company" else self.thread.owner

    def _message(self, turn: _Turn) -> tuple[dt.datetime, str, str]:
        rng, thread, ctx = self.rng, self.thread, self.ctx
        author, lang = turn.author, thread.lang
        party = ctx.company if turn.side == "company" else thread.vendor
        if turn.kind == "escalation" and ctx.company.manager not in self.cc:
            self.cc.append(ctx.company.manager)
        extra: list[tuple[str, str]] = []
        if turn.kind == "autoreply":
            colleague = (
                next(p for p in thread.vendor.staff if p is not author)
                if len(thread.vendor.staff) > 1
                else author
            )
            if thread.closed_until:  # the whole vendor is closed: its mailbox says until when
                prefix, template = CLOSURE_AUTOREPLIES["fr" if lang == "fr" else "en"]
                back = thread.closed_until
            else:
                prefix, template = AUTOREPLIES["fr" if lang == "fr" else "en"]
                back = turn.when.date() + dt.timedelta(days=rng.randint(2, 9))
            text = template.format(
                date=_fmt_date(back, lang), colleague=f"{colleague.name} ({colleague.email})"
            )
            subject, to, cc = prefix + self.subject, [self.thread.owner], []
            body = text if lang == "fr" else f"{text}\n\n{author.name}"
            extra = [("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")]
            msg_id = _message_id(rng, ctx, author)
            refs, reply_to = self.chain[-1:], self.chain[-1] if self.chain else None
            plain, fresh, quoted = body, body, ""
        elif turn.kind == "forward":
            colleague = rng.choice([p for p in ctx.company.staff if p is not author])
            note = rng.choice(FORWARD_NOTES).format(
                first=self.last.author.first, colleague=colleague.first, module=thread.values["fr"]["module"]
            )
            fresh = f"{note}\n\n{author.first}"
            quoted = _quoted(
                self.last, dataclasses.replace(author, client="outlook_fr"), ctx.company.calendar.zone
            )
            plain = f"{fresh}\n\n{quoted}"
            subject = _subject_prefix(author, "forward") + self.subject
            to, cc = [colleague], []
            msg_id = _message_id(rng, ctx, author)
            refs, reply_to = list(self.chain), self.chain[-1] if self.chain else None
        else:
            counterpart = self._counterpart(turn)
            fresh_text = _fresh_text(rng, thread, turn)
            greeting = rng.choice(GREETINGS[lang]).format(first=counterpart.first)
            full_sig = turn.kind not in ("ack", "nudge") and rng.random() < 0.5
            if turn.kind == "ack" and not counterpart.first.isalpha():
                greeting = ""  # "Bonjour Marie-Ève," would make the acknowledgement too long to read as one
            head = f"{greeting}\n\n" if greeting else ""
            fresh = f"{head}{fresh_text}\n\n{_signature(rng, author, lang, full_sig)}"
            if turn.kind == "ack" and author.first.isalpha() and rng.random() < 0.5:
                fresh = f"{fresh_text}\n\n{author.first}"
            quoted = _quoted(self.last, author, party.calendar.zone) if self.last else ""
            plain = f"{fresh}\n\n{quoted}" if quoted else fresh
            subject = self.subject if not self.chain else _subject_prefix(author, "reply") + self.subject
            to = [counterpart]
            cc = [p for p in self.cc if p is not author and p is not counterpart]
            if not self.chain and rng.random() < 0.3:
                pool = [
                    p
                    for p in (ctx.company.staff if turn.side == "company" else thread.vendor.staff)
                    if p is not author
                ]
                self.cc.append(rng.choice(pool))
                cc = list(self.cc)
            drop_id = (
                turn.kind == "ack"
                and turn is thread.turns[-1]
                and _every(ctx, "ack", MISSING_MESSAGE_ID_EVERY)
            )
            msg_id = None if drop_id else _message_id(rng, ctx, author)
            refs, reply_to = list(self.chain), self.chain[-1] if self.chain else None
            if refs and _every(ctx, "reply", JUNK_REFERENCES_EVERY):
                refs = ["<yes>"]
        header_lines = [
            ("From", _addr(author)),
            ("To", ", ".join(_addr(p) for p in to)),
            ("Cc", ", ".join(_addr(p) for p in cc)),
            ("Subject", _header_value(subject)),
            ("Date", format_datetime(turn.when.astimezone(party.calendar.zone))),
            ("Message-ID", msg_id or ""),
            ("In-Reply-To", reply_to or ""),
            ("References", "\n ".join(refs)),
        ] + extra
        if author.client.startswith("outlook"):
            header_lines.append(("X-Mailer", "Microsoft Outlook 16.0"))
        else:
            header_lines.append(("User-Agent", "Mozilla Thunderbird"))
        # HTML-only "Hi Priya,<p>Thanks!<p>Regards," reads back without blank lines, so that "Thanks!" looks like
        # the sign-off of an empty message: acknowledgements always keep a text/plain part.
        headers, body = _mime_body(rng, fresh, quoted, plain, html_only=turn.kind != "ack")
        if ctx.mix_rng is not None:
            # Drawn after _mime_body's own draws, from another stream: the conversations stay the same.
            headers, body = realistic_mail.render(
                ctx.mix_rng, fresh, quoted, plain, author.client, html_only=turn.kind != "ack"
            )
        email_text = _render_email(header_lines, headers, body)
        record = _Email(
            author,
            turn.when,
            ", ".join(f"{p.name} <{p.email}>" for p in to),
            ", ".join(f"{p.name} <{p.email}>" for p in cc),
            subject,
            plain,
            msg_id,
        )
        if turn.kind not in ("autoreply", "forward"):
            self.last = record
            if msg_id:
                self.chain.append(msg_id)
        return turn.when, author.email, email_text


# --------------------------------------------------------------------------------------------------------------
# Slack rendering
# --------------------------------------------------------------------------------------------------------------


def _slack_profile(person: _Person) -> dict[str, Any]:
    return {
        "avatar_hash": "g" + hashlib.md5(person.email.encode()).hexdigest()[:11],
        "first_name": person.first,
        "real_name": person.name,
        "display_name": person.first,
        "team": person.team_id,
        "name": person.email.split("@")[0],
        "is_restricted": False,
        "is_ultra_restricted": False,
    }


def _slack_ts(ctx: _Context, when: dt.datetime) -> str:
    ctx.serial += 1
    return f"{int(when.timestamp())}.{(ctx.serial * 7919) % 1_000_000:06d}"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _slack_user_message(
    rng: random.Random, ctx: _Context, person: _Person, text: str, when: dt.datetime
) -> dict[str, Any]:
    return {
        "client_msg_id": _uuid(rng),
        "type": "message",
        "text": text,
        "user": person.slack_id,
        "ts": _slack_ts(ctx, when),
        "team": person.team_id,
        "user_team": person.team_id,
        "source_team": person.team_id,
        "user_profile": _slack_profile(person),
    }


def _slack_thread(rng: random.Random, ctx: _Context, thread: _Thread) -> list[dict[str, Any]]:
    threaded = rng.random() < P_SLACK_THREADED or thread.turns[0].when >= ctx.as_of - ALWAYS_THREADED
    messages: list[dict[str, Any]] = []
    for i, turn in enumerate(thread.turns):
        other = thread.contact if turn.side == "company" else thread.owner
        text = _slack_escape(_fresh_text(rng, thread, turn, other))
        if i == 0 or (turn.kind != "ack" and rng.random() < 0.3):  # a mention would lengthen an ack
            text = f"<@{other.slack_id}> {text}"
        if turn.kind == "ack" and other.first not in text and rng.random() < P_SLACK_ACK_EMOJI:
            text += " :thumbsup:"
        msg = _slack_user_message(rng, ctx, turn.author, text, turn.when)
        if threaded and messages:
            msg["thread_ts"] = messages[0]["ts"]
            msg["parent_user_id"] = messages[0]["user"]
        messages.append(msg)
    if threaded and len(messages) > 1:
        parent, replies = messages[0], messages[1:]
        users = list(dict.fromkeys(m["user"] for m in replies))
        parent.update(
            thread_ts=parent["ts"],
            reply_count=len(replies),
            reply_users_count=len(users),
            latest_reply=replies[-1]["ts"],
            reply_users=users,
            replies=[{"user": m["user"], "ts": m["ts"]} for m in replies],
            is_locked=False,
            subscribed=False,
        )
    return messages


# --------------------------------------------------------------------------------------------------------------
# Teams rendering (the demo's Teams vendor)
# --------------------------------------------------------------------------------------------------------------

GRAPH_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#Collection(chatMessage)"
NEVER = dt.datetime.max.replace(tzinfo=UTC)
EARLIEST = dt.datetime.min.replace(tzinfo=UTC)


@dataclasses.dataclass
class _TeamsChat:
    """A Teams chat (1:1 or group) and the earliest moment a new conversation may start in it."""

    id: str
    group: bool
    free_at: dt.datetime = EARLIEST
    used: bool = False


@dataclasses.dataclass
class _TeamsWorld:
    """The Teams vendor and the Teams side of everyone: Entra user ids, the shared channel, the chats."""

    vendor: _Party
    company: list[_Person]
    user_ids: dict[str, str]  # e-mail address -> Entra object id
    team_id: str
    channel_id: str
    group_chat: _TeamsChat
    chats: dict[tuple[str, str], _TeamsChat] = dataclasses.field(default_factory=dict)  # 1:1, by addresses
    message_ids: set[int] = dataclasses.field(default_factory=set)
    channel_used: bool = False


def _teams_world(
    rng: random.Random, spec: VendorSpec, company: _Party, years: tuple[int, ...]
) -> _TeamsWorld:
    _, (vendor,) = _build_parties((spec,), years, _Ids(rng))
    vendor.chat = "teams"
    user_ids = {person.email: _uuid(rng) for person in company.people + vendor.people}
    return _TeamsWorld(
        vendor,
        company.people,
        user_ids,
        _uuid(rng),
        f"19:{rng.getrandbits(128):032x}@thread.tacv2",
        _TeamsChat(f"19:{rng.getrandbits(128):032x}@thread.v2", group=True),
    )


def _graph_time(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _teams_identity(world: _TeamsWorld, person: _Person) -> dict[str, Any]:
    ours = person.org == COMPANY["name"]
    return {
        "@odata.type": "#microsoft.graph.teamworkUserIdentity",
        "id": world.user_ids[person.email],
        "displayName": person.name,
        "userIdentityType": "aadUser" if ours else "federatedUser",  # the vendor's people are external
        "tenantId": COMPANY_TEAMS_TENANT if ours else world.vendor.team_id,
    }


def _teams_id(world: _TeamsWorld, when: dt.datetime) -> tuple[str, dt.datetime]:
    """A message id as Teams makes them (its creation time in epoch milliseconds, unique) and that time."""
    millis = (when - GRAPH_EPOCH) // dt.timedelta(milliseconds=1)
    while millis in world.message_ids:
        millis += 1
    world.message_ids.add(millis)
    return str(millis), GRAPH_EPOCH + dt.timedelta(milliseconds=millis)


def _teams_html(text: str, mention: _Person | None, emoji: bool) -> str:
    paragraphs = [html.escape(line.strip(), quote=False) for line in text.split("\n") if line.strip()]
    if mention is not None:
        paragraphs[0] = f'<at id="0">{html.escape(mention.name, quote=False)}</at>&nbsp;{paragraphs[0]}'
    if emoji:
        paragraphs[-1] += ' <emoji id="yes" alt="👍" title="Like"></emoji>'
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _teams_item(
    world: _TeamsWorld,
    message_id: str,
    created: dt.datetime,
    sender: dict[str, Any] | None,
    content: str,
    *,
    chat: _TeamsChat | None,
    reply_to: str | None = None,
    subject: str | None = None,
    edited: dt.datetime | None = None,
    mentions: list[dict[str, Any]] | None = None,
    message_type: str = "message",
    event: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One v1.0 chatMessage as the Teams export APIs return it, in a chat or in the shared channel (None)."""
    modified = edited or created
    if chat is not None:
        web_url = (
            f"https://teams.microsoft.com/l/message/{quote(chat.id, safe='')}/{message_id}"
            "?context=%7B%22contextType%22%3A%22chat%22%7D"
        )
    else:
        web_url = (
            f"https://teams.microsoft.com/l/message/{quote(world.channel_id, safe='')}/{message_id}"
            f"?groupId={world.team_id}&tenantId={COMPANY_TEAMS_TENANT}&createdTime={message_id}"
            f"&parentMessageId={reply_to or message_id}"
        )
    return {
        "id": message_id,
        "replyToId": reply_to,
        "etag": str((modified - GRAPH_EPOCH) // dt.timedelta(milliseconds=1)),
        "messageType": message_type,
        "createdDateTime": _graph_time(created),
        "lastModifiedDateTime": _graph_time(modified),
        "lastEditedDateTime": _graph_time(edited),
        "deletedDateTime": None,
        "subject": subject,
        "summary": None,
        "chatId": chat.id if chat is not None else None,
        "importance": "normal",
        "locale": "en-us",
        "webUrl": web_url,
        "channelIdentity": None
        if chat is not None
        else {"teamId": world.team_id, "channelId": world.channel_id},
        "policyViolation": None,
        "eventDetail": event,
        "from": sender,
        "body": {"contentType": "html", "content": content},
        "attachments": [],
        "mentions": mentions or [],
        "reactions": [],
    }


def _teams_members_added(
    world: _TeamsWorld, chat: _TeamsChat | None, people: list[_Person], when: dt.datetime
) -> dict[str, Any]:
    """The system message a group chat or the channel starts with: its members added (no one's words)."""
    message_id, created = _teams_id(world, when)
    members = [{k: v for k, v in _teams_identity(world, p).items() if k != "@odata.type"} for p in people]
    for member in members:
        member["displayName"] = None
    event = {
        "@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
        "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
        "members": members,
        "initiator": {"application": None, "device": None, "user": _teams_identity(world, world.company[0])},
    }
    return _teams_item(
        world,
        message_id,
        created,
        None,
        "<systemEventMessage/>",
        chat=chat,
        message_type="systemEventMessage",
        event=event,
    )


def _teams_place(rng: random.Random, world: _TeamsWorld, thread: _Thread) -> _TeamsChat | None:
    """Where a conversation is held: a thread of the shared channel (None), or a chat that has been quiet long
    enough, so that no two conversations share a segment of it. The 1:1 chat of the two people only when no one
    else writes."""
    if rng.random() < P_TEAMS_CHANNEL:
        return None
    options = [world.group_chat]
    pair = (thread.owner.email, thread.contact.email)
    if {turn.author.email for turn in thread.turns} <= set(pair):
        if pair not in world.chats:
            ids = world.user_ids[pair[0]], world.user_ids[pair[1]]
            world.chats[pair] = _TeamsChat(f"19:{ids[0]}_{ids[1]}@unq.gbl.spaces", group=False)
        in_pair = rng.random() >= P_TEAMS_GROUP_CHAT
        options.insert(0 if in_pair else 1, world.chats[pair])
    first, last = thread.turns[0].when, thread.turns[-1].when
    for chat in options:
        if chat.free_at <= first:
            # A conversation left on a request keeps its chat: a message there would read as its answer.
            asking = _asks(thread, _last_counted([(t.side, t.kind) for t in thread.turns])[1])
            chat.free_at = NEVER if asking else last + TEAMS_CHAT_QUIET
            return chat
    return None


def _teams_thread(
    rng: random.Random, world: _TeamsWorld, thread: _Thread, chat: _TeamsChat | None, as_of: dt.datetime
) -> list[dict[str, Any]]:
    """A planned conversation as chatMessages: replies to its first message in the channel, or chat messages."""
    items: list[dict[str, Any]] = []
    root: str | None = None
    for i, turn in enumerate(thread.turns):
        other = thread.contact if turn.side == "company" else thread.owner
        text = _fresh_text(rng, thread, turn, other)
        crowded = chat is None or chat.group  # a mention says who is meant
        mention = (
            other if crowded and (i == 0 or (turn.kind != "ack" and rng.random() < P_TEAMS_MENTION)) else None
        )
        emoji = turn.kind == "ack" and other.first not in text and rng.random() < P_TEAMS_ACK_EMOJI
        subject = None
        if chat is None and i == 0 and rng.random() < 0.7:
            subject = _pick(rng, SUBJECTS[thread.topic], thread.lang, thread.values)
        message_id, created = _teams_id(world, turn.when)
        edited = None
        if rng.random() < P_TEAMS_EDITED:
            edited = created + dt.timedelta(seconds=rng.uniform(30, 900))
            edited = edited if edited <= as_of else None
        mentions = []
        if mention is not None:
            identity = _teams_identity(world, mention)
            mentions.append(
                {
                    "id": 0,
                    "mentionText": mention.name,
                    "mentioned": {
                        "application": None,
                        "device": None,
                        "conversation": None,
                        "tag": None,
                        "user": identity,
                    },
                }
            )
        sender = {"application": None, "device": None, "user": _teams_identity(world, turn.author)}
        items.append(
            _teams_item(
                world,
                message_id,
                created,
                sender,
                _teams_html(text, mention, emoji),
                chat=chat,
                reply_to=root,
                subject=subject,
                edited=edited,
                mentions=mentions,
            )
        )
        if chat is None and root is None:
            root = message_id
    return items


def _teams_bot_post(
    rng: random.Random, world: _TeamsWorld, company: _Party, when: dt.datetime
) -> dict[str, Any]:
    """A connector's post in the shared channel (a build, a work item): automated, never a turn."""
    values = _values(rng, when, company, True)["en"]
    values["first"] = rng.choice(world.vendor.staff).name
    text = rng.choice(TEAMS_BOT_POSTS).format(**values)
    name, app_id = TEAMS_BOT
    sender = {
        "application": {
            "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
            "id": app_id,
            "displayName": name,
            "applicationIdentityType": "bot",
        },
        "device": None,
        "user": None,
    }
    message_id, created = _teams_id(world, when)
    return _teams_item(world, message_id, created, sender, _teams_html(text, None, False), chat=None)


def _write_teams(
    rng: random.Random, ctx: _Context, world: _TeamsWorld, root: Path, dates: list[dt.date]
) -> int:
    """Plan the Teams vendor's conversations day by day as the others' are, hold each in the channel or a chat,
    and write them as Graph pages: `chats-YYYY-MM.json` (the chats of Norelec's people) and
    `channels-YYYY-MM.json` (the shared team's channel), by month of creation. Returns the items written."""
    company, vendor = ctx.company, world.vendor
    teams_ctx = _Context(company, [vendor], ctx.as_of, ctx.mail, ctx.slack)
    threads: list[_Thread] = []
    bots: list[dt.datetime] = []
    for day in dates:
        company_works, vendor_works = company.calendar.works(day), vendor.calendar.works(day)
        if vendor_works and rng.random() < P_TEAMS_BOT:
            when = vendor.calendar.moment_in_day(day, rng, before=ctx.as_of)
            bots += [when] if when is not None else []
        if not (company_works or vendor_works):
            continue
        mean = TEAMS_CONVERSATIONS_PER_DAY * teams_ctx.volume(vendor, day) * (1.0 if company_works else 0.1)
        midnight = dt.datetime.combine(day, dt.time(0), company.calendar.zone)
        initiated = vendor.behaviour(midnight).vendor_initiated
        for _ in range(4):  # binomial: up to four conversations a day
            if rng.random() >= mean / 4:
                continue
            vendor_first = not company_works or (rng.random() < initiated and vendor_works)
            calendar = vendor.calendar if vendor_first else company.calendar
            start = calendar.moment_in_day(day, rng, before=ctx.as_of)
            if start is not None:
                threads.append(_plan_thread(rng, teams_ctx, vendor, start, vendor_first))

    items: list[tuple[str, dict[str, Any]]] = []  # (file kind, chatMessage)
    threads.sort(key=lambda t: t.turns[0].when)
    everyone = world.company + vendor.people
    for thread in threads:
        chat = _teams_place(rng, world, thread)
        first = thread.turns[0].when
        if chat is None and not world.channel_used:
            world.channel_used = True
            added = first - dt.timedelta(minutes=rng.uniform(5, 60))
            items.append(("channels", _teams_members_added(world, None, everyone, added)))
        if chat is not None and chat.group and not chat.used:
            added = first - dt.timedelta(minutes=rng.uniform(5, 60))
            items.append(("chats", _teams_members_added(world, chat, everyone, added)))
        if chat is not None:
            chat.used = True
        kind = "channels" if chat is None else "chats"
        items += [(kind, item) for item in _teams_thread(rng, world, thread, chat, ctx.as_of)]
    items += [("channels", _teams_bot_post(rng, world, company, when)) for when in bots]

    pages: dict[str, list[dict[str, Any]]] = {}
    for kind, item in items:
        pages.setdefault(f"{kind}-{item['createdDateTime'][:7]}.json", []).append(item)
    for name, page in sorted(pages.items()):
        page.sort(key=lambda m: (m["lastModifiedDateTime"], int(m["id"])))  # the export APIs' order
        text = json.dumps({"@odata.context": GRAPH_CONTEXT, "value": page}, ensure_ascii=False, indent=2)
        (root / name).write_text(text + "\n", encoding="utf-8")
    return len(items)


# --------------------------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------------------------


class _MboxWriter:
    """Appends messages to one mboxo file per month (`mail/YYYY-MM.mbox`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, IO[bytes]] = {}

    def write(self, when: dt.datetime, sender: str, text: str) -> None:
        key = f"{when:%Y-%m}"
        if key not in self.files:
            self.files[key] = (self.root / f"{key}.mbox").open("wb")
        utc = when.astimezone(UTC)
        stamp = f"{DAY_EN[utc.weekday()]} {MONTH_EN[utc.month - 1]} {utc.day:2d} {utc:%H:%M:%S} {utc.year}"
        lines = [(">" + line if line.startswith("From ") else line) for line in text.split("\n")]
        data = f"From {sender} {stamp}\n" + "\n".join(lines).rstrip("\n") + "\n\n"
        self.files[key].write(data.encode("utf-8"))

    def close(self) -> list[Path]:
        for handle in self.files.values():
            handle.close()
        return sorted(self.root / f"{key}.mbox" for key in self.files)


class _SlackWriter:
    """Spools messages per channel as JSON lines, then writes sorted `<channel>/<YYYY-MM-DD>.json` day files."""

    def __init__(self, root: Path, zone: ZoneInfo) -> None:
        self.root, self.zone = root, zone
        self.spools: dict[str, IO[str]] = {}

    def write(self, channel: str, message: dict[str, Any]) -> None:
        if channel not in self.spools:
            self.spools[channel] = (self.root / f".spool-{channel}.jsonl").open("w", encoding="utf-8")
        self.spools[channel].write(json.dumps(message, ensure_ascii=False) + "\n")

    def close(self) -> None:
        for channel, handle in sorted(self.spools.items()):
            handle.close()
            spool = self.root / f".spool-{channel}.jsonl"
            days: dict[str, list[dict[str, Any]]] = {}
            with spool.open(encoding="utf-8") as lines:
                for line in lines:
                    msg = json.loads(line)
                    day = dt.datetime.fromtimestamp(float(msg["ts"]), self.zone).date().isoformat()
                    days.setdefault(day, []).append(msg)
            spool.unlink()
            (self.root / channel).mkdir(exist_ok=True)
            for day, msgs in sorted(days.items()):
                msgs.sort(key=lambda m: (float(m["ts"]), m["ts"]))
                text = json.dumps(msgs, ensure_ascii=False, indent=4)
                (self.root / channel / f"{day}.json").write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Context:
    company: _Party
    vendors: list[_Party]
    as_of: dt.datetime
    mail: _MboxWriter
    slack: _SlackWriter
    serial: int = 0
    written: int = 0
    counters: dict[str, int] = dataclasses.field(default_factory=dict)
    # The realistic mail mix's own random stream (commhealth.mail_mix); None: the demo's mix.
    mix_rng: random.Random | None = None

    def volume(self, vendor: _Party, day: dt.date) -> float:
        """How many conversations `vendor` has on `day`, relative to the others: its weight, its behaviour's
        volume that day, and much less during its closure."""
        midnight = dt.datetime.combine(day, dt.time(0), self.company.calendar.zone)
        closed = CLOSED_VOLUME if day in vendor.closures else 1.0
        return vendor.weight * vendor.behaviour(midnight).volume * closed


def _generate(
    target: Path, seed: int, scenario: Scenario, teams: VendorSpec | None = None, mail_mix: str = "plain"
) -> DemoDataset:
    """Write `scenario`, and with `teams` one more vendor held in Teams only, drawn from a random stream of its
    own (the rest is byte for byte what the scenario alone gives). `mail_mix` is one of MAIL_MIXES."""
    if mail_mix not in MAIL_MIXES:
        raise ValueError(f"mail mix {mail_mix!r} is not one of {', '.join(MAIL_MIXES)}")
    rng = random.Random(seed)
    days, start_day, end = max(1, scenario.days), scenario.start, scenario.end
    years = tuple(range(start_day.year, end.year + 2))
    company, vendors = _build_parties(scenario.vendors, years, _Ids(rng))
    paris = company.calendar.zone
    as_of = dt.datetime.combine(end, dt.time(18, 0), paris).astimezone(UTC)
    teams_rng = random.Random(f"{seed}:teams")
    world = _teams_world(teams_rng, teams, company, years) if teams is not None else None

    _prepare_target(target, teams=world is not None)
    config_path = target / CONFIG_NAME
    config_path.write_text(_config_text(vendors, world), encoding="utf-8")
    scenario_path = target / SCENARIO_FILE
    if teams is None:
        truth = ground_truth(scenario, seed=seed, as_of=as_of)
    else:
        truth = ground_truth(
            dataclasses.replace(scenario, vendors=(*scenario.vendors, teams)), seed=seed, as_of=as_of
        )
        truth["vendors"][-1]["chat"] = "teams"  # all its conversations are in Teams (chats, a shared channel)
    scenario_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    mail_root, slack_root = target / MAIL_DIR, target / SLACK_DIR
    for folder in (mail_root, slack_root):
        folder.mkdir()
    ctx = _Context(company, vendors, as_of, _MboxWriter(mail_root), _SlackWriter(slack_root, paris))
    if mail_mix == "realistic":
        ctx.mix_rng = random.Random(f"{seed}:mail-mix")

    _write_slack_metadata(rng, ctx, slack_root, start_day)
    dates = [start_day + dt.timedelta(days=i) for i in range(days)]
    # A day's share of the messages: full when the company works, a little when only vendors do, scaled by how
    # busy the vendors are that day (a vendor's closure or silence takes its conversations away).
    nominal = sum(v.weight for v in vendors)
    weights = [
        (1.0 if company.calendar.works(d) else 0.1 if any(v.calendar.works(d) for v in vendors) else 0.0)
        * sum(ctx.volume(v, d) for v in vendors)
        / nominal
        for d in dates
    ]
    force = sum(weights) == 0
    if force:
        weights = [1.0] * days
    total, cumulative, budget = scenario.messages_per_day * days, 0.0, []
    for w in weights:
        cumulative += total * w / sum(weights)
        budget.append(round(cumulative))
    for day, goal, weight in zip(dates, budget, weights, strict=True):
        if weight:
            _write_day(rng, ctx, day, goal, force)

    mail_paths = ctx.mail.close()
    ctx.slack.close()
    teams_root = None
    if world is not None:
        teams_root = target / TEAMS_DIR
        teams_root.mkdir()
        ctx.written += _write_teams(teams_rng, ctx, world, teams_root, dates)
    return DemoDataset(config_path, mail_paths, slack_root, scenario_path, ctx.written, as_of, teams_root)


class DemoTargetError(ValueError):
    """The demo's target holds something the demo did not write; the message says what to do."""


def check_demo_target(target: Path) -> None:
    """Refuse, without touching anything, a target the demo may not write to: a file, or a folder with files
    that an earlier demo did not write."""
    if target.exists() and not target.is_dir():
        raise DemoTargetError(f"{target} is a file; give --target a new or empty folder")
    if target.is_dir() and any(target.iterdir()) and not (target / DEMO_MARKER).is_file():
        raise DemoTargetError(
            f"{target} is not empty and was not written by `commhealth demo` (no {DEMO_MARKER} in it); "
            "give --target a new or empty folder, or remove this one yourself"
        )


def _prepare_target(target: Path, *, teams: bool = False) -> None:
    """Make `target` an empty demo folder. What an earlier demo wrote there (its marker says so) is removed, so
    two datasets never mix in one warehouse; a folder the demo did not make is refused, never emptied. The
    marker names the Teams folder when this dataset writes one."""
    warehouse_files = Path(WAREHOUSE_FILE).stem + "."
    check_demo_target(target)
    if target.is_dir():
        for entry in target.iterdir():
            if entry.name in DEMO_ENTRIES or entry.name.startswith(warehouse_files):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    target.mkdir(parents=True, exist_ok=True)
    (target / DEMO_MARKER).write_text(
        "Written by `commhealth demo`. Running it again with this folder as --target removes the demo's files\n"
        f"({CONFIG_NAME}, {SCENARIO_FILE}, {MAIL_DIR}/, {SLACK_DIR}/, {f'{TEAMS_DIR}/, ' if teams else ''}"
        f"{warehouse_files}*) and writes a new demo;\n"
        "other files stay.\n",
        encoding="utf-8",
    )


def _write_day(rng: random.Random, ctx: _Context, day: dt.date, goal: int, force: bool) -> None:
    """Start conversations on `day` until `goal` messages have been written in total."""
    company_works = ctx.company.calendar.works(day) or force
    if company_works:
        _write_extras(rng, ctx, day, goal - ctx.written, force)
        pool = ctx.vendors
    else:  # weekends and company holidays: only vendors at work start anything
        pool = [v for v in ctx.vendors if v.calendar.works(day)]
    if not pool:
        return
    weights = [ctx.volume(v, day) for v in pool]
    if not any(weights):
        return
    for _ in range(max(50, 5 * (goal - ctx.written))):
        if ctx.written >= goal:
            break
        vendor = rng.choices(pool, weights=weights)[0]
        midnight = dt.datetime.combine(day, dt.time(0), ctx.company.calendar.zone)
        initiated = vendor.behaviour(midnight).vendor_initiated
        vendor_first = not company_works or (rng.random() < initiated and vendor.calendar.works(day))
        calendar = vendor.calendar if vendor_first else ctx.company.calendar
        start = calendar.moment_in_day(day, rng, force=force, before=ctx.as_of)
        if start is not None:
            _write_thread(rng, ctx, _plan_thread(rng, ctx, vendor, start, vendor_first))


def _write_thread(rng: random.Random, ctx: _Context, thread: _Thread) -> None:
    if thread.channel == "slack":
        for message in _slack_thread(rng, ctx, thread):
            ctx.slack.write(thread.vendor.channel, message)
            ctx.written += 1
        return
    for when, sender, text in _EmailThread(rng, ctx, thread).render():
        ctx.mail.write(when, sender, text)
        ctx.written += 1


def _write_extras(rng: random.Random, ctx: _Context, day: dt.date, remaining: int, force: bool) -> None:
    """Noise around the conversations: bulk notifications, internal chatter, bots in shared channels."""
    company = ctx.company
    counts = {kind: int(remaining * share + rng.random()) for kind, share in EXTRAS_SHARE.items()}
    for _ in range(counts["notification"]):
        when = company.calendar.moment_in_day(day, rng, force=force, before=ctx.as_of)
        if when is None:
            continue
        vendor, person = rng.choice(ctx.vendors), rng.choice(company.staff)
        display, sender, subject, body = rng.choice(NOTIFICATIONS)
        values = _values(rng, when, company, False)["en"]
        values.update(first=person.first, vendor=vendor.name, domain=vendor.domain)
        sender = sender.format(**values)
        headers = [
            ("From", formataddr((display.format(**values), sender))),
            ("To", _addr(person)),
            ("Subject", subject.format(**values)),
            ("Date", format_datetime(when)),
            ("Message-ID", f"<notify.{rng.getrandbits(48):012x}.{_next_serial(ctx)}@{sender.split('@')[1]}>"),
            ("Precedence", "bulk"),
            ("Auto-Submitted", "auto-generated"),
            ("List-Unsubscribe", f"<mailto:unsubscribe@{sender.split('@')[1]}>"),
        ]
        text = _render_email(
            headers,
            ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 7bit"],
            body.format(**values),
        )
        ctx.mail.write(when, sender, text)
        ctx.written += 1
    for _ in range(counts["general"]):
        when = company.calendar.moment_in_day(day, rng, force=force, before=ctx.as_of)
        if when is None:
            continue
        person, colleague = rng.sample(company.staff, 2)
        raw = rng.choice(GENERAL_CHATTER)
        text = (
            _slack_escape(raw.replace("<@{colleague}> ", "")) if "{colleague}" in raw else _slack_escape(raw)
        )
        if "{colleague}" in raw:
            text = f"<@{colleague.slack_id}> {text}"
        ctx.slack.write("general", _slack_user_message(rng, ctx, person, text, when))
        ctx.written += 1
    for _ in range(counts["poll"]):  # a vendor's poll in #general: stored, never a vendor conversation
        vendor = rng.choice(ctx.vendors)
        when = company.calendar.moment_in_day(day, rng, force=force, before=ctx.as_of)
        if when is None:
            continue
        author = rng.choice(vendor.staff)
        ctx.slack.write(
            "general", _slack_user_message(rng, ctx, author, _slack_escape(rng.choice(POLLS)), when)
        )
        ctx.written += 1
        for replier in rng.sample(company.staff, 2):
            when += dt.timedelta(minutes=rng.uniform(5, 90))
            if when > ctx.as_of:
                break
            reply = _slack_escape(rng.choice(POLL_REPLIES))
            ctx.slack.write("general", _slack_user_message(rng, ctx, replier, reply, when))
            ctx.written += 1
    for _ in range(counts["bot"]):
        vendor = rng.choice(ctx.vendors)
        when = vendor.calendar.moment_in_day(day, rng, force=True, before=ctx.as_of)
        if when is None:
            continue
        username, bot_id, template = rng.choice(BOT_MESSAGES)
        values = _values(rng, when, company, True)["en"]
        values["first"] = rng.choice(vendor.staff).name
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": _slack_escape(template.format(**values)),
            "ts": _slack_ts(ctx, when),
            "bot_id": bot_id,
            "username": username,
        }
        ctx.slack.write(vendor.channel, message)
        ctx.written += 1


def _write_slack_metadata(rng: random.Random, ctx: _Context, root: Path, start_day: dt.date) -> None:
    """users.json, channels.json and one channel_join per shared channel."""
    company, vendors = ctx.company, ctx.vendors
    created = int(dt.datetime.combine(start_day - dt.timedelta(days=400), dt.time(9), UTC).timestamp())
    users = []
    for party in [company, *vendors]:
        tz = party.calendar.zone
        offset = int(dt.datetime.combine(start_day, dt.time(12), tz).utcoffset().total_seconds())
        for person in party.people:
            profile = _slack_profile(person) | {"email": person.email, "title": person.title}
            users.append(
                {
                    "id": person.slack_id,
                    "team_id": person.team_id,
                    "name": profile["name"],
                    "deleted": False,
                    "real_name": person.name,
                    "tz": str(tz),
                    "tz_offset": offset,
                    "is_bot": False,
                    "is_app_user": False,
                    "profile": profile,
                }
            )
    users.append(
        {
            "id": "U0JIRABOT1",
            "team_id": company.team_id,
            "name": "jira",
            "deleted": False,
            "real_name": "Jira Cloud",
            "is_bot": True,
            "is_app_user": False,
            "profile": {
                "bot_id": "B0JIRA0001",
                "real_name": "Jira Cloud",
                "display_name": "Jira Cloud",
                "team": company.team_id,
            },
        }
    )
    channels = [
        {
            "id": "C0GENERAL01",
            "name": "general",
            "created": created,
            "creator": company.people[0].slack_id,
            "is_archived": False,
            "is_general": True,
            "members": [p.slack_id for p in company.people],
            "topic": {
                "value": "Norelec – équipe SI",
                "creator": company.people[0].slack_id,
                "last_set": created,
            },
            "purpose": {
                "value": "Annonces internes",
                "creator": company.people[0].slack_id,
                "last_set": created,
            },
        }
    ]
    for v in vendors:
        members = [p.slack_id for p in company.people + v.people]
        channels.append(
            {
                "id": v.channel_id,
                "name": v.channel,
                "created": created,
                "creator": company.people[0].slack_id,
                "is_archived": False,
                "is_general": False,
                "is_shared": True,
                "is_ext_shared": True,
                "is_org_shared": False,
                "members": members,
                "topic": {
                    "value": f"Norelec <> {v.name}",
                    "creator": company.people[0].slack_id,
                    "last_set": created,
                },
                "purpose": {
                    "value": f"Shared channel with {v.name}",
                    "creator": company.people[0].slack_id,
                    "last_set": created,
                },
            }
        )
    (root / "users.json").write_text(json.dumps(users, ensure_ascii=False, indent=4) + "\n", encoding="utf-8")
    (root / "channels.json").write_text(
        json.dumps(channels, ensure_ascii=False, indent=4) + "\n", encoding="utf-8"
    )
    for v in vendors:
        newcomer = v.people[-2]
        when = v.calendar.moment_in_day(start_day, rng, force=True, before=ctx.as_of)
        if when is None:
            continue
        message = {
            "type": "message",
            "subtype": "channel_join",
            "ts": _slack_ts(ctx, when),
            "user": newcomer.slack_id,
            "text": f"<@{newcomer.slack_id}> has joined the channel",
            "team": newcomer.team_id,
            "user_team": newcomer.team_id,
            "user_profile": _slack_profile(newcomer),
        }
        ctx.slack.write(v.channel, message)
        ctx.written += 1

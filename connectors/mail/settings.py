"""Constants for the email file connector: limits and the patterns the helpers compile."""

from __future__ import annotations

import datetime as dt

# Limits
MAX_BODY_CHARS = 1_000_000  # decoded text kept in body_full
MAX_PART_BYTES = 4 * MAX_BODY_CHARS  # encoded payload of the chosen text part decoded at most
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # a single message larger than this is quarantined, not parsed
MAX_LINE_BYTES = 1024 * 1024  # mbox lines are read in pieces of at most this size
MBOX_READ_BYTES = 1024 * 1024  # mbox files are read in chunks of this size
NEWTEXT_MAX_CHARS = 200_000  # new text is at the top; scanning further only costs time
SNIFF_BYTES = 8192  # bytes looked at to tell mbox, message and binary apart
# Parsing in worker processes: only for inputs large enough to repay starting them; batches big enough that
# handing them over costs little beside parsing them, small and few enough in flight that memory stays flat.
PARSE_PROCESSES_MIN_BYTES = 16 * 1024 * 1024
PARSE_BATCH_MESSAGES = 256
PARSE_BATCH_BYTES = 1024 * 1024
PARSE_BATCHES_IN_FLIGHT = 1  # jobs per worker at a time: two ran 2 % faster (1M messages) and took 5 MB more
SYNTHETIC_BODY_BYTES = 4096
SYNTHETIC_DOMAIN = "commhealth.invalid"
# Dates before MIN_YEAR are clock garbage (the Unix epoch, an unset clock); dates more than MAX_FUTURE after
# the time of reading come from a wrong clock. Neither is usable.
MIN_YEAR = 1980
MAX_FUTURE = dt.timedelta(days=2)
MAX_ZONE_OFFSET_SECONDS = 14 * 3600

# Quarantine reasons
REASON_EMPTY_FILE = "empty_file"
REASON_BINARY_FILE = "binary_file"
REASON_UNREADABLE_FILE = "unreadable_file"
REASON_NOT_EMAIL = "not_an_email_file"
REASON_NO_HEADERS = "no_headers"
REASON_NO_DATE = "no_usable_date"
REASON_EMPTY_MESSAGE = "empty_message"
REASON_TOO_LARGE = "message_too_large"
REASON_UNPARSABLE = "unparsable_message"

# Files skipped when walking folders (indexes and metadata that sit next to mailboxes).
SKIP_SUFFIXES = frozenset(
    {".msf", ".db", ".dat", ".json", ".csv", ".xml", ".ini", ".sqlite", ".idx", ".lock"}
)
SKIP_NAMES = frozenset({"Thumbs.db", "desktop.ini", "maildirfolder", "subscriptions", "dovecot-uidlist"})
MAILDIR_MESSAGE_DIRS = ("cur", "new")

# mbox
MBOX_FROM_LINE = rb"^From \S*\s.*\d{1,2}:\d{2}"  # after a blank line, a From_ line must look like one
MBOXRD_ESCAPED = rb"^>+From "
HEADER_LINE = rb"^[!-9;-~]+[ \t]*:"  # first line of a message without From_ line

# Headers
MESSAGE_ID_SHAPE = r"[^\s<>@]+@[^\s<>@]+"
EXTRA_ZONES = {  # zone names that email.utils does not know, as +HHMM
    "CET": "+0100",
    "CEST": "+0200",
    "MET": "+0100",
    "MEST": "+0200",
    "BST": "+0100",
    "WET": "+0000",
    "WEST": "+0100",
    "EET": "+0200",
    "EEST": "+0300",
    "JST": "+0900",
    "HKT": "+0800",
    "SGT": "+0800",
    "AEST": "+1000",
    "AEDT": "+1100",
    "NZST": "+1200",
    "NZDT": "+1300",
}

# HTML
HTML_DROP_TAGS = ("style", "script", "head", "title", "noscript", "template")  # never visible
HTML_QUOTE_TAGS = ("blockquote",)
HTML_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
HTML_HISTORY_IDS = ("divRplyFwdMsg", "mail-editor-reference-message-container", "appendonsend")
HTML_BLOCK_TAGS = frozenset(
    {
        "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "pre", "section", "article", "header", "footer", "address", "dl", "dt", "dd",
    }
)  # fmt: skip

# Automated mail
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
AUTO_FALSE_VALUES = frozenset({"", "no", "false", "0", "off"})
AUTO_SUBJECT = (
    r"^\s*(?:\[[^\]]{0,40}\]\s*)*(?:"
    r"automatic reply|auto[- ]?reply|auto[- ]?response|autoresponder|out of (?:the )?office"
    r"|reponse automatique|absence du bureau|absent du bureau|absence\s*:|message d'absence"
    r"|undeliverable\s*:|undelivered mail|delivery status notification|mail delivery (?:failed|failure)"
    r"|delivery failure|returned mail\s*:|non remis\s*:|message non remis|remise impossible"
    r")"
)
MAILER_DAEMON_LOCALS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})

# New-text extraction. Line-level patterns, compiled with IGNORECASE | MULTILINE. SEPARATOR_LINE, HEADER_BLOCK,
# WROTE_* and the *_LINE_MARKERS match at the start of a line without a leading "^": newtext searches them as "\n" + pattern in
# "\n" + text, because the regex engine skips straight to a literal "\n" but tries "^" at every position.
SEPARATOR_LINE = (
    r"[ \t]*(?:[-_=*]{2,}[ \t]*(?:original message|reply message|antwort nachricht|message d['’]origine|forwarded message"
    r"|message transf[ée]r[ée]|message transmis|urspr[üu]ngliche nachricht|weitergeleitete nachricht"
    r"|messaggio originale|messaggio inoltrato|oorspronkelijk bericht|doorgestuurd bericht"
    r"|oprindelig (?:besked|meddelelse)|opprinnelig melding|videresendt (?:besked|melding)"
    r"|mensaje original|mensaje reenviado|mensagem original|mensagem encaminhada|oryginalna wiadomo[śs][ćc]"
    r"|wiadomo[śs][ćc] (?:oryginalna|przekazana)|исходное сообщение|пересылаемое сообщение)[ \t]*[-_=*]{2,}[ \t]*$"
    r"|(?:begin forwarded message|d[ée]but du message (?:r[ée]exp[ée]di[ée]|transf[ée]r[ée]))[ \t]*:)"
)
# Forwarded (not replied-to) history: when nothing is written above it, the forwarded text is the message.
FORWARD_SEPARATOR = (
    r"forward|transf[ée]r|transmis|r[ée]exp[ée]di|weitergeleitet|inoltrato|doorgestuurd|videresendt|reenviado"
    r"|encaminhada|przekazana|пересылаемое"
)
# Quote-header names in the languages vendors write in (EN, FR, DE, IT, NL, DA/NO, SV, ES/PT, PL). Case-sensitive:
# header names are capitalised in real blocks, and "Da"/"A"/"Do" are only header names in that position. A block
# may start with its date ("Date: ...\nTo: ...").
_HEADER_FROM = r"From|De|Von|Da|Van|Fra|Fr[åa]n|Od|Date|Message du|От|发件人"
_HEADER_NEXT = (
    r"Sent|Date|To|Subject|Cc|Envoy[ée](?: le)?|[ÀA]|Objet|Gesendet|Datum|An|Betreff|Inviato|Data|Oggetto"
    r"|Verzonden|Aan|Onderwerp|Sendt|Dato|Til|Emne|Skickat|Till|[ÄA]mne|发送时间|收件人|主题|Enviado|Enviada|Fecha|Para|Asunto|Assunto|Wys[łl]ano|Do|Temat|Отправлено|Дата|Кому|Тема"
)
HEADER_BLOCK = (
    rf"[ \t]*\*{{0,2}}(?:{_HEADER_FROM})[ \t]*\*{{0,2}}[ \t]*:.*\n(?:.*\n){{0,3}}?"
    rf"[ \t]*\*{{0,2}}(?:{_HEADER_NEXT})[ \t]*\*{{0,2}}[ \t]*:"
    # The same block run into one line (an HTML <hr><b>From:</b> ... <b>Date:</b> ... rendered).
    rf"|[ \t]*\*{{0,2}}(?:{_HEADER_FROM})[ \t]*\*{{0,2}}[ \t]*:[^\n]{{1,300}}?[ \t]\*{{0,2}}"
    r"(?:Sent|Date|Subject|Envoy[ée](?: le)?|Objet|Gesendet|Datum|Betreff|Inviato|Data|Oggetto|Verzonden"
    r"|Onderwerp|Sendt|Dato|Emne|Skickat|[ÄA]mne|Enviado|Enviada|Fecha|Asunto|Assunto|Wys[łl]ano|Temat|Отправлено"
    r"|Тема)\*{0,2}[ \t]*:"
)
_ADDRESS = r"<[^\s<>@]+@[^\s<>]+>"
# The WROTE_* alternatives start after a line's leading blanks: newtext matches those once for all of them.
WROTE_EN = (
    r"-*[ \t]*On\b[^\n]{0,300}?(?:\n[^\n]{0,300}?){0,2}\b(?:wrote|sent)[ \t]*:[ \t]*$"
    # Without a colon only when an address or a dashed frame shows it is one (Zoho: "---- On ... wrote ----").
    rf"|On\b[^\n]{{0,300}}?{_ADDRESS}[ \t]*wrote[ \t]*$"
    r"|-{2,}[ \t]*[^\n]{1,300}?\bwrote[ \t]*:?[ \t]*-{2,}[ \t]*$"
    # Polymail: the address on lines of its own under the date and name, "> wrote:" last.
    r"|On\b[^\n]{0,300}\n(?:[ \t]*\n)?[ \t]*<[ \t]*\nmailto:[^\n]{0,300}\n[ \t]*>[ \t]*wrote[ \t]*:[ \t]*$"
    # Eudora and others: "At 09:14 AM 3/3/2026, Dana wrote:"; a time required ("At the meeting Dana wrote:" stays).
    r"|At[ \t][^\n]{0,40}?\d[:.]\d\d[^\n]{0,200}?\bwrote[ \t]*:[ \t]*$"
)
# Gmail without a verb: "2026-03-03 09:14 GMT+01:00 Dana Reyes" (the address may have been cut off), or an older
# "2026/3/3 Dana Reyes <dana@vendor.example>" over a quote (">" or "|").
WROTE_DATE_LED = (
    r"\d{4}-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d?:\d\d[ \t][^\n]{1,200}$"
    rf"|\d{{4}}[/.-]\d\d?[/.-]\d\d?[ \t][^\n]{{0,200}}{_ADDRESS}[ \t]*(?=\n(?:[ \t]*\n)*[ \t]*[>|])"
)
# Attribution verbs of other languages, wherever the line starts (a date, a weekday, the name): newtext looks for
# them on lines ending with ":" (or the line above: "... skrev Name <a@b\n>:"), with an address, a time or a year.
OTHER_ATTRIBUTION_VERB = (
    r"(?:\b(?:schrieb|schreef|geschreven|ha scritto|escribi[óo]|escreveu|napisa[łl](?:a|\(a\))?|skrev"
    r"|kirjoitti|написал[аи]?|đã viết|napsal[ai]?|yazd[ıi])|写道)(?!\w)"
)
# A stem of each verb above: without one in the text, no line is looked at (str "in" is far cheaper than a regex).
OTHER_ATTRIBUTION_STEMS = (
    "schrieb", "schreef", "geschreven", "ha scritto", "escribi", "escreveu", "napisa", "skrev", "kirjoitti",
    "написал", "đã viết", "napsal", "yazd", "写道",
)  # fmt: skip
ATTRIBUTION_YEAR = r"\b(?:19|20)\d\d\b"
# Attributions found anywhere in a line, searched without a line start (scanning every line from its start for
# them costs a quarter of the extraction time); newtext checks the rest of the line:
# - after the reply on the same line: "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@x wrote:". A capitalised "On",
#   a date or weekday and a time or address are required so that sentences are left alone;
# - an address ending the line with a verb ("Name <a> wrote:") or, when the line has a time, with another verb or
#   none: "2014-10-17 11:28 GMT+03:00 Name <\naddress>:", "Thu, 26 Jun 2014 14:00:51 +0400 от N <a>:".
_DAY_OR_DATE = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|\d)"
WROTE_INLINE = (
    rf"(?-i:On[ \t]+{_DAY_OR_DATE})[^\n]{{0,300}}?(?:\d:\d\d|@)[^\n]{{0,300}}?\bwrote[ \t]*:[ \t]*$"
    r"|<\n?[^\s<>@]+@[^\s<>]+>(?:[ \t]+(?P<verb>\w+))?[ \t]*:[ \t]*$"
)
ATTRIBUTION_VERBS = frozenset({"wrote", "sent", "writes"})
ATTRIBUTION_TIME = r"\d[:.]\d\d"
WROTE_FR = r"Le\b[^\n]{0,300}?(?:\n[^\n]{0,300}?){0,2}\ba[ \t\n]+[ée]crit[ \t]*:[ \t]*$"
# German, Dutch, Italian, Spanish, Portuguese, Polish, Danish/Norwegian attribution verbs ending a line with ":".
WROTE_OTHER = (
    r"(?:Am|Op|Il|In data|El|Em|W dniu|Den|Dne|P[åa]|Vào)\b[^\n]{0,300}?(?:\n[^\n]{0,300}?){0,2}"
    r"\b(?:schrieb|schreef|geschreven|ha scritto|escribi[óo]|escreveu|napisa[łl]a?|skrev|đã viết)\b[^\n]{0,100}:[ \t]*$"
)
# ">>> https://vendor.example <<<" is a banner, not a quote.
QUOTED_LINE = r"^[ \t]*>(?![^\n]*<<<[ \t]*$).*(?:\n|$)"
SIG_DELIMITER = r"^--[ \t]?$"
# The device named, nothing more: "Sent from my desk, is much easier..." is a sentence (no clause after a comma,
# semicolon or colon; a link such as "Get Outlook for iOS<https://aka.ms/...>" is part of the device line).
DEVICE_LINE = (
    r"^[ \t]*(?:sent from (?:my|mail for|outlook|yahoo)|get outlook for|envoy[ée] (?:de|depuis|à partir de) "
    r"(?:mon|ma|courrier|outlook|yahoo)|obtenir outlook pour|t[ée]l[ée]charger outlook"
    r"|sent (?:from|with) (?:typeapp|sparrow|bluemail|spark|airmail)|gesendet von (?:meinem|outlook|yahoo|mail f[üu]r)"
    r"|von meinem \S+ gesendet|(?:sendt|skickat) fr[åa]n? (?:min|mitt|outlook)|enviado (?:desde|do|de) (?:mi|meu|o meu"
    r"|outlook|yahoo)|inviato da(?:l mio)? (?:iphone|ipad|android|outlook|samsung)"
    r"|(?:verzonden|verstuurd) (?:vanaf|met) (?:mijn|outlook))\b"
    r"(?:(?![,;:!?][ \t])[^\n]){0,80}$"
)
# A mailing list's footer: a line ending "<list> mailing list" over the list's address or listinfo page, or
# "<list> mailing list -- <address>". A sentence about the list ("self-serve this mailing list via ...") stays.
LIST_FOOTER = (
    r"^[ \t]*\S[^\n]{0,60}\bmailing list[ \t]*\n(?:[^\n]*\n)?[^\n]*(?:@lists?\.|/listinfo|/mailman/)"
    r"|^[ \t]*\S[^\n]{0,60} mailing list[ \t]*(?:--|-|:)[ \t]*\S+@\S+[ \t]*$"
)
SIGNOFF_PHRASES = (
    r"(?:best|kind|warm|warmest|many|with best|with kind)? ?regards|best wishes|all the best|best|cheers"
    r"|sincerely|yours sincerely|yours truly|respectfully|thanks (?:and|&) regards|regards"
    r"|(?:bien |tr[èe]s |tr[èe]s bien )?cordialement|cdlt|bien [àa] (?:vous|toi)|bien sinc[èe]rement"
    r"|(?:meilleures |sinc[èe]res |bien )?salutations|respectueusement|amicalement"
    r"|bonne (?:fin de )?(?:journ[ée]e|soir[ée]e|semaine)|bon week-?end"
)
THANKS_PHRASES = (
    r"thanks|thank you|many thanks|thanks again|thanks in advance|thx"
    r"|merci|merci beaucoup|merci encore|merci d'avance|merci par avance|mille mercis"
)
NAME_TAIL = r"(?:,[ \t]*[A-ZÀ-Ý][\w.'’-]*(?:[ \t]+[A-ZÀ-Ý][\w.'’-]*){0,2})?"
DISCLAIMER_START = (
    r"^[ \t]*\**[ \t]*(?:"
    r"this (?:e-?mail|message|communication|transmission)\b[^\n]{0,120}?\b(?:confidential|privileged"
    r"|intended (?:solely|only))"
    r"|confidentiality (?:notice|note|statement|warning)|confidential(?:ity)?[ \t]*:|disclaimer\b"
    r"|the information (?:contained )?in this (?:e-?mail|message|communication)"
    r"|if you (?:are not|have received this)[^\n]{0,40}(?:intended recipient|in error)"
    r"|important notice[ \t]*:|privileged (?:and|&) confidential|please consider the environment"
    r"|caution[ \t]*:[^\n]{0,40}(?:e-?mail|message)|\[?external\]?[ \t]*(?:e-?mail)?[ \t]*:"
    r"|(?:ce|le pr[ée]sent) (?:message|courriel|e-?mail|mail)\b[^\n]{0,160}?\b(?:confidentiel|destin[ée])"
    r"|avis de confidentialit[ée]|confidentialit[ée][ \t]*:|avertissement[ \t]*:"
    r"|les informations contenues dans ce (?:message|courriel)|si vous (?:n['’][êe]tes pas|avez re[çc]u)"
    r"|pensez [àa] l['’]environnement|attention[ \t]*:[^\n]{0,40}(?:courriel|message|e-?mail)"
    r"|courriel externe"
    r")"
)
# Anything that could make the heavy path change the text; without a match the text is returned as is.
NEWTEXT_LINE_MARKERS = (
    r"[ \t]*(?:>|\*{0,2}(?:from|sent|to|subject|date|cc|de|objet|envoy[ée]|[àa]|von|gesendet|da|inviato|van"
    r"|verzonden|fra|fr[åa]n|skickat|sendt|enviado|od|wys[łl]ano|发件人|от|message du)[ \t]*\*{0,2}[ \t]*:|[-_]{2}|\|"
    r"|best|kind|warm|regards|cheers|thank|many|thx|sincerely|yours|all the best|respectfully"
    r"|cordialement|bien|tr[èe]s|bonne|bon week|salutations|meilleures|sinc[èe]res|cdlt|respectueusement"
    r"|amicalement|merci|mille"
    r"|sent with|gesendet von|von meinem|sendt fra|skickat fr|enviado d|inviato da|verzonden|verstuurd)"  # devices
)
NEWTEXT_MARKERS = (  # anywhere in the text; lower case, matched in a case-folded copy
    r"wrote|>[ \t]*(?:\w+[ \t]*)?:|> sent|schrieb|schreef|geschreven|đã viết|ha scritto|escribi|escreveu|napisa|skrev|mailing list"
    r"|напи|şunu yazd|写道|gmt[+-]"  # Finnish and Czech attributions name an address: "<a@b> kirjoitti:" above
    r"|[ée]crit|original message|message d['’]origine|forward|transf[ée]r|r[ée]exp[ée]di"
    r"|sent from|outlook|envoy[ée] (?:de|depuis|[àa])"
    r"|confidenti|disclaimer|intended|in error|destin|caution|warning|avertissement|notice|information"
    r"|environment|environnement|external|externe|attention|privileged|pensez|si vous|le pr[ée]sent"
)
# What mailparser_reply splits on (headers, signatures) that the rules above may have left in place.
LIBRARY_LINE_MARKERS = (
    r"[ \t]*(?:[-_]{2}|[* ]*(?:from|sent|to|subject|date|cc|organization|de|envoy[ée]|[àa]|objet)[ \t]?:"
    r"|best|kind regards|thank|regards|all the best|cordialement|salutations|bonne)"
)
LIBRARY_MARKERS = r"wrote[ \t]*:|[ée]crit|original message|sent from|get outlook|envoy[ée] depuis"  # as above

-- Tables filled from the configuration and the lexicon files (data, loaded by Python with pyarrow).
-- The build's own schemas besides marts come first: staging (stg_ models) and intermediate (int_ models).
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS intermediate;
-- Dropped by a full build (transforms/reset.sql) and created here; the loaders replace their rows.

CREATE TABLE IF NOT EXISTS marts.parties (
    party_id   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    timezone   VARCHAR NOT NULL,
    sla_hours  DOUBLE NOT NULL,
    PRIMARY KEY (kind, party_id)
);
COMMENT ON TABLE marts.parties IS 'The company and the configured vendors, from the config at build time. Key: (kind, party_id).';
COMMENT ON COLUMN marts.parties.party_id IS 'company for the company, else the vendor id.';
COMMENT ON COLUMN marts.parties.kind IS 'company or vendor.';
COMMENT ON COLUMN marts.parties.name IS 'Display name from the config.';
COMMENT ON COLUMN marts.parties.timezone IS 'IANA time zone of the party''s business hours.';
COMMENT ON COLUMN marts.parties.sla_hours IS 'Business hours the party has to answer a request (its SLA).';

CREATE TABLE IF NOT EXISTS marts.party_identifiers (
    party_id   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    identifier VARCHAR NOT NULL,
    PRIMARY KEY (kind, identifier)
);
COMMENT ON TABLE marts.party_identifiers IS 'Who is who: the identifiers of the config at build time, which decide each message''s side and vendor (staging.stg_message_parties) and which Slack and Teams conversations are measured (staging.stg_slack_conversations, staging.stg_teams_conversations), for all history. Key: (kind, identifier).';
COMMENT ON COLUMN marts.party_identifiers.party_id IS 'company for the company, else the vendor id.';
COMMENT ON COLUMN marts.party_identifiers.kind IS 'address (email_addresses), domain (email_domains), team (slack_team_ids), user (slack_user_ids), tenant (teams_tenant_ids), channel (a vendor''s slack_channels) or teams_channel (a vendor''s teams_channels).';
COMMENT ON COLUMN marts.party_identifiers.identifier IS 'As configured; addresses and domains in lower case, a channel name or id in lower case without #.';

CREATE TABLE IF NOT EXISTS marts.calendar_intervals (
    party_kind VARCHAR NOT NULL,
    party_id   VARCHAR NOT NULL,
    day_local  DATE NOT NULL,
    start_utc  TIMESTAMPTZ NOT NULL,
    end_utc    TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE marts.calendar_intervals IS 'Working time of each party as UTC intervals [start_utc, end_utc): one row per working interval of each local working day: the hours of a special_hours date (worked even on a public holiday); else none on a public holiday of the party''s country/subdivision or a closure; else, on a working weekday (workdays or hours_by_weekday), the hours of the special_hours range it falls in, else hours_by_weekday, else business_hours. A night shift (22:00-06:00) belongs to the day it starts on. DST-correct. Covers a few days before the earliest message to a day after as_of.';
COMMENT ON COLUMN marts.calendar_intervals.party_kind IS 'company or vendor.';
COMMENT ON COLUMN marts.calendar_intervals.party_id IS 'company, or the vendor id.';
COMMENT ON COLUMN marts.calendar_intervals.day_local IS 'The working day the interval belongs to (the day a night shift starts), as a calendar date in the party''s own time zone.';
COMMENT ON COLUMN marts.calendar_intervals.start_utc IS 'Start of the interval (inclusive): local wall-clock start converted to UTC (a time the clock skips at a DST change is the change itself).';
COMMENT ON COLUMN marts.calendar_intervals.end_utc IS 'End of the interval (exclusive): local wall-clock end converted to UTC (a time the clock skips at a DST change is the change itself).';

CREATE TABLE IF NOT EXISTS marts.signal_lexicon (
    seq     INTEGER NOT NULL,
    id      VARCHAR NOT NULL PRIMARY KEY,
    signal  VARCHAR NOT NULL,
    lang    VARCHAR NOT NULL,
    pattern VARCHAR NOT NULL,
    origin  VARCHAR NOT NULL
);
COMMENT ON TABLE marts.signal_lexicon IS 'The phrase lexicon: RE2 patterns per signal and language, matched on normalised body_text (lower case, accents removed, typographic apostrophes made straight, whitespace folded). Built-in transforms/lexicon.yaml plus the optional [signals] extra_lexicon file.';
COMMENT ON COLUMN marts.signal_lexicon.seq IS 'Lexicon order: built-in entries first, then the extra file, each in file order. Breaks ties between entries matching the same text.';
COMMENT ON COLUMN marts.signal_lexicon.id IS 'Unique entry id, cited as message_signals.lexicon_id.';
COMMENT ON COLUMN marts.signal_lexicon.signal IS 'clarification, nudge, repetition, rework, escalation; acknowledgement entries only serve the awaiting rule.';
COMMENT ON COLUMN marts.signal_lexicon.lang IS 'Language of the phrase: en or fr.';
COMMENT ON COLUMN marts.signal_lexicon.pattern IS 'RE2 regular expression (searched in the text; acknowledgement patterns must match the whole punctuation-stripped text).';
COMMENT ON COLUMN marts.signal_lexicon.origin IS 'builtin, or the path of the extra_lexicon file the entry comes from.';

-- Who is who, decided here from the configured identifiers (marts.party_identifiers) rather than when a message
-- was read, so that a config change (a vendor's new domain, a person's address) applies to all history, live
-- sources included, at the next build (the identifiers are in the build fingerprint). A sender is the party of,
-- in order: its Slack user id (Slack), its address, its Slack team (Slack), the domain of its address (the longest
-- configured domain it ends with, so `it.norelec.fr` follows `norelec.fr` unless claimed itself), and last for
-- Teams its Microsoft Entra tenant; else it is `other`. An email's recipients name the vendors it is addressed
-- to; a company email addressed to no vendor is internal. Each distinct address and recipient list is resolved
-- once, then joined back to the messages.
CREATE OR REPLACE TEMP VIEW fresh_message_parties AS
WITH
in_scope AS (
    SELECT
        message_key,
        conversation_key,
        channel,
        sender,
        -- an email's sender is its address; a Slack sender is a user id, with the profile email beside it
        lower(CASE WHEN channel = 'email' THEN sender ELSE sender_email END) AS sender_address,
        sender_team_id,
        CASE WHEN channel = 'email' THEN coalesce(recipients, []) ELSE [] END AS recipients
    FROM core.messages
    WHERE sent_at <= getvariable('as_of')
      AND (getvariable('full_build') OR conversation_key IN (SELECT conversation_key FROM meta.build_scope))
),

recipient_lists AS (
    SELECT DISTINCT recipients
    FROM in_scope
    WHERE len(recipients) > 0
),

addresses AS (
    SELECT DISTINCT
        address,
        nullif(trim(trim(regexp_extract(address, '@([^@]*)$', 1)), '>'), '') AS domain
    FROM (
        SELECT sender_address AS address FROM in_scope
        UNION ALL
        SELECT lower(unnest(recipients)) AS address FROM recipient_lists
    ) AS named
    WHERE address IS NOT NULL
),

by_domain AS (
    SELECT
        a.address,
        arg_max(i.party_id, length(i.identifier)) AS party_id
    FROM addresses AS a
    INNER JOIN marts.party_identifiers AS i
        ON i.kind = 'domain' AND (a.domain = i.identifier OR a.domain LIKE '%.' || i.identifier)
    GROUP BY a.address
),

address_parties AS (
    SELECT
        a.address,
        explicit.party_id AS explicit_party_id,
        d.party_id AS domain_party_id
    FROM addresses AS a
    LEFT JOIN marts.party_identifiers AS explicit ON explicit.kind = 'address' AND explicit.identifier = a.address
    LEFT JOIN by_domain AS d ON d.address = a.address
),

recipient_vendors AS (
    SELECT
        r.recipients,
        list(DISTINCT p.party_id ORDER BY p.party_id) FILTER (WHERE p.party_id <> 'company') AS vendor_ids
    FROM (SELECT recipients, lower(unnest(recipients)) AS address FROM recipient_lists) AS r
    INNER JOIN (
        SELECT
            address,
            coalesce(explicit_party_id, domain_party_id) AS party_id
        FROM address_parties
    ) AS p ON p.address = r.address
    GROUP BY r.recipients
),

senders AS (
    SELECT
        m.message_key,
        m.conversation_key,
        m.channel,
        m.recipients,
        CASE
            WHEN m.channel = 'email' THEN coalesce(a.explicit_party_id, a.domain_party_id)
            -- a vendor's people invited to the company's tenant as guests carry its tenant id, but their address
            -- names the vendor's domain
            WHEN m.channel = 'teams' THEN coalesce(a.explicit_party_id, a.domain_party_id, t.party_id)
            ELSE coalesce(u.party_id, a.explicit_party_id, t.party_id, a.domain_party_id)
        END AS party_id
    FROM in_scope AS m
    LEFT JOIN address_parties AS a ON a.address = m.sender_address
    LEFT JOIN marts.party_identifiers AS u ON m.channel = 'slack' AND u.kind = 'user' AND u.identifier = m.sender
    -- a Slack sender's team, a Teams sender's tenant (both stored in sender_team_id)
    LEFT JOIN marts.party_identifiers AS t
        ON m.channel <> 'email'
        AND t.kind = CASE m.channel WHEN 'teams' THEN 'tenant' ELSE 'team' END
        AND t.identifier = m.sender_team_id
),

final AS (
    SELECT
        s.message_key,
        s.conversation_key AS core_conversation_key,
        CASE
            WHEN s.party_id IS NULL THEN 'other'
            WHEN s.party_id = 'company' THEN 'company'
            ELSE 'vendor'
        END AS side,
        CASE WHEN s.party_id <> 'company' THEN s.party_id END AS vendor_id,
        coalesce(r.vendor_ids, []) AS recipient_vendor_ids,
        s.channel = 'email' AND coalesce(s.party_id = 'company', FALSE) AND len(coalesce(r.vendor_ids, [])) = 0
            AS is_internal
    FROM senders AS s
    LEFT JOIN recipient_vendors AS r ON r.recipients = s.recipients
)

SELECT * FROM final;

-- A full build starts from dropped tables (transforms/reset.sql) and an empty scope; an incremental build replaces
-- the rows of the conversations in meta.build_scope.
CREATE TABLE IF NOT EXISTS staging.stg_message_parties AS FROM fresh_message_parties WITH NO DATA;
DELETE FROM staging.stg_message_parties
WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO staging.stg_message_parties BY NAME FROM fresh_message_parties;

COMMENT ON TABLE staging.stg_message_parties IS 'Staging: each message''s side and vendor (sent by as_of), decided at build time from the configured identifiers (marts.party_identifiers) and the sender and recipients stored in core.messages. Sender: Slack user id (Slack), then address, then Slack team (Slack), then email domain (longest configured suffix), then tenant (Teams, whose guests carry the company''s tenant); unmatched senders are other. Grain: (message_key).';
COMMENT ON COLUMN staging.stg_message_parties.message_key IS 'core.messages.message_key.';
COMMENT ON COLUMN staging.stg_message_parties.core_conversation_key IS 'core.messages.conversation_key (the unit incremental builds recompute).';
COMMENT ON COLUMN staging.stg_message_parties.side IS 'company, vendor or other: the sender''s party.';
COMMENT ON COLUMN staging.stg_message_parties.vendor_id IS 'The sender''s vendor when side = vendor, else NULL.';
COMMENT ON COLUMN staging.stg_message_parties.recipient_vendor_ids IS 'Email: the vendors among the To and Cc addresses (sorted, once each); Slack and Teams: empty (staging.stg_slack_conversations and staging.stg_teams_conversations say which vendor a conversation is measured for).';
COMMENT ON COLUMN staging.stg_message_parties.is_internal IS 'True for an email of the company addressed to no vendor: not counted in any metric.';

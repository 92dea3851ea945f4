-- Macros the models share (run before the models, for the build's transaction).

-- ---------------------------------------------------------------- text: what the lexicon rules read

-- Lower case, accents removed, typographic apostrophes (and an acute accent typed for one: "didn´t") straight
-- ("préciser" matches "preciser").
CREATE OR REPLACE TEMP MACRO lowered_text(body) AS
    regexp_replace(lower(strip_accents(coalesce(body, ''))), '[’‘ʼ´]', '''', 'g');

-- Without code blocks, inline code, quoted lines, links and @mentions: a '?' or a phrase there is not the author's.
CREATE OR REPLACE TEMP MACRO without_borrowed_text(lowered) AS
    regexp_replace(
        regexp_replace(
            regexp_replace(
                regexp_replace(lowered, '```[\s\S]*?```', ' ', 'g'),
                '`[^`\n]*`', ' ', 'g'
            ),
            '(?m)^[ \t]*(>|&gt;).*$', ' ', 'g'
        ),
        '<?(https?|ftp)://[^\s>|]+(\|[^>]*)?>?|\bwww\.[^\s]+|<mailto:[^>]*>|(^|\s)@[\w.-]+', ' ', 'g'
    );

-- Chat spellings written out, so that the lexicon needs one form: "u" you, "ur" your, "pls" please, "thx" thanks,
-- "dont" don't.
CREATE OR REPLACE TEMP MACRO chat_spellings_written_out(lowered) AS
    regexp_replace(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lowered, '\b(u|yu)\b', 'you', 'g'),
                    '\bur\b', 'your', 'g'
                ),
                '\b(pls|plz|plse|plez)\b', 'please', 'g'
            ),
            '\b(thx|thnx|tnx|thks)\b', 'thanks', 'g'
        ),
        '\b(don|doesn|didn|can|couldn|wouldn|shouldn|isn|aren|wasn|weren|haven|hasn|won)t\b', '\1''t', 'g'
    );

-- What the signal and needs-reply rules read: the author's own words, normalised, whitespace folded.
CREATE OR REPLACE TEMP MACRO spoken_text(body) AS
    trim(regexp_replace(
        chat_spellings_written_out(without_borrowed_text(lowered_text(body))),
        '[\s\x{00A0}\x{2007}\x{2009}\x{202F}]+', ' ', 'g'
    ));

-- ---------------------------------------------------------------- statistics of the alert rules
-- Each rule asks how likely the detection window's count or median would be if the vendor were at its own normal
-- (its baseline): a small probability (< [alerts] significance) is a change, not noise.

-- P(X >= x) for X ~ Poisson(lam): how surprising x events are when lam are expected.
CREATE OR REPLACE TEMP MACRO poisson_upper_tail(x, lam) AS
    CASE
        WHEN x <= 0 THEN 1.0
        WHEN lam <= 0 THEN 0.0
        ELSE greatest(0.0, 1.0 - list_sum([exp(k * ln(lam) - lam - lgamma(k + 1)) FOR k IN range(0, x::BIGINT)]))
    END;

-- P(X <= x) for X ~ Poisson(lam): how surprising so few events are when lam are expected.
CREATE OR REPLACE TEMP MACRO poisson_lower_tail(x, lam) AS
    CASE
        WHEN x < 0 THEN 0.0
        WHEN lam <= 0 THEN 1.0
        ELSE least(1.0, list_sum([exp(k * ln(lam) - lam - lgamma(k + 1)) FOR k IN range(0, x::BIGINT + 1)]))
    END;

-- P(X >= x) for X ~ Binomial(n, p): how surprising x of n observations above a level are when each is with p.
CREATE OR REPLACE TEMP MACRO binomial_upper_tail(x, n, p) AS
    CASE
        WHEN x <= 0 THEN 1.0
        WHEN x > n OR p <= 0 THEN 0.0
        WHEN p >= 1 THEN 1.0
        ELSE least(1.0, list_sum([
            exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * ln(p) + (n - k) * ln(1 - p))
            FOR k IN range(x::BIGINT, n::BIGINT + 1)
        ]))
    END;

-- ---------------------------------------------------------------- business time

-- A party's business microseconds up to an instant, read from the intermediate.int_business_clock row ASOF-joined at it
-- (the last interval starting at or before the instant; none before the first: 0).
CREATE OR REPLACE TEMP MACRO business_us_at(worked_before_us, start_us, end_us, at_instant) AS
    coalesce(worked_before_us + least(epoch_us(at_instant), end_us) - start_us, 0);

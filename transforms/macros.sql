-- Macros the models share (run before the models, for the build's transaction).

-- Lower case, accents removed, typographic apostrophes straight ("préciser" matches "preciser").
CREATE OR REPLACE TEMP MACRO lowered_text(body) AS
    replace(replace(replace(lower(strip_accents(coalesce(body, ''))), '’', ''''), '‘', ''''), 'ʼ', '''');

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

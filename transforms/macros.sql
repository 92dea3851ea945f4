-- Statistical helpers of the alert rules, as macros (run before the models, for the build's transaction).
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

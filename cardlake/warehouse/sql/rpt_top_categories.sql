-- Spending categories ranked by spend (the statement kinds of SPEND_KINDS: purchases and fees; refunds, top-ups,
-- card loads and withdrawals excluded), with each one's share of all spending.
WITH by_category AS (
    SELECT
        COALESCE(f.category, 'unknown') AS category,
        COUNT(*) AS transactions,
        SUM(f.amount_gbp) AS spend_gbp
    FROM {schema}.fact_transaction f
    WHERE f.statement_kind IN ({spend_kinds})
    GROUP BY 1
)
SELECT
    category,
    transactions,
    spend_gbp,
    CAST(spend_gbp AS FLOAT8) / NULLIF(CAST(SUM(spend_gbp) OVER () AS FLOAT8), 0) AS spend_share,
    RANK() OVER (ORDER BY spend_gbp DESC) AS spend_rank
FROM by_category

-- Spending categories ranked by spend within each currency (the statement kinds of SPEND_KINDS: purchases and
-- fees; refunds, top-ups, card loads and withdrawals excluded), with each one's share of that currency's
-- spending. GBP and EUR are ranked apart, never summed together; spend_gbp only for GBP.
WITH by_category AS (
    SELECT
        f.currency,
        COALESCE(f.category, 'unknown') AS category,
        COUNT(*) AS transactions,
        SUM(f.amount_minor) AS spend_minor,
        SUM(f.amount_gbp) AS spend_gbp
    FROM {schema}.fact_transaction f
    WHERE f.statement_kind IN ({spend_kinds})
    GROUP BY 1, 2
)
SELECT
    currency,
    category,
    transactions,
    spend_minor,
    CASE WHEN currency = 'GBP' THEN spend_gbp END AS spend_gbp,
    CAST(spend_minor AS FLOAT8) / NULLIF(CAST(SUM(spend_minor) OVER (PARTITION BY currency) AS FLOAT8), 0)
        AS spend_share,
    RANK() OVER (PARTITION BY currency ORDER BY spend_minor DESC) AS spend_rank
FROM by_category

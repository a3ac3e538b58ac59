-- Spending per day, currency, category, merchant and cardholder state. Spend is the statement kinds of
-- SPEND_KINDS (purchases and fees); refunds are counted apart and net spend nets them off (the signed amounts
-- are negative for them). Top-ups, card loads, withdrawals and transfers are not spend. Money is per currency
-- (GBP and EUR are never summed together): *_minor in minor units of `currency`; *_gbp only on GBP rows.
SELECT
    f.transaction_date AS spend_date,
    f.currency,
    COALESCE(f.category, m.category, 'unknown') AS category,
    COALESCE(m.merchant_name, f.merchant_name, 'unknown') AS merchant_name,
    COALESCE(a.state, 'unknown') AS state,
    COUNT(CASE WHEN f.statement_kind IN ({spend_kinds}) THEN 1 END) AS transactions,
    SUM(CASE WHEN f.statement_kind IN ({spend_kinds}) THEN f.amount_minor ELSE 0 END) AS spend_minor,
    COUNT(CASE WHEN f.is_refund THEN 1 END) AS refunds,
    SUM(CASE WHEN f.is_refund THEN f.amount_minor ELSE 0 END) AS refunds_minor,
    SUM(CASE WHEN f.statement_kind IN ({spend_kinds}) OR f.is_refund THEN f.signed_amount_minor ELSE 0 END)
        AS net_spend_minor,
    CASE WHEN f.currency = 'GBP' THEN
        SUM(CASE WHEN f.statement_kind IN ({spend_kinds}) THEN f.amount_gbp ELSE 0 END) END AS spend_gbp,
    CASE WHEN f.currency = 'GBP' THEN SUM(CASE WHEN f.is_refund THEN f.amount_gbp ELSE 0 END) END AS refunds_gbp,
    CASE WHEN f.currency = 'GBP' THEN
        SUM(CASE WHEN f.statement_kind IN ({spend_kinds}) OR f.is_refund THEN f.signed_amount_gbp ELSE 0 END) END
        AS net_spend_gbp
FROM {schema}.fact_transaction f
LEFT JOIN {schema}.dim_merchant m ON m.merchant_key = f.merchant_key
LEFT JOIN {schema}.dim_address a ON a.address_key = f.address_key
WHERE f.statement_kind IN ({spend_kinds}) OR f.is_refund
GROUP BY 1, 2, 3, 4, 5

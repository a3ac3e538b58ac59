-- Spending per day, category, merchant and cardholder state. Purchases and refunds are counted apart;
-- net_spend_gbp nets refunds off (signed_amount_gbp is negative for them).
SELECT
    f.transaction_date AS spend_date,
    COALESCE(f.category, m.category, 'unknown') AS category,
    COALESCE(m.merchant_name, 'unknown') AS merchant_name,
    COALESCE(a.state, 'unknown') AS state,
    COUNT(CASE WHEN NOT COALESCE(f.is_refund, FALSE) THEN 1 END) AS transactions,
    SUM(CASE WHEN NOT COALESCE(f.is_refund, FALSE) THEN f.amount_gbp ELSE 0 END) AS spend_gbp,
    COUNT(CASE WHEN f.is_refund THEN 1 END) AS refunds,
    SUM(CASE WHEN f.is_refund THEN f.amount_gbp ELSE 0 END) AS refunds_gbp,
    SUM(f.signed_amount_gbp) AS net_spend_gbp
FROM {schema}.fact_transaction f
LEFT JOIN {schema}.dim_merchant m ON m.merchant_key = f.merchant_key
LEFT JOIN {schema}.dim_address a ON a.address_key = f.address_key
GROUP BY 1, 2, 3, 4

-- Fraud by the cardholder's city and state, hour of day and day of week (dim_date: 1 = Monday ... 7 = Sunday),
-- over the card's own rows only (CARD_KINDS: purchases, refunds, authorisations): top-ups, loads, fees and
-- transfers are not card payments and would dilute the rates. fraud_transactions counts the source label;
-- avg_fraud_score averages the model score where there is one; the fraud amount is per currency.
SELECT
    COALESCE(a.city, 'unknown') AS city,
    COALESCE(a.state, 'unknown') AS state,
    f.time_key AS hour_of_day,
    t.hour_label,
    t.day_part,
    d.day_of_week,
    d.day_name,
    f.currency,
    COUNT(*) AS transactions,
    COUNT(CASE WHEN f.is_fraud THEN 1 END) AS fraud_transactions,
    CAST(COUNT(CASE WHEN f.is_fraud THEN 1 END) AS FLOAT8) / CAST(COUNT(*) AS FLOAT8) AS fraud_rate,
    AVG(f.fraud_score) AS avg_fraud_score,
    SUM(CASE WHEN f.is_fraud THEN f.amount_minor ELSE 0 END) AS fraud_amount_minor,
    CASE WHEN f.currency = 'GBP' THEN SUM(CASE WHEN f.is_fraud THEN f.amount_gbp ELSE 0 END) END AS fraud_amount_gbp
FROM {schema}.fact_transaction f
LEFT JOIN {schema}.dim_address a ON a.address_key = f.address_key
LEFT JOIN {schema}.dim_time t ON t.time_key = f.time_key
LEFT JOIN {schema}.dim_date d ON d.date_key = f.date_key
WHERE f.statement_kind IN ({card_kinds})
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8

-- Alerts nobody has closed yet, with the cardholder's home city. No card token: the last four digits suffice.
SELECT
    al.alert_key,
    al.transaction_id,
    al.card_last4,
    al.merchant_name,
    al.category,
    al.amount_minor,
    al.currency,
    al.amount_gbp,
    al.fraud_score,
    al.top_features,
    al.model_version,
    al.transaction_ts,
    al.first_seen_at,
    a.city,
    a.state
FROM {schema}.fraud_alerts al
LEFT JOIN {schema}.dim_customer c ON c.customer_key = al.customer_key
LEFT JOIN {schema}.dim_address a ON a.address_key = c.address_key
WHERE al.alert_status = 'open'

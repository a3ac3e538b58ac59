-- How fresh each star table is: its row count, the newest business event it holds (a transaction, a reward, an
-- alert's transaction) and its newest change (updated_at, or when an alert was first seen). Dimensions have no
-- event time. A dashboard compares these with the clock to show how far behind the warehouse is.
SELECT 'fact_transaction' AS table_name, COUNT(*) AS row_count, MAX(transaction_ts) AS newest_event_at,
    MAX(updated_at) AS newest_change_at
FROM {schema}.fact_transaction
UNION ALL
SELECT 'fact_reward', COUNT(*), MAX(reward_created_at), MAX(reward_updated_at)
FROM {schema}.fact_reward
UNION ALL
SELECT 'fraud_alerts', COUNT(*), MAX(transaction_ts), MAX(first_seen_at)
FROM {schema}.fraud_alerts
UNION ALL
SELECT 'dim_customer', COUNT(*), CAST(NULL AS TIMESTAMP), MAX(updated_at)
FROM {schema}.dim_customer
UNION ALL
SELECT 'dim_merchant', COUNT(*), CAST(NULL AS TIMESTAMP), MAX(updated_at)
FROM {schema}.dim_merchant

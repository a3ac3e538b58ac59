-- Rewards by creation date: earned (pending + approved, not rejected) in PLU and GBP, running totals from the
-- first day, the average PLU price actually paid (GBP earned / PLU earned), and the split by status.
WITH daily AS (
    SELECT
        CAST(r.reward_created_at AS DATE) AS reward_date,
        COUNT(*) AS rewards,
        SUM(CASE WHEN r.reward_status <> 'rejected' THEN r.plu_amount ELSE 0 END) AS plu_earned,
        SUM(CASE WHEN r.reward_status <> 'rejected' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_earned,
        SUM(CASE WHEN r.reward_status = 'pending' THEN r.plu_amount ELSE 0 END) AS plu_pending,
        SUM(CASE WHEN r.reward_status = 'pending' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_pending,
        SUM(CASE WHEN r.reward_status = 'approved' THEN r.plu_amount ELSE 0 END) AS plu_available,
        SUM(CASE WHEN r.reward_status = 'approved' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_available,
        SUM(CASE WHEN r.reward_status = 'rejected' THEN r.plu_amount ELSE 0 END) AS plu_rejected,
        SUM(CASE WHEN r.reward_status = 'rejected' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_rejected
    FROM {schema}.fact_reward r
    GROUP BY 1
)
SELECT
    reward_date,
    rewards,
    plu_earned,
    gbp_earned,
    SUM(plu_earned) OVER (ORDER BY reward_date ROWS UNBOUNDED PRECEDING) AS plu_earned_running,
    SUM(gbp_earned) OVER (ORDER BY reward_date ROWS UNBOUNDED PRECEDING) AS gbp_earned_running,
    CASE WHEN plu_earned > 0 THEN CAST(gbp_earned AS FLOAT8) / CAST(plu_earned AS FLOAT8) END AS avg_plu_price_gbp,
    plu_pending,
    gbp_pending,
    plu_available,
    gbp_available,
    plu_rejected,
    gbp_rejected
FROM daily

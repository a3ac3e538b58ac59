-- Rewards by creation date and currency: earned (pending + approved, not rejected) in PLU, minor units and GBP,
-- running totals from the first day, the average PLU price actually paid (GBP earned / PLU earned), and the
-- split by status. GBP and EUR rewards are separate rows (never summed together); the *_gbp columns only for
-- GBP. A reward without a value (a bonus without a fiat amount) counts in PLU only.
WITH daily AS (
    SELECT
        CAST(r.reward_created_at AS DATE) AS reward_date,
        r.reward_currency AS currency,
        COUNT(*) AS rewards,
        SUM(CASE WHEN r.reward_status <> 'rejected' THEN r.plu_amount ELSE 0 END) AS plu_earned,
        SUM(CASE WHEN r.reward_status <> 'rejected' THEN r.reward_amount_minor ELSE 0 END) AS minor_earned,
        SUM(CASE WHEN r.reward_status <> 'rejected' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_earned,
        SUM(CASE WHEN r.reward_status <> 'rejected' AND r.reward_amount_gbp IS NOT NULL THEN r.plu_amount ELSE 0 END)
            AS plu_valued_gbp,
        SUM(CASE WHEN r.reward_status = 'pending' THEN r.plu_amount ELSE 0 END) AS plu_pending,
        SUM(CASE WHEN r.reward_status = 'pending' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_pending,
        SUM(CASE WHEN r.reward_status = 'approved' THEN r.plu_amount ELSE 0 END) AS plu_available,
        SUM(CASE WHEN r.reward_status = 'approved' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_available,
        SUM(CASE WHEN r.reward_status = 'rejected' THEN r.plu_amount ELSE 0 END) AS plu_rejected,
        SUM(CASE WHEN r.reward_status = 'rejected' THEN r.reward_amount_gbp ELSE 0 END) AS gbp_rejected
    FROM {schema}.fact_reward r
    GROUP BY 1, 2
)
SELECT
    reward_date,
    currency,
    rewards,
    plu_earned,
    minor_earned,
    CASE WHEN currency = 'GBP' THEN gbp_earned END AS gbp_earned,
    SUM(plu_earned) OVER (PARTITION BY currency ORDER BY reward_date ROWS UNBOUNDED PRECEDING) AS plu_earned_running,
    SUM(minor_earned) OVER (PARTITION BY currency ORDER BY reward_date ROWS UNBOUNDED PRECEDING)
        AS minor_earned_running,
    CASE WHEN currency = 'GBP' THEN
        SUM(gbp_earned) OVER (PARTITION BY currency ORDER BY reward_date ROWS UNBOUNDED PRECEDING) END
        AS gbp_earned_running,
    CASE WHEN plu_valued_gbp > 0 THEN CAST(gbp_earned AS FLOAT8) / CAST(plu_valued_gbp AS FLOAT8) END
        AS avg_plu_price_gbp,
    plu_pending,
    CASE WHEN currency = 'GBP' THEN gbp_pending END AS gbp_pending,
    plu_available,
    CASE WHEN currency = 'GBP' THEN gbp_available END AS gbp_available,
    plu_rejected,
    CASE WHEN currency = 'GBP' THEN gbp_rejected END AS gbp_rejected
FROM daily

"""Fraud: transactions and fraud by state, city, hour and day; a live feed of open alerts; one alert's details."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from cardlake.dashboard import queries as q
from cardlake.dashboard.ui import PageData, as_float, first_row, number, sources

# The alerts feed re-reads the warehouse this often, without reloading the page.
ALERTS_REFRESH_S = 3.0
DAY_ORDER = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _fraud_bars(frame: pd.DataFrame, x: str, title: str, sort: list[str] | str | None = None) -> alt.LayerChart:
    """Transactions as bars (left axis) and the fraud rate as a red line (right axis): fraud is rare, so on one
    axis its bars would not show."""
    frame = as_float(frame, "fraud_rate")
    tooltip = [alt.Tooltip(x), alt.Tooltip("transactions"), alt.Tooltip("fraud_transactions"),
               alt.Tooltip("fraud_rate:Q", format=".2%")]  # fmt: skip
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:O", sort=sort, title=None), tooltip=tooltip)
    bars = base.mark_bar(color="#9ecae1").encode(y=alt.Y("transactions:Q", title="transactions"))
    rate = base.mark_line(color="#d62728", point=alt.OverlayMarkDef(color="#d62728")).encode(
        y=alt.Y("fraud_rate:Q", title="fraud rate", axis=alt.Axis(format="%", titleColor="#d62728"))
    )
    return alt.layer(bars, rate).resolve_scale(y="independent").properties(title=title, height=260)


def render() -> None:
    st.title("Fraud")
    notice = st.empty()
    src = sources()
    page, mark = PageData(src.reader), src.reader.placeholder

    choices = page.frame(q.fraud_choices())
    states = sorted(choices["state"].dropna().unique()) if not choices.empty else []
    parts = sorted(choices["day_part"].dropna().unique()) if not choices.empty else []
    left, right = st.columns(2)
    chosen = q.FraudFilter(
        tuple(left.multiselect("Cardholder state", states, key="fraud_states")),
        tuple(right.multiselect("Part of day", parts, key="fraud_day_parts")),
    )
    totals = first_row(page.frame(*q.fraud_totals(chosen, mark)))
    transactions, frauds = float(totals.get("transactions") or 0), float(totals.get("fraud_transactions") or 0)
    a, b, c, d = st.columns(4)
    a.metric("Transactions", number(transactions))
    b.metric("Fraudulent", number(frauds))
    c.metric("Fraud rate", f"{frauds / transactions:.2%}" if transactions else "0.00%")
    d.metric("Fraud amount (GBP)", number(totals.get("fraud_amount_gbp"), 2))

    by_state = page.frame(*q.fraud_by(["state"], chosen, mark))
    by_hour = page.frame(*q.fraud_by(["hour_of_day"], chosen, mark))
    by_day = page.frame(*q.fraud_by(["day_of_week", "day_name"], chosen, mark))
    grid = page.frame(*q.fraud_by(["day_name", "hour_of_day"], chosen, mark))
    cities = as_float(page.frame(*q.fraud_by(["city", "state"], chosen, mark, limit=15)), "fraud_rate")
    left, right = st.columns(2)
    if not by_state.empty:
        left.altair_chart(
            _fraud_bars(by_state, "state", "By cardholder state (bars: transactions; red: fraud rate)"), width="stretch"
        )
    if not by_hour.empty:
        right.altair_chart(_fraud_bars(by_hour, "hour_of_day", "By hour of day (UTC)"), width="stretch")
    left, right = st.columns(2)
    if not by_day.empty:
        left.altair_chart(_fraud_bars(by_day, "day_name", "By day of week", sort=DAY_ORDER), width="stretch")
    if not grid.empty:
        heat = (
            alt.Chart(as_float(grid, "fraud_rate"))
            .mark_rect()
            .encode(
                x=alt.X("hour_of_day:O", title="hour"),
                y=alt.Y("day_name:O", sort=DAY_ORDER, title=None),
                color=alt.Color("fraud_transactions:Q", scale=alt.Scale(scheme="reds"), title="fraud"),
                tooltip=["day_name", "hour_of_day", "transactions", "fraud_transactions"],
            )
        )
        right.altair_chart(heat.properties(title="Fraud by day and hour", height=260), width="stretch")
    st.markdown("**Cities with the most fraud**")
    st.dataframe(cities, hide_index=True, column_config={"fraud_rate": st.column_config.NumberColumn(format="percent")})
    page.notice(notice)
    alerts_feed()


@st.fragment(run_every=ALERTS_REFRESH_S)
def alerts_feed() -> None:
    """Open alerts, newest first, re-read every few seconds; the page around it is not rerun."""
    st.subheader("Live alerts")
    notice = st.empty()
    page = PageData(sources().reader)
    count = first_row(page.frame(q.open_alert_count(), ttl_s=1.0))
    alerts = page.frame(q.open_alerts(), ttl_s=1.0)
    feed_columns = ["first_seen_at", "fraud_score", "amount_gbp", "merchant_name", "category", "city", "state",
                    "card_last4", "transaction_ts", "transaction_id"]  # fmt: skip
    shown = alerts[[c for c in feed_columns if c in alerts]]
    st.caption(f"{number(count.get('open_alerts'))} open alert(s); refreshed every {ALERTS_REFRESH_S:.0f} s.")
    page.notice(notice)
    if alerts.empty:
        st.info("No open alerts.")
        return
    st.dataframe(
        as_float(shown, "amount_gbp", "fraud_score"),
        hide_index=True,
        key="alerts_table",
        column_config={"fraud_score": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f")},
    )
    ids = alerts["transaction_id"].tolist()
    chosen = st.selectbox("Alert details", ids, key="alert_choice",
                          format_func=lambda t: _label(alerts[alerts["transaction_id"] == t].iloc[0]))  # fmt: skip
    if chosen is not None:
        _details(alerts[alerts["transaction_id"] == chosen].iloc[0])


def _label(row: pd.Series) -> str:
    return (
        f"{row['transaction_id']} · card …{row['card_last4']} · {row['merchant_name']} · score {row['fraud_score']:.2f}"
    )


def _details(row: pd.Series) -> None:
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"**Transaction** `{row['transaction_id']}`")
        facts = {
            "card": f"…{row['card_last4']}",
            "merchant": row["merchant_name"],
            "category": row["category"],
            # In the transaction's own currency: an EUR account's alert has no GBP amount.
            "amount": f"{number(float(row['amount_minor']) / 100, 2)} {row['currency']}"
            if pd.notna(row.get("amount_minor"))
            else "unknown",
            "fraud score": f"{float(row['fraud_score']):.3f}",
            "model": row["model_version"],
            "when": f"{pd.Timestamp(row['transaction_ts']):%Y-%m-%d %H:%M} UTC",
            "first seen": f"{pd.Timestamp(row['first_seen_at']):%Y-%m-%d %H:%M:%S} UTC",
            "home": f"{row['city']}, {row['state']}",
        }
        st.table(pd.DataFrame({"": list(facts), "value": [str(v) for v in facts.values()]}).set_index(""))
    with right:
        features = q.top_features(row["top_features"])
        st.markdown("**Top features** (most important first)")
        if features:
            st.table(pd.DataFrame(
                [(i + 1, name, value or "yes") for i, (name, value) in enumerate(features)],
                columns=["rank", "feature", "value"],
            ).set_index("rank"))  # fmt: skip
        else:
            st.caption("The model recorded no features for this alert.")

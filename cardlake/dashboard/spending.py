"""Spending and rewards: spend by category, merchant and month; rewards pending vs available; the PLU price."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from cardlake.dashboard import queries as q
from cardlake.dashboard.ui import PageData, as_float, first_row, number, sources


def _bar(frame: pd.DataFrame, x: str, y: str, title: str, sort: str | None = "-x", horizontal: bool = True) -> None:
    if frame.empty:
        st.caption(f"{title}: no rows")
        return
    tooltip = [x, alt.Tooltip(f"{y}:Q", format=",.2f")]
    if horizontal:
        label = alt.Axis(labelLimit=220, labelOverlap=False)
        chart = (
            alt.Chart(frame)
            .mark_bar()
            .encode(
                x=alt.X(f"{y}:Q", title="spend (GBP)"),
                y=alt.Y(f"{x}:N", sort=sort, title=None, axis=label),
                tooltip=tooltip,
            )
        )
        height = max(120, 22 * len(frame))  # one readable label per bar
    else:
        chart = (
            alt.Chart(frame)
            .mark_bar()
            .encode(
                x=alt.X(f"{x}:O", title=None, axis=alt.Axis(labelAngle=0)),
                y=alt.Y(f"{y}:Q", title="spend (GBP)"),
                tooltip=tooltip,
            )
        )
        height = 260
    st.altair_chart(chart.properties(title=title, height=height), width="stretch", height=height + 70)


def render() -> None:
    st.title("Spending and rewards")
    st.caption(
        f"Money in {q.SPEND_CURRENCY}: accounts in other currencies are kept apart in the reporting views "
        "(their `currency` column) and never added to pounds."
    )
    notice = st.empty()
    src = sources()
    page, mark = PageData(src.reader), src.reader.placeholder

    choices = page.frame(q.spend_choices())
    months = sorted(choices["month"].dropna().unique()) if not choices.empty else []
    categories = sorted(choices["category"].dropna().unique()) if not choices.empty else []
    states = sorted(choices["state"].dropna().unique()) if not choices.empty else []
    left, middle, right = st.columns(3)
    chosen_months = left.multiselect("Month", months, format_func=lambda m: f"{pd.Timestamp(m):%b %Y}")
    chosen_categories = middle.multiselect("Category", categories)
    chosen_states = right.multiselect("Cardholder state", states)
    spend = q.SpendFilter(tuple(chosen_months), tuple(chosen_categories), tuple(chosen_states))

    totals = first_row(page.frame(*q.spend_totals(spend, mark)))
    a, b, c, d = st.columns(4)
    a.metric("Spend (GBP)", number(totals.get("spend_gbp"), 2))
    b.metric("Purchases", number(totals.get("transactions")))
    c.metric("Refunds (GBP)", number(totals.get("refunds_gbp"), 2))
    d.metric("Net spend (GBP)", number(totals.get("net_spend_gbp"), 2))

    left, right = st.columns(2)
    with left:
        by_category = as_float(page.frame(*q.spend_by("category", spend, mark)), "spend_gbp")
        _bar(by_category, "category", "spend_gbp", "Spend by category")
    with right:
        by_merchant = as_float(page.frame(*q.spend_by("merchant_name", spend, mark, limit=12)), "spend_gbp")
        _bar(by_merchant, "merchant_name", "spend_gbp", "Top merchants")
    by_month = as_float(page.frame(*q.spend_by("month", spend, mark)), "spend_gbp")
    if not by_month.empty:
        by_month["month"] = pd.to_datetime(by_month["month"]).dt.strftime("%Y-%m")
    _bar(by_month.sort_values("month") if not by_month.empty else by_month, "month", "spend_gbp",
         "Spend by month", horizontal=False)  # fmt: skip

    st.subheader("Rewards")
    st.caption("Rewards follow the month filter (a reward has no category or state of its own).")
    money = ("plu_earned", "gbp_earned", "gbp_earned_running", "avg_plu_price_gbp", "plu_pending", "gbp_pending",
             "plu_available", "gbp_available", "plu_rejected")  # fmt: skip
    rewards = as_float(page.frame(*q.rewards_daily(tuple(chosen_months), mark)), *money)
    a, b, c, d = st.columns(4)
    a.metric("Rewards earned (GBP)", number(rewards["gbp_earned"].sum() if not rewards.empty else 0, 2))
    b.metric("Pending (PLU)", number(rewards["plu_pending"].sum() if not rewards.empty else 0, 2))
    c.metric("Available (PLU)", number(rewards["plu_available"].sum() if not rewards.empty else 0, 2))
    d.metric("Rejected (PLU)", number(rewards["plu_rejected"].sum() if not rewards.empty else 0, 2))
    left, right = st.columns(2)
    if rewards.empty:
        left.caption("No rewards yet.")
    else:
        status = rewards.melt(
            id_vars=["reward_date"], value_vars=["plu_pending", "plu_available"], var_name="status", value_name="plu"
        )
        status["status"] = status["status"].str.removeprefix("plu_")
        chart = (
            alt.Chart(status)
            .mark_bar()
            .encode(
                x=alt.X("reward_date:T", title=None),
                y=alt.Y("plu:Q", title="PLU", stack=True),
                color=alt.Color("status:N", scale=alt.Scale(domain=["pending", "available"])),
                tooltip=["reward_date:T", "status", "plu"],
            )
        )
        left.altair_chart(chart.properties(title="Rewards pending vs available (PLU)", height=300),
                          width="stretch")  # fmt: skip
        price = rewards.dropna(subset=["avg_plu_price_gbp"])
        line = (
            alt.Chart(price)
            .mark_line(point=True)
            .encode(
                x=alt.X("reward_date:T", title=None),
                y=alt.Y("avg_plu_price_gbp:Q", title="GBP per PLU", scale=alt.Scale(zero=False)),
                tooltip=["reward_date:T", "avg_plu_price_gbp"],
            )
        )
        right.altair_chart(line.properties(title="PLU price over time (GBP)", height=300), width="stretch")
    page.notice(notice)

"""Pipeline health: data freshness (warehouse), last runs, rows per stage and quarantine by reason (lake)."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from cardlake.dashboard import queries as q
from cardlake.dashboard.lake import last_runs, quarantine_by_reason, rows_per_stage
from cardlake.dashboard.ui import PageData, sources


def _age(newest: object, now: datetime) -> str:
    if newest is None or pd.isna(newest):
        return ""
    seconds = (now - pd.Timestamp(newest).tz_localize(None).to_pydatetime()).total_seconds()
    days, rest = divmod(int(seconds), 86_400)
    return f"{days} d {rest // 3600} h ago" if days else f"{rest // 3600} h {rest % 3600 // 60} min ago"


def render() -> None:
    st.title("Pipeline health")
    notice = st.empty()
    src = sources()
    page = PageData(src.reader)
    now = datetime.now(UTC).replace(tzinfo=None)

    st.subheader("Data freshness")
    fresh = page.frame(q.freshness())
    if not fresh.empty:
        fresh = fresh.assign(event_age=[_age(v, now) for v in fresh["newest_event_at"]])
        st.dataframe(fresh, hide_index=True, key="freshness")
    st.caption(f"Warehouse: {src.warehouse_kind}. Ages are measured from now, {now:%Y-%m-%d %H:%M} UTC.")
    page.notice(notice)

    try:
        metrics, quarantine = src.lake.run_metrics(), src.lake.quarantine()
    except Exception as exc:  # an unreachable lake is one line on the page, not a traceback
        st.error(f"Could not read the lake's run records at {src.lake.lake_root}: {type(exc).__name__}: {exc}")
        return

    st.subheader("Last runs")
    runs = last_runs(metrics)
    if runs.empty:
        st.info("No run has recorded metrics in the lake yet: run `cardlake run`.")
        return
    st.dataframe(runs, hide_index=True, key="last_runs")

    st.subheader("Rows per stage")
    run_id = st.selectbox("Run", runs["run_id"].tolist(), key="health_run")
    stages = rows_per_stage(metrics, run_id)
    st.dataframe(stages, hide_index=True, key="rows_per_stage")
    unbalanced = stages[stages["records_read"] != stages["accepted"] + stages["quarantined"]]
    if unbalanced.empty:
        st.caption("Every table reconciles: records read = accepted + quarantined.")
    else:
        st.warning(f"{len(unbalanced)} table(s) do not reconcile: {', '.join(unbalanced['entity'])}")

    st.subheader("Quarantine by reason")
    reasons = quarantine_by_reason(quarantine)
    if reasons.empty:
        st.info("Nothing has been quarantined.")
        return
    chart = (
        alt.Chart(reasons)
        .mark_bar()
        .encode(
            x=alt.X("records:Q", title="records"),
            y=alt.Y("reason:N", sort="-x", title=None),
            color=alt.Color("entity:N"),
            tooltip=["entity", "reason", "records", "last_seen"],
        )
    )
    st.altair_chart(chart.properties(height=max(120, 28 * len(reasons))), width="stretch")
    st.dataframe(reasons, hide_index=True, key="quarantine")

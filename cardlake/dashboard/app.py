"""The script `streamlit run` executes (via `cardlake dashboard`): page setup and navigation between the pages."""

from __future__ import annotations

import streamlit as st

from cardlake.config import ConfigError
from cardlake.dashboard import PAGES, fraud, health, spending
from cardlake.dashboard.ui import sources


def main() -> None:
    st.set_page_config(page_title="cardlake", page_icon=":material/credit_card:", layout="wide")
    try:
        sources()
    except ConfigError as problem:  # a bad setting is one line, as on the command line
        st.error(f"cardlake: {problem}")
        st.stop()
    pages = [
        st.Page(spending.render, title=PAGES["spending"], url_path="spending", default=True,
                icon=":material/payments:"),
        st.Page(fraud.render, title=PAGES["fraud"], url_path="fraud", icon=":material/gpp_maybe:"),
        st.Page(health.render, title=PAGES["pipeline"], url_path="pipeline", icon=":material/monitor_heart:"),
    ]  # fmt: skip
    st.navigation(pages).run()


main()

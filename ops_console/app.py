"""The ops console's entrypoint: page set-up, navigation and the frame shared by every page.

Run with `catalog-etl console` (or `streamlit run ops_console/app.py`). Pages live in
`ops_console/app_pages/` (not `pages/`, which would switch on Streamlit's legacy discovery).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ops_console import actions, auth, queries

HERE = Path(__file__).resolve().parent
PAGES = HERE / "app_pages"

st.set_page_config(
    page_title="Catalog ETL console",
    page_icon=":material/inventory_2:",
    layout="wide",
    initial_sidebar_state="expanded",
)

navigation = st.navigation(
    [
        st.Page(
            PAGES / "health.py",
            title="Health",
            icon=":material/monitor_heart:",
            url_path="health",
            default=True,
        ),
        st.Page(PAGES / "jobs.py", title="Jobs", icon=":material/list_alt:", url_path="jobs"),
        st.Page(
            PAGES / "sources.py",
            title="Sources & audit",
            icon=":material/storefront:",
            url_path="sources",
        ),
        st.Page(PAGES / "landing.py", title="Landing", icon=":material/inbox:", url_path="landing"),
        st.Page(
            PAGES / "maintenance.py",
            title="Maintenance",
            icon=":material/build:",
            url_path="maintenance",
        ),
    ]
)

with st.sidebar:
    st.selectbox(
        "Time window",
        list(queries.WINDOWS),
        index=list(queries.WINDOWS).index(queries.DEFAULT_WINDOW),
        key="window",
        help="The window of the charts and lists on every page (times are UTC).",
    )
auth.sidebar_identity()
actions.deployments_banner()
navigation.run()

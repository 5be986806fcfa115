"""The console's pages (run by `st.navigation` from `ops_console/app.py`)."""

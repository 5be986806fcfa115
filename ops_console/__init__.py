"""The Streamlit operations console (its pages arrive with the console work)."""

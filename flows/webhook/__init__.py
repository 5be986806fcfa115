"""The signed scraper webhook (FastAPI)."""

"""The domain library and its adapters: no orchestrator, UI or web framework imports."""

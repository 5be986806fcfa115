"""Sample data for the demo and for development."""

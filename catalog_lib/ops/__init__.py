"""Operations: operator actions, crash sweep, retention, audit, and the read API."""

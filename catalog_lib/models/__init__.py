"""The schema as SQLModel table models: one module per concept, the typed rows of the read side."""

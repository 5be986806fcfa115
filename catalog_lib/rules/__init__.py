"""Pure domain rules: values in, values out; no files, connections or environment."""

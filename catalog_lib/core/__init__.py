"""Cross-cutting basics every room uses: the error tree, settings, log formatting."""

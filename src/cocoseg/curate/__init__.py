"""Data curation: label audit, challenge suites and model A/B, pre-label exports (numpy only)."""

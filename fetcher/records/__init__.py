"""Records: found in a body, deduplicated, flattened into typed columns under one schema."""

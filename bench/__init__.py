"""`make bench`: scale benchmark of ingestion and builds on the synthetic archive (see bench/run.py)."""

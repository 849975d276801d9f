"""The hub side by side with PostGraphile 4 and 5 over the same database (``make bench``; tests/bench/peer/run.py)."""

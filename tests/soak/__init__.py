"""``make soak`` (``python -m tests.soak``): see ``__main__``."""

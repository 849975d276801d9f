"""Fuzzing the hub: scalar strategies shared by the in-suite hypothesis-graphql tests (tests/http/test_fuzz.py) and
``make fuzz`` (``python -m tests.fuzz``: schemathesis against a live hub, with the checks of ``hooks``)."""

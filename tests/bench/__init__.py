"""Benchmarks of the hub against a hand-written-SQL floor (issue 7). Not collected by pytest
(``tests/bench`` is in ``norecursedirs``); run ``make bench`` or ``python -m tests.bench --help``."""

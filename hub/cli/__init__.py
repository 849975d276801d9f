"""The `hub` command line (typer): serve, db, seed, audit, sync, report, stats."""

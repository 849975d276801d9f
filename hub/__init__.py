"""Talent Data Hub: one GraphQL schema over the commerce, science, labor and education departments' data."""

from pathlib import Path

__version__ = "0.1.0"

# .sql and .graphql files live beside the packages in the source tree; they are found from this
# file, never from the working directory.
ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
GRAPHQL_DIR = ROOT / "graphql"

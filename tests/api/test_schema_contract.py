"""graphql/schema.graphql is the committed contract: the code's schema must not drift from it."""

from hub.api.schema import SCHEMA_FILE, export_sdl


def test_committed_schema_matches_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == export_sdl(), "graphql/schema.graphql differs from the code: run `make schema` and review"


def test_graphql_folder_holds_no_python() -> None:
    folder = SCHEMA_FILE.parent
    assert not (folder / "__init__.py").exists()
    assert not list(folder.rglob("*.py"))

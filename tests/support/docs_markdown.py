"""The documentation as data: the GraphQL examples of README.md, docs/*.md and deploy/README.md (with the demo token
each names and the answers it prints), and every relative link with its target. Used by
tests/docs/test_docs_examples.py and tests/docs/test_docs_links.py; the conventions are described in docs/contributing.md
("Examples in the docs").

Markdown is parsed by markdown-it-py (CommonMark), so fences, inline code and links are found as GitHub finds
them; only the heading anchors are computed here (``github_anchor``: GitHub's rule in a few lines, where
mdit-py-plugins' anchors plugin would add a dependency for the same few lines)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")), "deploy/README.md"]

# <!-- example: token=labor -->           before a ```graphql fence: every operation in it runs as labor
# <!-- example: L=labor C=commerce -->    before a ```sh fence: $L, $C in its curl/gql lines are those tokens
ANNOTATION = re.compile(r"<!--\s*example:\s*(.*?)\s*-->", re.S)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


@dataclass
class Request:
    """One GraphQL request of an example: the body sent, the demo consumer sending it, the answer printed
    after it in the docs (``None``: nothing printed), and where it is (file:line)."""

    body: dict[str, Any]
    consumer: str
    printed: str | None
    where: str


@dataclass
class Example:
    where: str
    language: str
    tokens: dict[str, str]
    requests: list[Request] = field(default_factory=list)


def doc_text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def is_graphql_example(language: str, text: str) -> bool:
    """A fence that sends GraphQL: ```graphql, or a shell fence with a curl command to /graphql or a ``gql`` call."""
    return language == "graphql" or (language in ("sh", "shell", "bash") and (
        re.search(r"^\s*curl\s[^#\n]*/graphql", text.replace("\\\n", " "), re.M) is not None
        or re.search(r"^\s*gql\s", text, re.M) is not None))


def examples(name: str) -> list[Example]:
    """Every GraphQL example fence of doc ``name``, in order (``tokens`` empty when it names none)."""
    found: list[Example] = []
    annotation: dict[str, str] = {}
    for token in _parser().parse(doc_text(name)):
        if token.type == "html_block" and (m := ANNOTATION.search(token.content)):
            annotation = dict(pair.split("=", 1) for pair in m.group(1).split())
            continue
        if token.type == "fence":
            language = token.info.strip().split(" ")[0]
            first_line = token.map[0] + 2  # 1-based number of the fence's first content line
            if is_graphql_example(language, token.content):
                example = Example(f"{name}:{token.map[0] + 1}", language, annotation)
                parse = _graphql_requests if language == "graphql" else _shell_requests
                example.requests = parse(token.content, annotation, name, first_line)
                found.append(example)
        annotation = {}
    return found


# --- ```graphql fences: operations, each followed by its printed answer ---------------------------------

_PRINTED = re.compile(r"^#\s*(\.\.\.\s*)?[{\[]")


def _printed_answers(lines: list[str]) -> tuple[list[str], dict[int, str]]:
    """The fence's lines with the printed answers removed, and the answers by the index of the line they follow.
    A printed answer is a comment starting with ``{`` or ``[`` (or ``... {``); comment lines indented further
    (``#   ...``) continue it."""
    kept: list[str] = []
    answers: dict[int, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if _PRINTED.match(line):
            parts = [line[1:].strip()]
            while i + 1 < len(lines) and re.match(r"^#\s{2,}\S", lines[i + 1].strip()):
                i += 1
                parts.append(lines[i].strip()[1:].strip())
            answers[len(kept)] = " ".join(parts)
        else:
            kept.append(lines[i])
        i += 1
    return kept, answers


def _without_comment(line: str) -> str:
    """A GraphQL line without its ``#`` comment (a ``#`` inside a string literal is kept)."""
    out, in_string = [], False
    for ch in line:
        if ch == '"':
            in_string = not in_string
        if ch == "#" and not in_string:
            break
        out.append(ch)
    return "".join(out)


def _graphql_requests(text: str, tokens: dict[str, str], name: str, first_line: int) -> list[Request]:
    """Each top-level operation of the fence (``{ ... }``, ``query X { ... }``, ``mutation { ... }``) as a request
    of ``tokens["token"]``, with the answer printed after it."""
    lines, answers = _printed_answers(text.splitlines())
    consumer = tokens.get("token", "")
    requests: list[Request] = []
    current: list[str] = []
    start = 0
    depth = 0
    for index, raw in enumerate(lines):
        code = _without_comment(raw)
        if not current and not code.strip():
            continue
        if not current:
            start = index
        current.append(code)
        depth += code.count("{") - code.count("}")
        if depth == 0 and "{" in "".join(current):
            requests.append(Request({"query": "\n".join(current).strip()}, consumer, None,
                                    f"{name}:{first_line + start}"))
            current = []
        if requests and (index + 1) in answers and not current:
            requests[-1].printed = answers[index + 1]
    if current:
        requests.append(Request({"query": "\n".join(current).strip()}, consumer, None,
                                f"{name}:{first_line + start}"))
    return requests


# --- shell fences: curl or the docs' gql() helper, JSON bodies -------------------------------------------

def _shell_requests(text: str, tokens: dict[str, str], name: str, first_line: int) -> list[Request]:
    """``gql $X '<json>'`` and ``curl ... -H "Authorization: Bearer $X" ... -d '<json>' .../graphql`` lines, the
    token of ``$X`` from ``tokens``; the comment lines after a request are its printed answer."""
    joined: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines()):
        if joined and joined[-1][1].endswith("\\"):
            joined[-1] = (joined[-1][0], joined[-1][1][:-1] + " " + line.strip())
        else:
            joined.append((number, line))
    requests: list[Request] = []
    pending: list[str] = []

    def close() -> None:
        if requests and pending and requests[-1].printed is None:
            requests[-1].printed = " ".join(pending)
        pending.clear()

    for number, line in joined:
        stripped = line.strip()
        if stripped.startswith("#"):
            content = stripped[1:].strip()
            if requests and (pending or _PRINTED.match(stripped)):
                pending.append(content)
            continue
        close()
        if not stripped or "() {" in stripped:  # blank, or the definition of a helper function
            continue
        words = shlex.split(stripped, comments=True)
        variable, body = None, None
        if words and words[0] == "gql":
            variable, body = words[1], words[2]
        elif words and words[0] == "curl" and any(w.endswith("/graphql") for w in words):
            for flag, value in zip(words, words[1:]):
                if flag == "-H" and value.lower().startswith("authorization: bearer "):
                    variable = value.split()[-1]
                if flag in ("-d", "--data", "--data-raw"):
                    body = value
        if body is None:
            continue
        variable = (variable or "").lstrip("$")
        requests.append(Request(json.loads(body), tokens.get(variable, ""), None, f"{name}:{first_line + number}"))
    close()
    return requests


# --- printed answers: fragments of the real answer ------------------------------------------------------

def printed_fragments(printed: str) -> list[Any]:
    """The JSON a doc prints after a request, ``...`` being "and more": ``{"a": 1, ...}`` keeps the keys shown,
    ``[x, ...]`` the items shown; a leading ``...`` or several objects in a row are fragments found in that order
    in the answer. Numbers are Decimals so that a printed 0.0652 means "0.0652 when rounded to 4 places"."""
    text = printed.strip()
    text = re.sub(r",\s*\.\.\.", "", text)          # {"a": 1, ...}  [x, ...]
    text = re.sub(r"^\.\.\.\s*", "", text)          # ... {"a": 1}
    text = re.sub(r"\.\.\.", "", text)
    text = text.rstrip(", ")
    return json.loads(f"[{text}]", parse_float=Decimal)


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and _in_order(expected, actual)
    if isinstance(expected, Decimal):
        places = -expected.as_tuple().exponent
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and \
            round(Decimal(str(actual)), places) == expected
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def _in_order(expected: list[Any], actual: list[Any]) -> bool:
    position = 0
    for item in expected:
        while position < len(actual) and not _matches(item, actual[position]):
            position += 1
        if position == len(actual):
            return False
        position += 1
    return True


def _objects(value: Any) -> list[Any]:
    """Every object and list inside ``value`` (itself first), depth first."""
    found = [value]
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if isinstance(child, (dict, list)):
            found += _objects(child)
    return found


def fragments_found(fragments: list[Any], answer: dict[str, Any]) -> bool:
    """Is each printed fragment part of ``answer``: the whole answer, or, in order, objects within one list of it
    (``{"quarter": 1, ...}, ...`` are nodes of one list)?"""
    if len(fragments) == 1 and _matches(fragments[0], answer):
        return True
    return any(isinstance(v, list) and _in_order(fragments, v) for v in _objects(answer))


# --- links ----------------------------------------------------------------------------------------------

def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation other than ``-`` and ``_`` removed, spaces to
    ``-`` (letters of any script are kept)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(name: str) -> set[str]:
    """The heading anchors of doc ``name`` (duplicates numbered ``-1``, ``-2`` as GitHub does)."""
    tokens = _parser().parse(doc_text(name))
    seen: dict[str, int] = {}
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            text = "".join(c.content for c in tokens[i + 1].children or () if c.type in ("text", "code_inline"))
            slug = github_anchor(text)
            n = seen.get(slug, 0)
            found.add(slug if n == 0 else f"{slug}-{n}")
            seen[slug] = n + 1
    return found


def relative_links(name: str) -> list[str]:
    """Every link and image target of doc ``name`` that is not an absolute URL (``http:``, ``mailto:``)."""
    found: list[str] = []

    def walk(tokens: list[Any]) -> None:
        for token in tokens:
            target = token.attrGet("href") if token.type == "link_open" else \
                token.attrGet("src") if token.type == "image" else None
            if target and not re.match(r"^[a-z][a-z0-9+.-]*:", str(target), re.I):
                found.append(str(target))
            if token.children:
                walk(token.children)

    walk(_parser().parse(doc_text(name)))
    return found

"""Generated query documents as a department system would send them: hypothesis-graphql's documents with
their arguments "tamed" (``first`` 0-5, keys and codes of real rows, enums, booleans, small ints and nulls
kept; free text, dates and cursors dropped), so that most of them find data. Used by the planner's
differential test (tests/api/test_plan_differential.py) and its bench (``python -m tests.bench.plans``)."""

from __future__ import annotations

from typing import Callable

from graphql import (ArgumentNode, BooleanValueNode, DocumentNode, EnumValueNode, FieldNode, IntValueNode,
                     NullValueNode, StringValueNode, Visitor, print_ast, visit)

from tests.support.helpers import sql


def known_values(url: str) -> dict[str, str]:
    """Keys of real rows for the tamed arguments: (argument name or root field name) -> value."""
    one = lambda query: str(sql(url, query)[0][0])  # noqa: E731
    uscc = one("select enterprise_uscc from labor.job_postings group by 1 order by count(*) desc, 1 limit 1")
    return {
        "uscc": uscc, "enterpriseUscc": uscc, "leadEnterpriseUscc": uscc,
        "district": one("select district_code from labor.job_postings group by 1 order by count(*) desc limit 1"),
        "occupation": one("select occupation_code from labor.job_postings group by 1 order by count(*) desc limit 1"),
        "industry": one("select industry_code from commerce.enterprises group by 1 order by count(*) desc limit 1"),
        "school": one("select code from education.schools order by id limit 1"),
        "major": one("select code from education.majors order by id limit 1"),
        "researchProject": one("select code from science.research_projects order by id limit 1"),
        "id": one("select min(id) from labor.job_postings"),
    }

class _Tame(Visitor):
    """Arguments a department system would send: ``first`` 0-5, keys and codes of real rows, enums, booleans,
    small ints and nulls kept; free text, dates and cursors dropped."""

    def __init__(self, known: dict[str, str]):
        super().__init__()
        self.known = known
        self.n = 0

    def enter_field(self, node: FieldNode, *_: object) -> FieldNode | None:
        if not node.arguments:
            return None
        arguments = []
        for argument in node.arguments:
            name, value = argument.name.value, argument.value
            if name == "first":
                self.n += 1
                value = IntValueNode(value=str((0, 1, 2, 3, 5)[self.n % 5]))
            elif name == "id" and node.name.value == "jobPosting":
                value = IntValueNode(value=self.known["id"])
            elif name == "code" and node.name.value in self.known:
                value = StringValueNode(value=self.known[node.name.value])
            elif name in self.known:
                value = StringValueNode(value=self.known[name])
            elif isinstance(value, IntValueNode):
                if not 0 <= int(value.value) <= 10:
                    continue
            elif not isinstance(value, (EnumValueNode, BooleanValueNode, NullValueNode)):
                continue
            arguments.append(ArgumentNode(name=argument.name, value=value))
        return FieldNode(alias=node.alias, name=node.name, arguments=tuple(arguments), directives=node.directives,
                         selection_set=node.selection_set)


def tamed(known: dict[str, str]) -> Callable[[DocumentNode], str]:
    """DocumentNode -> the printed document with tamed arguments."""
    return lambda document: print_ast(visit(document, _Tame(known)))

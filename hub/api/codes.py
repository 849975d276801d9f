"""National codes in filter arguments: the one table of which argument carries which code, and its check.

A filter on a malformed code (``postings(district: "abc")``) would match nothing and answer a silent empty
list; here it is BAD_USER_INPUT naming the argument and the expected format. The argument types stay
``String`` (no breaking change to the schema contract); the values are checked:

* the general path: ``install_code_checks`` wraps the resolver of every field in ``ARGUMENTS`` (called by
  ``hub.api.schema.build_schema``), so the check runs before the field's SQL;
* the compiled path (``hub.api.fastpath``) calls ``check_arguments`` for every field of a plan before anything
  runs; a malformed code makes it fall back to the general path, which answers the same request with the
  same error.

The formats mirror the database's code validators (``hub.*_valid`` in sql/migrations/0001_hub.sql and the
``check`` constraints of the department tables). A ``...Prefix`` argument accepts any leading part of a
valid code (``6-18`` or ``6-`` for occupations). Year and quarter arguments are integers whose ranges the
statistics check (``resolvers.analytics.figures``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable

from stdnum.cn import uscc as stdnum_uscc

from graphql import GraphQLSchema, default_field_resolver
from hub.errors import BadUserInput

_D = r"[0-9]"


def _prefix_pattern(tokens: list[str]) -> str:
    """A regex matching every non-empty leading part of the code spelled by ``tokens`` (one char each)."""
    pattern = ""
    for token in reversed(tokens[1:]):
        pattern = f"(?:{token}{pattern})?"
    return tokens[0] + pattern


@dataclass(frozen=True)
class CodeFormat:
    name: str
    pattern: str  # a full match of the value
    describe: str  # the expected format, for the error message
    extra: Callable[[str], bool] | None = None  # a check beyond the pattern (a check character)

    def valid(self, value: str) -> bool:
        if len(value) > _LONGEST:  # no code is this long; not worth a place in the cache
            return False
        return _valid(self, value)


_LONGEST = 32  # longer than every code and prefix above (a USCC is 18 characters)


@functools.lru_cache(maxsize=8192)
def _valid(fmt: CodeFormat, value: str) -> bool:
    """Whether ``value`` has the format, remembered: the same codes come back request after request, and a USCC's
    check character (python-stdnum) cost a tenth of a compiled single lookup's CPU (cProfile, in process)."""
    return re.fullmatch(fmt.pattern, value) is not None and (fmt.extra is None or fmt.extra(value))


_OCCUPATION = ["[1-8]", "-", _D, _D, "-", _D, _D, "-", _D, _D]
_USCC_CHAR = "[0-9A-HJ-NPQRTUWXY]"

DISTRICT = CodeFormat("district", "[1-9][0-9]{5}", "a 6-digit district code (GB/T 2260), e.g. 440106")
OCCUPATION = CodeFormat("occupation code", "".join(_OCCUPATION),
                        "an occupation code of the national classification, e.g. 2-02-07-01")
OCCUPATION_PREFIX = CodeFormat("occupation code prefix", _prefix_pattern(_OCCUPATION),
                               "the leading part of an occupation code, e.g. 6, 6-18 or 6-18-01-01")
# The check character (GB 32100-2015) through python-stdnum, as hub.uscc_valid checks it in the database.
USCC = CodeFormat("USCC", f"{_USCC_CHAR}{{18}}",
                  "an 18-character unified social credit code (GB 32100) with a valid check character, "
                  "e.g. 91110000600037341L", extra=stdnum_uscc.is_valid)
SCHOOL = CodeFormat("school code", "[0-9]{10}", "a 10-digit school identification code, e.g. 4144010001")
MAJOR = CodeFormat("major code", "[0-9]{6}", "a 6-digit major catalog code, e.g. 460103")
MAJOR_PREFIX = CodeFormat("major code prefix", "[0-9]{1,6}", "1 to 6 leading digits of a major code, e.g. 46")
INDUSTRY = CodeFormat("industry code", "[A-T]|[0-9]{2,4}",
                      "a GB/T 4754 industry code: a section letter A-T or a 2-, 3- or 4-digit class, e.g. C or 3914")
INDUSTRY_PREFIX = CodeFormat("industry code prefix", "[A-T]|[0-9]{1,4}",
                             "a GB/T 4754 section letter A-T or 1 to 4 leading digits of a class, e.g. 39")
INDUSTRY_SECTION = CodeFormat("industry section", "[A-T]", "a GB/T 4754 section letter A-T, e.g. C")
PARK = CodeFormat("park code", "P[0-9]{4}", "a park code: P and 4 digits, e.g. P0001")
RESEARCH_PROJECT = CodeFormat("research project code", "RP[0-9]{6}",
                              "a research project code: RP and 6 digits, e.g. RP000001")

# (parent type, field) -> {argument (GraphQL name): format}. tests/api/test_codes.py fails when an argument of the
# schema that carries a code is missing here.
ARGUMENTS: dict[tuple[str, str], dict[str, CodeFormat]] = {
    ("Industry", "enterprises"): {"district": DISTRICT},
    ("Occupation", "postings"): {"district": DISTRICT},
    ("Occupation", "seekers"): {"district": DISTRICT},
    ("Query", "industries"): {"codePrefix": INDUSTRY_PREFIX},
    ("Query", "industry"): {"code": INDUSTRY},
    ("Query", "enterprises"): {"district": DISTRICT, "industryCodePrefix": INDUSTRY_PREFIX},
    ("Query", "enterprise"): {"uscc": USCC},
    ("Query", "parks"): {"district": DISTRICT},
    ("Query", "investmentProjects"): {"parkCode": PARK},
    ("Query", "occupations"): {"codePrefix": OCCUPATION_PREFIX},
    ("Query", "occupation"): {"code": OCCUPATION},
    ("Query", "jobPostings"): {"district": DISTRICT, "occupationCodePrefix": OCCUPATION_PREFIX,
                               "enterpriseUscc": USCC},
    ("Query", "jobSeekers"): {"district": DISTRICT, "occupationCodePrefix": OCCUPATION_PREFIX},
    ("Query", "trainingPrograms"): {"district": DISTRICT, "occupationCodePrefix": OCCUPATION_PREFIX},
    ("Query", "skillCertificates"): {"occupationCodePrefix": OCCUPATION_PREFIX},
    ("Query", "apprenticeships"): {"enterpriseUscc": USCC, "occupationCodePrefix": OCCUPATION_PREFIX,
                                   "schoolCode": SCHOOL},
    ("Query", "researchProjects"): {"industryCodePrefix": INDUSTRY_PREFIX, "leadEnterpriseUscc": USCC,
                                    "partnerSchoolCode": SCHOOL},
    ("Query", "researchProject"): {"code": RESEARCH_PROJECT},
    ("Query", "techTransfers"): {"projectCode": RESEARCH_PROJECT},
    ("Query", "innovationPlatforms"): {"district": DISTRICT},
    ("Query", "schools"): {"district": DISTRICT},
    ("Query", "school"): {"code": SCHOOL},
    ("Query", "majors"): {"codePrefix": MAJOR_PREFIX, "schoolCode": SCHOOL},
    ("Query", "major"): {"code": MAJOR, "schoolCode": SCHOOL},
    ("Query", "specialtyTeachers"): {"schoolCode": SCHOOL, "majorCode": MAJOR},
    ("Query", "schoolEnterpriseBases"): {"schoolCode": SCHOOL, "enterpriseUscc": USCC},
    ("Query", "majorDesignations"): {"schoolCode": SCHOOL, "majorCode": MAJOR},
    ("Query", "supplyDemand"): {"district": DISTRICT, "occupationCode": OCCUPATION,
                                "industrySection": INDUSTRY_SECTION},
    ("Query", "majorIndustryMatch"): {"district": DISTRICT},
    ("Query", "demandForecast"): {"district": DISTRICT, "occupationCode": OCCUPATION},
    ("Query", "forecastAccuracy"): {"occupationCode": OCCUPATION},
    ("Query", "majorCatalog"): {"codePrefix": MAJOR_PREFIX},
    ("Query", "enrollmentGuidance"): {"district": DISTRICT},
}


def check_arguments(where: tuple[str, str], arguments: dict[str, Any]) -> None:
    """BAD_USER_INPUT when an argument (GraphQL name) of field ``where`` carries a malformed code."""
    formats = ARGUMENTS.get(where)
    if not formats:
        return
    for name, fmt in formats.items():
        value = arguments.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not fmt.valid(value):
            raise BadUserInput(f"argument {name} of {where[0]}.{where[1]} must be {fmt.describe}; got {value!r}",
                               argument=name, expected=fmt.name)


def install_code_checks(schema: GraphQLSchema) -> None:
    """Wrap the resolver of every field in ``ARGUMENTS``: the check runs before the resolver (and its guard)."""
    for (parent, fname) in ARGUMENTS:
        fdef = schema.type_map[parent].fields[fname]  # KeyError: the table names a field the schema lacks
        fdef.resolve = _checked(fdef.resolve or default_field_resolver, (parent, fname))


def _checked(inner: Callable[..., Any], where: tuple[str, str]) -> Callable[..., Any]:
    def checked(source: Any, info: Any, **kwargs: Any) -> Any:
        check_arguments(where, kwargs)
        return inner(source, info, **kwargs)

    return checked

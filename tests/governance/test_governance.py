"""Sharing governance: authentication, the catalog, enforcement on every dataset and join, grants, masking."""

from __future__ import annotations

import asyncio
import datetime

import pytest
from graphql import GraphQLEnumType, GraphQLScalarType, get_named_type
from typer.testing import CliRunner

from hub.governance.masking import mask_id_number, mask_person_name, mask_phone
from hub.cli.main import app as cli_app
from hub.settings import Settings
from hub.assembly import dataset_types
from hub.db.pools import Databases
from hub.governance.access import PolicyStore
from hub.governance.guards import EXTRA_GUARDS
from tests.support.database import DEFAULT_CONSUMER
from tests.support.helpers import approved_grant, sql, sql_value

# One root query per dataset; the first path element is the field that reads it.
DATASET_QUERIES = {
    "commerce.industries": "{ industries(first: 1) { nodes { code } } }",
    "commerce.enterprises": "{ enterprises(first: 1) { nodes { uscc } } }",
    "commerce.parks": "{ parks(first: 1) { nodes { code } } }",
    "commerce.investment_projects": "{ investmentProjects(first: 1) { nodes { code } } }",
    "labor.occupations": "{ occupations(first: 1) { nodes { code } } }",
    "labor.job_postings": "{ jobPostings(first: 1) { nodes { id } } }",
    "labor.job_seekers": "{ jobSeekers(first: 1) { nodes { id } } }",
    "labor.training_programs": "{ trainingPrograms(first: 1) { nodes { code } } }",
    "labor.skill_certificates": "{ skillCertificates(first: 1) { nodes { certificateNo } } }",
    "labor.apprenticeships": "{ apprenticeships(first: 1) { nodes { code } } }",
    "science.research_projects": "{ researchProjects(first: 1) { nodes { code } } }",
    "science.tech_transfers": "{ techTransfers(first: 1) { nodes { code } } }",
    "science.innovation_platforms": "{ innovationPlatforms(first: 1) { nodes { code } } }",
    "education.schools": "{ schools(first: 1) { nodes { code } } }",
    "education.majors": "{ majors(first: 1) { nodes { code } } }",
    "education.major_catalog": "{ majorCatalog(first: 1) { nodes { code } } }",
    "education.major_outcomes": "{ majors(first: 1) { nodes { outcomes { year } } } }",
    "education.specialty_teachers": "{ specialtyTeachers(first: 1) { nodes { staffNo } } }",
    "education.school_enterprise_bases": "{ schoolEnterpriseBases(first: 1) { nodes { code } } }",
    "education.major_designations": "{ majorDesignations(first: 1) { nodes { majorCode } } }",
    "education.school_designations": "{ schoolDesignations(first: 1) { nodes { schoolCode } } }",
}
CONSUMERS = ("commerce", "labor", "science", "education", "admin")
DEPARTMENT_OF = {"admin": "bigdata"}


def catalog(settings: Settings) -> dict[str, tuple[str, str]]:
    return {r["name"]: (r["department"], r["sharing_class"])
            for r in sql(settings.database_url, "select name, department, sharing_class from hub.datasets")}


def test_every_dataset_type_has_a_catalog_entry_and_a_case(settings: Settings) -> None:
    cat = catalog(settings)
    assert set(dataset_types().values()) == set(cat) == set(DATASET_QUERIES)
    types = {r["graphql_type"]: r["name"] for r in sql(settings.database_url,
                                                       "select graphql_type, name from hub.datasets")}
    assert types == dataset_types()
    classes = {c for _, c in cat.values()}
    assert classes == {"UNCONDITIONAL", "CONDITIONAL", "NOT_SHARED"}


def test_every_scalar_field_of_a_dataset_type_is_in_the_catalog(client, settings: Settings) -> None:
    schema = client.app.state.schema._schema
    fields = {(r["dataset"], r["field"]) for r in sql(settings.database_url,
                                                      "select dataset, field from hub.dataset_fields")}
    missing = []
    for type_name, dataset in dataset_types().items():
        for fname, f in schema.type_map[type_name].fields.items():
            if isinstance(get_named_type(f.type), (GraphQLScalarType, GraphQLEnumType)) \
                    and (type_name, fname) not in EXTRA_GUARDS and (dataset, fname) not in fields:
                missing.append(f"{type_name}.{fname}")
    assert not missing, f"exposed fields without a catalog entry: {missing}"


def test_every_field_reading_a_dataset_is_guarded(client) -> None:
    guarded = client.app.state.schema.guarded_fields
    assert ("Query", "jobSeekers") in guarded and ("Occupation", "seekers") in guarded
    assert ("Major", "outcomes") in guarded and ("Enterprise", "investmentProjects") in guarded
    assert guarded[("Occupation", "postingCount")] == "labor.job_postings"
    assert {d for d in guarded.values()} == set(dataset_types().values())


@pytest.mark.parametrize("dataset", sorted(DATASET_QUERIES))
@pytest.mark.parametrize("who", CONSUMERS)
def test_sharing_class_table(gql_as, settings: Settings, who: str, dataset: str) -> None:
    owner, cls = catalog(settings)[dataset]
    dept = DEPARTMENT_OF.get(who, who)
    has_grant = who == DEFAULT_CONSUMER and cls == "CONDITIONAL"
    allowed = dept == owner or cls == "UNCONDITIONAL" or has_grant
    data = gql_as(who)(DATASET_QUERIES[dataset])
    if allowed:
        assert "errors" not in data, data
    else:
        [error] = data["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["dataset"] == dataset
        assert dataset in error["message"]


def test_joins_cannot_reach_what_roots_cannot(gql_as) -> None:
    data = gql_as("commerce")("""{ occupations(first: 3) { nodes { code seekers(first: 2) { nodes { id } }
                                  postings(first: 1) { nodes { id } } } } }""")
    nodes = data["data"]["occupations"]["nodes"]
    assert len(nodes) == 3 and all(n["code"] and n["seekers"] is None and n["postings"] for n in nodes)
    assert sorted(tuple(e["path"]) for e in data["errors"]) == [("occupations", "nodes", i, "seekers") for i in range(3)]
    assert {e["extensions"]["code"] for e in data["errors"]} == {"FORBIDDEN"}

    data = gql_as("labor")("{ enterprises(first: 2) { nodes { uscc investmentProjects { code } } } }")
    assert [n["investmentProjects"] for n in data["data"]["enterprises"]["nodes"]] == [None, None]
    assert {e["extensions"]["dataset"] for e in data["errors"]} == {"commerce.investment_projects"}

    own = gql_as("commerce")("{ enterprises(first: 2) { nodes { uscc investmentProjects { code } } } }")
    assert "errors" not in own


def test_authentication_required(client) -> None:
    anonymous = {"Authorization": ""}
    for headers in (anonymous, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = client.post("/graphql", json={"query": "{ industries { nodes { code } } }"}, headers=headers)
        assert r.status_code == 401
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/graphql", headers={"accept": "text/html", **anonymous}).status_code == 200
    assert client.get("/healthz", headers=anonymous).status_code == 200


def test_a_malformed_authorization_header_says_what_is_wrong(client, tokens) -> None:
    query = {"query": "{ __typename }"}
    token = tokens["labor"]
    for value, says in ((token, "has no scheme (the token alone?)"), ("Bearer ", "Bearer scheme but no token"),
                        ("Bearer", "Bearer scheme but no token"), (f"Token {token}", "unsupported authorization scheme 'Token'")):
        r = client.post("/graphql", json=query, headers={"Authorization": value})
        assert r.status_code == 401, value
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert says in error["message"] and "send Authorization: Bearer <token>" in error["message"], error
        assert token not in error["message"]
    # A published report is public, but a header that is sent must be well-formed too.
    assert client.get("/reports/2024.json", headers={"Authorization": token}).status_code == 401
    assert client.post("/graphql", json=query, headers={"Authorization": f"bearer  {token}"}).status_code == 200


def test_revoked_token_is_refused(client, settings: Settings) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": settings.database_url}
    created = runner.invoke(cli_app, ["consumer", "create", "--department", "science", "--name", "revocation test"],
                            env=env)
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    query = {"query": "{ industries(first: 1) { nodes { code } } }"}
    assert client.post("/graphql", json=query, headers=headers).status_code == 200
    stored = sql_value(settings.database_url, "select token_hash from hub.consumers where name = 'revocation test'")
    assert token not in stored and len(stored) == 64
    consumer_id = sql_value(settings.database_url, "select id from hub.consumers where name = 'revocation test'")
    revoked = runner.invoke(cli_app, ["consumer", "revoke", str(consumer_id)], env=env)
    assert revoked.exit_code == 0, revoked.output
    r = client.post("/graphql", json=query, headers=headers)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    listed = runner.invoke(cli_app, ["consumer", "list"], env=env)
    assert "revocation" in listed.output and token not in listed.output


def test_catalog_query(gql_as) -> None:
    data = gql_as("commerce")("""{ catalog { name department sharingClass readable
                                  fields { field sensitivity mask } } }""")
    datasets = {d["name"]: d for d in data["data"]["catalog"]}
    seekers = datasets["labor.job_seekers"]
    assert seekers["sharingClass"] == "CONDITIONAL" and seekers["readable"] is False
    personal = {f["field"]: f["mask"] for f in seekers["fields"] if f["sensitivity"] == "PERSONAL"}
    assert personal == {"name": "PERSON_NAME", "idNumber": "ID_NUMBER", "phone": "PHONE", "sourceId": "SOURCE_ID"}
    assert datasets["commerce.investment_projects"]["readable"] is True  # its own


def test_masking_functions() -> None:
    assert mask_id_number("44010619900101123X") == "440106************"  # the district of issue only
    assert mask_id_number("4401061990") == "**********"  # not an 18-character number: nothing kept
    assert mask_phone("13812345678") == "138****5678"
    assert mask_person_name("张三丰") == "张**"
    assert mask_person_name("欧阳娜娜") == "欧阳**"


GRANT_FLOW = """mutation($f: [String!]) { requestAccess(dataset: "labor.job_seekers", fields: $f,
    purpose: "match job seekers to enterprise vacancies", until: "%s") { id status owner overdue } }"""


def _until(days: int = 90) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def test_grant_workflow_and_masking(gql_as, settings: Settings) -> None:
    commerce, labor, education = gql_as("commerce"), gql_as("labor"), gql_as("education")
    seekers_q = "{ jobSeekers(first: 5) { nodes { id name idNumber phone } } }"
    denied = commerce(seekers_q)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    req = commerce(GRANT_FLOW % _until(), {"f": ["idNumber"]})["data"]["requestAccess"]
    assert req["status"] == "PENDING" and req["owner"] == "labor" and req["overdue"] is False

    wrong = education('mutation($id: Int!) { reviewAccessRequest(id: $id, decision: APPROVE) { id } }', {"id": req["id"]})
    assert wrong["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # a third department: as a missing id
    no_reason = labor('mutation($id: Int!) { reviewAccessRequest(id: $id, decision: REFUSE) { id } }', {"id": req["id"]})
    assert no_reason["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    approved = labor("""mutation($id: Int!) { reviewAccessRequest(id: $id, decision: APPROVE) {
                        status grantId } }""", {"id": req["id"]})["data"]["reviewAccessRequest"]
    assert approved["status"] == "APPROVED" and approved["grantId"]
    again = labor('mutation($id: Int!) { reviewAccessRequest(id: $id, decision: APPROVE) { id } }', {"id": req["id"]})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"

    owner_view = {n["id"]: n for n in labor(seekers_q)["data"]["jobSeekers"]["nodes"]}
    granted = commerce(seekers_q)
    assert "errors" not in granted
    for n in granted["data"]["jobSeekers"]["nodes"]:
        raw = owner_view[n["id"]]
        assert n["idNumber"] == raw["idNumber"]                   # named in the grant: clear
        assert n["phone"] == mask_phone(raw["phone"]) != raw["phone"]
        assert n["name"] == mask_person_name(raw["name"]) != raw["name"]

    # Masking holds through joins too.
    joined = commerce("{ occupations(first: 5) { nodes { seekers(first: 3) { nodes { id name phone } } } } }")
    people = [p for o in joined["data"]["occupations"]["nodes"] for p in o["seekers"]["nodes"]]
    assert people and all("*" in p["name"] and "*" in p["phone"] for p in people)

    grants = commerce("{ grants(active: true) { nodes { id dataset fields department owner } } }")["data"]["grants"]["nodes"]
    [g] = [g for g in grants if g["dataset"] == "labor.job_seekers"]
    assert g["fields"] == ["idNumber"] and g["department"] == "commerce" and g["owner"] == "labor"
    assert not [x for x in gql_as("science")("{ grants { nodes { id } } }")["data"]["grants"]["nodes"] if x["id"] == g["id"]]

    revoked = commerce('mutation($id: Int!) { revokeGrant(id: $id) { id } }', {"id": g["id"]})
    assert revoked["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # only the owner (or an admin) revokes
    assert labor('mutation($id: Int!) { revokeGrant(id: $id) { active } }', {"id": g["id"]})["data"]["revokeGrant"] == {"active": False}
    assert commerce(seekers_q)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_refusal_expiry_and_overdue(gql_as, settings: Settings) -> None:
    science, labor = gql_as("science"), gql_as("labor")
    req = science(GRANT_FLOW % _until(), {"f": []})["data"]["requestAccess"]
    refused = labor("""mutation($id: Int!) { reviewAccessRequest(id: $id, decision: REFUSE, reason: "no legal basis") {
                       status reason grantId } }""", {"id": req["id"]})["data"]["reviewAccessRequest"]
    assert refused == {"status": "REFUSED", "reason": "no legal basis", "grantId": None}

    req = science(GRANT_FLOW % _until(), {"f": []})["data"]["requestAccess"]
    labor('mutation($id: Int!) { reviewAccessRequest(id: $id, decision: APPROVE) { id } }', {"id": req["id"]})
    assert "errors" not in science("{ jobSeekers(first: 1) { nodes { id } } }")
    sql(settings.database_url, "update hub.grants set granted_at = now() - interval '2 days', "
                               "expires_at = now() - interval '1 second' where request_id = $1", req["id"])
    assert science("{ jobSeekers(first: 1) { nodes { id } } }")["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    old = science(GRANT_FLOW % _until(), {"f": []})["data"]["requestAccess"]
    sql(settings.database_url, "update hub.access_requests set requested_at = now() - interval '20 days' where id = $1",
        old["id"])
    mine = science("{ accessRequests(status: PENDING) { nodes { id overdue workingDaysPending } } }")
    [row] = [r for r in mine["data"]["accessRequests"]["nodes"] if r["id"] == old["id"]]
    assert row["overdue"] is True and row["workingDaysPending"] > 10
    theirs = labor("{ accessRequests(status: PENDING) { nodes { id } } }")["data"]["accessRequests"]["nodes"]
    assert old["id"] in [r["id"] for r in theirs]
    others = gql_as("education")("{ accessRequests { nodes { id } } }")["data"]["accessRequests"]["nodes"]
    assert old["id"] not in [r["id"] for r in others]


@pytest.mark.parametrize("variables,code", [
    ({"d": "labor.nope", "f": []}, "BAD_USER_INPUT"),
    ({"d": "commerce.investment_projects", "f": []}, "FORBIDDEN"),
    ({"d": "commerce.enterprises", "f": []}, "BAD_USER_INPUT"),
    ({"d": "labor.job_seekers", "f": ["headcount"]}, "BAD_USER_INPUT"),
    ({"d": "education.major_outcomes", "f": []}, "BAD_USER_INPUT"),  # the requester's own dataset
])
def test_bad_access_requests(gql_as, variables: dict, code: str) -> None:
    data = gql_as("education")("""mutation($d: String!, $f: [String!]) { requestAccess(dataset: $d, fields: $f,
        purpose: "a sufficiently long purpose", until: "%s") { id } }""" % _until(), variables)
    assert data["errors"][0]["extensions"]["code"] == code


def test_an_expired_grant_stops_counting_at_once_whatever_the_cache_window(settings: Settings) -> None:
    """The policy cache keeps grants for HUB_POLICY_CACHE_SECONDS, but an expiry is known in advance: a grant stops
    counting the moment its expires_at passes, on HTTP and websockets alike, not a cache window later."""
    url = settings.database_url
    grant_id = approved_grant(url, "science", "labor.job_seekers", ["idNumber"], expires_in_seconds=1.5)

    async def check() -> None:
        db = await Databases(settings, url).open()
        try:
            store = PolicyStore(db, ttl=3600)
            assert (await store.grants("science"))["labor.job_seekers"].fields == {"idNumber"}
            await asyncio.sleep(1.7)  # the cache is fresh for an hour: only the expiry can drop the grant
            assert "labor.job_seekers" not in await store.grants("science")
        finally:
            await db.close()

    asyncio.run(check())
    assert sql_value(url, "select expires_at < now() from hub.grants where id = $1", grant_id)

"""Masked ID numbers keep their entropy (issue 12, item 3).

A reader who sees ``idNumber`` masked also sees the public ``birthYear``, ``gender`` (the parity of the last
sequence digit), ``registeredOn`` and ``districtCode``. For each of 50 demo seekers the test counts the valid
GB 11643 numbers consistent with all of it and with the masked number, as the reader gets it on the general
path, the compiled path and the sync snapshot; at least 10,000 must remain. The district of issue is taken as
known (the demo's seekers mostly live where their number was issued): that only lowers the count.
"""

from __future__ import annotations

import datetime
from typing import Iterator

import orjson
import pytest

from hub.governance.masking import mask_id_number
from hub.sync.check_chars import id_number_check_char
from hub.settings import Settings
from tests.support.helpers import approved_grant, sql

MIN_CANDIDATES = 10_000
PEOPLE = 50
READER = "education"  # granted labor.job_seekers with no personal field in clear
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.fixture(scope="module")
def grant(settings: Settings) -> Iterator[None]:
    url = settings.database_url
    grant_id = approved_grant(url, READER, "labor.job_seekers")
    yield
    sql(url, "update hub.grants set revoked_at = now() where id = $1", grant_id)


def candidates(region: str, seen: dict, true_number: str, mask=mask_id_number) -> tuple[int, bool]:
    """How many valid GB 11643 numbers with this district of issue match what the reader sees of one person (the
    masked number, birth year, gender, registration date), and whether the true number is among them."""
    year, male = seen["birthYear"], seen["gender"] == "M"
    registered = datetime.date.fromisoformat(seen["registeredOn"])
    shown = seen["idNumber"]
    region_sum = sum(int(d) * w for d, w in zip(region, _WEIGHTS))
    sequences = [(s, sum(int(d) * w for d, w in zip(s, _WEIGHTS[14:])))
                 for s in (f"{n:03d}" for n in range(1000)) if (int(s[2]) % 2 == 1) == male]
    count, found = 0, False
    day = datetime.date(year, 1, 1)
    while day.year == year and day <= registered:
        date = f"{day:%Y%m%d}"
        base = region_sum + sum(int(d) * w for d, w in zip(date, _WEIGHTS[6:14]))
        for seq, seq_sum in sequences:
            number = region + date + seq + "10X98765432"[(base + seq_sum) % 11]
            if mask(number) == shown:
                count += 1
                found = found or number == true_number
        day += datetime.timedelta(days=1)
    return count, found


def _old_mask(value: str) -> str:
    """The rule before issue 12: the first 6 and last 4 characters."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def test_the_counter_finds_the_few_candidates_the_old_mask_left(settings: Settings) -> None:
    """The counter itself: under the old mask (first 6 + last 4) a handful of numbers per person remain,
    the true one among them (the check character fixes the birth date within the year to ~365/11)."""
    rows = sql(settings.database_url, "select id_number, birth_year, gender, registered_on from labor.job_seekers "
                                      "order by id limit 5")
    for r in rows:
        number = r["id_number"]
        assert number[-1] == id_number_check_char(number[:17])
        seen = {"idNumber": _old_mask(number), "birthYear": r["birth_year"], "gender": r["gender"],
                "registeredOn": r["registered_on"].isoformat()}
        count, found = candidates(number[:6], seen, number, mask=_old_mask)
        assert found and 20 <= count <= 50, count


def test_what_a_masked_reader_sees_leaves_at_least_10000_candidates(grant, gql_as, client, tokens,
                                                                    settings: Settings) -> None:
    url = settings.database_url
    truth = {r["id"]: r["id_number"] for r in sql(url, "select id, id_number from labor.job_seekers order by id "
                                                       "limit $1", PEOPLE)}
    fields = "id idNumber birthYear gender registeredOn districtCode"
    general = gql_as(READER)(f"{{ jobSeekers(first: {PEOPLE}) {{ nodes {{ {fields} }} }} }}")
    assert "errors" not in general, general
    people = general["data"]["jobSeekers"]["nodes"]
    assert [p["id"] for p in people] == list(truth)

    # The compiled path (a registered document) and the sync snapshot show the same masked numbers.
    endpoint = client.app.router.routes[0].endpoint
    doc = next(d for d in endpoint.trusted if d.path.endswith("examples/seeker_search.graphql"))
    before = endpoint.compiled.answered
    compiled = client.post("/graphql", json={"query": doc.text, "variables": {"first": PEOPLE}},
                           headers={"Authorization": f"Bearer {tokens[READER]}"}).json()
    assert endpoint.compiled.answered == before + 1
    assert [n["idNumber"] for n in compiled["data"]["jobSeekers"]["nodes"]] == [p["idNumber"] for p in people]
    snapshot = client.get("/sync/labor.job_seekers/snapshot", headers={"Authorization": f"Bearer {tokens[READER]}"})
    assert snapshot.status_code == 200

    rows = {r["id"]: r for r in map(orjson.loads, snapshot.content.splitlines()) if "id" in r}
    assert all(rows[p["id"]]["id_number"] == p["idNumber"] for p in people)

    counts = []
    for p in people:
        number = truth[p["id"]]
        assert p["idNumber"] == mask_id_number(number) != number
        count, found = candidates(number[:6], p, number)
        assert found, p
        counts.append(count)
    assert min(counts) >= MIN_CANDIDATES, sorted(counts)[:5]


def test_the_catalog_states_the_rule(gql_as) -> None:
    datasets = {d["name"]: d for d in gql_as(READER)('{ catalog(department: "labor") { name fields { field '
                                                    'sensitivity mask description } } }')["data"]["catalog"]}
    fields = {f["field"]: f for f in datasets["labor.job_seekers"]["fields"]}
    assert fields["idNumber"]["mask"] == "ID_NUMBER"
    assert "first 6 characters" in fields["idNumber"]["description"]
    assert "at least 10,000" in fields["idNumber"]["description"]
    assert fields["birthYear"]["sensitivity"] == "PUBLIC" and "10,000" in fields["birthYear"]["description"]

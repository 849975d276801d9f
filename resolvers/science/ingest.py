"""What ingest accepts for science's datasets (``POST /ingest/{dataset}``, ``hub ingest``): columns and their kinds,
the natural key, row rules, references inside science and codes of other departments (``hub.sync.specs``)."""

from __future__ import annotations

from hub.sync import validate as v
from hub.sync.specs import SCHOOL_EDUCATION, Col, Foreign, Ref, Spec, districts, not_after, one_of, usccs
from hub.sync.validate import Numeric


INGEST: tuple[Spec, ...] = (
    Spec("science.research_projects", (
        Col("code", v.code(r"^RP[0-9]{6}$", "a project code RP000000")), Col("title", v.TEXT),
        Col("lead_enterprise_uscc", v.USCC, False), Col("partner_school_code", v.SCHOOL, False),
        Col("industry_code", v.INDUSTRY, False), Col("field", v.TEXT), Col("budget_wan", Numeric()),
        Col("starts_on", v.DATE), Col("ends_on", v.DATE, False)),
        key=("code",), rules=(not_after("starts_on", "ends_on"), one_of("lead_enterprise_uscc", "partner_school_code")),
        foreign=(*usccs("lead_enterprise_uscc"), Foreign("partner_school_code", *SCHOOL_EDUCATION),
                 Foreign("industry_code", "commerce", "commerce/known_industry_codes"))),
    Spec("science.tech_transfers", (
        Col("code", v.code(r"^TT[0-9]{6}$", "a transfer code TT000000")),
        Col("project_code", v.code(r"^RP[0-9]{6}$", "a project code RP000000")), Col("title", v.TEXT),
        Col("buyer_uscc", v.USCC, False), Col("amount_wan", Numeric()), Col("transferred_on", v.DATE)),
        key=("code",), refs=(Ref(("project_code",), "science.research_projects", ("code",)),),
        foreign=usccs("buyer_uscc")),
    Spec("science.innovation_platforms", (
        Col("code", v.code(r"^IPF[0-9]{5}$", "a platform code IPF00000")), Col("name", v.TEXT),
        Col("kind", v.choice("KEY_LAB", "ENGINEERING_CENTER", "INCUBATOR", "SKILL_MASTER_STUDIO", "TRAINING_BASE")),
        Col("level", v.choice("NATIONAL", "PROVINCIAL", "MUNICIPAL", "DISTRICT")), Col("host_uscc", v.USCC, False),
        Col("host_school_code", v.SCHOOL, False), Col("district_code", v.DISTRICT), Col("established_on", v.DATE)),
        key=("code",), rules=(one_of("host_uscc", "host_school_code"),),
        foreign=(*usccs("host_uscc"), Foreign("host_school_code", *SCHOOL_EDUCATION),
                 *districts("district_code"))),
)

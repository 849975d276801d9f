"""Demo data, science's tables: research projects, technology transfers and innovation platforms.

A mixin of ``hub.demo.seed.Generator`` (what a mixin reads and writes is said there).
"""

from __future__ import annotations

import datetime as dt
import math

from hub.demo import names as N
from hub.demo import random_data as R


class ScienceTables:
    def research_projects(self) -> None:
        rng = self.rng("research_projects")
        n = self.n["science.research_projects"]
        field_pick = R.Picker(N.RESEARCH_FIELDS, [30, 30, 15, 12, 13])
        field_ents = {}
        for f in N.RESEARCH_FIELDS:
            wanted = set(N.FIELD_INDUSTRIES[f])
            idx = [i for i, r in enumerate(self.ent) if r[3] in wanted and r[5] != "MICRO"]
            field_ents[f] = R.Picker(idx, [self.ent_activity[i] for i in idx]) if idx else None
        tech = self._ent_pick_in("CIM")
        schools = self.school_rows
        school_w = {"VOCATIONAL_UNDERGRADUATE": 4, "HIGHER_VOCATIONAL": 3, "TECHNICIAN": 1, "SECONDARY_VOCATIONAL": 1}
        school_pick = R.Picker([s[1] for s in schools], [school_w[s[3]] for s in schools])
        existing = set(self.industry_codes)
        rows = []
        for i in range(n):
            field = field_pick(rng)
            lead = None
            if rng.random() < 0.75:
                p = field_ents[field] if field_ents[field] and rng.random() < 0.7 else tech
                lead = self.ent[p(rng)]
            school = school_pick(rng) if lead is None or rng.random() < 0.45 else None
            if lead is not None and rng.random() < 0.85:
                industry = lead[3]
            else:
                cands = [c for c in N.FIELD_INDUSTRIES[field] if c in existing]
                industry = rng.choice(cands) if cands and rng.random() < 0.85 else None
            topic = rng.choice(N.FIELD_TOPICS[field])
            title = f"{topic}{rng.choice(N.RESEARCH_TITLE_SUFFIXES)}"
            budget = min(5_000.0, max(5.0, rng.lognormvariate(math.log(150), 0.9)))
            starts = R.date_in_year(rng, R.Picker(list(range(2019, 2026)), [6, 7, 8, 9, 10, 11, 10])(rng))
            ends = dt.date.fromordinal(starts.toordinal() + rng.choice((365, 540, 730, 1095)))
            if starts.year >= 2024 and rng.random() < 0.5:
                ends = None
            rows.append((i + 1, f"RP{i + 1:06d}", title, lead[1] if lead else None, school, industry, field,
                         R.money(budget), starts, ends))
        self.data["science.research_projects"] = rows

    def tech_transfers(self) -> None:
        rng = self.rng("tech_transfers")
        n = self.n["science.tech_transfers"]
        projects = [p for p in self.data["science.research_projects"] if p[8].year <= 2024] \
            or self.data["science.research_projects"]
        kinds = ["成果转化", "专利许可", "专利转让", "技术开发合同", "技术服务合同"]
        rows = []
        for i in range(n):
            p = rng.choice(projects)
            buyer = self.ent[self.ent_pick(rng)][1] if rng.random() < 0.85 else None
            lo = min(R.END, p[8].toordinal() + 180)
            transferred = dt.date.fromordinal(rng.randint(lo, R.END))
            amount = min(3_000.0, max(1.0, rng.lognormvariate(math.log(60), 1.0)))
            rows.append((i + 1, f"TT{i + 1:06d}", p[1], f"{p[2].split('关键')[0]}{rng.choice(kinds)}", buyer,
                         R.money(amount), transferred))
        self.data["science.tech_transfers"] = rows

    def platforms(self) -> None:
        rng = self.rng("innovation_platforms")
        n = self.n["science.innovation_platforms"]
        kind_pick = R.Picker(list(N.PLATFORM_KINDS), [15, 30, 15, 25, 15])
        level_pick = R.Picker(["NATIONAL", "PROVINCIAL", "MUNICIPAL", "DISTRICT"], [5, 25, 40, 30])
        big = self._ent_pick_in("CIM")
        surname_pick = R.Picker([s for s, _ in N.SURNAMES], [w for _, w in N.SURNAMES])
        topics = [t for f in N.RESEARCH_FIELDS for t in N.FIELD_TOPICS[f]]
        rows, seen = [], set()
        for i in range(n):
            kind, level = kind_pick(rng), level_pick(rng)
            school_host = rng.random() < (0.6 if kind in ("SKILL_MASTER_STUDIO", "TRAINING_BASE") else 0.3)
            host_uscc = host_school = None
            if school_host:
                s = rng.choice(self.school_rows)
                host_school, district = s[1], s[4]
            else:
                e = self.ent[big(rng)]
                host_uscc, district = e[1], e[4]
            prefix = {"NATIONAL": "国家", "PROVINCIAL": "广东省", "MUNICIPAL": "广州市",
                      "DISTRICT": "广州市" + self.district_names[district]}[level]
            for _ in range(20):
                if kind == "SKILL_MASTER_STUDIO":
                    given = rng.choice(N.GIVEN_MALE + N.GIVEN_FEMALE) + rng.choice(N.GIVEN_ANY + N.GIVEN_MALE)
                    name = f"{prefix}{surname_pick(rng)}{given}技能大师工作室"
                elif kind == "TRAINING_BASE":
                    name = f"{prefix}{self.occ_name[self.occ_pick(rng)]}高技能人才培训基地"
                else:
                    name = rng.choice(N.PLATFORM_KINDS[kind]).format(prefix + rng.choice(topics))
                if name not in seen:
                    break
            seen.add(name)
            established = R.date_in_year(rng, rng.randint(2005, 2025))
            rows.append((i + 1, f"IPF{i + 1:05d}", name, kind, level, host_uscc, host_school, district, established))
        self.data["science.innovation_platforms"] = rows

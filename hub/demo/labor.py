"""Demo data, labor's tables: occupations, job postings and seekers, training programs, certificates, apprenticeships.

A mixin of ``hub.demo.seed.Generator`` (what a mixin reads and writes is said there).
"""

from __future__ import annotations

import datetime as dt
import math

from hub.demo import names as N
from hub.demo import random_data as R
from hub.demo.structure import Restructure
from hub.sync.check_chars import id_number_check_char


class LaborTables:
    def occupations(self) -> None:
        rng = self.rng("occupations")
        n = self.n["labor.occupations"]
        curated = N.OCCUPATIONS[:n]
        occ = [(code, name, dom, w ** 1.7 * rng.lognormvariate(0, 0.25), prof) for code, name, dom, w, prof in curated]
        if n > len(curated):
            seen_codes = {o[0] for o in occ}
            pools = []
            for group, domain, subjects, suffixes in N.GEN_OCCUPATION_PARTS:
                combos = [(group, domain, s + x) for s in subjects for x in suffixes]
                rng.shuffle(combos)
                pools.append(combos)
            group_pick = R.Picker([0, 1, 2], [50, 30, 20])
            seen_names = {o[1] for o in occ}
            k = 0
            while len(occ) < n:
                pool = pools[group_pick(rng)]
                if not pool:
                    pool = max(pools, key=len)
                    if not pool:
                        raise ValueError("not enough occupation names for this scale")
                group, domain, name = pool.pop()
                if name in seen_names:
                    continue
                lo, hi = N.GEN_OCCUPATION_SUBGROUPS[group]
                while True:
                    code = f"{group}-{rng.randint(lo, hi):02d}-{rng.randint(1, 20):02d}-{rng.randint(1, 30):02d}"
                    if code not in seen_codes:
                        break
                if group == 6 and any(w in name for w in ("船舶", "电梯", "光伏组件", "充电桩")):
                    domain = rng.choice(["MFG", "CONS"])
                if group == 2 and any(w in name for w in ("区块链", "数据", "软件", "虚拟现实", "芯片设计", "量子")):
                    domain = "ICT"
                seen_codes.add(code)
                seen_names.add(name)
                weight = 1.2 / (1 + k / 10) * rng.lognormvariate(0, 0.4)
                prof = R.Picker("SBX", [25, 45, 30])(rng)
                occ.append((code, name, domain, weight, prof))
                k += 1
        self.occ = occ
        self.occ_codes = [o[0] for o in occ]
        self.occ_group = {o[0]: int(o[0][0]) for o in occ}
        self.occ_name = {o[0]: o[1] for o in occ}
        self.occ_domain = {o[0]: o[2] for o in occ}
        self.occ_profile = {o[0]: o[4] for o in occ}
        self.occ_pick = R.Picker(self.occ_codes, [o[3] for o in occ])
        self.occ_by_domain: dict[str, R.Picker] = {}
        for dom in sorted({o[2] for o in occ}):
            members = [o for o in occ if o[2] == dom]
            self.occ_by_domain[dom] = R.Picker([o[0] for o in members], [o[3] for o in members])
        # base monthly wage per occupation
        base = {2: (9_000, 16_000), 3: (5_000, 7_000), 4: (4_500, 7_500), 6: (5_500, 8_500)}
        self.occ_wage = {o[0]: rng.uniform(*base.get(int(o[0][0]), (5_000, 8_000))) for o in occ}
        self.data["labor.occupations"] = [(i + 1, o[0], o[1], int(o[0][0])) for i, o in enumerate(occ)]

    def _pickers_by_group(self, table: dict[int, tuple]) -> dict[int, R.Picker]:
        return {g: R.Picker(range(len(w)), w) for g, w in table.items()}

    def job_postings(self) -> None:
        rng = self.rng("job_postings")
        n = self.n["labor.job_postings"]
        months, years = (0.7, 1.5, 1.6, 1.0, 0.9, 0.9, 1.0, 1.0, 1.4, 0.8, 0.8, 0.6), (0.85, 1.0, 1.05, 1.1)
        month_pick = R.month_picker(months, years)
        per_occupation = Restructure(self.seed, R.YEARS, months, years)  # trend + seasonality (hub.demo.structure)
        edu = self._pickers_by_group(self._EDU_BY_GROUP)
        skill = self._pickers_by_group(self._SKILL_BY_GROUP)
        head_pick = R.Picker([1, 2, 3, 4, 5], [50, 22, 10, 5, 5])
        ent_domains = {}
        for r in self.ent:
            doms = N.DIVISION_DOMAINS.get(r[3][:2]) or N.SECTION_DOMAINS[R.section_of(r[3])]
            ent_domains[r[1]] = [d for d in doms if d in self.occ_by_domain]
        rows = []
        self.demand_units: dict[str, float] = {}
        for i in range(n):
            e = self.ent[self.ent_pick(rng)]
            doms = ent_domains[e[1]]
            if doms and rng.random() < 0.75:
                occ = self.occ_by_domain[rng.choice(doms)](rng)
            else:
                occ = self.occ_pick(rng)
            group = self.occ_group[occ]
            district = e[4] if rng.random() < 0.8 else self.district_pick(rng)
            posted = per_occupation.move(occ, R.date_in_month(rng, month_pick(rng)))
            months = (posted.year - 2022) * 12 + posted.month - 1
            if rng.random() < 0.4 * (months / 47) ** 3:  # still open: mostly recent postings
                closes = None
            else:
                closes = dt.date.fromordinal(posted.toordinal() + int(rng.triangular(14, 120, 30)))
            if rng.random() < 0.96:
                headcount = head_pick(rng)
            else:  # a long tail of mass hiring, up to 50
                headcount = min(50, int(6 * (1 / (1 - rng.random())) ** 0.5))
            level = None if rng.random() < 0.15 else skill[group](rng) + 1
            wage = (self.occ_wage[occ] * self._SKILL_WAGE[level] * (1.03 ** (posted.year - 2022))
                    * rng.lognormvariate(0, 0.15))
            wage_min = min(28_000, max(3_000, int(round(wage, -2))))
            wage_max = min(30_000, max(wage_min, int(round(wage_min * rng.uniform(1.1, 1.7), -2))))
            title = f"{rng.choice(N.POSTING_TITLE_PREFIXES)}{self.occ_name[occ]}{rng.choice(N.POSTING_TITLE_SUFFIXES)}"
            rows.append((i + 1, title, e[1], occ, headcount, wage_min, wage_max, self._EDU[edu[group](rng)], level,
                         district, posted, closes))
            self.demand_units[occ] = self.demand_units.get(occ, 0.0) + headcount * R.quarters_met(posted, closes)
        self.data["labor.job_postings"] = rows

    def job_seekers(self) -> None:
        rng = self.rng("job_seekers")
        n = self.n["labor.job_seekers"]
        months, years = (0.8, 1.3, 1.2, 0.9, 0.9, 1.1, 1.5, 1.2, 1.0, 0.8, 0.8, 0.7), (0.9, 1.0, 1.05, 1.1)
        month_pick = R.month_picker(months, years)
        per_occupation = Restructure(self.seed, R.YEARS, months, years, supply=True)  # hub.demo.structure
        # 1. when each seeker seeks
        spans = []
        units = 0
        for _ in range(n):
            reg = R.date_in_month(rng, month_pick(rng))
            if rng.random() < 0.15:
                left = None
            else:
                left = dt.date.fromordinal(reg.toordinal() + int(rng.triangular(10, 300, 270)))
            spans.append((reg, left))
            units += R.quarters_met(reg, left)
        # 2. which occupation: supply follows demand divided by a target job-to-applicant ratio per occupation
        target = {"S": (2.2, 4.0), "B": (0.9, 1.4), "X": (0.3, 0.75)}
        weights = []
        demand = [self.demand_units.get(o, 0.0) for o in self.occ_codes]
        floor = sorted(demand)[len(demand) // 2] * 0.1 + 1
        for o, d in zip(self.occ_codes, demand):
            r = rng.uniform(*target[self.occ_profile[o]])
            weights.append(max(d, floor) / r)
        occ_pick = R.Picker(self.occ_codes, weights)
        edu = self._pickers_by_group(self._EDU_BY_GROUP)
        skill = self._pickers_by_group(self._SKILL_BY_GROUP)
        female_share = {"CARE": 0.8, "MFG": 0.35, "CONS": 0.1, "LOG": 0.2, "SVC": 0.55, "RET": 0.6, "BIZ": 0.6,
                        "ICT": 0.3, "ENG": 0.25, "AUTO": 0.08}
        surname_pick = R.Picker([s for s, _ in N.SURNAMES], [w for _, w in N.SURNAMES])
        seen_ids: set[str] = set()
        seen_phones: set[str] = set()
        rows = []
        self.seeker_info = []
        for i, (reg, left) in enumerate(spans):
            occ = occ_pick(rng)
            # the seeker's dates on the occupation's calendar (age and identity number stay from the drawn date)
            moved = per_occupation.move(occ, reg)
            seeks = (moved, None if left is None else left + (moved - reg))
            group = self.occ_group[occ]
            gender = "F" if rng.random() < female_share.get(self.occ_domain[occ], 0.5) else "M"
            chars = (N.GIVEN_FEMALE if gender == "F" else N.GIVEN_MALE) + N.GIVEN_ANY
            given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
            name = surname_pick(rng) + given
            age = int(rng.triangular(17, 58, 26))
            birth_year = reg.year - age
            district = self.seeker_district_pick(rng)
            while True:
                birth = R.date_in_year(rng, birth_year)
                prefix = district if rng.random() < 0.8 else rng.choice(self.district_codes)
                seq = rng.randrange(0, 1000, 2) + (1 if gender == "M" else 0)
                first17 = f"{prefix}{birth:%Y%m%d}{seq:03d}"
                id_number = first17 + id_number_check_char(first17)
                if id_number not in seen_ids:
                    seen_ids.add(id_number)
                    break
            while True:
                phone = rng.choice(N.PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
                if phone not in seen_phones:
                    seen_phones.add(phone)
                    break
            level = None if rng.random() < 0.2 else skill[group](rng) + 1
            education = self._EDU[edu[group](rng)]
            if age < 20 and education in ("BACHELOR", "MASTER"):
                education = "HIGH_SCHOOL"
            rows.append((i + 1, name, id_number, phone, gender, birth_year, education, occ, level, district, *seeks))
            self.seeker_info.append((occ, level, *seeks))
        self.data["labor.job_seekers"] = rows

    _LEVEL_NAMES = {1: "一级/高级技师", 2: "二级/技师", 3: "三级/高级工", 4: "四级/中级工", 5: "五级/初级工"}

    def training_programs(self) -> None:
        rng = self.rng("training_programs")
        n = self.n["labor.training_programs"]
        boost = {"S": 3.0, "B": 1.0, "X": 0.4}
        occ_pick = R.Picker(self.occ_codes, [o[3] * boost[o[4]] for o in self.occ])
        month_pick = R.month_picker((0.5, 0.8, 1.4, 1.3, 1.2, 1.0, 1.1, 0.9, 1.4, 1.3, 1.1, 0.6), (0.9, 1.0, 1.1, 1.1))
        # enterprise providers: preferably integration enterprises of a section hiring the occupation's domain
        by_domain: dict[str, list[int]] = {}
        for i, r in enumerate(self.ent):
            for dom in set(N.DIVISION_DOMAINS.get(r[3][:2]) or N.SECTION_DOMAINS[R.section_of(r[3])]):
                by_domain.setdefault(dom, []).append(i)
        ent_pickers: dict[str, R.Picker] = {}
        for dom, idx in sorted(by_domain.items()):
            ent_pickers[dom] = R.Picker(idx, [self.ent_activity[i] * (5.0 if self.ent[i][7] else 1.0) for i in idx])
        any_ent = R.Picker(range(len(self.ent)), [a * (5.0 if r[7] else 1.0) for a, r in zip(self.ent_activity, self.ent)])
        rows = []
        for i in range(n):
            occ = occ_pick(rng)
            level = None if rng.random() < 0.15 else R.Picker([1, 2, 3, 4, 5], [3, 8, 25, 37, 27])(rng)
            u = rng.random()
            if u < 0.4:
                s = rng.choice(self.school_rows)
                provider, provider_uscc, district = s[2], None, s[4]
            elif u < 0.75:
                e = self.ent[ent_pickers.get(self.occ_domain[occ], any_ent)(rng)]
                provider, provider_uscc, district = e[2], e[1], e[4]
            else:
                provider = f"广州市{rng.choice(N.TRADE_NAME_CHARS)}{rng.choice(N.TRADE_NAME_CHARS)}职业培训学校"
                provider_uscc, district = None, self.district_pick(rng)
            starts = R.date_in_month(rng, month_pick(rng))
            ends = dt.date.fromordinal(starts.toordinal() + rng.randint(3, 90))
            if self.occ_group[occ] == 2:  # professionals: continuing education, no skill level
                level = None
                name = f"{self.occ_name[occ]}知识更新培训"
            elif level:
                name = f"{self.occ_name[occ]}（{self._LEVEL_NAMES[level]}）职业技能培训班"
            else:
                name = f"{self.occ_name[occ]}岗位技能提升培训"
            rows.append((i + 1, f"TP{i + 1:06d}", name, occ, provider, provider_uscc, 5 * rng.randint(4, 24), level,
                         district, starts, ends))
        self.data["labor.training_programs"] = rows

    def certificates(self) -> None:
        rng = self.rng("skill_certificates")
        n = self.n["labor.skill_certificates"]
        level_pick = R.Picker([1, 2, 3, 4, 5], [2, 6, 25, 37, 30])
        rows, seq = [], {}
        for i in range(n):
            sid = rng.randrange(len(self.seeker_info))
            occ, level, reg, left = self.seeker_info[sid]
            if rng.random() < 0.15:
                occ = self.occ_by_domain[self.occ_domain[occ]](rng)
            lo = reg.toordinal() - 3 * 365
            hi = min(R.END, left.toordinal() if left else R.END)
            issued = dt.date.fromordinal(rng.randint(lo, hi))
            seq[issued.year] = seq.get(issued.year, 0) + 1
            rows.append((i + 1, f"SC{issued.year}{seq[issued.year]:06d}", sid + 1, occ,
                         level if level and rng.random() < 0.8 else level_pick(rng), issued))
        self.data["labor.skill_certificates"] = rows

    def apprenticeships(self) -> None:
        rng = self.rng("apprenticeships")
        n = self.n["labor.apprenticeships"]
        mfg = self._ent_pick_in("CEGHO")
        integ = [i for i, r in enumerate(self.ent) if r[7]]
        integ_pick = R.Picker(integ, [self.ent_activity[i] for i in integ]) if integ else mfg
        g46 = [o for o in self.occ if o[0][0] in "46"]
        occ_pick = R.Picker([o[0] for o in g46], [o[3] for o in g46])
        schools = [s for s in self.school_rows if s[3] != "VOCATIONAL_UNDERGRADUATE"] or self.school_rows
        rows = []
        for i in range(n):
            e = self.ent[(integ_pick if rng.random() < 0.7 else mfg)(rng)]
            doms = N.DIVISION_DOMAINS.get(e[3][:2]) or N.SECTION_DOMAINS[R.section_of(e[3])]
            dom = rng.choice(doms)
            occ = self.occ_by_domain[dom](rng) if dom in self.occ_by_domain and rng.random() < 0.7 else None
            if occ is None or occ[0] not in "46":
                occ = occ_pick(rng)
            school = rng.choice(schools)[1] if rng.random() < 0.7 else None
            starts = R.date_in_year(rng, rng.choice(R.YEARS))
            ends = None if rng.random() < 0.15 else dt.date.fromordinal(starts.toordinal() + rng.choice((365, 548, 730)))
            apprentices = max(1, min(60, int(rng.lognormvariate(math.log(10), 0.6))))
            rows.append((i + 1, f"AP{i + 1:06d}", e[1], occ, school, apprentices, starts, ends))
        self.data["labor.apprenticeships"] = rows

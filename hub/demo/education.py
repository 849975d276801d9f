"""Demo data, education's tables: schools, majors, their outcomes and their industry and occupation mappings.

A mixin of ``hub.demo.seed.Generator`` (what a mixin reads and writes is said there).
"""

from __future__ import annotations

import math
import random

from hub.demo import names as N
from hub.demo import random_data as R
from hub.demo.catalog import catalog_rows, untaught_mappings


class EducationTables:
    def schools(self) -> None:
        rng = self.rng("schools")
        n = self.n["education.schools"]
        first = ["SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "TECHNICIAN", "HIGHER_VOCATIONAL",
                 "SECONDARY_VOCATIONAL", "VOCATIONAL_UNDERGRADUATE"]
        kind_pick = R.Picker(["SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "TECHNICIAN", "VOCATIONAL_UNDERGRADUATE"],
                            [35, 35, 20, 10])
        stems = list(N.SCHOOL_STEMS)
        rng.shuffle(stems)
        district_by_name = {name[:-1]: code for code, name in N.DISTRICTS}
        rows, seen_codes, used = [], set(), set()
        for i in range(n):
            kind = first[i] if i < len(first) else kind_pick(rng)
            stem = next((s for s in stems if s not in used), None) or next(
                (s for s in stems if (s, kind) not in used), f"第{i + 1}")
            used.add(stem)
            used.add((stem, kind))
            name = N.SCHOOL_PATTERNS[kind].format(stem)
            district = district_by_name.get(stem) or self.district_pick(rng)
            while True:
                if kind in ("HIGHER_VOCATIONAL", "VOCATIONAL_UNDERGRADUATE"):
                    code = f"41440{rng.randint(12000, 14999)}"
                else:
                    code = f"3144{rng.randint(0, 999999):06d}"
                if code not in seen_codes:
                    seen_codes.add(code)
                    break
            rows.append((i + 1, code, name, kind, district))
        self.data["education.schools"] = rows
        self.school_rows = rows

    def majors(self) -> None:
        rng = self.rng("majors")
        total = self.n["education.majors"]
        schools = self.school_rows
        if not 5 * len(schools) <= total <= 12 * len(schools):
            raise ValueError("majors per school must be between 5 and 12")
        per = [5] * len(schools)
        while sum(per) < total:
            i = rng.randrange(len(schools))
            if per[i] < 12:
                per[i] += 1
        by_level = {lv: [m for m in N.MAJORS if m[2] == lv] for lv in "SHB"}
        used: dict[str, int] = {}
        rows = []
        for s, k in zip(schools, per):
            kind = s[3]
            pool = by_level["S"] if kind in ("SECONDARY_VOCATIONAL", "TECHNICIAN") else by_level["H"]
            if kind == "VOCATIONAL_UNDERGRADUATE":
                pool = by_level["B"] + by_level["H"]
            pool = list(pool)
            chosen = []
            for _ in range(min(k, len(pool))):
                weights = [(0.02 if used.get(m[0], 0) >= 2 else 0.15 if used.get(m[0]) else 1.0)
                           * (3.0 if m[2] == "B" else 1.0) for m in pool]
                m = R.Picker(pool, weights)(rng)
                pool.remove(m)
                chosen.append(m)
                used[m[0]] = used.get(m[0], 0) + 1
            for m in sorted(chosen):
                rows.append((len(rows) + 1, m[0], m[1], s[1]))
        self.data["education.majors"] = rows
        self.major_rows = rows
        self._major_outcomes(rng)
        self._major_mappings()

    def _major_outcomes(self, rng: random.Random) -> None:
        n = len(self.major_rows)
        ids = list(range(n))
        rng.shuffle(ids)
        n_yellow, n_red = max(2, round(0.08 * n)), max(2, round(0.05 * n))
        n_recover, n_tiny = max(1, round(0.03 * n)), max(2, round(0.04 * n))
        profile = ["normal"] * n
        cut = 0
        for name, k in (("yellow", n_yellow), ("red", n_red), ("recover", n_recover), ("tiny", n_tiny)):
            for i in ids[cut:cut + k]:
                profile[i] = name
            cut += k
        below_years = {"normal": (), "yellow": (2024, 2025), "red": (2023, 2024, 2025), "recover": (2022, 2023),
                       "tiny": ()}
        rows = []
        for i, m in enumerate(self.major_rows):
            p = profile[i]
            if p == "red" and rng.random() < 0.5:
                below = (2022, 2023, 2024, 2025)
            else:
                below = below_years[p]
            cohort = max(15, int(rng.lognormvariate(math.log(70), 0.5)))
            tiny_year = rng.choice(R.YEARS)
            for year in R.YEARS:
                if p == "tiny":
                    graduates = rng.randint(1, 2)
                    enrollment = rng.randint(0, 6)
                    employed = graduates - 1 if year == tiny_year and rng.random() < 0.5 else graduates
                else:
                    trend = 0.8 if p == "red" and year >= 2024 else 1.0
                    graduates = max(10, int(cohort * trend * rng.uniform(0.85, 1.1)))
                    enrollment = max(0, int(cohort * trend * rng.uniform(0.9, 1.2)))
                    if year in below:
                        employed = min(int(graduates * rng.uniform(0.6, 0.78)), math.ceil(graduates * 0.8) - 1)
                    else:
                        employed = max(round(graduates * rng.uniform(0.85, 0.97)), math.ceil(graduates * 0.8))
                    employed = min(employed, graduates)
                rows.append((len(rows) + 1, i + 1, year, enrollment, graduates, employed))
        self.data["education.major_outcomes"] = rows

    def _major_mappings(self) -> None:
        rng = self.rng("major_mappings")
        catalog = {m[0]: m for m in N.MAJORS}
        existing_classes = set(self.classes)
        occ_set = set(self.occ_codes)
        ind_rows, occ_rows = [], []
        for code in sorted({m[1] for m in self.major_rows}):
            _, _, _, inds, occs = catalog[code]
            found = [c for c in inds if c in existing_classes]
            if not found:  # fall back to a class of the same division, then section
                for key in (lambda c: c[:2], lambda c: R.section_of(c)):
                    wanted = {key(c) for c in inds}
                    found = [c for c in self.classes if key(c) in wanted]
                    if found:
                        break
            if not found:
                found = [max(self.classes, key=lambda c: (self.class_weight[c], c))]
            k = rng.randint(1, min(3, len(found)))
            for c in sorted(found[:k]):
                ind_rows.append((code, c))
            found_o = [o for o in occs if o in occ_set]
            domain = self.occ_domain.get(occs[0], "MFG")
            if not found_o or rng.random() < 0.3:
                extra = self.occ_by_domain.get(domain)
                if extra is not None:
                    for _ in range(3):
                        o = extra(rng)
                        if o not in found_o:
                            found_o.append(o)
                            break
            for o in sorted(found_o[:4]):
                occ_rows.append((code, o))
        # the catalog (hub.demo.catalog): every national major, and the mappings of those no school teaches
        self.data["education.major_catalog"] = catalog_rows()
        more_ind, more_occ = untaught_mappings({m[1] for m in self.major_rows}, self.classes, occ_set,
                                               lambda c: c[:2])
        self.data["education.major_industries"] = ind_rows + more_ind
        self.data["education.major_occupations"] = occ_rows + more_occ

    # --- labor: demand and supply ---
    _EDU = ("NONE", "JUNIOR_HIGH", "HIGH_SCHOOL", "SECONDARY_VOCATIONAL", "JUNIOR_COLLEGE", "BACHELOR", "MASTER")
    _EDU_BY_GROUP = {2: (0, 0, 5, 0, 35, 50, 10), 3: (0, 0, 20, 10, 40, 30, 0), 4: (10, 25, 25, 20, 17, 3, 0),
                     6: (10, 30, 20, 30, 10, 0, 0)}
    _SKILL_BY_GROUP = {2: (10, 30, 35, 20, 5), 3: (2, 8, 30, 35, 25), 4: (2, 8, 25, 35, 30), 6: (5, 10, 30, 35, 20)}
    _SKILL_WAGE = {None: 1.0, 1: 1.6, 2: 1.35, 3: 1.15, 4: 1.0, 5: 0.9}

"""Deterministic demo data for every department (``hub seed`` and the test suite).

``generate(scale, seed)`` is a pure function: the same scale and seed give identical rows (one
``random.Random`` per table, seeded from the seed; dates are relative to fixed years, never today).
``load_demo(pools, ...)`` truncates the departments' schemas, COPYs the rows in through each
department's own pool (so a department may live in its own database) and records the
``demo_data`` marker in ``hub.meta``.

Departments refer to each other only by national codes, and the generator keeps those consistent:
every posting's enterprise USCC is a generated enterprise, every mapped industry/occupation code
exists, every partner school exists, and so on.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import random
from decimal import Decimal
from typing import Callable, Iterable, Mapping, Sequence

from hub import seed_names as N
from hub import seed_plan

Progress = Callable[[str, int, int], None]

# --- scales --------------------------------------------------------------------------------------

_TABLE_COUNT_KEYS = (
    "commerce.industries", "commerce.enterprises", "commerce.parks", "commerce.investment_projects",
    "labor.occupations", "labor.job_postings", "labor.job_seekers", "labor.training_programs",
    "labor.skill_certificates", "labor.apprenticeships",
    "science.research_projects", "science.tech_transfers", "science.innovation_platforms",
    "education.schools", "education.majors",
)


def _industry_catalog() -> list[tuple[str, str, float]]:
    rows = []
    for line in N.INDUSTRY_CATALOG.strip().splitlines():
        parts = line.split()
        rows.append((parts[0], parts[1], float(parts[2]) if len(parts) > 2 else 1.0))
    return rows


_CATALOG = _industry_catalog()
_FULL_INDUSTRY_COUNT = len(N.SECTIONS) + len(_CATALOG)


def _scale(values: Sequence[int]) -> dict[str, int]:
    return dict(zip(_TABLE_COUNT_KEYS, values))


# Row counts per table. Derived tables (hub.districts, education.major_outcomes, major_industries,
# major_occupations) follow from these; load_demo returns the counts of every table.
SCALES: dict[str, dict[str, int]] = {
    "small": _scale([60, 300, 5, 30, 120, 3_000, 2_000, 150, 300, 60, 120, 60, 30, 6, 40]),
    "medium": _scale([160, 3_000, 10, 300, 600, 30_000, 20_000, 1_500, 3_000, 600, 1_200, 600, 200, 16, 130]),
    "large": _scale([_FULL_INDUSTRY_COUNT, 20_000, 20, 2_000, 1_500, 200_000, 150_000, 3_000, 20_000, 2_000,
                     3_000, 1_500, 500, 40, 300]),
}

# --- columns per table, in load order per department ---------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "hub.districts": ("code", "name", "parent_code"),
    "commerce.industries": ("id", "code", "name", "level", "parent_code"),
    "commerce.enterprises": ("id", "uscc", "name", "industry_code", "district_code", "size", "founded_on",
                             "integration"),
    "commerce.parks": ("id", "code", "name", "district_code", "area_hectares"),
    "commerce.investment_projects": ("id", "code", "name", "enterprise_uscc", "park_code", "amount_wan",
                                     "starts_on"),
    "labor.occupations": ("id", "code", "name", "major_group"),
    "labor.job_postings": ("id", "title", "enterprise_uscc", "occupation_code", "headcount", "wage_min", "wage_max",
                           "education", "skill_level", "district_code", "posted_on", "closes_on"),
    "labor.job_seekers": ("id", "name", "id_number", "phone", "gender", "birth_year", "education", "occupation_code",
                          "skill_level", "district_code", "registered_on", "left_on"),
    "labor.training_programs": ("id", "code", "name", "occupation_code", "provider", "provider_uscc", "seats",
                                "skill_level", "district_code", "starts_on", "ends_on"),
    "labor.skill_certificates": ("id", "certificate_no", "seeker_id", "occupation_code", "skill_level", "issued_on"),
    "labor.apprenticeships": ("id", "code", "enterprise_uscc", "occupation_code", "school_code", "apprentices",
                              "starts_on", "ends_on"),
    "science.research_projects": ("id", "code", "title", "lead_enterprise_uscc", "partner_school_code",
                                  "industry_code", "field", "budget_wan", "starts_on", "ends_on"),
    "science.tech_transfers": ("id", "code", "project_code", "title", "buyer_uscc", "amount_wan", "transferred_on"),
    "science.innovation_platforms": ("id", "code", "name", "kind", "level", "host_uscc", "host_school_code",
                                     "district_code", "established_on"),
    "education.schools": ("id", "code", "name", "kind", "district_code"),
    "education.majors": ("id", "code", "name", "school_code"),
    "education.major_outcomes": ("id", "major_id", "year", "enrollment", "graduates", "employed"),
    "education.major_industries": ("major_code", "industry_code"),
    "education.major_occupations": ("major_code", "occupation_code"),
    **seed_plan.COLUMNS,
}
COLUMNS["commerce.enterprises"] = seed_plan.ENTERPRISE_COLUMNS
DEPARTMENTS = ("commerce", "labor", "science", "education")

# --- check characters ------------------------------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a unified social credit code."""
    if len(first17) != 17:
        raise ValueError("a unified social credit code has 17 characters before its check character")
    total = 0
    for ch, w in zip(first17, _USCC_WEIGHTS):
        value = USCC_CHARSET.find(ch)
        if value < 0:
            raise ValueError(f"{ch!r} is not in the GB 32100 character set")
        total += value * w
    c = 31 - total % 31
    return USCC_CHARSET[0 if c == 31 else c]


def id_number_check_char(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a citizen identity number."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("an identity number has 17 digits before its check character")
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def _org_code_check_char(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code (digits and capital letters)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, _ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


# --- helpers ----------------------------------------------------------------------------------------

YEARS = (2022, 2023, 2024, 2025)
_START = dt.date(2022, 1, 1).toordinal()
_END = dt.date(2025, 12, 31).toordinal()


class _Picker:
    """Weighted choice with precomputed cumulative weights (fast for large tables)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, items: Sequence, weights: Iterable[float]):
        self.items = list(items)
        acc, cum = 0.0, []
        for w in weights:
            acc += w
            cum.append(acc)
        if not self.items or acc <= 0:
            raise ValueError("nothing to choose from")
        self.cum, self.total = cum, acc

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total, 0, len(self.cum) - 1)]


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def _date_in_year(rng: random.Random, year: int) -> dt.date:
    start = dt.date(year, 1, 1).toordinal()
    return dt.date.fromordinal(start + rng.randrange(dt.date(year, 12, 31).toordinal() - start + 1))


def _month_picker(month_weights: Sequence[float], year_weights: Sequence[float]) -> _Picker:
    cells = [(y, m) for y in YEARS for m in range(1, 13)]
    weights = [year_weights[y - YEARS[0]] * month_weights[m - 1] for y, m in cells]
    return _Picker(cells, weights)


def _date_in_month(rng: random.Random, ym: tuple[int, int]) -> dt.date:
    y, m = ym
    first = dt.date(y, m, 1).toordinal()
    last = (dt.date(y + (m == 12), m % 12 + 1, 1)).toordinal()
    return dt.date.fromordinal(first + rng.randrange(last - first))


def _quarter(d: dt.date) -> int:
    return (d.year - 2022) * 4 + (d.month - 1) // 3


def _quarters_met(start: dt.date, end: dt.date | None) -> int:
    a = max(_quarter(start), 0)
    b = 15 if end is None else min(_quarter(end), 15)
    return max(0, b - a + 1)


def _money(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def _section_of(code: str) -> str:
    n = int(code[:2])
    for letter, (lo, hi) in N.SECTION_DIVISIONS.items():
        if lo <= n <= hi:
            return letter
    raise ValueError(code)


# --- generation --------------------------------------------------------------------------------------


class _Gen:
    def __init__(self, scale: str, seed: int, progress: Progress | None):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
        self.n = SCALES[scale]
        self.scale = scale
        self.seed = seed
        self.progress = progress
        self.data: dict[str, list[tuple]] = {}
        self.district_codes = [c for c, _ in N.DISTRICTS]
        self.district_names = dict(N.DISTRICTS)
        # Zipf-like district weights (s = 0.9)
        self.district_pick = _Picker(self.district_codes, [1 / (r + 1) ** 0.9 for r in range(len(N.DISTRICTS))])
        # seekers live a little more in the outer districts
        self.seeker_district_pick = _Picker(self.district_codes,
                                            [1 / (r + 1) ** 0.6 for r in range(len(N.DISTRICTS))])

    def rng(self, name: str) -> random.Random:
        return _rng(self.seed, name)

    def run(self) -> dict[str, list[tuple]]:
        steps = [
            ("hub.districts", self.districts), ("commerce.industries", self.industries),
            ("commerce.enterprises", self.enterprises), ("commerce.parks", self.parks),
            ("commerce.investment_projects", self.investment_projects), ("labor.occupations", self.occupations),
            ("education.schools", self.schools), ("education.majors", self.majors),
            ("labor.job_postings", self.job_postings), ("labor.job_seekers", self.job_seekers),
            ("labor.training_programs", self.training_programs), ("labor.skill_certificates", self.certificates),
            ("labor.apprenticeships", self.apprenticeships), ("science.research_projects", self.research_projects),
            ("science.tech_transfers", self.tech_transfers), ("science.innovation_platforms", self.platforms),
        ]
        for i, (name, step) in enumerate(steps):
            if self.progress:
                self.progress("generate", i, len(steps))
            step()
        seed_plan.extend(self)  # the plan's indicators' sources (issue 16)
        if self.progress:
            self.progress("generate", len(steps), len(steps))
        return {t: self.data[t] for t in COLUMNS}

    # --- hub ---
    def districts(self) -> None:
        rows = [(N.CITY[0], N.CITY[1], None)]
        rows += [(c, n, N.CITY[0]) for c, n in sorted(N.DISTRICTS)]
        self.data["hub.districts"] = rows

    # --- commerce ---
    def industries(self) -> None:
        target = self.n["commerce.industries"]
        names = {c: n for c, n, _ in _CATALOG}
        chosen: dict[str, None] = {letter: None for letter, _ in N.SECTIONS}
        classes = sorted((c for c in _CATALOG if len(c[0]) == 4), key=lambda c: (-c[2], c[0]))
        selected: list[tuple[str, float]] = []
        for code, _, weight in classes:
            need = [a for a in (code[:2], code[:3], code) if a not in chosen]
            if len(chosen) + len(need) <= target:
                for a in need:
                    chosen[a] = None
                selected.append((code, weight))
            if len(chosen) == target:
                break
        rows = []
        section_names = dict(N.SECTIONS)
        for letter, _ in N.SECTIONS:
            rows.append((letter, section_names[letter], 1, None))
        for code in sorted(c for c in chosen if len(c) > 1):
            parent = _section_of(code) if len(code) == 2 else code[:-1]
            rows.append((code, names[code], len(code), parent))
        self.data["commerce.industries"] = [(i + 1, *r) for i, r in enumerate(rows)]
        self.industry_codes = [r[0] for r in rows]
        self.classes = [c for c, _ in sorted(selected)]
        self.class_weight = dict(selected)
        self.industry_names = {r[0]: r[1] for r in rows}

    def _uscc(self, rng: random.Random, district: str, kind: str, seen: set[str]) -> str:
        letters = "ABCDEFGHJKLMNPQRTUWXY"
        while True:
            if rng.random() < 0.7:  # codes issued since 2015: MA + 6 characters
                body = "MA" + "".join(rng.choice("0123456789" + letters) for _ in range(6))
            else:
                body = "".join(rng.choice("0123456789") for _ in range(8))
            first17 = "9" + kind + district + body + _org_code_check_char(body)
            code = first17 + uscc_check_char(first17)
            if code not in seen:
                seen.add(code)
                return code

    def enterprises(self) -> None:
        rng = self.rng("enterprises")
        n = self.n["commerce.enterprises"]
        class_pick = _Picker(self.classes, [self.class_weight[c] for c in self.classes])
        size_pick = _Picker(["MICRO", "SMALL", "MEDIUM", "LARGE"], [55, 30, 11, 4])
        year_pick = _Picker(list(range(1995, 2025)), [1 + 0.15 * (y - 1995) for y in range(1995, 2025)])
        integration_p = {"MICRO": 0.04, "SMALL": 0.08, "MEDIUM": 0.18, "LARGE": 0.35}
        activity = {"MICRO": 1.0, "SMALL": 3.0, "MEDIUM": 8.0, "LARGE": 20.0}
        seen_uscc: set[str] = set()
        seen_names: set[str] = set()
        rows, self.ent_activity = [], []
        for i in range(n):
            district = self.district_pick(rng)
            industry = class_pick(rng)
            section = _section_of(industry)
            size = size_pick(rng)
            kind = "1"
            if size == "MICRO" and section in "FHO" and rng.random() < 0.12:
                kind = "2"  # individual business
            elif section == "A" and size in ("MICRO", "SMALL") and rng.random() < 0.4:
                kind = "3"  # farmers' cooperative
            uscc = self._uscc(rng, district, kind, seen_uscc)
            trades = N.DIVISION_TRADES.get(industry[:2]) or ["科技"]
            for attempt in range(50):
                trade_name = rng.choice(N.TRADE_NAME_CHARS) + rng.choice(N.TRADE_NAME_CHARS)
                if trade_name[0] == trade_name[1]:
                    continue
                trade = rng.choice(trades)
                if kind == "2":
                    name = f"广州市{self.district_names[district]}{trade_name}{trade}店"
                elif kind == "3":
                    name = f"广州市{self.district_names[district]}{trade_name}{trade}专业合作社"
                elif size == "LARGE" and rng.random() < 0.35:
                    name = f"广州市{trade_name}{trade}{rng.choice(['股份', '集团'])}有限公司"
                else:
                    name = f"广州市{trade_name}{trade}有限公司"
                if attempt > 30:
                    name = name.replace("有限公司", f"（{self.district_names[district]}）有限公司", 1)
                if name not in seen_names:
                    break
            seen_names.add(name)
            founded = _date_in_year(rng, year_pick(rng))
            integration = rng.random() < integration_p[size]
            rows.append((i + 1, uscc, name, industry, district, size, founded, integration))
            self.ent_activity.append(activity[size] * rng.lognormvariate(0, 0.6))
        self.data["commerce.enterprises"] = rows
        self.ent = rows
        self.ent_pick = _Picker(range(n), self.ent_activity)
        self.ent_by_section: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            self.ent_by_section.setdefault(_section_of(r[3]), []).append(i)

    def _ent_pick_in(self, sections: str) -> _Picker:
        idx = [i for s in sections for i in self.ent_by_section.get(s, [])]
        if not idx:
            idx = list(range(len(self.ent)))
        return _Picker(idx, [self.ent_activity[i] for i in idx])

    def parks(self) -> None:
        rng = self.rng("parks")
        n = self.n["commerce.parks"]
        rows = []
        for i in range(n):
            name, district, area = N.PARKS[i % len(N.PARKS)]
            if i >= len(N.PARKS):
                name = f"{name}{i // len(N.PARKS) + 1}期"
            rows.append((i + 1, f"P{i + 1:04d}", name, district, _money(area * rng.uniform(0.95, 1.05))))
        self.data["commerce.parks"] = rows

    def investment_projects(self) -> None:
        rng = self.rng("investment_projects")
        n = self.n["commerce.investment_projects"]
        big = [i for i, r in enumerate(self.ent) if r[5] in ("MEDIUM", "LARGE")] or list(range(len(self.ent)))
        pick = _Picker(big, [self.ent_activity[i] for i in big])
        parks = self.data["commerce.parks"]
        kinds = ["智能制造基地", "研发总部", "扩产", "数字化改造", "产业园", "物流中心", "生产线技术改造",
                 "华南总部", "创新中心"]
        rows = []
        for i in range(n):
            e = self.ent[pick(rng)]
            short = e[2].replace("广州市", "").split("有限公司")[0].replace("股份", "").replace("集团", "")
            park = None
            if parks and rng.random() < 0.7:
                same = [p for p in parks if p[3] == e[4]]
                park = rng.choice(same or parks)[1]
            amount = min(2_000_000.0, max(500.0, rng.lognormvariate(math.log(20_000), 1.0)))
            start = _date_in_year(rng, rng.randint(2019, 2025))
            rows.append((i + 1, f"IP{i + 1:06d}", f"{short}{rng.choice(kinds)}项目", e[1], park, _money(amount), start))
        self.data["commerce.investment_projects"] = rows

    # --- labor: occupations ---
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
            group_pick = _Picker([0, 1, 2], [50, 30, 20])
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
                prof = _Picker("SBX", [25, 45, 30])(rng)
                occ.append((code, name, domain, weight, prof))
                k += 1
        self.occ = occ
        self.occ_codes = [o[0] for o in occ]
        self.occ_group = {o[0]: int(o[0][0]) for o in occ}
        self.occ_name = {o[0]: o[1] for o in occ}
        self.occ_domain = {o[0]: o[2] for o in occ}
        self.occ_profile = {o[0]: o[4] for o in occ}
        self.occ_pick = _Picker(self.occ_codes, [o[3] for o in occ])
        self.occ_by_domain: dict[str, _Picker] = {}
        for dom in sorted({o[2] for o in occ}):
            members = [o for o in occ if o[2] == dom]
            self.occ_by_domain[dom] = _Picker([o[0] for o in members], [o[3] for o in members])
        # base monthly wage per occupation
        base = {2: (9_000, 16_000), 3: (5_000, 7_000), 4: (4_500, 7_500), 6: (5_500, 8_500)}
        self.occ_wage = {o[0]: rng.uniform(*base.get(int(o[0][0]), (5_000, 8_000))) for o in occ}
        self.data["labor.occupations"] = [(i + 1, o[0], o[1], int(o[0][0])) for i, o in enumerate(occ)]

    # --- education ---
    def schools(self) -> None:
        rng = self.rng("schools")
        n = self.n["education.schools"]
        first = ["SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "TECHNICIAN", "HIGHER_VOCATIONAL",
                 "SECONDARY_VOCATIONAL", "VOCATIONAL_UNDERGRADUATE"]
        kind_pick = _Picker(["SECONDARY_VOCATIONAL", "HIGHER_VOCATIONAL", "TECHNICIAN", "VOCATIONAL_UNDERGRADUATE"],
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
                m = _Picker(pool, weights)(rng)
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
            tiny_year = rng.choice(YEARS)
            for year in YEARS:
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
                for key in (lambda c: c[:2], lambda c: _section_of(c)):
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
        self.data["education.major_industries"] = ind_rows
        self.data["education.major_occupations"] = occ_rows

    # --- labor: demand and supply ---
    _EDU = ("NONE", "JUNIOR_HIGH", "HIGH_SCHOOL", "SECONDARY_VOCATIONAL", "JUNIOR_COLLEGE", "BACHELOR", "MASTER")
    _EDU_BY_GROUP = {2: (0, 0, 5, 0, 35, 50, 10), 3: (0, 0, 20, 10, 40, 30, 0), 4: (10, 25, 25, 20, 17, 3, 0),
                     6: (10, 30, 20, 30, 10, 0, 0)}
    _SKILL_BY_GROUP = {2: (10, 30, 35, 20, 5), 3: (2, 8, 30, 35, 25), 4: (2, 8, 25, 35, 30), 6: (5, 10, 30, 35, 20)}
    _SKILL_WAGE = {None: 1.0, 1: 1.6, 2: 1.35, 3: 1.15, 4: 1.0, 5: 0.9}

    def _pickers_by_group(self, table: dict[int, tuple]) -> dict[int, _Picker]:
        return {g: _Picker(range(len(w)), w) for g, w in table.items()}

    def job_postings(self) -> None:
        rng = self.rng("job_postings")
        n = self.n["labor.job_postings"]
        month_pick = _month_picker((0.7, 1.5, 1.6, 1.0, 0.9, 0.9, 1.0, 1.0, 1.4, 0.8, 0.8, 0.6), (0.85, 1.0, 1.05, 1.1))
        edu = self._pickers_by_group(self._EDU_BY_GROUP)
        skill = self._pickers_by_group(self._SKILL_BY_GROUP)
        head_pick = _Picker([1, 2, 3, 4, 5], [50, 22, 10, 5, 5])
        ent_domains = {}
        for r in self.ent:
            doms = N.DIVISION_DOMAINS.get(r[3][:2]) or N.SECTION_DOMAINS[_section_of(r[3])]
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
            posted = _date_in_month(rng, month_pick(rng))
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
            self.demand_units[occ] = self.demand_units.get(occ, 0.0) + headcount * _quarters_met(posted, closes)
        self.data["labor.job_postings"] = rows

    def job_seekers(self) -> None:
        rng = self.rng("job_seekers")
        n = self.n["labor.job_seekers"]
        month_pick = _month_picker((0.8, 1.3, 1.2, 0.9, 0.9, 1.1, 1.5, 1.2, 1.0, 0.8, 0.8, 0.7), (0.9, 1.0, 1.05, 1.1))
        # 1. when each seeker seeks
        spans = []
        units = 0
        for _ in range(n):
            reg = _date_in_month(rng, month_pick(rng))
            if rng.random() < 0.15:
                left = None
            else:
                left = dt.date.fromordinal(reg.toordinal() + int(rng.triangular(10, 300, 270)))
            spans.append((reg, left))
            units += _quarters_met(reg, left)
        # 2. which occupation: supply follows demand divided by a target job-to-applicant ratio per occupation
        target = {"S": (2.2, 4.0), "B": (0.9, 1.4), "X": (0.3, 0.75)}
        weights = []
        demand = [self.demand_units.get(o, 0.0) for o in self.occ_codes]
        floor = sorted(demand)[len(demand) // 2] * 0.1 + 1
        for o, d in zip(self.occ_codes, demand):
            r = rng.uniform(*target[self.occ_profile[o]])
            weights.append(max(d, floor) / r)
        occ_pick = _Picker(self.occ_codes, weights)
        edu = self._pickers_by_group(self._EDU_BY_GROUP)
        skill = self._pickers_by_group(self._SKILL_BY_GROUP)
        female_share = {"CARE": 0.8, "MFG": 0.35, "CONS": 0.1, "LOG": 0.2, "SVC": 0.55, "RET": 0.6, "BIZ": 0.6,
                        "ICT": 0.3, "ENG": 0.25, "AUTO": 0.08}
        surname_pick = _Picker([s for s, _ in N.SURNAMES], [w for _, w in N.SURNAMES])
        seen_ids: set[str] = set()
        seen_phones: set[str] = set()
        rows = []
        self.seeker_info = []
        for i, (reg, left) in enumerate(spans):
            occ = occ_pick(rng)
            group = self.occ_group[occ]
            gender = "F" if rng.random() < female_share.get(self.occ_domain[occ], 0.5) else "M"
            chars = (N.GIVEN_FEMALE if gender == "F" else N.GIVEN_MALE) + N.GIVEN_ANY
            given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
            name = surname_pick(rng) + given
            age = int(rng.triangular(17, 58, 26))
            birth_year = reg.year - age
            district = self.seeker_district_pick(rng)
            while True:
                birth = _date_in_year(rng, birth_year)
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
            rows.append((i + 1, name, id_number, phone, gender, birth_year, education, occ, level, district, reg, left))
            self.seeker_info.append((occ, level, reg, left))
        self.data["labor.job_seekers"] = rows

    _LEVEL_NAMES = {1: "一级/高级技师", 2: "二级/技师", 3: "三级/高级工", 4: "四级/中级工", 5: "五级/初级工"}

    def training_programs(self) -> None:
        rng = self.rng("training_programs")
        n = self.n["labor.training_programs"]
        boost = {"S": 3.0, "B": 1.0, "X": 0.4}
        occ_pick = _Picker(self.occ_codes, [o[3] * boost[o[4]] for o in self.occ])
        month_pick = _month_picker((0.5, 0.8, 1.4, 1.3, 1.2, 1.0, 1.1, 0.9, 1.4, 1.3, 1.1, 0.6), (0.9, 1.0, 1.1, 1.1))
        # enterprise providers: preferably integration enterprises of a section hiring the occupation's domain
        by_domain: dict[str, list[int]] = {}
        for i, r in enumerate(self.ent):
            for dom in set(N.DIVISION_DOMAINS.get(r[3][:2]) or N.SECTION_DOMAINS[_section_of(r[3])]):
                by_domain.setdefault(dom, []).append(i)
        ent_pickers: dict[str, _Picker] = {}
        for dom, idx in sorted(by_domain.items()):
            ent_pickers[dom] = _Picker(idx, [self.ent_activity[i] * (5.0 if self.ent[i][7] else 1.0) for i in idx])
        any_ent = _Picker(range(len(self.ent)), [a * (5.0 if r[7] else 1.0) for a, r in zip(self.ent_activity, self.ent)])
        rows = []
        for i in range(n):
            occ = occ_pick(rng)
            level = None if rng.random() < 0.15 else _Picker([1, 2, 3, 4, 5], [3, 8, 25, 37, 27])(rng)
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
            starts = _date_in_month(rng, month_pick(rng))
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
        level_pick = _Picker([1, 2, 3, 4, 5], [2, 6, 25, 37, 30])
        rows, seq = [], {}
        for i in range(n):
            sid = rng.randrange(len(self.seeker_info))
            occ, level, reg, left = self.seeker_info[sid]
            if rng.random() < 0.15:
                occ = self.occ_by_domain[self.occ_domain[occ]](rng)
            lo = reg.toordinal() - 3 * 365
            hi = min(_END, left.toordinal() if left else _END)
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
        integ_pick = _Picker(integ, [self.ent_activity[i] for i in integ]) if integ else mfg
        g46 = [o for o in self.occ if o[0][0] in "46"]
        occ_pick = _Picker([o[0] for o in g46], [o[3] for o in g46])
        schools = [s for s in self.school_rows if s[3] != "VOCATIONAL_UNDERGRADUATE"] or self.school_rows
        rows = []
        for i in range(n):
            e = self.ent[(integ_pick if rng.random() < 0.7 else mfg)(rng)]
            doms = N.DIVISION_DOMAINS.get(e[3][:2]) or N.SECTION_DOMAINS[_section_of(e[3])]
            dom = rng.choice(doms)
            occ = self.occ_by_domain[dom](rng) if dom in self.occ_by_domain and rng.random() < 0.7 else None
            if occ is None or occ[0] not in "46":
                occ = occ_pick(rng)
            school = rng.choice(schools)[1] if rng.random() < 0.7 else None
            starts = _date_in_year(rng, rng.choice(YEARS))
            ends = None if rng.random() < 0.15 else dt.date.fromordinal(starts.toordinal() + rng.choice((365, 548, 730)))
            apprentices = max(1, min(60, int(rng.lognormvariate(math.log(10), 0.6))))
            rows.append((i + 1, f"AP{i + 1:06d}", e[1], occ, school, apprentices, starts, ends))
        self.data["labor.apprenticeships"] = rows

    # --- science ---
    def research_projects(self) -> None:
        rng = self.rng("research_projects")
        n = self.n["science.research_projects"]
        field_pick = _Picker(N.RESEARCH_FIELDS, [30, 30, 15, 12, 13])
        field_ents = {}
        for f in N.RESEARCH_FIELDS:
            wanted = set(N.FIELD_INDUSTRIES[f])
            idx = [i for i, r in enumerate(self.ent) if r[3] in wanted and r[5] != "MICRO"]
            field_ents[f] = _Picker(idx, [self.ent_activity[i] for i in idx]) if idx else None
        tech = self._ent_pick_in("CIM")
        schools = self.school_rows
        school_w = {"VOCATIONAL_UNDERGRADUATE": 4, "HIGHER_VOCATIONAL": 3, "TECHNICIAN": 1, "SECONDARY_VOCATIONAL": 1}
        school_pick = _Picker([s[1] for s in schools], [school_w[s[3]] for s in schools])
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
            starts = _date_in_year(rng, _Picker(list(range(2019, 2026)), [6, 7, 8, 9, 10, 11, 10])(rng))
            ends = dt.date.fromordinal(starts.toordinal() + rng.choice((365, 540, 730, 1095)))
            if starts.year >= 2024 and rng.random() < 0.5:
                ends = None
            rows.append((i + 1, f"RP{i + 1:06d}", title, lead[1] if lead else None, school, industry, field,
                         _money(budget), starts, ends))
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
            lo = min(_END, p[8].toordinal() + 180)
            transferred = dt.date.fromordinal(rng.randint(lo, _END))
            amount = min(3_000.0, max(1.0, rng.lognormvariate(math.log(60), 1.0)))
            rows.append((i + 1, f"TT{i + 1:06d}", p[1], f"{p[2].split('关键')[0]}{rng.choice(kinds)}", buyer,
                         _money(amount), transferred))
        self.data["science.tech_transfers"] = rows

    def platforms(self) -> None:
        rng = self.rng("innovation_platforms")
        n = self.n["science.innovation_platforms"]
        kind_pick = _Picker(list(N.PLATFORM_KINDS), [15, 30, 15, 25, 15])
        level_pick = _Picker(["NATIONAL", "PROVINCIAL", "MUNICIPAL", "DISTRICT"], [5, 25, 40, 30])
        big = self._ent_pick_in("CIM")
        surname_pick = _Picker([s for s, _ in N.SURNAMES], [w for _, w in N.SURNAMES])
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
            established = _date_in_year(rng, rng.randint(2005, 2025))
            rows.append((i + 1, f"IPF{i + 1:05d}", name, kind, level, host_uscc, host_school, district, established))
        self.data["science.innovation_platforms"] = rows


def generate(scale: str = "small", seed: int = 42, progress: Progress | None = None) -> dict[str, list[tuple]]:
    """Every table's rows (tuples in the order of ``COLUMNS[table]``); a pure function of scale and seed."""
    return _Gen(scale, seed, progress).run()


# --- loading -------------------------------------------------------------------------------------------

_CHUNK = 50_000


def _qualified(schema: str, table: str) -> str:
    return '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'


async def _copy(conn, table: str, rows: list[tuple], progress: Progress | None) -> None:
    schema, name = table.split(".")
    total = len(rows)
    if progress:
        progress(table, 0, total)
    for start in range(0, total, _CHUNK):
        await conn.copy_records_to_table(name, schema_name=schema, columns=list(COLUMNS[table]),
                                         records=rows[start:start + _CHUNK])
        if progress:
            progress(table, min(total, start + _CHUNK), total)


async def _load_department(pool, schema: str, data: dict[str, list[tuple]], progress: Progress | None) -> None:
    tables = [t for t in COLUMNS if t.startswith(schema + ".")]
    async with pool.acquire() as conn:
        async with conn.transaction():
            existing = await conn.fetch("select tablename from pg_tables where schemaname = $1 order by tablename",
                                        schema)
            names = [_qualified(schema, r["tablename"]) for r in existing]
            if names:
                await conn.execute(f"truncate {', '.join(names)} restart identity cascade")
            for table in tables:
                await _copy(conn, table, data[table], progress)
            for table in tables:
                if COLUMNS[table][0] == "id":
                    await conn.execute(f"select setval(pg_get_serial_sequence('{table}', 'id'), max(id)) from {table}")
        # VACUUM sets the visibility map, so counts and "first N per parent" can be index-only scans.
        await conn.execute(f"vacuum (analyze) {', '.join(tables)}")


async def _load_districts(pool, rows: list[tuple], progress: Progress | None) -> None:
    # Upsert through a temporary table (COPY), so that no other hub table is touched even if it refers
    # to hub.districts; the result is the same as truncate + load.
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("create temporary table _seed_districts (code text, name text, parent_code text) "
                               "on commit drop")
            await conn.copy_records_to_table("_seed_districts", columns=list(COLUMNS["hub.districts"]), records=rows)
            await conn.execute("""
                insert into hub.districts (code, name, parent_code)
                select code, name, parent_code from _seed_districts order by parent_code nulls first, code
                on conflict (code) do update set name = excluded.name, parent_code = excluded.parent_code""")
            await conn.execute("delete from hub.districts d where not exists "
                               "(select from _seed_districts s where s.code = d.code)")
        await conn.execute("analyze hub.districts")
    if progress:
        progress("hub.districts", len(rows), len(rows))


async def load_demo(pools: Mapping[str, object], scale: str = "small", seed: int = 42,
                    progress: Progress | None = None) -> dict[str, int]:
    """Replace every department's data with the demo data of ``scale`` and ``seed``; returns row counts."""
    import asyncio

    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    missing = [k for k in ("hub", *DEPARTMENTS) if k not in pools]
    if missing:
        raise ValueError(f"pools missing for {', '.join(missing)}")
    await pools["hub"].execute("delete from hub.meta where key = 'demo_data'")
    data = generate(scale, seed, progress)
    await _load_districts(pools["hub"], data["hub.districts"], progress)
    await asyncio.gather(*(_load_department(pools[d], d, data, progress) for d in DEPARTMENTS))
    counts = {t: len(rows) for t, rows in data.items()}
    await pools["hub"].execute(
        """insert into hub.meta (key, value) values ('demo_data', $1::jsonb)
           on conflict (key) do update set value = excluded.value, updated_at = now()""",
        json.dumps({"scale": scale, "seed": seed, "counts": counts}, sort_keys=True))
    return counts

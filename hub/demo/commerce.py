"""Demo data, commerce's tables: industries, enterprises, parks and investment projects.

A mixin of ``hub.demo.seed.Generator`` (what a mixin reads and writes is said there).
"""

from __future__ import annotations

import math
import random

from hub.demo import names as N
from hub.demo import random_data as R
from hub.demo import scales as S
from hub.sync.check_chars import uscc_check_char


class CommerceTables:
    def industries(self) -> None:
        target = self.n["commerce.industries"]
        names = {c: n for c, n, _ in S.CATALOG}
        chosen: dict[str, None] = {letter: None for letter, _ in N.SECTIONS}
        classes = sorted((c for c in S.CATALOG if len(c[0]) == 4), key=lambda c: (-c[2], c[0]))
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
            parent = R.section_of(code) if len(code) == 2 else code[:-1]
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
            first17 = "9" + kind + district + body + R.org_code_check_char(body)
            code = first17 + uscc_check_char(first17)
            if code not in seen:
                seen.add(code)
                return code

    def enterprises(self) -> None:
        rng = self.rng("enterprises")
        n = self.n["commerce.enterprises"]
        class_pick = R.Picker(self.classes, [self.class_weight[c] for c in self.classes])
        size_pick = R.Picker(["MICRO", "SMALL", "MEDIUM", "LARGE"], [55, 30, 11, 4])
        year_pick = R.Picker(list(range(1995, 2025)), [1 + 0.15 * (y - 1995) for y in range(1995, 2025)])
        integration_p = {"MICRO": 0.04, "SMALL": 0.08, "MEDIUM": 0.18, "LARGE": 0.35}
        activity = {"MICRO": 1.0, "SMALL": 3.0, "MEDIUM": 8.0, "LARGE": 20.0}
        seen_uscc: set[str] = set()
        seen_names: set[str] = set()
        rows, self.ent_activity = [], []
        for i in range(n):
            district = self.district_pick(rng)
            industry = class_pick(rng)
            section = R.section_of(industry)
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
            founded = R.date_in_year(rng, year_pick(rng))
            integration = rng.random() < integration_p[size]
            rows.append((i + 1, uscc, name, industry, district, size, founded, integration))
            self.ent_activity.append(activity[size] * rng.lognormvariate(0, 0.6))
        self.data["commerce.enterprises"] = rows
        self.ent = rows
        self.ent_pick = R.Picker(range(n), self.ent_activity)
        self.ent_by_section: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            self.ent_by_section.setdefault(R.section_of(r[3]), []).append(i)

    def _ent_pick_in(self, sections: str) -> R.Picker:
        idx = [i for s in sections for i in self.ent_by_section.get(s, [])]
        if not idx:
            idx = list(range(len(self.ent)))
        return R.Picker(idx, [self.ent_activity[i] for i in idx])

    def parks(self) -> None:
        rng = self.rng("parks")
        n = self.n["commerce.parks"]
        rows = []
        for i in range(n):
            name, district, area = N.PARKS[i % len(N.PARKS)]
            if i >= len(N.PARKS):
                name = f"{name}{i // len(N.PARKS) + 1}期"
            rows.append((i + 1, f"P{i + 1:04d}", name, district, R.money(area * rng.uniform(0.95, 1.05))))
        self.data["commerce.parks"] = rows

    def investment_projects(self) -> None:
        rng = self.rng("investment_projects")
        n = self.n["commerce.investment_projects"]
        big = [i for i, r in enumerate(self.ent) if r[5] in ("MEDIUM", "LARGE")] or list(range(len(self.ent)))
        pick = R.Picker(big, [self.ent_activity[i] for i in big])
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
            start = R.date_in_year(rng, rng.randint(2019, 2025))
            rows.append((i + 1, f"IP{i + 1:06d}", f"{short}{rng.choice(kinds)}项目", e[1], park, R.money(amount), start))
        self.data["commerce.investment_projects"] = rows

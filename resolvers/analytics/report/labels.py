"""Labels of the annual report page: Chinese (the language the report is published in) and English."""

from __future__ import annotations

QUARTERS = {"zh": ["第一季度", "第二季度", "第三季度", "第四季度"], "en": ["Q1", "Q2", "Q3", "Q4"]}

LEVELS = {
    "zh": {1: "一级/高级技师", 2: "二级/技师", 3: "三级/高级工", 4: "四级/中级工", 5: "五级/初级工", None: "未注明"},
    "en": {1: "Level 1 (senior technician)", 2: "Level 2 (technician)", 3: "Level 3 (senior worker)",
           4: "Level 4 (intermediate worker)", 5: "Level 5 (junior worker)", None: "Not stated"},
}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{year}年度技能人才供求信息报告",
        "subtitle": "职业技能人才需求信息服务平台 · 人力资源社会保障、商务、教育部门数据共享",
        "other_language": "English",
        "draft_banner": "草稿：本年度报告尚未发布，数字仍可能变化。",
        "published_banner": "第{version}版，发布于 {at}。",
        "watermark": "数据截至：第{refresh}次统计刷新（{at}）。",
        "no_refresh": "统计尚未刷新。",
        "partial_year": "非完整年度：数据截至{year}年第{quarter}季度。",
        "no_data_year": "本年度尚无数据。",
        "list_sep": "、",
        "axis_ratio": "求人倍率（需求人数 ÷ 求职人数）", "axis_gap": "缺口（人）", "axis_quarter": "季度",
        "versions": "已发布版本",
        "no_versions": "尚无已发布版本。",
        "version": "第{version}版",
        "h_totals": "一、总体供求与求人倍率",
        "period": "期间", "year_total": "全年",
        "demand": "需求人数", "supply": "求职人数", "ratio": "求人倍率", "gap": "缺口",
        "chart_quarterly": "{year}年各季度求人倍率", "shortage_line": "紧缺线 {ratio}",
        "h_shortage": "二、紧缺职业（工种）目录",
        "chart_shortage": "紧缺职业前20名：全年缺口（需求−求职）",
        "shortage_count": "本年度紧缺职业共{n}个，下表列出前{shown}个。",
        "rank": "排名", "previous_rank": "上年排名", "code": "代码", "occupation": "职业（工种）",
        "top_districts": "缺口最大的区",
        "h_skill": "三、按技能等级的求人倍率", "skill_level": "技能等级", "chart_skill": "各技能等级求人倍率",
        "h_district": "四、按区的求人倍率", "district": "区", "chart_district": "各区求人倍率",
        "h_training": "五、职业技能培训目录",
        "programs": "培训项目", "seats": "培训名额", "providers": "培训机构", "shortage_col": "紧缺",
        "shortage_tag": "紧缺",
        "h_match": "六、专业与产业匹配度",
        "match_note": "匹配指数 = 该专业毕业生占本区毕业生的比例 ÷ 其对应行业需求占本区全年需求的比例。",
        "city": "全市", "match_city": "全市汇总（全市毕业生与全市需求）",
        "major": "专业", "industries": "对应行业", "graduates": "毕业生", "graduates_share": "毕业生占比",
        "demand_share": "需求占比", "index": "匹配指数", "status": "判断",
        "status_OVERSUPPLIED": "供过于求", "status_BALANCED": "基本匹配", "status_UNDERSUPPLIED": "供不应求",
        "h_warnings": "七、专业预警与退出",
        "school": "学校", "employment_rates": "各年就业率", "years_below": "连续低于标准年数",
        "level": "预警等级", "action": "处理",
        "level_YELLOW": "黄色预警", "level_RED": "红色预警",
        "action_REDUCE_ENROLLMENT": "减少招生", "action_STOP_ENROLLMENT": "停止招生",
        "no_warnings": "本年度无预警专业。",
        "h_definitions": "指标口径",
        "def_ratio": "求人倍率 = 需求人数 ÷ 求职人数（按职业、区、技能等级和季度）；求职人数为0时不计算。岗位在"
                     "[发布日期, 截止日期]与季度有交集时计入该季度，求职者在[登记日期, 离开日期]与季度有交集时计入；"
                     "全年数字为四个季度之和。缺口 = 需求人数 − 求职人数。",
        "def_shortage": "紧缺职业：全年至少{shortageQuarters}个季度求人倍率 ≥ {shortageRatio}，且全年需求人数 ≥ "
                        "{shortageMinDemand}；按全年缺口排序（相同时按职业代码）。",
        "def_training": "职业技能培训目录：本年度至少有一个培训项目在实施的职业；列入紧缺目录的标注“紧缺”。",
        "def_match": "专业与产业匹配：匹配指数 > {matchOversupplied} 为供过于求，< {matchUndersupplied} 为供不应求，"
                     "其余为基本匹配；对应行业无需求时不计算。",
        "def_warning": "专业预警：就业率 = 就业人数 ÷ 毕业生人数；截至本年度连续两年低于{employmentThreshold}为黄色预警"
                       "（减少招生），连续三年及以上为红色预警（停止招生）。",
        "def_small": "小样本保护：由少于{smallCellMin}人（求职者或毕业生）得出的数字不予公布，以“*”表示；“—”表示无法计算。",
        "def_cell_key": "隐私保护（单元键扰动法）：求职者、毕业生和就业人数均加入确定性随机扰动（最多±2，不会显示为1或2，"
                        "0仍为0；同一组人在任何查询中得到同一数值），求人倍率、缺口、占比、指数、状态和预警均由扰动后的"
                        "人数计算；需求人数（岗位数）为准确值。“—”表示无法计算。",
        "def_cell_key_releases": "隐私保护（单元键扰动法）：求职者、毕业生和就业人数均加入确定性随机扰动（最多±2，不会显示为1或2，"
                                 "0仍为0；同一组人在任何查询中得到同一数值，人员加入或离开已有人员的最细单元时各单元的扰动"
                                 "不变），每次统计刷新均与上一次一并核查，差分两次发布亦无法确定1至2人的数字；求人倍率、缺口、"
                                 "占比、指数、状态和预警均由扰动后的人数计算；需求人数（岗位数）为准确值。“—”表示无法计算。",
        "withdrawn_banner": "本版已于 {at} 撤回：{reason}",
        "withdrawn_replacement": "请以第{version}版为准",
        "withdrawn_to_draft": "请以本年度报告为准",
        "withdrawn_title": "{title}·第{version}版（已撤回）",
        "withdrawn_notice": "第{version}版（发布于 {published}）已于 {at} 撤回：{reason}。",
        "withdrawn_figures": "已撤回版本的数字不再公布。",
        "withdrawn_mark": "已撤回",
    },
    "en": {
        "title": "Skilled-talent supply and demand report {year}",
        "subtitle": "Talent demand information service platform · shared data of the labor, commerce and "
                    "education departments",
        "other_language": "中文",
        "draft_banner": "DRAFT: this year's report is not published yet; figures may still change.",
        "published_banner": "Version {version}, published {at}.",
        "withdrawn_banner": "This version was withdrawn on {at}: {reason}",
        "withdrawn_replacement": "See version {version}",
        "withdrawn_to_draft": "See this year's report",
        "withdrawn_title": "{title}, version {version} (withdrawn)",
        "withdrawn_notice": "Version {version} (published {published}) was withdrawn on {at}: {reason}.",
        "withdrawn_figures": "The figures of a withdrawn version are no longer published.",
        "withdrawn_mark": "withdrawn",
        "watermark": "Data as of statistics refresh #{refresh} ({at}).",
        "no_refresh": "The statistics were never refreshed.",
        "partial_year": "Partial year: data up to Q{quarter} {year}.",
        "no_data_year": "No data for this year yet.",
        "list_sep": ", ",
        "axis_ratio": "Job-to-applicant ratio (demand ÷ supply)", "axis_gap": "Gap (persons)", "axis_quarter": "Quarter",
        "versions": "Published versions",
        "no_versions": "No published version yet.",
        "version": "Version {version}",
        "h_totals": "1. Supply, demand and job-to-applicant ratio",
        "period": "Period", "year_total": "Year",
        "demand": "Demand", "supply": "Supply (seekers)", "ratio": "Ratio", "gap": "Gap",
        "chart_quarterly": "Job-to-applicant ratio per quarter, {year}", "shortage_line": "shortage {ratio}",
        "h_shortage": "2. Shortage occupations",
        "chart_shortage": "Top 20 shortage occupations: annual gap (demand − supply)",
        "shortage_count": "{n} shortage occupations this year; the first {shown} are listed.",
        "rank": "Rank", "previous_rank": "Last year", "code": "Code", "occupation": "Occupation",
        "top_districts": "Districts with the largest gaps",
        "h_skill": "3. Ratio by skill level", "skill_level": "Skill level",
        "chart_skill": "Job-to-applicant ratio by skill level",
        "h_district": "4. Ratio by district", "district": "District",
        "chart_district": "Job-to-applicant ratio by district",
        "h_training": "5. Skills-training catalog",
        "programs": "Programs", "seats": "Seats", "providers": "Providers", "shortage_col": "Shortage",
        "shortage_tag": "shortage",
        "h_match": "6. Major–industry match",
        "match_note": "Index = the major's share of the district's graduates ÷ the share of the district's annual "
                      "demand in the industries mapped to the major.",
        "city": "City", "match_city": "Whole city (the city's graduates and demand)",
        "major": "Major", "industries": "Industries", "graduates": "Graduates", "graduates_share": "Graduates share",
        "demand_share": "Demand share", "index": "Index", "status": "Status",
        "status_OVERSUPPLIED": "Oversupplied", "status_BALANCED": "Balanced", "status_UNDERSUPPLIED": "Undersupplied",
        "h_warnings": "7. Major warnings",
        "school": "School", "employment_rates": "Employment rate per year", "years_below": "Years below",
        "level": "Level", "action": "Action",
        "level_YELLOW": "Yellow", "level_RED": "Red",
        "action_REDUCE_ENROLLMENT": "Reduce enrollment", "action_STOP_ENROLLMENT": "Stop enrollment",
        "no_warnings": "No major is warned this year.",
        "h_definitions": "Definitions",
        "def_ratio": "Job-to-applicant ratio = demand ÷ supply per occupation, district, skill level and quarter; none "
                     "when supply is 0. A posting counts in a quarter its [posted, closes] meets, a seeker in a "
                     "quarter "
                     "its [registered, left] meets; annual figures are the sums of the four quarters. Gap = demand − "
                     "supply.",
        "def_shortage": "Shortage occupations: ratio ≥ {shortageRatio} in at least {shortageQuarters} quarters and "
                        "annual demand ≥ {shortageMinDemand}, ranked by annual gap (ties by occupation code).",
        "def_training": "Training catalog: occupations with at least one training program running in the year, marked "
                        "when on the shortage list.",
        "def_match": "Major–industry match: index > {matchOversupplied} oversupplied, < {matchUndersupplied} "
                     "undersupplied, else balanced; none without demand in the major's industries.",
        "def_warning": "Major warnings: employment rate = employed ÷ graduates; below {employmentThreshold} two years "
                       "running up to the year: yellow (reduce enrollment), three or more: red (stop enrollment).",
        "def_small": "Small cells: figures built from fewer than {smallCellMin} persons (seekers or graduates) are "
                     "withheld (*); — means the figure does not exist.",
        "def_cell_key": "Privacy (cell-key perturbation): counts of seekers, graduates and the employed carry a "
                        "deterministic noise (at most ±2, never shown as 1 or 2, 0 stays 0; the same persons give the "
                        "same value in every query); ratios, gaps, shares, indexes, statuses and warnings are computed "
                        "from the perturbed counts; demand (postings' headcount) is exact. — means the figure does "
                        "not exist.",
        "def_cell_key_releases": "Privacy (cell-key perturbation): counts of seekers, graduates and the employed carry "
                                 "a deterministic noise (at most ±2, never shown as 1 or 2, 0 stays 0; the same "
                                 "persons give the same value in every query, and a cell keeps its noise while "
                                 "persons join or leave its finest cells that already hold someone); every refresh "
                                 "is checked together with the previous one, so that differencing two releases "
                                 "determines no count of 1 or 2 persons; ratios, gaps, shares, indexes, statuses and "
                                 "warnings are computed from the perturbed counts; demand (postings' headcount) is "
                                 "exact. — means the figure does not exist.",
    },
}


# Forecasts and enrollment guidance (issue 16): sections 8 and 9 of the page (resolvers/analytics/templates/report/forecast.html.j2).
LABELS["zh"].update({
    "h_forecast": "八、需求预测", "fc_measure": "指标", "fc_mase": "MASE（模型）", "fc_mase_naive": "MASE（同季朴素预测）",
    "fc_points": "检验季度数", "fc_verdict": "结论", "fc_better": "优于同季朴素预测", "fc_not_better": "未优于同季朴素预测",
    "fc_no_backtest": "历史不足，未检验",
    "h_likely": "可能紧缺职业（预测，非正式紧缺目录）",
    "likely_note": "按预测的未来四个季度需求与求职人数，套用紧缺职业规则得出的候选名单；与上文正式紧缺目录分开列出。",
    "no_likely": "预测中没有符合紧缺规则的职业。", "fc_quarters_met": "达标季度", "fc_official": "已在正式目录",
    "h_guidance": "九、专业设置与招生指导（全市）", "h_expand": "建议扩大招生的专业", "h_open": "建议新设的专业",
    "h_duplicated": "设置雷同的专业", "none_listed": "无。", "category": "专业大类",
    "fc_last_year": "近四季度需求", "fc_next_year": "预测未来四季度需求", "fc_growth": "增长",
    "fc_shortage_occupations": "对应紧缺职业", "fc_schools": "开设学校数",
    "def_forecast": "需求预测：每个职业（全市，以及有至少8个季度需求的区）的季度需求和求职人数用指数平滑模型"
                    "ETS(A,N,A)（季节周期4）在统计刷新时拟合，给出80%和95%预测区间；求职人数的预测对非人社部门"
                    "及本报告按扰动后的季度数字拟合。准确度为滚动起点回测的MASE，与同季朴素预测比较。",
    "def_guidance": "招生指导：扩大招生 = 匹配为供不应求且其对应行业预测需求比近四季度增长至少{growth}%；新设 = "
                    "本区无学校开设，且对应紧缺职业或对应行业需求增长；设置雷同 = 本区至少{n}所学校开设同一专业且匹配为"
                    "供过于求。",
})
LABELS["en"].update({
    "h_forecast": "8. Demand forecast", "fc_measure": "Measure", "fc_mase": "MASE (model)",
    "fc_mase_naive": "MASE (seasonal naive)", "fc_points": "Quarters tested", "fc_verdict": "Verdict",
    "fc_better": "better than seasonal naive", "fc_not_better": "not better than seasonal naive",
    "fc_no_backtest": "history too short: not tested",
    "h_likely": "Likely shortage next year (forecast, not the official list)",
    "likely_note": "The shortage rule applied to the forecast demand and supply of the next four quarters: "
                   "candidates, listed apart from the official shortage list above.",
    "no_likely": "No occupation meets the shortage rule in the forecast.", "fc_quarters_met": "Quarters met",
    "fc_official": "On the official list",
    "h_guidance": "9. Enrollment guidance (whole city)", "h_expand": "Majors to expand", "h_open": "Majors to open",
    "h_duplicated": "Duplicated majors", "none_listed": "None.", "category": "Category",
    "fc_last_year": "Demand, latest 4 quarters", "fc_next_year": "Forecast, next 4 quarters", "fc_growth": "Growth",
    "fc_shortage_occupations": "Shortage occupations", "fc_schools": "Schools",
    "def_forecast": "Demand forecast: each occupation's quarterly demand and supply (city-wide, and per district with "
                    "at least 8 quarters with demand) is fitted with exponential smoothing ETS(A,N,A) (season 4) at "
                    "each statistics refresh, with 80 % and 95 % prediction intervals; supply forecasts for other "
                    "departments and this report are fitted on the perturbed quarterly figures. Accuracy: MASE of a "
                    "rolling-origin backtest, against the seasonal-naive forecast.",
    "def_guidance": "Enrollment guidance: expand = undersupplied in the match and the forecast demand of its "
                    "industries at least {growth} % above the latest 4 quarters'; open = taught by no school there "
                    "and mapped to a shortage occupation or to growing industries; duplicated = taught by at least "
                    "{n} schools there while oversupplied.",
})

-- Statistics refresh: the teacher counts as non-owners see them (cell-key method); the dual-qualified are shown at
-- most the teachers shown.
update hub.stat_plan_teachers
set public_teachers = hub.stat_perturbed(teachers, teachers_key),
    public_dual = least(hub.stat_perturbed(dual, dual_key), hub.stat_perturbed(teachers, teachers_key))

"""GraphQL resolvers, one package per department (types, loaders, queries, mutations).

``DATASET_TYPES`` links each GraphQL type to the catalog dataset it exposes: every field returning
one of these types (directly, as a list or as a connection) is guarded by the sharing rules
(``hub.access.install_guards``), and a test checks each has a catalog entry.
"""

DATASET_TYPES: dict[str, str] = {
    "Industry": "commerce.industries",
    "Enterprise": "commerce.enterprises",
    "Park": "commerce.parks",
    "InvestmentProject": "commerce.investment_projects",
    "Occupation": "labor.occupations",
    "JobPosting": "labor.job_postings",
    "JobSeeker": "labor.job_seekers",
    "TrainingProgram": "labor.training_programs",
    "SkillCertificate": "labor.skill_certificates",
    "Apprenticeship": "labor.apprenticeships",
    "ResearchProject": "science.research_projects",
    "TechTransfer": "science.tech_transfers",
    "InnovationPlatform": "science.innovation_platforms",
    "School": "education.schools",
    "Major": "education.majors",
    "MajorOutcome": "education.major_outcomes",
    "SpecialtyTeacher": "education.specialty_teachers",
    "SchoolEnterpriseBase": "education.school_enterprise_bases",
    "MajorDesignation": "education.major_designations",
    "SchoolDesignation": "education.school_designations",
}

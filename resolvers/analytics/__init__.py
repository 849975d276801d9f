"""analytics: the published statistics (job-to-applicant ratios, shortage and training catalogs, major-industry
match, major warnings) computed from the hub's summary tables, and report publishing."""

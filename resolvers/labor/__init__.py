"""labor (human resources & social security): occupations, postings, seekers, training, certificates, apprenticeships."""

"""education: vocational schools, majors (a school's offering of a catalog major), yearly outcomes,
major -> industry and major -> occupation mappings."""

"""The demo-data generator (`hub seed`): word lists in names.json, shipped as package data."""

"""Sync for the big-data bureau (DESIGN.md, "Sync contract"): snapshot, change feed, bulk ingest.

Modules: ``cursor`` (opaque feed cursors), ``feed`` (reading changes and snapshots, retention),
``notify`` (one LISTEN connection per database, fanned out to subscribers), ``specs`` and ``validate``
(what each dataset accepts), ``parse`` (streaming NDJSON/CSV), ``ingest`` (staging + upsert + reports),
``http`` (the ``/sync`` and ``/ingest`` endpoints), ``client`` and ``cli`` (``hub sync pull``,
``hub ingest``).
"""

"""Sync for the big-data bureau (docs/design.md, "Sync contract"): snapshot, change feed, bulk ingest.

Capture is in the database (``sql/migrations/0009_sync.sql``: statement-level triggers writing
``hub_sync.change_log`` in each department's own database). Modules: ``cursor`` (opaque feed cursors),
``feed`` (reading changes and snapshots, retention), ``notify`` (one LISTEN connection per database, fanned
out to subscribers), ``runtime`` (what the app's lifespan starts and stops), ``specs`` and ``validate`` (what
each dataset accepts), ``parse`` (streaming NDJSON/CSV), ``ingest`` (staging + upsert + reports),
``report_view`` (a report's rejected input, masked for its reader), ``guard`` (sharing rules, masking and
audit for the endpoints), ``http`` (``/sync`` and ``/ingest``), ``client`` and ``cli`` (``hub sync pull``,
``hub sync materialize``, ``hub ingest``). GraphQL: ``resolvers/bigdata/sync.py``.
"""

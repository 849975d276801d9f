"""Telemetry: traces (OTLP), metrics, JSON logs and the access-log middleware."""

"""ASGI middleware and plain HTTP pages: authentication, body size and rate limits, overload, errors."""

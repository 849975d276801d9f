"""Consumers (department systems) and their bearer tokens. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hub.departments import DATA, HUB, NAMES
from hub.errors import BadUserInput

TOKEN_PREFIX = "tdh_"


@dataclass(frozen=True, slots=True)
class Consumer:
    id: int
    department: str  # commerce | labor | science | education | bigdata
    name: str
    role: str  # consumer | admin

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


ROLES = ("consumer", "admin")


async def create_consumer(hub_db, department: str, name: str, role: str = "consumer") -> tuple[Consumer, str]:
    """Register a consumer; returns it with its token (shown once: only the hash is stored)."""
    if department not in NAMES:
        raise BadUserInput(f"department must be one of {', '.join(NAMES)}")
    if role not in ROLES:
        raise BadUserInput(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise BadUserInput("name must not be empty")
    token = new_token()
    row = await hub_db.fetchrow("hub/consumer_insert", department, name.strip(), role, hash_token(token))
    return Consumer(row["id"], row["department"], row["name"], row["role"]), token


async def create_demo_consumers(hub_db) -> dict[str, str]:
    """One consumer per department plus an admin for the big-data bureau; returns name -> token."""
    tokens = {}
    for dept in DATA:
        _, tokens[dept] = await create_consumer(hub_db, dept, f"{dept} demo system")
    _, tokens["admin"] = await create_consumer(hub_db, HUB, "big-data bureau (admin)", role="admin")
    return tokens

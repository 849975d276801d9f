"""The Ed25519 key that signs audit checkpoints (``hub.governance.checkpoints``): files only, never the database.

The private key lives in the file ``HUB_AUDIT_SIGNING_KEY`` names: PEM (PKCS#8, as ``hub audit keygen`` and
``openssl genpkey -algorithm ed25519`` write it) or the raw 32-byte seed. ``hub audit keygen`` also writes
the public key beside it (``<key file>.pub``, PEM SubjectPublicKeyInfo) for the bureau, which verifies the
exported checkpoints with it alone (``hub audit verify --checkpoints FILE --public-key FILE.pub``).

A key's id is the SHA-256 (hex) of its public key's DER SubjectPublicKeyInfo, as RFC 6962 names a log.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import SetupError

RAW_KEY_BYTES = 32


def key_id(public_key: Ed25519PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_path(private_path: Path) -> Path:
    """Where ``hub audit keygen`` writes the public key of ``private_path``."""
    return private_path.with_name(private_path.name + ".pub")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SetupError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in ``path``; SetupError naming the file when it is missing or not an Ed25519 key."""
    data = _read(path, "audit signing key")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        elif len(data) == RAW_KEY_BYTES:
            key = Ed25519PrivateKey.from_private_bytes(data)
        else:
            raise ValueError("neither PEM nor a raw 32-byte Ed25519 key")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SetupError(f"the audit signing key {path} cannot be used: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SetupError(f"the audit signing key {path} is a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key file (PEM or raw 32 bytes); a private key file also gives its public key."""
    data = _read(path, "public key")
    try:
        if data.lstrip().startswith(b"-----BEGIN PUBLIC KEY"):
            key = serialization.load_pem_public_key(data)
        elif data.lstrip().startswith(b"-----BEGIN"):
            return load_private_key(path).public_key()
        elif len(data) == RAW_KEY_BYTES:
            key = Ed25519PublicKey.from_public_bytes(data)
        else:
            raise ValueError("neither PEM nor a raw 32-byte Ed25519 public key")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SetupError(f"the public key {path} cannot be used: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SetupError(f"the public key {path} is a {type(key).__name__}, not an Ed25519 key")
    return key


def generate(path: Path) -> Ed25519PrivateKey:
    """Write a new key to ``path`` (mode 0600, never over an existing file) and its public key to
    ``public_path(path)``; returns the key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # FileExistsError: keep the old key
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    public_path(path).write_bytes(public_pem(key.public_key()))
    return key

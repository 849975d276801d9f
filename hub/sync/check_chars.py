"""Check characters of national codes: the unified social credit code (GB 32100-2015) and the citizen identity
number (GB 11643-1999). Ingest validation (``hub.sync.validate``) checks them; the demo generator
(``hub.demo.seed``) computes them for the codes it makes up. The database checks the USCC's too
(``hub.uscc_valid``, sql/migrations/0001_hub.sql), and ``hub.api.codes`` checks filter arguments with
python-stdnum.
"""

from __future__ import annotations

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a unified social credit code."""
    if len(first17) != 17:
        raise ValueError("a unified social credit code has 17 characters before its check character")
    total = 0
    for ch, w in zip(first17, _USCC_WEIGHTS):
        value = USCC_CHARSET.find(ch)
        if value < 0:
            raise ValueError(f"{ch!r} is not in the GB 32100 character set")
        total += value * w
    c = 31 - total % 31
    return USCC_CHARSET[0 if c == 31 else c]


def id_number_check_char(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a citizen identity number."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("an identity number has 17 digits before its check character")
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]

"""RFC 3161 time-stamping: the interface the rest of consentkit uses.

Implementations: the embedded TSA (in-process, the default), an HTTP client for external TSAs with failover, and
``consentkit tsa serve``. A :class:`Timestamper` never falls back to the local clock: when no TSA answers it raises
:class:`consentkit.errors.TimestampError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TimestampToken:
    """A verified RFC 3161 TimeStampToken (DER ContentInfo/SignedData) and what it asserts."""

    der: bytes
    time: dt.datetime  # genTime, aware UTC
    tsa_name: str  # subject of the TSA certificate, RFC 4514
    serial: int
    digest_algorithm: str  # "sha256"
    message_imprint: bytes


class Timestamper(Protocol):
    def timestamp(self, digest: bytes, *, algorithm: str = "sha256") -> TimestampToken:
        """Get a token over ``digest`` (the hash of the data, not the data)."""
        ...

"""Signed manifests: a replaced pair of weights and manifest is refused, not just a corrupt one.

A manifest records the sha256 of every file of a version, so it catches corruption; but it
sits beside the files it covers, so whoever can write the registry (a bucket) can replace
both. With a signing key (``$SMARTMARKET_REGISTRY_KEY``, held by the training jobs that
publish and the service that loads, never stored in the registry) each version also gets
``manifest.sig``, an HMAC-SHA256 of the manifest's bytes, written when it is published and
checked whenever it is loaded: without the key nobody can make a version that loads.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from models.errors import CorruptModelError

SIGNING_KEY_ENV = "SMARTMARKET_REGISTRY_KEY"
SIGNATURE = "manifest.sig"


def signing_key_from_env() -> bytes | None:
    """The registry signing key in ``$SMARTMARKET_REGISTRY_KEY`` (None when unset)."""
    key = os.environ.get(SIGNING_KEY_ENV, "")
    return key.encode() if key else None


def sign(key: bytes, manifest: bytes) -> bytes:
    """The signature of a manifest (hex HMAC-SHA256 of its bytes)."""
    return hmac.new(key, manifest, hashlib.sha256).hexdigest().encode()


def verify(key: bytes, manifest: bytes, signature: bytes | None, where: str) -> None:
    """Raise :class:`CorruptModelError` unless ``signature`` is ``manifest``'s under ``key``."""
    if signature is None:
        raise CorruptModelError(
            f"{where}: the version is not signed; ${SIGNING_KEY_ENV} is set, so only versions "
            "published with it load"
        )
    if not hmac.compare_digest(signature.strip(), sign(key, manifest)):
        raise CorruptModelError(
            f"{where}: the manifest's signature does not match: its files were replaced after "
            f"publishing, or it was signed with another key than ${SIGNING_KEY_ENV}"
        )

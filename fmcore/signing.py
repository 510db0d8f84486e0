"""The store's Ed25519 key pair, and what it signs below the audits: the audit trail's head.

``fmaudit keys init`` makes the pair: ``keys/signing.pub`` under the store (SubjectPublicKeyInfo PEM) and the private
key (PKCS#8 PEM, mode 600) at ``keys/signing.key`` under the store, or, safer, wherever ``FMAUDIT_SIGNING_KEY_FILE``
names (``fmaudit keys init --private-key PATH``): someone who can write the store's folder cannot then sign. The key
id is the sha256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from .errors import ConfigError

KEY_ENV = "FMAUDIT_SIGNING_KEY_FILE"
HEAD_CONTEXT = b"fmaudit-trail-head/1"


def key_files(root: str | Path) -> tuple[Path, Path]:
    """The private and public key files of the store at ``root`` (the private one where ``FMAUDIT_SIGNING_KEY_FILE``
    says, when set)."""
    folder = Path(root) / "keys"
    private = os.environ.get(KEY_ENV)
    return (Path(private) if private else folder / "signing.key"), folder / "signing.pub"


def key_id(public_key) -> str:
    """The sha256 (hex) of the raw Ed25519 public key: the id written in envelopes."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def init_keys(root: str | Path, force: bool = False, private_path: str | Path | None = None) -> dict:
    """Make the store's Ed25519 key pair (the private key readable by its owner only, at ``private_path`` when given,
    e.g. outside the store); refuses to replace one unless ``force``. Returns the key id and both paths."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    default_private, public_path = key_files(root)
    private_path = Path(private_path) if private_path else default_private
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise ConfigError(f"{path} exists; reports signed with that key would no longer verify with a new key. "
                              "Pass --force to replace it anyway.")
    for folder in {private_path.parent, public_path.parent}:
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(private_path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = private_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, private_path)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return {"key_id": key_id(key.public_key()), "public_key": str(public_path), "private_key": str(private_path)}


def load_private_key(root: str | Path):
    """The store's private signing key, or None when it has none."""
    from cryptography.hazmat.primitives import serialization

    private_path, _ = key_files(root)
    if not private_path.exists():
        return None
    try:
        return serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{private_path} is not a PEM private key ({exc}).") from None


def load_public_key(path: str | Path):
    """An Ed25519 public key from a PEM file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No public key at {path}.")
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path.name} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path.name} is not an Ed25519 public key.")
    return key


def store_public_key(root: str | Path):
    """The public key kept in the store (``keys/signing.pub``), or None when the store has none."""
    path = key_files(root)[1]
    return load_public_key(path) if path.is_file() else None


def _head_message(seq: int, h: str) -> bytes:
    return b"%s %d %s" % (HEAD_CONTEXT, seq, h.encode())


def sign_head(private_key, seq: int, h: str) -> str:
    """The trail head's checkpoint line: ``seq hash keyid signature`` (the signature over context, seq and hash)."""
    sig = base64.b64encode(private_key.sign(_head_message(seq, h))).decode()
    return f"{seq} {h} {key_id(private_key.public_key())} {sig}"


def check_head(line: str, public_key) -> tuple[int, str, bool | None]:
    """``(seq, hash, signed)`` from a head line: signed is True when its signature checks with ``public_key``, False
    when it does not (or is absent though a key is given), None when no key is given."""
    from cryptography.exceptions import InvalidSignature

    parts = line.split()
    if len(parts) not in (2, 4) or not parts[0].isdigit():
        raise ValueError("not a trail head line")
    seq, h = int(parts[0]), parts[1]
    if public_key is None:
        return seq, h, None
    if len(parts) != 4 or parts[2] != key_id(public_key):
        return seq, h, False
    try:
        public_key.verify(base64.b64decode(parts[3], validate=True), _head_message(seq, h))
    except (InvalidSignature, ValueError):
        return seq, h, False
    return seq, h, True

# Copyright: cloudflock developers
# Apache License 2.0 (see LICENSE)
"""The credentials of a federation's pools, kept on the controller.

Every pool has its own HTCondor signing key, known by the pool's id. No pool holds another's key: where
flocking needs a pool to act at another, it holds an IDTOKEN signed with the other pool's key, naming it
``<pool id>@<trust domain>`` and limited (the token's scope) to what it does there:

- the submitter at each executor: ``ADVERTISE_SCHEDD`` and ``READ`` for its schedd (advertising to the
  executor's collector and querying it), and ``READ`` for its workflow user (``condor_status -pool``);
- each executor at the submitter: ``NEGOTIATOR``, for its negotiator at the submitter's schedd.

Claims, shadows and starters need nothing more: they ride on the security session of the claim.

The directory holds ``pools/<id>/key``, ``pools/<id>/tokens/<issuer>`` (the daemons' tokens) and
``pools/<id>/user-tokens/<issuer>`` (the workflow user's), files of mode 0600 in directories of mode 0700,
and ``revoked.json``: per issuing pool, the ids (``jti``) of the tokens it must refuse from now on. A pool
no longer named is revoked: the tokens it held are listed there, the tokens signed with its key and its key
are deleted. HTCondor derives a token's HMAC key from the signing key with HKDF-SHA256 (salt ``htcondor``,
info ``master jwt``); tokens are HS256 JWTs whose header names the key (``kid``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_LENGTH = 64
KEY_ALPHABET = string.ascii_letters + string.digits
# Identities the pools' own daemons and users have within their pool: no pool may be named like them.
RESERVED_IDS = ("condor", "root", "condor_pool", "nobody")
SUBMITTER_SCOPES = ("ADVERTISE_SCHEDD", "READ")
USER_SCOPES = ("READ",)
EXECUTOR_SCOPES = ("NEGOTIATOR",)
REVOKED_FILE = "revoked.json"
# The one key every pool shared before pools had their own.
LEGACY_KEY_FILE = "pool_signing_key"


class CredentialsError(ValueError):
    """A pool or a file cannot be used; the message names it."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_key(signing_key: str) -> bytes:
    """The HMAC key HTCondor signs and checks tokens of a named signing key with (HKDF-SHA256)."""
    extracted = hmac.new(b"htcondor", signing_key.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(extracted, b"master jwt" + b"\x01", hashlib.sha256).digest()


def mint(signing_key: str, key_id: str, subject: str, issuer: str, scopes: Iterable[str],
         issued_at: int | None = None, token_id: str | None = None) -> str:
    """An IDTOKEN as condor_token_create makes it: HS256, the key's name in the header."""
    header = {"alg": "HS256", "kid": key_id}
    payload: dict[str, Any] = {"iat": int(time.time()) if issued_at is None else issued_at, "iss": issuer,
                               "jti": token_id or secrets.token_hex(16)}
    scope = " ".join(f"condor:/{level}" for level in scopes)
    if scope:
        payload["scope"] = scope
    payload["sub"] = subject
    signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode())
                     + "." + _b64(json.dumps(payload, separators=(",", ":")).encode()))
    signature = hmac.new(token_key(signing_key), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a token, unchecked."""
    try:
        header, payload, _signature = token.strip().split(".")
        decoded = json.loads(_unb64(header)), json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError) as error:
        raise CredentialsError(f"not a token ({error})") from None
    if not all(isinstance(part, dict) for part in decoded):
        raise CredentialsError("not a token (header or payload is no JSON object)")
    return decoded


def verify(token: str, signing_key: str) -> bool:
    """Whether the token's signature is the one the signing key makes."""
    signing_input, _dot, signature = token.strip().rpartition(".")
    expected = hmac.new(token_key(signing_key), signing_input.encode("ascii"), hashlib.sha256).digest()
    return hmac.compare_digest(_b64(expected), signature)


def identity(pool: str, trust_domain: str) -> str:
    return f"{pool}@{trust_domain}"


@dataclass(frozen=True)
class Wanted:
    """One token a pool holds: where, signed by whom, naming whom, for what."""

    holder: str
    kind: str  # tokens | user-tokens
    issuer: str
    subject: str
    scopes: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"pools/{self.holder}/{self.kind}/{self.issuer}"


def wanted_tokens(submitter: str, executors: Iterable[str], trust_domain: str) -> list[Wanted]:
    """Every token of the federation: the submitter's at each executor, each executor's at the submitter."""
    tokens = []
    for executor in executors:
        tokens += [
            Wanted(submitter, "tokens", executor, identity(submitter, trust_domain), SUBMITTER_SCOPES),
            Wanted(submitter, "user-tokens", executor, identity(submitter, trust_domain), USER_SCOPES),
            Wanted(executor, "tokens", submitter, identity(executor, trust_domain), EXECUTOR_SCOPES),
        ]
    return tokens


def check_pools(submitter: str, executors: list[str]) -> None:
    pools = [submitter, *executors]
    for pool in pools:
        if not pool or not all(c in string.ascii_lowercase + string.digits + "-" for c in pool):
            raise CredentialsError(f"pool {pool!r}: a pool id is lower-case letters, digits and dashes")
        if pool in RESERVED_IDS:
            raise CredentialsError(f"pool {pool!r}: HTCondor's own daemons and users are called {pool}@<domain> "
                                   "within every pool; give the pool another id")
    duplicates = sorted({pool for pool in pools if pools.count(pool) > 1})
    if duplicates:
        raise CredentialsError(f"pool {duplicates[0]!r} is named more than once")


@dataclass
class Store:
    """The credentials directory; with dry_run nothing is written, only what would change is recorded."""

    root: Path
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)

    def read(self, relative: str) -> str | None:
        path = self.root / relative
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise CredentialsError(f"{path}: {error}") from None

    def write(self, relative: str, text: str) -> None:
        self.changes.append(f"wrote {relative}")
        if self.dry_run:
            return
        path = self.root / relative
        # The directory's own parents (~/.config/cloudflock on a first run) as any directory is made.
        self.root.parent.mkdir(parents=True, exist_ok=True)
        for parent in reversed(path.relative_to(self.root).parents):
            directory = self.root / parent
            directory.mkdir(mode=0o700, exist_ok=True)
            os.chmod(directory, 0o700)
        temporary = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(temporary, path)

    def remove(self, relative: str) -> None:
        path = self.root / relative
        if not path.exists() and not path.is_symlink():
            return
        self.changes.append(f"removed {relative}")
        if self.dry_run:
            return
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

    def listing(self, relative: str) -> list[str]:
        path = self.root / relative
        return sorted(entry.name for entry in path.iterdir()) if path.is_dir() else []


def _revoked(store: Store) -> dict[str, list[str]]:
    text = store.read(REVOKED_FILE)
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CredentialsError(f"{store.root / REVOKED_FILE}: not JSON ({error})") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise CredentialsError(f"{store.root / REVOKED_FILE}: not a mapping of pool to a list of token ids")
    return {str(k): [str(jti) for jti in v] for k, v in data.items()}


def _token_ok(token: str | None, wanted: Wanted, key: str, trust_domain: str) -> bool:
    if not token:
        return False
    try:
        header, payload = decode(token)
    except CredentialsError:
        return False
    return (header.get("kid") == wanted.issuer and payload.get("sub") == wanted.subject
            and payload.get("iss") == trust_domain and "exp" not in payload
            and payload.get("scope", "") == " ".join(f"condor:/{s}" for s in wanted.scopes)
            and verify(token, key))


def converge(root: Path, submitter: str, executors: list[str], trust_domain: str,
             dry_run: bool = False) -> dict[str, Any]:
    """Make the directory hold the credentials of exactly these pools; revoke every other pool's."""
    check_pools(submitter, executors)
    store = Store(root, dry_run)
    pools = [submitter, *executors]
    revoked = _revoked(store)

    def revoke(token: str | None) -> None:
        """List a token its issuer must refuse from now on."""
        if not token:
            return
        try:
            header, payload = decode(token)
        except CredentialsError:
            return
        issuer, jti = header.get("kid"), payload.get("jti")
        if isinstance(issuer, str) and isinstance(jti, str) and jti not in revoked.setdefault(issuer, []):
            revoked[issuer].append(jti)

    gone = [pool for pool in store.listing("pools") if pool not in pools]
    for pool in gone:
        for kind in ("tokens", "user-tokens"):
            for name in store.listing(f"pools/{pool}/{kind}"):
                revoke(store.read(f"pools/{pool}/{kind}/{name}"))
        store.remove(f"pools/{pool}")

    keys: dict[str, str] = {}
    for pool in pools:
        key = store.read(f"pools/{pool}/key")
        if not key:
            key = "".join(secrets.choice(KEY_ALPHABET) for _position in range(KEY_LENGTH))
            store.write(f"pools/{pool}/key", key)
        keys[pool] = key

    wanted = wanted_tokens(submitter, executors, trust_domain)
    paths = {token.path for token in wanted}
    for pool in pools:
        for kind in ("tokens", "user-tokens"):
            for name in store.listing(f"pools/{pool}/{kind}"):
                relative = f"pools/{pool}/{kind}/{name}"
                if relative not in paths:
                    revoke(store.read(relative))
                    store.remove(relative)
    for token in wanted:
        current = store.read(token.path)
        if _token_ok(current, token, keys[token.issuer], trust_domain):
            continue
        if current and token.issuer in keys and verify(current, keys[token.issuer]):
            revoke(current)
        store.write(token.path, mint(keys[token.issuer], token.issuer, token.subject, trust_domain, token.scopes))

    # A pool gone with its key refuses nothing any more: nothing it signed is accepted anywhere.
    revoked = {issuer: sorted(jtis) for issuer, jtis in sorted(revoked.items()) if issuer in keys and jtis}
    text = json.dumps(revoked, indent=1, sort_keys=True)
    if store.read(REVOKED_FILE) != text:
        store.write(REVOKED_FILE, text)
    store.remove(LEGACY_KEY_FILE)
    files = {pool: [f"{pool}/key"] for pool in pools}
    for token in wanted:
        files[token.holder].append(f"{token.holder}/{token.kind}/{token.issuer}")
    return {
        "changed": bool(store.changes),
        "changes": store.changes,
        "pools": {pool: sorted(names) for pool, names in files.items()},
        "revoked": revoked,
        "revoked_pools": gone,
    }


def remove_all(root: Path, dry_run: bool = False) -> dict[str, Any]:
    """Delete every credential of the deployment (teardown): no copy of any of them is good any more."""
    store = Store(root, dry_run)
    gone = store.listing("pools")
    for relative in ("pools", REVOKED_FILE, LEGACY_KEY_FILE):
        store.remove(relative)
    return {"changed": bool(store.changes), "changes": store.changes, "pools": {}, "revoked": {},
            "revoked_pools": gone}

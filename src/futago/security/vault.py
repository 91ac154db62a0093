"""The key vault: one AES-256 key per person, in its own SQLite file beside the store (``<db>.keys``, mode 0600).

Keys live apart from the data they protect so that a copy of the store (a backup, a replica) holds ciphertext
only. Erasing a person destroys their key: the row is deleted with ``secure_delete`` (SQLite overwrites the freed
bytes) and the vault vacuumed, so no copy of the key is left in the vault file, and every ciphertext of that
person, wherever it was copied, no longer decrypts (crypto-shredding).

The vault also holds the key that seals the store's configured secrets (connection passwords, SMTP passwords,
webhook secrets: ``StoreSecrets``), for the same reason: a copy of the store alone reveals none of them.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from futago.core.errors import FutagoError

NONCE = 12
# The additional data of every sealed store secret: a ciphertext of another purpose does not open as one.
_STORE_SECRET_CONTEXT = b"futago store secret v1"


class KeyDestroyed(FutagoError):
    """The person's key is gone (erased): their data cannot be read any more."""

    status = 410
    title = "Gone"


class KeyVault:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._conn = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute("CREATE TABLE IF NOT EXISTS person_keys (person TEXT PRIMARY KEY, key BLOB NOT NULL)")
        # Apart from the people's keys, so that no erasure (of a person with any id) can destroy it.
        self._conn.execute("CREATE TABLE IF NOT EXISTS store_keys (name TEXT PRIMARY KEY, key BLOB NOT NULL)")
        self._lock = threading.Lock()

    def key(self, person: str, create: bool = False) -> bytes:
        with self._lock:
            row = self._conn.execute("SELECT key FROM person_keys WHERE person = ?", (person,)).fetchone()
            if row is not None:
                return bytes(row[0])
            if not create:
                raise KeyDestroyed(f"there is no key for {person}: their data was erased, or never stored")
            key = AESGCM.generate_key(bit_length=256)
            self._conn.execute("INSERT INTO person_keys (person, key) VALUES (?, ?)", (person, key))
            return key

    def store_key(self, name: str = "secrets") -> bytes:
        """A key of the store itself, made on first use; processes sharing the vault agree on the first one."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO store_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, AESGCM.generate_key(bit_length=256)),
            )
            return bytes(self._conn.execute("SELECT key FROM store_keys WHERE name = ?", (name,)).fetchone()[0])

    def destroy(self, person: str) -> bool:
        with self._lock:
            gone = self._conn.execute("DELETE FROM person_keys WHERE person = ?", (person,)).rowcount > 0
            if gone:
                self._conn.execute("VACUUM")  # no free page of the file keeps the key
            return gone

    def seal(self, person: str, plaintext: bytes, context: bytes) -> bytes:
        """AES-256-GCM with the person's key; ``context`` (who, which field, when) is authenticated, not stored."""
        nonce = secrets.token_bytes(NONCE)
        return nonce + AESGCM(self.key(person, create=True)).encrypt(nonce, plaintext, context)

    def open(self, person: str, sealed: bytes, context: bytes) -> bytes:
        try:
            return AESGCM(self.key(person)).decrypt(sealed[:NONCE], sealed[NONCE:], context)
        except InvalidTag as exc:
            raise KeyDestroyed(f"a record of {person} does not decrypt with their key") from exc

    def close(self) -> None:
        self._conn.close()


class StoreSecrets:
    """The ``futago.core.secrets.SecretBox`` of the store: AES-256-GCM under the vault's store key."""

    def __init__(self, vault: KeyVault) -> None:
        self._aead = AESGCM(vault.store_key())

    def seal(self, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, _STORE_SECRET_CONTEXT)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], _STORE_SECRET_CONTEXT)
        except InvalidTag:
            raise ValueError("it was sealed with another key vault's key, or changed") from None

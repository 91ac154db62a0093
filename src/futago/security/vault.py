"""The key vault: one AES-256 key per person, in its own SQLite file beside the store (``<db>.keys``, mode 0600).

Keys live apart from the data they protect so that a copy of the store (a backup, a replica) holds ciphertext
only. Erasing a person destroys their key: the row is deleted with ``secure_delete`` (SQLite overwrites the freed
bytes) and the vault vacuumed, so no copy of the key is left in the vault file, and every ciphertext of that
person, wherever it was copied, no longer decrypts (crypto-shredding).
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

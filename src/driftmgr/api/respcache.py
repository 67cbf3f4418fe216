"""Bodies of immutable API responses (a stored scan's report and item pages), kept per app.

Bounded by total bytes (least recently used out first), keyed by what identifies the answer (scan id
and query). Only answers that can never change may go in: a stored scan is never updated. Each entry
carries a strong ETag (sha256 of the body), and `conditional()` answers `If-None-Match` with 304.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY = 8 * 1024 * 1024  # larger bodies are served but not kept
JSON_OBJECT: dict[str, Any] = {
    "description": "Successful Response",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str


class ResponseCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Cached | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: Hashable, body: bytes) -> Cached:
        entry = Cached(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        if len(body) > min(MAX_ENTRY, self.max_bytes):
            return entry
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._entries[key] = entry
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped.body)
        return entry


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def conditional(request: Request, entry: Cached) -> Response:
    """200 with the body and its ETag, or 304 when the client already holds it (If-None-Match)."""
    headers = {"ETag": entry.etag, "Cache-Control": "private"}
    if _matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)

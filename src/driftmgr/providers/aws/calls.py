"""One discovery run asks each read call once: a per-run memo of AWS responses shared by the types.

Several resource types read the same listing: every S3 type lists the buckets of its region and
looks up where each bucket lives, the route types and aws_vpc read the route tables, the security
group rule spellings read the groups and their rules, the IAM types read the account authorization
details. Within one `discover` run the first caller of (service, region, operation, parameters)
makes the request and the others get a copy of its response; a caller that arrives while the
request is in flight waits for it instead of sending a duplicate. Paginated listings share page by
page (the page token is a parameter).

Only reads are shared (operations named Describe*, List*, Get*), and only within one run: the memo
belongs to the run and is dropped with it, so nothing is ever served stale across runs. A failed
call is not shared: the error goes to its caller, and every waiter asks again itself. Each caller
gets its own copy of the containers of a response, because detail functions annotate the items
they are given.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

READ_PREFIXES = ("Describe", "List", "Get")

Key = tuple[str, str, str, str]  # (service, region, operation, canonical parameters)


class _Entry:
    __slots__ = ("done", "failed", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.failed = False
        self.value: Any = None


class CallMemo:
    """The responses of one discovery run, by call; thread-safe, single-flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}
        self.requests = 0  # calls that went to the endpoint
        self.shared = 0  # calls answered from another caller's response

    def call(self, key: Key, fetch: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if entry is None:
                entry = self._entries[key] = _Entry()
                self.requests += 1
        if owner:
            try:
                entry.value = fetch()
            except BaseException:
                with self._lock:
                    del self._entries[key]
                entry.failed = True
                entry.done.set()
                raise
            entry.done.set()
            return copy_response(entry.value)
        entry.done.wait()
        if entry.failed:
            with self._lock:
                self.requests += 1
            return fetch()
        with self._lock:
            self.shared += 1
        return copy_response(entry.value)


def copy_response(value: Any) -> Any:
    """A copy of a parsed response's dicts and lists; the leaves (str, numbers, datetimes) are
    immutable and shared."""
    if type(value) is dict:
        return {k: copy_response(v) for k, v in value.items()}
    if type(value) is list:
        return [copy_response(v) for v in value]
    return value


def call_key(service: str, region: str, operation: str, params: dict[str, Any]) -> Key:
    return (service, region, operation, json.dumps(params, sort_keys=True, default=repr))


def share_reads(client: Any, service: str, region: str, current: Callable[[], CallMemo | None]) -> Any:
    """Route the client's read calls through the memo of the run in progress (`current()`, None
    outside a run: then the call goes straight out). Returns the client."""
    send = client._make_api_call  # every operation method and paginator page goes through it

    def make_api_call(operation_name: str, api_params: dict[str, Any]) -> Any:
        memo = current()
        if memo is None or not operation_name.startswith(READ_PREFIXES):
            return send(operation_name, api_params)
        key = call_key(service, region, operation_name, api_params)
        return memo.call(key, lambda: send(operation_name, api_params))

    client._make_api_call = make_api_call
    return client

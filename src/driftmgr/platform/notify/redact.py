"""Secrets in apprise channel URLs: what may be shown, and what must be scrubbed from any text.

A channel URL carries credentials in many places: the password of `mailtos://user:pw@host`, the
tokens of `slack://T…/B…/x…`, the keys of `pagerduty://integration@api`, a token in the path or a
header (`?+Authorization=…`) of a generic `jsons://` webhook. `inspect_url` computes

- `display`: the form shown to users and written to logs: apprise's own privacy rendering, then
  every path segment that is not a plain lowercase word masked, and every query value whose key
  looks secret (token, key, secret, password, sig, …, and `+`/`-`/`:` header/payload overrides)
  masked, and apprise's default parameters dropped;
- `secrets`: every piece of the raw URL that the display hides — scrubbed from error messages and
  from apprise/urllib3 log records (see `install_log_guard`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

MASK = "****"

_SECRET_KEY = re.compile(
    r"token|key|secret|pass|pwd|auth|sig|code|credential|session|cookie|bearer|apikey|webhook", re.I
)
# path segments that are safe to show: plain words, versions, apprise's own masks, #channels, e-mails
_SAFE_SEGMENT = re.compile(
    r"^(?:[a-z][a-z_-]{0,23}|v\d{1,3}|\*+|[^/]\.\.\.[^/]|(?:%23|#)[\w.-]{1,80}|[\w.+-]{1,64}(?:%40|@)[\w.-]{1,255})$"
)
_USERINFO = re.compile(r"(?P<head>[a-zA-Z][\w+.-]{0,30}://[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_TOKEN_SPLIT = re.compile(r"[/:@?&=#,;\s]+")
_MIN_TOKEN = 4
_SCHEMES_WORDS = {"bearer", "basic", "token", "digest"}


@dataclass(frozen=True, slots=True)
class ChannelURL:
    """A channel URL as it may be shown (`display`), and the substrings to scrub (`secrets`)."""

    scheme: str
    display: str
    secrets: frozenset[str]
    accepted: bool  # apprise can build a service from it

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret replaced by ****, and passwords of any URL in it masked."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return _USERINFO.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


def scheme_of(url: str) -> str:
    head, sep, _ = url.partition("://")
    return head.lower() if sep and re.fullmatch(r"[A-Za-z][\w+.-]{0,30}", head) else ""


def inspect_url(url: str) -> ChannelURL:
    """Parse `url` with apprise (its own logging silenced) and split it into display and secrets.

    The secrets are also registered with the log guard, so apprise can no longer log them.
    """
    import apprise

    install_log_guard()
    with quiet_apprise():
        try:
            plugin = apprise.Apprise.instantiate(url)
        except Exception:  # noqa: BLE001 - a plugin that raises on a bad URL is a rejected URL
            plugin = None
        privacy: str | None = (
            str(plugin.url(privacy=True)) if plugin is not None else None  # type: ignore[no-untyped-call]
        )
    scheme = scheme_of(url)
    display = _display(url, privacy, scheme)
    secrets = _secrets(url, display)
    register_secrets(secrets)
    return ChannelURL(scheme=scheme, display=display, secrets=secrets, accepted=plugin is not None)


def _display(url: str, privacy: str | None, scheme: str) -> str:
    if privacy is None:
        return f"{scheme or 'unknown'}://{MASK}"
    head, _, query = privacy.partition("?")
    p_scheme, _, rest = head.partition("://")
    netloc, slash, path = rest.partition("/")
    segments = [seg if not seg or _SAFE_SEGMENT.match(seg) else MASK for seg in path.split("/")]
    shown = f"{p_scheme}://{netloc}{slash}{'/'.join(segments)}"
    user_keys = {k.lower() for k, _ in _qsl(url.partition("?")[2])}
    pairs = []
    for key, value in _qsl(query):
        if key.lower() not in user_keys:
            continue  # apprise's defaults: noise in a listing
        pairs.append((key, MASK if _is_secret_key(key) and value else value))
    return f"{shown}?{urlencode(pairs, safe='*@,:/')}" if pairs else shown


def _qsl(query: str) -> list[tuple[str, str]]:
    """Query pairs, percent-decoded but keeping '+' (apprise's header prefix) as it is."""
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _is_secret_key(key: str) -> bool:
    return key[:1] in "+-:" or bool(_SECRET_KEY.search(key))


def _tokens(text: str) -> set[str]:
    out: set[str] = set()
    for form in {text, unquote(text)}:
        out.update(t for t in _TOKEN_SPLIT.split(form) if t)
    return out


def _looks_secret(token: str) -> bool:
    if len(token) < _MIN_TOKEN + 2 or token.lower() in _SCHEMES_WORDS:
        return False
    return len(token) >= 16 or any(c.isdigit() for c in token) or any(c.isupper() for c in token)


def _secrets(url: str, display: str) -> frozenset[str]:
    shown = _tokens(display)
    found = {t for t in _tokens(url) if _looks_secret(t) and t not in shown}
    m = _USERINFO.search(url)
    if m and len(m.group("pw")) >= 3:
        found.update({m.group("pw"), unquote(m.group("pw"))})
    for key, value in _qsl(url.partition("?")[2]):
        if value and _is_secret_key(key):
            found.add(value)
            found.update(
                p for p in re.split(r"\s+", value) if len(p) >= _MIN_TOKEN and p.lower() not in _SCHEMES_WORDS
            )
    # a secret may also appear re-encoded by apprise or requests
    found.update({quote(t, safe="") for t in list(found)})
    return frozenset(t for t in found if len(t) >= 3)


# --- the log guard ------------------------------------------------------------------------------

_GUARDED_LOGGERS = ("apprise", "urllib3.connectionpool")
_lock = threading.Lock()
_registered: set[str] = set()
_local = threading.local()


def register_secrets(secrets: Iterable[str]) -> None:
    with _lock:
        _registered.update(s for s in secrets if s)


class _ScrubFilter(logging.Filter):
    """Rewrites records of apprise and urllib3 so no registered secret reaches any handler.

    Installed on the loggers themselves (not on handlers), so it runs before propagation to
    whatever handlers the application configured, at every level including DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_local, "quiet", 0):
            return False
        with _lock:
            secrets = tuple(_registered)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: drop its arguments, keep it visible
            message = str(record.msg)
        if record.exc_info:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            record.exc_info = None
            record.exc_text = None
        clean = scrub(message, secrets)
        record.msg = clean
        record.args = ()
        return True


_FILTER = _ScrubFilter()


def install_log_guard() -> None:
    """Idempotent: put the scrubbing filter on apprise's and urllib3's loggers."""
    for name in _GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextlib.contextmanager
def quiet_apprise() -> Iterator[None]:
    """Drop apprise's log records made by this thread inside the block (URL parsing can log the URL)."""
    install_log_guard()
    _local.quiet = getattr(_local, "quiet", 0) + 1
    try:
        yield
    finally:
        _local.quiet -= 1

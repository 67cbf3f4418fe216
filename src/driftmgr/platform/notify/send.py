"""One notification through apprise: success, or a one-line reason with every secret scrubbed."""

from __future__ import annotations

from driftmgr.errors import BackendError
from driftmgr.platform.notify.redact import inspect_url, quiet_apprise

MAX_ERROR = 500


class DeliveryError(BackendError):
    """A notification could not be delivered (the message names the channel, never its secrets)."""

    code = "delivery_failed"


def send(url: str, title: str, body: str, *, notify_type: str = "info", timeout: float = 30.0) -> str | None:
    """Send now. None when apprise reports success, else the redacted reason."""
    import apprise

    info = inspect_url(url)  # registers the URL's secrets with the log guard first
    if not info.accepted:
        return f"apprise no longer accepts this {info.scheme or 'unknown'}:// channel URL"
    with quiet_apprise():
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:  # pragma: no cover - inspect_url said it was accepted a moment ago
        return "apprise rejected the channel URL"
    client = apprise.Apprise()
    client.add(plugin)
    try:
        result = client.notify(
            body=body,
            title=title,
            notify_type=notify_type,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=timeout,
        )
    except Exception as exc:  # noqa: BLE001 - any plugin crash is a failed delivery, reported redacted
        return _trim(info.scrub(f"{type(exc).__name__}: {exc}"))
    if result:
        return None
    messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    reason = "; ".join(dict.fromkeys(m.strip() for m in messages if m.strip()))
    if not reason:
        reason = f"apprise reported {result.status.name.lower()}"
    return _trim(info.scrub(reason))


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"

"""Terraform address syntax and provider address normalization."""

from __future__ import annotations

import re
import unicodedata

from driftmgr.models import IndexKey

DEFAULT_REGISTRY = "registry.terraform.io"

# provider["registry.terraform.io/hashicorp/aws"].west, possibly prefixed by module.x[...].
_MODERN = re.compile(
    r'^(?P<module>(?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*)provider\["(?P<source>[^"]+)"\](?:\.(?P<alias>[\w-]+))?$'
)
# provider.aws, provider.aws.west, module.x.provider.aws, and the odd "provider. null" seen in the wild.
_LEGACY = re.compile(
    r"^(?P<module>(?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*)provider\.\s*(?P<name>[\w-]+)(?:\.(?P<alias>[\w-]+))?$"
)


def format_key(key: IndexKey) -> str:
    """`0` → `[0]`, `"a"` → `["a"]`, None → ``."""
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return "[" + quote_key(key) + "]"


def quote_key(key: str) -> str:
    """A string instance key quoted as Terraform prints it (`addrs.StringKey.String`).

    That is HCL's quoted-string syntax, not JSON's: `"`, `\\`, newline, CR and tab are escaped,
    `${` and `%{` are doubled to `$${` and `%%{`, any other non-printable character is written
    `\\uXXXX` (or `\\UXXXXXXXX`), and printable Unicode stays as it is.
    """
    if key.isascii() and key.isprintable() and '"' not in key and "\\" not in key and "{" not in key:
        return f'"{key}"'  # the common case: nothing to escape
    out = ['"']
    for i, ch in enumerate(key):
        if ch in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[ch])
        elif ch in "$%":
            out.append(ch + ch if key[i + 1 : i + 2] == "{" else ch)
        elif ch == " " or unicodedata.category(ch)[0] in "LMNPS":  # Go's unicode.IsPrint
            out.append(ch)
        else:
            cp = ord(ch)
            out.append(f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


_HCL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def instance_address(module: str | None, mode: str, rtype: str, name: str, key: IndexKey) -> str:
    parts = []
    if module:
        parts.append(module)
    if mode == "data":
        parts.append("data")
    parts.append(rtype)
    parts.append(name + format_key(key))
    return ".".join(parts)


def normalize_provider(raw: str, rtype: str) -> tuple[str, str]:
    """Return (canonical provider config address, local provider name).

    Legacy addresses written by Terraform 0.12 (`provider.aws`, `module.m.provider.aws.west`) become
    `provider["registry.terraform.io/hashicorp/aws"]` (the provider they meant); the built-in
    `terraform` provider becomes `terraform.io/builtin/terraform`. An empty provider is inferred from the
    resource type prefix, as Terraform does.
    """
    raw = raw.strip()
    m = _MODERN.match(raw)
    if m:
        source = m.group("source")
        name = source.rsplit("/", 1)[-1]
        return raw, name
    m = _LEGACY.match(raw)
    if m:
        name = m.group("name")
        source = (
            "terraform.io/builtin/terraform"
            if name == "terraform"
            else f"{DEFAULT_REGISTRY}/hashicorp/{name}"
        )
        alias = f".{m.group('alias')}" if m.group("alias") else ""
        return f'{m.group("module")}provider["{source}"]{alias}', name
    if not raw:
        name = rtype.split("_", 1)[0]
        return f'provider["{DEFAULT_REGISTRY}/hashicorp/{name}"]', name
    # Unknown shape: keep it verbatim, best-effort local name.
    name = raw.rsplit("/", 1)[-1].strip('"]').split(".")[0] or rtype.split("_", 1)[0]
    return raw, name

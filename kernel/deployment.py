"""Development run or real deployment: which values may be placeholders.

Some values are published for the world to read: the partners' portal URLs (IIIF `provider`
and `homepage`, the DFG `dv:rights` and `dv:links`), the BagIt profile's identifier and
Contact-Email, OAI-PMH's adminEmail. The checkout ships clearly marked local defaults for them
(names under the reserved `.invalid` domain, RFC 6761), so a fresh clone runs end to end; a
real deployment must set its own, and publishing a placeholder there is refused with a
ConfigError naming the setting, before a portal, a harvester or another repository reads it.

A run is a *development run* when the access location's public base URL (CADL_ACCESS_BASE_URL,
else CADL_ACCESS_URL) is not an http(s) URL (publication then needs CADL_ALLOW_FILE_URLS), names
a loopback host (127.0.0.0/8, ::1, localhost) or a reserved test name (example.org, *.test,
*.invalid): nothing it publishes can be read from another machine. Any other base URL is a real
deployment.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from kernel.errors import ConfigError

# RFC 2606 / RFC 6761 names that never reach anyone: example.org and friends, *.example,
# *.invalid, *.test, *.localhost. The shipped defaults use *.invalid.
_RESERVED = re.compile(r"(^|\.)(example\.(org|com|net)|example|invalid|test|localhost)$",
                       re.IGNORECASE)
_EMAIL_HOST = re.compile(r"@([^@\s>]+)>?\s*$")


def access_base(settings) -> str:
    """The access location's public base URL, no trailing slash (CADL_ACCESS_BASE_URL, else
    CADL_ACCESS_URL)."""
    return (settings.access_base_url or settings.access_url).rstrip("/")


def is_development(settings) -> bool:
    """True when the public base URL is not http(s), or names a loopback host or a reserved
    test name (see above)."""
    parts = urlsplit(access_base(settings))
    if parts.scheme not in ("http", "https"):
        return True
    host = (parts.hostname or "").lower()
    if _RESERVED.search(host):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_placeholder(value: str) -> bool:
    """True for a URL, an e-mail address or a bare domain name (OAI-PMH's repository
    identifier) on a reserved example/test domain (see above)."""
    value = (value or "").strip()
    if not value:
        return True
    if "://" in value:
        host = urlsplit(value).hostname or ""
    else:
        email = _EMAIL_HOST.search(value)
        host = email.group(1) if email else value
    return bool(_RESERVED.search(host.rstrip(".")))


def require_published(value: str, setting: str, settings, what: str) -> str:
    """`value`, unless this is a real deployment and it is a placeholder: then ConfigError
    saying `what` it is and which `setting` (environment variable, or file and entry) to set."""
    if is_placeholder(value) and not is_development(settings):
        raise ConfigError(
            f"the {what} is {value!r}, a placeholder, and {access_base(settings)} is a real "
            f"deployment (not loopback or file://): set {setting} before publishing; "
            "placeholders are accepted only in development runs")
    return value

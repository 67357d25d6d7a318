"""URL canonicalisation: one spelling per page, so the frontier never holds a page twice."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PARAM = re.compile(
    r"^(utm_[a-z_]+|gclid|gclsrc|dclid|fbclid|msclkid|yclid|twclid|ttclid|igshid|mc_cid|mc_eid"
    r"|_ga|_gl|_hsenc|_hsmi|mkt_tok|ref_src|spm)$",
    re.IGNORECASE,
)
DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def canonicalize(url: str, base: str | None = None) -> str | None:
    """Absolute canonical form of ``url`` (resolved against ``base``), or None if not http(s).

    Lower-case scheme and host, default port dropped, fragment dropped, tracking parameters
    removed, the remaining query sorted, percent-encoding normalised.
    """
    url = url.strip()
    try:
        if base is not None and not url.startswith(("http://", "https://")):
            url = _join(base, url)
        return _canonical_absolute(url)
    except ValueError:  # "http://[oops/" and other unparsable URLs
        return None


def _join(base: str, url: str) -> str:
    """``urljoin``, with a shortcut for the path-absolute links most pages use ("/p/1")."""
    if url.startswith("/") and not url.startswith("//") and base.startswith(
            ("http://", "https://")) and not any(c in url for c in "\t\n\r\\"):
        host = base.find("//") + 2
        cut = min((i for i in (base.find("/", host), base.find("?", host), base.find("#", host))
                   if i >= 0), default=-1)
        return (base[:cut] if cut >= 0 else base) + url
    return urljoin(base, url)


_PLAIN = re.compile(r"https?://[a-z0-9.-]*[a-z0-9](?::\d+)?/[A-Za-z0-9/_.,~-]*")


@lru_cache(maxsize=131_072)
def _canonical_absolute(url: str) -> str | None:
    # Cached: the same navigation links recur on every page of a site.
    if _PLAIN.fullmatch(url) and "/." not in url and ":80/" not in url and ":443/" not in url:
        return url  # already canonical: lower-case host, a plain path, no query or fragment
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    if "/." in path:
        path = urlsplit(urljoin(f"{scheme}://{netloc}/", path)).path
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAM.match(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


@lru_cache(maxsize=131_072)
def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

"""Pages that are not data: bot checks and captchas, access-denied pages, login walls,
"enable JavaScript" shells and soft 404s. Such a page is a failed observation with a reason,
never a product, never a price of 0 and never "out of stock".
"""

from __future__ import annotations

import re

import re2
from selectolax.lexbor import LexborHTMLParser

from voidx.extract.css import select, select_first
from voidx.extract.scan import PageScan

# Markers that only a bot-check page carries (lower-case substrings: cheap on big pages).
CHALLENGE: list[tuple[str, str, tuple[str, ...]]] = [
    ("captcha", "Cloudflare challenge", ("cf-chl-", "cf_chl_opt", "challenge-platform",
                                         "cf-browser-verification",
                                         "<title>just a moment...</title>",
                                         "<title>attention required! | cloudflare</title>")),
    ("captcha", "PerimeterX / HUMAN", ("px-captcha", "_pxappid", "captcha.px-cdn",
                                       "press &amp; hold", "press & hold")),
    ("captcha", "DataDome", ("captcha-delivery.com", "datadome")),
    ("captcha", "Imperva / Incapsula", ("_incapsula_resource", "incapsula incident",
                                        "request unsuccessful. incapsula")),
    ("captcha", "Kasada / Shape", ("kpsdk", "/149e9513-01fa-4fb0-aad4-")),
    ("access_denied", "Sucuri firewall", ("utm_source=firewall_block",
                                          "access denied - sucuri website firewall",
                                          "sucuri website firewall - access denied")),
    ("access_denied", "Akamai access denied", ("<title>access denied</title>",
                                               "errors.edgesuite.net", "reference&#32;&#35;",
                                               "you don't have permission to access")),
]
# Markers that also appear on real pages (a review form's reCAPTCHA): only with nothing else.
# (RE2: it reads the whole page, where Python's engine tries every word at every offset)
WEAK_CAPTCHA = re2.compile(r"(?i)g-recaptcha|recaptcha/api|hcaptcha\.com|h-captcha|turnstile|"
                           r"verify (?:that )?you are (?:a )?human|are you a robot|not a robot|"
                           r"unusual traffic|automated (?:queries|requests|access)|"
                           r"pardon our interruption|bot (?:detection|check)|security check")
SOFT_404 = re.compile(r"\b404\b.{0,40}(?:error|not found|page)|(?:error|page)\W{0,3}\b404\b|"
                      r"not found|page (?:cannot|can't|could not|couldn't) be found|"
                      r"couldn't find|could not find|can't find|no longer (?:available|exists)|"
                      r"doesn't exist|does not exist|seite nicht gefunden|introuvable|"
                      r"n'existe (?:plus|pas)|no encontrad|non trovat|niet gevonden|"
                      r"nie znaleziono|ikke fundet|findes ikke|ikke længere tilgængelig|"
                      r"er udgået|finns inte|hittades inte|ei löytynyt|nicht mehr verfügbar|"
                      r"n'est plus disponible|ya no está disponible|non è più disponibile|"
                      r"niet meer (?:beschikbaar|leverbaar)|nie jest już dostępn|"
                      r"ページが見つかりません|找不到", re.I)
LOGIN = re.compile(r"sign in|log ?in|anmelden|se connecter|iniciar sesi|accedi|inloggen|"
                   r"zaloguj|to see (?:the )?prices?|members only|create an account|"
                   r"prihlás|přihlás|bejelentkez|увійти|войти|σύνδεση|autentificare|"
                   r"giriş yap|đăng nhập|เข้าสู่ระบบ|로그인|ログイン|登录|登入|"
                   r"تسجيل الدخول|התחברות|logga in|log ind|logg inn|kirjaudu|"
                   r"iniciar sessão|fazer login", re.I)
JS_SHELL = re.compile(r"enable javascript|javascript (?:is )?(?:required|disabled)|"
                      r"requires javascript|need to enable javascript|activate javascript|"
                      r"javascript aktivieren|activer javascript", re.I)


def block_reason(page: PageScan, tree: LexborHTMLParser, *, has_product_data: bool,
                 status_code: int | None = None) -> tuple[str, str] | None:
    """(kind, reason) when the page is a block or error page; None for a real page."""
    if status_code is not None and status_code >= 400:
        return ("http_error", f"HTTP {status_code} error page")
    head = page.text[:200_000]
    if not has_product_data:
        lowered = re.sub(r"\s+", " ", head.lower()).replace("<title> ", "<title>").replace(
            " </title>", "</title>")
        for kind, name, markers in CHALLENGE:
            if any(marker in lowered for marker in markers):
                return (kind, f"{name} page")
    if has_product_data:
        return None
    visible = page.visible_text()
    title = " ".join(n.text(deep=True) for n in select(tree, "title, h1")[:3])
    if SOFT_404.search(title):
        return ("soft_404", f"a 'not found' page: {title.strip()[:80]!r}")
    if len(visible) < 3000 and WEAK_CAPTCHA.search(head):
        return ("captcha", "a bot check / captcha page")
    if select_first(tree, "input[type=password]") is not None and LOGIN.search(visible[:5000]):
        return ("login", "a login wall")
    if len(visible) < 1500:
        noscript = " ".join(n.text(deep=True) for n in select(tree, "noscript"))
        if JS_SHELL.search(noscript + " " + visible[:3000]):
            return ("js_shell",
                    "a JavaScript app shell with no content (render it with a browser)")
    return None

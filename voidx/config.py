"""voidx.toml + environment -> validated settings; every knob lives here with its default.

Layering, lowest first: model defaults < voidx.toml < environment (``VOIDX_<SECTION>__<KEY>``)
< command-line options (applied by the stage that takes them). Secrets are never read
from the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from voidx.errors import ConfigError

ALERT_KINDS = (
    "price_drop", "price_spike", "all_time_low", "back_in_stock", "out_of_stock", "anomaly",
    "trend_up", "trend_down", "fake_discount", "dq_failure", "crawl_errors", "extraction_health",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ProjectConfig(_Model):
    name: str = "voidx"
    user_agent: str = "voidx/0.1 (+https://github.com/voidx/voidx)"


class CrawlConfig(_Model):
    """Defaults for every source; a source may override the limits."""

    concurrency: int = Field(16, ge=1, le=1024)
    per_host: int = Field(8, ge=1, le=256)
    delay_s: float = Field(0.0, ge=0)
    timeout_s: float = Field(20.0, gt=0)
    retries: int = Field(3, ge=0, le=20)
    backoff_s: float = Field(0.5, ge=0)  # first retry waits about this long, then doubling
    max_pages: int = Field(10_000, ge=1)
    max_depth: int = Field(10, ge=0)
    max_body_bytes: int = Field(10_000_000, ge=1024)
    obey_robots: bool = True
    lease_s: float = Field(300.0, gt=0)
    autothrottle: bool = True
    autothrottle_target: float | None = Field(None, gt=0)  # default: per_host
    max_delay_s: float = Field(60.0, ge=0)
    proxies: list[str] = []
    proxy_mode: Literal["rotate", "sticky"] = "rotate"
    browser_path: str | None = None
    browser_pages: int = Field(4, ge=1, le=64)
    browser_timeout_s: float = Field(30.0, gt=0)
    browser_wait: Literal["networkidle", "load", "domcontentloaded"] = "networkidle"

    @field_validator("proxies")
    @classmethod
    def _proxy_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"not an http(s) proxy URL: {url!r}")
        return urls


SelectorRule = str | dict[str, str]


class SourceConfig(_Model):
    name: str = Field(min_length=1)
    start_urls: list[str] = Field(min_length=1)
    allow: list[str] = []
    deny: list[str] = []
    render: Literal["http", "browser", "auto"] = "http"
    wait_for: str | None = None  # CSS selector the browser waits for
    sitemaps: bool = True
    recrawl_after_s: float = Field(0.0, ge=0)  # 0: every known URL is revisited each cycle
    max_pages: int | None = Field(None, ge=1)
    max_depth: int | None = Field(None, ge=0)
    product_urls: list[str] = []  # regexes: a matching page without a product is quarantined
    llm: Literal["never", "fallback", "always"] = "never"
    prefer: Literal["structured", "selectors"] = "structured"
    selectors: dict[str, SelectorRule] = {}

    @field_validator("start_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"not an http(s) URL: {url!r}")
        return urls

    @field_validator("allow", "deny", "product_urls")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return patterns

    @field_validator("selectors")
    @classmethod
    def _selector_rules(cls, rules: dict[str, SelectorRule]) -> dict[str, SelectorRule]:
        from voidx.extract.selectors import rule_problem

        for field, rule in rules.items():
            if isinstance(rule, dict):
                unknown = set(rule) - {"css", "attr", "regex"}
                if unknown or "css" not in rule:
                    raise ValueError(f"{field}: a rule table takes css (required), attr, regex")
            problem = rule_problem(rule)
            if problem:
                raise ValueError(f"{field}: {problem}")
        return rules


class DatasetConfig(_Model):
    name: str = Field(min_length=1)
    kind: Literal["jsonl", "csv", "rest", "sql"]
    location: str
    primary_key: list[str] = []
    options: dict[str, Any] = {}


class AlertRule(_Model):
    name: str = Field(min_length=1)
    kind: Literal[ALERT_KINDS]  # type: ignore[valid-type]
    threshold_pct: float | None = Field(None, gt=0)
    severity: Literal["info", "warning", "critical"] = "warning"
    sources: list[str] = []
    channels: list[str] = []


class ChannelConfig(_Model):
    name: str = Field(min_length=1)
    kind: Literal["telegram", "discord", "email", "webhook"]
    token_env: str | None = None
    chat_id: str | None = None
    url: str | None = None
    to: list[str] = []
    smtp_host: str | None = None
    smtp_port: int = 25


class ScheduleConfig(_Model):
    name: str = Field(min_length=1)
    command: str = "run"
    cron: str


class ExtractConfig(_Model):
    workers: int = Field(0, ge=0, le=256)  # processes for large backlogs; 0: one per core
    # seconds a worker may read one page before it counts as stuck on it
    page_timeout: float = Field(60.0, gt=0, le=86400)


class AnalyzeConfig(_Model):
    price_change_pct: float = Field(10.0, gt=0)


class LlmConfig(_Model):
    model: str = "claude-sonnet-4-5"
    api_key_env: str = "ANTHROPIC_API_KEY"
    base_url: str | None = None  # default: the SDK's (or ANTHROPIC_BASE_URL)
    max_tokens: int = Field(1024, ge=64)
    page_tokens: int = Field(6000, ge=200)  # budget for the page text sent with each request
    concurrency: int = Field(4, ge=1, le=64)
    max_retries: int = Field(4, ge=0, le=10)  # 429 / 529 / 5xx, with the SDK's backoff
    timeout_s: float = Field(120.0, gt=0)
    batch_poll_s: float = Field(30.0, gt=0)  # how often --llm-batch asks whether a batch ended


class Config(_Model):
    project: ProjectConfig = ProjectConfig()
    crawl: CrawlConfig = CrawlConfig()
    extract: ExtractConfig = ExtractConfig()
    analyze: AnalyzeConfig = AnalyzeConfig()
    llm: LlmConfig = LlmConfig()
    sources: list[SourceConfig] = []
    datasets: list[DatasetConfig] = []
    alerts: list[AlertRule] = []
    channels: list[ChannelConfig] = []
    schedules: list[ScheduleConfig] = []

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return sources

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"no source named {name!r} (known: {known})", key="sources")


@dataclass(frozen=True)
class Settings:
    """Where a project lives and what it is configured to do."""

    project_dir: Path
    db_path: Path
    config_path: Path
    config: Config

    @property
    def state_dir(self) -> Path:
        return self.project_dir / ".voidx"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"


def load_settings(project: Path | None = None, db: Path | None = None,
                  config: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    project_dir = (project or Path.cwd()).resolve()
    config_path = (config or project_dir / "voidx.toml").resolve()
    if db is None and env.get("VOIDX_DB"):
        db = Path(env["VOIDX_DB"])
    db_path = (db or project_dir / ".voidx" / "voidx.db").resolve()
    if config is not None and not config_path.exists():
        raise ConfigError("file not found", path=str(config_path))
    cfg = load_config(config_path, env) if config_path.exists() else _validate(
        {}, "", config_path.name, env)
    return Settings(project_dir, db_path, config_path, cfg)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=path.name) from None
    return parse_config(text, str(path.name), os.environ if environ is None else environ)


def parse_config(text: str, filename: str = "voidx.toml",
                 environ: Mapping[str, str] | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"invalid TOML: {message}", path=filename,
                          line=int(match.group(1)) if match else None) from None
    return _validate(data, text, filename, environ or {})


def _validate(data: dict[str, Any], text: str, filename: str, environ: Mapping[str, str]) -> Config:
    try:
        return _apply_env(data, environ, filename)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        problem = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        problem = problem.removeprefix("Value error, ")
        variable = f"VOIDX_{str(loc[0]).upper()}__{str(loc[-1]).upper()}" if len(loc) == 2 else ""
        if variable in environ:  # the environment, not the file, holds the bad value
            raise ConfigError(problem, path=f"environment variable {variable}") from None
        inner = re.match(r"^(\w+): (.*)$", problem)
        if inner and error["type"] == "value_error":  # a rule inside a table names its key
            loc, problem = (*loc, inner.group(1)), inner.group(2)
        raise ConfigError(problem, path=filename, line=locate_key(text, loc),
                          key=_dotted(loc)) from None


def _apply_env(data: dict[str, Any], environ: Mapping[str, str], filename: object) -> Config:
    """Overlay ``VOIDX_<SECTION>__<KEY>`` variables on the scalar sections of the file."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for name, value in environ.items():
        m = _ENV_VARIABLE.fullmatch(name)
        if m:
            merged.setdefault(m.group(1).lower(), {})[m.group(2).lower()] = value
    return Config.model_validate(merged)


# VOIDX_<SECTION>__<KEY> for every section that is one table (not a list of them).
_ENV_VARIABLE = re.compile("VOIDX_({})__([A-Z0-9_]+)".format("|".join(
    name.upper() for name, info in Config.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel))))


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")


def locate_key(text: str, loc: Sequence[int | str]) -> int | None:
    """Line (1-based) where the pydantic error location ``loc`` is written in ``text``.

    Tracks table headers (``[a.b]``, ``[[a]]`` with their array index) and ``key =`` lines;
    the longest prefix of ``loc`` that was written somewhere wins.
    """
    positions: dict[tuple[int | str, ...], int] = {}
    array_counts: dict[tuple[int | str, ...], int] = {}
    table: tuple[int | str, ...] = ()
    depth = 0  # open brackets of a multi-line value
    for lineno, line in enumerate(text.splitlines(), start=1):
        code = re.sub(r"\"(?:\\.|[^\"\\])*\"|'[^']*'", '""', line).split("#", 1)[0]
        if depth > 0:
            depth += code.count("[") + code.count("{") - code.count("]") - code.count("}")
            continue
        header = _HEADER.match(line)
        if header:
            parts = _resolve(tuple(p.strip().strip("\"'") for p in header.group(2).split(".")),
                             array_counts)
            if header.group(1) == "[[":
                index = array_counts.get(parts, -1) + 1
                array_counts[parts] = index
                table = (*parts, index)
            else:
                table = parts
            positions.setdefault(table, lineno)
            positions.setdefault(table[:-1] if header.group(1) == "[[" else table, lineno)
            continue
        key = _KEY.match(line)
        if key:
            keys = tuple(k.strip().strip("\"'") for k in key.group(1).split("."))
            positions.setdefault((*table, *keys), lineno)
            value = code.split("=", 1)[1] if "=" in code else ""
            depth = value.count("[") + value.count("{") - value.count("]") - value.count("}")
    path = tuple(loc)
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return None


def _resolve(parts: tuple[str, ...], array_counts: dict[tuple[int | str, ...], int]
             ) -> tuple[int | str, ...]:
    """``[sources.selectors]`` belongs to the latest ``[[sources]]`` element."""
    out: tuple[int | str, ...] = ()
    for part in parts:
        out = (*out, part)
        if out in array_counts and part != parts[-1]:
            out = (*out, array_counts[out])
    return out


EXAMPLE_CONFIG = '''\
# voidx.toml: what to crawl, how to extract, when to alert.
# Secrets never live here: name the environment variable that holds them.
# Any scalar setting can be overridden by VOIDX_<SECTION>__<KEY>, e.g. VOIDX_CRAWL__CONCURRENCY=32.

[project]
name = "my-tracker"
# user_agent = "voidx/0.1 (+https://example.com/bot)"

[crawl]
concurrency = 16        # requests in flight across all hosts
per_host = 8            # requests in flight per host
delay_s = 0.0           # pause between requests to one host (robots.txt Crawl-delay wins if larger)
timeout_s = 20.0
retries = 3             # for timeouts, connection errors, 429 and 5xx; never for other 4xx
max_pages = 10000       # per source and run (a longer cycle goes on in the next run)
max_depth = 10
obey_robots = true
autothrottle = true     # adapt the per-host delay to latency; back off on 429/503
# proxies = ["http://user:pass@proxy1:8080", "http://proxy2:8080"]
# proxy_mode = "rotate" # rotate per request | sticky per host
# browser_path = "/usr/bin/chromium"   # for render = "browser" / "auto"

[extract]
# workers = 0          # processes reading a large backlog (1,000+ pages); 0: one per core
# page_timeout = 60    # seconds a worker may read one page; then it is quarantined

[analyze]
price_change_pct = 10.0 # a price move at least this large (in %) is a price_drop / price_spike

[llm]
model = "claude-sonnet-4-5"
api_key_env = "ANTHROPIC_API_KEY"   # the variable holding the key, not the key

[[sources]]
name = "shop"
start_urls = ["http://127.0.0.1:8000/"]
allow = ["/category/", "/product/"]   # regexes; a URL must match one (if any are given)
deny = ["\\\\?sort="]                  # regexes; a URL matching one is skipped
render = "http"                        # http | browser | auto (browser only for app shells)
sitemaps = true                        # seed from robots.txt Sitemap: lines or /sitemap.xml
recrawl_after_s = 0                    # revisit known URLs after this many seconds (0: every run)
max_pages = 2000
product_urls = ["/product/"]           # regexes: such a page without a product is quarantined
llm = "never"                          # never | fallback (pages the rules miss) | always
prefer = "structured"                  # structured | selectors: which wins when both give a field

# CSS rules for pages without structured data: "css" (text), "css@attr" (attribute), or
# { css = "...", attr = "...", regex = "..." } keeping the regex's first group.
[sources.selectors]
name = "h1.product-title"
price = ".product-main .price"
sku = { css = ".sku", regex = "SKU:\\\\s*(\\\\S+)" }
availability = ".stock"
brand = "a.brand"

# [[alerts]]
# name = "big drops"
# kind = "price_drop"          # price_drop | price_spike | all_time_low | back_in_stock | ...
# threshold_pct = 15
# severity = "warning"
# channels = ["team"]

# [[channels]]
# name = "team"
# kind = "telegram"            # telegram | discord | email | webhook
# token_env = "VOIDX_TELEGRAM_TOKEN"
# chat_id = "-1001234567890"

# [[datasets]]
# name = "events"
# kind = "jsonl"               # jsonl | csv | rest | sql
# location = "data/events.jsonl"
# primary_key = ["id"]

# [[schedules]]
# name = "every-4h"
# command = "run"
# cron = "0 */4 * * *"
'''

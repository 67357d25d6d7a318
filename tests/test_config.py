"""voidx.toml parsing: defaults, environment overrides, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from voidx.config import EXAMPLE_CONFIG, load_settings, parse_config
from voidx.errors import ConfigError

GOOD = """
[crawl]
concurrency = 4

[[sources]]
name = "a"
start_urls = ["http://127.0.0.1:1/"]

[[sources]]
name = "b"
start_urls = [
    "http://127.0.0.1:2/",
]
render = "http"
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return str(info.value)


def test_example_config_is_valid() -> None:
    config = parse_config(EXAMPLE_CONFIG)
    assert config.sources[0].name == "shop"
    assert config.sources[0].selectors["sku"] == {"css": ".sku", "regex": r"SKU:\s*(\S+)"}
    assert config.crawl.obey_robots is True


def test_defaults_and_values() -> None:
    config = parse_config(GOOD)
    assert config.crawl.concurrency == 4
    assert config.crawl.retries == 3
    assert [s.name for s in config.sources] == ["a", "b"]
    assert config.source("b").start_urls == ["http://127.0.0.1:2/"]


def test_unknown_key_in_second_source_names_its_line() -> None:
    text = GOOD.replace('render = "http"', 'render = "http"\nmax_pagez = 10')
    assert error_of(text) == "voidx.toml line 15: sources[1].max_pagez: unknown key"


def test_type_error_names_line_and_key() -> None:
    message = error_of(GOOD.replace("concurrency = 4", 'concurrency = "many"'))
    assert message.startswith("voidx.toml line 3: crawl.concurrency: ")
    assert "integer" in message


def test_bad_choice() -> None:
    message = error_of(GOOD.replace('render = "http"', 'render = "chrome"'))
    assert message.startswith("voidx.toml line 14: sources[1].render: ")


def test_bad_url_and_regex() -> None:
    assert error_of('[[sources]]\nname = "x"\nstart_urls = ["ftp://x/"]\n') == (
        "voidx.toml line 3: sources[0].start_urls: not an http(s) URL: 'ftp://x/'")
    message = error_of('[[sources]]\nname = "x"\nstart_urls = ["http://x/"]\nallow = ["(["]\n')
    assert message.startswith("voidx.toml line 4: sources[0].allow: bad regular expression")


def test_selector_rule_table_error_points_at_the_rule() -> None:
    text = GOOD + '\n[sources.selectors]\nname = "h1"\nprice = { css = ".p", colour = "x" }\n'
    assert error_of(text) == ("voidx.toml line 18: sources[1].selectors.price: "
                              "a rule table takes css (required), attr, regex")


def test_toml_syntax_error_has_line() -> None:
    assert error_of('[crawl]\nconcurrency = 4\nretries = = 3\n').startswith(
        "voidx.toml line 3: invalid TOML")


def test_duplicate_source_names() -> None:
    message = error_of(GOOD.replace('name = "b"', 'name = "a"'))
    assert "source name 'a' is used twice" in message


def test_unknown_source_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no source named 'zz'"):
        parse_config(GOOD).source("zz")


def test_environment_overrides_file(tmp_path: Path) -> None:
    (tmp_path / "voidx.toml").write_text(GOOD)
    settings = load_settings(tmp_path, environ={"VOIDX_CRAWL__CONCURRENCY": "32",
                                                "VOIDX_DB": str(tmp_path / "x.db")})
    assert settings.config.crawl.concurrency == 32
    assert settings.db_path == tmp_path / "x.db"
    # every one-table section takes them, [extract] included
    assert load_settings(tmp_path, environ={"VOIDX_EXTRACT__WORKERS": "3"}
                         ).config.extract.workers == 3
    with pytest.raises(ConfigError, match="VOIDX_CRAWL__RETRIES: Input should be a valid"):
        load_settings(tmp_path, environ={"VOIDX_CRAWL__RETRIES": "lots"})


def test_missing_config_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.config.sources == []
    assert settings.db_path == tmp_path / ".voidx" / "voidx.db"
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path, config=tmp_path / "nope.toml", environ={})


def test_a_bad_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^environment variable VOIDX_CRAWL__CONCURENCY: "
                                          r"unknown key$"):
        load_settings(tmp_path, environ={"VOIDX_CRAWL__CONCURENCY": "4"})
    (tmp_path / "voidx.toml").write_bytes("[crawl]\nretries = 3 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(tmp_path, environ={})

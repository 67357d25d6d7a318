"""The voidx error tree; the CLI maps each class to an exit code and a one-line message.

    VoidxError                      exit 1 unless stated
    ├── UsageError                  exit 2: bad option or argument
    ├── ConfigError                 exit 2: voidx.toml or environment is wrong (names file, line, key)
    ├── StoreError                  the SQLite store cannot be opened or migrated
    ├── NotAvailableError           the command's stage is not built yet
    └── StageError                  a stage failed; carries the stage and run id
        ├── FetchError              one URL could not be fetched; `transient` says if a retry can help
        └── ExtractionError         one page yielded no valid record
"""

from __future__ import annotations


class VoidxError(Exception):
    """Base of every error voidx reports to the user."""

    exit_code = 1


class UsageError(VoidxError):
    exit_code = 2


class ConfigError(VoidxError):
    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.path, self.line, self.key = path, line, key
        where = path or "voidx.toml"
        if line is not None:
            where += f" line {line}"
        prefix = f"{where}: " + (f"{key}: " if key else "")
        super().__init__(prefix + message)


class StoreError(VoidxError):
    pass


class NotAvailableError(VoidxError):
    """The command exists in the CLI contract but its stage lands in a later release."""

    def __init__(self, command: str, what: str) -> None:
        super().__init__(f"'voidx {command}' is not available yet: {what}")


class StageError(VoidxError):
    def __init__(self, message: str, *, stage: str | None = None, run_id: int | None = None) -> None:
        self.stage, self.run_id = stage, run_id
        super().__init__(message)


class FetchError(StageError):
    def __init__(self, url: str, reason: str, *, transient: bool) -> None:
        self.url, self.reason, self.transient = url, reason, transient
        super().__init__(f"{url}: {reason}", stage="crawl")


class ExtractionError(StageError):
    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}", stage="extract")

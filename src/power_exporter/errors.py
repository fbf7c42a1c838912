"""The exception tree of power-exporter.

::

    PowerExporterError
    ├── ConfigError            (file, line, field)   the CLI prints it and exits 2
    ├── ListenError            (address)             cannot listen: the CLI exits 3
    └── SourceError            reason: ClassVar[str] the label of read_errors_total{reason}
        ├── ConnectError       "connect"             the peer could not be reached, or dropped us
        ├── AuthError          "auth"                the peer refused our credentials
        ├── DeviceTimeoutError "timeout"             no answer within the budget
        ├── DecodeError        "decode"              a bad line, frame, JSON or protobuf
        ├── ProtocolError      "protocol"            the peer answered with an error (NUT ERR)
        ├── StaleError         "stale"               the peer says its data is not to be trusted
        └── OfflineError       "offline"             the peer says the device is offline

Sources map their libraries' exceptions onto this tree at one boundary each; the runtime
catches ``SourceError`` per device and never lets one escape into another device or the
HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from collections.abc import Sequence


class PowerExporterError(Exception):
    """Base of every error power-exporter raises on purpose."""


class ConfigError(PowerExporterError):
    """A configuration that cannot be used, located as precisely as we can.

    One error names one problem; :meth:`of` joins every problem found in a file into one
    error, whose attributes are the first problem's and whose ``problems`` are all of them.
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str = ""
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.problems: tuple[ConfigError, ...] = (self,)
        super().__init__(str(self))

    @classmethod
    def of(cls, problems: Sequence[ConfigError]) -> ConfigError:
        """One error for every problem of a file, in order (at least one)."""
        first = problems[0]
        error = cls(first.message, file=first.file, line=first.line, field=first.field)
        error.problems = tuple(problems)
        error.args = (str(error),)
        return error

    def where(self) -> str:
        """``file:line: field: `` as far as each is known ("" when none is)."""
        where = self.file or ""
        if where and self.line is not None:
            where += f":{self.line}"
        parts = [part for part in (where, self.field) if part]
        return "".join(f"{part}: " for part in parts)

    def __str__(self) -> str:
        return "\n".join(f"{p.where()}{p.message}" for p in self.problems)


class ListenError(PowerExporterError):
    """The HTTP server cannot listen on its address (in use, no permission, no such address)."""

    def __init__(self, address: str, message: str) -> None:
        self.address = address
        self.message = message
        super().__init__(f"cannot listen on {address}: {message}")


class SourceError(PowerExporterError):
    """A device could not be read; ``reason`` labels the error counter."""

    reason: ClassVar[str] = "error"


class ConnectError(SourceError):
    """The peer could not be reached, or the connection dropped."""

    reason = "connect"


class AuthError(SourceError):
    """The peer refused our credentials."""

    reason = "auth"


class DeviceTimeoutError(SourceError):
    """No answer within the time budget."""

    reason = "timeout"


class DecodeError(SourceError):
    """The peer sent something we cannot parse."""

    reason = "decode"


class ProtocolError(SourceError):
    """The peer answered with an error of its protocol."""

    reason = "protocol"


class StaleError(SourceError):
    """The peer says its data must not be trusted (NUT ``DATA-STALE``)."""

    reason = "stale"


class OfflineError(SourceError):
    """The peer says the device is offline."""

    reason = "offline"

"""The exception tree of power-exporter.

::

    PowerExporterError
    ├── ConfigError            (file, line, field)   the CLI prints it and exits 2
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

from typing import ClassVar


class PowerExporterError(Exception):
    """Base of every error power-exporter raises on purpose."""


class ConfigError(PowerExporterError):
    """A configuration that cannot be used, located as precisely as we can."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str = ""
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


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

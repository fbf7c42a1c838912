"""Load and validate the YAML configuration; every error names the file, the line and the field.

The file is composed into YAML nodes first so that every value keeps its line; ``${VAR}``
and ``${VAR:-default}`` are expanded in string scalars (``$$`` is a literal ``$``); then the
top level and each device (by its ``source`` kind, from the registry) are validated with
pydantic.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from power_exporter.errors import ConfigError
from power_exporter.sources.base import DeviceConfig, Duration
from power_exporter.sources.registry import KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_LISTEN: Final = ":9860"
MAX_NODES: Final = 100_000
# libyaml's parser where PyYAML was built with it (it is in the wheels): 3x faster to compose.
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# ``$$`` is a literal ``$``; ``${VAR}`` and ``${VAR:-default}`` are expanded; any other ``${``
# is an error (a typo, or a ``$`` meant literally: write ``$$``).
_ENV_REF: Final = re.compile(r"\$\$|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})?")
# Keys whose values are secrets: an error about their expansion names no part of them.
_SECRET_KEY: Final = re.compile(r"(?i)password|secret|key|token")


class Settings(BaseModel):
    """The top level of the file, less ``devices``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = DEFAULT_LISTEN
    log_level: str = Field(default="info", pattern=r"(?i)^(debug|info|warning|error|critical)$")
    # Upper bound of the exponential backoff after failed reads (never below a device's interval).
    backoff_max: Duration = 60.0


class Config(BaseModel):
    """A validated configuration."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings = Settings()
    devices: tuple[DeviceConfig, ...] = ()
    file: str | None = None


class _Tracked:
    """Python data built from YAML nodes, with the line of every path."""

    def __init__(self, file: str, environ: Mapping[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.lines: dict[tuple[str | int, ...], int] = {}
        self.built = 0

    def build(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:  # noqa: ANN401 (YAML is untyped)
        self.built += 1
        if self.built > MAX_NODES:  # aliases of aliases ("billion laughs") expand exponentially
            raise self.error(
                f"more than {MAX_NODES} values: aliases expanding out of hand", path, node
            )
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    raise self.error("keys must be plain strings", path, key_node)
                if key in out:
                    raise self.error(f"duplicate key {key!r}", (*path, key), key_node)
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        value = _scalar(node)
        if isinstance(value, str) and "$" in value:
            return self.expand(value, path, node)
        return value

    def expand(self, value: str, path: tuple[str | int, ...], node: yaml.Node) -> str:
        secret = bool(path) and bool(_SECRET_KEY.search(str(path[-1])))

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if match.group(0) == "$$":
                return "$"
            if name is None:
                raise self.error(
                    "'${' is not ${VAR} or ${VAR:-default}: write $$ for a $", path, node
                )
            found = self.environ.get(name)
            if found is None:
                if default is None:
                    shown = (
                        "an environment variable it names"
                        if secret
                        else f"environment variable {name}"
                    )
                    raise self.error(f"{shown} is not set (write $$ for a $)", path, node)
                return default
            return found

        return _ENV_REF.sub(substitute, value)

    def error(self, message: str, path: tuple[str | int, ...], node: yaml.Node) -> ConfigError:
        return ConfigError(
            message, file=self.file, line=node.start_mark.line + 1, field=dotted(path)
        )

    def line(self, path: tuple[str | int, ...]) -> int | None:
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


_CONSTRUCTOR: Final = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:  # noqa: ANN401 (YAML is untyped)
    """The value of a scalar node, as safe YAML reads it (without re-parsing it as a document)."""
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    finally:
        _CONSTRUCTOR.constructed_objects.clear()  # keyed by node: keep nothing between files


def dotted(path: tuple[str | int, ...]) -> str:
    """``('devices', 0, 'interval')`` -> ``devices[0].interval``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _first_error(
    exc: ValidationError, tracked: _Tracked, prefix: tuple[str | int, ...]
) -> ConfigError:
    err = exc.errors(include_url=False, include_input=False)[0]
    loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and "[" in part))
    path = (*prefix, *loc)
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    return ConfigError(message, file=tracked.file, line=tracked.line(path), field=dotted(path))


def validate(
    data: object,
    *,
    file: str | None = None,
    tracked: _Tracked | None = None,
    base_dir: Path | None = None,
) -> Config:
    """Validate already-parsed configuration data (from YAML or built from the environment)."""
    tracked = tracked or _Tracked(file or "<config>", os.environ)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a mapping", file=tracked.file, line=1)
    raw_devices = data.pop("devices", [])
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, tracked, ()) from None
    if not isinstance(raw_devices, list):
        raise ConfigError(
            "devices must be a list",
            file=tracked.file,
            line=tracked.line(("devices",)),
            field="devices",
        )
    devices: list[DeviceConfig] = []
    seen: dict[str, int] = {}
    context = {"base_dir": base_dir or Path.cwd()}
    for index, raw in enumerate(raw_devices):
        path: tuple[str | int, ...] = ("devices", index)
        if not isinstance(raw, dict):
            raise ConfigError(
                "each device must be a mapping",
                file=tracked.file,
                line=tracked.line(path),
                field=dotted(path),
            )
        kind = KINDS.get(str(raw.get("source", "")))
        if kind is None:
            known = ", ".join(sorted(KINDS)) or "none"
            raise ConfigError(
                f"unknown or missing source {raw.get('source')!r} (known: {known})",
                file=tracked.file,
                line=tracked.line((*path, "source")),
                field=dotted((*path, "source")),
            )
        try:
            device = kind.config.model_validate(raw, context=context)
        except ValidationError as exc:
            raise _first_error(exc, tracked, path) from None
        if device.name in seen:
            raise ConfigError(
                f"device name {device.name!r} is used twice"
                f" (first at devices[{seen[device.name]}])",
                file=tracked.file,
                line=tracked.line((*path, "name")),
                field=dotted((*path, "name")),
            )
        seen[device.name] = index
        devices.append(device)
    return Config(settings=settings, devices=tuple(devices), file=file)


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, expand and validate a configuration file."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError("not UTF-8 text", file=name, line=line) from None
    tracked = _Tracked(name, os.environ if environ is None else environ)
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = tracked.build(node, ()) if node is not None else {}
    except yaml.MarkedYAMLError as exc:  # syntax, and tags that safe YAML cannot build
        mark = exc.problem_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem}", file=name, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:  # the reader's: a character YAML does not allow
        raise ConfigError(f"not valid YAML: {str(exc).splitlines()[0]}", file=name) from None
    except RecursionError:  # found by fuzzing: '&a [*a]', or thousands of nested brackets
        raise ConfigError(
            "not valid YAML: nested too deeply, or an alias that contains itself", file=name
        ) from None
    return validate(data, file=name, tracked=tracked, base_dir=Path(path).resolve().parent)


def from_environment(environ: Mapping[str, str]) -> Config:
    """The configuration of the tools we replace, from their environment variables."""
    devices: list[dict[str, object]] = []
    for kind in KINDS.values():
        if kind.from_env is not None:
            devices.extend(kind.from_env(environ))
    data: dict[str, object] = {"devices": devices}
    if environ.get("EXPORTER_PORT"):
        data["listen"] = f":{environ['EXPORTER_PORT']}"
    if environ.get("LOG_LEVEL"):
        data["log_level"] = environ["LOG_LEVEL"].lower()
    return validate(data, file="<environment>")

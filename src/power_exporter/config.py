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
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from power_exporter.errors import ConfigError
from power_exporter.sources.base import DeviceConfig, Duration, FieldError
from power_exporter.sources.registry import KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic_core import ErrorDetails

ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_LISTEN: Final = ":9860"
# Values built again through aliases; the file's own values are bounded by its size (a fleet's
# config of 30,000 devices has some 300,000), and are not counted.
MAX_NODES: Final = 100_000
# No configuration needs more than a handful of levels; deeper is refused with one message,
# whatever limit the YAML library has (PyYAML 6.0.4's libyaml stops at 1000 with its own).
MAX_DEPTH: Final = 64
# libyaml's parser where PyYAML was built with it (it is in the wheels): 3x faster to compose.
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# ``$$`` is a literal ``$``; ``${VAR}`` and ``${VAR:-default}`` are expanded; any other ``${``
# is an error (a typo, or a ``$`` meant literally: write ``$$``).
_ENV_REF: Final = re.compile(r"\$\$|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})?")


LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[v6]:PORT`` -> (host, port); an empty host is every address."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:  # noqa: PLR2004
        raise ValueError(f"{text!r} is not an address to listen on: write HOST:PORT or :PORT")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (listening on all is the default)


def _listen_text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        message = f'an address is expected: quote it, with a colon: listen: ":{value}"'
        raise ValueError(message)  # noqa: TRY004 (pydantic reports ValueError, not TypeError)
    return value


class Settings(BaseModel):
    """The top level of the file, less ``devices``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: Annotated[str, BeforeValidator(_listen_text)] = DEFAULT_LISTEN
    log_level: str = "info"
    # Upper bound of the exponential backoff after failed reads (never below a device's interval).
    backoff_max: Duration = 60.0
    # Sharding (docs/scaling.md): this replica's shard out of total_shards, and the URL
    # template of the replicas for /sd?all=1 ({shard} stands for the shard number).
    shard: int | None = Field(default=None, ge=0)
    total_shards: int = Field(default=1, ge=1)
    shard_peers: str | None = Field(default=None, min_length=1)

    @field_validator("shard_peers")
    @classmethod
    def _check_peers(cls, value: str | None) -> str | None:
        if value is not None and "{shard}" not in value:
            raise ValueError(
                "put {shard} where the shard number goes, as in"
                " http://power-exporter-{shard}.power-exporter:9860"
            )
        return value

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level: use {_either(LOG_LEVELS)}")
        return value.lower()


class Config(BaseModel):
    """A validated configuration."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings = Settings()
    devices: tuple[DeviceConfig, ...] = ()
    file: str | None = None


class _Tracked:
    """Python data built from YAML nodes, with the line of every path, and the problems found."""

    def __init__(self, file: str | None, environ: Mapping[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.lines: dict[tuple[str | int, ...], int] = {}
        self.built = 0
        self._seen: set[int] = set()  # the nodes built once (their ids; the graph outlives us)
        self.problems: list[ConfigError] = []

    def build(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:  # noqa: ANN401 (YAML is untyped)
        if id(node) in self._seen:  # an alias's node, built again
            self.built += 1
        else:
            self._seen.add(id(node))
        if self.built > MAX_NODES:  # aliases of aliases ("billion laughs") expand exponentially
            raise self.error(
                f"more than {MAX_NODES} values: aliases expanding out of hand", path, node
            )
        if len(path) >= MAX_DEPTH:  # our own bound, whatever the YAML library allows
            raise self.error(
                f"nested more than {MAX_DEPTH} levels deep, or an alias that contains itself",
                path[:3],
                node,
            )
        self.lines.setdefault(path, node.start_mark.line + 1)  # a key's own line, if it has one
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    self.problems.append(self.error("keys must be plain strings", path, key_node))
                    continue
                if key in out:
                    self.problems.append(
                        self.error(f"duplicate key {key!r}", (*path, key), key_node)
                    )
                    continue
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
                message = "'${' is not ${VAR} or ${VAR:-default}: write $$ for a $"
                self.problems.append(self.error(message, path, node))
                return ""
            found = self.environ.get(name)
            if found is None:
                if default is None:
                    shown = (
                        "an environment variable it names"
                        if secret
                        else f"environment variable {name}"
                    )
                    self.problems.append(self.error(f"{shown} is not set", path, node))
                    return ""
                return default
            return found

        return _ENV_REF.sub(substitute, value)

    def error(self, message: str, path: tuple[str | int, ...], node: yaml.Node) -> ConfigError:
        return ConfigError(
            message, file=self.file, line=node.start_mark.line + 1, field=dotted(path)
        )

    def problem(self, message: str, path: tuple[str | int, ...]) -> None:
        """Note a problem at ``path`` (at the line of its key, or of the nearest one above)."""
        self.problems.append(
            ConfigError(message, file=self.file, line=self.line(path), field=dotted(path))
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


def _either(words: Sequence[str]) -> str:
    """``a, b or c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


# Keys whose value must never be echoed in a message (secrets, and where they come from).
_SECRET_KEY: Final = re.compile(r"(?i)pass|secret|key|token")


def _message(err: ErrorDetails, key: str | int, model: type[BaseModel]) -> str:
    """Pydantic's wording of one error, made for people."""
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden":
        import difflib  # noqa: PLC0415 (only for a wrong key)

        close = difflib.get_close_matches(str(key), [*model.model_fields, "devices"], n=1)
        return f"unknown key (did you mean {close[0]}?)" if close else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_type" and isinstance(given, int | float):  # bool is an int
        shown = "..." if _SECRET_KEY.search(str(key)) else given
        return f'a string is expected: quote it: {key}: "{shown}"'
    if kind == "string_pattern_mismatch" and key == "name":
        return "a name is one word, without spaces or '/' (a '/' joins an entry to its devices)"
    return err["msg"].removeprefix("Value error, ")


def _validated(
    model: type[ModelT],
    data: dict[str, Any],
    tracked: _Tracked,
    prefix: tuple[str | int, ...],
    context: dict[str, object],
) -> ModelT | None:
    """``model`` built from ``data``, or None with every error noted in ``tracked``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        reported = {problem.field for problem in tracked.problems}
        for err in exc.errors(include_url=False):
            loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and "[" in part))
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, FieldError):  # a check across keys that blames one of them
                loc = (*loc, cause.field)
            path = (*prefix, *loc)
            if dotted(path) not in reported:  # e.g. an unset ${VAR}, already said
                tracked.problem(_message(err, loc[-1] if loc else "", model), path)
        return None


def _source_problem(source: object) -> str:
    known = ", ".join(sorted(KINDS)) or "none"
    if source is None:
        return f"required key is missing: which source reads this device? one of {known}"
    return f"unknown source {source!r}: use one of {known}"


def validate(
    data: object,
    *,
    file: str | None = None,
    tracked: _Tracked | None = None,
    base_dir: Path | None = None,
) -> Config:
    """Validate already-parsed configuration data (from YAML or built from the environment).

    Every problem is reported at once, in one :class:`ConfigError`; a configuration without
    a device is one, since there would be nothing to serve.
    """
    tracked = tracked or _Tracked(file, os.environ)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a mapping", file=tracked.file, line=1)
    listed = "devices" in data
    raw_devices = data.pop("devices", None)
    context: dict[str, object] = {"base_dir": base_dir or Path.cwd()}
    settings = _validated(Settings, data, tracked, (), context)
    devices = _devices(raw_devices, tracked, context)
    if not devices and not tracked.problems:
        message = (
            "no devices configured: list at least one under devices:"
            " (examples/demo.yaml has one of each source)"
        )
        if listed:
            tracked.problem(message, ("devices",))
        else:
            tracked.problems.append(ConfigError(message, file=tracked.file))
    if tracked.problems:  # in the order of the file
        raise ConfigError.of(sorted(tracked.problems, key=lambda p: p.line or 0))
    return Config(settings=settings or Settings(), devices=tuple(devices), file=file)


def _devices(
    raw_devices: object, tracked: _Tracked, context: dict[str, object]
) -> list[DeviceConfig]:
    if raw_devices is None:
        return []
    if not isinstance(raw_devices, list):
        tracked.problem("devices must be a list (of mappings, each with - in front)", ("devices",))
        return []
    devices: list[DeviceConfig] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_devices):
        path: tuple[str | int, ...] = ("devices", index)
        if not isinstance(raw, dict):
            tracked.problem("each device must be a mapping of keys (name:, source:...)", path)
            continue
        source = raw.get("source")
        kind = KINDS.get(source) if isinstance(source, str) else None
        if kind is None:
            tracked.problem(_source_problem(source), (*path, "source"))
            continue
        device = _validated(kind.config, raw, tracked, path, context)
        if device is None:
            continue
        if device.name in seen:
            tracked.problem(
                f"device name {device.name!r} is used twice"
                f" (first at devices[{seen[device.name]}])",
                (*path, "name"),
            )
            continue
        seen[device.name] = index
        devices.append(device)
    return devices


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
    if not devices:
        raise ConfigError(
            "no devices configured: pass --config FILE (see examples/demo.yaml), or set the"
            " environment variables of an exporter this one replaces (see the README)"
        )
    return validate(data, file="<environment>")

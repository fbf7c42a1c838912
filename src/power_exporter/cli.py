"""Command line: ``serve`` (the default), ``read``, ``discover`` and ``check-config``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import json
import logging
import os
import re
import signal
import sys
from typing import TYPE_CHECKING, Final

from aiohttp import web

from power_exporter import __version__, logs, webconfig
from power_exporter.config import Config, from_environment, load, parse_listen, validate
from power_exporter.errors import ConfigError, ListenError, PowerExporterError, SourceError
from power_exporter.exposition.contract import MEASURES
from power_exporter.exposition.text import Renderer, rounded
from power_exporter.http import make_app
from power_exporter.model import DeviceFault, Reading
from power_exporter.runtime import Runtime
from power_exporter.sources.base import NoRawNaming, PolledSource, RawNaming
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping, Sequence

    from aiohttp.typedefs import Middleware

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig

log = logging.getLogger(__name__)

COMMANDS: Final = ("serve", "read", "discover", "check-config")
ONE_SHOT: Final = frozenset({"read", "discover", "check-config"})
EXIT_FAILED: Final = 1  # read, discover: a device could not be read, or nothing was found
EXIT_CONFIG: Final = 2  # a bad configuration or command line
EXIT_LISTEN: Final = 3  # serve: cannot listen (address in use, permission denied...)
EXIT_CODES: Final = f"""exit codes:
  0  success (serve: stopped by SIGTERM or SIGINT)
  {EXIT_FAILED}  read, discover: a device could not be read, or nothing was found
  {EXIT_CONFIG}  the configuration or the command line is wrong (every problem is listed)
  {EXIT_LISTEN}  serve: cannot listen on the address (in use, permission denied, not local)"""
# Why a bind fails, by errno, in words an operator can act on.
_BIND_ERRORS: Final[Mapping[int, str]] = {
    errno.EADDRINUSE: "the address is already in use (is another exporter running there?)",
    errno.EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EADDRNOTAVAIL: "no interface of this machine has that address",
}
_SIZE: Final = re.compile(r"^(\d+)\s*([kmg]?)i?b?$", re.IGNORECASE)


def _size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 10MiB")
    exponent = " kmg".index(match.group(2).lower() or " ")
    return int(match.group(1)) * int(1024**exponent)


def _listen(text: str) -> tuple[str, int]:
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--listen") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept apart so the README and --help stay in step)."""
    parser = argparse.ArgumentParser(
        prog="power-exporter",
        description="Prometheus exporter for UPSes (NUT, TrippLite HID), EcoFlow power "
        "stations and UDP power meters. Without a command it serves.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=None, help="debug, info (default), warning, error")
    common.add_argument("--log-file", help="also log to this file, rotated by size")
    common.add_argument(
        "--log-max-size",
        type=_size,
        default=10 * 1024 * 1024,
        help="rotate the log file at this size (default 10MiB)",
    )
    common.add_argument(
        "--log-backups", type=int, default=5, help="rotated log files to keep (default 5)"
    )
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument(
        "-v", "--verbose", action="store_true", help="log at debug level (default: warnings)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve /metrics (the default)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--config",
        help="YAML configuration; without it, the environment "
        "variables of the exporters this one replaces are used",
    )
    serve.add_argument("--listen", help="HOST:PORT to listen on (default :9860)")
    serve.add_argument(
        "--web.config.file",
        dest="web_config_file",
        help="exporter-toolkit web configuration: TLS and basic auth (/healthz stays open)",
    )
    serve.add_argument("--device-ip", help="UDP meter address (as DEVICE_UDP_IP)")
    serve.add_argument("--device-port", help="UDP meter port (as DEVICE_UDP_PORT)")

    read = sub.add_parser(
        "read", parents=[common, quiet], help="read one device once and print it as JSON"
    )
    read.add_argument(
        "target",
        help="a device of --config (an entry, or one device of a fan-out entry as ENTRY/SUB, "
        "the name /metrics shows), or a URL such as nut://[user@]host[:port]/ups, tripplite[:PATH]",
    )
    read.add_argument("--config", help="YAML configuration holding the device")

    discover = sub.add_parser(
        "discover", parents=[common, quiet], help="list what can be monitored, as config snippets"
    )
    discover.add_argument("where", nargs="?", help="e.g. a upsd host[:port] (default localhost)")

    check = sub.add_parser(
        "check-config",
        parents=[common, quiet],
        help="validate a configuration file as serve does (exit 0, or 2 listing every problem)",
    )
    check.add_argument("file")
    return parser


def _argv_with_command(argv: Sequence[str]) -> list[str]:
    args = list(argv)
    if not any(arg in COMMANDS or arg in {"-h", "--help", "--version"} for arg in args):
        args.insert(0, "serve")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``power-exporter`` command."""
    args = build_parser().parse_args(_argv_with_command(sys.argv[1:] if argv is None else argv))
    one_shot = args.command in ONE_SHOT
    if one_shot:  # a command for a person: plain text, and quiet unless asked
        level = args.log_level or ("debug" if args.verbose else "warning")
    else:
        level = args.log_level or os.environ.get("LOG_LEVEL", "info")
    logs.setup(
        level,
        log_file=args.log_file,
        max_bytes=args.log_max_size,
        backups=args.log_backups,
        json_lines=False if one_shot else None,
    )
    try:
        return _run(args)
    except ConfigError as exc:
        _print_config_error(exc)
        return EXIT_CONFIG
    except ListenError as exc:
        print(f"power-exporter: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_LISTEN
    except PowerExporterError as exc:
        print(f"power-exporter: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        config = load(args.file)  # what serve loads, checked as serve checks it
        print(f"{args.file}: ok, {len(config.devices)} device(s)")  # noqa: T201
        return 0
    if args.command == "read":
        return asyncio.run(_read(args.target, args.config))
    if args.command == "discover":
        return asyncio.run(_discover(args.where))
    return _serve(args)


def _print_config_error(error: ConfigError) -> None:
    if len(error.problems) == 1:
        print(f"power-exporter: configuration error: {error}", file=sys.stderr)  # noqa: T201
        return
    lines = [f"power-exporter: {len(error.problems)} configuration errors:"]
    lines += [f"  {problem}" for problem in error.problems]
    print("\n".join(lines), file=sys.stderr)  # noqa: T201


# -- serve ----------------------------------------------------------------------------------


def _environment(args: argparse.Namespace) -> dict[str, str]:
    environ = dict(os.environ)
    if args.device_ip:
        environ["DEVICE_UDP_IP"] = args.device_ip
    if args.device_port:
        environ["DEVICE_UDP_PORT"] = args.device_port
    return environ


def _naming_for(kind: str) -> RawNaming:
    found = KINDS.get(kind)
    return found.naming if found is not None else NoRawNaming()


def _serve(args: argparse.Namespace) -> int:
    config = load(args.config) if args.config else from_environment(_environment(args))
    if not args.log_level:
        logging.getLogger().setLevel(config.settings.log_level.upper())
    host, port = _listen(args.listen or config.settings.listen)
    web_config = webconfig.load(args.web_config_file) if args.web_config_file else None
    ssl_context = webconfig.ssl_context(web_config) if web_config else None
    middlewares: tuple[Middleware, ...] = webconfig.middlewares(web_config) if web_config else ()
    asyncio.run(_serve_async(config, host, port, ssl_context, middlewares))
    return 0


async def _serve_async(
    config: Config,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    middlewares: tuple[Middleware, ...],
) -> None:
    store = Store()
    runtime = Runtime(config.devices, store, backoff_max=config.settings.backoff_max)
    app = make_app(store, Renderer(store, _naming_for), runtime, middlewares)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        reason = _BIND_ERRORS.get(exc.errno or 0) or str(exc.strerror or exc).lower()
        raise ListenError(address, reason) from None
    log.info("listening on %s:%d with %d device(s)", host, port, len(config.devices))
    runtime.start()
    # What start-up built (config, device tasks, renderer) lives as long as the process: keep it
    # out of every full garbage collection (0.2 s at 10,000 devices; bench/RESULTS.md).
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await runtime.stop()
        await runner.cleanup()


# -- read -----------------------------------------------------------------------------------


def _target_config(target: str, config_file: str | None) -> tuple[DeviceConfig, str | None]:
    """The config entry to open for ``target``, and the one device of it wanted (None: all)."""
    if config_file:
        config = load(config_file)
        by_name = {device.name: device for device in config.devices}
        if target in by_name:
            return by_name[target], None
        entry = target.partition("/")[0]
        if entry != target and entry in by_name:  # ENTRY/SUB: one device of a fan-out entry
            return by_name[entry], target
        if "://" not in target and ":" not in target and target not in KINDS:
            names = ", ".join(by_name)
            raise ConfigError(
                f"no device {target!r} in the configuration (there are: {names};"
                " name one device of an entry that fans out as ENTRY/SUB)",
                file=config_file,
            )
    scheme = target.split(":", 1)[0]
    for kind in KINDS.values():
        if scheme in kind.target_schemes and kind.target_config is not None:
            return validate({"devices": [kind.target_config(target)]}).devices[0], None
    schemes = ", ".join(s for kind in KINDS.values() for s in kind.target_schemes)
    raise ConfigError(f"cannot read {target!r}: name a device of --config or a URL ({schemes})")


def reading_json(reading: Reading) -> dict[str, object]:
    """A reading as plain JSON (the output of ``read``)."""
    identity = reading.identity
    return {
        "device": identity.name,
        "source": identity.source,
        "vendor": identity.vendor,
        "model": identity.model,
        "serial": identity.serial,
        "firmware": identity.firmware,
        "taken_at": reading.taken_at,
        "measures": {MEASURES[m].name: rounded(v) for m, v in reading.measures.items()},
        "status": {flag.value: flag in reading.flags for flag in sorted(reading.known_flags)},
        "raw": {name: rounded(value) for name, value in reading.raw.items()},
        "text": dict(reading.text),
    }


def _device_of(event: Event) -> str:
    return event.identity.name if isinstance(event, Reading) else event.device


async def _events(cfg: DeviceConfig, wanted: str | None) -> list[Event]:
    """One poll of the entry; or, from a stream, the first event (of ``wanted``, if given)."""
    async with KINDS[cfg.source].open(cfg) as source:
        try:
            async with asyncio.timeout(cfg.timeout):
                if isinstance(source, PolledSource):
                    return list(await source.read())
                async for event in source.stream():
                    if wanted is None or _device_of(event) == wanted:
                        return [event]
        except TimeoutError:
            what = wanted or cfg.name
            raise SourceError(f"{what}: no answer within {cfg.timeout:g} s") from None
    return []


async def _read(target: str, config_file: str | None) -> int:
    cfg, wanted = _target_config(target, config_file)
    kind = KINDS[cfg.source]
    events = await _events(cfg, wanted)
    if wanted is not None:
        found = sorted({_device_of(e) for e in events if isinstance(e, Reading | DeviceFault)})
        events = [event for event in events if _device_of(event) == wanted]
        if not events:
            raise SourceError(f"{cfg.name} has no device {wanted!r} (it has: {', '.join(found)})")
    readings = [event for event in events if isinstance(event, Reading)]
    failures = [event for event in events if isinstance(event, DeviceFault)]
    for fault in failures:
        print(f"power-exporter: {fault.device}: {fault.error}", file=sys.stderr)  # noqa: T201
    if kind.render_read is not None and readings:
        print(kind.render_read(readings))  # noqa: T201
    elif readings:
        docs = [reading_json(r) for r in readings]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, sort_keys=True))  # noqa: T201
    return 0 if readings and not failures else EXIT_FAILED


# -- discover -------------------------------------------------------------------------------


async def _discover(where: str | None) -> int:
    found: list[dict[str, object]] = []
    for kind in KINDS.values():
        if kind.discover is None:
            continue
        try:
            found.extend(await kind.discover(where))
        except SourceError as exc:
            print(f"power-exporter: {kind.name}: {exc}", file=sys.stderr)  # noqa: T201
    if not found:
        print("power-exporter: nothing found", file=sys.stderr)  # noqa: T201
        return EXIT_FAILED
    print(_yaml_devices(found))  # noqa: T201
    return 0


def _yaml_devices(devices: Sequence[Mapping[str, object]]) -> str:
    import yaml  # noqa: PLC0415 (only here)

    return yaml.safe_dump({"devices": [dict(d) for d in devices]}, sort_keys=False).rstrip()

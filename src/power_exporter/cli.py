"""Command line: ``serve`` (the default), ``read``, ``discover`` and ``check-config``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import socket
import sys
from typing import TYPE_CHECKING, Any, Final

from power_exporter import __version__, logs, sharding
from power_exporter.config import from_environment, load, validate
from power_exporter.errors import ConfigError, ListenError, PowerExporterError, SourceError
from power_exporter.exposition.contract import MEASURES
from power_exporter.exposition.text import rounded
from power_exporter.lifecycle import ServeOptions, serve
from power_exporter.model import DeviceFault, Reading
from power_exporter.server import Limits, parse_listen
from power_exporter.sources.base import NoRawNaming, PolledSource, RawNaming
from power_exporter.sources.registry import KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from power_exporter.config import Settings
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
_SIZE: Final = re.compile(r"^(\d+)\s*([kmg]?)i?b?$", re.IGNORECASE)


def _size(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 10MiB")
    exponent = " kmg".index(match.group(2).lower() or " ")
    return int(match.group(1)) * int(1024**exponent)


def _web_flags(serve: argparse.ArgumentParser) -> None:
    limits = Limits()
    web = serve.add_argument_group("HTTP server (as the Prometheus exporter-toolkit's flags)")
    web.add_argument(
        "--web.listen-address",
        "--listen",
        dest="listen",
        action="append",
        metavar="ADDRESS",
        help="HOST:PORT, [IPV6]:PORT or :PORT (every address, IPv4 and IPv6) to listen on; "
        "repeat for several (default: the config's listen, :9860)",
    )
    web.add_argument(
        "--web.systemd-socket",
        dest="systemd_socket",
        action="store_true",
        help="serve the sockets systemd passes (socket activation) instead of listening",
    )
    web.add_argument(
        "--web.external-url",
        dest="external_url",
        metavar="URL",
        help="the URL Prometheus reaches this exporter at; /sd lists it as the target "
        "(default: this host's name and the listen port)",
    )
    web.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="enable POST /-/reload (SIGHUP always reloads the config)",
    )
    web.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=int,
        default=limits.max_connections,
        metavar="N",
        help="connections open at once; when full, a new one replaces the one waiting "
        "longest unserved, or is closed if all are being served "
        f"(default {limits.max_connections}; keep it below the file limit)",
    )
    web.add_argument(
        "--web.request-timeout",
        dest="request_timeout",
        type=float,
        metavar="SECONDS",
        default=limits.request_timeout,
        help="seconds a client has to send a request's head, and a TLS handshake "
        f"(default {limits.request_timeout:g})",
    )
    web.add_argument(
        "--web.max-header-bytes",
        dest="max_header_bytes",
        type=_size,
        metavar="SIZE",
        default=limits.max_header_bytes,
        help="size of a request's head, all headers together "
        f"(default {limits.max_header_bytes // 1024}KiB)",
    )
    web.add_argument(
        "--web.idle-timeout",
        dest="idle_timeout",
        type=float,
        metavar="SECONDS",
        default=limits.idle_timeout,
        help=f"seconds an idle keep-alive connection stays open (default {limits.idle_timeout:g})",
    )
    web.add_argument(
        "--web.config.file",
        dest="web_config_file",
        metavar="FILE",
        help="exporter-toolkit web configuration: TLS and basic auth (/healthz stays open); "
        "re-read, with its certificates, when they change",
    )


def _shard_flags(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group(
        "sharding: replicas sharing one config, each serving its part (docs/scaling.md)"
    )
    group.add_argument(
        "--shard",
        type=int,
        metavar="N",
        help=f"this replica's shard, 0 to M-1 (${sharding.ENV_SHARD}, or the config's "
        "shard; default: the ordinal ending the hostname when --total-shards is above 1)",
    )
    group.add_argument(
        "--total-shards",
        type=int,
        metavar="M",
        help=f"replicas in the fleet (${sharding.ENV_TOTAL}, or the config's total_shards; "
        "default 1: no sharding)",
    )
    group.add_argument(
        "--shard-from-hostname",
        action="store_true",
        help="take the shard from the hostname's ordinal (a StatefulSet pod: name-2 is 2)",
    )
    group.add_argument(
        "--shard-peers",
        metavar="URL",
        help="every replica's URL, {shard} standing for its number, for /sd?all=1, e.g. "
        f"http://power-exporter-{{shard}}.power-exporter:9860 (${sharding.ENV_PEERS})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept apart so the README and --help stay in step)."""
    parser = argparse.ArgumentParser(
        prog="power-exporter",
        description="Prometheus exporter for UPSes and PDUs (NUT, apcupsd, SNMP, Tripp Lite "
        "HID), EcoFlow power stations and UDP power meters. Without a command it serves.",
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
    _web_flags(serve)
    _shard_flags(serve)
    serve.add_argument("--device-ip", help="UDP meter address (as DEVICE_UDP_IP)")
    serve.add_argument("--device-port", help="UDP meter port (as DEVICE_UDP_PORT)")

    read = sub.add_parser(
        "read", parents=[common, quiet], help="read one device once and print it as JSON"
    )
    read.add_argument(
        "target",
        help="a device of --config (an entry, or one device of a fan-out entry as ENTRY/SUB, "
        "the name /metrics shows), or a URL such as nut://[user@]host[:port]/ups,"
        " apcupsd://host[:port], tripplite[:PATH]",
    )
    read.add_argument("--config", help="YAML configuration holding the device")

    discover = sub.add_parser(
        "discover", parents=[common, quiet], help="list what can be monitored, as config snippets"
    )
    discover.add_argument(
        "where", nargs="?", help="e.g. a upsd or apcupsd host[:port] (default localhost)"
    )

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


def _sharding(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """ServeOptions' shard and shard_peers: flag, then environment, then config."""
    env_shard, env_total, env_peers = sharding.environment(os.environ)
    shard = sharding.resolve(
        sharding.first_int(args.shard, env_shard, settings.shard, field="shard"),
        sharding.first_int(
            args.total_shards, env_total, settings.total_shards, field="total_shards"
        ),
        hostname=os.environ.get("HOSTNAME") or socket.gethostname(),
        from_hostname=args.shard_from_hostname,
    )
    peers = args.shard_peers or env_peers or settings.shard_peers
    return {"shard": shard, "shard_peers": sharding.check_peers(peers) if peers else None}


def _serve(args: argparse.Namespace) -> int:
    for address in args.listen or ():
        parse_listen(address)  # a malformed --web.listen-address is a usage error, before all
    config = load(args.config) if args.config else from_environment(_environment(args))
    if not args.log_level:
        logging.getLogger().setLevel(config.settings.log_level.upper())
    options = ServeOptions(
        listen=tuple(args.listen or (config.settings.listen,)),
        limits=Limits(
            max_connections=max(1, args.max_connections),
            request_timeout=args.request_timeout,
            max_header_bytes=args.max_header_bytes,
            idle_timeout=args.idle_timeout,
        ),
        systemd_socket=args.systemd_socket,
        external_url=args.external_url,
        enable_lifecycle=args.enable_lifecycle,
        log_level_fixed=bool(args.log_level),
        **_sharding(args, config.settings),
    )
    web_config = None
    if args.web_config_file:
        # Only a web config file needs its models, TLS and basic auth (bcrypt): ~3 MB RSS.
        from power_exporter import webwatch  # noqa: PLC0415

        web_config = webwatch.LiveWebConfig(args.web_config_file)
    asyncio.run(serve(config, options, _naming_for, web_config))
    return 0


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

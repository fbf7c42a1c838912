"""``serve``'s life: listen, run, reload on SIGHUP or ``POST /-/reload``, stop on SIGTERM.

A reload re-reads the ``--config`` file. It is refused whole, with the error
``check-config`` prints, when the file is not valid: the running configuration stays. A
valid one is applied entry by entry (``Runtime.reconfigure``): an entry whose config is
unchanged keeps its state and connections, a removed one leaves ``/metrics``, a new one
starts. ``listen`` cannot change without a restart (the sockets are bound); that is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from power_exporter.config import Config, load
from power_exporter.errors import ConfigError
from power_exporter.exposition import contract
from power_exporter.exposition.pauses import freeze_when_settled, shorter_pauses
from power_exporter.exposition.text import Renderer
from power_exporter.http import Fleet, SdTarget, make_app
from power_exporter.runtime import Runtime
from power_exporter.server import (
    Guard,
    GuardedSite,
    Limits,
    RequestLog,
    bind,
    check_file_limit,
    describe,
    parse_listen,
    systemd_sockets,
)
from power_exporter.sharding import UNSHARDED, Shard
from power_exporter.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from power_exporter.exposition.text import SelfSample
    from power_exporter.sources.base import RawNaming
    from power_exporter.webwatch import LiveWebConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``serve``'s flags decide besides the config file."""

    listen: tuple[str, ...]
    limits: Limits
    systemd_socket: bool = False
    external_url: str | None = None
    enable_lifecycle: bool = False
    log_level_fixed: bool = False  # --log-level given: the file's log_level does not apply
    shard: Shard = UNSHARDED
    shard_peers: str | None = None  # URL template of the replicas, with {shard}


def _load(path: str | None) -> Config:
    if path is None:
        raise ConfigError("nothing to reload: the configuration came from the environment")
    config = load(path)
    if not config.devices:
        raise ConfigError("no devices configured", file=path)
    return config


class Reloader:
    """Re-reads the config file and applies it; one reload at a time."""

    def __init__(self, path: str | None, config: Config, runtime: Runtime, *, fixed: bool) -> None:
        self.path = path
        self.listen = config.settings.listen
        self.sharding = _sharding(config)
        self.runtime = runtime
        self.log_level_fixed = fixed
        self.successful = True
        self.success_at = time.time()
        self.lock = asyncio.Lock()

    async def reload(self) -> str:
        """Apply the file as it is now; raises ConfigError (the old config stays) if invalid."""
        async with self.lock:
            try:
                config = await asyncio.to_thread(_load, self.path)
            except ConfigError as exc:
                self.successful = False
                log.error(  # noqa: TRY400 (a refused file is not a bug: no traceback)
                    "reload refused, the running configuration stays: configuration error: %s",
                    exc,
                )
                raise
            done = await self.runtime.reconfigure(config.devices)
            self.runtime.backoff_max = config.settings.backoff_max
            if not self.log_level_fixed:
                logging.getLogger().setLevel(config.settings.log_level.upper())
            if config.settings.listen != self.listen:
                log.warning("listen changed to %s: that needs a restart", config.settings.listen)
            if _sharding(config) != self.sharding:
                log.warning("shard, total_shards or shard_peers changed: that needs a restart")
            self.successful = True
            self.success_at = time.time()
            summary = (
                f"reloaded {self.path}: {len(done.added)} added, {len(done.removed)} removed, "
                f"{len(done.changed)} changed, {len(done.kept)} unchanged"
            )
            log.info("%s", summary)
            return summary

    async def reload_quietly(self) -> None:
        """For SIGHUP: a refused file is logged (by ``reload``), nothing more."""
        with contextlib.suppress(ConfigError):
            await self.reload()

    def samples(self) -> Iterator[SelfSample]:
        """``power_exporter_config_last_reload_*``."""
        yield contract.RELOAD_OK, (), 1.0 if self.successful else 0.0
        yield contract.RELOAD_TIME, (), self.success_at


def _sharding(config: Config) -> tuple[object, ...]:
    settings = config.settings
    return settings.shard, settings.total_shards, settings.shard_peers


def shard_samples(shard: Shard, store: Store) -> Iterator[SelfSample]:
    """``power_exporter_shard_info`` and the number of devices this replica serves."""
    labels = (("shard", str(shard.index)), ("total_shards", str(shard.total)))
    yield contract.SHARD_INFO, labels, 1.0
    yield contract.SHARD_DEVICES, (), float(len(store))


def http_samples(guard: Guard) -> Iterator[SelfSample]:
    """The HTTP server's counts."""
    stats = guard.stats
    yield contract.HTTP_OPEN, (), float(stats.open)
    yield contract.HTTP_REFUSED, (), float(stats.refused)
    for reason, count in sorted(stats.rejected.items()):
        yield contract.HTTP_REJECTED, (("reason", reason),), float(count)


def _public_host(host: str) -> str:
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 (comparing, not binding)
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def sd_target(options: ServeOptions, sockets: Sequence[socket.socket], *, tls: bool) -> SdTarget:
    """``/sd``'s target: ``--web.external-url``, else the first listen address."""
    if options.external_url:
        try:
            return SdTarget.from_url(options.external_url)
        except ValueError as exc:
            raise ConfigError(str(exc), field="web.external-url") from None
    scheme = "https" if tls else "http"
    if options.systemd_socket or not options.listen:
        host, port = sockets[0].getsockname()[:2]
    else:
        given, port = parse_listen(options.listen[0])
        host = given or ""
    return SdTarget(f"{_public_host(str(host))}:{port}", scheme)


async def serve(
    config: Config,
    options: ServeOptions,
    naming_for: Callable[[str], RawNaming],
    web_config: LiveWebConfig | None,
) -> None:
    """Bind, serve and supervise until SIGTERM or SIGINT."""
    limits = options.limits
    if options.systemd_socket:
        sockets = systemd_sockets()
    else:
        sockets = [sock for address in options.listen for sock in bind(address)]
    store = Store()
    shard = options.shard
    runtime = Runtime(config.devices, store, backoff_max=config.settings.backoff_max, shard=shard)
    check_file_limit(limits, runtime.entries)  # the entries this replica runs
    renderer = Renderer(store, naming_for)
    guard = Guard(limits)
    reloader = Reloader(config.file, config, runtime, fixed=options.log_level_fixed)
    renderer.self_samples = lambda: (
        *reloader.samples(),
        *http_samples(guard),
        *shard_samples(shard, store),
    )
    ssl_context = web_config.server_context() if web_config is not None else None
    app = make_app(
        store,
        renderer,
        runtime,
        (web_config.middleware(),) if web_config is not None else (),
        sd_target=sd_target(options, sockets, tls=ssl_context is not None),
        reload=reloader.reload if options.enable_lifecycle else None,
        fleet=Fleet.from_template(options.shard_peers, shard.index, shard.total, runtime.fleet),
    )
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=limits.idle_timeout,
        logger=RequestLog(guard),
    )
    await runner.setup()
    settle: asyncio.Task[None] | None = None
    try:
        for sock in sockets:
            await GuardedSite(runner, sock, guard, ssl_context).start()
        addresses = ", ".join(describe(sock) for sock in sockets)
        log.info("listening on %s with %d device(s)", addresses, len(config.devices))
        if shard.sharded:
            log.info(
                "shard %d of %d: %d of %d entries run here, the others on the other replicas",
                shard.index,
                shard.total,
                runtime.entries,
                len(config.devices),
            )
        runtime.start()
        # What start-up built (config, device tasks, renderer) lives as long as the process:
        # keep it out of every full garbage collection (0.2 s at 10,000 devices).
        gc.collect()
        gc.freeze()
        shorter_pauses()
        release_free_memory()
        # And what each entry's task makes as it first runs, once every device has answered.
        settle = asyncio.create_task(freeze_when_settled(store), name="freeze-when-settled")
        await _until_stopped(reloader)
    finally:
        log.info("stopping")
        if settle is not None:
            settle.cancel()
        await runtime.stop()
        await runner.cleanup()


def release_free_memory() -> None:
    """Hand the heap that start-up freed (YAML, config validation) back to the system.

    glibc keeps freed memory for reuse; ``malloc_trim`` returns what it can. Elsewhere (musl,
    other systems) nothing is done.
    """
    import ctypes  # noqa: PLC0415 (only here, once)

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


async def _until_stopped(reloader: Reloader) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    def hangup() -> None:
        task = asyncio.create_task(reloader.reload_quietly(), name="reload")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hangup)
    await stop.wait()
    for task in reloads:
        task.cancel()

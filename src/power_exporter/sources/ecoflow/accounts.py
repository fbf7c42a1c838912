"""The account registry: one session per EcoFlow account, shared by every entry that uses it.

An EcoFlow account allows one MQTT session per client id: a second connection with the same
id makes the broker close the first (every MQTT broker does, EcoFlow's too). So the sources
do not connect themselves: each ``source: ecoflow`` entry *acquires* its account's hub here
when it is entered and releases it when it leaves. The first entry of an account starts the
hub (one MQTT connection, one device-list poller); the last one to leave closes it, so a
closed configuration leaks no connection. Entries only change what the hub subscribes to.

Keys: the app account is ``(host, user)``; the developer keys are ``(host, access key)``.
The app account's login state and client id are kept for the life of the registry (the
process), even while no entry uses them: EcoFlow limits the client ids an account may use.

The registry is made by the ``ecoflow`` source kind (one per process) and by tests (one per
test): nothing here is a module-level global.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import SecretStr

from power_exporter.sources.ecoflow.account import AppAccount, base_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from power_exporter.sources.ecoflow.config import EcoflowConfig
    from power_exporter.sources.ecoflow.rest import RestClient

log = logging.getLogger(__name__)


class Hub(Protocol):
    """What the registry needs of a shared session: start it, and close it."""

    async def start(self) -> None:
        """Open what the hub owns (sessions, tasks)."""
        ...

    async def close(self) -> None:
        """Close every connection and task of the hub."""
        ...


H = TypeVar("H", bound=Hub)


@dataclass(slots=True)
class _Held:
    hub: Hub
    users: int


class Accounts:
    """Hubs by account, reference-counted by the sources that use them."""

    def __init__(self) -> None:
        self._app_accounts: dict[tuple[str, str], AppAccount] = {}
        self._held: dict[tuple[str, ...], _Held] = {}

    def __repr__(self) -> str:
        return f"Accounts(open={len(self._held)})"

    def app_account(self, host: str, user: str, password: SecretStr) -> AppAccount:
        """The account object of ``user`` at ``host`` (one client id, one login backoff)."""
        url = base_url(host)
        account = self._app_accounts.get((url, user))
        if account is None:
            account = self._app_accounts[(url, user)] = AppAccount(url, user, password)
        elif account.password.get_secret_value() != password.get_secret_value():
            account.password = password
            account.refused()
            account.failures = 0
        return account

    def app_account_of(self, cfg: EcoflowConfig) -> AppAccount:
        """The app account an ``api: mqtt``/``device`` entry names."""
        return self.app_account(cfg.base_url, cfg.user or "", SecretStr(cfg.account_password()))

    async def acquire(self, key: tuple[str, ...], kind: type[H], make: Callable[[], H]) -> H:
        """The hub under ``key``, started by ``make`` if no entry holds it yet."""
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held(make(), 0)
            try:
                await held.hub.start()
            except BaseException:
                del self._held[key]
                raise
            log.debug("EcoFlow account hub %s opened", type(held.hub).__name__)
        held.users += 1
        if not isinstance(held.hub, kind):
            raise TypeError(f"{key[0]} hub is a {type(held.hub).__name__}, not a {kind.__name__}")
        return held.hub

    async def release(self, key: tuple[str, ...]) -> None:
        """One entry leaves; the last one closes the hub."""
        held = self._held.get(key)
        if held is None:
            return
        held.users -= 1
        if held.users <= 0:
            del self._held[key]
            await held.hub.close()
            log.debug("EcoFlow account hub %s closed", type(held.hub).__name__)

    def open_hubs(self) -> int:
        """How many hubs are open now (each owns at most one MQTT connection)."""
        return len(self._held)


class RestHub:
    """A developer REST client shared by the entries of one key pair (one device list)."""

    def __init__(self, client: RestClient) -> None:
        self.client = client

    async def start(self) -> None:
        """Open the client's HTTP session."""
        await self.client.__aenter__()

    async def close(self) -> None:
        """Close it."""
        await self.client.close()


def app_key(cfg: EcoflowConfig) -> tuple[str, ...]:
    """The registry key of an app account."""
    return ("app", base_url(cfg.base_url), cfg.user or "")


def developer_key(kind: str, cfg: EcoflowConfig) -> tuple[str, ...]:
    """The registry key of a developer key pair (``kind``: ``rest`` or ``open_mqtt``)."""
    access_key, _secret = cfg.developer_keys()
    return (kind, cfg.base_url, access_key)

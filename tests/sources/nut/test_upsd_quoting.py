"""What upsd's parser treats specially, against a real upsd: DEL, ``#``, quotes, backslashes.

upsd answers ``OK`` to any ``PASSWORD``: it only checks a password on LOGIN, SET and INSTCMD,
which power-exporter never sends. So a read with a password proves little by itself; here the
*test* (never the exporter) sends LOGIN after our own USERNAME/PASSWORD bytes, on a socket of
its own, as the oracle that upsd received exactly the password we meant.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from power_exporter.exposition.text import Renderer
from power_exporter.model import Reading, Roster
from power_exporter.sources.nut.client import NutClient
from power_exporter.sources.nut.lines import encode_request
from power_exporter.sources.nut.source import NutSource
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.peers.upsd import USERS, Upsd
from tests.sources.nut.conftest import DUMPS, nut_config

if TYPE_CHECKING:
    from collections.abc import Iterator

ONE, TWO, THREE = "eaton-ellipse-eco-1600", "apc-smart-ups-2200", "tripp-lite-ups"
ODD = "odd-serial"
ODD_SERIAL = "AB\x7fCD"
ODD_DESCRIPTION = "rack #4 \x7f left"


@pytest.fixture(scope="module")
def odd_upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upsd]:
    """Start upsd with three UPSes, one with DEL in ups.serial and # and DEL in its description."""
    root = tmp_path_factory.mktemp("upsd-odd")
    dump = DUMPS[ONE].read_text().splitlines()
    odd = root / "odd.dev"
    odd.write_text(
        "\n".join(
            f"ups.serial: {ODD_SERIAL}" if line.startswith("ups.serial:") else line for line in dump
        )
        + "\n"
    )
    upsd = Upsd(
        root / "nut",
        {ODD: odd, TWO: DUMPS[TWO], THREE: DUMPS[THREE]},
        descriptions={ODD: ODD_DESCRIPTION},
    )
    try:
        yield upsd.start()
    finally:
        upsd.stop()


def login_answer(upsd: Upsd, ups: str, user: str, password: str) -> str:
    """Send our encoded USERNAME/PASSWORD, then LOGIN (the test's oracle): upsd's answer."""
    requests = [
        encode_request(("USERNAME", user)),
        encode_request(("PASSWORD", password)),
        f"LOGIN {ups}\n".encode(),
    ]
    with socket.create_connection(("127.0.0.1", upsd.port), 3) as sock:
        sock.settimeout(3)
        stream = sock.makefile("rb")
        answers = []
        for request in requests:
            sock.sendall(request)
            answers.append(stream.readline().decode().strip())
    assert answers[:2] == ["OK", "OK"]
    return answers[2]


class TestDel:
    """DEL is inside upsd's byte range (0x20-0x7f): a value holding it is a value."""

    async def test_all_three_up_and_serial_kept(self, odd_upsd: Upsd) -> None:
        """The UPS whose serial holds DEL reads like the others, and its serial is as upsc says."""
        assert odd_upsd.upsc(ODD)["ups.serial"] == ODD_SERIAL
        cfg = nut_config(name="lab", server=odd_upsd.server, ups="*")
        async with NutSource(cfg) as source:
            writers = set()
            for _ in range(3):  # every poll, on the one connection
                events = {e.device: e for e in await source.read() if not isinstance(e, Roster)}
                assert set(events) == {f"lab/{ODD}", f"lab/{TWO}", f"lab/{THREE}"}
                assert all(isinstance(event, Reading) for event in events.values())
                writers.add(id(source.client._writer))
        assert len(writers) == 1
        odd = events[f"lab/{ODD}"]
        assert isinstance(odd, Reading)
        assert odd.identity.serial == ODD_SERIAL
        store = Store()
        for event in events.values():
            assert isinstance(event, Reading)
            store.update(event, unit=event.device, interval=15)
        page = Renderer(store, lambda kind: KINDS[kind].naming).render()
        assert ODD_SERIAL.encode() in page
        check_metrics(page)

    async def test_description_with_hash_and_del(self, odd_upsd: Upsd) -> None:
        """LIST UPS gives the description as upsc does: ``#`` unescaped, DEL kept."""
        async with NutClient("127.0.0.1", odd_upsd.port) as client:
            listed = await client.list_ups()
        assert listed[ODD] == ODD_DESCRIPTION
        assert listed == odd_upsd.upsc_list()


class TestPasswords:
    """Passwords with the parser's specials reach upsd intact (before: ``#`` hung upsd)."""

    @pytest.mark.parametrize("user", ["hash", "mixed"])
    async def test_source_reads_with_special_password(self, odd_upsd: Upsd, user: str) -> None:
        r"""``se#cret`` and ``pa ss"wo\rd``: upsd answers, and every UPS reads."""
        cfg = nut_config(
            name="lab", server=odd_upsd.server, ups="*", username=user, password=USERS[user]
        )
        async with NutSource(cfg) as source:
            events = [e for e in await source.read() if not isinstance(e, Roster)]
        assert len(events) == 3
        assert all(isinstance(event, Reading) for event in events)

    @pytest.mark.parametrize("user", ["hash", "mixed"])
    def test_upsd_received_the_password(self, odd_upsd: Upsd, user: str) -> None:
        """LOGIN accepts what we encoded, and refuses a wrong password (the oracle works)."""
        assert login_answer(odd_upsd, TWO, user, USERS[user]) == "OK"
        assert login_answer(odd_upsd, TWO, user, USERS[user] + "x") == "ERR ACCESS-DENIED"

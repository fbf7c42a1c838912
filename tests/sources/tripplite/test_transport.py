"""The real transport: hidapi imported lazily, a clear message without it, its real API."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from power_exporter.sources.tripplite import Battery, TrippliteSource, battery_paths
from power_exporter.sources.tripplite.transport import (
    INSTALL_HINT,
    TRIPPLITE_VENDOR_ID,
    HidapiTransport,
    HidUnavailableError,
    _HidapiHandle,
    device_info,
    load_hidapi,
)
from tests.sources.tripplite.test_source import config

INSTALL = "pip install hidapi"


@pytest.fixture
def no_hidapi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import hid`` and ``import hidraw`` fail, as without the package."""
    monkeypatch.setitem(sys.modules, "hid", None)
    monkeypatch.setitem(sys.modules, "hidraw", None)


class TestWithoutHidapi:
    """Without the hidapi package: the rest works, and HID says what to install."""

    @pytest.mark.usefixtures("no_hidapi")
    def test_message(self) -> None:
        """Loading hidapi fails with the command that installs it."""
        assert INSTALL_HINT == INSTALL
        with pytest.raises(HidUnavailableError) as caught:
            load_hidapi()
        assert INSTALL in str(caught.value)
        assert "needs the hidapi package" in str(caught.value)
        assert caught.value.reason == "connect"

    @pytest.mark.usefixtures("no_hidapi")
    async def test_source_read(self) -> None:
        """The source opens, and its first read fails with that message."""
        async with TrippliteSource(config(), hostname="h") as src:
            with pytest.raises(HidUnavailableError, match=INSTALL):
                await src.read()

    @pytest.mark.usefixtures("no_hidapi")
    def test_python_api(self) -> None:
        """The Python API says the same."""
        with pytest.raises(HidUnavailableError, match="hidapi"):
            battery_paths()
        with pytest.raises(HidUnavailableError, match="hidapi"), Battery():
            pass

    def test_package_imports_without_hidapi(self) -> None:
        """Importing the kind (and the registry) never imports hidapi."""
        code = textwrap.dedent(
            """
            import sys
            sys.modules["hid"] = None
            sys.modules["hidraw"] = None
            from power_exporter.sources.registry import KINDS
            from power_exporter.sources.tripplite import Battery, battery_paths
            assert "tripplite" in KINDS
            print("imported")
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
        )
        assert (result.returncode, result.stdout.strip()) == (0, "imported"), result.stderr


class TestHidapi:
    """The installed cython-hidapi, as far as it goes without a UPS."""

    @pytest.fixture
    def transport(self) -> HidapiTransport:
        """The real transport, or a skip where hidapi is not installed."""
        pytest.importorskip("hid", reason=f"hidapi is not installed ({INSTALL})")
        return HidapiTransport()

    def test_prefers_hidraw_on_linux(self) -> None:
        """On Linux the hidraw backend's module is used, the one the udev rule serves."""
        pytest.importorskip("hid", reason=f"hidapi is not installed ({INSTALL})")
        module = load_hidapi()
        expected = "hidraw" if sys.platform.startswith("linux") else "hid"
        assert getattr(module, "__name__", "") == expected

    def test_enumerate(self, transport: HidapiTransport) -> None:
        """Enumeration answers a list of TrippLites (none here, unless one is plugged in)."""
        found = transport.enumerate(TRIPPLITE_VENDOR_ID)
        assert isinstance(found, list)
        assert all(i.vendor_id == TRIPPLITE_VENDOR_ID and i.path for i in found)

    def test_open_missing(self, transport: HidapiTransport) -> None:
        """Opening a path that is not there raises OSError, which the source maps."""
        with pytest.raises(OSError, match="open failed"):
            transport.open("/nonexistent/hidraw99")

    def test_closed_device_raises_oserror(self) -> None:
        """The ValueError of hidapi for a device not open becomes an OSError."""
        pytest.importorskip("hid", reason=f"hidapi is not installed ({INSTALL})")
        handle = _HidapiHandle(load_hidapi().device())
        with pytest.raises(OSError, match="not open"):
            handle.get_feature_report(48, 2)
        handle.close()


class _ContendedHid:
    """A stand-in hid module that notices enumerate/open running in two threads at once."""

    def __init__(self) -> None:
        self.busy = 0
        self.overlaps = 0
        self.calls = 0
        self.guard = threading.Lock()

    def _enter(self) -> None:
        with self.guard:
            self.busy += 1
            self.calls += 1
            self.overlaps += self.busy > 1
        time.sleep(0.002)
        with self.guard:
            self.busy -= 1

    def enumerate(self, vendor_id: int = 0, product_id: int = 0) -> list[dict[str, object]]:
        """List nothing, slowly."""
        self._enter()
        return [{"path": b"/dev/hidraw0", "vendor_id": vendor_id, "product_id": product_id}]

    def device(self) -> _ContendedHid:
        """A device object (this very stand-in)."""
        return self

    def open_path(self, path: bytes) -> None:  # noqa: ARG002
        """Open, slowly."""
        self._enter()

    def get_feature_report(self, report_num: int, max_length: int) -> list[int]:
        """The report id and zeros."""
        return [report_num] + [0] * (max_length - 1)

    def close(self) -> None:
        """Nothing to close."""


class TestHidapiWrapper:
    """The wrapper's own logic around the hidapi module."""

    def test_global_calls_one_at_a_time(self) -> None:
        """Enumerate and open never run in two threads at once (hidapi's shared state)."""
        fake = _ContendedHid()
        transport = HidapiTransport(fake)
        with ThreadPoolExecutor(max_workers=8) as pool:
            listed = [pool.submit(transport.enumerate, TRIPPLITE_VENDOR_ID) for _ in range(4)]
            opened = [pool.submit(transport.open, "/dev/hidraw0") for _ in range(4)]
            assert all(len(future.result()) == 1 for future in listed)
            assert all(future.result() is not None for future in opened)
        assert (fake.calls, fake.overlaps) == (8, 0)

    def test_reports_as_bytes(self) -> None:
        """Replies come back as bytes."""
        handle = HidapiTransport(_ContendedHid()).open("/dev/hidraw0")
        assert handle.get_feature_report(53, 3) == bytes([53, 0, 0])


class TestDeviceInfo:
    """hidapi's enumeration dicts, typed."""

    def test_fields(self) -> None:
        """Bytes paths decode; strings are stripped; ids as lsusb prints them."""
        parsed = device_info(
            {
                "path": b"/dev/hidraw0",
                "vendor_id": 0x09AE,
                "product_id": 0x2012,
                "serial_number": " 2E1234 ",
                "release_number": 0x0100,
                "manufacturer_string": "Tripp Lite",
                "product_string": "TRIPP LITE SMART1500LCD",
                "usage_page": 0x84,
                "usage": 4,
                "interface_number": 0,
            }
        )
        assert parsed.path == "/dev/hidraw0"
        assert parsed.serial == "2E1234"
        assert parsed.usb_id == "09ae:2012"
        assert (parsed.manufacturer, parsed.release, parsed.interface) == ("Tripp Lite", 256, 0)

    def test_missing_strings(self) -> None:
        """The hidapi module gives None for absent strings: they become empty."""
        parsed = device_info({"path": b"1-2:1.0", "vendor_id": 0x09AE, "serial_number": None})
        assert (parsed.path, parsed.serial, parsed.product, parsed.product_id) == (
            "1-2:1.0",
            "",
            "",
            0,
        )

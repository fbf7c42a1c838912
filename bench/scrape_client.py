"""The scraping side of the scrape benchmark, run as its own process as Prometheus would be.

``python -m bench.scrape_client PORT PATH SCRAPES FRACTION SETTLE GZIP`` prints one JSON object:
the latency of every scrape and the server's rendering time for every batch of arrivals.
Before each scrape it asks the bench server to store new readings for FRACTION of the
devices (``POST /bench/touch``), then times ``GET PATH`` alone.
"""

from __future__ import annotations

import http.client
import json
import sys
import time


def main(port: int, path: str, scrapes: int, fraction: float, settle: str, gzip: str) -> None:  # noqa: PLR0917
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept-Encoding": "gzip" if gzip == "1" else "identity"}
    latencies: list[float] = []
    rendering: list[float] = []
    sizes: set[int] = set()
    for i in range(scrapes + 5):
        if fraction:
            conn.request("POST", f"/bench/touch?fraction={fraction}&settle={settle}")
            answer = conn.getresponse()
            rendering.append(float(answer.read()))
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        assert response.status == 200, response.status
        sizes.add(len(body) // 100_000)
        if i >= 5:  # the first scrapes warm the connection and the caches
            latencies.append(elapsed)
    conn.close()
    json.dump(
        {"latencies": latencies, "rendering": rendering[5:], "sizes": sorted(sizes)}, sys.stdout
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:7])

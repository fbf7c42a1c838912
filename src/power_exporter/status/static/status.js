// power-exporter status page: poll the JSON API; when a device changed, swap in the page's
// new #live part (rendered and escaped by the exporter) without reloading. No framework.
(() => {
  "use strict";
  const every = 1000 * Number(document.body.dataset.refresh || 10);
  const banner = document.getElementById("connection");
  let loaded = Date.now();
  let seen = "";

  const ago = (s) => (s < 60 ? `${Math.round(s)} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3600)} h ago`);
  const tick = () => {
    const passed = (Date.now() - loaded) / 1000;
    for (const el of document.querySelectorAll("[data-age]")) el.textContent = ago(Number(el.dataset.age) + passed);
  };

  async function poll() {
    try {
      const api = await fetch("api/v1/devices", { cache: "no-store", headers: { Accept: "application/json" } });
      if (!api.ok) throw new Error(`the API answered ${api.status}`);
      const data = await api.json();
      const key = JSON.stringify(data.devices.map((d) => [d.name, d.state, d.reason, d.last_reading]));
      if (key !== seen) {
        const page = await fetch(location.pathname, { cache: "no-store" });
        if (!page.ok) throw new Error(`the page answered ${page.status}`);
        const fresh = new DOMParser().parseFromString(await page.text(), "text/html");
        const headline = fresh.querySelector("h1").textContent.trim();
        if (headline !== document.querySelector("h1").textContent.trim()) {
          document.getElementById("announce").textContent = headline; // read out by screen readers
        }
        document.getElementById("live").replaceWith(fresh.getElementById("live"));
        document.title = fresh.title;
        loaded = Date.now();
        seen = key;
      }
      banner.hidden = true;
    } catch (error) {
      banner.textContent = `Not updating (${error.message}): showing what was last received.`;
      banner.hidden = false;
    }
    setTimeout(poll, every);
  }

  setInterval(tick, 1000);
  setTimeout(poll, every);
})();

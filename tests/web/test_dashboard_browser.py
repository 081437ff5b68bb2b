"""The dashboard in a real browser (Debian's chromium via Playwright) against a real hub process.

Order matters at the end of the module: the last tests stop the HTTP service and then the hub.
"""

from __future__ import annotations

import csv
import json
import math
import time

import httpx
import pytest

pytestmark = pytest.mark.timeout(120)

EVIL_NAME = 'hub<img src=x onerror="window.__xss=1">'  # same as conftest.py
EVIL_ROLE = "<script>window.__xss=2</script>"
VIEWS = ("overview", "charts", "services", "map", "alerts")


def wait_js(p, expr: str, timeout: float = 10.0):
    """Poll ``expr`` in the page until truthy (page.wait_for_function evaluates strings, which
    the dashboard's CSP forbids, as it should)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = p.evaluate(expr)
        if v:
            return v
        p.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {expr}")


def next_update(p, n: int = 1) -> None:
    """Return once the page has rendered ``n`` more live updates (``#updated``'s ``data-ts``)."""
    for _ in range(n):
        ts = p.evaluate("Number(document.querySelector('#updated').dataset.ts || 0)")
        wait_js(p, f"Number(document.querySelector('#updated').dataset.ts || 0) > {ts}")


def card_selector(name: str) -> str:
    return f'.host-card[data-host="{name.replace(chr(34), chr(92) + chr(34))}"]'


def test_page_loads_every_view_without_console_errors(hub, page):
    resp = page.open(hub["url"])
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    page.page.wait_for_selector(card_selector(EVIL_NAME))
    for view in VIEWS:
        page.page.click(f'nav a[href="#{view}"]')
        page.page.wait_for_selector(f"#view-{view}:not([hidden])")
        if view == "charts":
            page.page.wait_for_selector("#chart-cpu[data-points]")
    next_update(page.page, 2)  # a couple of live updates, on the last view
    assert page.errors == []
    # nothing was requested from another origin (the CSP would also have refused it)
    assert page.page.evaluate(
        "performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin)"
        " || e.name.startsWith('ws://' + location.host))")


def test_values_change_live_without_reload(hub, page):
    page.open(hub["url"], "charts")
    p = page.page
    p.wait_for_selector("#updated[data-ts]")
    p.wait_for_selector("#chart-cpu[data-last-x]")
    ts0 = float(p.get_attribute("#updated", "data-ts"))
    x0 = float(p.get_attribute("#chart-cpu", "data-last-x"))
    wait_js(p, f"Number(document.querySelector('#updated').dataset.ts) > {ts0}")
    wait_js(p, f"Number(document.querySelector('#chart-cpu').dataset.lastX) > {x0}")
    assert p.evaluate("performance.getEntriesByType('navigation').length") == 1  # same document
    assert page.errors == []


def test_range_picker_loads_history_at_a_coarser_step(hub, page):
    page.open(hub["url"], "charts")
    p = page.page
    p.wait_for_selector("#chart-cpu[data-step]")
    assert float(p.get_attribute("#chart-cpu", "data-step")) == 2  # 15 min / 600 points -> 2 s
    p.click("#range-buttons button[data-range='3600']")
    p.wait_for_selector("#chart-cpu[data-step='10']")  # 1 h / 600 -> 6 s -> next nice step 10 s
    assert p.get_attribute("#range-buttons button[data-range='3600']", "aria-pressed") == "true"
    assert int(p.get_attribute("#chart-cpu", "data-points")) >= 1
    start = float(p.get_attribute("#chart-cpu", "data-start"))
    end = float(p.get_attribute("#chart-cpu", "data-end"))
    assert 3590 <= end - start <= 3620
    # custom range: 10 minutes (minute precision) -> 1 s step; not extended live
    p.click("#range-buttons button[data-range='custom']")
    p.wait_for_selector("#custom-range:not([hidden])")
    p.evaluate("""() => {
      const loc = (t) => new Date(t - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
      document.querySelector('#range-from').value = loc(Date.now() - 540000);
      document.querySelector('#range-to').value = loc(Date.now() + 60000);
    }""")
    p.click("#custom-range button[type=submit]")
    p.wait_for_selector("#chart-cpu[data-step='1']")
    assert int(p.get_attribute("#chart-cpu", "data-points")) >= 1
    assert page.errors == []


def test_csv_export_rows_match_the_history_api(hub, page):
    page.open(hub["url"], "charts")
    p = page.page
    p.wait_for_selector("#chart-cpu[data-points]")
    with p.expect_download() as dl:
        p.click("#chart-cpu button.export-csv")
    path = dl.value.path()
    assert dl.value.suggested_filename.endswith(".csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "time_utc", EVIL_NAME]  # markup is just text in the file
    csv_vals = {float(r[0]): float(r[2]) for r in rows[1:] if r[2] != ""}
    ds = p.evaluate("({...document.querySelector('#chart-cpu').dataset})")
    api = httpx.get(hub["url"] + "/api/metrics/history", timeout=10, params={
        "metric": "autobot_cpu_busy_percent", "match": "cpu=all", "host": EVIL_NAME,
        "start": ds["start"], "end": ds["end"], "step": ds["step"]}).json()
    (series,) = api["series"]
    lo, hi = min(csv_vals), max(csv_vals)
    # the newest buckets may still get a sample written after the chart loaded (a cycle's
    # samples are stamped at its start and stored at its end): those may be new in the API
    settling = hi - 3 * float(ds["step"])
    matched = 0
    for t, v in series["points"]:
        if v is None or not lo <= t <= hi or (t > settling and t not in csv_vals):
            continue
        assert t in csv_vals, f"history point {t} missing from the CSV"
        assert math.isclose(csv_vals[t], v, rel_tol=1e-12), (t, csv_vals[t], v)
        matched += 1
    assert matched >= 2


def test_charts_take_metrics_filters_and_units_from_the_declared_figures(hub, page):
    p = page.page
    urls: list[str] = []  # every request (the resource-timing buffer drops entries past 250)
    p.on("request", lambda r: urls.append(r.url))
    page.open(hub["url"], "charts")
    p.wait_for_selector("#chart-network[data-points]")
    for chart in ("cpu", "memory", "disk", "network", "services"):
        p.wait_for_selector(f"#chart-{chart}[data-start]")
        assert "unavailable" not in p.text_content(f"#chart-{chart} .chart-status")
    net = [u for u in urls if "autobot_network_receive_bytes_per_second" in u]
    assert net and all("match=device%21%3Dlo" in u for u in net)  # the figure's filter, not JS's
    assert any("/api/figures" in u for u in urls)
    with p.expect_download() as dl:
        p.click("#chart-network button.export-json")
    doc = json.loads(open(dl.value.path(), encoding="utf-8").read())
    assert doc["unit"] == "bytes per second"
    assert {s["label"] for s in doc["series"]} == {f"{EVIL_NAME} receive", f"{EVIL_NAME} transmit"}
    assert page.errors == []


def test_narrow_layout_has_no_horizontal_scroll(hub, narrow_page):
    narrow_page.open(hub["url"])
    p = narrow_page.page
    p.wait_for_selector(card_selector(EVIL_NAME))
    for view in VIEWS:
        p.click(f'nav a[href="#{view}"]')
        p.wait_for_selector(f"#view-{view}:not([hidden])")
        if view == "charts":
            p.wait_for_selector("#chart-cpu[data-points]")
        next_update(p)  # the view as the live data left it
        width = p.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"{view}: page is {width} px wide at a 375 px viewport"
    assert narrow_page.errors == []


def test_markup_in_names_renders_as_text(hub, page):
    page.open(hub["url"])
    p = page.page
    card = p.wait_for_selector(card_selector(EVIL_NAME))
    assert card.query_selector(".host-name").text_content() == EVIL_NAME
    assert EVIL_ROLE in card.text_content()
    p.click('nav a[href="#charts"]')
    p.wait_for_selector("#chart-cpu .u-legend")
    assert EVIL_NAME in p.text_content("#chart-cpu .u-legend")
    p.click('nav a[href="#map"]')
    p.wait_for_selector("#map table")
    assert EVIL_NAME in p.text_content("#map table")
    assert p.evaluate("document.querySelectorAll('body img, body script:not([src])').length") == 0
    assert p.evaluate("window.__xss") is None
    assert page.errors == []


EVIL_UNIT = "<img src=x onerror=window.__xss=3>.service"  # as tests/fixtures/scrape/host_health.prom
EVIL_CONTAINER = "<b>evil-container</b>"


def health_card(page, hub):
    page.open(hub["url"])
    page.page.wait_for_selector(card_selector(hub["host"]) + " details.containers")
    return page.page.query_selector(card_selector(hub["host"]))


def test_host_card_shows_pressure_clock_failed_units_and_disk_health(health_hub, page):
    card = health_card(page, health_hub)
    rows = {r.query_selector("dt").text_content(): r.query_selector("dd").text_content()
            for r in card.query_selector_all(".figures .row")}
    # PSI some/full as percent; io was not measured: n/m, never 0
    assert rows["Pressure"] == "cpu 12.5 % · mem 3.0 % / 1.0 % · io n/m / n/m"
    assert rows["Clock"] == "not synchronised · offset −4.20 ms"
    assert card.query_selector(".clock-row .lvl-crit") is not None
    assert "TCP retrans 0.25 %" in rows["Network"]
    # failed units: count in the alert colour, the names as text (markup included)
    assert card.query_selector(".units-failed.lvl-crit").text_content() == "2 failed"
    names = [n.text_content() for n in card.query_selector_all(".unit-name")]
    assert names == [EVIL_UNIT, "backup.service"]
    disks = {d.get_attribute("data-device"): d.text_content()
             for d in card.query_selector_all(".disk-line")}
    assert disks == {"sda": "sda passed · 34 °C · on 1000 d 0 h",
                     "nvme0": "nvme0 FAILED · 41 °C · wear 7.0 % · 3 media errors"}
    assert card.query_selector(".disk-line[data-device='nvme0'] .disk-failed.lvl-crit")
    # the local host has no S.M.A.R.T. disk, so no such row
    local = page.page.query_selector(card_selector("hub-local"))
    assert local.query_selector(".disks-row") is None
    assert page.page.evaluate("document.querySelectorAll('body img, body b, body script:not([src])').length") == 0
    assert page.page.evaluate("window.__xss") is None
    assert page.errors == []


def open_containers(p, host: str) -> None:
    """Open ``host``'s containers table: one click in the page, so that a live update (which
    rebuilds the cards) cannot come between finding the summary and clicking it."""
    p.evaluate("(sel) => document.querySelector(sel).click()",
               card_selector(host) + " details.containers summary")
    p.wait_for_selector(card_selector(host) + " details.containers[open] tbody tr")


def containers_rows(p, host: str) -> dict:
    """What the containers table shows now, read in one go from the current card."""
    return p.evaluate("""(sel) => { const d = document.querySelector(sel);
      return { summary: d.querySelector('summary').textContent,
        more: d.querySelector('.ct-more')?.textContent ?? null,
        oom: [...d.querySelectorAll('tbody td.lvl-crit')].map((c) => c.textContent),
        rows: [...d.querySelectorAll('tbody tr')].map((r) =>
          [...r.querySelectorAll('th, td')].map((c) => c.textContent)) }; }""",
                      card_selector(host) + " details.containers")


def test_containers_table_sorted_by_cpu_with_limits_and_a_cap(health_hub, page):
    health_card(page, health_hub)
    p, host = page.page, health_hub["host"]
    assert p.query_selector(card_selector(host) + " details.containers[open]") is None  # compact
    assert containers_rows(p, host)["summary"] == "Containers (13)"
    open_containers(p, host)
    t = containers_rows(p, host)
    rows = t["rows"]
    assert len(rows) == 10 and t["more"] == "+3 more"
    assert rows[0] == ["batch-unlimited", "150 %", "no limit", "2.00 GiB", "no limit", "0"]
    assert rows[1] == ["web", "48.5 %", "0.5 cores", "384 MiB", "512 MiB", "1"]
    assert rows[2][0] == EVIL_CONTAINER  # markup as text
    assert t["oom"] == ["1"]  # the OOM kill in the alert colour
    cpu = [float(r[1].split()[0]) for r in rows]
    assert cpu == sorted(cpu, reverse=True)
    # the table stays open across live updates (the cards are rebuilt every cycle)
    next_update(p, 2)
    assert p.query_selector(card_selector(host) + " details.containers[open]")
    assert page.errors == []


def test_host_health_rows_fit_a_phone_without_horizontal_scroll(health_hub, phone_page):
    health_card(phone_page, health_hub)
    p = phone_page.page
    open_containers(p, health_hub["host"])
    next_update(p)
    width = p.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"page is {width} px wide at a 390 px viewport"
    table = p.evaluate(f"""(() => {{ const w = document.querySelector('{card_selector(health_hub["host"])} .ct-wrap');
      return [w.scrollWidth, w.clientWidth]; }})()""")
    assert table[0] <= table[1], f"containers table scrolls inside its card: {table}"
    assert phone_page.errors == []


def test_keyboard_moves_between_views(hub, page):
    page.open(hub["url"])
    p = page.page
    p.keyboard.press("Tab")  # skip link
    for _ in range(12):
        p.keyboard.press("Tab")
        if p.evaluate("document.activeElement.getAttribute('href')") == "#services":
            break
    else:
        pytest.fail("Tab never reached the Services link")
    p.keyboard.press("Enter")
    p.wait_for_selector("#view-services:not([hidden]) .service-card")
    assert p.evaluate("document.activeElement.id") == "h-services"


def test_alert_counts_follow_the_hubs_severity_order(hub, page):
    page.open(hub["url"])
    order = httpx.get(hub["url"] + "/api/figures", timeout=10).json()["severities"]
    chips = page.page.eval_on_selector_all("#alert-counts .chip", "els => els.map(e => e.className)")
    assert chips == [f"chip sev-{s}" for s in order]
    assert page.errors == []


def test_alert_appears_when_a_service_goes_down_and_can_be_acknowledged(hub, page):
    page.open(hub["url"], "alerts")
    p = page.page
    hub["web"].stop()
    item = p.wait_for_selector(".alert-item:has(.alert-name:text-is('ServiceDown'))", timeout=20000)
    assert "web" in item.text_content()
    p.wait_for_selector(".service-card[data-service='web'].state-down", state="attached")
    # the health score's details line names what costs points, as text
    wait_js(p, "document.querySelector('#health-terms').textContent.startsWith('red: ')", 30)
    assert "services up −40 (0/1 services up)" in p.text_content("#health-terms")
    spec = httpx.get(hub["url"] + "/openapi.json", timeout=10).json()
    if not any("ack" in path and "post" in ops for path, ops in spec["paths"].items()):
        assert item.query_selector(".btn-acknowledge") is None  # no endpoint, no button
        return
    fp = item.get_attribute("data-fingerprint")
    p.click(f".alert-item[data-fingerprint='{fp}'] .btn-acknowledge")
    p.wait_for_selector(f".alert-item[data-fingerprint='{fp}'] .chip:text('acknowledged by dashboard')")
    (a,) = [a for a in httpx.get(hub["url"] + "/api/alerts", timeout=10).json()["alerts"]
            if a["fingerprint"] == fp]
    assert a["acknowledged_by"] == "dashboard"


def test_lost_connection_shows_retrying_and_stale(hub, page):
    page.open(hub["url"])
    p = page.page
    p.wait_for_selector("#conn[data-state='live']")
    hub["proc"].stop()
    p.wait_for_selector("#conn[data-state='down']", timeout=10000)
    assert "disconnected, retrying" in p.text_content("#conn")
    p.wait_for_selector("body.stale #stale-banner:not([hidden])", timeout=10000)
    assert "Stale data" in p.text_content("#stale-banner")

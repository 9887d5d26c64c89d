"""The dashboard in a real browser (Debian's headless Chromium driven by Playwright) against the
stack's MongoDB server, after two real `clickstream run`s loaded known events: every number shown
and every chart point equals an independent count over those events; awkward ids render as text.

With CLICKSTREAM_SCREENSHOTS set to a folder, each page's screenshot is saved there (docs/ uses them).
"""
import html
import os
import urllib.parse

import pytest

from dashboard_stack import (BOT, DAY, EARLIER_DAY, OPERATOR_USER, SCRIPT_USER, Dashboard, browser,  # noqa: F401
                             loaded)

pytestmark = pytest.mark.integration
FIELDS = ("events", "distinct_users", "product_page_visits", "cart_adds", "purchases")


@pytest.fixture(scope="module")
def dashboard(loaded):
    env, _database, _counts, root = loaded
    server = Dashboard(env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def context(browser, dashboard):
    """One browser context for the module: plotly.js (4.8 MB) is parsed once, then cached."""
    shared = browser.new_context(viewport={"width": 1280, "height": 900})
    shared.set_default_timeout(120_000)  # the shared 2-core machine can take 20 s to parse plotly.js cold
    yield shared
    shared.close()


@pytest.fixture
def page(context, dashboard):
    tab = context.new_page()
    tab.dialogs = []
    tab.errors = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.base = dashboard.url
    yield tab
    assert tab.dialogs == [], "a script ran from the data: %r" % tab.dialogs
    assert tab.errors == [], tab.errors
    tab.close()


def screenshot(tab, name):
    folder = os.environ.get("CLICKSTREAM_SCREENSHOTS")
    if folder:
        tab.screenshot(path=os.path.join(folder, "dashboard-%s.png" % name), full_page=True)


def table(tab, table_id, key):
    """{row key: {field: text}} as the browser shows it (textContent, so escaped markup reads as typed)."""
    return tab.evaluate("""([tableId, key]) => {
        const rows = {};
        document.querySelectorAll(`#${tableId} tr[data-${key}]`).forEach(tr => {
            const cells = {};
            tr.querySelectorAll(":scope > td[data-field]").forEach(td => { cells[td.dataset.field] = td.textContent.trim(); });
            rows[tr.getAttribute(`data-${key}`)] = cells;
        });
        return rows;
    }""", [table_id, key])


def chart(tab, chart_id):
    """{trace meta: (x, y)} of the plotly chart drawn in the div (the points as plotted)."""
    tab.wait_for_function("(id) => { const d = document.getElementById(id); return d && d.data && d._fullLayout; }",
                          arg=chart_id)
    return {trace[0]: (trace[1], trace[2]) for trace in tab.evaluate(
        "(id) => document.getElementById(id).data.map(t => [t.meta, Array.from(t.x), Array.from(t.y)])", chart_id)}


def test_traffic_page_numbers_chart_and_day_picker(page, loaded):
    _env, _database, counts, _root = loaded
    page.goto(page.base + "traffic")
    expected = counts.hourly(DAY)
    rows = table(page, "traffic-table", "hour")
    assert {hour: rows[hour] for hour in rows if hour != "total"} == {
        hour: {field: str(value) for field, value in figures.items()} for hour, figures in expected.items()}
    assert rows["total"]["events"] == str(sum(figures["events"] for figures in expected.values()))
    points = chart(page, "chart-traffic")
    for field in FIELDS:
        assert points[field] == (["%s:00" % hour[11:13] for hour in expected], [expected[h][field] for h in expected])
    screenshot(page, "traffic")
    with page.expect_navigation():
        page.select_option("select[name=date]", EARLIER_DAY)
    assert page.url.endswith("date=" + EARLIER_DAY)
    earlier = counts.hourly(EARLIER_DAY)
    assert chart(page, "chart-traffic")["events"] == (["23:00"], [earlier[EARLIER_DAY + "T23"]["events"]])


def test_products_page_funnel_ratios_and_sorting(page, loaded):
    _env, _database, counts, _root = loaded
    funnel = counts.products()
    page.goto(page.base + "products")
    rows = table(page, "products-table", "product")
    order = sorted(funnel, key=lambda product: (-funnel[product]["purchases"], -funnel[product]["views"], product))
    assert list(rows) == order
    for product, row in rows.items():
        views, carts, purchases = (funnel[product][field] for field in ("views", "cart_adds", "purchases"))
        assert (row["views"], row["cart_adds"], row["purchases"]) == (str(views), str(carts), str(purchases))
        assert row["view_to_cart"] == ("%.1f%%" % (100 * carts / views) if views else "–")
        assert row["cart_to_purchase"] == ("%.1f%%" % (100 * purchases / carts) if carts else "–")
    points = chart(page, "chart-funnel")
    labels = [html.escape(product, quote=False) for product in order]
    assert points["views"] == (labels, [funnel[product]["views"] for product in order])
    assert points["purchases"] == (labels, [funnel[product]["purchases"] for product in order])
    assert page.inner_text("#products-table").count("<img src=x onerror=alert(2)>") == 1
    screenshot(page, "products")
    with page.expect_navigation():
        page.click("#products-table th a:has-text('views')")
    by_views = sorted(funnel, key=lambda product: (-funnel[product]["views"], -funnel[product]["purchases"], product))
    assert list(table(page, "products-table", "product")) == by_views


def test_users_page_top_users_and_a_profile_with_its_session_timeline(page, loaded):
    _env, _database, counts, _root = loaded
    clicks = counts.clicks()
    page.goto(page.base + "users?limit=40")  # every user, the <script> one too
    top = sorted(clicks.items(), key=lambda item: (-item[1], item[0]))[:40]
    assert [(user, row["click_count"]) for user, row in table(page, "users-table", "user").items()] == [
        (user, str(count)) for user, count in top]
    assert chart(page, "chart-top-users")["click_count"] == ([html.escape(user, quote=False) for user, _ in top],
                                                             [count for _, count in top])
    ticks = page.evaluate("() => Array.from(document.querySelectorAll('#chart-top-users .xtick text'))"
                          ".map(t => t.textContent)")
    assert SCRIPT_USER in ticks  # plotly shows the entity-escaped label as typed
    screenshot(page, "users")
    with page.expect_navigation():
        page.click("#users-table a:text-is('%s')" % SCRIPT_USER)
    assert page.text_content("#profile-user") == SCRIPT_USER
    profile = table(page, "profile-table", "action")
    assert {action: int(row["action_count"]) for action, row in profile.items()} == dict(counts.user_actions(SCRIPT_USER))
    sessions = page.evaluate("""() => Array.from(document.querySelectorAll("details.session")).map(d => [
        d.dataset.session, Number(d.querySelector("[data-field=events]").textContent),
        d.querySelectorAll("tr[data-kind=page]").length, d.querySelectorAll("tr[data-kind=action]").length])""")
    script_events = [line for line in counts.events if line["user_id"] == SCRIPT_USER]
    pages = sum(line["action"] in ("page_view", "view_product") for line in script_events)
    assert sessions == [["<i>sess</i>", len(script_events), pages, len(script_events) - pages]]
    timeline = chart(page, "chart-timeline")
    assert len(timeline["page"][0]) == pages and len(timeline["action"][0]) == len(script_events) - pages
    screenshot(page, "user-profile")


def test_an_operator_looking_user_id_is_looked_up_as_a_value(page, loaded):
    _env, _database, counts, _root = loaded
    page.goto(page.base + "users?user=" + urllib.parse.quote(OPERATOR_USER))
    assert page.text_content("#profile-user") == OPERATOR_USER
    assert int(table(page, "profile-table", "action")["purchase"]["action_count"]) == counts.user_actions(
        OPERATOR_USER)["purchase"]
    assert page.evaluate("document.querySelector('#profile-table [data-field=click_count]').textContent") == str(
        counts.clicks()[OPERATOR_USER])
    answer = page.goto(page.base + "users?user=")
    assert answer.status == 400 and "is not a user id" in page.text_content("#error-reason")


def test_suspicious_page_shows_the_bot_with_its_rules_and_evidence(page, loaded):
    page.goto(page.base + "suspicious")
    rows = table(page, "suspicious-table", "user")
    assert list(rows) == [BOT] and rows[BOT]["events"] == "80"
    rules = page.evaluate("""() => Array.from(document.querySelectorAll("#suspicious-table .rule")).map(rule => [
        rule.dataset.rule, Object.fromEntries(Array.from(rule.querySelectorAll("dd")).map(dd => [dd.dataset.key, dd.textContent]))])""")
    fired = dict(rules)
    assert {"events_per_minute", "regular_gaps", "views_only"} == set(fired)
    assert "80" in fired["views_only"].values()  # 80 product views, every event a view
    assert "80" in fired["events_per_minute"].values()  # all 80 within one 60 s interval
    screenshot(page, "suspicious")


def test_runs_page_shows_both_runs_and_the_watermark(page, loaded):
    _env, database, counts, _root = loaded
    page.goto(page.base + "runs")
    rows = table(page, "runs-table", "run")
    runs = list(database.runs.find().sort([("started_at", -1)]))
    assert list(rows) == [run["_id"] for run in runs]
    day_events = sum(figures["events"] for figures in counts.hourly(DAY).values())
    earlier_events = sum(figures["events"] for figures in counts.hourly(EARLIER_DAY).values())
    assert [(row["status"], row["exit_code"], row["events"], row["broken"]) for row in rows.values()] == [
        ("succeeded", "0", str(earlier_events), "0"), ("succeeded", "0", str(day_events), "0")]
    assert table(page, "watermarks-table", "topic") == {"clicks": {"lateness": "0.0", "partitions": "1"}}
    screenshot(page, "runs")


def test_api_and_its_openapi_page(page, loaded):
    _env, _database, counts, _root = loaded
    answer = page.goto(page.base + "api/traffic?date=" + DAY)
    api = answer.json()
    assert {row["hour"]: {field: row[field] for field in FIELDS} for row in api["hours"]} == counts.hourly(DAY)
    page.goto(page.base + "docs")
    page.wait_for_selector(".opblock-summary-path")
    assert page.locator(".opblock-summary-path").count() == 5
    screenshot(page, "api-docs")

"""HTML from the views: one Jinja2 environment with autoescape on (every data value is escaped),
the charts' figures, the pages and the self-contained report."""
import functools
from importlib import resources

import jinja2

from dashboard import charts

NAV = (("traffic", "Traffic"), ("products", "Products"), ("users", "Users"), ("suspicious", "Suspicious users"),
       ("runs", "Runs"), ("docs", "API"))


@functools.lru_cache(maxsize=1)
def environment():
    # a field a document lacks renders empty (documents written by older loaders may lack one)
    return jinja2.Environment(loader=jinja2.PackageLoader("dashboard", "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)


@functools.lru_cache(maxsize=None)
def static_text(name):
    """A file of dashboard/static/ as text."""
    return resources.files("dashboard").joinpath("static", name).read_text(encoding="utf-8")


def figures(page, view):
    """{chart name: figure JSON} of what a page's view shows (none for an empty section)."""
    shown = {}
    if page == "traffic" and view["hours"]:
        shown["traffic"] = charts.script_json(charts.traffic_figure(view["day"], view["hours"]))
    if page == "products" and view["products"]:
        shown["funnel"] = charts.script_json(charts.funnel_figure(view["products"]))
    if page == "users":
        if view["top"]:
            shown["top_users"] = charts.script_json(charts.top_users_figure(view["top"]))
        if view.get("sessions"):
            shown["timeline"] = charts.script_json(charts.timeline_figure(view["user"], view["sessions"]))
    return shown


def page(current, view, title, subtitle):
    """One dashboard page; its CSS, plotly.js and chart script are linked from /static/."""
    shown = figures(current, view)
    return environment().get_template("page.html").render(
        view=view, figures=shown, charts=bool(shown), current=current, nav=NAV, title=title, subtitle=subtitle,
        inline=False)


def error_page(status, heading, reason, subtitle=""):
    return environment().get_template("error.html").render(
        status=status, heading=heading, reason=reason, current=None, nav=NAV, title=heading, subtitle=subtitle,
        charts=False, inline=False)


def report(views, db_name, written_at):
    """Every section in one HTML document with its CSS, plotly.js and data inlined (no links)."""
    shown = {}
    for name in ("traffic", "products", "users"):
        shown.update(figures(name, views[name]))
    return environment().get_template("report.html").render(
        views=views, figures=shown, charts=bool(shown), current=None, nav=(), title="Report %s" % written_at,
        subtitle="report of %s" % db_name, db_name=db_name, written_at=written_at, inline=True,
        css=static_text("dashboard.css"), dashboard_js=static_text("dashboard.js"), plotly_js=charts.plotly_js())

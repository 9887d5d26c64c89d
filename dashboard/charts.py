"""The pages' charts as plotly figure JSON (for Plotly.newPlot), and plotly.js itself from the
plotly package (no CDN): served by the app, inlined in the report.

Figures are plain dicts in plotly's figure schema, written with orjson: building them through
plotly.graph_objects validates every attribute and cost 100-200 ms a page on the stack machine.
tests/dashboard/test_charts.py checks each one against plotly's own validation.
"""
import functools

import orjson

from dashboard.data import TRAFFIC_SERIES

_LAYOUT = {"margin": {"l": 50, "r": 20, "t": 40, "b": 50}, "height": 360, "legend": {"orientation": "h", "y": -0.2},
           "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "font": {"family": "DejaVu Sans, Arial, sans-serif"}}
_AXIS = {"gridcolor": "#ebebeb", "zerolinecolor": "#d0d0d0"}


@functools.lru_cache(maxsize=1)
def plotly_js():
    """plotly.min.js as the installed plotly package ships it."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def script_json(figure):
    """A figure as JSON that is safe inside <script type="application/json">: '<', '>' and '&'
    are written as \\u escapes, so a '</script>' in a user id cannot end the element."""
    text = orjson.dumps(figure, default=str).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def label(value):
    """Text for a plotly label: plotly reads a few HTML tags in labels (<b>, <i>, <br>), so '<', '>'
    and '&' are written as entities, which it shows as the characters typed."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _figure(title, traces, xaxis, yaxis, **layout):
    return {"data": traces, "layout": dict(_LAYOUT, title={"text": title}, xaxis=dict(_AXIS, **xaxis),
                                           yaxis=dict(_AXIS, **yaxis), **layout)}


def traffic_figure(day, rows):
    """One line per series over the day's hours (x: 'HH:00')."""
    hours = [row["hour"][11:13] + ":00" for row in rows]
    traces = [{"type": "scatter", "mode": "lines+markers", "name": label, "meta": field, "x": hours,
               "y": [row[field] for row in rows]} for field, label in TRAFFIC_SERIES]
    return _figure("Hourly activity, %s (UTC)" % day, traces, {"title": {"text": "hour"}},
                   {"title": {"text": "count"}, "rangemode": "tozero"})


def funnel_figure(products):
    """Views, cart adds and purchases of each listed product, grouped."""
    names = [label(row["product_id"]) for row in products]
    traces = [{"type": "bar", "name": label, "meta": field, "x": names, "y": [row[field] for row in products]}
              for field, label in (("views", "views"), ("cart_adds", "cart adds"), ("purchases", "purchases"))]
    return _figure("Product funnel", traces, {"title": {"text": "product"}, "type": "category"},
                   {"title": {"text": "count"}}, barmode="group")


def top_users_figure(users):
    traces = [{"type": "bar", "name": "clicks", "meta": "click_count", "x": [label(row["user_id"]) for row in users],
               "y": [row["click_count"] for row in users]}]
    return _figure("Top users by clicks", traces, {"title": {"text": "user"}, "type": "category"},
                   {"title": {"text": "clicks"}}, showlegend=False)


def timeline_figure(user_id, sessions):
    """Each session's pages and actions on a time axis, one row per session."""
    traces = []
    for kind, symbol in (("page", "circle"), ("action", "diamond")):
        x, y, text = [], [], []
        for session in sessions:
            for time, entry_kind, name, product in session["timeline"]:
                if entry_kind == kind:
                    x.append(time)
                    y.append(label(session.get("session_id")))
                    text.append(label("%s%s" % (name, "" if product is None else " (product %s)" % product)))
        traces.append({"type": "scatter", "mode": "markers", "name": kind + "s", "meta": kind, "x": x, "y": y,
                       "text": text, "hovertemplate": "%{text}<br>%{x}<extra></extra>",
                       "marker": {"symbol": symbol, "size": 10}})
    return _figure("Sessions of %s" % label(user_id), traces, {"title": {"text": "time (UTC)"}},
                   {"title": {"text": "session"}, "type": "category", "automargin": True})

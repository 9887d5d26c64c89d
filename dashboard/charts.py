"""The pages' charts as plotly figures (JSON for Plotly.newPlot), and plotly.js itself from the
plotly package (no CDN): served by the app, inlined in the report."""
import functools

import plotly.graph_objects as go

from dashboard.data import TRAFFIC_SERIES

_LAYOUT = dict(margin=dict(l=50, r=20, t=40, b=50), height=360, template="plotly_white",
               legend=dict(orientation="h", y=-0.2))


@functools.lru_cache(maxsize=1)
def plotly_js():
    """plotly.min.js as the installed plotly package ships it."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def script_json(figure):
    """A figure as JSON that is safe inside <script type="application/json">: '<', '>' and '&'
    are written as \\u escapes, so a '</script>' in a user id cannot end the element."""
    text = figure.to_json()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def traffic_figure(day, rows):
    """One line per series over the day's hours (x: 'HH:00')."""
    figure = go.Figure(layout=dict(_LAYOUT, title="Hourly activity, %s (UTC)" % day,
                                   xaxis=dict(title="hour"), yaxis=dict(title="count", rangemode="tozero")))
    hours = [row["hour"][11:13] + ":00" for row in rows]
    for field, label in TRAFFIC_SERIES:
        figure.add_trace(go.Scatter(x=hours, y=[row[field] for row in rows], name=label, mode="lines+markers",
                                    meta=field))
    return figure


def funnel_figure(products):
    """Views, cart adds and purchases of each listed product, grouped."""
    figure = go.Figure(layout=dict(_LAYOUT, title="Product funnel", barmode="group",
                                   xaxis=dict(title="product", type="category"), yaxis=dict(title="count")))
    names = [str(row["product_id"]) for row in products]
    for field, label in (("views", "views"), ("cart_adds", "cart adds"), ("purchases", "purchases")):
        figure.add_trace(go.Bar(x=names, y=[row[field] for row in products], name=label, meta=field))
    return figure


def top_users_figure(users):
    figure = go.Figure(layout=dict(_LAYOUT, title="Top users by clicks", xaxis=dict(title="user", type="category"),
                                   yaxis=dict(title="clicks"), showlegend=False))
    figure.add_trace(go.Bar(x=[str(row["user_id"]) for row in users], y=[row["click_count"] for row in users],
                            name="clicks", meta="click_count"))
    return figure


def timeline_figure(user_id, sessions):
    """Each session's pages and actions on a time axis, one row per session."""
    figure = go.Figure(layout=dict(_LAYOUT, title="Sessions of %s" % user_id, xaxis=dict(title="time (UTC)"),
                                   yaxis=dict(title="session", type="category", automargin=True)))
    for kind, symbol in (("page", "circle"), ("action", "diamond")):
        x, y, text = [], [], []
        for session in sessions:
            for time, entry_kind, name, product in session["timeline"]:
                if entry_kind == kind:
                    x.append(time)
                    y.append(str(session.get("session_id")))
                    text.append("%s%s" % (name, "" if product is None else " (product %s)" % product))
        figure.add_trace(go.Scatter(x=x, y=y, text=text, mode="markers", name=kind + "s", meta=kind,
                                    marker=dict(symbol=symbol, size=10), hovertemplate="%{text}<br>%{x}"))
    return figure

"""`clickstream report --html FILE`: every section of the dashboard in one self-contained HTML file
(CSS, plotly.js and data inlined), written atomically, for a cron job to mail."""
import os
from datetime import datetime, timezone

from dashboard import render, views


def report_views(db, day=None, open_area=None, sink=None):
    """Every section's view, read once (no summaries kept)."""
    sources = views.Sources(db, open_area=open_area, sink=sink, max_age=0)
    return {"traffic": views.traffic(sources, day), "products": views.products(sources),
            "users": views.users(sources), "suspicious": views.suspicious(sources), "runs": views.runs(sources)}


def write_report(db, path, day=None, open_area=None, sink=None, now=None):
    """Write the report of ``db`` to ``path`` (temp file, then rename); returns its absolute path."""
    written_at = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    html = render.report(report_views(db, day, open_area, sink), db.name, written_at)
    path = os.path.abspath(path)
    temp_path = os.path.join(os.path.dirname(path), ".%s.tmp" % os.path.basename(path))
    with open(temp_path, "w", encoding="utf-8") as stream:
        stream.write(html)
    os.replace(temp_path, path)
    return path

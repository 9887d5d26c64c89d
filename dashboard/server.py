"""`clickstream dashboard`: one MongoDB client, the summaries read once at start-up in the
background, and uvicorn serving the app (on 127.0.0.1 unless told otherwise)."""
import ipaddress
import logging
import threading

from clickstream.display import mask_uri

SERVER_SELECTION_MS = 3_000  # a page waits this long for a server that is down, then answers 503
log = logging.getLogger("clickstream.dashboard")


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_sources(client, db_name, sink=None, derived_root=None, webhdfs_url=None, hdfs_user=None, max_age=None,
                 webhdfs_timeout_seconds=None):
    """The views' Sources over ``client[db_name]``; the raw area opened on demand when ``sink`` is set."""
    from dashboard.views import Sources

    def open_raw_area():
        from batch.area import open_area

        return open_area(sink, derived_root, webhdfs_url, hdfs_user, webhdfs_timeout_seconds)

    return Sources(client[db_name], open_area=open_raw_area if sink else None, sink=sink, max_age=max_age)


def warm(sources):
    """Read the summaries now, so the first page need not wait; a failure shows on that page."""
    def read():
        for summary in (sources.top_users, sources.products):
            try:
                summary.get(sources.db)
            except Exception as error:  # the database may be down now: the pages will say so (503)
                log.warning("dashboard: summaries not read at start-up: %s", mask_uri(str(error).splitlines()[0]))
                return

    threading.Thread(target=read, name="dashboard-warm", daemon=True).start()


def serve(mongo_uri, db_name, host="127.0.0.1", port=8050, sink=None, derived_root=None, webhdfs_url=None,
          hdfs_user=None, echo=print, webhdfs_timeout_seconds=None):
    """Serve until interrupted."""
    import pymongo
    import uvicorn

    from dashboard.app import create_app

    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=SERVER_SELECTION_MS,
                                 connectTimeoutMS=SERVER_SELECTION_MS)
    sources = make_sources(client, db_name, sink, derived_root, webhdfs_url, hdfs_user,
                           webhdfs_timeout_seconds=webhdfs_timeout_seconds)
    app = create_app(sources, mongo_uri, db_name)
    echo("clickstream dashboard on http://%s:%d/ over %s, database %s (API docs: /docs)"
         % (host if ":" not in host else "[%s]" % host, port, mask_uri(mongo_uri), db_name))
    if not is_loopback(host):
        echo("warning: listening on %s: anyone who can reach it reads the data (no authentication)" % host)
    warm(sources)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=True, server_header=False)
    finally:
        client.close()

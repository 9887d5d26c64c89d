"""The dashboard's web application: five read-only pages, the same data as a JSON API under /api/
(documented at /docs and /openapi.json), bad parameters answered 400 and an unreachable MongoDB 503."""
import logging
from typing import Optional

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from pymongo.errors import PyMongoError

from clickstream.display import mask_uri
from dashboard import charts, params, render, views
from dashboard.params import BadParameter

log = logging.getLogger("clickstream.dashboard")
STATIC_TYPES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript", "plotly.min.js": "text/javascript"}
# Pages run only their own scripts (plotly.js and dashboard.js); plotly sets inline styles.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                           "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
                                           "base-uri 'none'; form-action 'self'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

DATE_DOC = "UTC day, YYYY-MM-DD (default: the newest day with data)"
LIMIT_DOC = "rows, 1 to %d" % params.MAX_LIMIT
USER_DOC = "a user id, compared as a value (1 to 256 characters, any characters)"


def database_down_reason(error, mongo_uri):
    """One line for a 503: which server, and the driver's first words (credentials masked)."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    text = text.split(", Timeout:")[0].split(" (configured timeouts")[0]
    return "MongoDB at %s is not answering: %s" % (mask_uri(mongo_uri), mask_uri(text)[:200])


def create_app(sources, mongo_uri, db_name):
    """The ASGI app over ``sources`` (dashboard.views.Sources). ``mongo_uri`` is only shown masked."""
    subtitle = "%s · %s" % (mask_uri(mongo_uri), db_name)
    app = FastAPIOffline(title="clickstream dashboard API", version="1",
                         description="Read-only JSON over the serving collections of %s. Every page of the dashboard "
                                     "shows what its endpoint returns." % db_name)

    def is_api(request):
        return request.url.path.startswith("/api/")

    def failure(request, status, heading, reason):
        if is_api(request):
            return JSONResponse({"error": reason}, status_code=status)
        return HTMLResponse(render.error_page(status, heading, reason, subtitle), status_code=status,
                            headers=PAGE_HEADERS)

    @app.exception_handler(BadParameter)
    async def bad_parameter(request, error):
        return failure(request, 400, "Bad request", str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, error):
        first = (error.errors() or [{}])[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "query") or "request"
        return failure(request, 400, "Bad request", "%s: %s" % (where, first.get("msg", "invalid")))

    @app.exception_handler(PyMongoError)
    async def database_down(request, error):
        reason = database_down_reason(error, mongo_uri)
        log.warning("%s %s: 503 %s", request.method, request.url.path, reason)
        return failure(request, 503, "Database unavailable", reason)

    def html(current, view, title):
        return HTMLResponse(render.page(current, view, title, subtitle), headers=PAGE_HEADERS)

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("traffic")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        if name not in STATIC_TYPES:
            return Response("not found", status_code=404, media_type="text/plain")
        text = charts.plotly_js() if name == "plotly.min.js" else render.static_text(name)
        return Response(text, media_type=STATIC_TYPES[name], headers={"Cache-Control": "max-age=3600"})

    # --- the views, checked parameters in --------------------------------------------------------

    def traffic_view(date):
        return views.traffic(sources, params.parse_day(date))

    def products_view(sort, order, limit):
        return views.products(sources, params.parse_product_sort(sort), params.parse_order(order),
                              params.parse_limit(limit, 20))

    def users_view(limit, user):
        return views.users(sources, params.parse_limit(limit, 20), params.parse_user(user))

    def suspicious_view(limit):
        return views.suspicious(sources, params.parse_limit(limit, 50))

    def runs_view(limit):
        return views.runs(sources, params.parse_limit(limit, 20))

    # --- pages -------------------------------------------------------------------------------------

    @app.get("/traffic", include_in_schema=False)
    def traffic_page(date: Optional[str] = None):
        return html("traffic", traffic_view(date), "Traffic")

    @app.get("/products", include_in_schema=False)
    def products_page(sort: Optional[str] = None, order: Optional[str] = None, limit: Optional[str] = None):
        return html("products", products_view(sort, order, limit), "Products")

    @app.get("/users", include_in_schema=False)
    def users_page(limit: Optional[str] = None, user: Optional[str] = None):
        return html("users", users_view(limit, user), "Users")

    @app.get("/suspicious", include_in_schema=False)
    def suspicious_page(limit: Optional[str] = None):
        return html("suspicious", suspicious_view(limit), "Suspicious users")

    @app.get("/runs", include_in_schema=False)
    def runs_page(limit: Optional[str] = None):
        return html("runs", runs_view(limit), "Runs")

    # --- the JSON API ------------------------------------------------------------------------------

    @app.get("/api/traffic", tags=["traffic"], summary="The hourly series of one day (hourly_activity)")
    def traffic_api(date: Optional[str] = Query(None, description=DATE_DOC)):
        return traffic_view(date)

    @app.get("/api/products", tags=["products"],
             summary="The product funnel: views, cart adds, purchases and conversion ratios (product_popularity)")
    def products_api(sort: Optional[str] = Query(None, description="one of %s (default purchases)"
                                                                    % ", ".join(params.PRODUCT_SORTS)),
                     order: Optional[str] = Query(None, description="desc (default) or asc"),
                     limit: Optional[str] = Query(None, description=LIMIT_DOC + " (default 20)")):
        return products_view(sort, order, limit)

    @app.get("/api/users", tags=["users"],
             summary="Top users by clicks (user_clicks); with user=, that user's profile and sessions")
    def users_api(limit: Optional[str] = Query(None, description=LIMIT_DOC + " (default 20)"),
                  user: Optional[str] = Query(None, description=USER_DOC)):
        return users_view(limit, user)

    @app.get("/api/suspicious", tags=["suspicious users"],
             summary="Flagged users with the rules that fired and their evidence (suspicious_users)")
    def suspicious_api(limit: Optional[str] = Query(None, description=LIMIT_DOC + " (default 50)")):
        view = suspicious_view(limit)
        for row in view["flagged"]:
            row["rules"] = [{"rule": rule, "evidence": dict(pairs)} for rule, pairs in row["rules"]]
            row["details"] = dict(row["details"])
        return view

    @app.get("/api/runs", tags=["runs"],
             summary="Recent `clickstream run`s (runs) and the ingest watermark per topic of the raw area")
    def runs_api(limit: Optional[str] = Query(None, description=LIMIT_DOC + " (default 20)")):
        return runs_view(limit)

    return app

"""The dashboard's files: the page itself and the charting library, served by the ingress.

The chart library is the ``plotly`` Python package's own ``plotly.min.js`` (a declared
dependency), read from the installed package: never a CDN, never a copy in the repository.
It is ~4.6 MB, so it is sent gzip-compressed (compressed once per replica) to clients that
accept it, with a long cache lifetime keyed by the installed plotly version.
"""

from __future__ import annotations

import functools
import gzip
from importlib import metadata, resources

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from deployments.http_errors import ApiError

PLOTLY_ROUTE = "/ui/static/plotly.min.js"


@functools.cache
def _page() -> str:
    return resources.files("deployments").joinpath("static/dashboard.html").read_text("utf-8")


@functools.cache
def _plotly() -> tuple[bytes, bytes, str]:
    """The bundle, its gzip form and the plotly version (ApiError 503 when not installed)."""
    try:
        raw = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ApiError(503, "plotly", f"the plotly package is not installed ({exc})") from None
    return raw, gzip.compress(raw, compresslevel=6, mtime=0), metadata.version("plotly")


def dashboard() -> HTMLResponse:
    """The single page (all its data comes from the public read endpoints)."""
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


def plotly_bundle(request: Request) -> Response:
    """``plotly.min.js`` from the installed package, gzip when the client accepts it."""
    raw, packed, version = _plotly()
    headers = {"Cache-Control": "public, max-age=86400", "ETag": f'"plotly-{version}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(packed, media_type="text/javascript", headers=headers)
    return Response(raw, media_type="text/javascript", headers=headers)

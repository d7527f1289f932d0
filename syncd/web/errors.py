"""Errors on the hosted pages become HTML, not the API's JSON.

The API's error handlers (``syncd.api.errors``) ask :func:`html_error_response` first
for every request under the pages' prefix: a :class:`SignInRequired` is a redirect to
the sign-in page, any other :class:`UserError` a page with its message and status,
FastAPI's validation errors a 422 page, an unknown path a 404 page, anything else a 500
page (the traceback goes to the log, by the API's handler).
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncd.errors import FieldErrors, UserError
from syncd.web.auth import SignInRequired
from syncd.web.context import render, settings_of


def is_page_request(request: Request) -> bool:
    prefix = settings_of(request).web.prefix
    path = request.url.path
    return path == prefix or path.startswith(prefix + "/")


def html_error_response(request: Request, exc: Exception) -> Response | None:
    """The page answering ``exc``, or None for requests that are not the pages'."""
    if not is_page_request(request):
        return None
    if isinstance(exc, SignInRequired):
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": exc.location})
        return RedirectResponse(exc.location, status_code=303)
    if isinstance(exc, FieldErrors):
        return _page(request, 422, "Please check the form", str(exc))
    if isinstance(exc, UserError):
        response = _page(
            request, exc.http_status, _titles.get(exc.http_status, "Not possible"), exc.message
        )
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
    if isinstance(exc, RequestValidationError):
        fields = sorted({str(error.get("loc", ("", "?"))[-1]) for error in exc.errors()})
        return _page(
            request, 422, "Please check the form", "Missing or invalid: " + ", ".join(fields)
        )
    if isinstance(exc, StarletteHTTPException):
        return _page(request, exc.status_code, _titles.get(exc.status_code, "Error"), "")
    return _page(request, 500, "Something went wrong", "The error was logged; please try again.")


_titles = {
    400: "Not possible",
    401: "Not signed in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible",
    409: "Not possible",
    422: "Please check the form",
    429: "Too many attempts",
}


def _page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)

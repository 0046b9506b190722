"""Genesys' two error shapes: the platform ``ErrorBody`` and the login service's OAuth body.

Handlers raise `ApiError` or `OAuthError`; the server's middleware renders them with the request's
correlation id, which Genesys repeats as ``contextId``.
"""

from typing import Any

from aiohttp import web

# code -> (HTTP status, message template). Codes and texts as in Genesys' swagger; a template's
# {names} are the error's messageParams.
_API_ERRORS: dict[str, tuple[int, str]] = {
    "bad.request": (400, "The request could not be understood by the server: {reason}"),
    "not.a.user": (
        400,
        "This request requires a user context. "
        "Client credentials cannot be used for requests to this resource.",
    ),
    "conversation.error.call.disconnected": (400, "The call is already disconnected."),
    "conversation.error.hold.alerting": (400, "An alerting call cannot be placed on hold."),
    "conversation.error.no.user.station": (400, "A station is required to place a call."),
    "conversation.error.wrapup.code.required": (
        400,
        "Wrapup code is a required field and cannot be empty.",
    ),
    "conversation.error.wrapup.cannot.skip": (
        400,
        "Wrap-up cannot be skipped for this participant.",
    ),
    "notification.invalid.topic": (400, "The subscription topic is not valid."),
    "notification.subscription.too.many.subscriptions": (400, "Too many subscriptions"),
    "authentication.required": (
        401,
        "No authentication bearer token specified in authorization header.",
    ),
    "bad.credentials": (401, "Invalid login credentials."),
    "missing.permissions": (
        403,
        "Unable to perform the requested action. "
        "You are missing the following permission(s): {permissions}",
    ),
    "not.authorized": (403, "You are not authorized to perform the requested action."),
    "not.found": (404, "The requested resource was not found."),
    "conversation.error.not.conversation.participant": (
        404,
        "User is not a participant in the conversation.",
    ),
    "too.many.requests": (
        429,
        "Rate limit exceeded the maximum [{limit}] requests within [{seconds}] seconds",
    ),
    "internal.server.error": (
        500,
        "The server encountered an unexpected condition which prevented it from fulfilling the "
        "request.",
    ),
    "service.unavailable": (503, "Service Unavailable"),
    "request.timeout": (504, "The request timed out."),
}

# The error code Genesys uses for each status the fault injector can produce.
CODE_FOR_STATUS = {
    429: "too.many.requests",
    500: "internal.server.error",
    503: "service.unavailable",
    504: "request.timeout",
}


class ApiError(Exception):
    """A platform API error, answered as Genesys' ``ErrorBody``."""

    def __init__(self, code: str, *, headers: dict[str, str] | None = None, **params: Any) -> None:
        """Name the error by its Genesys code; ``params`` fill its message template."""
        self.status, self.template = _API_ERRORS[code]
        self.code = code
        self.params = {name: str(value) for name, value in params.items()}
        self.headers = headers or {}
        super().__init__(code)

    def body(self, context_id: str) -> dict[str, Any]:
        """The ``ErrorBody`` JSON."""
        return {
            "message": self.template.format(**self.params),
            "code": self.code,
            "status": self.status,
            "messageWithParams": self.template,
            "messageParams": self.params,
            "contextId": context_id,
            "details": [],
            "errors": [],
        }

    def response(self, context_id: str) -> web.Response:
        """The HTTP answer."""
        return web.json_response(self.body(context_id), status=self.status, headers=self.headers)


class OAuthError(Exception):
    """A login-service error: ``{error, description, error_description}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        """An OAuth error code (``invalid_grant`` …) with a human description."""
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}")

    def response(self) -> web.Response:
        """The HTTP answer, with both description keys as Genesys' login service sends."""
        body = {
            "error": self.error,
            "description": self.description,
            "error_description": self.description,
        }
        return web.json_response(body, status=self.status)

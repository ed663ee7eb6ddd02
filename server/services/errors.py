"""The one domain error type: routes turn it into an HTTP status, the CLI into exit code 1."""


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class RequestTimeout(ServiceError):
    status_code = 408


class TooLarge(ServiceError):
    status_code = 413


class Unprocessable(ServiceError):
    """Well-formed request, wrong values (a field out of range): the message names the field."""

    status_code = 422


class TooMany(ServiceError):
    status_code = 429


class Unavailable(ServiceError):
    """Overload or an outage on our side (broker, disk, database): nothing was kept, send it again."""

    status_code = 503

    def __init__(self, message: str, *, retry_after_s: int = 5):
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})

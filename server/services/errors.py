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


class TooMany(ServiceError):
    status_code = 429

"""Domain errors. The API layer maps each one to an RFC 9457 problem+json answer."""

from __future__ import annotations

from collections.abc import Sequence

from futago.core.problems import Problem


class FutagoError(Exception):
    """Base of every error that futago raises on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = list(problems)


class InvalidInput(FutagoError):
    """The input breaks a rule of its model or of the API; ``problems`` say where."""

    status = 422
    title = "Invalid input"

    def __init__(self, detail: str | Sequence[Problem], problems: Sequence[Problem] = ()) -> None:
        if not isinstance(detail, str):
            problems = list(detail)
            detail = "; ".join(str(p) for p in problems[:5]) or "invalid input"
        super().__init__(detail, problems)


class Unauthorized(FutagoError):
    """No credentials, or credentials that do not hold (unknown, expired, revoked, badly signed)."""

    status = 401
    title = "Unauthorized"


class Forbidden(FutagoError):
    """Authenticated, but no policy entry (or consent) allows it."""

    status = 403
    title = "Forbidden"


class NotFound(FutagoError):
    status = 404
    title = "Not found"


class Conflict(FutagoError):
    """The resource already exists, or is still referenced."""

    status = 409
    title = "Conflict"


class PreconditionFailed(FutagoError):
    """An If-Match ETag no longer matches: someone else changed the resource first."""

    status = 412
    title = "Precondition failed"


class PayloadTooLarge(FutagoError):
    status = 413
    title = "Payload too large"


class TooManyRequests(FutagoError):
    """Over a rate limit; ``retry_after_s`` says when to try again (the answer's Retry-After header)."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: float = 1.0, problems: Sequence[Problem] = ()) -> None:
        super().__init__(detail, problems)
        self.retry_after_s = retry_after_s

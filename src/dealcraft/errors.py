"""Errors that services raise and every entry point (API, web, CLI) turns into a response."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of the errors a user can act on; `message` is meant to be shown."""

    title = "Request refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    """The input is wrong; `field` names where, when known."""

    title = "Invalid input"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(ServiceError):
    """The acting user may not do this."""

    title = "Not allowed"


class NotFound(ServiceError):
    title = "Not found"


class Conflict(ServiceError):
    """The record changed since the caller read it; `current` is what it is now."""

    title = "Edit conflict"

    def __init__(self, message: str, current: Any) -> None:
        super().__init__(message)
        self.current = current


class GateRefused(ServiceError):
    """A stage move the process does not allow yet; `transition.blocking` lists why."""

    title = "Stage gate not met"

    def __init__(self, message: str, transition: Any) -> None:
        super().__init__(message)
        self.transition = transition

"""Domain errors. They carry no HTTP codes: the API maps them to problem details, the CLI
prints the message and exits non-zero."""

from __future__ import annotations


class DomainError(Exception):
    """A user's request that the rules refuse; the message says what and why."""

    title = "request refused"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    title = "not found"


class Conflict(DomainError):
    """The request clashes with the current state (e.g. the plan is already frozen)."""

    title = "conflict with the current state"


class InvalidInput(DomainError):
    title = "invalid input"

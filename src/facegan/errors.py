"""Errors that carry a message meant for the user: the workflow scripts print them without a traceback."""


class FaceganError(RuntimeError):
    """A problem with the input or configuration; the message says what to do about it."""

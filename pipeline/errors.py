"""The exceptions of scim-pipeline.

Every error a user can fix is a ``PipelineError``; the command line shows it as one
``Error: ...`` line and exits with its ``exit_code``. Anything else is a bug.

    PipelineError                  exit 1 unless said otherwise
    +-- UsageError                 exit 2: missing URL or key, a file that is not there
    +-- InputFileError             a sheet that cannot be read (encoding, format)
    +-- ScimError                  talking to the server went wrong
    |   +-- ConnectionFailed       the server could not be reached
    |   +-- AuthenticationFailed   the key was refused (401 or 403)
    |   +-- ScimHttpError          any other error status; carries status and detail
    +-- ValidationFailed           the sheet has errors; nothing was sent
    +-- GuardRefused               a safety limit (``--max-suspend``) refused the run
    +-- IncompleteExport           fewer resources arrived than the server announced
"""

from __future__ import annotations


class PipelineError(Exception):
    """An error the user can fix; its message says how."""

    exit_code = 1


class UsageError(PipelineError):
    """The command was called wrongly: a missing option, file or key."""

    exit_code = 2


class InputFileError(PipelineError):
    """An input file exists but cannot be read as a sheet."""


class ScimError(PipelineError):
    """A request to the SCIM server failed."""


class ConnectionFailed(ScimError):
    """No answer came: the server could not be reached, dropped the connection or
    did not answer in time (``timed_out``)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class AuthenticationFailed(ScimError):
    """The server refused the credentials (401 or 403)."""


class ScimHttpError(ScimError):
    """The server answered with an error status."""

    def __init__(self, message: str, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class ValidationFailed(PipelineError):
    """The input has validation errors; nothing was sent."""


class GuardRefused(PipelineError):
    """A safety guard refused the whole run; nothing was sent."""


class IncompleteExport(PipelineError):
    """The server announced more resources than it delivered."""

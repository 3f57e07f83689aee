"""Logging filters that settings.LOGGING attaches to loggers and handlers."""

import logging


class ForbiddenOneLine(logging.Filter):
    """Shorten Django's record of a 403 response to one warning line with the user id and path.

    Django logs a PermissionDenied with its whole traceback on ``django.request``.
    A refused request is routine here (every role is refused most pages), so
    the traceback only buries real errors. Other records pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 403:
            return True
        request = getattr(record, "request", None)
        user = getattr(request, "user", None)
        path = getattr(request, "path", "")
        record.msg = "forbidden: user %s, path %s"
        # The path comes from the client: escaping keeps it on one line.
        record.args = (getattr(user, "pk", None), path.encode("unicode_escape").decode("ascii"))
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        return True


class RedactPersonalNumbers(logging.Filter):
    """Mask ID and mobile numbers in every record that reaches the handler.

    The project's own log calls name ids, never numbers. This filter catches
    what libraries log, such as a phone typed as a username, so the whole
    message is formatted here and its arguments dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from villagers.identity import redact_personal_numbers

        message = record.getMessage()
        redacted = redact_personal_numbers(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True

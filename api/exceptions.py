"""One error body for every API failure: ``{"code", "message", "fields"}``.

Messages are translated into the request's language, which LocaleMiddleware
takes from Accept-Language (Simplified Chinese when the header is missing).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used for a different request; "
        "send a new key for a new request."
    )


class ServiceRejected(exceptions.APIException):
    """A business rule of a service rejected the request (Django's ValidationError).

    ``fields`` names the request field the rule is about, when its code maps to one.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "rejected"

    def __init__(self, detail, fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.fields = fields or {}


# Codes of the services' ValidationErrors that concern one field of a write request.
SERVICE_ERROR_FIELDS = {
    "act_date_future": "act_date",
    "rule_not_found": "rule",
    "rule_not_applying": "rule",
    "photo_required": "photo",
}


def api_exception_handler(exc, context):
    """Turn an exception into the API's error body, or return None for a server error."""
    if isinstance(exc, DjangoValidationError):
        exc = _service_rejected(exc)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        # Django's message names the model and the query, which the client need not see.
        exc = exceptions.NotFound()
    elif isinstance(exc, exceptions.ParseError):
        # DRF's message quotes the JSON parser in English.
        exc = exceptions.ParseError(
            _("The request body is not valid JSON; check its quotes, commas and brackets.")
        )
    elif isinstance(exc, exceptions.NotAuthenticated):
        replaced = exceptions.NotAuthenticated(
            _("Send your API token in the header “Authorization: Token <token>”.")
        )
        # DRF set the WWW-Authenticate header's value on the original exception.
        replaced.auth_header = getattr(exc, "auth_header", None)  # type: ignore[attr-defined]
        exc = replaced
    elif _is_csrf_failure(exc):
        exc = exceptions.PermissionDenied(
            _(
                "The browser's CSRF security token is missing or wrong; reload the page and try again."
            )
        )
    response = exception_handler(exc, context)
    if response is None:
        return None

    request = context.get("request")
    if request is not None:
        # A CSV or XLSX request still gets its error as JSON.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    response.data = _error_body(exc)
    return response


def _service_rejected(error: DjangoValidationError) -> ServiceRejected:
    message = " ".join(error.messages)
    field = SERVICE_ERROR_FIELDS.get(getattr(error, "code", None) or "")
    return ServiceRejected(message, fields={field: error.messages} if field else None)


def _is_csrf_failure(exc) -> bool:
    # SessionAuthentication raises PermissionDenied("CSRF Failed: <reason>") in English.
    return isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith(
        "CSRF Failed"
    )


def _error_body(exc) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return {
            "code": "invalid",
            "message": _("Some fields are invalid; see “fields” for what to correct."),
            "fields": _field_messages(exc.detail),
        }
    detail = exc.detail
    code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    if isinstance(code, list | dict):
        code = getattr(exc, "default_code", "error")
    return {"code": str(code), "message": str(detail), "fields": getattr(exc, "fields", {})}


def _field_messages(detail) -> dict[str, list[str]]:
    """Flatten DRF's nested error detail to field name → list of messages."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for name, value in detail.items():
            for inner_name, messages in _field_messages(value).items():
                key = name if inner_name == "non_field_errors" else f"{name}.{inner_name}"
                flat.setdefault(key, []).extend(messages)
        return flat
    if isinstance(detail, list):
        texts: list[str] = []
        nested: dict[str, list[str]] = {}
        for item in detail:
            if isinstance(item, dict):
                nested.update(_field_messages(item))
            else:
                texts.append(str(item))
        return {"non_field_errors": texts, **nested} if texts else nested
    return {"non_field_errors": [str(detail)]}

"""OpenAPI additions: the token scheme, the error responses and the ``format`` parameter."""

from django.utils import translation
from django.utils.text import capfirst
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from .serializers import ErrorSerializer

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["json", "csv", "xlsx"],
    description="json (the default), or csv or xlsx for a download of every matching row, "
    "unpaginated, with headings in the request's language.",
)

# Error status codes every operation may return, with what each one means here.
_COMMON_ERRORS = {
    "401": "The token is missing, invalid, expired or revoked.",
    "403": "The user's role may not use this endpoint, or the token may only read.",
    "429": "The token sent too many requests; retry after the Retry-After header's seconds.",
}
_INPUT_ERROR = "A query parameter or request field is invalid; see fields."
_NOT_FOUND = (
    "No such row among the villages the token may see, a page past the last one, "
    "or an unknown format."
)
_KEY_REUSED = "The Idempotency-Key was already used with a different request body."


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106 - the header scheme word, not a secret
        )
        scheme["description"] = (
            "A token issued with `manage.py issue_api_token`, sent as `Authorization: Token <token>`."
        )
        return scheme


class ApiAutoSchema(AutoSchema):
    """Describe every field, and every error an operation can return with the one error body."""

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if "description" not in meta and getattr(field, "label", None):
            # The field's label (the model's verbose name), in English like the rest of the schema.
            with translation.override("en"):
                meta["description"] = f"{capfirst(str(field.label))}."
        return meta

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        exports = any(
            getattr(renderer, "format", None) == "csv" for renderer in self.view.renderer_classes
        )
        if self.method == "GET" and exports:
            parameters.append(FORMAT_PARAMETER)
        return parameters

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if not parameter.get("description"):
                parameter["schema"].pop("description", None)
                parameter["description"] = "Id of the row, as the list endpoint returns it."
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(_COMMON_ERRORS)
        if "{" not in self.path or self.method == "POST":
            errors["400"] = _INPUT_ERROR
        if self.method == "GET":
            errors["404"] = _NOT_FOUND
        if self.method == "POST":
            errors["422"] = _KEY_REUSED
        for code, description in sorted(errors.items()):
            if code in responses:
                continue
            response = self._get_response_for_code(
                ErrorSerializer, code, ["application/json"], direction
            )
            response["description"] = description
            responses[code] = response
        return responses


def drop_format_suffix_paths(endpoints):
    """Leave out the .csv/.xlsx suffix twins of paths; the format parameter documents them."""
    return [endpoint for endpoint in endpoints if "{format}" not in endpoint[0]]

"""Permission checks of the API: the role, the endpoint's permissions and the token's grant."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .authentication import token_can_write


class CanUseApi(BasePermission):
    """Let in active staff with the API role permission and the endpoint's own permissions.

    A view lists its permissions in ``required_permissions`` (for reads) and
    ``write_permissions`` (for POST). Writes need a token with a grant whose
    ``can_write`` is set; a session only reads. Scoping to villages is the view's job.
    """

    message = _("You do not have permission to use this part of the API.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.is_active or not user.is_staff:
            return False
        needed = ["api.use_api", *getattr(view, "required_permissions", ())]
        if request.method not in SAFE_METHODS:
            if request.auth is None:
                self.message = _(
                    "Writes through the API need a token that may write; a signed-in browser"
                    " can only read. Ask the village office for a token."
                )
                return False
            if not token_can_write(request.auth):
                self.message = _("This token may only read; ask for a token that may write.")
                return False
            needed += getattr(view, "write_permissions", ())
        return user.has_perms(needed)

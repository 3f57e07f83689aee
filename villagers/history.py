"""Attribution of simple-history records to the acting user."""

from typing import Any

from django.db.models import Model


def set_history_user(instance: Model, user: Any) -> None:
    """Name ``user`` in the history record that saving ``instance`` writes.

    simple-history reads the private ``_history_user`` attribute; outside a
    request (services called from tasks and commands) it is the only way.
    """
    instance._history_user = user  # type: ignore[attr-defined]

"""Messages shown once, even when the same form is sent twice."""

from django.contrib import messages
from django.contrib.messages.storage.base import BaseStorage


def success_once(request, text: str) -> None:
    """Add the success message ``text`` unless the same message already waits to be shown.

    A double tap on a submit button sends the form twice. The service stores
    one row, so the user should see one thank-you, not two.
    """
    storage = messages.get_messages(request)
    waiting = [str(message) for message in storage]
    if isinstance(storage, BaseStorage):
        # Reading the messages marks them as shown, so unmark them to keep them for the next page.
        storage.used = False
    if str(text) not in waiting:
        messages.success(request, text)

"""SMS backends. ``settings.SMS_BACKEND`` names the class that sends texts.

A backend is a class with no constructor arguments and one method,
``send(*, phone: str, text: str) -> None``, that raises ``SmsError`` when the
provider rejects the text. The default backend only logs, so a deployment
sends no SMS until the village chooses a provider and writes a backend for it.
"""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from villagers.identity import redact_personal_numbers

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider did not accept the text."""


class SmsBackend(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


def mask_phone(phone: str) -> str:
    """Return ``phone`` with all but its first three and last two digits hidden."""
    if len(phone) <= 5:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


class LoggingBackend:
    """Write each text to the log instead of sending it, with the phone number masked.

    The text can quote what a villager typed, so any ID or phone number in it is masked too.
    """

    def send(self, *, phone: str, text: str) -> None:
        logger.info(
            "sms to %s not sent (logging backend): %s",
            mask_phone(phone),
            redact_personal_numbers(text),
        )


def get_backend() -> SmsBackend:
    """Return an instance of the backend that ``settings.SMS_BACKEND`` names."""
    return import_string(settings.SMS_BACKEND)()

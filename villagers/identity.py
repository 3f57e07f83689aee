"""Resident ID numbers (居民身份证号码) under GB 11643-1999.

An ID number has 18 characters: a 6-digit area code, the birth date as
YYYYMMDD, a 3-digit sequence whose last digit is odd for men and even for
women, and a check character computed with ISO 7064 MOD 11-2.
"""

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class InvalidIdNumber(ValueError):
    """Error for an ID number that fails GB 11643, with a message for the user."""


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    is_male: bool

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)

    @cached_property
    def digest(self) -> str:
        return id_number_digest(self.value)


def check_character(first_17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def parse_id_number(raw: str) -> IdNumber:
    """Validate an 18-character ID number and read its birth date and sex.

    Raises InvalidIdNumber with a user-facing message naming the problem.
    """
    # NFKC folds full-width digits and letters (３３０１…ｘ), which Chinese input
    # methods type, into ASCII, so one person always gets one digest.
    value = unicodedata.normalize("NFKC", raw).strip().upper()
    if not _SHAPE.match(value):
        raise InvalidIdNumber(
            _("The ID number must be 18 characters: 17 digits and a final digit or X.")
        )
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber(
            _("The ID number's check digit is wrong; check the number against the ID card.")
        )
    try:
        birth_date = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber(
            _("The ID number holds no valid birth date in characters 7 to 14.")
        ) from None
    return IdNumber(value=value, birth_date=birth_date, is_male=int(value[16]) % 2 == 1)


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters: 330109********1234."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits of a mobile number: 138****5678."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# ID numbers and mainland mobile numbers inside free text, such as a villager's
# description of a problem. An ID number is 18 characters and a mobile number is
# 11 digits starting with 1, neither part of a longer run. A mobile number may
# carry +86 and be split by spaces or dashes, as people type it (139 1234 5678).
_ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?(1\d{2})[ -]?(\d{4})[ -]?(\d{4})(?!\d)")


def redact_personal_numbers(text: str) -> str:
    """Mask every ID number and mobile number found in ``text``, as mask_id_number and mask_phone do."""
    text = _ID_NUMBER_IN_TEXT.sub(lambda match: mask_id_number(match.group()), text)
    return _MOBILE_IN_TEXT.sub(lambda match: f"{match[1]}****{match[3]}", text)


def id_number_digest(value: str) -> str:
    key = settings.PERSONAL_DATA_KEY.encode()
    normalised = unicodedata.normalize("NFKC", value).strip().upper()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


# Full ID numbers at rest.
#
# The digest above finds people, but an authorised unmasked export needs the
# number back, so it is also stored encrypted with AES-256-GCM (authenticated,
# so a tampered value fails to decrypt instead of decrypting to a wrong
# number). The key is derived with HKDF-SHA256 from PERSONAL_DATA_KEY, which
# lives in the environment and never in the database: a dump alone reveals
# nothing. One setting keeps deployment simple; HKDF's info label makes the
# encryption key independent of the HMAC key used for digests, so neither
# use weakens the other. Each value has its own random 96-bit nonce, stored in
# front of the ciphertext, and the villager's digest is bound in as associated
# data so a ciphertext copied onto another villager's row does not decrypt.
_ENCRYPTION_INFO = b"nengliangbang villager id number v1"
_NONCE_BYTES = 12


def _encryption_key() -> bytes:
    return _derive_key(settings.PERSONAL_DATA_KEY)


@cache
def _derive_key(personal_data_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_ENCRYPTION_INFO)
    return hkdf.derive(personal_data_key.encode())


def encrypt_id_number(value: str, *, digest: str) -> str:
    """Encrypt a normalised ID number and return it as URL-safe base64 text."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(_encryption_key()).encrypt(nonce, value.encode(), digest.encode())
    return base64.urlsafe_b64encode(nonce + ciphertext).decode()


def decrypt_id_number(token: str, *, digest: str) -> str:
    """Decrypt what ``encrypt_id_number`` returned.

    Raises cryptography's InvalidTag when the key, the digest or the token is wrong.
    """
    raw = base64.urlsafe_b64decode(token.encode())
    nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return AESGCM(_encryption_key()).decrypt(nonce, ciphertext, digest.encode()).decode()

"""Form label punctuation in Chinese.

Django appends ``label_suffix`` (the msgid ":") to every form label, unless the
label already ends in one of the characters of the msgid ":?.!". Django's own
zh_Hans catalog keeps both in ASCII, so Chinese labels read "发生日期:" and
"您做了什么？:". This project's catalog, which Django reads before its own,
translates them to a full-width colon and adds the full-width stops.
"""

from django.utils.translation import gettext_noop

LABEL_PUNCTUATION = [
    # Translators: the suffix after a form label; the full-width colon in Chinese.
    gettext_noop(":"),
    # Translators: a label ending in one of these characters gets no suffix;
    # add the full-width colon, question mark, full stop and exclamation mark.
    gettext_noop(":?.!"),
]

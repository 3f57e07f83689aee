"""The Chinese translation is complete, compiled and in step with the code."""

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO_FILE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


def test_every_message_translated():
    catalog = polib.pofile(str(PO_FILE))
    missing = [entry.msgid for entry in catalog.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalog.fuzzy_entries()]
    assert missing == []
    assert fuzzy == []


def test_compiled_catalog_matches_po():
    catalog = polib.pofile(str(PO_FILE))
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in catalog.translated_entries():
        if entry.msgid_plural:
            actual = compiled.ngettext(entry.msgid, entry.msgid_plural, 1)
            expected = entry.msgstr_plural[0]
        elif entry.msgctxt:
            actual = compiled.pgettext(entry.msgctxt, entry.msgid)
            expected = entry.msgstr
        else:
            actual = compiled.gettext(entry.msgid)
            expected = entry.msgstr
        if actual != expected:
            stale.append(entry.msgid)
    assert stale == [], "run: .venv/bin/python manage.py compilemessages"


def test_catalog_has_every_message_in_code(tmp_path):
    """makemessages finds no message that the committed catalog lacks."""
    assert shutil.which("xgettext"), "install gettext to check the catalog"
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "var", "test-artifacts", "*.sqlite3*"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v", "0"],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "x", "PYTHONPATH": ":".join(sys.path)},
    )
    fresh = {entry.msgid for entry in polib.pofile(str(copy / PO_FILE.relative_to(ROOT)))}
    committed = {entry.msgid for entry in polib.pofile(str(PO_FILE))}
    assert sorted(fresh - committed) == [], (
        "run: .venv/bin/python manage.py makemessages -l zh_Hans"
    )

"""System checks for a production deployment, run by ``manage.py check --deploy``."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_upload_folders(app_configs, **kwargs) -> list[Error]:
    """Reject MEDIA_ROOT or PRIVATE_FILES_ROOT inside the code tree.

    Uploaded photos and rosters (with full ID numbers) must not sit beside the
    code, where an image rebuild or a copy of the checkout takes them along.
    The local demo keeps them under var/, but it does not run the deploy checks.
    """
    code_tree = Path(settings.BASE_DIR).resolve()
    errors = []
    for name in ("MEDIA_ROOT", "PRIVATE_FILES_ROOT"):
        folder = Path(getattr(settings, name)).resolve()
        if folder == code_tree or code_tree in folder.parents:
            errors.append(
                Error(
                    f"{name} ({folder}) is inside the code tree {code_tree}.",
                    hint=f"Set the {name} environment variable to a folder outside it, "
                    "such as /srv/nengliangbang/.",
                    id="nengliangbang.E001",
                )
            )
    return errors

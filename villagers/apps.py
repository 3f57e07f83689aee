from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_migrate(sender, using, **kwargs) -> None:
    """Keep the role groups in step with ``roles.PERMISSIONS`` after every migrate.

    Permissions are created after migrations run, app by app, so this creates
    them for every app first.
    """
    from django.contrib.auth.management import create_permissions

    from .services import roles_sync

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_sync()


class VillagersConfig(AppConfig):
    name = "villagers"
    verbose_name = _("Villages and villagers")

    def ready(self) -> None:
        import nengliangbang.checks  # noqa: F401 - registers the deploy checks

        post_migrate.connect(_sync_roles_after_migrate, sender=self)

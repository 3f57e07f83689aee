"""The in-app list of a user's notifications."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_POST

from .models import Notification
from .services import notifications_mark_read

PER_PAGE = 30


@login_required
def notification_list(request):
    """List the user's notifications, newest first, in the language of the page."""
    page = Paginator(Notification.objects.filter(recipient=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    language = translation.get_language()
    items = [(notification, notification.render(language)) for notification in page]
    return render(request, "notifications/list.html", {"page": page, "items": items})


@login_required
@require_POST
def notification_read_all(request):
    notifications_mark_read(actor=request.user)
    return redirect("notifications")

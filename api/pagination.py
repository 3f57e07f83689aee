from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class CappedPageNumberPagination(PageNumberPagination):
    """Pages of API_PAGE_SIZE rows; ``page_size`` may ask for up to API_MAX_PAGE_SIZE."""

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    page_size_query_description = "Rows per page, at most the server's maximum page size."
    max_page_size = settings.API_MAX_PAGE_SIZE

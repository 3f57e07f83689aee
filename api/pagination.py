from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class CappedPageNumberPagination(PageNumberPagination):
    """Pages of API_PAGE_SIZE rows; ``page_size`` may ask for up to API_MAX_PAGE_SIZE."""

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    page_size_query_description = "Rows per page, at most the server's maximum page size."
    max_page_size = settings.API_MAX_PAGE_SIZE

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        descriptions = {
            "count": "Number of rows that match the filters, on all pages.",
            "next": "Link to the next page, or null on the last page.",
            "previous": "Link to the previous page, or null on the first page.",
            "results": "The rows of this page.",
        }
        for name, description in descriptions.items():
            paginated["properties"][name]["description"] = description
        return paginated

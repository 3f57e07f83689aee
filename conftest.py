"""Test settings that must be in place before Django starts.

The suite runs on PostgreSQL and Redis (scripts/test sets DATABASE_URL and
REDIS_URL); these defaults only let a bare ``pytest`` start.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("PERSONAL_DATA_KEY", "test-only-personal-data-key")
os.environ.setdefault("DJANGO_DEBUG", "0")

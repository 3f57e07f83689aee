#!/usr/bin/env bash
# Run by the postgres image once, when it creates the database: adds the
# application role of app_role.sql for the web, worker and beat services.
set -euo pipefail
psql --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_role=nengliangbang_app \
    -v app_password="$APP_DB_PASSWORD" \
    -v owner="$POSTGRES_USER" \
    -f /docker-entrypoint-initdb.d/app_role.sql.in

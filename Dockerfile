# Image for the production stack in docker-compose.yml: web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --create-home --uid 1000 app

COPY pyproject.toml ./
RUN pip install --no-cache-dir --disable-pip-version-check -e .
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/var /srv/nengliangbang/media /srv/nengliangbang/private \
    && chown -R app:app /app/var /srv/nengliangbang \
    && chmod 0700 /srv/nengliangbang/private

USER app
EXPOSE 8000
CMD ["gunicorn", "nengliangbang.wsgi", "-b", "0.0.0.0:8000", "-w", "3"]

# The deployed shape: one image for web, workers and beat (compose.yaml runs it four ways).
# Built from the same pinned requirements.txt and package-lock.json as `make`.

# Front-end libraries from the npm registry, at build time.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/var/lib/outsourcing
# gettext compiles the German catalog; postgresql-client is for `manage.py backup` / `restore`;
# Pango, Cairo and DejaVu draw the reliability report's PDF and chart images (docs/reports.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext postgresql-client \
    libpango-1.0-0 libpangoft2-1.0-0 libcairo2 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY . .
# Build-time values only, to let the production checks pass while the static files are collected;
# the real SECRET_KEY and mail settings come from the environment at run time.
RUN SECRET_KEY=build-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    sh -c 'python manage.py compilemessages --ignore=node_modules -v 0 && python manage.py collectstatic --no-input -v 0' \
 && rm -f /tmp/build.sqlite3 \
 && useradd --system --create-home --home-dir /home/app app \
 && mkdir -p "$VAR_DIR" /tmp/prometheus \
 && chown -R app "$VAR_DIR" /tmp/prometheus
USER app
EXPOSE 8000
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
CMD ["gunicorn", "outsourcing.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

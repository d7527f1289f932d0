# syncd container: the daemon (sync + HTTP API) as a non-root user on a slim base.
#   docker build -t syncd .
#   docker run -e SYNCD_SECRET_KEYS=… -e SYNCD_DATABASE_URL=… -p 8080:8080 syncd
# compose.yaml runs it with Postgres; docs/operations.md has the details.
# BASE_IMAGE: any Debian bookworm image with python3 (3.11) and venv, same for both
# stages (the venv links to the base's python3). scripts/image-smoke passes a local base
# made with debootstrap, where no image registry is reachable.

ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Optional: a CA bundle for pip when TLS egress is re-signed (scripts/image-smoke mounts
# the host's). Build stage only: nothing of it reaches the final image.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncd ./syncd
COPY providers ./providers
COPY conferencing_providers ./conferencing_providers
COPY retry_policy.py public_addresses.py ./
RUN python3 -m venv /opt/syncd && /opt/syncd/bin/pip install .

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 syncd \
    && useradd --system --uid 10001 --gid syncd --home-dir /var/lib/syncd --create-home \
       --shell /usr/sbin/nologin syncd
COPY --from=build /opt/syncd /opt/syncd
COPY config/syncd.example.toml /etc/syncd/syncd.example.toml
ENV PATH=/opt/syncd/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SYNCD_API_HOST=0.0.0.0 \
    SYNCD_API_PORT=8080 \
    SYNCD_DATABASE_URL=sqlite:////var/lib/syncd/syncd.db
USER 10001:10001
WORKDIR /var/lib/syncd
VOLUME ["/var/lib/syncd"]
EXPOSE 8080
# Ready = database reachable and schema current (GET /readyz answers 200).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/readyz' % os.environ.get('SYNCD_API_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["syncd"]
CMD ["run"]

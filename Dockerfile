# chordshare node image.
#
#   docker build -t chordshare .                                      # official slim Python
#   docker build --build-arg BASE=chordshare-base:local -t chordshare .  # local Debian base
#                                                   # (deploy/base-image.sh, no registry needed)
#   docker run --init -p 127.0.0.1:8000:8000 -v chordshare-data:/var/lib/chordshare/data chordshare
#
# Stage 1 builds wheels for chordshare and every dependency; stage 2 installs them with pip
# offline (--no-index) into a virtualenv, so the final image has no compiler, no build cache
# and no network access at install time. `python3` is used throughout: it is the name on both
# the official images and Debian's own python3.
ARG BASE=python:3.11-slim

FROM ${BASE} AS wheels
WORKDIR /src
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir --upgrade pip wheel
# The dependencies' wheels first, from pyproject.toml alone, so that a change to the sources
# rebuilds only chordshare's own wheel and reuses this layer.
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > requirements.txt \
    && /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt
COPY README.md ./
COPY src ./src
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${BASE}
RUN python3 -m venv /opt/chordshare \
    && useradd --system --uid 10001 --home-dir /var/lib/chordshare --create-home chordshare \
    && mkdir -p /var/lib/chordshare/data /var/lib/chordshare/shared /etc/chordshare \
    && chown -R chordshare:chordshare /var/lib/chordshare
COPY --from=wheels /wheels /tmp/wheels
RUN /opt/chordshare/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels chordshare \
    && rm -rf /tmp/wheels
COPY deploy/entrypoint.sh /usr/local/bin/chordshare-entrypoint
COPY deploy/healthcheck.py /usr/local/lib/chordshare-healthcheck.py

ENV PATH=/opt/chordshare/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CHORDSHARE_LISTEN_HOST=0.0.0.0 \
    CHORDSHARE_GRPC_PORT=50051 \
    CHORDSHARE_HTTP_PORT=8000 \
    CHORDSHARE_DATA_DIR=/var/lib/chordshare/data \
    CHORDSHARE_SHARED_DIR=/var/lib/chordshare/shared
USER chordshare
WORKDIR /var/lib/chordshare
VOLUME ["/var/lib/chordshare/data", "/var/lib/chordshare/shared"]
EXPOSE 50051 8000

# SIGTERM starts the node's graceful leave (records handed over, neighbours told); give the
# container time for it (docker stop -t / terminationGracePeriodSeconds above leave_handoff_timeout).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=3 \
    CMD ["python3", "/usr/local/lib/chordshare-healthcheck.py"]
ENTRYPOINT ["/usr/local/bin/chordshare-entrypoint"]

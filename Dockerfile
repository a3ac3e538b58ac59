# cardlake flow runtime: Prefect flows plus a local-mode Spark (Java 17) for the embedded runner.
# Build: docker build -t cardlake-flows:<version> .   (ECR push: infra/README.md, step 5)
# No secrets are baked in: flows read them from Prefect blocks / Secrets Manager at run time.
FROM python:3.11-slim-bookworm

# Java 17 from Debian for local-mode Spark (PySpark 3.5). The "17.0.*" pin keeps the Java line fixed while
# taking Debian security updates (an exact version disappears from the archive at the next update).
# The man1 folder is missing on slim images and the JRE's postinst fails without it.
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends "openjdk-17-jre-headless=17.0.*" \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /opt/java

ENV JAVA_HOME=/opt/java \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app

# Dependencies first, at the versions of uv.lock, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv export --frozen --no-dev --no-emit-project --no-hashes --output-file /tmp/requirements.txt \
    && uv pip install --system --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY cardlake ./cardlake
COPY cardapi ./cardapi
COPY flows ./flows
COPY spark_jobs ./spark_jobs
COPY contracts ./contracts
COPY blocks ./blocks
# Flows run unprivileged; HOME holds Prefect's and cardlake's local state.
RUN uv pip install --system --no-deps . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin cardlake
USER 10001
ENV HOME=/home/cardlake \
    CARDLAKE_HOME=/home/cardlake/.cardlake
WORKDIR /home/cardlake

HEALTHCHECK --interval=60s --timeout=20s --retries=3 CMD ["python", "-c", "import cardlake, pyspark"]

# The Prefect ECS worker replaces the command with `prefect flow-run execute`.
CMD ["cardlake", "--help"]

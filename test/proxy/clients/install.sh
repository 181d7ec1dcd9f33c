#!/usr/bin/env bash
# Builds the Go, Python and Java clients the proxy tests drive (from the Go
# module proxy, PyPI and Maven Central), into ignored folders beside them.
set -euo pipefail
cd "$(dirname "$0")"
PGX_JDBC_VERSION=42.7.14
PSYCOPG_VERSION=3.3.9

if [ ! -x go/bin/pgx-client ]; then
  (cd go && go build -o bin/pgx-client .)
fi
if [ ! -x python/.venv/bin/python ] || ! python/.venv/bin/python -c 'import psycopg' 2>/dev/null; then
  python3 -m venv python/.venv
  python/.venv/bin/pip install -q "psycopg[binary]==${PSYCOPG_VERSION}"
fi
if [ ! -f "java/lib/postgresql-${PGX_JDBC_VERSION}.jar" ]; then
  mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.postgresql:postgresql:${PGX_JDBC_VERSION}" -DoutputDirectory="$PWD/java/lib" >/dev/null
fi
echo "proxy test clients ready"

#!/usr/bin/env bash
# PostgreSQL init script of docker-compose.yml (runs once, when the data volume is empty): separate databases and
# users for the server's metadata and the signer's keys (config-and-ops.md §5). Passwords come from the .env file.
set -euo pipefail

: "${SERVER_DB_PASSWORD:?SERVER_DB_PASSWORD is not set (copy deploy/compose/.env.example to .env)}"
: "${SIGNER_DB_PASSWORD:?SIGNER_DB_PASSWORD is not set (copy deploy/compose/.env.example to .env)}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v server_password="$SERVER_DB_PASSWORD" -v signer_password="$SIGNER_DB_PASSWORD" <<'SQL'
CREATE ROLE server LOGIN PASSWORD :'server_password';
CREATE ROLE signer LOGIN PASSWORD :'signer_password';
-- Each service owns its database (the migrate commands create the tables) and nothing else.
CREATE DATABASE notaryserver OWNER server;
CREATE DATABASE notarysigner OWNER signer;
REVOKE ALL ON DATABASE notaryserver FROM PUBLIC;
REVOKE ALL ON DATABASE notarysigner FROM PUBLIC;
SQL

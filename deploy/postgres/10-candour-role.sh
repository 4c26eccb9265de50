#!/bin/sh
# Run once by the postgres image when its data volume is new
# (/docker-entrypoint-initdb.d, compose.postgres.yaml): makes Candour's
# role and database with least privilege. The role is no superuser and may
# not create roles or databases; it owns the database "candour" (so that
# `candour serve` can create and migrate the schema there) and nothing
# else. Its password is read from the same password file Candour reads
# (PGPASSFILE format, host:port:database:user:password), so the two
# cannot disagree. The password goes to psql in its environment (which
# only its own user can read), never on a command line, and to the server
# inside the SQL sent over the container's Unix socket.
set -eu
file=${CANDOUR_PGPASS_FILE:-/run/secrets/candour-pgpass}
pass=$(head -n 1 "$file" | cut -d: -f5-)
if [ -z "$pass" ]; then
	echo "10-candour-role.sh: no password in $file" >&2
	exit 1
fi
CANDOUR_DB_PASSWORD=$pass psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv pass CANDOUR_DB_PASSWORD
CREATE ROLE candour LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'pass';
CREATE DATABASE candour OWNER candour;
REVOKE ALL ON DATABASE candour FROM PUBLIC;
SQL

-- Development roles for docker-compose.yml (run once, by the postgres image, on an empty volume).
--
-- boards_owner owns the database and its tables and runs the migrations
-- (BOARDS_DATABASE_OWNER_URL). boards_app is the runtime role the API connects as
-- (BOARDS_DATABASE_URL): a plain login role without SUPERUSER or BYPASSRLS that owns nothing, so
-- row-level security applies to every query. The first migration grants it its privileges.
--
-- The passwords are for local development only.
CREATE ROLE boards_owner LOGIN PASSWORD 'boards_owner_dev' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE boards_app LOGIN PASSWORD 'boards_app_dev' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE boards OWNER boards_owner;

-- As the superuser, in database boards: ILIKE marked LEAKPROOF, so that board search can use its
-- trigram indexes under row-level security (texticlike reveals nothing about a row but its result;
-- only a superuser may mark it). Without it search still works, reading all of a tenant's boards.
\connect boards
ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF;

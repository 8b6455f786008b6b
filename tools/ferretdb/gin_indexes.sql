-- GIN indexes beside FerretDB's btree indexes, so that PostgreSQL can use the indexes the services
-- declare (docs/STORAGE.md, "Indexes on FerretDB/PostgreSQL"). Run by scripts/servers, as the
-- superuser, in FerretDB's database, on every start: it is idempotent.
--
-- Why: FerretDB v1.24.2 stores a collection as a table with one jsonb column, _jsonb, and turns an
-- index the services declare into a btree index on expressions,
--     CREATE UNIQUE INDEX ... ON db.coll_1a2b3c4d (((_jsonb -> 'tenant')), ((_jsonb -> 'key')) DESC)
-- but it hands an equality filter to PostgreSQL as containment,
--     SELECT _jsonb FROM db.coll_1a2b3c4d WHERE _jsonb -> 'tenant' @> '"clinic-a"' AND ...
-- which a btree index cannot answer (FerretDB issue #4646): every query scanned the table. A GIN
-- index on the same expressions answers @>. So, for each btree index FerretDB creates on its
-- collections, an event trigger creates a GIN index beside it, named like it with `_gin` for
-- FerretDB's `_idx`, and a second one drops it when FerretDB drops the btree index (dropIndexes).
-- Dropping a collection or a database drops its table or schema, and the GIN indexes with it.
--
-- What the GIN index covers:
-- * the index's top-level fields, in one GIN index per btree index (one index with all the fields
--   of a compound key: PostgreSQL answers `tenant AND client_id AND instrument` from it in one
--   index scan; measured in docs/STORAGE.md);
-- * unique indexes too (`_id` lookups need it); uniqueness stays the btree index's job;
-- * not dotted fields (`outbox.written_at`, created as _jsonb -> 'outbox' -> 'written_at'):
--   FerretDB never hands a dotted path to PostgreSQL, so an index on it could not be used; an
--   index with only dotted fields gets no GIN index;
-- * not the order of a key (DESC): FerretDB sorts in Go, and GIN has no order.
-- jsonb_path_ops: smaller and faster than the default jsonb_ops, and @> is all FerretDB asks.
--
-- A failure to build a GIN index is a warning in PostgreSQL's log, never a failed createIndexes:
-- without it a query is slower, not wrong.

SET client_min_messages = warning;

BEGIN;

-- A schema FerretDB cannot take for a database: its database names are [a-zA-Z0-9_-]{1,63}.
CREATE SCHEMA IF NOT EXISTS "stepwise.gin";
GRANT USAGE ON SCHEMA "stepwise.gin" TO PUBLIC;

-- The CREATE INDEX statement of the GIN index that goes with FerretDB's btree index `btree`, or
-- NULL when none goes with it (not FerretDB's, not btree, or no top-level field).
CREATE OR REPLACE FUNCTION "stepwise.gin".statement_for(btree oid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    index_row record;
    column_sql text;
    columns text[] := '{}';
BEGIN
    SELECT i.indrelid, i.indnatts, ic.relname AS index_name, tc.relname AS table_name,
           n.nspname AS schema_name, am.amname
      INTO index_row
      FROM pg_index i
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_class tc ON tc.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = tc.relnamespace
      JOIN pg_am am ON am.oid = ic.relam
     WHERE i.indexrelid = btree;
    -- FerretDB's: a btree index named *_idx on a table of a schema that holds FerretDB's metadata
    -- table, other than that table itself.
    IF NOT FOUND OR index_row.amname <> 'btree' OR right(index_row.index_name, 4) <> '_idx'
       OR index_row.table_name = '_ferretdb_database_metadata'
       OR to_regclass(format('%I._ferretdb_database_metadata', index_row.schema_name)) IS NULL THEN
        RETURN NULL;
    END IF;
    FOR k IN 1..index_row.indnatts LOOP
        column_sql := pg_get_indexdef(btree, k, false);
        -- A top-level field: ((_jsonb -> 'name'::text)), the name quoted with '' for '.
        IF column_sql ~ '^\(+_jsonb -> ''([^'']|'''')*''::text\)+$' THEN
            columns := columns || format('%s jsonb_path_ops', column_sql);
        END IF;
    END LOOP;
    IF cardinality(columns) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (%s)',
                  left(index_row.index_name, -4) || '_gin', index_row.schema_name,
                  index_row.table_name, array_to_string(columns, ', '));
END
$$;

CREATE OR REPLACE FUNCTION "stepwise.gin".create_beside(btree oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    statement text := "stepwise.gin".statement_for(btree);
BEGIN
    IF statement IS NOT NULL THEN
        EXECUTE statement;
    END IF;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'no GIN index beside index %: % (%)', btree::regclass, SQLERRM, statement;
END
$$;

CREATE OR REPLACE FUNCTION "stepwise.gin".on_create_index() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    created record;
BEGIN
    -- Our own CREATE INDEX ... USING gin comes here too, and is not a btree index.
    FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
        PERFORM "stepwise.gin".create_beside(created.objid);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION "stepwise.gin".on_drop_index() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    dropped record;
BEGIN
    FOR dropped IN SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects()
                    WHERE object_type = 'index' AND right(object_name, 4) = '_idx' LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I.%I', dropped.schema_name,
                       left(dropped.object_name, -4) || '_gin');
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS stepwise_gin_create;
CREATE EVENT TRIGGER stepwise_gin_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION "stepwise.gin".on_create_index();

DROP EVENT TRIGGER IF EXISTS stepwise_gin_drop;
CREATE EVENT TRIGGER stepwise_gin_drop ON sql_drop WHEN TAG IN ('DROP INDEX')
    EXECUTE FUNCTION "stepwise.gin".on_drop_index();

-- FerretDB sends the field name as a parameter too (_jsonb -> $1 @> $2) in statements it prepares
-- once per connection. After five runs PostgreSQL may switch such a statement to a generic plan,
-- planned without the parameters' values: `_jsonb -> $1` matches no index expression, so that plan
-- scans the table, and it is kept while the table is small, then grows, until the next ANALYZE.
-- Always planning with the values costs a fraction of a millisecond per query.
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END $$;

-- The btree indexes that FerretDB created before this file was installed get theirs now.
DO $$ BEGIN PERFORM "stepwise.gin".create_beside(indexrelid) FROM pg_index; END $$;

COMMIT;

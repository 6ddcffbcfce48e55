-- TimescaleDB runs refreshes, compression and jobs with search_path = pg_catalog, pg_temp.
-- Then the expression of location_samples' gist index (sql/012), ll_to_earth(), fails on
-- PostgreSQL servers before 16: earthdistance 1.1 writes its SQL functions as strings that
-- name the `earth` type and the `earth()` function unqualified (`type "earth" does not
-- exist`), so no continuous aggregate on location_samples could ever be refreshed there.
-- earthdistance 1.2 (PostgreSQL 16+, the embedded engine) binds them at creation
-- (BEGIN ATOMIC bodies): nothing to do there. For the old string bodies, pin the search path
-- of each of the extension's SQL functions to the extension's schema (where cube also is).
do $$
declare
  fn record;
begin
  for fn in
    select p.oid::regprocedure as signature, n.nspname as schema
    from pg_extension e
    join pg_depend d on d.refclassid = 'pg_extension'::regclass and d.refobjid = e.oid and d.classid = 'pg_proc'::regclass
    join pg_proc p on p.oid = d.objid
    join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'earthdistance'
      and p.prolang = (select oid from pg_language where lanname = 'sql')
      and p.prosqlbody is null
  loop
    execute format('alter function %s set search_path = %I, pg_catalog', fn.signature, fn.schema);
  end loop;
end
$$;

-- Late data reaches the continuous aggregates (sql/010).
--
-- The refresh policies only look back 7 days, and real-time aggregation only covers what is
-- newer than a view's watermark, so samples that arrive later than that for an older time
-- (a phone offline for a week, an import of history) were in the raw tables but in no
-- aggregate. Each upload with samples older than the policies' window notes its time range
-- per sample table here, in the upload's own transaction (record_upload(), sql/022); the job
-- below refreshes every continuous aggregate built on that table over those ranges,
-- coalesced, and removes them. It is a TimescaleDB job: a server's scheduler runs it, and the
-- embedded database's job runner (src/db/job-runner.ts) runs it like every other job.
create table aggregate_backfill_ranges (
  id         bigint generated always as identity primary key,
  -- The raw sample table the samples went into (location_samples, ...).
  hypertable name not null,
  from_time  timestamptz not null,
  to_time    timestamptz not null check (to_time >= from_time),
  noted_at   timestamptz not null default now()
);

-- Refreshes the noted ranges, then deletes the rows it handled (rows noted meanwhile by
-- uploads still in flight stay for the next run: their samples may not be visible yet).
-- A range's rows go once its refresh is done, so a failing refresh only retries itself.
--
-- Ranges are widened to whole UTC days (every bucket of the views, minute and hour, lies
-- within one day) and merged per table where they overlap or touch: a backfill of a year in
-- many uploads is a few long refreshes, not thousands of short ones. A refresh recomputes
-- only the buckets whose raw rows changed (TimescaleDB's invalidation log), so the widening
-- costs little. Views built on views (the hourly ones) are refreshed after the view they
-- read. A range older than the table's retention policy (RETAIN_RAW) is left alone: its raw
-- chunks are dropped, and a refresh there would empty the aggregates.
create procedure refresh_backfilled_aggregates(job_id integer, config jsonb)
language plpgsql as $$
declare
  handled bigint[];
  tables name[];
  froms timestamptz[];
  tos timestamptz[];
  noted_froms timestamptz[];
  views text[];
begin
  select array_agg(id) into handled from (select id from aggregate_backfill_ranges order by id limit 100000) r;
  if handled is null then
    return;
  end if;

  with days as (
    select r.hypertable,
           date_trunc('day', r.from_time, 'UTC') as from_day,
           date_trunc('day', r.to_time, 'UTC') + interval '1 day' as to_day
    from aggregate_backfill_ranges r
    where r.id = any(handled)
  ),
  starts as (
    -- A range starts a new group when it begins after every earlier range of its table ends.
    select d.*, coalesce(d.from_day > max(d.to_day) over (partition by d.hypertable order by d.from_day, d.to_day
                                                          rows between unbounded preceding and 1 preceding), true) as starts_group
    from days d
  ),
  grouped as (
    select s.*, sum(s.starts_group::integer) over (partition by s.hypertable order by s.from_day, s.to_day) as group_no
    from starts s
  ),
  merged as (
    select g.hypertable, min(g.from_day) as from_day, max(g.to_day) as to_day
    from grouped g
    group by g.hypertable, g.group_no
  ),
  kept as (
    -- Clipped to what the retention policy keeps, if the table has one (greatest() ignores
    -- the null of a table without one).
    select m.hypertable, greatest(m.from_day, now() - (
             select (j.config ->> 'drop_after')::interval from timescaledb_information.jobs j
             where j.proc_name = 'policy_retention' and j.hypertable_name = m.hypertable limit 1)) as from_day,
           m.to_day, m.from_day as noted_from
    from merged m
  )
  select array_agg(k.hypertable order by k.hypertable, k.from_day), array_agg(k.from_day order by k.hypertable, k.from_day),
         array_agg(k.to_day order by k.hypertable, k.from_day), array_agg(k.noted_from order by k.hypertable, k.from_day)
  into tables, froms, tos, noted_froms
  from kept k;

  for i in 1 .. coalesce(array_length(tables, 1), 0) loop
    -- The views on this table, then the views on those views.
    with recursive built_on (view_schema, view_name, materialization, depth) as (
      select c.view_schema, c.view_name, c.materialization_hypertable_name, 1
      from timescaledb_information.continuous_aggregates c
      where c.hypertable_schema = 'public' and c.hypertable_name = tables[i]
      union all
      select c.view_schema, c.view_name, c.materialization_hypertable_name, b.depth + 1
      from timescaledb_information.continuous_aggregates c
      join built_on b on c.hypertable_name = b.materialization
    )
    select array_agg(format('%I.%I', b.view_schema, b.view_name) order by b.depth, b.view_name) into views from built_on b;
    if tos[i] > froms[i] then
      for v in 1 .. coalesce(array_length(views, 1), 0) loop
        call refresh_continuous_aggregate(views[v]::regclass, froms[i], tos[i]);
      end loop;
    end if;
    -- Done with this range's rows (refresh_continuous_aggregate committed): a table whose
    -- refresh fails keeps its rows for the next run and does not hold up the others.
    delete from aggregate_backfill_ranges r
    where r.id = any(handled) and r.hypertable = tables[i] and r.from_time >= noted_froms[i] and r.to_time < tos[i];
  end loop;
end
$$;

-- Every 30 seconds: a run with nothing noted is one index lookup, and late data shows up in
-- the aggregates within a minute of its upload.
select add_job('refresh_backfilled_aggregates', interval '30 seconds');

-- Ingest notes ranges; readers may look at what is pending.
grant insert on aggregate_backfill_ranges to telemetry_service;
grant select on aggregate_backfill_ranges to telemetry_reader;

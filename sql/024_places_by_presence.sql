-- places() measures the time actually spent (replaces sql/013's functions).
--
-- 1. A location holds until the device's next location sample, or until the device stops
--    reporting anything at all: every sample is a heartbeat (activity states, acceleration
--    bursts, locations). The old fixed cap (max_dwell, 1 day) cut real stays of 30+ hours at
--    home while the phone kept reporting, and kept counting a phone that was off.
-- 2. Places whose centres lie within the radius are merged (noisy fixes around home no longer
--    make a second and third home).
-- 3. One default radius everywhere: 500 m, the distance of a significant-change update (two
--    places closer than that cannot be told apart by such samples).
-- 4. Hours of day in a time zone given as a parameter, not the session's.
drop function places(integer, timestamptz, timestamptz, double precision, interval, interval);
drop function location_spans(integer, timestamptz, timestamptz, interval);

-- When a device was reporting: [from, to) minus every gap of more than max_gap between two
-- consecutive minutes that have samples of any kind. The minutes come from the per-minute
-- continuous aggregates (sql/010), so a year of 50 Hz acceleration is read as at most one row
-- per minute. max_gap defaults to 2 hours: twice the longest interval between two activity
-- reports of a phone lying still overnight (a motion coprocessor reports a still phone every
-- 10 to 60 minutes), far shorter than a phone that is off or out of battery.
--   select * from device_presence(1, now() - interval '7 days', now());
create function device_presence(device integer, "from" timestamptz, "to" timestamptz, max_gap interval default '2 hours')
returns tstzmultirange
language sql stable as $$
  with minutes as (
    select bucket from location_samples_per_minute where device_id = device and bucket >= $2 - max_gap and bucket < $3 + max_gap
    union
    select bucket from activity_samples_per_minute where device_id = device and bucket >= $2 - max_gap and bucket < $3 + max_gap
    union
    select bucket from acceleration_per_minute where device_id = device and bucket >= $2 - max_gap and bucket < $3 + max_gap
  ),
  gaps as (
    -- After the last minute with samples the device is silent until now (or the period's
    -- end, if later): a device silent for less than max_gap may still be reporting. Before
    -- the first minute it had not started reporting.
    select m.bucket + interval '1 minute' as gone_from,
           coalesce(lead(m.bucket) over (order by m.bucket), 'infinity') as gone_to,
           coalesce(lead(m.bucket) over (order by m.bucket), greatest(now(), $3)) as silent_until
    from minutes m
    union all
    select '-infinity', min(m.bucket), min(m.bucket) from minutes m
  )
  select tstzmultirange(tstzrange($2, $3))
         - coalesce(range_agg(tstzrange(g.gone_from, g.gone_to)) filter (where g.gone_to is null or g.silent_until > g.gone_from + max_gap), '{}')
  from gaps g
$$;

-- The spans of one device's location samples within a period: where it was from `started`
-- until `ended`: the next location sample or the period's end, minus the gaps in which the
-- device reported nothing (device_presence()). A span broken by such a gap comes out in
-- pieces, all with the same `sample_time`.
create function location_spans(device integer, "from" timestamptz, "to" timestamptz, max_gap interval default '2 hours')
returns table (sample_time timestamptz, started timestamptz, ended timestamptz, latitude double precision, longitude double precision)
language sql stable as $$
  with presence as materialized (
    select device_presence(device, $2, $3, max_gap) as present
  ),
  samples as (
    select s.time, lead(s.time) over (order by s.time) as next_time, s.latitude, s.longitude
    from (
      (select l.time, l.latitude, l.longitude from location_samples l
       where l.device_id = device and l.time <= $2 order by l.time desc limit 1)
      union all
      select l.time, l.latitude, l.longitude from location_samples l
      where l.device_id = device and l.time > $2 and l.time < $3
    ) s
  )
  select s.time, lower(piece), upper(piece), s.latitude, s.longitude
  from samples s
  cross join presence p
  cross join lateral unnest(tstzmultirange(tstzrange(greatest(s.time, $2), least(coalesce(s.next_time, $3), $3))) * p.present) as piece
  where not isempty(piece)
$$;

-- places(): where a device spends its time.
--
-- A location sample stands for the device being there for its span (location_spans()
-- above). Clustering: spans of at least min_stay (transit samples hold for a minute or two)
-- found places, longest first, each joining the nearest place whose centre is within radius_m
-- or founding a new one; then places whose centres are within radius_m of each other are
-- merged, closest pair first, until no two are (leader clustering alone depends on the order
-- of the seeds: noisy fixes 300 m from home founded places of their own). Every span of the
-- period, short ones included, then counts for the nearest place within radius_m; spans near
-- no place are transit. Centres are dwell-weighted means (plain means of degrees: fine for
-- places a few hundred metres wide away from ±180°).
--
-- hourly_dwell_hours[h + 1] is the time spent there during hour h of the day in `time_zone`
-- over the whole period; typical_hours are the hours holding at least half of the busiest
-- hour's time (home: night and evening; work: office hours).
--
--   select * from places(1, now() - interval '30 days', now(), time_zone => 'Europe/Berlin') limit 3;
create function places(
  device integer, "from" timestamptz, "to" timestamptz,
  radius_m double precision default 500,
  min_stay interval default '10 minutes',
  max_gap interval default '2 hours',
  time_zone text default 'UTC'
) returns table (
  place integer,
  latitude double precision, longitude double precision,
  dwell interval, period_share double precision,
  visits integer, sample_count integer,
  first_seen timestamptz, last_seen timestamptz,
  hourly_dwell_hours double precision[], typical_hours integer[]
)
language plpgsql stable as $$
#variable_conflict use_column
declare
  period_start constant timestamptz := "from";
  period_end constant timestamptz := "to";
  place_lat double precision[] := '{}';
  place_lon double precision[] := '{}';
  place_weight double precision[] := '{}';
  seed record;
  nearest integer;
  nearest_m double precision;
  distance_m double precision;
  weight double precision;
  merge_a integer;
  merge_b integer;
  n integer;
begin
  if period_end <= period_start then
    raise exception 'places: "to" (%) must be after "from" (%)', period_end, period_start;
  end if;
  perform now() at time zone time_zone; -- an unknown zone fails here, with PostgreSQL's message

  -- Phase 1: found places from the stays, longest first.
  for seed in
    select sp.latitude, sp.longitude, extract(epoch from sum(sp.ended - sp.started))::double precision as seconds
    from location_spans(device, period_start, period_end, max_gap) sp
    group by sp.sample_time, sp.latitude, sp.longitude
    having sum(sp.ended - sp.started) >= min_stay
    order by sum(sp.ended - sp.started) desc, sp.sample_time
  loop
    nearest := null;
    nearest_m := radius_m;
    for i in 1 .. coalesce(array_length(place_lat, 1), 0) loop
      distance_m := earth_distance(ll_to_earth(place_lat[i], place_lon[i]), ll_to_earth(seed.latitude, seed.longitude));
      if distance_m <= nearest_m then
        nearest := i;
        nearest_m := distance_m;
      end if;
    end loop;
    if nearest is null then
      place_lat := place_lat || seed.latitude;
      place_lon := place_lon || seed.longitude;
      place_weight := place_weight || seed.seconds;
    else
      weight := place_weight[nearest] + seed.seconds;
      place_lat[nearest] := place_lat[nearest] + (seed.latitude - place_lat[nearest]) * seed.seconds / weight;
      place_lon[nearest] := place_lon[nearest] + (seed.longitude - place_lon[nearest]) * seed.seconds / weight;
      place_weight[nearest] := weight;
    end if;
  end loop;

  -- Phase 2: merge places whose centres are within the radius, closest pair first.
  loop
    n := coalesce(array_length(place_lat, 1), 0);
    merge_a := null;
    nearest_m := radius_m;
    for i in 1 .. n - 1 loop
      for j in i + 1 .. n loop
        distance_m := earth_distance(ll_to_earth(place_lat[i], place_lon[i]), ll_to_earth(place_lat[j], place_lon[j]));
        if distance_m <= nearest_m then
          merge_a := i;
          merge_b := j;
          nearest_m := distance_m;
        end if;
      end loop;
    end loop;
    exit when merge_a is null;
    weight := place_weight[merge_a] + place_weight[merge_b];
    place_lat[merge_a] := (place_lat[merge_a] * place_weight[merge_a] + place_lat[merge_b] * place_weight[merge_b]) / weight;
    place_lon[merge_a] := (place_lon[merge_a] * place_weight[merge_a] + place_lon[merge_b] * place_weight[merge_b]) / weight;
    place_weight[merge_a] := weight;
    place_lat := place_lat[1 : merge_b - 1] || place_lat[merge_b + 1 : n];
    place_lon := place_lon[1 : merge_b - 1] || place_lon[merge_b + 1 : n];
    place_weight := place_weight[1 : merge_b - 1] || place_weight[merge_b + 1 : n];
  end loop;

  -- Phase 3: every span joins its nearest place, then the places are summed up.
  return query
  with spans as materialized (
    select * from location_spans(device, period_start, period_end, max_gap)
  ),
  founded as (
    select p.id, p.lat, p.lon
    from unnest(place_lat, place_lon) with ordinality as p(lat, lon, id)
  ),
  samples as (
    -- Each location sample's place, decided once for all its pieces.
    select sp.sample_time, sp.latitude, sp.longitude,
           (select f.id from founded f
            where earth_distance(ll_to_earth(f.lat, f.lon), ll_to_earth(sp.latitude, sp.longitude)) <= radius_m
            order by earth_distance(ll_to_earth(f.lat, f.lon), ll_to_earth(sp.latitude, sp.longitude))
            limit 1) as place_id
    from (select distinct s.sample_time, s.latitude, s.longitude from spans s) sp
  ),
  assigned as (
    select sp.started, sp.ended, sp.sample_time, sp.latitude, sp.longitude, s.place_id
    from spans sp
    join samples s on s.sample_time = sp.sample_time and s.latitude = sp.latitude and s.longitude = sp.longitude
  ),
  runs as (
    -- A visit starts where the previous piece (in time) was somewhere else or ended earlier
    -- (the device was silent in between: a new arrival as far as anyone can tell).
    select a.*, extract(epoch from a.ended - a.started)::double precision as seconds,
           (lag(a.place_id) over (order by a.started)) is distinct from a.place_id
             or (lag(a.ended) over (order by a.started)) is distinct from a.started as starts_visit
    from assigned a
  ),
  totals as (
    select r.place_id,
           -- + 1 ms: a place of only zero-length spans still gets a centroid.
           sum(r.seconds + 1e-3) as weight_s,
           sum(r.latitude * (r.seconds + 1e-3)) as lat_weighted,
           sum(r.longitude * (r.seconds + 1e-3)) as lon_weighted,
           sum(r.ended - r.started) as dwell,
           count(*) filter (where r.starts_visit)::integer as visits,
           count(distinct r.sample_time)::integer as sample_count,
           min(r.started) as first_seen,
           max(r.ended) as last_seen
    from runs r
    where r.place_id is not null
    group by r.place_id
  ),
  hour_parts as (
    -- Split each span at hour boundaries of the time zone and credit each hour of day.
    select a.place_id, extract(hour from h at time zone time_zone)::integer as hour_of_day,
           extract(epoch from least(a.ended, h + interval '1 hour') - greatest(a.started, h))::double precision as seconds
    from assigned a
    cross join lateral generate_series(date_trunc('hour', a.started, time_zone), a.ended - interval '1 microsecond', interval '1 hour') h
    where a.place_id is not null
  ),
  hours as (
    select t.place_id,
           array_agg(coalesce(hp.seconds, 0) / 3600.0 order by hod) as per_hour
    from totals t
    cross join generate_series(0, 23) hod
    left join (select hp0.place_id, hp0.hour_of_day, sum(hp0.seconds) as seconds
               from hour_parts hp0 group by 1, 2) hp
      on hp.place_id = t.place_id and hp.hour_of_day = hod
    group by t.place_id
  )
  select (row_number() over (order by t.dwell desc, t.first_seen))::integer,
         t.lat_weighted / t.weight_s, t.lon_weighted / t.weight_s,
         t.dwell,
         (extract(epoch from t.dwell) / extract(epoch from period_end - period_start))::double precision,
         t.visits, t.sample_count, t.first_seen, t.last_seen,
         h.per_hour,
         array(select hod - 1 from unnest(h.per_hour) with ordinality u(v, hod)
               where u.v > 0 and u.v >= 0.5 * (select max(v2) from unnest(h.per_hour) v2)
               order by hod)::integer[]
  from totals t
  join hours h on h.place_id = t.place_id
  order by t.dwell desc, t.first_seen;
end
$$;

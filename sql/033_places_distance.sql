-- places() without earthdistance in its loops. sql/023 pins the search_path of earthdistance's
-- SQL functions (needed on PostgreSQL before 16), and a function with its own settings is
-- never inlined: every earth_distance(ll_to_earth(), ll_to_earth()) became three SQL function
-- calls, and places() spent nearly all its time there (each location sample against each
-- place: 5.3 of 5.6 s for a device-month on the PostgreSQL 15 server under EXPLAIN). The same
-- great-circle distance as earthdistance's (a sphere of radius 6 378 168 m, its earth()),
-- written as one expression that the planner inlines: haversine, which equals earthdistance's
-- chord-based formula on that sphere.
create function great_circle_m(lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision)
returns double precision
language sql immutable parallel safe as $$
  select 2 * 6378168 * asin(least(1, sqrt(sin(radians(lat2 - lat1) / 2) ^ 2
                                          + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- sql/024's places(), the same but for its distances.
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
create or replace function places(
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
      distance_m := great_circle_m(place_lat[i], place_lon[i], seed.latitude, seed.longitude);
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
        distance_m := great_circle_m(place_lat[i], place_lon[i], place_lat[j], place_lon[j]);
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
            where great_circle_m(f.lat, f.lon, sp.latitude, sp.longitude) <= radius_m
            order by great_circle_m(f.lat, f.lon, sp.latitude, sp.longitude)
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

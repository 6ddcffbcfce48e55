-- Where a device spends its time: location spans and places().

-- The spans of one device's location samples within a period: where it was from `started`
-- until `ended` (the next sample, the period's end or max_dwell later, whichever comes first).
create function location_spans(device integer, "from" timestamptz, "to" timestamptz, max_dwell interval default '1 day')
returns table (started timestamptz, ended timestamptz, latitude double precision, longitude double precision)
language sql stable as $$
  select c.started, c.ended, c.latitude, c.longitude
  from (
    select greatest(s.time, $2) as started,
           least(coalesce(lead(s.time) over (order by s.time), $3), $3, s.time + max_dwell) as ended,
           s.latitude, s.longitude
    from (
      (select l.time, l.latitude, l.longitude from location_samples l
       where l.device_id = device and l.time <= $2 order by l.time desc limit 1)
      union all
      select l.time, l.latitude, l.longitude from location_samples l
      where l.device_id = device and l.time > $2 and l.time < $3
    ) s
  ) c
  where c.ended > c.started
$$;

-- places(): where a device spends its time.
--
-- Location samples are significant-change updates (a new one only after a move of roughly
-- 500 m), so a sample stands for the device being there until its next sample: that span is
-- the sample's dwell. It is capped at max_dwell (a phone that went silent for a week did not
-- stay a week) and clipped to the period; the last sample before the period counts from the
-- period's start, so a device at home since the evening before is at home at 00:00.
--
-- Clustering is leader clustering seeded by stays: samples that held for at least min_stay
-- (transit samples hold for a minute or two) are taken longest first; each joins the nearest
-- place whose centroid is within radius_m, or founds a new one. Then every sample of the
-- period, short ones included, is assigned to the nearest place within radius_m; samples near
-- no place are transit and belong to none. Centroids are dwell-weighted means of the samples
-- (plain means of degrees: fine for places a few hundred metres wide away from ±180°).
--
-- Hours of day are in the session's TimeZone (`set timezone = 'Europe/Paris'` first for local
-- hours). hourly_dwell_hours[h + 1] is the time spent there during hour h of the day over the
-- whole period; typical_hours are the hours holding at least half of the busiest hour's time
-- (home: night and evening; work: office hours).
--
--   select * from places(1, now() - interval '30 days', now()) limit 3;
create function places(
  device integer, "from" timestamptz, "to" timestamptz,
  radius_m double precision default 300,
  min_stay interval default '10 minutes',
  max_dwell interval default '1 day'
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
begin
  if period_end <= period_start then
    raise exception 'places: "to" (%) must be after "from" (%)', period_end, period_start;
  end if;

  -- Phase 1: found places from the stays, longest first.
  for seed in
    select sp.latitude, sp.longitude, extract(epoch from sp.ended - sp.started)::double precision as seconds
    from location_spans(device, period_start, period_end, max_dwell) sp
    where sp.ended - sp.started >= min_stay
    order by sp.ended - sp.started desc, sp.started
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

  -- Phase 2: every span joins its nearest place, then the places are summed up.
  return query
  with founded as (
    select p.id, p.lat, p.lon
    from unnest(place_lat, place_lon) with ordinality as p(lat, lon, id)
  ),
  assigned as (
    select sp.started, sp.ended, sp.latitude, sp.longitude,
           (select f.id from founded f
            where earth_distance(ll_to_earth(f.lat, f.lon), ll_to_earth(sp.latitude, sp.longitude)) <= radius_m
            order by earth_distance(ll_to_earth(f.lat, f.lon), ll_to_earth(sp.latitude, sp.longitude))
            limit 1) as place_id
    from location_spans(device, period_start, period_end, max_dwell) sp
  ),
  runs as (
    -- A visit starts where the previous span (in time) was somewhere else.
    select a.*, extract(epoch from a.ended - a.started)::double precision as seconds,
           (lag(a.place_id) over (order by a.started)) is distinct from a.place_id as starts_visit
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
           count(*)::integer as sample_count,
           min(r.started) as first_seen,
           max(r.ended) as last_seen
    from runs r
    where r.place_id is not null
    group by r.place_id
  ),
  hour_parts as (
    -- Split each span at hour boundaries (session time zone) and credit each hour of day.
    select a.place_id, extract(hour from h)::integer as hour_of_day,
           extract(epoch from least(a.ended, h + interval '1 hour') - greatest(a.started, h))::double precision as seconds
    from assigned a
    cross join lateral generate_series(date_trunc('hour', a.started), a.ended - interval '1 microsecond', interval '1 hour') h
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

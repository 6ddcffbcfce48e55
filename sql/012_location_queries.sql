-- Location queries a user can call from psql. Distances are great-circle metres from the
-- earthdistance extension (earth as a sphere, error below 0.5 %), so no PostGIS is needed.

-- Finds location samples near a point: earth_box(...) @> ll_to_earth(...) is the indexable
-- bounding-cube test, then earth_distance keeps the ones truly within the radius.
create index location_samples_earth on location_samples using gist (ll_to_earth(latitude, longitude));

-- Location samples within radius_m metres of (latitude, longitude) in [from_time, to_time),
-- nearest first. Example:
--   select * from locations_near(48.8584, 2.2945, 500, now() - interval '7 days', now());
create function locations_near(
  latitude double precision, longitude double precision, radius_m double precision,
  from_time timestamptz, to_time timestamptz
) returns table (device_id integer, "time" timestamptz, sample_id bigint,
                 latitude double precision, longitude double precision, distance_m double precision)
language sql stable parallel safe as $$
  select s.device_id, s.time, s.sample_id, s.latitude, s.longitude,
         earth_distance(ll_to_earth(s.latitude, s.longitude), ll_to_earth($1, $2)) as distance_m
  from location_samples s
  where s.time >= from_time and s.time < to_time
    and earth_box(ll_to_earth($1, $2), radius_m) @> ll_to_earth(s.latitude, s.longitude)
    and earth_distance(ll_to_earth(s.latitude, s.longitude), ll_to_earth($1, $2)) <= radius_m
  order by distance_m, s.time
$$;

-- The location of a device at a given time: its latest location sample at or before `at`
-- (no row if it had none). One backward scan of the (device_id, time desc) index.
--   select * from location_at(1, '2024-03-01 12:00+01');
create function location_at(device integer, at timestamptz)
returns table ("time" timestamptz, latitude double precision, longitude double precision)
language sql stable parallel safe as $$
  select s.time, s.latitude, s.longitude
  from location_samples s
  where s.device_id = device and s.time <= at
  order by s.time desc
  limit 1
$$;

-- Last known location of every device that has one.
--   select * from last_locations();
create function last_locations()
returns table (device_id integer, device_name text, "time" timestamptz,
               latitude double precision, longitude double precision)
language sql stable parallel safe as $$
  select d.id, d.name, l.time, l.latitude, l.longitude
  from devices d
  cross join lateral location_at(d.id, 'infinity') l
  order by d.id
$$;

-- Activity samples with where the device was at that moment (its last known location at or
-- before the sample; null when it had none yet). Filter on device_id and time as usual:
--   select * from activity_samples_with_location where device_id = 1 and time > now() - interval '1 day';
create view activity_samples_with_location as
select a.time, a.device_id, a.sample_id, a.unknown, a.stationary, a.walking, a.running,
       l.time as location_time, l.latitude, l.longitude
from activity_samples a
left join lateral location_at(a.device_id, a.time) l on true;

-- Devices that may upload. A token is `<selector>.<secret>`: the selector finds the row, and
-- only a SHA-256 of the 256-bit secret is kept, compared in constant time by the service.
create table devices (
  id             integer generated always as identity primary key,
  name           text not null unique check (length(name) between 1 and 200),
  token_selector text not null unique,
  token_hash     bytea not null check (length(token_hash) = 32),
  created_at     timestamptz not null default now(),
  -- Revoked devices keep their rows (and their samples); their token stops working at once.
  revoked_at     timestamptz
);

-- What the processing side derives from the raw signals: per-bucket aggregates (what Grafana and
-- the UI chart instead of scanning raw rows) and incidents with their timeline, which doubles as
-- the outbox of the rtmon.incidents Kafka topic.

-- One row per (service, signal, name, series, bucket width, bucket start). The window actors
-- always write a bucket whole (its full value, never an increment), so an upsert that replaces
-- every value makes replays and repeated flushes harmless.
create table aggregates (
  service         text        not null,
  signal          text        not null check (signal in ('log', 'metric', 'event')),
  -- Metric name, event type ('' = all types), '' for logs. Never NULL: it is part of the key.
  name            text        not null default '',
  -- The tag values that define the series ({} = the whole service).
  series          jsonb       not null default '{}'::jsonb,
  bucket          timestamptz not null,   -- bucket start
  width_s         integer     not null check (width_s > 0),
  count           bigint      not null,   -- samples / log lines / events in the bucket
  -- Metrics only (NULL for logs and events, so a chart of them shows gaps, not zeros).
  sum             double precision,
  min             double precision,
  max             double precision,
  p50             double precision,       -- quantiles from the bucket's sketch (approximate)
  p95             double precision,
  p99             double precision,
  errors          bigint      not null default 0,  -- logs: error + fatal lines
  -- Computed here so every dashboard divides the same way; NULL for empty buckets and non-logs.
  error_rate      double precision generated always as (
                    case when signal = 'log' then errors::float8 / nullif(count, 0) end) stored,
  detail          jsonb       not null default '{}'::jsonb,  -- logs: {"debug": n, ...}
  updated_at      timestamptz not null default now(),
  primary key (service, signal, name, series, width_s, bucket)
) with (fillfactor = 80);
-- fillfactor: the latest buckets are rewritten on every flush; free room in each page lets those
-- updates stay HOT (no index churn, since only non-key columns change).

-- Grafana panels: "where width_s = X and bucket between A and B", optionally "and service in
-- (...)". The primary key cannot serve these (service, signal and name come before the time).
create index aggregates_width_bucket on aggregates (width_s, bucket);
create index aggregates_service_width_bucket on aggregates (service, width_s, bucket);

-- One row per incident, as it stands after its latest transition; the history is in
-- incident_events. Times are NULL until the thing happened.
create table incidents (
  id              uuid        primary key,  -- v7, assigned when the incident opens
  fingerprint     text        not null,     -- rule + group values: what makes incidents "the same"
  rule            text        not null,
  service         text        not null,
  severity        text        not null check (severity in ('info', 'warning', 'critical')),
  status          text        not null
                  check (status in ('pending', 'triggered', 'acknowledged', 'resolved', 'cancelled')),
  summary         text        not null,
  labels          jsonb       not null default '{}'::jsonb,  -- the rule's labels
  group_labels    jsonb       not null default '{}'::jsonb,  -- the group_by values
  last_value      double precision,
  breach_count    bigint      not null default 0,
  opened_at       timestamptz not null,
  last_seen_at    timestamptz,              -- latest breach
  acknowledged_at timestamptz,
  resolved_at     timestamptz,
  silenced_until  timestamptz,
  flapping        boolean     not null default false,
  last_seq        integer     not null default 0,  -- seq of its latest incident_events row
  updated_at      timestamptz not null default now()
);
-- At most one open incident per fingerprint, enforced by the database so two hub processes (or a
-- restart racing a rebalance) can never both open one; the loser reloads the winner's incident.
create unique index incidents_open_fingerprint on incidents (fingerprint)
  where status in ('pending', 'triggered', 'acknowledged');
-- The UI and Grafana: a service's incidents, newest first; all incidents, newest first; and the
-- open ones across services.
create index incidents_service_opened on incidents (service, opened_at desc);
create index incidents_opened on incidents (opened_at desc);
create index incidents_status_opened on incidents (status, opened_at desc);
-- A fingerprint's latest incident of any status (flapping history, restore after a restart).
create index incidents_fingerprint_opened on incidents (fingerprint, opened_at desc);

-- The timeline: one row per transition, numbered 1, 2, 3 ... per incident. Written idempotently by
-- (incident_id, seq), so a replayed change adds nothing. Rows with published_at NULL are the
-- outbox of rtmon.incidents: written in the same transaction as the incident, published after.
create table incident_events (
  incident_id     uuid        not null references incidents (id) on delete cascade,
  seq             integer     not null,
  at              timestamptz not null,
  kind            text        not null,  -- pending, triggered, repeat, acknowledged, resolved, ...
  from_status     text        not null,
  to_status       text        not null,
  actor           text        not null,  -- "rtmon" for automatic transitions, else who acted
  detail          text        not null default '',  -- human-readable, e.g. "value 0.12 > 0.05"
  value           double precision,
  notify          boolean     not null,  -- were channels to be told (false while silenced, ...)
  message         jsonb       not null,  -- the JSON published to the rtmon.incidents topic
  published_at    timestamptz,           -- NULL until produced to Kafka
  -- A publisher's lease on an unpublished row: several hub processes share the outbox, and a
  -- row is produced by whoever claimed it (a crashed claimer's lease runs out).
  claimed_until   timestamptz,
  primary key (incident_id, seq)
);
-- The outbox scan, in publishing order; stays tiny since published rows leave it.
create index incident_events_unpublished on incident_events (at, incident_id, seq)
  where published_at is null;
-- Timelines across incidents ("what happened in the last hour").
create index incident_events_at on incident_events (at desc);

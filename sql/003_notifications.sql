-- Notifications and incident actions: the durable notification outbox with every delivery
-- attempt, silences, and the commands (acknowledge, resolve, note) the API hands to the process
-- that owns an incident. Also a global, commit-ordered number on every timeline row, which the
-- live stream (/api/stream) uses so a reconnecting client resumes without missing a transition.

-- The live stream's position. Incident transactions take a transaction-level advisory lock right
-- before they insert timeline rows (system/pg/processing_store.cpp, lock key 'rtmon-stream'), so
-- numbers are assigned in commit order: a reader that saw N has seen every row below N.
-- Transitions are rare next to data (repeats write no timeline row), so serialising them costs
-- nothing measurable.
alter table incident_events add column stream_id bigint generated always as identity;
create unique index incident_events_stream on incident_events (stream_id);

-- One row per notification to deliver: a timeline entry (or a re-notification) routed to a
-- channel. Inserted in the transition's own transaction, so a committed transition always has its
-- notifications, and idempotent by key, so a replayed transition adds none.
create table notifications (
  id              bigint      generated always as identity primary key,
  -- "<incident id>:<seq>:<channel>", or "<incident id>:<seq>:<channel>:r<n>" for the n-th
  -- re-notification of that entry. The receiver-side dedup key is derived from it.
  idem_key        text        not null unique,
  incident_id     uuid        not null references incidents (id) on delete cascade,
  seq             integer     not null,           -- the timeline entry it tells about
  channel         text        not null,           -- the channel's name in the routing config
  kind            text        not null check (kind in ('slack', 'email', 'webhook')),
  event           text        not null,           -- triggered, acknowledged, resolved, renotify, ...
  payload         jsonb       not null,           -- the incident transition message (as on Kafka)
  status          text        not null default 'pending'
                  check (status in ('pending', 'delivered', 'failed', 'muted')),
  attempts        integer     not null default 0,
  -- When the next attempt may start (group wait, back-off, Retry-After, rate limit).
  next_attempt_at timestamptz not null default now(),
  -- A dispatcher's lease: several hub processes share the outbox; a crashed one's lease runs out.
  claimed_until   timestamptz,
  created_at      timestamptz not null default now(),
  done_at         timestamptz,                    -- delivered, failed for good, or muted
  -- Attempts whose outcome is unknown (timeout after the request was sent): each may have
  -- reached the receiver, so a later success may be a duplicate. Counted, never hidden.
  ambiguous       integer     not null default 0,
  last_error      text
);
-- The dispatcher's scan: due pending rows, oldest first. Stays small: finished rows leave it.
create index notifications_due on notifications (next_attempt_at) where status = 'pending';
create index notifications_incident on notifications (incident_id, seq);
-- Dashboards: delivery status over time.
create index notifications_created on notifications (created_at);

-- Every delivery attempt, with what the receiver said.
create table notification_attempts (
  notification_id bigint      not null references notifications (id) on delete cascade,
  attempt         integer     not null,           -- 1, 2, 3 ...
  started_at      timestamptz not null,
  latency_ms      double precision not null,
  -- HTTP status (Slack, webhook) or SMTP reply code (email); NULL when none came back.
  status_code     integer,
  outcome         text        not null
                  check (outcome in ('delivered', 'retry', 'failed', 'ambiguous', 'muted')),
  retry_after_ms  bigint,                         -- what the receiver asked for (429/503)
  error           text,
  primary key (notification_id, attempt)
);
create index notification_attempts_started on notification_attempts (started_at);

-- Silences mute notifications of matching incidents; the incidents stay open and visible.
-- Matchers: NULL = any. labels: every key/value must be among the incident's labels or group.
create table silences (
  id              uuid        primary key,
  service         text,
  rule            text,
  severity        text check (severity in ('info', 'warning', 'critical')),
  labels          jsonb       not null default '{}'::jsonb,
  -- Either an end time, or "until resolved": then the silence covers the incidents open when it
  -- was created (opened_at <= created_at) until each of them resolves.
  ends_at         timestamptz,
  until_resolved  boolean     not null default false,
  comment         text        not null default '',
  created_by      text        not null,
  created_at      timestamptz not null default now(),
  deleted_at      timestamptz,                    -- DELETE /api/silences/{id} expires it
  check (ends_at is not null or until_resolved)
);
create index silences_live on silences (created_at) where deleted_at is null;

-- Incident actions travel as commands on rtmon.commands (keyed by service) to the process that
-- owns the incident, so they are ordered with its data. The API inserts the row, produces the
-- command, and answers once the owner marked it done (same transaction as the transition).
create table commands (
  id              uuid        primary key,
  incident_id     uuid        not null references incidents (id) on delete cascade,
  service         text        not null,
  action          text        not null check (action in ('acknowledge', 'resolve', 'note')),
  actor           text        not null,           -- who, from the request
  body            jsonb       not null default '{}'::jsonb,  -- note text, ...
  status          text        not null default 'pending'
                  check (status in ('pending', 'done', 'rejected')),
  error           text,                           -- why it was rejected
  seq             integer,                        -- the timeline entry it produced
  created_at      timestamptz not null default now(),
  done_at         timestamptz
);
create index commands_incident on commands (incident_id, created_at);

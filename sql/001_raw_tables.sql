-- Raw signals, one table per kind, partitioned by day on ts so retention is a DROP of old
-- partitions. (event_id, ts) is the primary key: Postgres requires the partition key in every
-- unique index. The store adds a probe by event_id over the recent partitions, so a client retry
-- with a different (defaulted) ts is still recognised as the same event.

create table logs (
  event_id        text        not null,
  ts              timestamptz not null,
  service         text        not null,
  host            text,
  level           text        not null,
  message         text        not null,
  attrs           jsonb       not null default '{}'::jsonb,
  ingested_at     timestamptz not null default now(),
  primary key (event_id, ts)
) partition by range (ts);
create index logs_service_ts on logs (service, ts desc);
create index logs_ts on logs (ts desc);
create index logs_service_level_ts on logs (service, level, ts desc);

create table metrics (
  event_id        text        not null,
  ts              timestamptz not null,
  service         text        not null,
  name            text        not null,
  value           double precision not null,
  tags            jsonb       not null default '{}'::jsonb,
  ingested_at     timestamptz not null default now(),
  primary key (event_id, name, ts)
) partition by range (ts);
create index metrics_service_name_ts on metrics (service, name, ts desc);
create index metrics_ts on metrics (ts desc);

create table events (
  event_id        text        not null,
  ts              timestamptz not null,
  service         text        not null,
  type            text        not null,
  attrs           jsonb       not null default '{}'::jsonb,
  ingested_at     timestamptz not null default now(),
  primary key (event_id, ts)
) partition by range (ts);
create index events_service_ts on events (service, ts desc);
create index events_type_ts on events (type, ts desc);
create index events_ts on events (ts desc);

-- Rows whose ts falls outside every day partition (the edge bounds ts, so this stays empty
-- unless limits are misconfigured) land here instead of failing the batch.
create table logs_default partition of logs default;
create table metrics_default partition of metrics default;
create table events_default partition of events default;

-- Records that reached Kafka but could not be decoded (e.g. injected with kcat): kept with
-- their coordinates so nothing is silently dropped and the partition keeps moving.
create table dead_letters (
  id              bigserial   primary key,
  topic           text        not null,
  kafka_partition integer     not null,
  kafka_offset    bigint      not null,
  error           text        not null,
  payload         text        not null,
  received_at     timestamptz not null default now(),
  unique (topic, kafka_partition, kafka_offset)
);

-- Creates the day partitions of logs, metrics and events from days_back days ago to days_ahead
-- days ahead (UTC days). Idempotent.
create function rtmon_ensure_partitions(days_back integer, days_ahead integer)
returns integer language plpgsql as $$
declare
  t text;
  d date;
  created integer := 0;
  part text;
begin
  foreach t in array array['logs', 'metrics', 'events'] loop
    for d in select generate_series((now() at time zone 'utc')::date - days_back,
                                    (now() at time zone 'utc')::date + days_ahead,
                                    interval '1 day')::date loop
      part := format('%s_%s', t, to_char(d, 'YYYYMMDD'));
      if to_regclass(part) is null then
        execute format('create table %I partition of %I for values from (%L) to (%L)',
                       part, t, (d::timestamp at time zone 'utc'),
                       ((d + 1)::timestamp at time zone 'utc'));
        created := created + 1;
      end if;
    end loop;
  end loop;
  return created;
end $$;

-- Drops day partitions that end before now() - retention_days. Returns how many it dropped.
create function rtmon_drop_partitions(retention_days integer)
returns integer language plpgsql as $$
declare
  r record;
  dropped integer := 0;
begin
  for r in
    select c.relname
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname in ('logs', 'metrics', 'events')
      and c.relname ~ '_[0-9]{8}$'
      and to_date(right(c.relname, 8), 'YYYYMMDD') + 1
          < (now() at time zone 'utc')::date - retention_days
  loop
    execute format('drop table %I', r.relname);
    dropped := dropped + 1;
  end loop;
  return dropped;
end $$;

select rtmon_ensure_partitions(2, 3);

-- What the query API (/api/*) needs beyond the tables: a trigram index for the logs text search,
-- keyset-friendly incident indexes, and the JSON shapes of incidents and silences in one place,
-- so the list, the detail, the actions and the live stream all describe them the same way.

-- Case-insensitive substring search on log messages (`ILIKE '%text%'`, /api/logs?q=). Created
-- on the partitioned parent, so every day partition (also future ones) gets its own.
create extension if not exists pg_trgm;
create index logs_message_trgm on logs using gin (message gin_trgm_ops);

-- Incidents newest first with the id as tie-break: the keyset order of /api/incidents, so a
-- page is an index range scan that stops after `limit` rows.
create index incidents_opened_id on incidents (opened_at desc, id desc);
create index incidents_service_opened_id on incidents (service, opened_at desc, id desc);
create index incidents_status_opened_id on incidents (status, opened_at desc, id desc);
-- The open ones (the UI's default view): few rows among many closed ones.
create index incidents_open_opened_id on incidents (opened_at desc, id desc)
  where status in ('pending', 'triggered', 'acknowledged');
-- Open incidents per rule and service (/api/rules states, /api/services counts).
create index incidents_open_rule on incidents (rule, service)
  where status in ('pending', 'triggered', 'acknowledged');

-- The API's time format: ISO 8601 UTC with milliseconds. NULL stays NULL (JSON null).
create function rtmon_iso(t timestamptz) returns text
language sql immutable parallel safe as $$
  select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- A silence is active until it ends or is deleted; an "until resolved" one until deleted (it
-- then covers only the incidents open when it was created, see rtmon_silence_matches).
create function rtmon_silence_active(s silences) returns boolean
language sql stable as $$
  select s.deleted_at is null and (s.ends_at > now() or (s.ends_at is null and s.until_resolved))
$$;

-- Does an active silence cover this incident now? Every given matcher must equal; the silence's
-- labels must all be among the incident's labels or group values.
create function rtmon_silence_matches(s silences, i incidents) returns boolean
language sql stable as $$
  select rtmon_silence_active(s)
     and (s.service is null or s.service = i.service)
     and (s.rule is null or s.rule = i.rule)
     and (s.severity is null or s.severity = i.severity)
     and (i.labels || i.group_labels) @> s.labels
     and (s.ends_at is not null
          or (i.opened_at <= s.created_at
              and i.status in ('pending', 'triggered', 'acknowledged')))
$$;

create function rtmon_incident_json(i incidents) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'id', i.id, 'fingerprint', i.fingerprint, 'rule', i.rule, 'service', i.service,
    'severity', i.severity, 'status', i.status, 'summary', i.summary, 'labels', i.labels,
    'group', i.group_labels, 'last_value', i.last_value, 'breach_count', i.breach_count,
    'opened_at', rtmon_iso(i.opened_at), 'last_seen_at', rtmon_iso(i.last_seen_at),
    'acknowledged_at', rtmon_iso(i.acknowledged_at), 'resolved_at', rtmon_iso(i.resolved_at),
    'flapping', i.flapping,
    'silenced', exists (select 1 from silences s
                        where s.deleted_at is null and rtmon_silence_matches(s, i)))
$$;

create function rtmon_silence_json(s silences) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'id', s.id, 'service', s.service, 'rule', s.rule, 'severity', s.severity,
    'labels', s.labels, 'ends_at', rtmon_iso(s.ends_at), 'until_resolved', s.until_resolved,
    'comment', s.comment, 'created_by', s.created_by, 'created_at', rtmon_iso(s.created_at),
    'deleted_at', rtmon_iso(s.deleted_at), 'active', rtmon_silence_active(s))
$$;

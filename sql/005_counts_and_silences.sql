-- Incident counts as index-only scans, and one definition of "a silence mutes this notification".

-- /api/incidents answers every page with the counts by status under the same filters. Filtered
-- by severity, no index held both the severity and the status, so the counts read the heap (a
-- bitmap scan for a week, a sequential scan of the table for a month: 33-63 ms with 100k
-- incidents, bench/results/ui.json). With the status in the index they are index-only scans.
create index incidents_severity_opened on incidents (severity, opened_at desc) include (status);
create index incidents_service_opened_status on incidents (service, opened_at desc)
  include (status, severity);

-- Does a silence mute a notification (of `event`) about this incident? The API's "silenced"
-- flag and the dispatcher share the matcher (rtmon_silence_matches); beyond it, an "until
-- resolved" silence also mutes the "resolved" message of an incident it covered: nobody was
-- told it started, so nobody needs to hear it ended.
create function rtmon_silence_mutes(s silences, i incidents, event text) returns boolean
language sql stable as $$
  select rtmon_silence_matches(s, i)
      or (event = 'resolved' and s.deleted_at is null and s.until_resolved and s.ends_at is null
          and i.opened_at <= s.created_at
          and (s.service is null or s.service = i.service)
          and (s.rule is null or s.rule = i.rule)
          and (s.severity is null or s.severity = i.severity)
          and (i.labels || i.group_labels) @> s.labels)
$$;

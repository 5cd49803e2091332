-- /api/incidents answers every page with the counts by status under the same filters. Filtered
-- by severity, no index held both the severity and the status, so the counts read the heap (a
-- bitmap scan for a week, a sequential scan of the table for a month: 33-63 ms with 100k
-- incidents, bench/results/ui.json). With the status in the index they are index-only scans.
create index incidents_severity_opened on incidents (severity, opened_at desc) include (status);
create index incidents_service_opened_status on incidents (service, opened_at desc)
  include (status, severity);

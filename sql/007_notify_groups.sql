-- Grouped notifications (a route's `group_wait` with `group_by`, system/notify/routing.hpp):
-- the first alerts of incidents in one group that come due within the group's wait go out as
-- one message. Rows of a group share `group_key` ("<route>|<channel>|<group values>"); when the
-- first of them comes due the dispatcher claims it together with its pending mates (even those
-- whose own wait has not run out), sends one message and records the attempt on every row.
-- NULL: the row is never grouped (follow-ups, re-notifications, webhooks, no group_wait).
alter table notifications add column group_key text;
create index notifications_group on notifications (group_key)
  where status = 'pending' and group_key is not null;

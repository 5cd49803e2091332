-- Each notification destination's pace, shared by every hub process. A per-process token
-- bucket lets N processes send N times the channel's rate (Slack: 1 message/s) and earn 429s;
-- here every attempt first reserves a slot on the channel's schedule (GCRA: `tat` is the
-- theoretical arrival time of the next message; with interval T and burst B an attempt waits
-- until tat - B*T, then tat moves on by T). A Retry-After pushes tat so that no process sends
-- before the receiver asked. The clock is the server's, the same for every process.
create table notify_pacing (
  channel text        primary key,  -- the channel's name in the routing config
  tat     timestamptz not null
);

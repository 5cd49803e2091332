// What a claim of outbox rows becomes: the messages to send and the rows to record as muted.
// Rows of one group (sql/007_notify_groups.sql) go out as one message led by the oldest row,
// the others in its `grouped` list; a group larger than a message may hold is split. Pure, so
// the dispatcher's grouping is tested without Postgres or actors.
#pragma once

#include <cstddef>
#include <vector>

#include "messages/notifications.hpp"

namespace rtmon {

/// Incidents per grouped message: Slack allows 50 blocks, and a page of alerts is about what
/// a person reads before opening the UI.
inline constexpr size_t max_group_size = 20;

struct claimed_work {
  std::vector<notification> sends;  // one message each (a leader with its grouped mates)
  std::vector<notification> muted;  // not sent: recorded as muted with their reason
};

/// Groups claimed rows. Muted rows are never part of a message; a group left with one live row
/// is an ordinary message. Messages keep the order of their first row in the claim.
claimed_work group_claimed(std::vector<notification> rows, size_t max_group = max_group_size);

/// The rows a message tells about: the leader, then its grouped mates (without their own
/// `grouped`, which is empty).
std::vector<const notification*> members_of(const notification& message);

}  // namespace rtmon

#include "actors/notify/grouping.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace rtmon {

claimed_work group_claimed(std::vector<notification> rows, size_t max_group) {
  claimed_work out;
  max_group = std::max<size_t>(max_group, 1);
  // Live rows in claim order, one slot per ungrouped row or per group (at its first row).
  std::vector<std::vector<notification>> slots;
  std::map<std::string, size_t> slot_of_group;
  for (auto& n : rows) {
    if (!n.mute.empty()) {
      out.muted.push_back(std::move(n));
      continue;
    }
    if (n.group_key.empty()) {
      slots.emplace_back().push_back(std::move(n));
      continue;
    }
    auto [i, fresh] = slot_of_group.try_emplace(n.group_key, slots.size());
    if (fresh) slots.emplace_back();
    slots[i->second].push_back(std::move(n));
  }
  for (auto& members : slots) {
    // Oldest first: ids are assigned in insertion order, so the leader is the group's first
    // row, the same on every retry of the same members.
    std::sort(members.begin(), members.end(),
              [](const notification& a, const notification& b) { return a.id < b.id; });
    for (size_t at = 0; at < members.size(); at += max_group) {
      auto end = std::min(members.size(), at + max_group);
      notification leader = std::move(members[at]);
      leader.grouped.clear();
      for (size_t k = at + 1; k < end; ++k) leader.grouped.push_back(std::move(members[k]));
      out.sends.push_back(std::move(leader));
    }
  }
  return out;
}

std::vector<const notification*> members_of(const notification& message) {
  std::vector<const notification*> out{&message};
  for (const auto& m : message.grouped) out.push_back(&m);
  return out;
}

}  // namespace rtmon

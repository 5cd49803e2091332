#include "actors/notify/grouping.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace rtmon {

claimed_work group_claimed(std::vector<notification> rows, size_t max_group) {
  claimed_work out;
  max_group = std::max<size_t>(max_group, 1);
  // Live grouped rows by key, keys in the order they first appear in the claim.
  std::vector<std::string> order;
  std::map<std::string, std::vector<notification>> groups;
  std::vector<std::pair<size_t, notification>> singles;  // (position in `order` when seen, row)
  for (auto& n : rows) {
    if (!n.mute.empty()) {
      out.muted.push_back(std::move(n));
    } else if (n.group_key.empty()) {
      singles.emplace_back(order.size(), std::move(n));
    } else {
      auto [i, fresh] = groups.try_emplace(n.group_key);
      if (fresh) order.push_back(n.group_key);
      i->second.push_back(std::move(n));
    }
  }
  // Singles and groups interleaved as they came: a single seen after k groups goes after them.
  size_t next_single = 0;
  auto flush_singles = [&](size_t upto) {
    for (; next_single < singles.size() && singles[next_single].first <= upto; ++next_single)
      out.sends.push_back(std::move(singles[next_single].second));
  };
  for (size_t g = 0; g < order.size(); ++g) {
    flush_singles(g);
    auto& members = groups[order[g]];
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
  flush_singles(order.size());
  return out;
}

std::vector<const notification*> members_of(const notification& message) {
  std::vector<const notification*> out{&message};
  for (const auto& m : message.grouped) out.push_back(&m);
  return out;
}

}  // namespace rtmon

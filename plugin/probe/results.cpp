#include "results.hpp"

namespace lifehook::probe {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Success: return "success";
    case Verdict::Failure: return "failure";
    case Verdict::Unknown: break;
  }
  return "unknown";
}

std::optional<Verdict> Results::get(const std::string& container, ProbeType type) const {
  auto it = cache_.find({container, type});
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

void Results::set(const std::string& container, ProbeType type, Verdict v, const Attempt* last) {
  auto [it, inserted] = cache_.try_emplace({container, type}, v);
  if (!inserted) {
    if (it->second == v) return;
    it->second = v;
  }
  if (listener_) listener_(container, type, v, last);
}

void Results::remove(const std::string& container, ProbeType type) { cache_.erase({container, type}); }

}  // namespace lifehook::probe

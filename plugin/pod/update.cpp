#include "update.hpp"

#include <set>

#include "../common/errors.hpp"

namespace lifehook::pod {

namespace {

const json& spec_of(const PodSpec& p) {
  static const json kEmpty = json::object();
  const json* s = field(p.raw, "spec");
  return s && s->is_object() ? *s : kEmpty;
}

void check_list(const std::vector<ContainerSpec>& was, const std::vector<ContainerSpec>& now, const char* key) {
  std::string path = std::string("spec.") + key;
  if (was.size() != now.size())
    throw_invalid(path, "containers may not be added or removed on a running pod (it has " +
                            std::to_string(was.size()) + ", the update " + std::to_string(now.size()) + ")");
  for (size_t i = 0; i < was.size(); ++i) {
    if (was[i].name != now[i].name)
      throw_invalid(now[i].path + ".name",
                    "may not change on a running pod (was " + json_value_text(was[i].name) +
                        "; containers may not be renamed or reordered)",
                    json_value_text(now[i].name));
    if (was[i].restartable != now[i].restartable)
      throw_invalid(now[i].path + ".restartPolicy", "may not change on a running pod");
  }
}

}  // namespace

void check_update(const PodSpec& current, PodSpec& next) {
  if (next.name != current.name)
    throw_invalid("metadata.name", "may not change on a running pod (was " + json_value_text(current.name) + ")",
                  json_value_text(next.name));
  if (next.namespace_ != current.namespace_)
    throw_invalid("metadata.namespace",
                  "may not change on a running pod (was " + json_value_text(current.namespace_) + ")",
                  json_value_text(next.namespace_));
  const json* meta = field(next.raw, "metadata");
  if (meta && field(*meta, "uid") && next.uid != current.uid)
    throw_invalid("metadata.uid", "may not change on a running pod (was " + json_value_text(current.uid) + ")",
                  json_value_text(next.uid));
  next.uid = current.uid;
  if (next.raw.is_object() && next.raw["metadata"].is_object()) next.raw["metadata"]["uid"] = current.uid;

  const json& was = spec_of(current);
  const json& now = spec_of(next);
  std::set<std::string> keys;
  for (const auto& [k, v] : was.items()) keys.insert(k);
  for (const auto& [k, v] : now.items()) keys.insert(k);
  for (const auto& k : keys) {
    if (k == "containers" || k == "initContainers" || k == "activeDeadlineSeconds") continue;
    const json* a = field(was, k.c_str());
    const json* b = field(now, k.c_str());
    if ((a == nullptr) != (b == nullptr) || (a && *a != *b))
      throw_invalid("spec." + k,
                    "may not change on a running pod (only the containers' definitions and activeDeadlineSeconds may)",
                    b ? json_value_text(*b) : std::string("nothing"));
  }
  if (current.active_deadline_s) {
    if (!next.active_deadline_s)
      throw_invalid("spec.activeDeadlineSeconds", "must not update from a positive integer to nil value", "nothing");
    if (*next.active_deadline_s > *current.active_deadline_s)
      throw_invalid("spec.activeDeadlineSeconds",
                    "must be less than or equal to previous value (" + std::to_string(*current.active_deadline_s) + ")",
                    std::to_string(*next.active_deadline_s));
  }
  check_list(current.init_containers, next.init_containers, "initContainers");
  check_list(current.containers, next.containers, "containers");
}

}  // namespace lifehook::pod

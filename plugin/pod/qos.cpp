#include "qos.hpp"

#include <map>

namespace lifehook::pod {

namespace {

constexpr __int128 kNano = 1000000000;

// The quantity of `name` in a requests/limits object: nullopt when absent; 0 when malformed (the
// API would have refused it; not counted, like a zero).
std::optional<__int128> amount(const json& list, const char* name) {
  const json* v = field(list, name);
  if (!v) return std::nullopt;
  std::optional<__int128> q;
  if (v->is_string())
    q = parse_quantity(v->get<std::string>());
  else if (v->is_number_integer())
    q = __int128(v->get<int64_t>()) * kNano;
  else if (v->is_number())
    q = parse_quantity(v->dump());
  return q.value_or(0);
}

}  // namespace

std::optional<__int128> parse_quantity(std::string_view s) {
  // <sign><digits>[.<digits>][<suffix>]: suffix a binary (Ki..Ei), decimal (n u m "" k M G T P E)
  // or exponent (e<int>, E<int>).
  if (s.empty() || s.size() > 64) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
  __int128 whole = 0, frac = 0, frac_scale = 1;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (whole > __int128(1) << 100) return std::nullopt;
    whole = whole * 10 + (s[i++] - '0');
    ++digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (frac_scale < kNano * 1000) {  // beyond 1e-12 nothing is distinguishable in nano-units
        frac = frac * 10 + (s[i] - '0');
        frac_scale *= 10;
      }
      ++i;
      ++digits;
    }
  }
  if (digits == 0) return std::nullopt;
  std::string_view suffix = s.substr(i);
  // value = (whole + frac / frac_scale) * num / den, in nano-units
  __int128 num = kNano, den = 1;
  static const std::map<std::string_view, std::pair<int64_t, int64_t>> decimal = {{"n", {1, 1}},
                                                                                  {"u", {1000, 1}},
                                                                                  {"m", {1000000, 1}},
                                                                                  {"", {1000000000, 1}},
                                                                                  {"k", {1000000000000, 1}},
                                                                                  {"M", {1000000000000000, 1}},
                                                                                  {"G", {1000000000000000000, 1}}};
  static const std::map<std::string_view, int> binary = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                         {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  if (auto d = decimal.find(suffix); d != decimal.end()) {
    num = d->second.first;
  } else if (auto b = binary.find(suffix); b != binary.end()) {
    num = kNano << b->second;
  } else if (suffix == "T" || suffix == "P" || suffix == "E") {
    int exp = suffix == "T" ? 12 : suffix == "P" ? 15 : 18;
    for (int k = 0; k < exp; ++k) num *= 10;
  } else if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    size_t k = 1;
    bool neg_exp = false;
    if (suffix[k] == '+' || suffix[k] == '-') neg_exp = suffix[k++] == '-';
    if (k >= suffix.size()) return std::nullopt;
    int exp = 0;
    for (; k < suffix.size(); ++k) {
      if (suffix[k] < '0' || suffix[k] > '9' || exp > 30) return std::nullopt;
      exp = exp * 10 + (suffix[k] - '0');
    }
    for (int n = 0; n < exp; ++n) (neg_exp ? den : num) *= 10;
  } else {
    return std::nullopt;
  }
  __int128 value = (whole * frac_scale + frac) * num / (frac_scale * den);
  return negative ? -value : value;
}

std::string qos_class(const PodSpec& spec) {
  std::map<std::string, __int128> requests, limits;
  bool guaranteed = true;
  for (const auto* list : {&spec.init_containers, &spec.containers})
    for (const auto& c : *list) {
      const json* res = field(c.raw, "resources");
      json none = json::object();
      const json& req = res && field(*res, "requests") && (*res)["requests"].is_object() ? (*res)["requests"] : none;
      const json& lim = res && field(*res, "limits") && (*res)["limits"].is_object() ? (*res)["limits"] : none;
      int limited = 0;
      for (const char* name : {"cpu", "memory"}) {
        std::optional<__int128> l = amount(lim, name);
        std::optional<__int128> r = amount(req, name);
        if (!r) r = l;  // defaulting (SetDefaults_Pod): a limit without a request requests the limit
        if (r && *r > 0) requests[name] += *r;  // only positive quantities count
        if (l && *l > 0) {
          limits[name] += *l;
          ++limited;
        }
      }
      if (limited < 2) guaranteed = false;
    }
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed && requests.size() == limits.size()) {
    for (const auto& [name, r] : requests) {
      auto l = limits.find(name);
      if (l == limits.end() || l->second != r) guaranteed = false;
    }
    if (guaranteed) return "Guaranteed";
  }
  return "Burstable";
}

}  // namespace lifehook::pod

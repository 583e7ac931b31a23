#include "budget.hpp"

#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace ocihook {

namespace {

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  return p;
}

std::vector<std::string> string_list(const nlohmann::json& j) {
  std::vector<std::string> v;
  if (j.is_array())
    for (const auto& s : j)
      if (s.is_string()) v.push_back(s.get<std::string>());
  return v;
}

}  // namespace

std::optional<double> own_hook_timeout(const nlohmann::json& hooks, const std::vector<std::string>& argv) {
  if (!hooks.is_object()) return std::nullopt;
  const std::string self = real_path("/proc/self/exe");
  std::optional<double> exact, loose;
  auto keep_min = [](std::optional<double>& slot, double v) { slot = slot ? std::min(*slot, v) : v; };
  for (const auto& [stage, list] : hooks.items()) {
    if (!list.is_array()) continue;
    for (const auto& h : list) {
      if (!h.is_object() || !h.contains("path") || !h["path"].is_string()) continue;
      if (real_path(h["path"].get<std::string>()) != self) continue;
      auto t = h.find("timeout");
      if (t == h.end() || !t->is_number() || !(t->get<double>() > 0)) continue;
      std::vector<std::string> args = string_list(h.value("args", nlohmann::json()));
      if (args == argv) {
        keep_min(exact, t->get<double>());
      } else if (argv.size() > 1 && std::find(args.begin(), args.end(), argv[1]) != args.end()) {
        keep_min(loose, t->get<double>());
      }
    }
  }
  return exact ? exact : loose;
}

Clock::time_point process_start_time() {
  const Clock::time_point now = Clock::now();
  std::ifstream f("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Field 22, starttime, in clock ticks since boot; the fields after comm's closing parenthesis.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return now;
  std::istringstream rest(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 21 && rest >> field; ++i) {
  }
  unsigned long long start_ticks = 0;
  long tick = ::sysconf(_SC_CLK_TCK);
  timespec boot{};
  if (!(rest >> start_ticks) || tick <= 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return now;
  double since_boot = static_cast<double>(boot.tv_sec) + static_cast<double>(boot.tv_nsec) / 1e9;
  double age = since_boot - static_cast<double>(start_ticks) / static_cast<double>(tick);
  // Ticks truncate the start down, so the age errs long (the budget ends early, never late).
  if (age < 0 || age > 60) return now;
  return now - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(age));
}

Budget::Budget(Clock::time_point start, std::optional<double> oci_timeout_s) : oci_timeout_s_(oci_timeout_s) {
  if (!oci_timeout_s_) {
    deadline_ = Clock::time_point::max();
    return;
  }
  double margin = std::clamp(*oci_timeout_s_ * 0.1, 0.5, 2.0);
  double usable = std::max(0.05, *oci_timeout_s_ - margin);
  deadline_ = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(usable));
}

double Budget::remaining_s() const {
  if (!oci_timeout_s_) return 1e9;
  double left = std::chrono::duration<double>(deadline_ - Clock::now()).count();
  return left > 0 ? left : 0;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  std::string t = buf;
  if (t.size() > 2 && t.compare(t.size() - 2, 2, ".0") == 0) t.resize(t.size() - 2);
  return t;
}

}  // namespace ocihook

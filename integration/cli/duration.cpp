#include "duration.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <regex>

namespace lifehook_cli {

namespace {

// The longest duration taken (about 317 years), far inside int64 milliseconds.
constexpr double kMaxDurationMs = 1e13;

// std::stod, but nullopt for what it cannot represent (a 400-digit number) instead of throwing.
std::optional<double> to_double(const std::string& digits) {
  try {
    double v = std::stod(digits);
    if (!std::isfinite(v)) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  static const std::regex bare(R"(\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*)");
  static const std::regex unit(R"(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ms|s|m|h))");
  std::smatch m;
  double total_ms = 0;
  if (std::regex_match(text, m, bare)) {
    auto v = to_double(m[1]);
    if (!v) return std::nullopt;
    total_ms = *v * 1000;
  } else {
    if (text.empty()) return std::nullopt;
    auto begin = text.cbegin();
    while (begin != text.cend()) {
      if (!std::regex_search(begin, text.cend(), m, unit, std::regex_constants::match_continuous)) return std::nullopt;
      auto v = to_double(m[1]);
      if (!v) return std::nullopt;
      std::string u = m[3];
      total_ms += *v * (u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 3600000);
      begin = m[0].second;
    }
  }
  if (!(total_ms <= kMaxDurationMs)) return std::nullopt;  // also NaN
  return std::chrono::milliseconds(std::llround(total_ms));
}

std::string check_grace_seconds(const std::string& text) {
  const std::string rule = "must be a number of seconds between 0 and " + std::to_string(kMaxGraceSeconds);
  static const std::regex number(R"(\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*)");
  if (!std::regex_match(text, number)) return rule + " (nan, inf, signs and exponents are refused)";
  auto v = to_double(text);
  if (!v || *v > kMaxGraceSeconds) return rule;
  return {};
}

std::string human_duration(std::chrono::milliseconds d) {
  using namespace std::chrono;
  long long seconds = duration_cast<std::chrono::seconds>(d).count();
  char buf[48];
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) {
    std::snprintf(buf, sizeof buf, "%llds", seconds);
    return buf;
  }
  long long minutes = seconds / 60;
  if (minutes < 10) {
    long long s = seconds % 60;
    if (s == 0)
      std::snprintf(buf, sizeof buf, "%lldm", minutes);
    else
      std::snprintf(buf, sizeof buf, "%lldm%llds", minutes, s);
    return buf;
  }
  if (minutes < 60 * 3) {
    std::snprintf(buf, sizeof buf, "%lldm", minutes);
    return buf;
  }
  long long hours = minutes / 60;
  if (hours < 8) {
    long long m = minutes % 60;
    if (m == 0)
      std::snprintf(buf, sizeof buf, "%lldh", hours);
    else
      std::snprintf(buf, sizeof buf, "%lldh%lldm", hours, m);
  } else if (hours < 48) {
    std::snprintf(buf, sizeof buf, "%lldh", hours);
  } else if (hours < 24 * 8) {
    long long h = hours % 24;
    if (h == 0)
      std::snprintf(buf, sizeof buf, "%lldd", hours / 24);
    else
      std::snprintf(buf, sizeof buf, "%lldd%lldh", hours / 24, h);
  } else if (hours < 24 * 365 * 2) {
    std::snprintf(buf, sizeof buf, "%lldd", hours / 24);
  } else if (hours < 24 * 365 * 8) {
    long long dy = (hours / 24) % 365;
    if (dy == 0)
      std::snprintf(buf, sizeof buf, "%lldy", hours / 24 / 365);
    else
      std::snprintf(buf, sizeof buf, "%lldy%lldd", hours / 24 / 365, dy);
  } else {
    std::snprintf(buf, sizeof buf, "%lldy", hours / 24 / 365);
  }
  return buf;
}

std::string short_duration_ms(double ms) {
  char buf[32];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.3fs", ms / 1000);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text) {
  static const std::regex re(
      R"((\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.(\d+))?([Zz]|([+-])(\d{2}):(\d{2})))");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  long long secs = timegm(&tm);
  long long ms = 0;
  if (m[8].matched) {
    std::string frac = m[8].str().substr(0, 3);
    while (frac.size() < 3) frac += '0';
    ms = std::stoll(frac);
  }
  if (m[10].matched) {
    long long off = std::stoll(m[11]) * 3600 + std::stoll(m[12]) * 60;
    secs -= (m[10] == "+" ? off : -off);
  }
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(secs * 1000 + ms));
}

std::string rfc3339_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  long long ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
  return buf;
}

}  // namespace lifehook_cli

#include "table.hpp"

#include <algorithm>

#include "duration.hpp"

namespace lifehook_cli {
namespace {

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

// kubectl's printer tabwriter: minwidth 6, padding 3.
size_t column(size_t text_width) { return std::max<size_t>(6, text_width + 3); }

constexpr size_t kStatusWidth = 17;  // "ContainerCreating": statuses up to it keep the columns still

// READY and RESTARTS when the library gives no display columns (never expected, but the CLI
// must not print nonsense): count from containerStatuses.
void fill_from_container_statuses(const json& status, StatusRow& row) {
  const json* cs = status.contains("containerStatuses") ? &status["containerStatuses"] : nullptr;
  if (!cs || !cs->is_array()) return;
  int ready = 0;
  long long restarts = 0;
  for (const auto& c : *cs) {
    if (c.value("ready", false)) ++ready;
    if (c.contains("restartCount") && c["restartCount"].is_number_integer())
      restarts += c["restartCount"].get<long long>();
  }
  if (row.ready.empty()) row.ready = std::to_string(ready) + "/" + std::to_string(cs->size());
  if (row.restarts.empty()) row.restarts = std::to_string(restarts);
}

}  // namespace

std::string StatusRow::change_key() const {
  std::string r = restarts.substr(0, restarts.find(' '));
  return ready + "|" + status + "|" + r;
}

StatusRow status_row(const std::string& name, const std::string& driver, const json& status) {
  StatusRow row;
  row.name = name;
  row.driver = driver;
  if (status.contains("display") && status["display"].is_object()) {
    const json& d = status["display"];
    if (d.contains("ready")) row.ready = text_of(d["ready"]);
    if (d.contains("status")) row.status = text_of(d["status"]);
    if (d.contains("restarts")) row.restarts = text_of(d["restarts"]);
  }
  if (row.status.empty() && status.contains("phase")) row.status = text_of(status["phase"]);
  fill_from_container_statuses(status, row);
  if (row.status.empty()) row.status = "Unknown";
  if (row.ready.empty()) row.ready = "0/0";
  if (row.restarts.empty()) row.restarts = "0";
  row.ip = status.contains("podIP") ? text_of(status["podIP"]) : "";
  if (row.ip.empty()) row.ip = "<none>";
  return row;
}

StatusTable::StatusTable(const std::vector<std::string>& pod_names, bool wide) : wide_(wide) {
  size_t longest = 4;  // "NAME"
  for (const auto& n : pod_names) longest = std::max(longest, n.size());
  name_width_ = column(longest);
}

std::string StatusTable::header() const {
  std::string s = pad("NAME", name_width_) + pad("READY", column(5)) + pad("STATUS", column(kStatusWidth)) +
                  pad("RESTARTS", column(8));
  if (!wide_) return s + "AGE";
  return s + pad("AGE", column(5)) + pad("IP", column(15)) + "DRIVER";
}

std::string StatusTable::line(const StatusRow& row, std::chrono::milliseconds age) const {
  std::string s = pad(row.name, name_width_) + pad(row.ready, column(5)) + pad(row.status, column(kStatusWidth)) +
                  pad(row.restarts, column(8));
  if (!wide_) return s + human_duration(age);
  return s + pad(human_duration(age), column(5)) + pad(row.ip, column(15)) + row.driver;
}

std::string event_line(const std::string& pod_name, const json& event) {
  return "  event: pod/" + pod_name + " " + event.value("type", "Normal") + " " + event.value("reason", "") + ": " +
         event.value("message", "");
}

namespace {

// "5s" since `field` of the event, "<unknown>" when it has none.
std::string age_of(const json& e, const char* key, std::chrono::system_clock::time_point now) {
  if (!e.contains(key) || !e[key].is_string()) return "<unknown>";
  auto t = parse_rfc3339(e[key].get<std::string>());
  if (!t) return "<unknown>";
  return human_duration(std::chrono::duration_cast<std::chrono::milliseconds>(now - *t));
}

}  // namespace

std::string events_table(const std::vector<json>& events, std::chrono::system_clock::time_point now) {
  if (events.empty()) return "Events:  <none>\n";
  // Every occurrence of a repeated event arrives with its series' count: keep the latest of each
  // series (type, reason, container, message), in the order of their last occurrence, as
  // kubectl describe lists Event objects sorted by lastTimestamp.
  std::vector<json> series;
  for (const auto& e : events) {
    auto same = [&](const json& s) {
      for (const char* k : {"type", "reason", "container", "message"})
        if (s.value(k, "") != e.value(k, "")) return false;
      return true;
    };
    auto it = std::find_if(series.begin(), series.end(), same);
    if (it != series.end()) series.erase(it);
    series.push_back(e);
  }
  std::vector<std::vector<std::string>> rows = {{"Type", "Reason", "Age", "From", "Message"},
                                                {"----", "------", "----", "----", "-------"}};
  for (const auto& e : series) {
    const char* first = e.contains("firstTimestamp") ? "firstTimestamp" : "time";
    const char* last = e.contains("lastTimestamp") ? "lastTimestamp" : "time";
    long long count = e.contains("count") && e["count"].is_number_integer() ? e["count"].get<long long>() : 1;
    // kubectl describe: "<since last> (x<count> over <since first>)" for a repeated event.
    std::string age =
        count > 1 ? age_of(e, last, now) + " (x" + std::to_string(count) + " over " + age_of(e, first, now) + ")"
                  : age_of(e, first, now);
    rows.push_back({e.value("type", "Normal"), e.value("reason", ""), age, "kubelet", e.value("message", "")});
  }
  // describe's tabwriter: padding 2, no minimum width.
  std::vector<size_t> widths(5, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < 4; ++i) widths[i] = std::max(widths[i], r[i].size());
  std::string out = "Events:\n";
  for (const auto& r : rows) {
    out += "  ";
    for (size_t i = 0; i < 4; ++i) out += r[i] + std::string(widths[i] + 2 - r[i].size(), ' ');
    out += r[4] + "\n";
  }
  return out;
}

}  // namespace lifehook_cli

// What `run` prints: kubectl's `get pod -w` lines (NAME READY STATUS RESTARTS AGE, aligned
// like kubectl's tabwriter: each column max(6, width + 3)) and `describe pod`'s Events table.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lifehook_cli {

using json = nlohmann::json;

// The kubectl columns of one pod at one moment, from lifehook_pod_status's JSON.
struct StatusRow {
  std::string name;
  std::string ready;     // "1/2"
  std::string status;    // "Init:0/2", "Running", "Terminating", ...
  std::string restarts;  // "0", "2 (5s ago)"
  std::string ip;        // wide only
  std::string driver;    // wide only

  // What a change means for `get -w`: READY, STATUS or the restart count (not its "(5s ago)").
  std::string change_key() const;
};

StatusRow status_row(const std::string& name, const std::string& driver, const json& status);

class StatusTable {
 public:
  StatusTable(const std::vector<std::string>& pod_names, bool wide);
  std::string header() const;
  std::string line(const StatusRow& row, std::chrono::milliseconds age) const;

 private:
  bool wide_;
  size_t name_width_;
};

// One streamed event (`run --events`): "  event: pod/NAME Normal Started: Started container main".
std::string event_line(const std::string& pod_name, const json& event);

// kubectl describe's table ("Events:\n  Type  Reason  Age  From  Message ..."); "Events:  <none>" if empty.
std::string events_table(const std::vector<json>& events, std::chrono::system_clock::time_point now);

}  // namespace lifehook_cli

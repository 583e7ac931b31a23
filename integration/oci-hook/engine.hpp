// The hook's use of the lifehook library, through its public C ABI only: one context for the
// hook's lifetime, handlers run one at a time with lifehook_run. Destroying the engine frees the
// context, which kills and reaps every process the library started, so nothing outlives the hook.
#pragma once

#include <lifehook/lifehook.h>

#include <nlohmann/json.hpp>
#include <string>

#include "hook_log.hpp"

namespace ocihook {

using json = nlohmann::json;

struct RunOutcome {
  int status = LIFEHOOK_OK;     // what lifehook_run returned
  std::string error;            // its error text when status != LIFEHOOK_OK
  json result;                  // the result document when status == LIFEHOOK_OK
  std::string outcome() const;  // success | failure | timeout | canceled | error ("" when not run)
  std::string message() const;
  bool succeeded() const { return status == LIFEHOOK_OK && outcome() == "success"; }
  // Why it did not succeed, in one line: "exit code 3: <output>", "LIFEHOOK_E_INVALID: ...".
  std::string why() const;
};

class Engine {
 public:
  explicit Engine(HookLog& log);  // throws HookError
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  RunOutcome run(const json& request);

 private:
  lifehook_ctx* ctx_ = nullptr;
};

}  // namespace ocihook

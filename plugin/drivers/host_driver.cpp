// The adapter for a host's lifehook_driver: the host owns its containers and reports their
// exits with lifehook_pod_container_exited; the engine calls these callbacks from an event-loop
// thread with no engine lock held (so a callback may call back into the pod API, except the
// blocking calls terminate/wait/destroy).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "../common/bounded_json.hpp"
#include "../common/errors.hpp"
#include "../context/context.hpp"
#include "../pod/driver.hpp"

namespace lifehook::drivers {

namespace {

// Takes ownership of a string malloc'd by the host.
std::string take_host_string(char*& s) {
  std::string out = s ? s : "";
  std::free(s);
  s = nullptr;
  return out;
}

class HostDriver final : public Driver {
 public:
  HostDriver(const lifehook_driver& cb, DriverEnv env) : ctx_(env.ctx), pod_(env.pod) {
    // Copy only what the host's struct has: an older host's struct may be shorter than ours.
    if (cb.struct_size < offsetof(lifehook_driver, start) + sizeof(cb.start))
      throw_invalid("driver.struct_size", "is too small for a lifehook_driver", std::to_string(cb.struct_size));
    size_t n = std::min<size_t>(cb.struct_size, sizeof(lifehook_driver));
    std::memcpy(&cb_, &cb, n);
    if (!cb_.start) throw_invalid("driver.start", "must not be NULL");
  }

  const char* name() const override { return "host"; }
  // The host receives the whole Container JSON and decides about its fields itself.
  std::vector<std::string> implemented_fields() const override { return {"*"}; }
  void validate(const pod::PodSpec&) const override {}
  bool reports_exits() const override { return false; }

  void start(const pod::ContainerSpec& c, InstanceId instance, StartDone done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_[c.name] = instance;  // the host knows containers by name: this is the one it has now
    }
    std::string container_json = c.raw.dump();
    char* info = nullptr;
    char* error = nullptr;
    int rc = cb_.start(cb_.user, pod_.uid.c_str(), container_json.c_str(), &info, &error);
    std::string info_text = take_host_string(info);
    std::string error_text = take_host_string(error);
    if (rc != 0) {
      done(std::nullopt, error_text.empty() ? "driver start failed with code " + std::to_string(rc) : error_text);
      return;
    }
    StartInfo si;
    if (!info_text.empty()) {
      json j;
      try {
        j = parse_bounded_json(info_text);
      } catch (const JsonInputError&) {  // warned below: not an object
      }
      if (j.is_object()) {
        if (auto it = j.find("pid"); it != j.end() && it->is_number_integer()) si.pid = it->get<int>();
        if (auto it = j.find("podIP"); it != j.end() && it->is_string()) si.pod_ip = it->get<std::string>();
      } else {
        ctx_.log().warn("pod {}: driver start of {}: info_json is not a JSON object; ignored", pod_.name, c.name);
      }
    }
    done(si, {});
  }

  void signal(const std::string& container, InstanceId instance, int signo) override {
    if (!is_current(container, instance)) return;  // that instance is gone; the name is another's now
    if (!has(offsetof(lifehook_driver, signal)) || !cb_.signal) {
      ctx_.log().warn("pod {}: the host driver cannot signal containers; {} not sent to {}", pod_.name, signo,
                      container);
      return;
    }
    if (int rc = cb_.signal(cb_.user, pod_.uid.c_str(), container.c_str(), signo))
      ctx_.log().warn("pod {}: driver signal {} to {} failed with code {}", pod_.name, signo, container, rc);
  }

  void kill(const std::string& container, InstanceId instance) override { signal(container, instance, SIGKILL); }

  void remove(const std::string& container, InstanceId instance) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = current_.find(container);
      if (it == current_.end() || it->second != instance) return;
      current_.erase(it);  // removed: later calls about this instance are no-ops
    }
    if (!has(offsetof(lifehook_driver, remove)) || !cb_.remove) return;
    if (int rc = cb_.remove(cb_.user, pod_.uid.c_str(), container.c_str()))
      ctx_.log().warn("pod {}: driver remove of {} failed with code {}", pod_.name, container, rc);
  }

 private:
  bool has(size_t offset) const { return cb_.struct_size >= offset + sizeof(void*); }
  bool is_current(const std::string& container, InstanceId instance) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = current_.find(container);
    return it != current_.end() && it->second == instance;
  }

  Context& ctx_;
  const pod::PodSpec& pod_;
  lifehook_driver cb_{};
  std::mutex mu_;
  std::map<std::string, InstanceId> current_;  // the instance the host runs under each name, until removed
};

}  // namespace

std::unique_ptr<Driver> make_host_driver(const lifehook_driver& callbacks, DriverEnv env) {
  return std::make_unique<HostDriver>(callbacks, std::move(env));
}

}  // namespace lifehook::drivers

#include "logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace lifehook {

class HostLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void set(lifehook_log_fn fn, void* user) {
    std::lock_guard<std::mutex> lock(mutex_);  // base_sink's mutex also guards sink_it_
    fn_ = fn;
    user_ = user;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!fn_) return;
    std::string text(msg.payload.data(), msg.payload.size());
    fn_(user_, static_cast<int>(msg.level), text.c_str());
  }
  void flush_() override {}

 private:
  lifehook_log_fn fn_ = nullptr;
  void* user_ = nullptr;
};

Logger::Logger(int min_level) : sink_(std::make_shared<HostLogSink>()) {
  logger_ = std::make_shared<spdlog::logger>("lifehook", sink_);
  logger_->set_level(static_cast<spdlog::level::level_enum>(min_level));
  logger_->flush_on(spdlog::level::off);
}

Logger::~Logger() = default;

void Logger::set_callback(lifehook_log_fn fn, void* user, int min_level) {
  sink_->set(fn, user);
  logger_->set_level(static_cast<spdlog::level::level_enum>(min_level));
}

}  // namespace lifehook

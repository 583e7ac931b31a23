// PLACEHOLDER — replaced by the cgroup implementation.
#include "cgroup.hpp"

namespace lifehook {
Cgroup::Cgroup(std::string path, UniqueFd dir) : path_(std::move(path)), dir_(std::move(dir)) {}
Cgroup::~Cgroup() = default;
void Cgroup::kill_all() {}
bool Cgroup::populated() const { return false; }
CgroupManager::CgroupManager(spdlog::logger& log) : log_(log) {}
std::unique_ptr<Cgroup> CgroupManager::create(std::string_view) { return nullptr; }
}  // namespace lifehook

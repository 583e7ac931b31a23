#include "arguments.hpp"

#include <stdexcept>

namespace lifehook_runtime {
namespace {

// Global options of runc and crun that take a separate value (runc: main.go; crun: crun.c).
bool global_option_takes_value(const std::string& a) {
  for (const char* o : {"--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager"})
    if (a == o) return true;
  return false;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

Invocation parse_invocation(int argc, char** argv) {
  Invocation inv;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    // Our own options may appear anywhere before the verb (Docker's runtimeArgs come first).
    if (!inv.verb && starts_with(a, "--lifehook-")) {
      auto eq = a.find('=');
      std::string name = a.substr(0, eq), value;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      }
      if (value.empty()) throw std::invalid_argument(name + " needs a value");
      if (name == "--lifehook-runtime")
        inv.runtime = value;
      else if (name == "--lifehook-hooks-dir")
        inv.hooks_dirs = value;
      else
        throw std::invalid_argument("unknown option " + name + " (known: --lifehook-runtime, --lifehook-hooks-dir)");
      continue;
    }
    inv.runtime_args.push_back(a);
    if (inv.verb) continue;
    if (!a.empty() && a[0] == '-') {
      if (a.find('=') == std::string::npos && global_option_takes_value(a) && i + 1 < argc)
        inv.runtime_args.push_back(argv[++i]);
      continue;
    }
    inv.verb = inv.runtime_args.size() - 1;
  }
  if (creates_container(inv)) {
    const auto& args = inv.runtime_args;
    for (size_t i = *inv.verb + 1; i < args.size(); ++i) {
      if ((args[i] == "--bundle" || args[i] == "-b") && i + 1 < args.size())
        inv.bundle = args[i + 1];
      else if (starts_with(args[i], "--bundle="))
        inv.bundle = args[i].substr(9);
      else if (starts_with(args[i], "-b="))
        inv.bundle = args[i].substr(3);
    }
  }
  return inv;
}

bool creates_container(const Invocation& inv) {
  if (!inv.verb) return false;
  const std::string& v = inv.runtime_args[*inv.verb];
  return v == "create" || v == "run";
}

}  // namespace lifehook_runtime

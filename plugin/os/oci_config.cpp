#include "oci_config.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/resource.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "../common/bounded_json.hpp"
#include "../common/errors.hpp"
#include "../common/json_fields.hpp"
#include "../common/regular_file.hpp"

namespace lifehook {
namespace {

constexpr const char* kCapabilityNames[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

struct NamedNumber {
  const char* name;
  int value;
};

constexpr NamedNumber kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

constexpr NamedNumber kCompareOps[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

const json* child(const json& obj, const char* key, const std::string& path, json::value_t type) {
  const json* v = field(obj, key);
  if (!v) return nullptr;
  bool ok =
      v->type() == type || (type == json::value_t::number_unsigned && v->is_number_integer() && v->get<int64_t>() >= 0);
  if (!ok) {
    const char* want = type == json::value_t::object    ? "an object"
                       : type == json::value_t::array   ? "an array"
                       : type == json::value_t::string  ? "a string"
                       : type == json::value_t::boolean ? "a boolean"
                                                        : "a non-negative integer";
    throw_invalid(path + "." + key, std::string("must be ") + want, json_value_text(*v));
  }
  return v;
}

uint64_t get_u64(const json& v, const std::string& path, uint64_t max) {
  if (v.is_number_unsigned() && v.get<uint64_t>() <= max) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0 && static_cast<uint64_t>(v.get<int64_t>()) <= max)
    return static_cast<uint64_t>(v.get<int64_t>());
  throw_invalid(path, "must be an integer 0.." + std::to_string(max), json_value_text(v));
}

std::vector<std::string> string_list(const json& obj, const char* key, const std::string& path) {
  std::vector<std::string> out;
  const json* arr = child(obj, key, path, json::value_t::array);
  if (!arr) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const json& s = (*arr)[i];
    std::string p = path + "." + key + "[" + std::to_string(i) + "]";
    if (!s.is_string()) throw_invalid(p, "must be a string", json_value_text(s));
    std::string v = s.get<std::string>();
    if (v.find('\0') != std::string::npos) throw_invalid(p, "must not contain NUL", json_value_text(s));
    out.push_back(std::move(v));
  }
  return out;
}

uint64_t capability_set(const json& caps, const char* key, const std::string& path,
                        std::vector<std::string>& warnings) {
  uint64_t mask = 0;
  for (const std::string& name : string_list(caps, key, path)) {
    int n = capability_number(name);
    if (n < 0) {
      // runc skips capabilities it does not know (a newer spec on an older kernel) with a warning.
      warnings.push_back(path + "." + key + ": unknown capability " + name + " skipped");
      continue;
    }
    mask |= uint64_t{1} << n;
  }
  return mask;
}

void parse_user(const json& user, const std::string& path, OciProcess& p) {
  p.uid = static_cast<uint32_t>(get_u64(user.value("uid", json(0)), path + ".uid", UINT32_MAX));
  p.gid = static_cast<uint32_t>(get_u64(user.value("gid", json(0)), path + ".gid", UINT32_MAX));
  if (const json* u = field(user, "umask")) p.umask = static_cast<uint32_t>(get_u64(*u, path + ".umask", 0777));
  if (const json* g = child(user, "additionalGids", path, json::value_t::array))
    for (size_t i = 0; i < g->size(); ++i)
      p.additional_gids.push_back(
          static_cast<uint32_t>(get_u64((*g)[i], path + ".additionalGids[" + std::to_string(i) + "]", UINT32_MAX)));
}

void parse_rlimits(const json& arr, const std::string& path, OciProcess& p) {
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string ip = path + "[" + std::to_string(i) + "]";
    const json& r = arr[i];
    require_object(r, ip);
    std::string type = get_string(r, "type", ip, true);
    int res = rlimit_number(type);
    if (res < 0) throw_invalid(ip + ".type", "is not a known RLIMIT_* name", json_value_text(r["type"]));
    OciRlimit lim;
    lim.resource = res;
    lim.soft = get_u64(r.value("soft", json(0)), ip + ".soft", UINT64_MAX);
    lim.hard = get_u64(r.value("hard", json(0)), ip + ".hard", UINT64_MAX);
    if (lim.soft > lim.hard) throw_invalid(ip + ".soft", "must not exceed hard", json_value_text(r["soft"]));
    p.rlimits.push_back(lim);
  }
}

OciProcess parse_process(const json& proc, const std::string& path, std::vector<std::string>& warnings) {
  OciProcess p;
  require_object(proc, path);
  if (const json* user = child(proc, "user", path, json::value_t::object)) parse_user(*user, path + ".user", p);
  p.args = string_list(proc, "args", path);
  p.env = string_list(proc, "env", path);
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos)
      throw_invalid(path + ".env[" + std::to_string(i) + "]", "must be NAME=value", json_value_text(p.env[i]));
  p.cwd = get_string(proc, "cwd", path);
  if (p.cwd.empty()) p.cwd = "/";
  if (p.cwd[0] != '/') throw_invalid(path + ".cwd", "must be an absolute path", json_value_text(p.cwd));
  if (const json* caps = child(proc, "capabilities", path, json::value_t::object)) {
    std::string cp = path + ".capabilities";
    p.capabilities.bounding = capability_set(*caps, "bounding", cp, warnings);
    p.capabilities.effective = capability_set(*caps, "effective", cp, warnings);
    p.capabilities.permitted = capability_set(*caps, "permitted", cp, warnings);
    p.capabilities.inheritable = capability_set(*caps, "inheritable", cp, warnings);
    p.capabilities.ambient = capability_set(*caps, "ambient", cp, warnings);
  }
  p.no_new_privileges = get_bool(proc, "noNewPrivileges", path, false);
  if (const json* r = child(proc, "rlimits", path, json::value_t::array)) parse_rlimits(*r, path + ".rlimits", p);
  if (const json* o = field(proc, "oomScoreAdj")) {
    int64_t v = get_int(proc, "oomScoreAdj", path, 0);
    if (v < -1000 || v > 1000) throw_invalid(path + ".oomScoreAdj", "must be -1000..1000", json_value_text(*o));
    p.oom_score_adj = static_cast<int>(v);
  }
  p.apparmor_profile = get_string(proc, "apparmorProfile", path);
  p.selinux_label = get_string(proc, "selinuxLabel", path);
  return p;
}

uint32_t seccomp_action(const std::string& name, const json* errno_ret, const std::string& path,
                        const std::string& errno_path) {
  auto ret = [&]() -> uint32_t {
    if (!errno_ret) return EPERM;
    return static_cast<uint32_t>(get_u64(*errno_ret, errno_path, 0xffff));
  };
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret());
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret());
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY")
    throw_invalid(path, "SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which container exec does not support",
                  json_value_text(name));
  throw_invalid(path, "is not a known seccomp action", json_value_text(name));
}

uint32_t seccomp_arch(const std::string& name, const std::string& path) {
  std::string lower = name;
  if (lower.rfind("SCMP_ARCH_", 0) == 0) lower.erase(0, 10);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
  if (arch == 0) throw_invalid(path, "is not a known seccomp architecture", json_value_text(name));
  return arch;
}

OciSeccomp parse_seccomp(const json& s, const std::string& path) {
  OciSeccomp out;
  require_object(s, path);
  if (field(s, "listenerPath"))
    throw_invalid(path + ".listenerPath", "seccomp agents are not supported by container exec",
                  json_value_text(s["listenerPath"]));
  std::string dflt = get_string(s, "defaultAction", path, true);
  out.default_action =
      seccomp_action(dflt, field(s, "defaultErrnoRet"), path + ".defaultAction", path + ".defaultErrnoRet");
  std::vector<std::string> archs = string_list(s, "architectures", path);
  for (size_t i = 0; i < archs.size(); ++i)
    out.architectures.push_back(seccomp_arch(archs[i], path + ".architectures[" + std::to_string(i) + "]"));
  std::vector<std::string> flags = string_list(s, "flags", path);
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] == "SECCOMP_FILTER_FLAG_LOG")
      out.filter_flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (flags[i] == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
      out.filter_flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (flags[i] == "SECCOMP_FILTER_FLAG_TSYNC")
      continue;  // one thread anyway; runc ignores it too
    else
      throw_invalid(path + ".flags[" + std::to_string(i) + "]", "is not a supported seccomp flag",
                    json_value_text(flags[i]));
  }
  if (const json* calls = child(s, "syscalls", path, json::value_t::array)) {
    for (size_t i = 0; i < calls->size(); ++i) {
      std::string ip = path + ".syscalls[" + std::to_string(i) + "]";
      const json& c = (*calls)[i];
      require_object(c, ip);
      OciSeccompRule rule;
      rule.names = string_list(c, "names", ip);
      if (rule.names.empty()) throw_invalid(ip + ".names", "must name at least one syscall");
      rule.action =
          seccomp_action(get_string(c, "action", ip, true), field(c, "errnoRet"), ip + ".action", ip + ".errnoRet");
      if (const json* args = child(c, "args", ip, json::value_t::array)) {
        for (size_t k = 0; k < args->size(); ++k) {
          std::string ap = ip + ".args[" + std::to_string(k) + "]";
          const json& a = (*args)[k];
          require_object(a, ap);
          OciSeccompArg arg;
          arg.index = static_cast<unsigned>(get_u64(a.value("index", json(0)), ap + ".index", 5));
          arg.value = get_u64(a.value("value", json(0)), ap + ".value", UINT64_MAX);
          arg.value_two = get_u64(a.value("valueTwo", json(0)), ap + ".valueTwo", UINT64_MAX);
          std::string op = get_string(a, "op", ap, true);
          arg.op = -1;
          for (const auto& o : kCompareOps)
            if (op == o.name) arg.op = o.value;
          if (arg.op < 0) throw_invalid(ap + ".op", "is not a known seccomp comparison", json_value_text(a["op"]));
          rule.args.push_back(arg);
        }
      }
      out.rules.push_back(std::move(rule));
    }
  }
  return out;
}

}  // namespace

int capability_number(const std::string& name) {
  for (size_t i = 0; i < std::size(kCapabilityNames); ++i)
    if (name == kCapabilityNames[i]) return static_cast<int>(i);
  return -1;
}

int rlimit_number(const std::string& name) {
  for (const auto& r : kRlimits)
    if (name == r.name) return r.value;
  return -1;
}

OciConfig parse_oci_config(const json& doc, const std::string& file) {
  OciConfig c;
  c.file = file;
  std::string root = file + ": ";
  require_object(doc, file);
  const json* proc = field(doc, "process");
  if (!proc) throw_invalid(root + "process", "is required (the container's process spec)");
  c.process = parse_process(*proc, root + "process", c.warnings);
  if (const json* linux_obj = child(doc, "linux", file, json::value_t::object))
    if (const json* s = field(*linux_obj, "seccomp")) c.seccomp = parse_seccomp(*s, root + "linux.seccomp");
  return c;
}

OciConfig load_oci_config(const std::string& bundle_dir) {
  std::string file = bundle_dir + "/config.json";
  // Opened on a loop thread: a FIFO or a device planted as config.json must be an error, never
  // a blocked thread or an endless read.
  std::string text;
  try {
    text = read_regular_file(file, kMaxJsonBytes);
  } catch (const FileReadError& e) {
    throw_invalid("target.bundle", "has no readable config.json (" + std::string(e.what()) + ")", bundle_dir);
  }
  json doc;
  try {
    doc = parse_bounded_json(text);
  } catch (const JsonInputError& e) {  // paths as parse_oci_config names them: "<file>: process.env[0]"
    throw_invalid(e.path().empty() ? file : file + ": " + e.path(), e.why());
  }
  return parse_oci_config(doc, file);
}

}  // namespace lifehook

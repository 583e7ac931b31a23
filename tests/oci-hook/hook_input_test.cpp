// The hook run directly, as a runtime would run it, on inputs real runtimes send and on broken
// ones: stdin state, bundle config.json, annotations. No root or runc needed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../servers/grpc_health_server.hpp"
#include "support/bundle.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

namespace ocihook_test {
namespace {

namespace fs = std::filesystem;

// A bundle directory holding only config.json: enough for the hook outside a runtime.
class ConfigDir {
 public:
  ConfigDir() {
    char tmpl[] = "/tmp/lifehook-ocihook-cfg-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    config_ = {{"ociVersion", "1.0.2"},
               {"process", {{"args", {"sh"}}, {"env", {"PATH=/bin"}}, {"cwd", "/"}}},
               {"root", {{"path", "rootfs"}}},
               {"annotations", json::object()}};
  }
  ~ConfigDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  json& config() { return config_; }
  void annotate(const std::string& k, const std::string& v) { config_["annotations"][k] = v; }
  std::string log_text() const {
    std::ifstream f(dir_ + "/hook.log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::string state(const std::string& status = "creating", int pid = 4242) const {
    return json{{"ociVersion", "1.0.2"}, {"id", "direct-test"}, {"status", status}, {"pid", pid}, {"bundle", dir_}}
        .dump();
  }
  ProcResult hook(const std::string& stage, const std::string& state_text, double timeout_s = 20) const {
    std::ofstream(dir_ + "/config.json", std::ios::trunc) << config_.dump();
    return run_process(hook_path(), {"lifehook-oci-hook", stage}, state_text, test_env(), timeout_s);
  }

 private:
  std::string dir_;
  json config_;
};

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(OciHookInput, GarbageOnStdinFailsWithOneClearLine) {
  ConfigDir b;
  ProcResult r = b.hook("createRuntime", "this is {not json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("state on stdin: not valid JSON"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
}

TEST(OciHookInput, EmptyStdinAndNonObjectStateAreRejected) {
  ConfigDir b;
  ProcResult empty = b.hook("createRuntime", "");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("state on stdin: empty"), std::string::npos) << empty.err;
  ProcResult array = b.hook("createRuntime", "[1,2]");
  EXPECT_EQ(array.exit_code, 1);
  EXPECT_NE(array.err.find("must be a JSON object"), std::string::npos) << array.err;
  ProcResult bad_pid = b.hook("createRuntime", R"({"id":"x","pid":"12","bundle":"/tmp"})");
  EXPECT_EQ(bad_pid.exit_code, 1);
  EXPECT_NE(bad_pid.err.find("pid must be a process id"), std::string::npos) << bad_pid.err;
}

TEST(OciHookInput, MissingBundleIsAClearErrorExceptAtPoststop) {
  std::string state =
      R"({"ociVersion":"1.0.2","id":"gone","status":"creating","pid":1,"bundle":"/nonexistent/lifehook-bundle"})";
  ProcResult r = run_process(hook_path(), {"lifehook-oci-hook", "createRuntime"}, state, test_env(), 20);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/lifehook-bundle/config.json: cannot open: No such file or directory"),
            std::string::npos)
      << r.err;
  ProcResult no_bundle =
      run_process(hook_path(), {"lifehook-oci-hook", "poststart"}, R"({"id":"x","pid":3})", test_env(), 20);
  EXPECT_EQ(no_bundle.exit_code, 1);
  EXPECT_NE(no_bundle.err.find("bundle is missing"), std::string::npos) << no_bundle.err;
  // After `delete` a bundle may be gone for good; poststop failures are warnings anyway.
  ProcResult stop = run_process(hook_path(), {"lifehook-oci-hook", "poststop"}, state, test_env(), 20);
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
}

TEST(OciHookInput, NoLifehookAnnotationsIsAQuietSuccessAtEveryStage) {
  ConfigDir b;
  b.annotate("org.example/other", "x");
  for (const char* stage :
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}) {
    ProcResult r = b.hook(stage, b.state());
    EXPECT_EQ(r.exit_code, 0) << stage << ": " << r.err;
    EXPECT_EQ(r.err, "") << stage;
    EXPECT_LT(r.seconds, 5.0) << stage;
  }
}

TEST(OciHookInput, UsageErrorsExitTwo) {
  ProcResult none = run_process(hook_path(), {"lifehook-oci-hook"}, "{}", test_env(), 20);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("the stage is missing"), std::string::npos) << none.err;
  ProcResult bad = run_process(hook_path(), {"lifehook-oci-hook", "preStart"}, "{}", test_env(), 20);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown stage \"preStart\""), std::string::npos) << bad.err;
}

struct BadAnnotation {
  const char* key;
  const char* value;
  const char* expected;  // in the stderr line
};

TEST(OciHookInput, BadAnnotationsFailClosedAtCreateRuntimeNamingTheAnnotation) {
  const BadAnnotation cases[] = {
      {"lifehook.io/wait-for", "[{\"tcpSocket\":", "lifehook.io/wait-for: not valid JSON: parse error"},
      {"lifehook.io/wait-for", "{\"tcpSocket\":{\"port\":1}}", "lifehook.io/wait-for: value: must be a JSON array"},
      {"lifehook.io/wait-for", "[{\"tcpSocket\":{\"port\":\"mysql\"}}]",
       "lifehook.io/wait-for: [0].tcpSocket.port: must be a port number: an OCI container has no named ports"},
      {"lifehook.io/wait-for", "[{\"tcpSocket\":{\"port\":70000}}]", "[0].tcpSocket.port: must be between 1 and 65535"},
      {"lifehook.io/wait-for", "[{\"exec\":{\"command\":[]}}]", "[0].exec.command: must be a non-empty array"},
      {"lifehook.io/wait-for-period", "soon", "lifehook.io/wait-for-period: not valid JSON"},
      {"lifehook.io/wait-for-timeout", "-3",
       "lifehook.io/wait-for-timeout: value: must be a JSON number of seconds > 0"},
      {"lifehook.io/post-start", "{\"exec\":{\"command\":[\"true\"]},\"httpGet\":{\"port\":80}}",
       "lifehook.io/post-start: value: must specify exactly one of exec, httpGet, tcpSocket, sleep; found exec and "
       "httpGet"},
      {"lifehook.io/post-stop", "{\"grpc\":{\"port\":80}}",
       "lifehook.io/post-stop: value.grpc: is a health check, only for lifehook.io/wait-for"},
      {"lifehook.io/wait-for", "[{\"grpc\":{\"port\":\"grpc\"}}]",
       "lifehook.io/wait-for: [0].grpc.port: must be a port number between 1 and 65535"},
      {"lifehook.io/wait-for", "[{\"grpc\":{\"port\":50051,\"service\":1}}]",
       "lifehook.io/wait-for: [0].grpc.service: must be a string"},
      {"lifehook.io/waitfor", "[]", "lifehook.io/waitfor: unknown lifehook annotation"},
      {"lifehook.io/log", "relative/hook.log", "lifehook.io/log: value: must be an absolute file path"},
      // Bounded inputs: nesting, duplicate keys, a floor on the retry period.
      {"lifehook.io/wait-for-period", "0.000001",
       "lifehook.io/wait-for-period: value: must be a JSON number of seconds >= 0.01"},
      {"lifehook.io/wait-for", "[{\"tcpSocket\":{\"port\":1,\"port\":2}}]",
       "lifehook.io/wait-for: [0].tcpSocket.port: duplicate key \"port\""},
      {"lifehook.io/wait-for-timeout", "1e999", "lifehook.io/wait-for-timeout: is a number out of range"},
  };
  for (const auto& c : cases) {
    ConfigDir b;
    b.annotate(c.key, c.value);
    ProcResult r = b.hook("createRuntime", b.state());
    EXPECT_EQ(r.exit_code, 1) << c.key << "=" << c.value;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.key << "=" << c.value << "\nstderr: " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

// 400 000 nested brackets in an annotation used to overflow the hook's stack: refused by the
// annotation size limit; 100 000 (within the size) by the 64-level limit. One stderr line each.
TEST(OciHookInput, DeeplyNestedAnnotationIsRefusedAtTheNestingLimit) {
  for (size_t n : {size_t{100000}, size_t{400000}}) {
    ConfigDir b;
    b.annotate("lifehook.io/wait-for", std::string(n, '[') + std::string(n, ']'));
    ProcResult r = b.hook("createRuntime", b.state());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("lifehook.io/wait-for: "), std::string::npos) << r.err.substr(0, 400);
    const char* limit =
        n < 131072 ? "nested deeper than 64 levels (the limit)" : "is larger than 262144 bytes (the limit";
    EXPECT_NE(r.err.find(limit), std::string::npos) << r.err.substr(0, 400);
    EXPECT_EQ(count_lines(r.err), 1);
  }
}

// config.json a FIFO without a writer, or a symlink to /dev/zero: an error naming the file at
// once, never a blocked hook or an endless read.
TEST(OciHookInput, ConfigJsonThatIsNotARegularFileIsAnErrorNotABlock) {
  for (const char* kind : {"fifo", "zero"}) {
    ConfigDir b;
    std::string config = b.dir() + "/config.json";
    if (std::string(kind) == "fifo")
      ASSERT_EQ(::mkfifo(config.c_str(), 0600), 0);
    else
      fs::create_symlink("/dev/zero", config);
    ProcResult r = run_process(hook_path(), {"lifehook-oci-hook", "createRuntime"}, b.state(), test_env(), 10);
    EXPECT_EQ(r.exit_code, 1) << kind << ": " << r.err;
    EXPECT_LT(r.seconds, 5.0) << kind;
    EXPECT_NE(r.err.find(config + ": is a " + std::string(kind == std::string("fifo") ? "FIFO" : "character device") +
                         ", not a regular file"),
              std::string::npos)
        << kind << ": " << r.err;
  }
}

TEST(OciHookInput, BadPostStopIsOnlyLoggedAtPoststopButFatalForPostStartAtPoststart) {
  ConfigDir b;
  b.annotate("lifehook.io/post-stop", "{oops");
  b.annotate("lifehook.io/post-start", "{\"exec\":{\"command\":7}}");
  b.annotate("lifehook.io/log", b.dir() + "/hook.log");
  ProcResult stop = b.hook("poststop", b.state("stopped", 0));
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(stop.err.find("lifehook.io/post-stop: not valid JSON"), std::string::npos) << stop.err;
  EXPECT_NE(b.log_text().find("lifehook.io/post-stop: not valid JSON"), std::string::npos) << b.log_text();
  ProcResult start = b.hook("poststart", b.state("running", 1));
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.err.find("lifehook.io/post-start: value.exec.command: must be a non-empty array"), std::string::npos)
      << start.err;
}

TEST(OciHookInput, ToleratesCrunAndLegacyStateShapes) {
  GatedPort port;
  port.open();
  ConfigDir b;
  b.annotate("lifehook.io/wait-for", json::array({{{"tcpSocket", {{"port", port.port()}}}}}).dump());
  // crun: status "starting", pid 0, a non-spec "root" key; old runtimes: "bundlePath".
  std::string state = json{{"ociVersion", "1.0"}, {"id", "crunish"},      {"status", "starting"}, {"pid", 0},
                           {"root", "/x"},        {"bundlePath", b.dir()}}
                          .dump();
  ProcResult r = b.hook("createRuntime", state);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(port.connections(), 1);
}

// wait-for with a grpc health check against a real gRPC server (python3-grpcio): ready once the
// service is SERVING; a service that stays NOT_SERVING keeps the container from starting, with the
// kubelet's message.
TEST(OciHookInput, WaitForGrpcWaitsForServing) {
  lifehook::test::GrpcHealthServer server;
  ASSERT_EQ(server.error(), "");
  ConfigDir b;
  b.annotate("lifehook.io/wait-for",
             json::array({{{"name", "api"}, {"grpc", {{"port", server.port()}, {"service", "serving"}}}}}).dump());
  b.annotate("lifehook.io/log", b.dir() + "/hook.log");
  ProcResult r = b.hook("createRuntime", b.state());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string label = "grpc 127.0.0.1:" + std::to_string(server.port()) + " service serving (api)";
  EXPECT_NE(b.log_text().find("ready: " + label + " after 1 attempt(s)"), std::string::npos) << b.log_text();

  ConfigDir never;
  never.annotate("lifehook.io/wait-for",
                 json::array({{{"grpc", {{"port", server.port()}, {"service", "not-serving"}}}}}).dump());
  never.annotate("lifehook.io/wait-for-period", "0.2");
  never.annotate("lifehook.io/wait-for-timeout", "1");
  r = never.hook("createRuntime", never.state());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("lifehook.io/wait-for[0] grpc 127.0.0.1:" + std::to_string(server.port()) +
                       " service not-serving: not ready within 1 s"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("last: service unhealthy (responded with \"NOT_SERVING\")"), std::string::npos) << r.err;
}

TEST(OciHookInput, WaitForGivesUpWithinItsTimeoutAndLogsProgress) {
  GatedPort never;
  ConfigDir b;
  b.annotate("lifehook.io/wait-for",
             json::array({{{"name", "mysql"}, {"tcpSocket", {{"host", "127.0.0.1"}, {"port", never.port()}}}}}).dump());
  b.annotate("lifehook.io/wait-for-period", "0.2");
  b.annotate("lifehook.io/wait-for-timeout", "1.5");
  b.annotate("lifehook.io/log", b.dir() + "/hook.log");
  ProcResult r = b.hook("createRuntime", b.state());
  std::string label = "tcp 127.0.0.1:" + std::to_string(never.port()) + " (mysql)";
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_GE(r.seconds, 1.3);
  EXPECT_LT(r.seconds, 8.0);
  EXPECT_NE(r.err.find("lifehook.io/wait-for[0] " + label + ": not ready within 1.5 s (lifehook.io/wait-for-timeout)"),
            std::string::npos)
      << r.err;
  std::string log = b.log_text();
  EXPECT_NE(log.find("waiting for " + label + " \u2014 attempt 1"), std::string::npos) << log;
  EXPECT_NE(log.find("waiting for " + label + " \u2014 attempt 3"), std::string::npos) << log;
  EXPECT_NE(log.find("createRuntime direct-test: "), std::string::npos) << log;
}

TEST(OciHookInput, StaysBelowItsOwnOciTimeoutFoundInConfig) {
  GatedPort never;
  ConfigDir b;
  b.annotate("lifehook.io/wait-for", json::array({{{"tcpSocket", {{"port", never.port()}}}}}).dump());
  b.annotate("lifehook.io/wait-for-timeout", "60");
  b.config()["hooks"]["createRuntime"] =
      json::array({{{"path", "/usr/bin/true"}, {"timeout", 1}},
                   {{"path", hook_path()}, {"args", {"lifehook-oci-hook", "createRuntime"}}, {"timeout", 2}}});
  ProcResult r = b.hook("createRuntime", b.state());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(r.seconds, 2.0) << "the runtime would have killed the hook";
  EXPECT_GE(r.seconds, 1.2);
  EXPECT_NE(r.err.find("the hook's OCI timeout is 2 s"), std::string::npos) << r.err;
}

TEST(OciHookInput, WaitForExecThatHangsIsKilledWithTheHook) {
  ConfigDir b;
  std::string tag = "lifehook-ocihook-hang-" + std::to_string(::getpid());
  b.annotate("lifehook.io/wait-for",
             json::array({{{"exec", {{"command", {"sh", "-c", "sleep 30; echo " + tag}}}}}}).dump());
  b.annotate("lifehook.io/wait-for-timeout", "1");
  ProcResult r = b.hook("createRuntime", b.state());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(r.seconds, 8.0);
  EXPECT_NE(r.err.find("lifehook.io/wait-for[0] exec [sh -c sleep 30; echo " + tag + "]: not ready within 1 s"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(processes_with_cmdline(tag).empty()) << "the handler's process outlived the hook";
}

TEST(OciHookInput, PostStopHttpGetReachesLoopbackServer) {
  HttpRecorder server;
  ConfigDir b;
  b.annotate("lifehook.io/post-stop",
             json{{"httpGet", {{"port", server.port()}, {"path", "/stopped?id=direct-test"}}}}.dump());
  ProcResult r = b.hook("poststop", b.state("stopped", 0));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(server.wait_for("GET /stopped?id=direct-test", std::chrono::seconds(5)));
}

TEST(OciHookInput, PostStopFailureIsAWarningNotAnError) {
  GatedPort never;
  ConfigDir b;
  b.annotate("lifehook.io/post-stop", json{{"tcpSocket", {{"port", never.port()}}}}.dump());
  ProcResult r = b.hook("poststop", b.state("stopped", 0));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("lifehook.io/post-stop tcp 127.0.0.1:" + std::to_string(never.port())), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ocihook_test

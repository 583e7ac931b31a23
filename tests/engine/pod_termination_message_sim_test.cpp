// Termination messages in simulated time: terminationMessagePolicy File and FallbackToLogsOnError
// as convertToKubeContainerStatus applies them (the file first, the log's last 80 lines / 2048
// bytes only for a failed container whose file is missing or empty), the 4096-byte file limit, the
// read error wording, the message carried into lastState at a restart, and the status's 12 KiB
// per pod split over the containers (normalizeStatus).
#include "engine_sim.hpp"
#include "plugin/pod/termination_message.hpp"

namespace lifehook::pod {
namespace {

using namespace sim;

MessageFile file(std::string text) {
  MessageFile f;
  f.state = MessageFile::State::Read;
  f.text = std::move(text);
  f.path = "/dev/termination-log";
  return f;
}

json fallback(json c) {
  c["terminationMessagePolicy"] = "FallbackToLogsOnError";
  return c;
}

TEST(TerminationMessage, LastLogLines) {
  EXPECT_EQ(last_log_lines("a\nb\nc\n", 2, 2048), "b\nc\n");
  EXPECT_EQ(last_log_lines("a\nb\nc", 2, 2048), "b\nc") << "a last line without newline counts";
  EXPECT_EQ(last_log_lines("a\nb\n", 5, 2048), "a\nb\n");
  EXPECT_EQ(last_log_lines("", 80, 2048), "");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "line" + std::to_string(i) + "\n";
  std::string tail = last_log_lines(many);
  EXPECT_EQ(tail.substr(0, 7), "line20\n") << "the last 80 of 100 lines";
  std::string big(5000, 'x');
  EXPECT_EQ(last_log_lines(big), std::string(2048, 'x')) << "at most the last 2048 bytes";
}

TEST(TerminationMessage, PolicyRules) {
  auto none = [] { return MessageFile{}; };
  auto empty = [] { return file(""); };
  auto log = []() -> std::optional<std::string> { return std::string("out\nboom\n"); };
  using P = TerminationMessagePolicy;
  EXPECT_EQ(termination_message(P::File, 1, "", none, log), "") << "File never reads the log";
  EXPECT_EQ(termination_message(P::FallbackToLogsOnError, 1, "", none, log), "out\nboom\n");
  EXPECT_EQ(termination_message(P::FallbackToLogsOnError, 1, "", empty, log), "out\nboom\n") << "an empty file";
  EXPECT_EQ(termination_message(P::FallbackToLogsOnError, 0, "", none, log), "") << "only on error";
  EXPECT_EQ(termination_message(
                P::FallbackToLogsOnError, 2, "", [] { return file("DONE"); }, log),
            "DONE")
      << "the file wins when it has something";
  EXPECT_EQ(termination_message(
                P::File, 0, "", [] { return file(std::string(5000, 'a') + "END"); }, log),
            std::string(4093, 'a') + "END")
      << "the last 4096 bytes of the file";
  MessageFile bad;
  bad.state = MessageFile::State::Error;
  bad.path = "/x/termination-log";
  bad.text = "not a regular file";
  EXPECT_EQ(termination_message(
                P::FallbackToLogsOnError, 1, "", [&] { return bad; }, log),
            "Error on reading termination log /x/termination-log: not a regular file")
      << "a read error is the message, no fallback";
  EXPECT_EQ(termination_message(
                P::File, 0, "runtime said", [] { return file("app said"); }, log),
            "runtime said: app said");
}

TEST(PodTerminationMessageSim, FileMessageInStateThenLastState) {
  Sim s(pod(json::array({ctr("app")}), json::array(), {{"restartPolicy", "Never"}}));
  s.driver->files["app"] = file("Sleep expired");
  s.start();
  s.exit("app", 1, 0);
  json st = s.status()["containerStatuses"][0];
  EXPECT_EQ(st["state"]["terminated"]["message"], "Sleep expired");
  EXPECT_EQ(s.driver->log_reads, 0) << "policy File";
}

// The kubelet's lastState is the previous instance's terminated state, message included: right
// after an immediate restart, and while the next one waits in CrashLoopBackOff.
TEST(PodTerminationMessageSim, MessageCarriedIntoLastState) {
  Sim s(pod(json::array({ctr("app")})));
  s.driver->files["app"] = file("first");
  s.start();
  s.exit("app", 1, 3);
  json st = s.status()["containerStatuses"][0];
  EXPECT_EQ(st["restartCount"], 1);
  EXPECT_TRUE(st["state"].contains("running"));
  EXPECT_EQ(st["lastState"]["terminated"]["message"], "first");
  EXPECT_EQ(st["lastState"]["terminated"]["exitCode"], 3);
  s.driver->files["app"] = file("second");
  s.exit("app", 2, 4);
  st = s.status()["containerStatuses"][0];
  EXPECT_EQ(st["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(st["lastState"]["terminated"]["message"], "second");
  s.advance(10s);
  st = s.status()["containerStatuses"][0];
  EXPECT_EQ(st["restartCount"], 2);
  EXPECT_EQ(st["lastState"]["terminated"]["message"], "second");
}

TEST(PodTerminationMessageSim, FallbackToLogsOnlyForAFailure) {
  Sim s(pod(json::array({fallback(ctr("bad")), fallback(ctr("good"))}), json::array(), {{"restartPolicy", "Never"}}));
  s.driver->logs["bad"] = "starting\nDONE";
  s.driver->logs["good"] = "all fine\n";
  s.start();
  s.exit("bad", 1, 1);
  s.exit("good", 1, 0);
  json st = s.status()["containerStatuses"];
  EXPECT_EQ(st[0]["state"]["terminated"]["message"], "starting\nDONE");
  EXPECT_FALSE(st[1]["state"]["terminated"].contains("message")) << "succeeded: no fallback";
}

TEST(PodTerminationMessageSim, StartErrorReadsNothing) {
  Sim s(pod(json::array({fallback(ctr("app"))}), json::array(), {{"restartPolicy", "Never"}}));
  s.driver->fail_starts = true;
  s.start();
  EXPECT_EQ(s.driver->message_reads, 0);
  EXPECT_EQ(s.status()["containerStatuses"][0]["state"]["terminated"]["reason"], "StartError");
}

TEST(PodTerminationMessageSim, TwelveKibPerPodSplitOverTheContainers) {
  json cs = json::array();
  for (int i = 0; i < 4; ++i) cs.push_back(ctr("c" + std::to_string(i)));
  Sim s(pod(cs, json::array(), {{"restartPolicy", "Never"}}));
  for (int i = 0; i < 4; ++i) s.driver->files["c" + std::to_string(i)] = file(std::string(4096, 'm'));
  s.start();
  for (int i = 0; i < 4; ++i) s.exit("c" + std::to_string(i), 1, 0);
  json status = s.status();  // kept: a range-for over a temporary's member reads freed memory
  for (const auto& st : status["containerStatuses"])
    EXPECT_EQ(st["state"]["terminated"]["message"].get<std::string>().size(), 12u * 1024 / 4);
}

}  // namespace
}  // namespace lifehook::pod

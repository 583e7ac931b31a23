/* lifehook-monitor: what containerd-shim and conmon are to the kubelet, for the oci driver. The
   driver starts one per container instance:

     lifehook-monitor EXIT_FILE -- RUNTIME --root ROOT run --bundle BUNDLE ID

   It runs the foreground `RUNTIME run` as its child, waits for it, and records how it ended in
   EXIT_FILE ({"exitCode":N,"signal":S,"finishedAtMs":T}, written to EXIT_FILE.tmp, fsync'ed,
   renamed, the directory fsync'ed: a reader sees the whole record or none). Then it ends the way
   the runtime ended (same exit code, or the same signal), so a library that is still the
   monitor's parent reads the status as it read the runtime's before.

   It is what lets a container outlive the process that started it: the library's host may die
   (kill -9, a crash, an upgrade), the monitor and the container go on, and a later host learns
   the exit code from EXIT_FILE (lifehook_pod_adopt). The library spawns it in a session of its
   own (no terminal, no process group of the host's), with fds 0-2 only (the container's log).

   No signal handlers, no threads: one fork, one exec, one waitid on that one child. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const char* text, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, text, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    text += n, len -= (size_t)n;
  }
  return 0;
}

/* EXIT_FILE atomically; 0 on success. */
static int record_exit(const char* path, int code, int sig) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char doc[128];
  int len = snprintf(doc, sizeof doc, "{\"exitCode\":%d,\"signal\":%d,\"finishedAtMs\":%lld}\n", code, sig,
                     (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
  char tmp[4096], dir[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  snprintf(dir, sizeof dir, "%s", path);
  char* slash = strrchr(dir, '/');
  if (slash == dir)
    dir[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return -1;
  int ok = write_all(fd, doc, (size_t)len) == 0 && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: lifehook-monitor EXIT_FILE -- PROGRAM [ARG...]\n");
    return 125;
  }
  const char* exit_file = argv[1];
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "lifehook-monitor: fork: %s\n", strerror(errno));
    return 125;
  }
  if (pid == 0) {
    execvp(argv[3], argv + 3);
    fprintf(stderr, "lifehook-monitor: exec %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  siginfo_t info;
  memset(&info, 0, sizeof info);
  while (waitid(P_PID, (id_t)pid, &info, WEXITED) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "lifehook-monitor: waitid: %s\n", strerror(errno));
      return 125;
    }
  }
  int code = 0, sig = 0;
  if (info.si_code == CLD_EXITED) {
    code = info.si_status;
  } else {
    sig = info.si_status;
    code = 128 + sig;
  }
  if (record_exit(exit_file, code, sig) != 0)
    fprintf(stderr, "lifehook-monitor: cannot record the exit in %s: %s\n", exit_file, strerror(errno));
  if (sig > 0 && sig != SIGSTOP) {
    signal(sig, SIG_DFL); /* the default disposition, not a handler: end as the runtime ended */
    raise(sig);
  }
  return code;
}

#include "container_exec_clone.hpp"

#include <linux/sched.h>
#include <sys/syscall.h>

#include <cstdint>

// long lh_clone3_run(struct clone_args* args, size_t size, int (*fn)(void*), void* arg)
// The child starts on args->stack + args->stack_size with the parent's registers except the
// stack pointer and the result register; the registers that keep fn and arg survive the system
// call. It calls fn(arg) and exits the process (never returns into the parent's frames).
#if defined(__x86_64__)
asm(R"(
  .text
  .p2align 4
  .hidden lh_clone3_run
  .type lh_clone3_run, @function
lh_clone3_run:
  .cfi_startproc
  endbr64
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jnz 1f
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $231, %eax
  syscall
  hlt
1:
  ret
  .cfi_endproc
  .size lh_clone3_run, .-lh_clone3_run
)");
#define LIFEHOOK_HAVE_CLONE3_TRAMPOLINE 1
static_assert(SYS_clone3 == 435 && SYS_exit_group == 231, "x86_64 system call numbers");
#endif

namespace lifehook {

#ifdef LIFEHOOK_HAVE_CLONE3_TRAMPOLINE
extern "C" long lh_clone3_run(clone_args* args, unsigned long size, int (*fn)(void*), void* arg);

long clone_into_cgroup(int (*fn)(void*), void* arg, unsigned long flags, int cgroup_fd, void* stack,
                       unsigned long stack_size, int* pidfd) {
  clone_args args{};
  args.flags = flags | CLONE_INTO_CGROUP | (pidfd ? CLONE_PIDFD : 0);
  if (pidfd) args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  args.exit_signal = 0;
  args.stack = reinterpret_cast<uintptr_t>(stack);
  args.stack_size = stack_size;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  return lh_clone3_run(&args, sizeof(args), fn, arg);
}
#else
long clone_into_cgroup(int (*)(void*), void*, unsigned long, int, void*, unsigned long, int*) { return -ENOSYS; }
#endif

}  // namespace lifehook

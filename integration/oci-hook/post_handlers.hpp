// lifehook.io/post-start (at poststart: exec inside the container, other kinds from the runtime's
// namespaces; a failure fails the hook, and runc then stops the container) and
// lifehook.io/post-stop (at poststop: on the host; the caller only logs its failure).
#pragma once

#include "annotations.hpp"
#include "budget.hpp"
#include "engine.hpp"
#include "hook_log.hpp"
#include "oci_input.hpp"

namespace ocihook {

// Throws HookError naming the handler and why it failed.
void run_post_start(Engine& engine, const HandlerEntry& entry, const OciState& state, const BundleConfig* config,
                    const Budget& budget, HookLog& log);
void run_post_stop(Engine& engine, const HandlerEntry& entry, const Budget& budget, HookLog& log);

}  // namespace ocihook

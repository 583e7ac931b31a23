// lifehook.io/wait-for: what init containers do for a pod, for one OCI container. The handlers
// run in order in the runtime's namespaces, each retried every period until it succeeds; the
// whole list must succeed within wait-for-timeout and within the hook's own budget, or the hook
// fails and the runtime does not start the container.
#pragma once

#include "annotations.hpp"
#include "budget.hpp"
#include "engine.hpp"
#include "hook_log.hpp"

namespace ocihook {

// Returns when every handler succeeded; throws HookError naming the handler that did not.
void run_wait_for(Engine& engine, const Annotations& ann, const Budget& budget, HookLog& log);

}  // namespace ocihook

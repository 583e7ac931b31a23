// What a live update (lifehook_pod_update) may change on a pod that was created, and what it may
// not. The API server's ValidatePodUpdate lets only a container's image, activeDeadlineSeconds
// (set, or shortened) and tolerations change; the kubelet restarts any container whose definition
// (its hash) changed. lifehook has no API server in front of it and the process driver's "image"
// is the command, so the rule here is per container:
//   - a container's (or init container's) definition may change in every field but its name and,
//     for an init container, its restartPolicy (which makes it a sidecar or not): command, args,
//     env, image, workingDir, ports, lifecycle, probes, securityContext ... The engine restarts a
//     running regular container or sidecar whose definition changed (Lifecycle::update);
//   - containers may not be added, removed, renamed or reordered;
//   - spec.activeDeadlineSeconds may be set, or shortened (not removed, not lengthened:
//     "must be less than or equal to previous value");
//   - every other spec field (restartPolicy, terminationGracePeriodSeconds, readinessGates, ...)
//     and metadata.name/namespace/uid may not change.
// A rejected update names the field path; nothing of it is applied.
#pragma once

#include "spec.hpp"

namespace lifehook::pod {

// Throws Error(LIFEHOOK_E_INVALID, "<path>: <why>") for the first change `next` may not make to a
// pod running `current`. A `next` without metadata.uid gets current's.
void check_update(const PodSpec& current, PodSpec& next);

}  // namespace lifehook::pod

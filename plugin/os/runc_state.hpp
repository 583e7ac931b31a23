// The runtime's state of a container: runc's <root>/<id>/state.json ("init_process_pid") or crun's
// <root>/<id>/status ("pid"), where the oci driver learns the pid of a container's init and the
// "runtime" exec mode finds the container a pid belongs to. The file belongs to the
// runtime, and to whoever may write into its root: it is read as a regular file within a bound,
// never blocking on a FIFO or reading a device without end (common/regular_file.hpp), and parsed
// within the JSON bounds (common/bounded_json.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace lifehook {

// runc's state holds the container's whole config.json: the bound of every OCI config.
inline constexpr size_t kMaxRuncStateBytes = size_t{4} << 20;

// The init pid recorded in the state file `path`; nullopt while the runtime has not recorded one
// (no file or no directory yet, a document that is not complete JSON, no positive
// init_process_pid). Throws FileReadError when the file is refused: not a regular file (a FIFO, a
// device, a directory), larger than kMaxRuncStateBytes, or unreadable.
std::optional<int> runc_init_pid(const std::string& path);

// The init pid of the container whose state directory is `dir` (<root>/<id>), from runc's state.json
// or, when there is none, crun's status file (same bounds, same refusals, same nullopt while not written).
std::optional<int> oci_init_pid(const std::string& dir);

}  // namespace lifehook

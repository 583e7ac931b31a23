// Files that must survive a crash of their writer at any instant: a pod's persisted state
// (lifehook_pod_adopt reads it back) and the exit record of a container's monitor. A reader sees
// the old complete document or the new complete one, never a torn mix: the new text goes to a
// temporary file in the same directory, is fsync'ed, renamed over the old name (atomic on every
// POSIX file system), and the directory is fsync'ed so that the rename itself is durable. A
// writer killed before the rename leaves the old file plus a stale temporary, which the next
// write replaces.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lifehook {

// Replaces `path` by `text` atomically (see above). `text` longer than `max_bytes` is refused
// before anything is written. Throws FileReadError (common/regular_file.hpp) naming the step that
// failed; the old file is then left as it was.
void write_file_atomically(const std::string& path, std::string_view text, size_t max_bytes);

// The content of `path`, read as a regular file within `max_bytes`; nullopt when it does not
// exist. Throws FileReadError for anything else (not a regular file, too large, unreadable).
std::optional<std::string> read_file_if_exists(const std::string& path, size_t max_bytes);

}  // namespace lifehook

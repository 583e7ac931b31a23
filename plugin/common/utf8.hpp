// Bytes made safe for JSON text (results, messages): what is not UTF-8 becomes U+FFFD.
#pragma once

#include <string>
#include <string_view>

namespace lifehook {

// What becomes of a sequence that the end of the bytes cuts short (a size cap in the middle of a
// character): Replace with U+FFFD as any invalid byte, or Drop it, with whatever follows its
// first byte (the exec handler's capped output ends on a whole character).
enum class CutTail { Replace, Drop };

// Invalid UTF-8 (bad lead or continuation bytes, overlong forms, surrogates, past U+10FFFF)
// becomes U+FFFD, one per byte that starts no valid sequence.
std::string utf8_excerpt(std::string_view bytes, CutTail tail = CutTail::Replace);

}  // namespace lifehook

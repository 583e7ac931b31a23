#include "grpc_wire.hpp"

#include <strings.h>

#include <algorithm>
#include <iterator>

namespace lifehook::grpc_wire {

namespace {

// Protobuf wire types (protobuf.dev/programming-guides/encoding).
constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Reads a varint at `pos`; false when it is truncated or longer than 10 bytes.
bool get_varint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 70 && pos < in.size(); shift += 7) {
    auto b = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

uint32_t big_endian32(std::string_view b) {
  return static_cast<uint32_t>(static_cast<unsigned char>(b[0])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[3]));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string health_check_request(std::string_view service) {
  std::string message;
  if (!service.empty()) {
    message += static_cast<char>(1 << 3 | kLengthDelimited);  // field 1, string
    put_varint(message, service.size());
    message.append(service);
  }
  std::string frame;
  frame.reserve(kFrameHeaderBytes + message.size());
  frame += '\0';  // not compressed
  auto n = static_cast<uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8) frame += static_cast<char>((n >> shift) & 0xff);
  return frame + message;
}

std::string serving_status_name(int64_t status) {
  switch (status) {
    case kUnknown: return "UNKNOWN";
    case kServing: return "SERVING";
    case kNotServing: return "NOT_SERVING";
    case kServiceUnknown: return "SERVICE_UNKNOWN";
    default: return std::to_string(status);
  }
}

std::optional<int64_t> parse_health_check_response(std::string_view message) {
  int64_t status = kUnknown;
  size_t pos = 0;
  while (pos < message.size()) {
    uint64_t key = 0;
    if (!get_varint(message, pos, key)) return std::nullopt;
    uint64_t field = key >> 3;
    int type = static_cast<int>(key & 7);
    if (field == 0) return std::nullopt;
    uint64_t v = 0;
    switch (type) {
      case kVarint:
        if (!get_varint(message, pos, v)) return std::nullopt;
        if (field == 1) status = static_cast<int32_t>(static_cast<uint32_t>(v));  // enums are int32
        break;
      case kFixed64:
      case kFixed32: {
        size_t n = type == kFixed64 ? 8 : 4;
        if (message.size() - pos < n) return std::nullopt;
        pos += n;
        break;
      }
      case kLengthDelimited:
        if (!get_varint(message, pos, v) || v > message.size() - pos) return std::nullopt;
        pos += static_cast<size_t>(v);
        break;
      default: return std::nullopt;  // groups (3, 4) and reserved types: not in a proto3 message
    }
    if (field == 1 && type != kVarint) return std::nullopt;
  }
  return status;
}

ResponseMessage read_response_message(std::string_view body, size_t max_message) {
  ResponseMessage r;
  if (body.empty()) return r;
  if (body.size() < kFrameHeaderBytes) {
    r.kind = ResponseMessage::kTruncated;
    return r;
  }
  r.length = big_endian32(body.substr(1, 4));
  if (body[0] != '\0') {
    r.kind = ResponseMessage::kCompressed;
    return r;
  }
  if (r.length > max_message) {
    r.kind = ResponseMessage::kTooLarge;
    return r;
  }
  size_t available = body.size() - kFrameHeaderBytes;
  if (available < r.length) {
    r.kind = ResponseMessage::kTruncated;
    return r;
  }
  r.message = body.substr(kFrameHeaderBytes, static_cast<size_t>(r.length));
  r.kind = available == r.length ? ResponseMessage::kMessage : ResponseMessage::kExtra;
  return r;
}

std::string timeout_header(int64_t ms) {
  constexpr int64_t kMax = 99999999;  // "TimeoutValue → {positive integer as ASCII string of at most 8 digits}"
  if (ms < 1) ms = 1;
  if (ms <= kMax) return std::to_string(ms) + "m";
  int64_t s = (ms + 999) / 1000;
  if (s <= kMax) return std::to_string(s) + "S";
  int64_t m = (s + 59) / 60;
  if (m <= kMax) return std::to_string(m) + "M";
  return std::to_string(std::min<int64_t>((m + 59) / 60, kMax)) + "H";
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string status_code_name(int64_t code) {
  static constexpr const char* names[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < static_cast<int64_t>(std::size(names))) return names[code];
  return "Code(" + std::to_string(code) + ")";
}

int64_t status_from_http(long http_status) {
  switch (http_status) {
    case 400: return kInternal;
    case 401: return 16;  // Unauthenticated
    case 403: return 7;   // PermissionDenied
    case 404: return kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504: return 14;  // Unavailable
    default: return kUnknownCode;
  }
}

std::string http_status_error(long http_status) {
  static constexpr std::pair<long, const char*> texts[] = {{400, "Bad Request"},
                                                           {401, "Unauthorized"},
                                                           {403, "Forbidden"},
                                                           {404, "Not Found"},
                                                           {405, "Method Not Allowed"},
                                                           {415, "Unsupported Media Type"},
                                                           {429, "Too Many Requests"},
                                                           {500, "Internal Server Error"},
                                                           {501, "Not Implemented"},
                                                           {502, "Bad Gateway"},
                                                           {503, "Service Unavailable"},
                                                           {504, "Gateway Timeout"},
                                                           {505, "HTTP Version Not Supported"}};
  std::string s = "unexpected HTTP status code received from server: " + std::to_string(http_status);
  for (const auto& [code, text] : texts)
    if (code == http_status) s += std::string(" (") + text + ")";
  return s;
}

bool is_grpc_content_type(std::string_view ct) {
  constexpr std::string_view kBase = "application/grpc";
  if (ct.size() < kBase.size() || strncasecmp(ct.data(), kBase.data(), kBase.size()) != 0) return false;
  return ct.size() == kBase.size() || ct[kBase.size()] == '+' || ct[kBase.size()] == ';';
}

std::string go_duration(int64_t ms) {
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac) {
    std::string f = std::to_string(frac);
    f = std::string(3 - f.size(), '0') + f;
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

}  // namespace lifehook::grpc_wire

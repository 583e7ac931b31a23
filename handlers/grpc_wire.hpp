// The bytes of one grpc.health.v1.Health/Check call, without a gRPC runtime: the protobuf
// HealthCheckRequest/HealthCheckResponse (grpc/grpc src/proto/grpc/health/v1/health.proto), the
// 5-byte length-prefixed message framing, and the header values of the gRPC-over-HTTP/2
// protocol (grpc/grpc doc/PROTOCOL-HTTP2.md: grpc-timeout, grpc-status, grpc-message). Pure
// functions: the transfer (grpc_call.*) moves these bytes, the run (grpc_health.cpp) decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lifehook::grpc_wire {

// The request path of the health check RPC.
inline constexpr std::string_view kHealthCheckPath = "/grpc.health.v1.Health/Check";

// A gRPC message on the wire: 1 byte compressed flag, 4 bytes big-endian length, the message.
inline constexpr size_t kFrameHeaderBytes = 5;

// HealthCheckRequest{service = 1 (string)} as one uncompressed gRPC message. An empty service
// (the server as a whole) is the empty message, as proto3 omits default values.
std::string health_check_request(std::string_view service);

// HealthCheckResponse.ServingStatus.
enum ServingStatus : int64_t { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
// The enum's name as Go's String() prints it ("SERVING", "NOT_SERVING"; other values as numbers).
std::string serving_status_name(int64_t status);

// Parses a HealthCheckResponse message (without its frame). Unknown fields are skipped, the last
// `status` wins, a missing one is UNKNOWN (proto3). nullopt when the bytes are not a valid message.
std::optional<int64_t> parse_health_check_response(std::string_view message);

// The outcome of reading the response body as gRPC messages of at most `max_message` bytes.
struct ResponseMessage {
  enum Kind {
    kMessage,     // exactly one uncompressed message: `message`
    kNone,        // the body is empty
    kCompressed,  // the compressed flag is set (we never offer an encoding)
    kTooLarge,    // its length exceeds max_message: `length`
    kTruncated,   // the body ends inside a frame
    kExtra,       // bytes follow the first message (a unary response has one)
  } kind = kNone;
  std::string_view message;
  uint64_t length = 0;
};
ResponseMessage read_response_message(std::string_view body, size_t max_message);

// The grpc-timeout header value for a deadline in milliseconds: at most 8 digits and a unit
// ("1000m", "100000S"), rounded up so the server never sees a shorter deadline than ours.
std::string timeout_header(int64_t ms);

// grpc-message values are percent-encoded (PROTOCOL-HTTP2.md); malformed escapes stay as sent.
std::string percent_decode(std::string_view s);

// The status code's name as grpc-go's codes.Code.String() prints it ("NotFound", "Code(99)").
std::string status_code_name(int64_t code);

// gRPC status codes the health check distinguishes.
inline constexpr int64_t kOk = 0;
inline constexpr int64_t kDeadlineExceeded = 4;
inline constexpr int64_t kNotFound = 5;
inline constexpr int64_t kResourceExhausted = 8;
inline constexpr int64_t kUnimplemented = 12;
inline constexpr int64_t kInternal = 13;
inline constexpr int64_t kUnknownCode = 2;

// The status a client derives from a response that is not gRPC: the HTTP status mapped as
// grpc/grpc doc/http-grpc-status-mapping.md (and grpc-go's httpStatusConvTab) does.
int64_t status_from_http(long http_status);
// grpc-go's description of a non-200 HTTP status: "unexpected HTTP status code received from
// server: 404 (Not Found)".
std::string http_status_error(long http_status);
// True for "application/grpc", "application/grpc+proto", "application/grpc; charset=..." (any case).
bool is_grpc_content_type(std::string_view content_type);

// A Go time.Duration's String() for whole milliseconds: "1s", "500ms", "1.5s", "2m0s".
std::string go_duration(int64_t ms);

}  // namespace lifehook::grpc_wire

// The gRPC health check's bytes and header values (handlers/grpc_wire.*), checked against the
// protobuf encoding rules and grpc/grpc doc/PROTOCOL-HTTP2.md by hand-written expectations.
#include "handlers/grpc_wire.hpp"

#include <gtest/gtest.h>

using namespace lifehook::grpc_wire;
using namespace std::string_literals;

TEST(GrpcWire, RequestIsOneUncompressedLengthPrefixedMessage) {
  EXPECT_EQ(health_check_request(""), "\0\0\0\0\0"s);  // proto3 leaves out the empty string
  EXPECT_EQ(health_check_request("svc"), "\0\0\0\0\x05\x0a\x03svc"s);
  // A 200-byte name needs a two-byte varint length: 200 = 0xC8 0x01.
  std::string name(200, 'n');
  std::string frame = health_check_request(name);
  ASSERT_EQ(frame.size(), 5u + 3u + 200u);
  EXPECT_EQ(frame.substr(0, 8), "\0\0\0\0\xcb\x0a\xc8\x01"s);  // length 203 big-endian
  EXPECT_EQ(frame.substr(8), name);
  // 70000 bytes: a three-byte varint and a length above 65535 in the frame header.
  frame = health_check_request(std::string(70000, 'x'));
  EXPECT_EQ(frame.substr(0, 9), "\0\x00\x01\x11\x74\x0a\xf0\xa2\x04"s);  // 70004 = 0x011174
}

TEST(GrpcWire, ResponseStatusIsFieldOneAsAVarint) {
  EXPECT_EQ(parse_health_check_response("\x08\x01"s), kServing);
  EXPECT_EQ(parse_health_check_response("\x08\x02"s), kNotServing);
  EXPECT_EQ(parse_health_check_response("\x08\x03"s), kServiceUnknown);
  EXPECT_EQ(parse_health_check_response(""s), kUnknown);                     // proto3 default
  EXPECT_EQ(parse_health_check_response("\x08\x01\x08\x02"s), kNotServing);  // the last one wins
  // Unknown fields of every wire type are skipped.
  EXPECT_EQ(parse_health_check_response("\x12\x02"
                                        "ab"
                                        "\x18\x96\x01"
                                        "\x21"
                                        "12345678"
                                        "\x2d"
                                        "1234"
                                        "\x08\x01"s),
            kServing);
  // An enum is an int32: negative values come as ten-byte varints; values we do not know stay numbers.
  EXPECT_EQ(parse_health_check_response("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s), -1);
  EXPECT_EQ(parse_health_check_response("\x08\x07"s), 7);
  EXPECT_EQ(serving_status_name(7), "7");
  EXPECT_EQ(serving_status_name(kNotServing), "NOT_SERVING");
  EXPECT_EQ(serving_status_name(kServiceUnknown), "SERVICE_UNKNOWN");
}

TEST(GrpcWire, MalformedResponsesAreRejected) {
  EXPECT_FALSE(parse_health_check_response("\x08"s));       // value missing
  EXPECT_FALSE(parse_health_check_response("\x08\x80"s));   // varint cut short
  EXPECT_FALSE(parse_health_check_response("\x0a\x01x"s));  // status as a string
  EXPECT_FALSE(
      parse_health_check_response("\x12\x05"
                                  "ab"s));                 // length past the end
  EXPECT_FALSE(parse_health_check_response("\x0b\x0c"s));  // a group
  EXPECT_FALSE(parse_health_check_response("\x00\x01"s));  // field number 0
  EXPECT_FALSE(
      parse_health_check_response("\x21"
                                  "123"s));                                              // fixed64 cut short
  EXPECT_FALSE(parse_health_check_response("\x08" + std::string(10, '\xff') + "\x01"));  // 11-byte varint
  EXPECT_FALSE(parse_health_check_response("\xff\xff\xff"s));
}

TEST(GrpcWire, ResponseFramingIsBoundedAndUnary) {
  using K = ResponseMessage;
  EXPECT_EQ(read_response_message("", 100).kind, K::kNone);
  EXPECT_EQ(read_response_message("\0\0\0"s, 100).kind, K::kTruncated);
  const std::string framed = "\0\0\0\0\x02\x08\x01"s;  // the message is a view into its input
  auto one = read_response_message(framed, 100);
  EXPECT_EQ(one.kind, K::kMessage);
  EXPECT_EQ(one.message, "\x08\x01"s);
  EXPECT_EQ(read_response_message("\0\0\0\0\x00"s, 100).kind, K::kMessage);  // the empty message
  EXPECT_EQ(read_response_message("\0\0\0\0\x03\x08\x01"s, 100).kind, K::kTruncated);
  EXPECT_EQ(read_response_message("\0\0\0\0\x02\x08\x01\0"s, 100).kind, K::kExtra);
  EXPECT_EQ(read_response_message("\x01\0\0\0\x02\x08\x01"s, 100).kind, K::kCompressed);
  auto big = read_response_message("\0\x00\x01\x00\x04"s, 10240);  // claims 65540 bytes
  EXPECT_EQ(big.kind, K::kTooLarge);
  EXPECT_EQ(big.length, 65540u);
  EXPECT_EQ(read_response_message("\0\xff\xff\xff\xff"s, 10240).length, 0xffffffffu);
}

TEST(GrpcWire, TimeoutHeaderHasAtMostEightDigitsAndRoundsUp) {
  EXPECT_EQ(timeout_header(1000), "1000m");
  EXPECT_EQ(timeout_header(0), "1m");
  EXPECT_EQ(timeout_header(99999999), "99999999m");
  EXPECT_EQ(timeout_header(100000000), "100000S");
  EXPECT_EQ(timeout_header(100000001), "100001S");
  EXPECT_EQ(timeout_header(1000000000000), "16666667M");
}

TEST(GrpcWire, StatusMessagesArePercentDecoded) {
  EXPECT_EQ(percent_decode("unknown%20service"), "unknown service");
  EXPECT_EQ(percent_decode("%E2%9C%93 ok"), "\xe2\x9c\x93 ok");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

TEST(GrpcWire, NamesAndMappingsAsGrpcGo) {
  EXPECT_EQ(status_code_name(0), "OK");
  EXPECT_EQ(status_code_name(5), "NotFound");
  EXPECT_EQ(status_code_name(12), "Unimplemented");
  EXPECT_EQ(status_code_name(16), "Unauthenticated");
  EXPECT_EQ(status_code_name(99), "Code(99)");
  EXPECT_EQ(status_from_http(404), kUnimplemented);
  EXPECT_EQ(status_from_http(503), 14);
  EXPECT_EQ(status_from_http(200), kUnknownCode);
  EXPECT_EQ(status_from_http(418), kUnknownCode);
  EXPECT_EQ(http_status_error(404), "unexpected HTTP status code received from server: 404 (Not Found)");
  EXPECT_EQ(http_status_error(299), "unexpected HTTP status code received from server: 299");
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC+proto"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc;charset=utf-8"));
  EXPECT_FALSE(is_grpc_content_type("application/grpcx"));
  EXPECT_FALSE(is_grpc_content_type("text/html"));
  EXPECT_FALSE(is_grpc_content_type(""));
}

TEST(GrpcWire, DurationsPrintAsGo) {
  EXPECT_EQ(go_duration(1000), "1s");
  EXPECT_EQ(go_duration(500), "500ms");
  EXPECT_EQ(go_duration(1500), "1.5s");
  EXPECT_EQ(go_duration(1050), "1.05s");
  EXPECT_EQ(go_duration(120000), "2m0s");
  EXPECT_EQ(go_duration(3723500), "1h2m3.5s");
  EXPECT_EQ(go_duration(0), "0s");
}

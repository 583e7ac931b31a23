// PLACEHOLDER — replaced by the httpGet implementation.
#include "curl_multi.hpp"

namespace lifehook {
struct CurlMulti::Impl {};
CurlMulti::CurlMulti(boost::asio::io_context&, spdlog::logger&) {}
CurlMulti::~CurlMulti() = default;
void CurlMulti::shutdown() {}
}  // namespace lifehook

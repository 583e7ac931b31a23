// Building an httpGet request the way the kubelet does (pkg/probe/http/request.go): the URL
// through libcurl's URL API (never string concatenation, kubernetes#56770), and the header
// set — User-Agent and Accept defaults, the Host header as the virtual host, repeats kept.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "../plugin/common/utf8.hpp"  // utf8_excerpt: body excerpts made safe for JSON
#include "handler.hpp"

namespace lifehook {

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// scheme://host:port/path?query from the spec's parts (`path` as given in the spec, may carry
// "?query"; a "#fragment" is dropped). IPv6 literals are bracketed. Throws Error(INVALID) naming
// `json_path` when curl rejects a part.
CurlUrl build_url(bool https, const std::string& host, int port, const std::string& path, const std::string& json_path);

// Reads one part of a URL ("" when absent).
std::string url_part(const CURLU* url, CURLUPart part);
std::string url_text(const CURLU* url);

// The default User-Agent for this context and purpose: options.user_agent, else
// kube-probe/1.35 or kube-lifecycle/1.35 with kubeletCompat, else lifehook/<version>.
std::string default_user_agent(const HandlerOptions& options, Purpose purpose);

struct HeaderPlan {
  std::vector<std::string> lines;  // curl "Name: value" / "Name;" (empty value) / "Name:" (remove)
  std::string user_agent;          // CURLOPT_USERAGENT ("" when a header line decides it)
};

// The headers of one attempt. `keep_host` false drops a custom Host header (a redirect to an
// absolute Location, as Go does); `drop_authorization` for the HTTPS→HTTP fallback.
HeaderPlan plan_headers(const std::vector<HttpHeader>& headers, const HandlerOptions& options, Purpose purpose,
                        bool keep_host, bool drop_authorization);

}  // namespace lifehook

#include "http_request.hpp"

#include <strings.h>

#include "../plugin/common/errors.hpp"
#include "lifehook/lifehook.h"

namespace lifehook {

namespace {

bool iequals(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

// Bytes outside printable ASCII are sent percent-encoded, as Go's URL.String() does; everything
// else (including existing %XX escapes) is passed through untouched.
std::string encode_non_ascii(const std::string& s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x80) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void set_part(CURLU* u, CURLUPart part, const std::string& value, const std::string& json_path, const char* what) {
  CURLUcode rc = curl_url_set(u, part, value.c_str(), 0);
  if (rc != CURLUE_OK)
    throw_invalid(json_path, std::string("is not a valid URL ") + what + ": " + curl_url_strerror(rc), value);
}

}  // namespace

CurlUrl build_url(bool https, const std::string& host, int port, const std::string& path,
                  const std::string& json_path) {
  CurlUrl url(curl_url());
  if (!url) throw std::bad_alloc();
  set_part(url.get(), CURLUPART_SCHEME, https ? "https" : "http", json_path, "scheme");
  std::string h = host;
  if (h.find(':') != std::string::npos && h.front() != '[') {  // IPv6 literal; a zone id's '%' is escaped
    std::string zoned;
    for (char c : h) zoned += c == '%' ? std::string("%25") : std::string(1, c);
    h = "[" + zoned + "]";
  }
  set_part(url.get(), CURLUPART_HOST, h, json_path + ".host", "host");
  set_part(url.get(), CURLUPART_PORT, std::to_string(port), json_path + ".port", "port");
  std::string p = path.substr(0, path.find('#'));
  size_t q = p.find('?');
  set_part(url.get(), CURLUPART_PATH, encode_non_ascii(p.substr(0, q)), json_path + ".path", "path");
  if (q != std::string::npos && q + 1 < p.size())
    set_part(url.get(), CURLUPART_QUERY, encode_non_ascii(p.substr(q + 1)), json_path + ".path", "query");
  return url;
}

std::string url_part(const CURLU* url, CURLUPart part) {
  char* s = nullptr;
  if (curl_url_get(const_cast<CURLU*>(url), part, &s, 0) != CURLUE_OK || !s) return {};
  std::string out(s);
  curl_free(s);
  return out;
}

std::string url_text(const CURLU* url) { return url_part(url, CURLUPART_URL); }

std::string default_user_agent(const HandlerOptions& options, Purpose purpose) {
  if (!options.user_agent.empty()) return options.user_agent;
  if (options.kubelet_compat)  // request.go: fmt.Sprintf("kube-%s/%s.%s", purpose, major, minor)
    return purpose == Purpose::PostStart || purpose == Purpose::PreStop ? "kube-lifecycle/1.35" : "kube-probe/1.35";
  return std::string("lifehook/") + LIFEHOOK_VERSION_STRING;
}

HeaderPlan plan_headers(const std::vector<HttpHeader>& headers, const HandlerOptions& options, Purpose purpose,
                        bool keep_host, bool drop_authorization) {
  HeaderPlan plan;
  bool has_accept = false, has_user_agent = false, has_host = false, has_connection = false;
  for (const auto& h : headers) {
    if (iequals(h.name, "Host")) {
      // req.Host = headers.Get("Host"): the first value is the virtual host, an empty one none.
      if (has_host || !keep_host || h.value.empty()) continue;
      has_host = true;
    } else if (iequals(h.name, "User-Agent")) {
      if (has_user_agent) continue;  // Go writes only the first User-Agent value
      has_user_agent = true;
      if (h.value.empty()) {  // Go sends no User-Agent at all for an empty value
        plan.lines.push_back("User-Agent:");
        continue;
      }
    } else if (iequals(h.name, "Accept")) {
      if (h.value.empty()) {  // an explicitly empty Accept removes it (request.go)
        if (!has_accept) plan.lines.push_back("Accept:");
        has_accept = true;
        continue;
      }
      has_accept = true;
    } else if (iequals(h.name, "Authorization")) {
      if (drop_authorization) continue;
    } else if (iequals(h.name, "Connection")) {
      has_connection = true;
    }
    // curl syntax: "Name;" sends a header with an empty value ("Name:" would remove it).
    plan.lines.push_back(h.value.empty() ? h.name + ";" : h.name + ": " + h.value);
  }
  if (!has_accept) plan.lines.push_back("Accept: */*");
  // DisableKeepAlives in the kubelet's transport puts "Connection: close" on every request.
  if (!has_connection) plan.lines.push_back("Connection: close");
  if (!has_user_agent) plan.user_agent = default_user_agent(options, purpose);
  return plan;
}

}  // namespace lifehook

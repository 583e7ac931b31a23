#include "curl_easy.hpp"

#include <new>

namespace lifehook {

ProbeEasy::ProbeEasy(const Settings& settings, Callbacks callbacks, CurlMulti& multi)
    : multi_(multi), user_agent_(settings.user_agent) {
  easy_ = multi.take_easy();  // a fresh handle's settings: new, or reset after an earlier transfer
  if (!easy_) throw std::bad_alloc();
  for (const auto& line : settings.header_lines) {
    curl_slist* next = curl_slist_append(header_list_, line.c_str());
    if (!next) {
      curl_slist_free_all(header_list_);
      multi.give_back(easy_);
      throw std::bad_alloc();
    }
    header_list_ = next;
  }
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are the handler's policy (http_get.cpp)
  curl_easy_setopt(easy_, CURLOPT_PROXY, "");
  curl_easy_setopt(easy_, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_);
  if (!user_agent_.empty()) curl_easy_setopt(easy_, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, callbacks.on_body);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, callbacks.data);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, callbacks.on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, callbacks.data);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
  sockets_.netns = settings.netns;
  multi.configure_sockets(easy_, &sockets_);
}

ProbeEasy::~ProbeEasy() {
  multi_.give_back(easy_);  // out of the multi by now (CurlMulti's contract)
  curl_slist_free_all(header_list_);
}

std::string ProbeEasy::error_text(CURLcode rc) const {
  std::string s = curl_easy_strerror(rc);
  if (error_[0]) {
    std::string detail(error_);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    s += ": " + detail;
  }
  return s;
}

}  // namespace lifehook

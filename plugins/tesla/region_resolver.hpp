// RegionResolver: which regional Fleet API host serves one account. Asked once through
// GET /api/1/users/region (any region answers) and cached; a 421 elsewhere either names the
// right host (Alt-Svc / error text: adopted at once) or makes the next call ask again.
#ifndef OEMLINK_TESLA_REGION_RESOLVER_HPP
#define OEMLINK_TESLA_REGION_RESOLVER_HPP

#include "fleet_api_status.hpp"
#include "tesla_settings.hpp"

#include <oemlink/driver.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace oemlink::tesla {

// Whether `url` (from a region answer or a 421) may receive this account's bearer token: it must
// be "scheme://host[:port][/path]" with nothing else (no userinfo, query or fragment), https
// unless the configured base `configured` is http (a local mock), and name either the configured
// base's host or a host under Tesla's own domains (tesla.com, tesla.cn). Anything else would send
// the token wherever an answer (or whoever forged it) points.
bool region_base_url_allowed(std::string_view url, std::string_view configured);

class RegionResolver : public std::enable_shared_from_this<RegionResolver> {
 public:
  using Callback = std::function<void(const ApiOutcome& outcome, const std::string& base_url)>;

  RegionResolver(Host host, std::shared_ptr<const TeslaSettings> settings, std::string account);
  // The cached base URL, or one discovery with `access_token` (waiters share it).
  void resolve(const std::string& access_token, Callback cb);
  // After a 421: adopt `base_url` when the answer named one, else forget the cached one.
  void redirect(const std::string& base_url);
  std::string cached() const;

 private:
  void on_answer(const HttpResponse& r);

  Host host_;
  std::shared_ptr<const TeslaSettings> settings_;
  std::string account_;
  mutable std::mutex mu_;
  std::string base_url_;
  bool asking_ = false;
  std::vector<Callback> waiters_;
};

}  // namespace oemlink::tesla

#endif

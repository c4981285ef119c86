#include "core/cli/known_connections.hpp"

#include "core/common/data_dir.hpp"
#include "core/store/connection_store.hpp"

#include <filesystem>
#include <memory>

namespace oemlink::cli {
namespace {

KnownConnection from_yaml(const config::ConnectionConfig& c) {
  KnownConnection k;
  k.id = c.id;
  k.driver = c.driver;
  k.key_child = c.key_child;
  k.vehicle_token_id = c.vehicle_token_id;
  k.synthetic_token_id = c.synthetic_token_id;
  return k;
}

KnownConnection from_row(const store::StoredConnection& r) {
  KnownConnection k;
  k.id = r.id;
  k.driver = r.driver;
  k.key_child = r.key_child;
  k.vehicle_token_id = r.vehicle_token_id;
  k.synthetic_token_id = r.synthetic_token_id;
  k.state = r.state;
  k.source = r.source;
  return k;
}

// The store when it exists; never created here (a missing file is a deployment that has not run).
std::unique_ptr<store::ConnectionStore> open_existing_store(const config::Config& cfg) {
  const std::filesystem::path db = DataDir(cfg.data_dir).connections_db();
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) return nullptr;
  return std::make_unique<store::ConnectionStore>(db);
}

}  // namespace

void for_each_known_connection(const config::Config& cfg,
                               const std::function<bool(const KnownConnection&)>& fn) {
  auto store = open_existing_store(cfg);
  if (store) {
    bool go_on = true;
    store->for_each([&](const store::StoredConnection& r) { return go_on = fn(from_row(r)); });
    if (!go_on) return;
  }
  for (const config::ConnectionConfig& c : cfg.connections)
    if (!store || !store->get(c.id))
      if (!fn(from_yaml(c))) return;
}

std::optional<KnownConnection> find_known_connection(const config::Config& cfg,
                                                     std::string_view id) {
  if (auto store = open_existing_store(cfg))
    if (auto row = store->get(id)) return from_row(*row);
  for (const config::ConnectionConfig& c : cfg.connections)
    if (c.id == id) return from_yaml(c);
  return std::nullopt;
}

std::string known_connections_source(const config::Config& cfg) {
  const std::filesystem::path db = DataDir(cfg.data_dir).connections_db();
  std::error_code ec;
  if (std::filesystem::exists(db, ec)) return db.string() + " and " + cfg.source.string();
  return cfg.source.string();
}

}  // namespace oemlink::cli

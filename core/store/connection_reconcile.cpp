// ConnectionStore::reconcile_config: the YAML's connections merged into the store at start.
#include "core/common/json_string.hpp"
#include "core/config/config.hpp"
#include "core/store/connection_store.hpp"
#include "core/store/connection_store_impl.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <string_view>
#include <vector>

namespace oemlink::store {
namespace {

using connection_db::BulkWriteCache;
using connection_db::guarded;
using connection_db::utc_time;

}  // namespace

ReconcileReport ConnectionStore::reconcile_config(std::span<const config::ConnectionConfig> yaml,
                                                  int64_t now_ms, bool list_ids) {
  return guarded([&] {
    ReconcileReport report;
    // The table is read once, in its own (rowid) order, so pages are visited sequentially even
    // when a million rows do not fit SQLite's cache; each row finds its YAML entry by binary
    // search in an index sorted by id. Nothing of the table is kept but the row numbers to
    // change.
    std::vector<uint32_t> order(yaml.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return yaml[a].id < yaml[b].id; });
    enum Fate : uint8_t { kNew, kSeen, kTwice };
    std::vector<Fate> fate(yaml.size(), kNew);
    // The config loader refuses a repeated id; a caller that did not load through it still
    // gets one row per id (the first listed).
    if (std::adjacent_find(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
          return yaml[a].id == yaml[b].id;
        }) != order.end()) {
      std::vector<uint32_t> unique;
      unique.reserve(order.size());
      for (uint32_t i : order) {
        if (!unique.empty() && yaml[unique.back()].id == yaml[i].id) {
          fate[i] = kTwice;
          continue;
        }
        unique.push_back(i);
      }
      order.swap(unique);
      for (uint32_t i = 0; i < yaml.size(); ++i) {
        if (fate[i] != kTwice) continue;
        report.refused.push_back(yaml[i].id + ": listed twice in the config");
        report.refused_at.push_back(i);
      }
    }
    auto find_yaml = [&](std::string_view id) -> const uint32_t* {
      auto it = std::lower_bound(
          order.begin(), order.end(), id,
          [&](uint32_t i, std::string_view v) { return std::string_view(yaml[i].id) < v; });
      return it != order.end() && yaml[*it].id == id ? &*it : nullptr;
    };

    std::lock_guard lock(impl_->write_mu);
    Db& db = *impl_->writer;
    Transaction tx(db);
    std::vector<int64_t> deletes;                       // rowids
    std::vector<std::pair<uint32_t, int64_t>> updates;  // YAML index, rowid
    {
      Stmt scan(db,
                "SELECT rowid, id, source, state, changed_ms, driver, vin, identifiers_json,"
                " vehicle_token_id, synthetic_token_id, key_child, poll_interval_ms"
                " FROM connections");
      while (scan.step()) {
        std::string_view source = scan.text_view(2);
        std::string_view state = scan.text_view(3);
        const uint32_t* found = find_yaml(scan.text_view(1));
        if (found == nullptr) {
          // Not in the YAML. A revoked row stays, so its id can never be brought back.
          if (source == "config" && state != "revoked") {
            deletes.push_back(scan.integer(0));
            if (list_ids) report.removed_ids.push_back(scan.text(1));
          }
          continue;
        }
        const uint32_t at = *found;
        fate[at] = kSeen;
        const config::ConnectionConfig& cc = yaml[at];
        if (source != "config") {
          report.refused.push_back(cc.id + ": the id belongs to a " + std::string(source) +
                                   " connection (" + std::string(state) +
                                   "); give the YAML connection another id");
          report.refused_at.push_back(at);
          continue;
        }
        if (state == "revoked") {
          report.refused.push_back(cc.id + ": revoked at " + utc_time(scan.integer(4)) +
                                   ": remove it from the config");
          report.refused_at.push_back(at);
          continue;
        }
        int64_t poll_ms = cc.poll_interval ? cc.poll_interval->count() : 0;
        bool same = scan.text_view(5) == cc.driver && scan.text_view(6) == cc.vin &&
                    scan.integer(10) == int64_t{cc.key_child} &&
                    (scan.is_null(11) ? 0 : scan.integer(11)) == poll_ms &&
                    (cc.vehicle_token_id == 0 ||
                     scan.integer(8) == static_cast<int64_t>(cc.vehicle_token_id)) &&
                    (cc.synthetic_token_id == 0 ||
                     scan.integer(9) == static_cast<int64_t>(cc.synthetic_token_id)) &&
                    scan.text_view(7) == json_object_of(cc.identifiers);
        if (same)
          ++report.unchanged;
        else
          updates.emplace_back(at, scan.integer(0));
      }
    }
    order.clear();
    order.shrink_to_fit();
    // The scan reads pages in order and needs no cache; the writes below may.
    BulkWriteCache cache(db, deletes.size() + updates.size() +
                                 static_cast<size_t>(std::count(fate.begin(), fate.end(), kNew)));

    // Removals first: a VIN or key child they free may be taken by an insert below.
    {
      Stmt del(db, "DELETE FROM connections WHERE rowid = ?1");
      for (int64_t rowid : deletes) {
        del.bind(1, rowid);
        del.step();
        del.reset();
      }
      report.removed = deletes.size();
    }
    {
      Stmt upd(db,
               "UPDATE connections SET driver = ?2, vin = ?3, identifiers_json = ?4,"
               " key_child = ?5, poll_interval_ms = ?6,"
               " vehicle_token_id = COALESCE(?7, vehicle_token_id),"
               " synthetic_token_id = COALESCE(?8, synthetic_token_id) WHERE rowid = ?1");
      for (auto [i, rowid] : updates) {
        const config::ConnectionConfig& cc = yaml[i];
        std::string ids = json_object_of(cc.identifiers);
        upd.bind(1, rowid);
        upd.bind(2, cc.driver);
        upd.bind(3, cc.vin);
        upd.bind(4, ids);
        upd.bind(5, int64_t{cc.key_child});
        if (cc.poll_interval) upd.bind(6, static_cast<int64_t>(cc.poll_interval->count()));
        if (cc.vehicle_token_id) upd.bind(7, static_cast<int64_t>(cc.vehicle_token_id));
        if (cc.synthetic_token_id) upd.bind(8, static_cast<int64_t>(cc.synthetic_token_id));
        bool violated = false;
        upd.step(violated);
        upd.reset();
        if (!violated) {
          ++report.updated;
          if (list_ids) report.updated_ids.push_back(cc.id);
          continue;
        }
        StoredConnection wanted;
        wanted.id = cc.id;
        wanted.driver = cc.driver;
        wanted.vin = cc.vin;
        wanted.key_child = cc.key_child;
        report.refused.push_back(cc.id + ": change not taken, the stored connection is kept: " +
                                 impl_->conflict(wanted, /*row_exists=*/true));
        report.refused_at.push_back(i);
      }
    }
    // In YAML order, so on a first start the rows (and so the connections' indexes) follow it.
    StoredConnection row;
    row.state = "active";
    row.source = "config";
    row.changed_ms = now_ms;
    row.created_ms = now_ms;
    for (uint32_t i = 0; i < yaml.size(); ++i) {
      if (fate[i] != kNew) continue;
      const config::ConnectionConfig& cc = yaml[i];
      row.id = cc.id;
      row.driver = cc.driver;
      row.vin = cc.vin;
      row.identifiers_json = json_object_of(cc.identifiers);
      row.vehicle_token_id = cc.vehicle_token_id;
      row.synthetic_token_id = cc.synthetic_token_id;
      row.key_child = cc.key_child;
      row.poll_interval_ms = cc.poll_interval ? cc.poll_interval->count() : 0;
      if (std::string why = impl_->insert_row(row); !why.empty()) {
        report.refused.push_back(cc.id + ": " + why);
        report.refused_at.push_back(i);
      } else {
        ++report.inserted;
        if (list_ids) report.inserted_ids.push_back(cc.id);
      }
    }
    tx.commit();
    return report;
  });
}

}  // namespace oemlink::store

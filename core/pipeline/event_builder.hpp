// Turns one connection's batch of validated readings into a CloudEvents 1.0 event carrying
// DIMO's default-module `data`. `data` is serialized once; a DataSigner signs exactly those
// bytes.
#pragma once

#include "core/common/dimo_chain.hpp"
#include "core/pipeline/event.hpp"
#include "core/pipeline/event_id.hpp"

#include <oemlink/driver.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace oemlink::pipeline {

// Chain constants; defaults are DIMO's production values (Polygon, chain 137).
struct EnvelopeSettings {
  uint64_t chain_id = dimo::kChainId;
  std::string vehicle_contract{dimo::kVehicleContract};
  std::string synthetic_device_contract{dimo::kSyntheticDeviceContract};
  std::string source{dimo::kIntegrationSource};
};

struct ConnectionIdentity {
  std::string_view id;
  std::string_view vin;
  uint64_t vehicle_token_id = 0;
  uint64_t synthetic_token_id = 0;
  uint32_t key_child = 0;
};

// Signs the exact `data` bytes of an event with the connection's key.
class DataSigner {
 public:
  virtual ~DataSigner() = default;
  // "0x" + 130 lowercase hex (r || s || v, v = 27/28).
  virtual std::string sign(uint32_t key_child, std::string_view data) = 0;
};

// How far ahead of true time a connection's event time may be held so that it never runs
// backwards (see EventBuilder::build). A few seconds absorb readings that arrive slightly out of
// order; a clock step the host learnt of late (its estimate of true time swings back, say by an
// hour) must not keep every later event of the connection stamped that far ahead, and held by
// the dimo_https sink, for as long as the swing was.
inline constexpr int64_t kMaxHeldAheadMs = 5'000;

class EventBuilder {
 public:
  explicit EventBuilder(EnvelopeSettings settings, DataSigner* signer = nullptr);

  // `readings` must be non-empty and already validated; `now_ms` is true time (the host's wall
  // clock corrected by its skew estimate). Not thread-safe.
  // The envelope `time` is the newest reading's timestamp, but never earlier than the time of the
  // connection's previous event as long as that is at most kMaxHeldAheadMs ahead of `now_ms`:
  // when a step of the wall clock (or a driver's readings) goes back, a connection's event times
  // stand still until they catch up instead of running backwards. An earlier time that is further
  // ahead of true time than that (stamped before the host knew its clock was wrong) holds only up
  // to `now_ms + kMaxHeldAheadMs`: the connection's times then go back once, to true time, rather
  // than stay ahead for as long as the error was. (Events stamped ahead are held by the
  // dimo_https sink, not sent early.)
  Event build(const ConnectionIdentity& conn, std::span<const oemlink_reading> readings,
              int64_t now_ms);

  // Drops what is kept of `connection_id` (its last event time): the connection was closed. A
  // connection served again later starts afresh, as after a restart.
  void forget(std::string_view connection_id);
  // Connections whose last event time is kept.
  size_t remembered() const { return last_time_.size(); }

 private:
  EnvelopeSettings settings_;
  DataSigner* signer_;
  EventIdGenerator ids_;
  std::string producer_prefix_;                         // did:erc721:<chain>:<synthetic contract>:
  std::string subject_prefix_;                          // did:erc721:<chain>:<vehicle contract>:
  std::unordered_map<std::string, int64_t> last_time_;  // per connection id: last event time
  int64_t last_ts_ = 0;                                 // the timestamp last_ts_text_ spells
  std::string last_ts_text_;
};

}  // namespace oemlink::pipeline

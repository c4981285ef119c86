// PipelineAssembly builds the event path behind the drivers, in the order it must exist:
// the key vault and its signer, the durable outbox, the pipeline that validates and builds
// signed events, the signing stage that runs it off the loop, and one UplinkDispatcher per
// configured sink (built by type through the SinkRegistry). It owns them and tears them down in
// reverse order.
//
// Threading: built and used on the host loop thread; the signing stage and the outbox report
// back through the hooks, which post onto the loop.
#pragma once

#include "core/common/metrics.hpp"
#include "core/config/config.hpp"
#include "core/host/vault_wiring.hpp"
#include "core/pipeline/event_sink.hpp"
#include "core/pipeline/pipeline.hpp"
#include "core/pipeline/signing_stage.hpp"
#include "core/store/outbox_store.hpp"
#include "core/uplink/sink_registry.hpp"
#include "core/uplink/uplink_dispatcher.hpp"
#include "core/vault/key_vault.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace oemlink::host {

struct AssemblyHooks {
  // [loop] The outbox has committed everything up to seq.
  std::function<void(uint64_t seq)> durable;
  // [loop] A batch of connection `tag` left the signing stage (receipt 0: rejected).
  std::function<void(uint32_t tag, uint64_t receipt)> settled;
};

class PipelineAssembly {
 public:
  // Throws StartupError naming the part that could not be built (vault, outbox, a sink).
  PipelineAssembly(const config::Config& cfg, boost::asio::io_context& io, MetricsRegistry& metrics,
                   const uplink::SinkRegistry& sinks,
                   const std::vector<pipeline::EventSink*>& extra_sinks,
                   net::ClockSkewEstimator* clock_skew, AssemblyHooks hooks);
  ~PipelineAssembly();
  PipelineAssembly(const PipelineAssembly&) = delete;
  PipelineAssembly& operator=(const PipelineAssembly&) = delete;

  pipeline::Pipeline& pipeline() { return *pipeline_; }
  pipeline::SigningStage& signing() { return *signing_; }
  // The vault that signs: connections claim their key children through it.
  vault::KeyVault& vault() { return *vault_; }
  store::OutboxStore* outbox() { return outbox_.get(); }  // null when no sink is configured
  bool has_extra_sinks() const { return has_extra_sinks_; }

  // [loop] Sinks start delivering from the outbox.
  void start_delivery();
  // [loop] New durable records: each sink looks for work.
  void wake_delivery();
  // What a shutdown out of time left behind. None of it was acknowledged to its source.
  struct Leftovers {
    size_t batches_unsigned = 0;    // dropped from the signing queue
    store::OutboxAbandoned outbox;  // appended, never committed
    bool any() const { return batches_unsigned > 0 || outbox.records > 0; }
  };
  // [loop] Shutdown: signing drains (retries stop), everything accepted is made durable, then
  // the sinks let go; what they have not delivered stays in the outbox for the next start.
  // Bounded by `deadline`: signing that has not drained and appends that could not commit by
  // then (a full disk) are given up, and said so in the result.
  Leftovers drain_and_stop(std::chrono::steady_clock::time_point deadline);

  std::vector<std::pair<std::string, uplink::DispatcherStats>> sink_stats() const;
  void reset_sink_latency();

  // A reload's sinks (ReloadPlan), in two steps so that nothing changes unless everything could
  // be built. prepare_sinks builds a dispatcher and deliverer for each added or changed sink and
  // throws StartupError naming the one that cannot be built (nothing has changed then).
  // apply_sinks: a changed sink's dispatcher stops (its in-flight deliveries fail back to the
  // outbox, its acknowledgements are written) and the new one starts at the same cursor, so what
  // was not delivered goes out under the new settings (a delivery that was in flight may be
  // repeated: receivers recognise the event id); a removed sink's dispatcher stops the same way
  // and its cursor is dropped; an added sink gets a cursor at the newest record
  // (OutboxStore::add_sink: it receives what is appended from now on) and starts. [loop]
  struct SinkChanges {
    std::vector<std::unique_ptr<uplink::UplinkDispatcher>> changed, added;
    std::vector<std::string> removed;
  };
  SinkChanges prepare_sinks(const std::vector<config::SinkConfig>& next,
                            const std::vector<std::string>& added,
                            const std::vector<std::string>& removed,
                            const std::vector<std::string>& changed);
  void apply_sinks(SinkChanges changes);

 private:
  void register_outbox_metrics(MetricsRegistry& metrics);
  void open_outbox_and_sinks(const config::Config& cfg);

  std::unique_ptr<uplink::UplinkDispatcher> make_dispatcher(const config::SinkConfig& s);

  AssemblyHooks hooks_;
  boost::asio::io_context& io_;
  MetricsRegistry& metrics_;
  const uplink::SinkRegistry& registry_;
  const config::HttpConfig& http_;       // the runtime's; not live, so it never changes
  net::ClockSkewEstimator* clock_skew_;  // the runtime's; HTTPS sinks feed it and hold by it
  bool has_extra_sinks_ = false;
  vault::KeyVaultPtr vault_;
  std::unique_ptr<pipeline::DataSigner> signer_;
  std::unique_ptr<store::OutboxStore> outbox_;
  std::unique_ptr<pipeline::EventSink> outbox_sink_;
  std::vector<std::unique_ptr<uplink::UplinkDispatcher>> dispatchers_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<pipeline::SigningStage> signing_;
  CollectorRegistration outbox_metrics_;  // reads outbox_: declared after it, destroyed first
};

}  // namespace oemlink::host

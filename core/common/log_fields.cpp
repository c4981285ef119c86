#include "core/common/log_fields.hpp"

namespace oemlink {
namespace {

thread_local LogFields t_fields;
thread_local uint64_t t_suppressed = 0;

void overlay(LogFields& into, const LogFields& f) {
  if (!f.driver.empty()) into.driver = f.driver;
  if (!f.connection.empty()) into.connection = f.connection;
  if (!f.sink.empty()) into.sink = f.sink;
  if (!f.event_id.empty()) into.event_id = f.event_id;
  if (!f.route.empty()) into.route = f.route;
  if (!f.listener.empty()) into.listener = f.listener;
}

}  // namespace

const LogFields& current_log_fields() {
  return t_fields;
}

uint64_t current_log_suppressed() {
  return t_suppressed;
}

LogScope::LogScope(const LogFields& f) : saved_(t_fields), saved_suppressed_(t_suppressed) {
  overlay(t_fields, f);
  // A gated line's count belongs to that line alone, not to lines logged in a nested call.
  t_suppressed = 0;
}

LogScope::LogScope(const LogFields& f, uint64_t suppressed) : LogScope(f) {
  t_suppressed = suppressed;
}

LogScope::~LogScope() {
  t_fields = saved_;
  t_suppressed = saved_suppressed_;
}

}  // namespace oemlink

// The messages of a driver process's channel. Host→child messages carry the calls of the driver
// ABI and the callbacks the host delivers to a driver; child→host messages carry the host
// services a driver calls and the completions it reports. `call` kinds wait for a kReply with the
// same call id; the rest are one-way. The payload of each is written and read in one place per
// side (remote_driver*.cpp for the host, child_host*.cpp for the child), in the order listed.
#pragma once

#include <cstdint>

namespace oemlink::isolation {

enum MessageKind : uint16_t {
  kReply = 1,  // the answer to a call: its payload is the call's result

  // Host → child.
  kCreate = 10,         // call: settings json, webhook url (flag + text), mqtt present →
                        //   status, error, link flags (bit 0: has link, bits 8+: its flags)
  kDestroy = 11,        // call: → (nothing)
  kOpen = 12,           // call: conn, id, vin, identifiers, vehicle, synthetic → status, error
  kClose = 13,          // call: conn → (nothing)
  kPoll = 14,           // one-way: conn, poll token (the answer is kPollDone)
  kStreamStart = 15,    // call: conn (0: driver-wide), stream token → status
  kStreamStop = 16,     // call: conn → (nothing)
  kWebhook = 17,        // call: request, webhook token → status
  kLinkAuthorize = 18,  // call: state, redirect, challenge, vehicle → status, text
  kLinkExchange = 19,   // call: code, query, redirect, verifier, token → status
  kLinkList = 20,       // call: n × (key, value), token → status
  kHttpDone = 21,       // one-way: child's request token, response
  kTimerFired = 22,     // one-way: child's timer token, cancelled
  kMqttMessage = 23,    // one-way: subscription id, topic, payload
  kMqttStatus = 24,     // one-way: subscription id, connected, message

  // Child → host.
  kLog = 40,              // one-way: conn, level, message
  kEmit = 41,             // call: conn, n × reading → status
  kReportState = 42,      // one-way: conn, state, until, reason
  kHttpRequest = 43,      // call: conn, request, token → status
  kSecretGet = 44,        // call: conn, key → status, value
  kSecretPut = 45,        // call: conn, n × (key, value) → status
  kTimerStart = 46,       // call: delay, token → host timer id
  kTimerCancel = 47,      // one-way: host timer id
  kCounterAdd = 48,       // one-way: name, delta
  kMqttSubscribe = 49,    // call: subscription fields → id
  kMqttUnsubscribe = 50,  // call: id → (nothing)
  kPollDone = 51,         // one-way: poll token, status, message
  kStreamEnded = 52,      // one-way: stream token, status, message
  kWebhookRespond = 53,   // one-way: webhook token, response
  kLinkExchanged = 54,    // one-way: token, status, n × (key, value), message
  kLinkVehicles = 55,     // one-way: token, status, n × vehicle, message
};

}  // namespace oemlink::isolation

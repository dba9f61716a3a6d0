// An inbox consumer of one topic, declared the same way by every service that consumes: its inbox
// and consumer group named by a setting the service declares, the event types it acts on, and a
// handler run on the inbox's transaction with the service's PostgreSQL store built on it — so
// the event's effect, the events it emits and its inbox row commit together (common/inbox.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/inbox.h"
#include "common/pg_transactor.h"
#include "common/server.h"

namespace techtrade {

// `handle(store, work, event)` -> absl::Status, with `store` a PgStore on the inbox's Tx.
template <class PgStore, class Handle>
std::unique_ptr<EventConsumer> InboxConsumer(ServiceEnvironment& env,
                                             absl::string_view group_setting, std::string topic,
                                             std::vector<std::string> event_types, Handle handle) {
  return std::make_unique<EventConsumer>(
      EventConsumerOptions{.consumer = env.settings.String(group_setting),
                           .brokers = env.config.kafka_brokers,
                           .topics = {std::move(topic)},
                           .event_types = std::move(event_types),
                           .metrics = &env.metrics},
      env.db, [handle](Tx& tx, const common::v1::EventEnvelope& event) -> absl::Status {
        PgStore store(tx);
        PgUnitOfWork work(tx);
        return handle(store, work, event);
      });
}

}  // namespace techtrade

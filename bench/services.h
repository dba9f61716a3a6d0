// What the service benchmarks share: one channel per client thread, and the two baselines every
// throughput figure is a ratio to, measured in the same run: the echo ceiling and the raw insert.
#pragma once

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/load.h"
#include "common/tls.h"

namespace techtrade::bench {

// One channel per client thread, so threads do not queue behind one HTTP/2 connection.
template <class Service>
std::vector<std::unique_ptr<typename Service::Stub>> Stubs(const std::string& address, int n) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("techtrade.bench.channel", i);
    stubs.push_back(Service::NewStub(
        grpc::CreateCustomChannel(address, ChannelCredentialsFor(ProcessTls()), args)));
  }
  return stubs;
}

// Unary calls of one method kept in flight asynchronously (AsyncCalls): one channel per slot,
// as Stubs, and one completion queue per queue thread.
template <class Response>
class AsyncUnary final : public AsyncCalls {
 public:
  using Reader = grpc::ClientAsyncResponseReader<Response>;
  // Makes each call's context (metadata, deadline). Every call must have a deadline.
  using MakeContext = std::function<std::unique_ptr<grpc::ClientContext>()>;
  // Begins call i of `slot` on its channel, e.g. with a stub's PrepareAsync… and StartCall.
  using Begin = std::function<std::unique_ptr<Reader>(int slot, int64_t i, grpc::ClientContext*,
                                                      grpc::CompletionQueue*)>;

  // Sees each call's outcome as it ends, before the slot's next call begins (optional); may take
  // the response (swap it out), which the slot's next call overwrites anyway.
  using End = std::function<void(int slot, const grpc::Status&, Response&)>;

  AsyncUnary(int slots, MakeContext make_context, Begin begin, End end = nullptr, int queues = 2)
      : slots_(slots),
        queues_(std::max(1, std::min(queues, slots))),
        make_context_(std::move(make_context)),
        begin_(std::move(begin)),
        end_(std::move(end)),
        calls_(slots),
        completion_queues_(queues_) {}
  ~AsyncUnary() override {
    for (auto& cq : completion_queues_) {
      cq.Shutdown();
      void* tag;
      bool ok;
      while (cq.Next(&tag, &ok)) {
      }
    }
  }

  int slots() const override { return slots_; }
  int queues() const override { return queues_; }
  void Start(int slot, int64_t i) override {
    Call& call = calls_[slot];
    // The reader lives in its call's arena, which the context frees: the reader goes first.
    call.reader.reset();
    call.context = make_context_();
    call.reader = begin_(slot, i, call.context.get(), &completion_queues_[slot % queues_]);
    call.reader->Finish(&call.response, &call.status, reinterpret_cast<void*>(intptr_t{slot}));
  }
  bool Next(int queue, std::chrono::steady_clock::time_point deadline, int* slot,
            bool* ok) override {
    void* tag;
    bool finished;
    // gRPC takes system_clock deadlines only.
    const auto system_deadline =
        std::chrono::system_clock::now() + (deadline - std::chrono::steady_clock::now());
    if (completion_queues_[queue].AsyncNext(&tag, &finished, system_deadline) !=
        grpc::CompletionQueue::GOT_EVENT) {
      return false;
    }
    *slot = static_cast<int>(reinterpret_cast<intptr_t>(tag));
    Call& call = calls_[*slot];
    *ok = finished && call.status.ok();
    if (end_) end_(*slot, call.status, call.response);
    return true;
  }

 private:
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Reader> reader;  // declared after the context: destroyed before it
    Response response;
    grpc::Status status;
  };
  const int slots_;
  const int queues_;
  MakeContext make_context_;
  Begin begin_;
  End end_;
  std::vector<Call> calls_;
  std::vector<grpc::CompletionQueue> completion_queues_;
};

// Starts the echo server (the same gRPC bootstrap as the services, no work behind it), then
// runs a closed loop of `threads` echo calls, `echo_name`, taking turns with `reads` (see
// TakingTurns), so that the ceiling and what is compared with it meet the same machine; stops
// the server. `echo_name` keeps each benchmark's ceiling apart in the merged JSON. `rss_kib`, if
// given, gets the server's resident memory after load.
std::pair<ScenarioResult, ScenarioResult> EchoCeilingTakingTurns(
    const std::string& echo_name, int threads, const std::string& reads_name, AsyncCalls& reads,
    absl::Duration duration, long* rss_kib = nullptr);

// Open-loop load at a steady rate: send(thread, i) for i < rate × seconds, spread over `threads`,
// each call at its time. While it runs, `topic` is read from its end, and the lag from each
// event's occurred_at to its arrival is taken for events whose causation_request_id starts with
// `tag` + "-" (the sends must use such request ids). qps: commands sent per second; errors:
// failed sends plus events that never arrived.
ScenarioResult PacedLag(const std::string& name, const std::string& brokers,
                        const std::string& topic, int rate, int seconds, int threads,
                        const std::string& tag, const std::function<bool(int, int64_t)>& send);

// The same load without reading anything, to bring a system to its steady state first.
void Paced(int rate, int seconds, int threads, const std::function<bool(int, int64_t)>& send);

// Forces a checkpoint on the stack's PostgreSQL, so that what an earlier benchmark wrote (a
// million rows, say) is not written out during this one's measurements. It also lets PostgreSQL
// recycle the WAL segments written so far: a latency scenario measured after it writes into
// recycled segments, as every database does once past its first checkpoints, instead of creating
// new ones — which a freshly initialised cluster does for its first gigabytes of WAL, each
// commit that crosses into a new segment waiting while 16 MB are zero-filled and synced
// (docs/benchmarks.md, "Event latency on a fresh machine").
void QuietDatabase(const std::string& db_url);
// The WAL segment files PostgreSQL has (created ones add to them; recycled ones do not).
int WalSegmentFiles(const std::string& db_url);

// The raw single-row insert: `threads` libpqxx connections to `db_url`, each inserting one row
// per transaction (BEGIN, INSERT, COMMIT) into a table of its own. A call of a load loop.
class RawInsert {
 public:
  RawInsert(const std::string& db_url, int threads);
  bool operator()(int thread, int64_t i);

 private:
  std::vector<std::unique_ptr<pqxx::connection>> connections_;
};

// The raw insert baseline alone, for `duration`.
ScenarioResult RawInsertBaseline(const std::string& name, const std::string& db_url, int threads,
                                 absl::Duration duration);

// `scenario` and the raw insert baseline (as many connections as the scenario has slots) taking
// turns (TakingTurns): the two sides of a ratio. Appends the scenario's result, with `note`, and
// the baseline's to `results`.
void AgainstRawInsert(std::vector<ScenarioResult>& results, const std::string& name,
                      const std::string& note, AsyncCalls& scenario, const std::string& raw_name,
                      const std::string& db_url, absl::Duration duration);

}  // namespace techtrade::bench

// The one way to run a transaction (common/db.h) against the real PostgreSQL: BEGIN travels with
// the first statement and staged writes with COMMIT, and none of those savings may cost
// atomicity: a failure anywhere leaves nothing behind and the connection fit for the next caller.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/migrations.h"
#include "common/outbox.h"
#include "tests/support/harness.h"

namespace techtrade::testing {
namespace {

class TxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "tx");
    // One connection, so every test also shows that the connection it leaves behind works.
    pool_ = *PgPool::Create(db_->url(), 1);
    ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                  tx.exec("CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)");
                  return absl::OkStatus();
                }).ok());
  }

  int64_t Count() {
    return *InTransaction(*pool_, [](Tx& tx) -> absl::StatusOr<int64_t> {
      return tx.exec1("SELECT count(*) FROM items")[0].as<int64_t>();
    });
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
};

// VACUUM of an emptied outbox must not truncate it: truncation locks out every committing
// mutation (common/migrations/0009_outbox_keeps_its_pages.sql).
TEST_F(TxTest, AVacuumOfTheEmptiedOutboxKeepsItsPages) {
  ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
  ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                tx.exec(
                    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, sequence, "
                    "occurred_at) SELECT gen_random_uuid(), 'organization', g::text, 'Registered', "
                    "convert_to(repeat('x', 500), 'UTF8'), 1, now() "
                    "FROM generate_series(1, 2000) g");
                return absl::OkStatus();
              }).ok());
  auto pages = [&] {
    return *InTransaction(*pool_, [](Tx& tx) -> absl::StatusOr<int64_t> {
      return tx.exec1("SELECT pg_relation_size('outbox') / 8192")[0].as<int64_t>();
    });
  };
  const int64_t filled = pages();
  ASSERT_GT(filled, 10);
  ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                tx.exec("DELETE FROM outbox");
                return absl::OkStatus();
              }).ok());
  pqxx::connection conn(db_->url());
  pqxx::nontransaction(conn).exec("VACUUM outbox");
  EXPECT_EQ(pages(), filled);
}

TEST_F(TxTest, WriteOnlyTransactionCommitsAllStagedWrites) {
  absl::Status status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.StageWrite("INSERT INTO items VALUES (1, 'a')");
    tx.StageWrite("INSERT INTO items VALUES (2, 'b')");
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Count(), 2);
}

TEST_F(TxTest, ViolatedConstraintInStagedWritesLeavesNothing) {
  ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                tx.StageWrite("INSERT INTO items VALUES (1, 'a')");
                return absl::OkStatus();
              }).ok());
  bool hook_ran = false;
  absl::Status status = InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
    tx.StageWrite("INSERT INTO items VALUES (2, 'b')");
    tx.StageWrite("INSERT INTO items VALUES (1, 'duplicate')");
    tx.OnCommit([&] { hook_ran = true; });
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_FALSE(hook_ran);
  EXPECT_EQ(Count(), 1);  // row 2 went with the failed batch
}

TEST_F(TxTest, ReadThenStagedWritesCommitTogetherAndFailTogether) {
  absl::Status status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    int64_t before =
        tx.exec_params1("SELECT count(*) FROM items WHERE id > $1", 0)[0].as<int64_t>();
    tx.StageWrite(absl::StrCat("INSERT INTO items VALUES (", before + 10, ", 'x')"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Count(), 1);

  // Explicit transaction this time (a read came first): the failed batch must not leave the
  // session inside an aborted transaction block.
  status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.exec("SELECT 1");
    tx.StageWrite("INSERT INTO items VALUES (20, 'y')");
    tx.StageWrite("INSERT INTO items VALUES (10, 'duplicate')");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(Count(), 1);
}

// An event consumer applies several events in one transaction, each decided on what the
// previous one wrote: every kind of read sees the writes staged before it, whether the
// transaction has begun on the server or not.
TEST_F(TxTest, LaterReadsSeeWritesStagedEarlierInTheSameTransaction) {
  absl::Status status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.StageWrite("INSERT INTO items VALUES (1, 'staged before the first statement')");
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM items")[0].as<int64_t>(), 1);
    tx.StageRow("INSERT INTO items VALUES ", "($1::int, $2)", "", {SqlText(2), SqlText("b")});
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM items WHERE id > $1", 0)[0].as<int64_t>(), 2);
    tx.StageWrite("UPDATE items SET note = 'changed' WHERE id = 1");
    pqxx::result note = tx.ExecPrepared("tx_it_note", "SELECT note FROM items WHERE id = $1", 1);
    EXPECT_EQ(note[0][0].as<std::string>(), "changed");
    tx.StageWrite("DELETE FROM items WHERE id = 2");
    EXPECT_EQ(tx.ReadLatest("tx_it_count", "SELECT count(*) FROM items")[0][0].as<int64_t>(), 1);
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Count(), 1);

  // Staged before anything was sent, then read with ReadLatest: the read must not go around the
  // transaction to the committed state, where the row is not.
  status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.StageWrite("INSERT INTO items VALUES (3, 'c')");
    EXPECT_EQ(tx.ReadLatest("tx_it_count", "SELECT count(*) FROM items")[0][0].as<int64_t>(), 2);
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Count(), 2);

  // A write staged and then read, in a transaction that then fails, leaves nothing.
  status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.StageWrite("INSERT INTO items VALUES (4, 'd')");
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM items")[0].as<int64_t>(), 3);
    return absl::AbortedError("changed its mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Count(), 2);
}

TEST_F(TxTest, ErrorFromFnRollsBackWritesAlreadySent) {
  absl::Status status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.exec("INSERT INTO items VALUES (1, 'sent before the error')");
    tx.StageWrite("INSERT INTO items VALUES (2, 'staged')");
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(), 0);
}

TEST_F(TxTest, SwallowedStatementFailureRefusesTheCommit) {
  // PostgreSQL answers COMMIT in an aborted transaction with ROLLBACK and no error; a caller
  // that caught the statement's exception must not be told its writes are durable.
  absl::Status status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.exec("INSERT INTO items VALUES (1, 'a')");
    try {
      tx.exec("INSERT INTO items VALUES (1, 'duplicate')");
    } catch (const pqxx::unique_violation&) {
    }
    tx.StageWrite("INSERT INTO items VALUES (3, 'c')");
    return absl::OkStatus();
  });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(Count(), 0);
}

TEST_F(TxTest, AFirstStatementWithParametersCountsAndReturnsLikeALaterOne) {
  for (bool first : {true, false}) {
    auto inserted = [&](int id) {
      return *InTransaction(*pool_, [&](Tx& tx) -> absl::StatusOr<int> {
        if (!first) tx.exec("SELECT 1");
        return static_cast<int>(
            tx.exec_params("INSERT INTO items VALUES ($1, $2) ON CONFLICT DO NOTHING", id, "it's")
                .affected_rows());
      });
    };
    const int id = first ? 1 : 2;
    EXPECT_EQ(inserted(id), 1) << first;
    EXPECT_EQ(inserted(id), 0) << first;
    std::string note = *InTransaction(*pool_, [&](Tx& tx) -> absl::StatusOr<std::string> {
      if (!first) tx.exec("SELECT 1");
      pqxx::result r = tx.ExecPrepared("items_note", "SELECT note FROM items WHERE id = $1", id);
      return r.empty() ? std::string("<none>") : r[0][0].as<std::string>();
    });
    EXPECT_EQ(note, "it's") << first;
  }
}

TEST_F(TxTest, ConnectionIsOutsideATransactionAfterEachOutcome) {
  auto in_transaction_block = [&] {
    auto lease = pool_->Acquire();
    pqxx::nontransaction probe(lease->conn());
    // In autocommit each statement gets its own transaction id; inside a block they share one.
    auto first = probe.exec1("SELECT txid_current()")[0].as<int64_t>();
    auto second = probe.exec1("SELECT txid_current()")[0].as<int64_t>();
    return first == second;
  };
  ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                tx.exec("SELECT 1");
                return absl::OkStatus();
              }).ok());
  EXPECT_FALSE(in_transaction_block());
  (void)InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.exec("SELECT 1");
    return absl::InternalError("fail");
  });
  EXPECT_FALSE(in_transaction_block());
  (void)InTransaction(*pool_, [](Tx& tx) -> absl::Status {
    tx.exec("SELECT no_such_column FROM items");
    return absl::OkStatus();
  });
  EXPECT_FALSE(in_transaction_block());
}

// A write-only transaction waits for its group commit without a connection of the pool: with
// one connection in the pool, another caller gets it while the first one's commit is held up.
TEST_F(TxTest, AWriteOnlyTransactionGivesItsConnectionBackBeforeItsGroupCommit) {
  pqxx::connection holder(db_->url());
  pqxx::work lock(holder);
  lock.exec("INSERT INTO items VALUES (0, 'held')");  // uncommitted: id 0 waits for it
  absl::Status writer_status;
  std::thread writer([&] {
    writer_status = InTransaction(*pool_, [](Tx& tx) -> absl::Status {
      tx.StageWrite("INSERT INTO items VALUES (0, 'written')");
      return absl::OkStatus();
    });
  });
  pqxx::connection observer(db_->url());
  auto writer_waits = [&] {
    pqxx::nontransaction q(observer);
    return q.exec1(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")[0]
               .as<int>() > 0;
  };
  for (int i = 0; i < 200 && !writer_waits(); ++i) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(writer_waits());
  // Held by the writer, the pool's one connection would not come free before the lock does.
  absl::StatusOr<int64_t> read = InTransaction(*pool_, [](Tx& tx) -> absl::StatusOr<int64_t> {
    return tx.exec1("SELECT count(*) FROM items")[0].as<int64_t>();
  });
  EXPECT_TRUE(read.ok()) << read.status();
  lock.abort();
  writer.join();
  EXPECT_TRUE(writer_status.ok()) << writer_status;
  EXPECT_EQ(Count(), 1);
}

// Group commit: write-only transactions of concurrent callers go to PostgreSQL together.
class GroupCommitTest : public ::testing::Test {
 protected:
  static constexpr int kCallers = 10;

  void SetUp() override {
    stack_ = Stack::FromEnvironment();
    db_ = std::make_unique<ScratchDatabase>(stack_, "group_commit");
    pool_ = *PgPool::Create(db_->url(), kCallers + 2);
    ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                  tx.exec("CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)");
                  return absl::OkStatus();
                }).ok());
  }

  // As a row that group commit may merge with other callers' (StageRow), or as a statement of
  // its own (StageWrite).
  absl::Status Insert(int id, const std::string& note, bool mergeable = true) {
    return InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
      if (with_parameters_ && mergeable) {
        tx.StageRow("INSERT INTO items VALUES ", "($1::int, $2)", "", {SqlText(id), SqlText(note)});
      } else if (with_parameters_) {
        tx.StageWrite("INSERT INTO items VALUES ($1::int, $2)", {SqlText(id), SqlText(note)});
      } else if (mergeable) {
        tx.StageRow("INSERT INTO items VALUES ", absl::StrCat("(", id, ", ", tx.quote(note), ")"));
      } else {
        tx.StageWrite(absl::StrCat("INSERT INTO items VALUES (", id, ", ", tx.quote(note), ")"));
      }
      return absl::OkStatus();
    });
  }

  // Polls `condition` until it holds (true) or 30 s have passed (false).
  static bool WaitUntil(const std::function<bool()>& condition) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (!condition()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // Sessions of the scratch database waiting for a lock.
  int LockWaiters() {
    pqxx::connection observer(db_->url());
    pqxx::nontransaction q(observer);
    return q
        .exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")[0]
        .as<int>();
  }

  // Commits `ids` from one caller each while the first of them is held up by a row lock of
  // another session: the next caller's batch is sent right behind it (the pipeline holds two),
  // and the rest are all waiting for the batch after when the lock is released.
  std::vector<absl::Status> CommitBehindALock(const std::vector<int>& ids, bool mergeable = true) {
    pqxx::connection holder(db_->url());
    pqxx::work lock(holder);
    lock.exec("INSERT INTO items VALUES (0, 'held')");  // uncommitted: id 0 waits for it
    std::vector<absl::Status> statuses(ids.size());
    std::vector<std::thread> callers;
    callers.emplace_back([&] { statuses[0] = Insert(ids[0], "leader"); });
    // The leader's batch is in flight, waiting on id 0.
    EXPECT_TRUE(WaitUntil([&] { return LockWaiters() == 1; }));
    callers.emplace_back([&] { statuses[1] = Insert(ids[1], "next", mergeable); });
    // Sent behind it, the pipeline full; or, without pipelining, queued for the next batch.
    EXPECT_TRUE(WaitUntil([&] {
      const CommitBatcher::Backlog b = pool_->batcher().backlog();
      return pipeline_depth_ > 1 ? b.batches_in_flight == 2 : b.queued == 1;
    }));
    for (size_t i = 2; i < ids.size(); ++i) {
      // Every other caller's write a statement of its own, when not all are mergeable.
      const bool merge = mergeable || i % 2 == 0;
      callers.emplace_back([&, i, merge] { statuses[i] = Insert(ids[i], "waiting", merge); });
    }
    // All of them queued behind the leader's batch (and the next's, when it was sent).
    const size_t sent = pipeline_depth_ > 1 ? 2 : 1;
    EXPECT_TRUE(WaitUntil([&] { return pool_->batcher().backlog().queued == ids.size() - sent; }));
    lock.abort();  // id 0 is free: the leader commits, then the next, then the rest
    for (auto& c : callers) c.join();
    return statuses;
  }

  // The common migrations (techtrade_expect_*), and `rows` counters 1…rows at value 0, version 1.
  void CreateCounters(int rows) {
    ASSERT_TRUE(ApplyMigrations(*pool_, "common", CommonMigrations()).ok());
    ASSERT_TRUE(InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
                  tx.exec("CREATE TABLE counters (id int PRIMARY KEY, value int, version int)");
                  tx.exec(absl::StrCat(
                      "INSERT INTO counters SELECT g, 0, 1 FROM generate_series(1, ", rows, ") g"));
                  return absl::OkStatus();
                }).ok());
  }

  int64_t Query(const std::string& sql) {
    return *InTransaction(
        *pool_, [&](Tx& tx) -> absl::StatusOr<int64_t> { return tx.exec1(sql)[0].as<int64_t>(); });
  }

  Stack stack_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  bool with_parameters_ = false;  // Insert's values as placeholders, not literals
  int pipeline_depth_ = kDefaultCommitPipelineDepth;  // pool_'s
};

TEST_F(GroupCommitTest, CallersWaitingTogetherCommitInOneTransaction) {
  std::vector<int> ids = {0};
  for (int i = 1; i < kCallers; ++i) ids.push_back(100 + i);
  for (const absl::Status& s : CommitBehindALock(ids)) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Query("SELECT count(*) FROM items"), kCallers);
  // Rows of one transaction share its id: the leader's alone; the next caller's, sent right
  // behind it (pipelined), alone too; then everybody who came while both were in flight.
  EXPECT_EQ(Query("SELECT count(DISTINCT xmin::text) FROM items"), 3);
  EXPECT_EQ(Query("SELECT max(n) FROM (SELECT count(*) AS n FROM items GROUP BY xmin::text) t"),
            kCallers - 2);
}

TEST_F(GroupCommitTest, WithoutPipeliningTheNextBatchWaitsForTheOutcome) {
  pipeline_depth_ = 1;
  pool_ = *PgPool::Create(db_->url(), kCallers + 2, pipeline_depth_);
  std::vector<int> ids = {0};
  for (int i = 1; i < kCallers; ++i) ids.push_back(100 + i);
  for (const absl::Status& s : CommitBehindALock(ids)) EXPECT_TRUE(s.ok()) << s;
  // The leader's alone, then everybody else's together.
  EXPECT_EQ(Query("SELECT count(DISTINCT xmin::text) FROM items"), 2);
}

TEST_F(GroupCommitTest, ALostConnectionLeavesEveryBatchInFlightInDoubtAndTheNextReconnects) {
  pqxx::connection holder(db_->url());
  pqxx::work lock(holder);
  lock.exec("INSERT INTO items VALUES (0, 'held')");
  absl::Status first, second;
  std::thread leader([&] { first = Insert(0, "leader"); });
  ASSERT_TRUE(WaitUntil([&] { return LockWaiters() == 1; }));
  std::thread next([&] { second = Insert(101, "next"); });
  // Both batches in flight, the first waiting on id 0.
  ASSERT_TRUE(WaitUntil([&] { return pool_->batcher().backlog().batches_in_flight == 2; }));
  {
    pqxx::connection admin(db_->url());
    pqxx::nontransaction kill(admin);
    pqxx::result killed = kill.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'");
    ASSERT_EQ(killed.size(), 1u);
  }
  leader.join();
  next.join();
  lock.abort();
  // The outcome is unknown to the callers (here: nothing committed); they retry with their
  // request_id.
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_EQ(second.code(), absl::StatusCode::kUnavailable) << second;
  EXPECT_TRUE(Insert(5, "after").ok());
  EXPECT_EQ(Query("SELECT count(*) FROM items"), 1);
}

TEST_F(GroupCommitTest, RowsOfConcurrentCallersGoAsOneStatement) {
  std::vector<int> ids = {0};
  for (int i = 1; i < kCallers; ++i) ids.push_back(100 + i);
  for (const absl::Status& s : CommitBehindALock(ids)) EXPECT_TRUE(s.ok()) << s;
  // One INSERT for the eight callers that waited together: one command id within their
  // transaction.
  EXPECT_EQ(Query("SELECT count(*), count(DISTINCT cmin::text) FROM items WHERE xmin::text = "
                  "(SELECT xmin::text FROM items GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) "
                  "HAVING count(*) = " +
                  std::to_string(kCallers - 2) + " AND count(DISTINCT cmin::text) = 1"),
            kCallers - 2);
  EXPECT_EQ(Query("SELECT count(*) FROM items WHERE note = 'waiting'"), kCallers - 2);
}

TEST_F(GroupCommitTest, MergedAndUnmergedWritesCommitTogether) {
  std::vector<int> ids = {0};
  for (int i = 1; i < kCallers; ++i) ids.push_back(100 + i);
  for (const absl::Status& s : CommitBehindALock(ids, false)) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Query("SELECT count(*) FROM items"), kCallers);
  EXPECT_EQ(Query("SELECT count(DISTINCT xmin::text) FROM items"), 3);
}

TEST_F(GroupCommitTest, OneCallersViolationCostsTheOthersNothing) {
  // Literal values, then twice with parameters: the batch that failed must leave the
  // connection's prepared statements usable.
  for (int round = 0; round < 3; ++round) {
    with_parameters_ = round > 0;
    for (bool mergeable : {true, false}) {
      SCOPED_TRACE(absl::StrCat("round ", round, mergeable ? ", merged rows" : ", own statements"));
      ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                    tx.exec("DELETE FROM items");
                    return absl::OkStatus();
                  }).ok());
      std::vector<int> ids = {0};
      for (int i = 1; i < kCallers; ++i) ids.push_back(100 + i);
      ids.back() = 102;  // the last caller repeats the second caller's id
      int refused = 0;
      for (const absl::Status& s : CommitBehindALock(ids, mergeable)) {
        if (s.ok()) continue;
        ++refused;
        EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
      }
      EXPECT_EQ(refused, 1);
      EXPECT_EQ(Query("SELECT count(*) FROM items"), kCallers - 1);
      EXPECT_EQ(Query("SELECT count(*) FROM items WHERE id = 102"), 1);
    }
  }
}

TEST_F(GroupCommitTest, RowsWithParametersMergeRenumberedAndKeepTheirValues) {
  with_parameters_ = true;
  std::vector<int> ids = {0};
  for (int i = 1; i < kCallers; ++i) ids.push_back(100 + i);
  for (const absl::Status& s : CommitBehindALock(ids)) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Query("SELECT count(DISTINCT cmin::text) FROM items WHERE note = 'waiting'"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM items WHERE note = 'waiting'"), kCallers - 2);
  // Literal rows and rows of placeholders alike: a '$1' in a value stays text.
  for (int i = 0; i < 3; ++i) {
    with_parameters_ = i % 2 == 0;
    EXPECT_TRUE(Insert(200 + i, R"(it's $1 \ 'quoted')").ok());
  }
  EXPECT_EQ(Query(R"(SELECT count(*) FROM items WHERE note = 'it''s $1 \ ''quoted''')"), 3);
}

TEST_F(GroupCommitTest, BytesAndNullsTravelAsParameters) {
  ASSERT_TRUE(InTransaction(*pool_, [](Tx& tx) -> absl::Status {
                tx.exec("CREATE TABLE blobs (id int PRIMARY KEY, data bytea, note text)");
                return absl::OkStatus();
              }).ok());
  const std::string bytes("\0\x01\xff'\\x0", 7);
  for (int id : {1, 2}) {
    ASSERT_TRUE(InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
                  tx.StageRow("INSERT INTO blobs VALUES ", "($1::int, $2::bytea, $3)", "",
                              {SqlText(id), id == 1 ? SqlBytes(bytes) : SqlNull(),
                               id == 1 ? SqlNull() : SqlText("two")});
                  return absl::OkStatus();
                }).ok());
  }
  auto row = *InTransaction(*pool_, [](Tx& tx) -> absl::StatusOr<std::pair<std::string, bool>> {
    pqxx::row r = tx.exec1("SELECT data, note IS NULL FROM blobs WHERE id = 1");
    pqxx::binarystring data(r[0]);
    return std::make_pair(std::string(data.get(), data.size()), r[1].as<bool>());
  });
  EXPECT_EQ(row.first, bytes);
  EXPECT_TRUE(row.second);
  EXPECT_EQ(Query("SELECT count(*) FROM blobs WHERE id = 2 AND data IS NULL AND note = 'two'"), 1);
}

TEST_F(GroupCommitTest, ManyConcurrentCallersEachCommitOnce) {
  constexpr int kPerCaller = 100;
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kPerCaller; ++i) {
        if (!Insert(c * kPerCaller + i + 1, "x").ok()) ++failures;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Query("SELECT count(*) FROM items"), kCallers * kPerCaller);
}

TEST_F(GroupCommitTest, ATransactionThatReadsCommitsOnItsOwn) {
  // Reads see the transaction's own snapshot and may hold locks: never batched with others.
  ASSERT_TRUE(Insert(1, "a").ok());
  absl::Status s = InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
    const int64_t n = tx.exec1("SELECT count(*) FROM items")[0].as<int64_t>();
    tx.StageWrite(absl::StrCat("INSERT INTO items VALUES (2, 'saw ", n, "')"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Query("SELECT count(*) FROM items WHERE note = 'saw 1'"), 1);
}

TEST_F(GroupCommitTest, AnOptimisticWriteWhoseRowChangedRunsAgainFromItsRead) {
  CreateCounters(1);
  pqxx::connection other(db_->url());
  int runs = 0;
  absl::Status s = InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
    ++runs;
    pqxx::row row =
        tx.ReadLatest("counter_get", "SELECT value, version FROM counters WHERE id = $1", 1)[0];
    const int value = row[0].as<int>(), version = row[1].as<int>();
    if (runs == 1) {  // somebody else adds 10 between this read and this commit
      pqxx::work w(other);
      w.exec("UPDATE counters SET value = value + 10, version = version + 1 WHERE id = 1");
      w.commit();
    }
    tx.StageWrite(
        absl::StrCat("WITH changed AS (UPDATE counters SET value = ", value + 1,
                     ", version = ", version + 1, " WHERE id = 1 AND version = ", version,
                     " RETURNING 1) SELECT techtrade_expect_one_row(count(*)) FROM changed"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Query("SELECT value FROM counters"), 11);  // nobody's change was lost
  EXPECT_EQ(Query("SELECT version FROM counters"), 3);
}

// Guarded writes of several callers merged into one statement (as deals are saved): when two
// read the same version of the same row, exactly one write lands and the other runs again from
// a fresh read; nobody's increment is lost.
TEST_F(GroupCommitTest, MergedOptimisticWritesLoseNothing) {
  CreateCounters(3);
  constexpr int kPerCaller = 30;
  std::atomic<int> runs{0};
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kPerCaller; ++i) {
        const int id = (c + i) % 3 + 1;  // callers collide on three rows all the time
        absl::Status s = InTransaction(*pool_, [&](Tx& tx) -> absl::Status {
          ++runs;
          pqxx::row row = tx.ReadLatest("counter_get",
                                        "SELECT value, version FROM counters WHERE id = $1", id)[0];
          const int value = row[0].as<int>(), version = row[1].as<int>();
          tx.StageRow("WITH saved (id, value, version, read_version) AS (VALUES ",
                      absl::StrCat("(", id, ", ", value + 1, ", ", version + 1, ", ", version, ")"),
                      "), changed AS (UPDATE counters SET value = saved.value, version = "
                      "saved.version FROM saved WHERE counters.id = saved.id AND "
                      "counters.version = saved.read_version RETURNING 1) SELECT "
                      "techtrade_expect_rows((SELECT count(*) FROM changed), "
                      "(SELECT count(*) FROM saved))");
          return absl::OkStatus();
        });
        // InTransaction gives up after a few collisions in a row; the caller would retry.
        if (!s.ok() && s.code() != absl::StatusCode::kAborted) ++failures;
        if (!s.ok()) --i;
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Query("SELECT sum(value) FROM counters"), kCallers * kPerCaller);
  EXPECT_EQ(Query("SELECT sum(version) FROM counters"), 3 + kCallers * kPerCaller);
  EXPECT_GT(runs.load(), kCallers * kPerCaller);  // some collided and ran again
}

}  // namespace
}  // namespace techtrade::testing

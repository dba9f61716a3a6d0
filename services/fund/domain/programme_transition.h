// A programme's changes as pure functions: the programme after the change, the ledger postings
// it makes and the events that announce it (ProgrammeCreated, ProgrammeClosed), each event a
// step that takes the programme's next version as its sequence. The handlers load, call one of
// these, then save and emit what it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/fund/domain/ledger.h"
#include "techtrade/fund/v1/fund.pb.h"

namespace techtrade::fund {

struct ProgrammeTransition {
  v1::Programme programme;  // after the change, its balances as the postings leave them
  bool created = false;     // a new programme: its record and zero balances are inserted first
  std::vector<Posting> postings;
  std::vector<std::unique_ptr<google::protobuf::Message>> events;
  std::vector<int64_t> sequences;  // sequences[i]: the programme's version as of events[i]
};

// A new ACTIVE programme `id` from a request that passed ValidateCreateProgramme, funded with
// its total budget (one kFund posting: budget → available).
ProgrammeTransition CreateProgramme(const v1::CreateProgrammeRequest& request,
                                    const std::string& id, absl::Time now);

// Closes the programme: ABORTED unless `expected_version` is current, FAILED_PRECONDITION if it
// is closed already.
absl::StatusOr<ProgrammeTransition> CloseProgramme(const v1::Programme& programme,
                                                   int64_t expected_version,
                                                   const std::string& reason, absl::Time now);

}  // namespace techtrade::fund

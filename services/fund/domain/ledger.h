// The programme's double-entry ledger as the rules see it: its named accounts, the kinds of
// entry, and the two accounts each kind moves money between. Because every kind has exactly one
// debit and one credit account, available + reserved + disbursed − clawed_back = total holds
// after any sequence of entries. The store maps each kind to the name the database keeps.
#pragma once

#include <cstdint>
#include <string>

#include "techtrade/fund/v1/fund.pb.h"

namespace techtrade::fund {

// A programme's accounts, numbered as fund.v1.LedgerAccount (the numbers entries are stored with).
enum class Account {
  kBudget = v1::LEDGER_ACCOUNT_BUDGET,           // the grant that funds the programme
  kAvailable = v1::LEDGER_ACCOUNT_AVAILABLE,     // budget not committed to any application
  kReserved = v1::LEDGER_ACCOUNT_RESERVED,       // committed to approved applications, unpaid
  kDisbursed = v1::LEDGER_ACCOUNT_DISBURSED,     // paid out to applicants
  kClawedBack = v1::LEDGER_ACCOUNT_CLAWED_BACK,  // receivables raised against paid money
};

inline v1::LedgerAccount ToProto(Account account) {
  return static_cast<v1::LedgerAccount>(account);
}

enum class EntryKind {
  kFund,      // the budget funds the programme (no application)
  kReserve,   // an approval commits part of the available budget
  kDisburse,  // a tranche is paid out of the reservation
  kRelease,   // a cancellation gives the unspent reservation back
  kClawback,  // a cancellation or a fraud finding claims back what was paid
  kRecovery,  // part of a clawback receivable came back: it was not paid out after all
  kWriteOff,  // what is still owed of a receivable is given up: the budget bears it
};

inline constexpr EntryKind kEntryKinds[] = {
    EntryKind::kFund,     EntryKind::kReserve,  EntryKind::kDisburse, EntryKind::kRelease,
    EntryKind::kClawback, EntryKind::kRecovery, EntryKind::kWriteOff};

struct AccountPair {
  Account debit;
  Account credit;
};

constexpr AccountPair AccountsOf(EntryKind kind) {
  switch (kind) {
    case EntryKind::kFund:
      return {Account::kAvailable, Account::kBudget};
    case EntryKind::kReserve:
      return {Account::kReserved, Account::kAvailable};
    case EntryKind::kDisburse:
      return {Account::kDisbursed, Account::kReserved};
    case EntryKind::kRelease:
      return {Account::kAvailable, Account::kReserved};
    case EntryKind::kClawback:
      return {Account::kAvailable, Account::kClawedBack};
    case EntryKind::kRecovery:
      return {Account::kClawedBack, Account::kDisbursed};
    case EntryKind::kWriteOff:
      return {Account::kClawedBack, Account::kAvailable};
  }
  return {Account::kAvailable, Account::kClawedBack};  // unreachable: the switch is exhaustive
}

// One entry a decision posts; the programme and the application are the decision's.
struct Posting {
  EntryKind kind = EntryKind::kFund;
  int64_t amount_minor = 0;
  std::string tranche;  // the disbursed tranche's name; empty for every other kind

  bool operator==(const Posting&) const = default;
};

// What the entries do to a programme's balances (the database's trigger does the same on insert).
void Post(const Posting& posting, v1::Balances& balances);

}  // namespace techtrade::fund

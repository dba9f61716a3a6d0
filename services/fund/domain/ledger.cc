#include "services/fund/domain/ledger.h"

namespace techtrade::fund {
namespace {

// Moves `signed_amount` into the account as a debit (negative: a credit). Budget and clawed back
// are credit-normal: their balances (total, clawed_back) grow with credits.
void Move(Account account, int64_t signed_amount, v1::Balances& b) {
  switch (account) {
    case Account::kBudget:
      b.set_total_minor(b.total_minor() - signed_amount);
      break;
    case Account::kAvailable:
      b.set_available_minor(b.available_minor() + signed_amount);
      break;
    case Account::kReserved:
      b.set_reserved_minor(b.reserved_minor() + signed_amount);
      break;
    case Account::kDisbursed:
      b.set_disbursed_minor(b.disbursed_minor() + signed_amount);
      break;
    case Account::kClawedBack:
      b.set_clawed_back_minor(b.clawed_back_minor() - signed_amount);
      break;
  }
}

}  // namespace

void Post(const Posting& posting, v1::Balances& balances) {
  const AccountPair accounts = AccountsOf(posting.kind);
  // A debit adds to the account's debit-normal balance; a credit takes from it.
  Move(accounts.debit, posting.amount_minor, balances);
  Move(accounts.credit, -posting.amount_minor, balances);
}

}  // namespace techtrade::fund

// The Unified Social Credit Code validator (services/registry/domain/credit_code.h) and the
// proto's STRING_FORMAT_CREDIT_CODE rule that runs before it. Besides not crashing: a code the
// validator accepts passes the format rule and carries the check character of its first 17.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/field_rules.h"
#include "services/registry/domain/credit_code.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& code) {
  std::fprintf(stderr, "credit_code_fuzzer: %s: '%s'\n", what, code.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string code(reinterpret_cast<const char*>(data), size);
  techtrade::common::v1::FieldRules rules;
  rules.set_max_chars(256);
  rules.set_format(techtrade::common::v1::STRING_FORMAT_CREDIT_CODE);
  const bool format_ok = techtrade::TextProblem(code, rules).empty();
  const absl::Status valid = techtrade::registry::ValidateCreditCode(code);
  if (!valid.ok() && valid.code() != absl::StatusCode::kInvalidArgument) {
    Fail("rejected with a code other than INVALID_ARGUMENT", code);
  }
  if (!valid.ok()) return 0;
  if (!format_ok) Fail("accepted by the validator, refused by the format rule", code);
  if (techtrade::registry::CreditCodeCheckCharacter(code.substr(0, 17)) != code[17]) {
    Fail("accepted with a wrong check character", code);
  }
  return 0;
}

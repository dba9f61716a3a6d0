// The IPC code parser (services/listings/domain/rules.h ParseIpc) and what the read model derives
// from a code (listing_keys.h). Besides not crashing: a parsed code's canonical form parses to
// the same code, and a code is as close to itself as its level allows.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "services/listings/domain/listing_keys.h"
#include "services/listings/domain/rules.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& code) {
  std::fprintf(stderr, "ipc_fuzzer: %s: '%s'\n", what, code.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<techtrade::listings::IpcCode> code = techtrade::listings::ParseIpc(text);
  if (!code.ok()) return 0;
  const std::string canonical = code->ToString();
  absl::StatusOr<techtrade::listings::IpcCode> again = techtrade::listings::ParseIpc(canonical);
  if (!again.ok()) Fail("canonical form does not parse", canonical);
  if (again->ToString() != canonical || again->section != code->section ||
      again->ipc_class != code->ipc_class || again->subclass != code->subclass ||
      again->main_group != code->main_group || again->subgroup != code->subgroup) {
    Fail("canonical form parses to another code", canonical);
  }
  const double self = techtrade::listings::IpcCloseness(*code, *code);
  if (self != (code->has_group() ? 1.0 : 0.75)) Fail("a code is not close to itself", canonical);
  (void)techtrade::listings::IpcClosenessReason(*code, *code);
  static const auto kOther = *techtrade::listings::ParseIpc("G06N 3/08");
  (void)techtrade::listings::IpcClosenessReason(*code, kOther);

  const uint32_t packed = techtrade::listings::internal::PackIpc(*code);
  if (packed != techtrade::listings::internal::PackIpc(*again)) Fail("packing differs", canonical);
  google::protobuf::RepeatedPtrField<std::string> codes;
  codes.Add(std::string(text));
  codes.Add(std::string(canonical));
  std::vector<std::string> texts;
  std::vector<uint32_t> keys;
  techtrade::listings::internal::ParseCodes(codes, &texts, &keys);
  if (keys.size() != 2 || keys[0] != keys[1]) Fail("ParseCodes disagrees with ParseIpc", canonical);
  return 0;
}

#include "services/listings/domain/listing_keys.h"

#include <algorithm>

namespace techtrade::listings::internal {

FieldMask MaskOfFields(const google::protobuf::RepeatedPtrField<std::string>& fields) {
  FieldMask mask = 0;
  for (const std::string& f : fields) {
    if (std::optional<int> i = FieldIndex(f)) mask |= FieldMask{1} << *i;
  }
  return mask;
}

ModeMask MaskOfModes(const google::protobuf::RepeatedField<int>& modes) {
  ModeMask mask = 0;
  for (int m : modes) {
    if (m > 0 && m < 32) mask |= ModeMask{1} << m;
  }
  return mask;
}

uint32_t PackIpc(const IpcCode& c) {
  return static_cast<uint32_t>(c.section - 'A') << 26 | static_cast<uint32_t>(c.ipc_class) << 19 |
         static_cast<uint32_t>(c.subclass - 'A') << 14 | (c.main_group & 0x3FFF);
}

void ParseCodes(const google::protobuf::RepeatedPtrField<std::string>& codes,
                std::vector<std::string>* canonical, std::vector<uint32_t>* packed) {
  for (const std::string& c : codes) {
    if (absl::StatusOr<IpcCode> code = ParseIpc(c); code.ok()) {
      canonical->push_back(code->ToString());
      packed->push_back(PackIpc(*code));
    }
  }
}

void PackInto(const std::vector<uint32_t>& packed, uint32_t (&ipc)[4], uint8_t& count) {
  count = static_cast<uint8_t>(std::min<size_t>(packed.size(), 4));
  for (int i = 0; i < count; ++i) ipc[i] = packed[i];
}

}  // namespace techtrade::listings::internal

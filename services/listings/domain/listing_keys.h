// The compact keys the read model keeps of a listing for search and matchmaking: bit masks of
// its fields and transfer modes, and its IPC codes packed into integers.
#pragma once

#include <google/protobuf/repeated_field.h>

#include <cstdint>
#include <string>
#include <vector>

#include "services/listings/domain/read_model.h"
#include "services/listings/domain/rules.h"

namespace techtrade::listings::internal {

FieldMask MaskOfFields(const google::protobuf::RepeatedPtrField<std::string>& fields);
ModeMask MaskOfModes(const google::protobuf::RepeatedField<int>& modes);
// An IPC code packed so that closeness is a few comparisons: section (3 bits), class (7),
// subclass (5), main group (14, 0 at subclass level).
uint32_t PackIpc(const IpcCode& c);
// Canonical text and packed keys of the codes that parse.
void ParseCodes(const google::protobuf::RepeatedPtrField<std::string>& codes,
                std::vector<std::string>* canonical, std::vector<uint32_t>* packed);
// The first four packed codes, as a listing keeps them.
void PackInto(const std::vector<uint32_t>& packed, uint32_t (&ipc)[4], uint8_t& count);

}  // namespace techtrade::listings::internal

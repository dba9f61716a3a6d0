// How techtradectl builds a request: field flags set through protobuf reflection, money parsed
// through common/money.h, and the request_id of a mutation derived from what it asks.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace techtrade::ctl {

// Sets the field at `path` ("name", nested "rules.per_deal_cap_minor"; repeated fields get one
// more item) from its text; the error to show when the text does not fit the field.
std::optional<std::string> SetField(google::protobuf::Message* msg, const std::string& path,
                                    const std::string& value);

// A techtrade.common.v1.Money from "80000.00 CNY", "CNY 80,000.00" (decimals as the currency has
// them: JPY none, KWD three) or "8000000" (minor units; the currency is set on its own).
absl::Status ParseMoney(const std::string& text, google::protobuf::Message* money);

// The request_id of `request` to `method` when none is given: the same command with the same
// fields always makes the same id, so that running it again (after a timeout, a lost answer)
// retries it rather than doing it twice. "ctl-" and 32 hex digits of a SHA-256 over the method
// and the request's deterministic serialization (request_id left out).
std::string DeriveRequestId(const std::string& method, const google::protobuf::Message& request);

// KEY=value lines (quotes around the value dropped, # comments skipped) of an env file.
std::map<std::string, std::string> ReadEnvFile(const std::string& path);

}  // namespace techtrade::ctl

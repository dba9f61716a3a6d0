// How techtradectl prints an answer: as a table (a List response's rows), as "field value" lines,
// or as JSON — money through common/money.h, times in RFC 3339. What cannot be printed
// truthfully (a timestamp outside google.protobuf.Timestamp's range, JSON the printer refuses) is
// reported, never silently dropped.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace techtrade::ctl {

// Where `msg` holds values that cannot be printed truthfully, as "path: problem" (e.g.
// "contract.signing_time: not a valid time (seconds=1, nanos=-1)"); looks into
// google.protobuf.Any payloads of linked-in types too.
std::vector<std::string> Unprintable(const google::protobuf::Message& msg);

// The text form of `msg`; each value that cannot be printed shows as <…> and adds to `errors`.
std::string RenderText(const google::protobuf::Message& msg, std::vector<std::string>* errors);
// The JSON form of `msg` (field names as in the .proto); "" with `errors` when it cannot be made.
std::string RenderJson(const google::protobuf::Message& msg, std::vector<std::string>* errors);

}  // namespace techtrade::ctl

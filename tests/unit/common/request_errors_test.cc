// What a caller and an operator see of a refused request: bounded status messages, protobuf's
// own complaints in the JSON log, and the paths a failed parse names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/request_parsing.h"
#include "techtrade/registry/v1/registry.pb.h"
#include "techtrade/transactions/v1/transactions.pb.h"

namespace techtrade {
namespace {

using ::testing::HasSubstr;

TEST(StatusMessageTest, LongMessagesAreCutToFitAResponseHeaderAtACharacterBoundary) {
  std::string long_text = "credit_code: ";
  while (long_text.size() < 100'000) long_text += "东";  // 3 bytes each
  grpc::Status s = ToGrpcStatus(absl::InvalidArgumentError(long_text));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(s.error_message().size(), kMaxStatusMessageBytes + 3);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "credit_code: "));
  // Every byte that starts a sequence is followed by the whole sequence.
  const std::string& m = s.error_message();
  const std::string body = m.substr(0, m.size() - std::string("…").size());
  EXPECT_EQ((body.size() - 13) % 3, 0u);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("short")).error_message(), "short");
}

TEST(ProtobufLogTest, ProtobufsOwnLinesAreJsonLikeEveryOther) {
  InstallProtobufLogHandler();
  log::SetLevel(log::Level::kDebug);
  registry::v1::RegisterOrganizationRequest r;
  r.set_name("bad \xC3\x28");
  std::string bytes;
  ::testing::internal::CaptureStderr();
  r.SerializeToString(&bytes);  // protobuf complains about the invalid UTF-8
  registry::v1::RegisterOrganizationRequest parsed;
  EXPECT_FALSE(parsed.ParseFromString(bytes));
  const std::string err = ::testing::internal::GetCapturedStderr();
  log::SetLevel(log::Level::kInfo);
  ASSERT_FALSE(err.empty());
  for (absl::string_view line : absl::StrSplit(err, '\n', absl::SkipEmpty())) {
    nlohmann::json parsed_line = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed_line.is_discarded()) << line;
  }
  EXPECT_THAT(err, HasSubstr("not valid UTF-8"));
  EXPECT_THAT(err, HasSubstr("RegisterOrganizationRequest.name"));
}

TEST(RequestParsingTest, AFieldIsNamedByItsPathsInTheRequest) {
  const auto* terms = transactions::v1::ProposeTermsRequest::descriptor();
  EXPECT_EQ(PathsOfField(terms, "techtrade.transactions.v1.MilestonePlan.title"),
            "milestones.title");
  EXPECT_EQ(PathsOfField(terms, "techtrade.common.v1.Money.currency"),
            "price.currency or milestones.amount.currency");
  EXPECT_EQ(PathsOfField(terms, "techtrade.transactions.v1.ProposeTermsRequest.territory"),
            "territory");
  EXPECT_EQ(PathsOfField(nullptr, "x.y.z"), "x.y.z");
}

}  // namespace
}  // namespace techtrade

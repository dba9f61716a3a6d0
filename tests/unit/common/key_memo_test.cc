// The in-process memo of authentications: a key forgotten (revoked, rotated) while an
// authentication of it is in flight is not remembered from that authentication.
#include <gtest/gtest.h>

#include <functional>

#include "common/auth.h"

namespace techtrade {
namespace {

// Accepts every key, running `during` (once) inside the call, and counts the calls.
class CountingAuthenticator final : public Authenticator {
 public:
  absl::StatusOr<Principal> Authenticate(absl::string_view api_key) override {
    ++calls;
    if (during) std::exchange(during, nullptr)();
    Principal principal;
    principal.set_api_key_id(std::string(ParseApiKey(api_key)->key_id));
    return principal;
  }
  std::function<void()> during;
  int calls = 0;
};

TEST(KeyMemoTest, AKeyForgottenDuringItsAuthenticationIsNotRemembered) {
  CountingAuthenticator inner;
  MemoizingAuthenticator memo(inner, absl::Seconds(60));
  const std::string key = NewApiKey();
  // The revocation lands after the inner authenticator read the key, before the memo stores it.
  inner.during = [&] { memo.Forget(ParseApiKey(key)->key_id); };
  ASSERT_TRUE(memo.Authenticate(key).ok());
  ASSERT_TRUE(memo.Authenticate(key).ok());
  EXPECT_EQ(inner.calls, 2);  // asked again, not answered from the memo
  ASSERT_TRUE(memo.Authenticate(key).ok());
  EXPECT_EQ(inner.calls, 2);  // remembered once nothing intervened
}

}  // namespace
}  // namespace techtrade

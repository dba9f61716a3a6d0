#include "bench/services.h"

#include "techtrade/bench/v1/echo.grpc.pb.h"
#include "tests/support/harness.h"

namespace techtrade::bench {

ScenarioResult MeasureEchoCeiling(const std::string& name, int threads, absl::Duration duration,
                                  long* rss_kib) {
  testing::ServiceProcess echo("echo_server", {});
  if (!echo.WaitUntilServing()) {
    ScenarioResult failed;
    failed.name = name;
    failed.errors = 1;
    return failed;
  }
  auto stubs = Stubs<techtrade::bench::v1::EchoService>(echo.address(), threads);
  ScenarioResult r = ClosedLoop(name, threads, duration, [&](int t, int64_t) {
    grpc::ClientContext ctx;
    techtrade::bench::v1::EchoRequest req;
    req.set_message("ping");
    techtrade::bench::v1::EchoResponse resp;
    return stubs[t]->Echo(&ctx, req, &resp).ok();
  });
  r.note = "ceiling: same gRPC stack, no work";
  if (rss_kib != nullptr) *rss_kib = echo.RssKib();
  echo.Terminate();
  return r;
}

}  // namespace techtrade::bench

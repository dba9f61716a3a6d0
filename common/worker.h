// A loop a service runs beside its handlers (an event consumer, a read-model follower): started
// by RunService once the service is built, stopped after the gRPC server has drained.
#pragma once

namespace techtrade {

class Worker {
 public:
  virtual ~Worker() = default;
  virtual void Start() = 0;
  virtual void Stop() = 0;
};

}  // namespace techtrade

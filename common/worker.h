// A loop a service runs beside its handlers (an event consumer, a read-model follower): started
// by RunService once the service is built, stopped after the gRPC server has drained.
#pragma once

namespace techtrade {

class Worker {
 public:
  virtual ~Worker() = default;
  virtual void Start() = 0;
  // Asks the loop to end and returns at once, so that a process stopping several workers waits
  // for the slowest instead of for each in turn.
  virtual void RequestStop() = 0;
  // Ends the loop and waits for it (RequestStop first if it was not).
  virtual void Stop() = 0;
};

}  // namespace techtrade

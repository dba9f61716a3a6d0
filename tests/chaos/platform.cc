// The chaos platform: replicas, their supervisor, slow-link proxies, the timeline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/auth.h"
#include "common/ids.h"
#include "common/tls.h"
#include "tests/chaos/chaos.h"

namespace techtrade::chaos {

// ---------------------------------------------------------------------------------------------
void Timeline::Log(const std::string& kind, const std::string& text) {
  const double t = absl::ToDoubleSeconds(absl::Now() - start_);
  std::string line = absl::StrFormat("%8.3fs  %-16s %s", t, kind, text);
  {
    std::lock_guard<std::mutex> l(mu_);
    lines_.push_back(line);
  }
  std::cerr << "[timeline] " << line << "\n";
}

std::string Timeline::Dump() const {
  std::lock_guard<std::mutex> l(mu_);
  return absl::StrJoin(lines_, "\n");
}

// ---------------------------------------------------------------------------------------------
Child::Child(std::vector<std::string> argv, const std::string& log_path) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

// ---------------------------------------------------------------------------------------------
Supervisor::Supervisor() : thread_([this] { Loop(); }) {}

Supervisor::~Supervisor() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Supervisor::Run(std::function<void()> task) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  {
    std::lock_guard<std::mutex> l(mu_);
    tasks_.emplace_back(std::move(task), done);
  }
  cv_.notify_all();
  f.wait();
}

void Supervisor::SetPoll(std::function<void()> poll) {
  std::lock_guard<std::mutex> l(mu_);
  poll_ = std::move(poll);
}

void Supervisor::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait_for(l, std::chrono::milliseconds(200), [this] { return stop_ || !tasks_.empty(); });
    if (!tasks_.empty()) {
      auto [task, done] = std::move(tasks_.front());
      tasks_.pop_front();
      l.unlock();
      task();
      done->set_value();
      l.lock();
      continue;
    }
    if (stop_) return;
    if (poll_) {
      auto poll = poll_;
      l.unlock();
      poll();
      l.lock();
    }
  }
}

// ---------------------------------------------------------------------------------------------
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// True if the process has exited (a zombie, our unreaped child) or is gone.
bool Exited(pid_t pid) {
  if (pid <= 0) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string content;
  if (!std::getline(stat, content)) return true;
  size_t paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return true;
  const char state = content[paren + 2];
  return state == 'Z' || state == 'X';
}

int PgPort(const std::string& server_url) {
  size_t colon = server_url.rfind(':');
  return std::atoi(server_url.c_str() + colon + 1);
}

}  // namespace

Platform::Platform(const testing::Stack& stack, PlatformOptions options, Timeline* timeline,
                   FaultState* faults)
    : stack_(stack), options_(std::move(options)), timeline_(timeline), faults_(faults) {
  supervisor_ = std::make_unique<Supervisor>();
}

Platform::~Platform() { Shutdown(); }

void Platform::Shutdown() {
  if (supervisor_ == nullptr) return;
  supervisor_->SetPoll(nullptr);
  ContinueAll();
  supervisor_->Run([this] {
    std::lock_guard<std::mutex> l(mu_);
    // Reverse order of the dependencies.
    for (const char* s : {"fund", "transactions", "listings", "registry"}) {
      for (auto& r : replicas_[s]) r->process.reset();
    }
    proxies_.clear();
  });
  supervisor_.reset();
  dbs_.clear();
}

Platform::Replica& Platform::At(const std::string& service, int index) {
  return *replicas_.at(service).at(index);
}

std::string Platform::Target(const std::string& service) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> addrs;
  for (const auto& r : replicas_.at(service)) addrs.push_back(absl::StrCat("127.0.0.1:", r->port));
  return "ipv4:" + absl::StrJoin(addrs, ",");
}

std::shared_ptr<grpc::Channel> Platform::Channel(const std::string& service, int replica) const {
  int port;
  {
    std::lock_guard<std::mutex> l(mu_);
    port = replicas_.at(service).at(replica)->port;
  }
  grpc::ChannelArguments args;
  // Reconnect quickly after a restart: the default backoff grows to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   ChannelCredentialsFor(ProcessTls()), args);
}

bool Platform::StartReplicaLocked(Replica& r) {
  std::map<std::string, std::string> env = r.env;
  env["TECHTRADE_GRPC_PORT"] = absl::StrCat(r.port);
  r.process = std::make_unique<testing::ServiceProcess>(r.service, env);
  log_paths_.push_back(r.process->log_path());
  const bool ok = r.process->WaitUntilServing(absl::Seconds(40));
  if (ok && r.port == 0) r.port = r.process->port();
  if (!ok) {
    timeline_->Log("start-failed",
                   absl::StrCat(r.service, "#", r.index, " did not become serving (",
                                r.process->log_path(), ")"));
    r.process->Kill();
  }
  return ok;
}

bool Platform::Start() {
  operator_key_ = NewApiKey();
  for (const char* s : kServices) {
    dbs_[s] = std::make_unique<testing::ScratchDatabase>(stack_, options_.db_prefix + s);
    db_urls_[s] = dbs_[s]->url();
  }
  const std::string run = RandomHex(4);
  groups_["listings.registry"] = "chaos-listings-registry-" + run;
  groups_["listings.transactions"] = "chaos-listings-transactions-" + run;
  groups_["fund.transactions"] = "chaos-fund-transactions-" + run;
  groups_["fund.registry"] = "chaos-fund-registry-" + run;
  // The consumer groups start at the topics' current ends: events of earlier runs on the shared
  // topics are not theirs.
  groups_["listings.registry"] = testing::ConsumerGroupAtEnd(
      stack_.kafka_brokers, "techtrade.registry.events.v1", "chaos-listings-registry");
  groups_["listings.transactions"] = testing::ConsumerGroupAtEnd(
      stack_.kafka_brokers, "techtrade.transactions.events.v1", "chaos-listings-transactions");
  groups_["fund.transactions"] = testing::ConsumerGroupAtEnd(
      stack_.kafka_brokers, "techtrade.transactions.events.v1", "chaos-fund-transactions");
  groups_["fund.registry"] = testing::ConsumerGroupAtEnd(
      stack_.kafka_brokers, "techtrade.registry.events.v1", "chaos-fund-registry");

  bool ok = true;
  supervisor_->Run([&] {
    // Slow links: a proxy in front of PostgreSQL for the last replica of each service.
    if (options_.slow_link_proxies && options_.replicas >= 2) {
      for (const char* s : kServices) {
        const int port = FreePort();
        const std::string file = absl::StrCat(::testing::TempDir(), "/chaos-delay-", s, "-", run);
        std::ofstream(file) << 0 << "\n";
        delay_files_[s] = file;
        proxies_[s] = std::make_unique<Child>(
            std::vector<std::string>{"python3", testing::SourceDir() + "/tools/delay_proxy.py",
                                     absl::StrCat(port), absl::StrCat(PgPort(stack_.pg_server_url)),
                                     file},
            absl::StrCat(::testing::TempDir(), "/chaos-proxy-", s, "-", run, ".log"));
        // The URL the replica uses: same database, through the proxy.
        std::string url = db_urls_[s];
        const std::string pg_port = absl::StrCat(":", PgPort(stack_.pg_server_url), "/");
        url.replace(url.find(pg_port), pg_port.size(), absl::StrCat(":", port, "/"));
        delay_files_[std::string(s) + ".url"] = url;
      }
      absl::SleepFor(absl::Milliseconds(500));  // the proxies bind
    }
    std::map<std::string, std::string> common = {{"TECHTRADE_KAFKA_BROKERS", stack_.kafka_brokers},
                                                 {"TECHTRADE_REDIS_URL", stack_.redis_url},
                                                 {"TECHTRADE_DB_POOL_SIZE", "6"},
                                                 {"TECHTRADE_GRPC_MAX_THREADS", "32"},
                                                 {"TECHTRADE_SHUTDOWN_GRACE_SECONDS", "2"},
                                                 // A killed relay leader is replaced within
                                                 // seconds, as the fault schedule's pace needs.
                                                 {"TECHTRADE_LEASE_TTL_SECONDS", "3"},
                                                 {"TECHTRADE_LOG_LEVEL", "warn"}};
    if (!options_.failpoints.empty()) common["TECHTRADE_FAILPOINTS"] = options_.failpoints;
    for (const char* s : kServices) {
      for (int i = 0; i < options_.replicas; ++i) {
        auto r = std::make_unique<Replica>();
        r->service = s;
        r->index = i;
        r->env = common;
        r->env["TECHTRADE_PG_URL"] = db_urls_[s];
        if (i == options_.replicas - 1 && delay_files_.contains(std::string(s) + ".url")) {
          r->env["TECHTRADE_PG_URL"] = delay_files_[std::string(s) + ".url"];
        }
        const std::string service = s;
        if (service == "registry") {
          r->env["TECHTRADE_BOOTSTRAP_OPERATOR_KEY"] = operator_key_;
        } else {
          r->env["TECHTRADE_REGISTRY_ADDR"] = Target("registry");
        }
        if (service == "listings") {
          r->env["TECHTRADE_LISTINGS_REGISTRY_CONSUMER"] = groups_["listings.registry"];
          r->env["TECHTRADE_LISTINGS_TRANSACTIONS_CONSUMER"] = groups_["listings.transactions"];
        }
        if (service == "transactions") r->env["TECHTRADE_LISTINGS_ADDR"] = Target("listings");
        if (service == "fund") {
          r->env["TECHTRADE_FUND_TRANSACTIONS_CONSUMER"] = groups_["fund.transactions"];
          r->env["TECHTRADE_FUND_REGISTRY_CONSUMER"] = groups_["fund.registry"];
        }
        Replica* raw = r.get();
        {
          std::lock_guard<std::mutex> l(mu_);
          replicas_[s].push_back(std::move(r));
        }
        if (!StartReplicaLocked(*raw)) {
          std::cerr << "chaos: " << s << "#" << i << " did not start\n";
          ok = false;
          return;
        }
      }
    }
  });
  if (!ok) return false;
  supervisor_->SetPoll([this] { PollDead(); });
  return true;
}

void Platform::PollDead() {
  std::vector<Replica*> dead;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [s, list] : replicas_) {
      for (auto& r : list) {
        if (r->held_down) continue;
        if (r->process == nullptr || Exited(r->process->pid())) dead.push_back(r.get());
      }
    }
  }
  for (Replica* r : dead) {
    const bool crashed = r->process != nullptr;
    std::string log = crashed ? r->process->log_path() : "";
    if (crashed) {
      faults_->Count("failpoint-crash");
      timeline_->Log("failpoint-crash",
                     absl::StrCat(r->service, "#", r->index, " exited on its own (", log, ")"));
    }
    r->process.reset();  // reaps it
    faults_->active++;
    const bool ok = StartReplicaLocked(*r);
    faults_->active--;
    ++r->restarts;
    timeline_->Log("restart", absl::StrCat(r->service, "#", r->index, ok ? " serving" : " FAILED"));
    if (!ok) absl::SleepFor(absl::Seconds(1));
  }
}

bool Platform::KillReplica(const std::string& service, int index) {
  bool ok = false;
  supervisor_->Run([&] {
    Replica& r = At(service, index);
    if (r.process == nullptr || r.held_down) return;
    r.held_down = true;
    kill(r.process->pid(), SIGKILL);
    r.process->Kill();
    r.process.reset();
    ok = true;
  });
  return ok;
}

bool Platform::RestartReplica(const std::string& service, int index) {
  bool ok = false;
  supervisor_->Run([&] {
    Replica& r = At(service, index);
    for (int attempt = 0; attempt < 5 && !ok; ++attempt) {
      r.process.reset();
      ok = StartReplicaLocked(r);
      if (!ok) absl::SleepFor(absl::Seconds(1));
    }
    r.held_down = false;
    ++r.restarts;
  });
  return ok;
}

bool Platform::StopReplica(const std::string& service, int index) {
  bool ok = false;
  supervisor_->Run([&] {
    Replica& r = At(service, index);
    if (r.process == nullptr || r.held_down || Exited(r.process->pid())) return;
    r.held_down = true;  // a stopped process must not be taken for dead
    r.stopped = true;
    ok = kill(r.process->pid(), SIGSTOP) == 0;
  });
  return ok;
}

void Platform::ContinueReplica(const std::string& service, int index) {
  supervisor_->Run([&] {
    Replica& r = At(service, index);
    if (r.process != nullptr) kill(r.process->pid(), SIGCONT);
    r.stopped = false;
    r.held_down = false;
  });
}

void Platform::ContinueAll() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [s, list] : replicas_) {
    for (auto& r : list) {
      if (r->stopped && r->process != nullptr) kill(r->process->pid(), SIGCONT);
      r->stopped = false;
    }
  }
  for (auto& [k, file] : delay_files_) {
    if (k.find(".url") == std::string::npos) std::ofstream(file) << 0 << "\n";
  }
}

void Platform::SetLinkDelay(const std::string& service, int delay_ms) {
  auto it = delay_files_.find(service);
  if (it == delay_files_.end()) return;
  const std::string tmp = it->second + ".tmp";
  std::ofstream(tmp) << delay_ms << "\n";
  std::rename(tmp.c_str(), it->second.c_str());
}

bool Platform::EnsureAllUp(absl::Duration timeout) {
  ContinueAll();
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [s, list] : replicas_) {
      for (auto& r : list) r->held_down = false;
    }
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    bool all = true;
    supervisor_->Run([&] {
      PollDead();
      std::lock_guard<std::mutex> l(mu_);
      for (auto& [s, list] : replicas_) {
        for (auto& r : list) {
          if (r->process == nullptr || Exited(r->process->pid())) all = false;
        }
      }
    });
    if (all) return true;
    absl::SleepFor(absl::Milliseconds(500));
  }
  return false;
}

std::vector<std::string> Platform::LogPaths() const {
  std::lock_guard<std::mutex> l(mu_);
  return log_paths_;
}

// ---------------------------------------------------------------------------------------------
std::vector<std::vector<std::string>> Query(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  pqxx::result res = tx.exec(sql);
  std::vector<std::vector<std::string>> out;
  for (const auto& row : res) {
    std::vector<std::string> r;
    for (const auto& f : row) r.push_back(f.is_null() ? "" : f.c_str());
    out.push_back(std::move(r));
  }
  return out;
}

bool StackCommand(const testing::Stack& stack, const std::string& verb,
                  const std::string& component) {
  std::string cmd = absl::StrCat("TECHTRADE_INSTANCE=", stack.instance, " ", testing::SourceDir(),
                                 "/deploy/local/stack.sh ", verb, " ", component, " >&2");
  return std::system(cmd.c_str()) == 0;
}

}  // namespace techtrade::chaos

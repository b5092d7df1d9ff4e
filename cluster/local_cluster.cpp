// Threads, start-up order and shutdown for the in-process cluster.
#include "cluster/local_cluster.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace podlab {
namespace {

int64_t chief_messages_out(const std::vector<EndpointCounters>& counters) {
  for (const EndpointCounters& c : counters)
    if (c.name == "worker:0") return c.messages_out;
  return 0;
}

}  // namespace

void LocalClusterObserver::on_output(const std::string& /*source*/, bool is_stderr, const std::string& line) {
  std::fprintf(is_stderr ? stderr : stdout, "%s\n", line.c_str());
  std::fflush(is_stderr ? stderr : stdout);
}

Result<ClusterReport> run_local_cluster(const LocalClusterOptions& o, const Dataset& data,
                                        LocalClusterObserver* observer) {
  using Clock = std::chrono::steady_clock;
  const TrainingPlan& plan = o.plan;
  if (o.num_ps < 1) return Status::Usage("need at least one ps task");
  if (plan.total_steps < 1) return Status::Internal("the plan is not finished (finish_plan)");
  ClusterReport report;
  {
    auto net = Network::build(plan.train.model, data.input_shape(), data.num_classes);
    if (!net.ok()) return net.status();
    auto pl = make_placement((*net)->layout(), o.num_ps, o.placement);
    if (!pl.ok()) return pl.status();
    report.placement = std::move(*pl);
  }
  TransportConfig tc = o.network;
  tc.cluster = local_cluster_spec(o.num_ps, plan.num_workers);
  tc.local = tc.cluster.tasks();
  auto transport = make_transport(o.transport, tc);
  if (!transport.ok()) return transport.status();
  ProgressBoard board(tc.local);

  auto context = [&](TaskId self) {
    Context c;
    c.self = self;
    c.plan = &plan;
    c.placement = &report.placement;
    c.transport = transport->get();
    c.data = &data;
    c.board = &board;
    c.observer = self.role == Role::kWorker && self.index == 0 ? observer : nullptr;
    return c;
  };
  std::vector<std::unique_ptr<PsServer>> servers;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int k = 0; k < o.num_ps; ++k) {
    auto s = PsServer::create(context({Role::kPs, k}));
    if (!s.ok()) return s.status();
    servers.push_back(std::move(*s));
  }
  for (int i = 0; i < plan.num_workers; ++i) {
    auto w = Worker::create(context({Role::kWorker, i}));
    if (!w.ok()) return w.status();
    workers.push_back(std::move(*w));
  }

  // Threads write only their own slot of these; read after join (or the atomics while running).
  std::vector<Status> ps_status(o.num_ps);
  report.worker_status.resize(plan.num_workers);
  std::vector<std::atomic<bool>> worker_done(plan.num_workers);
  for (auto& d : worker_done) d.store(false);
  std::vector<std::thread> threads;
  for (int k = 0; k < o.num_ps; ++k) threads.emplace_back([&, k] { ps_status[k] = servers[k]->run(); });
  for (int i = 0; i < plan.num_workers; ++i)
    threads.emplace_back([&, i] {
      report.worker_status[i] = workers[i]->run();
      worker_done[i].store(true);
    });

  const auto t0 = Clock::now();
  auto next_tick = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.progress_interval_s));
  auto tick_if_due = [&] {
    if (observer && Clock::now() >= next_tick) {
      observer->on_tick(board.snapshot(), std::chrono::duration<double>(Clock::now() - t0).count());
      if (observer->wants_live()) {
        ClusterLive live;
        for (const auto& s : servers) live.ps.push_back(s->stats());
        for (const auto& w : workers) live.workers.push_back(w->stats());
        live.transport = (*transport)->counters();
        observer->on_live(live, report.placement);
      }
      next_tick += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.progress_interval_s));
    }
  };
  while (!worker_done[0].load()) {
    tick_if_due();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto grace_end = Clock::now() + std::chrono::milliseconds(o.grace_ms);
  auto all_done = [&] {
    for (auto& d : worker_done)
      if (!d.load()) return false;
    return true;
  };
  while (!all_done() && Clock::now() < grace_end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  (*transport)->shutdown();
  for (std::thread& t : threads) t.join();

  for (int k = 0; k < o.num_ps; ++k) {
    report.ps.push_back(servers[k]->stats());
    report.ps_values.push_back(servers[k]->values());
  }
  for (const auto& w : workers) report.workers.push_back(w->stats());
  report.transport = (*transport)->counters();
  report.chief = workers[0]->chief_result();
  report.parameters = workers[0]->parameters();
  if (!report.worker_status[0].ok()) {
    // Silenced by --sim-kill-worker 0:N, the chief sees its ps tasks go quiet (they cannot answer what
    // never reaches them); the cause is the chief's own simulated death, and the message says so.
    auto silent = o.network.worker_silent_after.find(0);
    const bool silenced = silent != o.network.worker_silent_after.end() && !report.transport.empty() &&
                          chief_messages_out(report.transport) > silent->second;
    if (silenced)
      return Status::Error(report.worker_status[0].code(),
                    "the chief (worker:0) went silent after " + std::to_string(silent->second) +
                        (silent->second == 1 ? " message" : " messages") + " (--sim-kill-worker 0:" +
                        std::to_string(silent->second) + "), as a killed chief would: nobody else can finish the run, so it ended (the chief's own view: " +
                        report.worker_status[0].message() + ")");
    return report.worker_status[0].With("chief (worker:0)");
  }
  for (int k = 0; k < o.num_ps; ++k)
    if (!ps_status[k].ok()) return ps_status[k].With("ps:" + std::to_string(k));
  return report;
}

}  // namespace podlab

// Running the in-process cluster for the GUI.
#include "gui/cluster_session.h"

#include <functional>

#include "engine/train_defaults.h"

namespace podlab::gui {

class ClusterSession::Observer : public LocalClusterObserver {
 public:
  explicit Observer(ClusterSession& s) : s_(s) {}
  bool should_stop() override { return s_.stop_.load(); }
  void on_epoch(const ClusterEpochReport& e) override {
    s_.publish([&](ClusterStatus& st) { st.test_accuracy.emplace_back(e.elapsed_s, e.test.accuracy); });
  }
  void on_tick(const std::vector<TaskProgress>& tasks, double elapsed_s) override {
    s_.publish([&](ClusterStatus& st) {
      st.tasks = tasks;
      st.elapsed_s = elapsed_s;
      if (st.phase == "starting") st.phase = "running";
    });
  }
  bool wants_live() const override { return true; }
  void on_live(const ClusterLive& live, const Placement& placement) override {
    s_.publish([&](ClusterStatus& st) {
      st.live = live;
      if (st.placement.shards.empty()) st.placement = placement;
      ++st.ticks;
    });
  }

 private:
  ClusterSession& s_;
};

ClusterSession::~ClusterSession() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ClusterSession::publish(const std::function<void(ClusterStatus&)>& edit) {
  std::lock_guard<std::mutex> lock(mu_);
  edit(status_);
}

ClusterStatus ClusterSession::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool ClusterSession::busy() const { return busy_.load(); }

void ClusterSession::stop() {
  stop_ = true;
  publish([](ClusterStatus& st) {
    if (st.phase == "running" || st.phase == "starting") st.phase = "stopping";
  });
}

Status ClusterSession::start(const GuiSetup& setup, std::shared_ptr<const Dataset> data, const LinkModel& link,
                             int epochs) {
  if (busy_.load()) return Status::Usage("a cluster run is still going: stop it first");
  if (!data) return Status::Data("no dataset loaded yet");
  PODLAB_RETURN_IF_ERROR(validate_setup(setup));
  auto mode = SyncMode::parse(setup.cluster_mode);
  if (!mode.ok()) return mode.status();
  if (thread_.joinable()) thread_.join();  // the previous run has ended (busy_ is false)

  LocalClusterOptions o;
  TrainingPlan& plan = o.plan;
  plan.train.model = *ModelSpec::parse(setup.model);
  plan.train.optimizer.name = setup.optimizer;
  plan.train.optimizer.lr = setup.lr;
  plan.train.batch = setup.batch;
  plan.train.seed = setup.seed;
  plan.mode = *mode;
  plan.num_workers = setup.cluster_workers;
  plan.replicas_to_aggregate = setup.cluster_workers - setup.cluster_backup;
  plan.epochs = epochs;
  plan.train_count = data->train.count;
  plan.eval_limit = 1000;
  PODLAB_RETURN_IF_ERROR(finish_plan(plan));
  const float decay = train_defaults(plan.train.model.kind).decay_per_epoch;  // as `podlab cluster run`
  if (decay != 1.0f) {
    plan.train.optimizer.schedule.kind = LrSchedule::Kind::kExponential;
    plan.train.optimizer.schedule.rate = decay;
    plan.train.optimizer.schedule.every = plan.steps_per_epoch;
  }
  o.num_ps = setup.cluster_ps;
  o.placement = setup.cluster_placement;
  o.network.link = link;
  o.network.seed = setup.seed;
  o.network.live = faults_;
  o.progress_interval_s = 0.25;
  o.grace_ms = 500;

  // Faults from an earlier run start cleared.
  faults_->loss = 0;
  for (auto& f : faults_->worker_slowdown) f = 0;
  for (auto& f : faults_->worker_killed) f = false;
  for (auto& f : faults_->ps_killed) f = false;
  stop_ = false;
  busy_ = true;
  publish([&](ClusterStatus& st) {
    st = ClusterStatus{};
    st.phase = "starting";
    st.num_ps = o.num_ps;
    st.num_workers = plan.num_workers;
    st.total_steps = plan.total_steps;
  });
  thread_ = std::thread([this, o, data] {
    Observer observer(*this);
    auto r = run_local_cluster(o, *data, &observer);
    publish([&](ClusterStatus& st) {
      if (r.ok()) {
        st.phase = "done";
        st.live.ps = r->ps;
        st.live.workers = r->workers;
        st.live.transport = r->transport;
      } else {
        st.phase = "error";
        st.error = r.status().message();
      }
    });
    busy_ = false;
  });
  return Status::Ok();
}

std::vector<std::vector<double>> link_rates(const std::vector<EndpointCounters>& before,
                                            const std::vector<EndpointCounters>& after, int num_ps,
                                            int num_workers, double dt) {
  std::vector<std::vector<double>> rate(num_workers, std::vector<double>(num_ps, 0.0));
  if (dt <= 0) return rate;
  auto find = [](const std::vector<EndpointCounters>& v, const std::string& name) -> const EndpointCounters* {
    for (const EndpointCounters& c : v)
      if (c.name == name) return &c;
    return nullptr;
  };
  for (int w = 0; w < num_workers; ++w) {
    const std::string wn = TaskId{Role::kWorker, w}.name();
    const EndpointCounters* a = find(before, wn);
    const EndpointCounters* b = find(after, wn);
    if (!b) continue;
    for (int k = 0; k < num_ps; ++k) {
      const std::string pn = TaskId{Role::kPs, k}.name();
      auto bytes = [&](const EndpointCounters* c) -> double {
        if (!c) return 0;
        auto it = c->peers.find(pn);
        return it == c->peers.end() ? 0 : static_cast<double>(it->second.bytes_out + it->second.bytes_in);
      };
      rate[w][k] = std::max(0.0, (bytes(b) - bytes(a)) / dt);
    }
  }
  return rate;
}

}  // namespace podlab::gui

// Cluster spec parsing with nlohmann::json (a well-kept header-only parser: config files and
// TF_CONFIG are untrusted input, so we do not hand-roll one), through parse_json_input, which also
// refuses repeated keys. Exceptions stay inside this file.
#include "cluster/cluster_spec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cluster/json_input.h"

namespace podlab {
namespace {

using nlohmann::json;

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// Reads job `name` of `cluster` (an array of strings) into `out`; absent -> empty.
Status read_job(const json& cluster, const char* name, std::vector<std::string>* out) {
  auto it = cluster.find(name);
  if (it == cluster.end()) return Status::Ok();
  if (!it->is_array())
    return Status::Config(std::string("cluster job \"") + name + "\" must be a list of \"host:port\" strings");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    if (!a.is_string())
      return Status::Config(std::string("cluster job \"") + name + "\" entry " + std::to_string(i) +
                            " must be a \"host:port\" string (got " + a.dump() + ")");
    out->push_back(a.get<std::string>());
  }
  return Status::Ok();
}

struct ParsedCluster {
  ClusterSpec spec;
  bool has_chief = false;
};

Result<ParsedCluster> cluster_from_json(const json& j) {
  if (!j.is_object()) return Status::Config("the cluster spec must be a JSON object like {\"ps\": [...], \"worker\": [...]}");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "cluster" || key == "task")
      return Status::Config("the cluster spec has a \"" + key + "\" key: this looks like a whole TF_CONFIG; pass its \"cluster\" "
                            "object as the spec, or set TF_CONFIG and leave --cluster out");
    if (key == "evaluator")
      return Status::Config("the cluster spec has an \"evaluator\" job, which podlab does not run (its chief evaluates): "
                            "leave it out of the spec");
    if (key != "ps" && key != "worker" && key != "chief" && key != "master")
      return Status::Config("unknown job \"" + key + "\" in the cluster spec (podlab knows ps, worker and chief, or master as "
                            "older TensorFlow named the chief)");
  }
  if (j.contains("chief") && j.contains("master"))
    return Status::Config("the cluster spec has both a \"chief\" and a \"master\" job: they are the same task; keep one");
  const char* chief_job = j.contains("master") ? "master" : "chief";
  ParsedCluster p;
  std::vector<std::string> chief;
  PODLAB_RETURN_IF_ERROR(read_job(j, "ps", &p.spec.ps));
  PODLAB_RETURN_IF_ERROR(read_job(j, "worker", &p.spec.worker));
  PODLAB_RETURN_IF_ERROR(read_job(j, chief_job, &chief));
  if (j.contains(chief_job)) {
    if (chief.size() != 1)
      return Status::Config(std::string("the \"") + chief_job + "\" job must have exactly one address (got " +
                            std::to_string(chief.size()) + ")");
    p.spec.worker.insert(p.spec.worker.begin(), chief[0]);
    p.has_chief = true;
  }
  PODLAB_RETURN_IF_ERROR(validate_cluster_spec(p.spec));
  return p;
}

}  // namespace

const char* role_name(Role role) { return role == Role::kPs ? "ps" : role == Role::kClient ? "client" : "worker"; }

std::string TaskId::name() const { return std::string(role_name(role)) + ":" + std::to_string(index); }

Result<HostPort> parse_host_port(const std::string& text) {
  const std::string hint = " (expected host:port such as ps-0.podlab:2222 or 10.0.0.5:2222)";
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::Config("bad address \"" + text + "\": no host:port" + hint);
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.front() == '[') {
    if (hp.host.size() < 3 || hp.host.back() != ']')
      return Status::Config("bad address \"" + text + "\": unbalanced [ ] around an IPv6 host" + hint);
    hp.host = hp.host.substr(1, hp.host.size() - 2);
    for (char c : hp.host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
        return Status::Config("bad address \"" + text + "\": bad character in IPv6 host" + hint);
  } else {
    for (char c : hp.host)
      if (!valid_host_char(c))
        return Status::Config("bad address \"" + text + "\": bad character '" + std::string(1, c) + "' in host" + hint);
  }
  // Decimal, 1-65535, written without leading zeros: the address is also a name (logs, the peers'
  // tables, duplicate checks), and "02222" would read as octal to some tools.
  const std::string port = text.substr(colon + 1);
  if (port.empty()) return Status::Config("bad address \"" + text + "\": no port after the ':'" + hint);
  if (port.find_first_not_of("0123456789") != std::string::npos)
    return Status::Config("bad address \"" + text + "\": port \"" + port + "\" must be a decimal number" + hint);
  long value = 0;
  for (char c : port) value = std::min(value * 10 + (c - '0'), 65536L);  // saturates: any longer run is out of range
  if (value < 1 || value > 65535)
    return Status::Config("bad address \"" + text + "\": port must be 1-65535 (got " + port + ")" + hint);
  if (port[0] == '0')
    return Status::Config("bad address \"" + text + "\": port \"" + port + "\" has a leading zero; write it as " +
                          std::to_string(value));
  hp.port = static_cast<int>(value);
  return hp;
}

const std::string& ClusterSpec::address(const TaskId& t) const {
  return t.role == Role::kPs ? ps[t.index] : worker[t.index];
}

bool ClusterSpec::contains(const TaskId& t) const {
  if (t.role == Role::kClient) return false;
  return t.index >= 0 && t.index < (t.role == Role::kPs ? num_ps() : num_workers());
}

std::vector<TaskId> ClusterSpec::tasks() const {
  std::vector<TaskId> all;
  for (int i = 0; i < num_ps(); ++i) all.push_back({Role::kPs, i});
  for (int i = 0; i < num_workers(); ++i) all.push_back({Role::kWorker, i});
  return all;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Result<std::vector<int>> free_ports(int n) {
  std::vector<int> fds, ports;
  Status st;
  for (int i = 0; i < n && st.ok(); ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      st = Status::Network("cannot pick a free port on 127.0.0.1");
    if (fd >= 0) fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  if (!st.ok()) return st;
  return ports;
}

bool ClusterSpec::on_one_machine() const {
  auto loopback = [](const std::string& address) {
    auto hp = parse_host_port(address);
    return hp.ok() && is_loopback_host(hp->host);
  };
  return std::all_of(ps.begin(), ps.end(), loopback) && std::all_of(worker.begin(), worker.end(), loopback);
}

std::string ClusterSpec::to_json() const { return json{{"ps", ps}, {"worker", worker}}.dump(); }

Status validate_cluster_spec(const ClusterSpec& spec) {
  if (spec.ps.empty()) return Status::Config("the cluster spec has no ps tasks (\"ps\" needs at least one host:port)");
  if (spec.worker.empty())
    return Status::Config("the cluster spec has no worker tasks (\"worker\" needs at least one host:port)");
  for (const auto& [job, count] : {std::pair<const char*, int>{"ps", spec.num_ps()}, {"worker", spec.num_workers()}})
    if (count > kMaxTasksPerRole)
      return Status::Config("the cluster spec has " + std::to_string(count) + " " + job + " tasks" +
                            (std::string(job) == "worker" ? " (a chief job counts as one)" : "") + "; podlab runs at most " +
                            std::to_string(kMaxTasksPerRole) + " per job: remove " + std::to_string(count - kMaxTasksPerRole));
  // Keyed as the socket is: host names are case-insensitive, and localhost binds 127.0.0.1.
  std::map<std::string, std::string> seen;  // key -> the address as first written
  for (const TaskId& t : spec.tasks()) {
    const std::string& a = spec.address(t);
    auto hp = parse_host_port(a);
    PODLAB_RETURN_IF_ERROR(hp.status().With(t.name()));
    std::string host = hp->host;
    for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (host == "localhost") host = "127.0.0.1";
    auto [it, fresh] = seen.emplace(host + ":" + std::to_string(hp->port), a);
    if (!fresh)
      return Status::Config("duplicate address \"" + a + "\" (" + t.name() + " and an earlier task" +
                            (it->second == a ? std::string() : ", written \"" + it->second + "\"") +
                            "): every task needs its own host:port");
  }
  return Status::Ok();
}

Result<ClusterSpec> parse_cluster_spec(const std::string& text) {
  auto j = parse_json_input(text, "the cluster spec");
  if (!j.ok()) return j.status();
  auto p = cluster_from_json(*j);
  if (!p.ok()) return p.status();
  return p->spec;
}

Result<ClusterSpec> load_cluster_spec(const std::string& json_or_file) {
  const size_t first = json_or_file.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (json_or_file[first] == '{' || json_or_file[first] == '['))
    return parse_cluster_spec(json_or_file);  // inline JSON (an array is then reported as not an object)
  std::error_code ec;
  if (std::filesystem::is_directory(json_or_file, ec))
    return Status::Io("cluster spec \"" + json_or_file + "\" is a directory: pass inline JSON or the path of a JSON file");
  std::ifstream in(json_or_file);
  if (!in) return Status::Io("cannot read cluster spec file \"" + json_or_file + "\" (pass inline JSON or a file path)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = parse_cluster_spec(ss.str());
  if (!spec.ok()) return spec.status().With(json_or_file);
  return spec;
}

Result<TaskConfig> parse_tf_config(const std::string& text) {
  auto j = parse_json_input(text, "TF_CONFIG");
  if (!j.ok()) return j.status();
  if (!j->is_object()) return Status::Config("TF_CONFIG must be a JSON object with \"cluster\" and \"task\"");
  if (!j->contains("cluster")) return Status::Config("TF_CONFIG has no \"cluster\"");
  auto p = cluster_from_json((*j)["cluster"]);
  if (!p.ok()) return p.status().With("TF_CONFIG");
  if (!j->contains("task") || !(*j)["task"].is_object())
    return Status::Config("TF_CONFIG has no \"task\" object ({\"type\": \"worker\", \"index\": 0})");
  const json& task = (*j)["task"];
  if (!task.contains("type") || !task["type"].is_string())
    return Status::Config("TF_CONFIG task.type must be a string: ps, worker or chief");
  if (!task.contains("index") || !task["index"].is_number_integer())
    return Status::Config("TF_CONFIG task.index must be an integer");
  const std::string type = task["type"].get<std::string>();
  const int64_t index = task["index"].get<int64_t>();
  TaskConfig tc;
  tc.cluster = p->spec;
  if (type == "ps") {
    tc.task = {Role::kPs, static_cast<int>(index)};
  } else if (type == "worker") {
    tc.task = {Role::kWorker, static_cast<int>(index + (p->has_chief ? 1 : 0))};
  } else if (type == "chief" || type == "master") {
    if (!p->has_chief) return Status::Config("TF_CONFIG task.type is \"" + type + "\" but the cluster has no chief job");
    if (index != 0) return Status::Config("TF_CONFIG task.index for the chief must be 0 (got " + std::to_string(index) + ")");
    tc.task = {Role::kWorker, 0};
  } else {
    return Status::Config("TF_CONFIG task.type \"" + type + "\" is not one podlab runs (ps, worker or chief)");
  }
  const int64_t job_size = type == "ps" ? tc.cluster.num_ps()
                                        : (type == "worker" ? tc.cluster.num_workers() - (p->has_chief ? 1 : 0) : 1);
  if (index < 0 || index >= job_size)
    return Status::Config("TF_CONFIG task.index " + std::to_string(index) + " is out of range: job \"" + type +
                          "\" has " + std::to_string(job_size) + " task(s)");
  return tc;
}

Result<TaskConfig> tf_config_from_env() {
  const char* v = std::getenv("TF_CONFIG");
  if (!v || !*v) return Status::Config("TF_CONFIG is not set (pass --cluster or set TF_CONFIG)");
  return parse_tf_config(v);
}

ClusterSpec local_cluster_spec(int ps, int workers, int base_port) {
  ClusterSpec s;
  int port = base_port;
  for (int i = 0; i < ps; ++i) s.ps.push_back("127.0.0.1:" + std::to_string(port++));
  for (int i = 0; i < workers; ++i) s.worker.push_back("127.0.0.1:" + std::to_string(port++));
  return s;
}

}  // namespace podlab

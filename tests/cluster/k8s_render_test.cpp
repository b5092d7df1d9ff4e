// `podlab k8s render`: golden manifests, the invariants of ../shared/docs/k8s-testing.md (tier 1) for
// several ps/worker counts, option validation, and the lint catching seeded faults.
// PODLAB_UPDATE_GOLDEN=1 rewrites tests/k8s/golden/*.yaml from the current renderer.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cluster/k8s_lint.h"
#include "cluster/k8s_render.h"
#include "cluster/yaml_text.h"
#include "tests/temp_dir.h"

using namespace podlab;
using json = nlohmann::ordered_json;

namespace {

K8sOptions base_options(int ps, int workers) {
  K8sOptions o;
  o.name = "mnist";
  o.image = "localhost/podlab:latest";
  o.ps = ps;
  o.workers = workers;
  return o;
}

std::vector<json> objects(const std::vector<K8sDocument>& docs) {
  std::vector<json> out;
  for (const K8sDocument& d : docs) out.push_back(json::parse(d.json));
  return out;
}

const json& find(const std::vector<json>& objs, const std::string& kind, const std::string& name) {
  for (const json& j : objs)
    if (j["kind"] == kind && j["metadata"]["name"] == name) return j;
  FAIL("no " << kind << "/" << name);
  static json none;
  return none;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string usage_error(const K8sOptions& o) {
  auto docs = render_k8s(o);
  REQUIRE(!docs.ok());
  CHECK(docs.status().code() == StatusCode::kUsage);
  return docs.status().message();
}

// Renders `o`, applies `mutate` to the object kind/name, and returns the lint's problems.
std::string lint_after(const K8sOptions& o, const std::string& kind, const std::string& name, const std::function<void(json&)>& mutate) {
  auto docs = render_k8s(o);
  REQUIRE(docs.ok());
  REQUIRE(k8s_lint_problems(*docs, o).empty());
  bool found = false;
  for (K8sDocument& d : *docs)
    if (d.kind == kind && d.name == name) {
      json j = json::parse(d.json);
      mutate(j);
      d.json = j.dump();
      found = true;
    }
  REQUIRE(found);
  std::string all;
  for (const std::string& p : k8s_lint_problems(*docs, o)) all += p + "\n";
  return all;
}

}  // namespace

TEST_CASE("k8s render matches the golden manifests", "[k8s]") {
  struct Golden {
    const char* file;
    K8sOptions o;
  };
  std::vector<Golden> cases;
  cases.push_back({"jobs-1ps-1worker.yaml", base_options(1, 1)});
  K8sOptions b = base_options(2, 3);
  b.storage = *parse_k8s_storage("pvc:nfs-client");
  b.mode = "sync";
  b.fetch_dataset = "fashion-mnist";
  b.training = {{"model", "cnn"}, {"epochs", "3"}};
  b.keys = {{"server.key", "server-pair"}, {"server.pub", "server-public"}, {"authorized_clients", "\"client-public\"\n"},
            {"client.key", "client-pair"}, {"client.pub", "client-public"}};
  cases.push_back({"jobs-2ps-3workers-pvc-keys.yaml", b});
  K8sOptions c = base_options(2, 4);
  c.format = "tfjob";
  c.ns = "training";
  c.storage = *parse_k8s_storage("nfs:nfs.example.com:/exports/podlab");
  cases.push_back({"tfjob-2ps-4workers-nfs.yaml", c});

  const bool update = std::getenv("PODLAB_UPDATE_GOLDEN") != nullptr;
  for (const Golden& g : cases) {
    INFO(g.file);
    auto docs = render_k8s(g.o);
    REQUIRE(docs.ok());
    auto yaml = k8s_yaml_stream(*docs);
    REQUIRE(yaml.ok());
    const std::string path = std::string(PODLAB_TEST_DIR) + "/k8s/golden/" + g.file;
    if (update) std::ofstream(path) << *yaml;
    CHECK(*yaml == read_text(path));
  }
}

TEST_CASE("k8s render holds its invariants for several ps/worker counts", "[k8s]") {
  for (const auto& [ps, workers] : {std::pair<int, int>{1, 1}, {1, 2}, {2, 3}, {3, 8}, {4, 16}, {64, 64}}) {
    INFO(ps << " ps, " << workers << " workers");
    K8sOptions o = base_options(ps, workers);
    o.ns = "ml-team";
    auto docs = render_k8s(o);
    REQUIRE(docs.ok());
    CHECK(k8s_lint_problems(*docs, o).empty());
    const auto objs = objects(*docs);
    const json& svc = find(objs, "Service", "mnist");
    CHECK(svc["spec"]["clusterIP"] == "None");
    CHECK(svc["spec"]["publishNotReadyAddresses"] == true);
    const auto spec = parse_cluster_spec(find(objs, "ConfigMap", "mnist-config")["data"]["cluster.json"].get<std::string>());
    REQUIRE(spec.ok());
    for (const auto& [role, count] : {std::pair<Role, int>{Role::kPs, ps}, {Role::kWorker, workers}}) {
      const std::string job_name = std::string("mnist-") + role_name(role);
      const json& job = find(objs, "Job", job_name);
      CHECK(job["spec"]["completions"] == count);
      CHECK(job["spec"]["parallelism"] == count);
      CHECK(job["spec"]["completionMode"] == "Indexed");
      const json& pod = job["spec"]["template"]["spec"];
      CHECK(pod["subdomain"] == svc["metadata"]["name"]);
      CHECK(pod["restartPolicy"] == "Never");
      CHECK(!pod["containers"][0]["image"].get<std::string>().empty());
      for (auto it = svc["spec"]["selector"].begin(); it != svc["spec"]["selector"].end(); ++it)
        CHECK(job["spec"]["template"]["metadata"]["labels"][it.key()] == it.value());
      const auto& addresses = role == Role::kPs ? spec->ps : spec->worker;
      REQUIRE(static_cast<int>(addresses.size()) == count);
      for (int i = 0; i < count; ++i) {
        const std::string host = job_name + "-" + std::to_string(i);
        CHECK(is_dns1123_label(host));
        CHECK(addresses[i] == host + ".mnist.ml-team.svc.cluster.local:2222");
      }
    }
  }
}

TEST_CASE("k8s render keeps the training port to the run's pods and maps exit codes", "[k8s]") {
  const K8sOptions o = base_options(1, 2);
  const auto objs = objects(*render_k8s(o));
  const json& np = find(objs, "NetworkPolicy", "mnist");
  CHECK(np["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["podlab.io/job"] == "mnist");
  CHECK(np["spec"]["ingress"][0]["ports"][0]["port"] == 2222);
  const json& rules = find(objs, "Job", "mnist-worker")["spec"]["podFailurePolicy"]["rules"];
  CHECK(rules[0]["action"] == "FailJob");
  CHECK(rules[0]["onExitCodes"]["values"] == json::array({1, 2, 3, 4}));
  CHECK(rules[1]["action"] == "Ignore");
  CHECK(rules[1]["onPodConditions"][0]["status"] == "True");
  CHECK(rules[2]["action"] == "Count");
  CHECK(rules[2]["onExitCodes"]["values"] == json::array({5, 6, 130, 137, 143}));
  const json& c = find(objs, "Job", "mnist-ps")["spec"]["template"]["spec"]["containers"][0];
  CHECK(c["securityContext"]["readOnlyRootFilesystem"] == true);
  CHECK(c["securityContext"]["capabilities"]["drop"] == json::array({"ALL"}));
  CHECK(c["readinessProbe"]["httpGet"]["path"] == "/readyz");
}

TEST_CASE("k8s render rejects bad names, counts, storage and images with clear errors", "[k8s]") {
  K8sOptions o = base_options(1, 1);
  o.name = "MNIST";
  CHECK(contains(usage_error(o), "bad --name"));
  o.name = "1mnist";
  CHECK(contains(usage_error(o), "starting with a letter"));
  o.name = "mnist-";
  CHECK(contains(usage_error(o), "bad --name"));
  o.name = std::string(54, 'a');  // + "-worker-0" = 63: fits
  CHECK(render_k8s(o).ok());
  o.name = std::string(55, 'a');
  CHECK(contains(usage_error(o), "too long"));
  o = base_options(0, 1);
  CHECK(contains(usage_error(o), "--ps must be in 1..64"));
  o = base_options(1, 65);
  CHECK(contains(usage_error(o), "--workers must be in 1..64"));
  o = base_options(1, 1);
  o.image = "";
  CHECK(contains(usage_error(o), "--image is required"));
  o.image = "podlab latest";
  CHECK(contains(usage_error(o), "bad --image"));
  o = base_options(1, 1);
  o.ns = "Team_A";
  CHECK(contains(usage_error(o), "bad --namespace"));
  o = base_options(1, 1);
  o.mode = "eventually";
  CHECK(contains(usage_error(o), "bad --mode"));
  o = base_options(1, 1);
  o.metrics_port = 2222;
  CHECK(contains(usage_error(o), "must differ"));
  o.metrics_port = 70000;
  CHECK(contains(usage_error(o), "--metrics-port must be 1-65535 (got 70000)"));
  o = base_options(1, 1);
  o.port = 0;
  CHECK(contains(usage_error(o), "--port must be 1-65535 (got 0)"));
  o = base_options(1, 1);
  o.cpu_request = "4";
  o.cpu_limit = "2";
  CHECK(contains(usage_error(o), "--cpu 4 is more than --cpu-limit 2: the CPU request of every ps and worker pod"));
  o.cpu_request = "2001m";
  CHECK(contains(usage_error(o), "--cpu 2001m is more than --cpu-limit 2"));
  o.cpu_request = "2000m";  // equal is fine, whatever the suffixes
  o.cpu_limit = "2";
  CHECK(render_k8s(o).ok());
  o.cpu_request = "1e3";
  o.cpu_limit = "1k";
  CHECK(render_k8s(o).ok());
  o = base_options(1, 1);
  o.memory_request = "1Gi";
  o.memory_limit = "1000Mi";
  CHECK(contains(usage_error(o), "--memory 1Gi is more than --memory-limit 1000Mi: the memory request"));
  CHECK(contains(usage_error(o), "raise --memory-limit or lower --memory"));
  o.memory_limit = "1.5Gi";
  CHECK(render_k8s(o).ok());
  o.memory_limit = "2gi";
  CHECK(contains(usage_error(o), "--memory-limit: \"2gi\" is not a Kubernetes quantity: unknown suffix"));
  o = base_options(1, 1);
  o.cpu_request = "-1";
  CHECK(contains(usage_error(o), "--cpu: \"-1\" is not a Kubernetes quantity: it must not be negative"));
  o = base_options(1, 1);
  o.storage = *parse_k8s_storage("pvc:nfs-client");
  o.storage_size = "10GB";
  CHECK(contains(usage_error(o), "--storage-size: \"10GB\" is not a Kubernetes quantity"));
  o = base_options(1, 1);
  o.training = {{"model", "cnn; rm -rf /"}};
  CHECK(render_k8s(o).ok());  // an argument, never a shell: spaces are fine, quotes and $ are not
  o.training = {{"model", "$(HOME)"}};
  CHECK(contains(usage_error(o), "bad value"));
  o.training = {{"cluster", "x"}};
  CHECK(contains(usage_error(o), "not a training flag"));

  for (const char* bad : {"pvc:", "pvc:Fast_SSD", "nfs:server", "nfs:server:relative/path", "nfs::/exports", "s3:bucket", "", "NONE"}) {
    INFO(bad);
    auto s = parse_k8s_storage(bad);
    REQUIRE(!s.ok());
    CHECK(s.status().code() == StatusCode::kUsage);
    CHECK(contains(s.status().message(), "expected pvc:STORAGECLASS"));
  }
  auto nfs = parse_k8s_storage("nfs:10.0.0.5:/exports/podlab");
  REQUIRE(nfs.ok());
  CHECK(nfs->server == "10.0.0.5");
  CHECK(nfs->path == "/exports/podlab");
  CHECK(parse_k8s_storage("pvc:nfs-client")->storage_class == "nfs-client");
}

TEST_CASE("the k8s lint catches seeded faults the schemas miss", "[k8s]") {
  const K8sOptions o = base_options(2, 3);
  CHECK(contains(lint_after(o, "Service", "mnist", [](json& j) { j["spec"].erase("publishNotReadyAddresses"); }),
                 "publishNotReadyAddresses"));
  CHECK(contains(lint_after(o, "Job", "mnist-worker", [](json& j) { j["spec"]["template"]["spec"]["subdomain"] = "other"; }),
                 "subdomain"));
  CHECK(contains(lint_after(o, "Job", "mnist-ps", [](json& j) { j["spec"]["completions"] = 3; }), "completions must be 2"));
  CHECK(contains(lint_after(o, "Job", "mnist-ps", [](json& j) { j["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"; }),
                 "restartPolicy Never"));
  CHECK(contains(lint_after(o, "Job", "mnist-worker", [](json& j) { j["spec"]["template"]["spec"]["containers"][0].erase("image"); }),
                 "has no image"));
  CHECK(contains(lint_after(o, "Job", "mnist-worker",
                            [](json& j) { j["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 70000; }),
                 "outside 1..65535"));
  CHECK(contains(lint_after(o, "Job", "mnist-worker",
                            [](json& j) { j["spec"]["template"]["spec"]["containers"][0]["args"].push_back("$(PODLAB_NOPE)"); }),
                 "$(PODLAB_NOPE)"));
  CHECK(contains(lint_after(o, "ConfigMap", "mnist-config",
                            [](json& j) {
                              j["data"]["cluster.json"] =
                                  R"({"ps":["mnist-ps-0.mnist.default.svc.cluster.local:2222","mnist-ps-1:2222"],"worker":["a:1","b:1","c:1"]})";
                            }),
                 "cluster.json"));
  CHECK(contains(lint_after(o, "Job", "mnist-ps",
                            [](json& j) { j["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = false; }),
                 "not locked down"));
  CHECK(contains(lint_after(o, "Job", "mnist-ps", [](json& j) { j["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] = {1, 2, 4}; }),
                 "exit code 3"));
  CHECK(contains(lint_after(o, "NetworkPolicy", "mnist", [](json& j) { j["spec"]["podSelector"]["matchLabels"]["podlab.io/job"] = "x"; }),
                 "podSelector"));
  CHECK(contains(lint_after(o, "Job", "mnist-worker",
                            [](json& j) { j["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = "http"; }),
                 "does not declare"));
  CHECK(contains(lint_after(o, "Service", "mnist", [](json& j) { j["spec"]["selector"]["podlab.io/job"] = "other"; }),
                 "Service selector"));
}

TEST_CASE("k8s render gives each role only the CURVE keys it needs", "[k8s]") {
  K8sOptions o = base_options(1, 2);
  o.keys = {{"server.key", "s"}, {"server.pub", "p"}, {"authorized_clients", "a"}, {"client-0.key", "c0"}, {"client-0.pub", "c0p"},
            {"client-1.key", "c1"}, {"client-1.pub", "c1p"}};
  auto docs = render_k8s(o);
  REQUIRE(docs.ok());
  const auto objs = objects(*docs);
  const json& ps = find(objs, "Secret", "mnist-ps-keys")["data"];
  const json& worker = find(objs, "Secret", "mnist-worker-keys")["data"];
  CHECK(ps.contains("server.key"));
  CHECK(ps.contains("authorized_clients"));
  CHECK(!ps.contains("client-0.key"));
  CHECK(worker.contains("client-1.key"));
  CHECK(worker.contains("server.pub"));
  CHECK(!worker.contains("server.key"));
  const json& c = find(objs, "Job", "mnist-worker")["spec"]["template"]["spec"];
  CHECK(c["volumes"][1]["secret"]["secretName"] == "mnist-worker-keys");
  CHECK(c["containers"][0]["env"].back() == json{{"name", "PODLAB_KEYS"}, {"value", "/etc/podlab/keys"}});
  o.keys.erase("client-1.key");
  CHECK(contains(usage_error(o), "client-1.key for worker 1"));
  o.keys.erase("authorized_clients");
  CHECK(contains(usage_error(o), "no authorized_clients"));
}

TEST_CASE("k8s render -o writes one YAML file per object", "[k8s]") {
  podlab::testing::TempDir dir;
  const K8sOptions o = base_options(1, 2);
  auto docs = render_k8s(o);
  REQUIRE(docs.ok());
  REQUIRE(write_k8s_files(*docs, dir.path.string()).ok());
  for (size_t i = 0; i < docs->size(); ++i) {
    const std::string text = read_text((dir.path / k8s_file_name((*docs)[i], i)).string());
    CHECK(contains(text, "name: " + (*docs)[i].name));
  }
  CHECK(k8s_file_name((*docs)[0], 0) == "01-configmap-mnist-config.yaml");
  CHECK((std::filesystem::status(dir.path / k8s_file_name((*docs)[0], 0)).permissions() & std::filesystem::perms::others_read) !=
        std::filesystem::perms::none);

  K8sOptions k = base_options(1, 1);
  k.keys = {{"server.key", "s"}, {"server.pub", "p"}, {"authorized_clients", "a"}, {"client.key", "c"}};
  auto secret_docs = render_k8s(k);
  REQUIRE(secret_docs.ok());
  REQUIRE(write_k8s_files(*secret_docs, dir.path.string()).ok());
  REQUIRE((*secret_docs)[1].kind == "Secret");
  const auto perms = std::filesystem::status(dir.path / k8s_file_name((*secret_docs)[1], 1)).permissions();
  CHECK((perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) == std::filesystem::perms::none);
}

TEST_CASE("YAML text quotes what a parser could misread", "[k8s]") {
  auto y = json_to_yaml(R"({"a":"true","b":"1","c":"yes","d":"--dir","e":"a: b","f":"","g":[[1],[]],"h":{},"i":"On","j":"/x:y","k":"-1","l":"x\ny"})");
  REQUIRE(y.ok());
  CHECK(*y ==
        "a: \"true\"\nb: \"1\"\nc: \"yes\"\nd: --dir\ne: \"a: b\"\nf: \"\"\ng:\n-\n  - 1\n- []\nh: {}\ni: \"On\"\nj: /x:y\nk: \"-1\"\nl: \"x\\ny\"\n");
  CHECK(!json_to_yaml("{not json").ok());
}

// `podlab keys generate`: a CURVE key directory for `podlab ps|worker|cluster run --keys DIR` (see
// cluster/curve_keys.h for the files and what each task reads).
#include <cstdio>

#include "app/command.h"
#include "cluster/cluster_spec.h"
#include "cluster/curve_keys.h"

namespace podlab {
namespace {

struct KeysFlags {
  std::string out;
  std::string dir;  // the same as --out, given as the one positional argument
  int workers = 1;
  bool force = false;
};

int generate_keys(KeysFlags f) {
  if (!f.dir.empty() && !f.out.empty() && f.dir != f.out)
    return report(Status::Usage("two directories given (" + f.dir + " and --out " + f.out + "): give one"));
  if (f.out.empty()) f.out = f.dir;
  const std::string dir = f.out.empty() ? (curve_keys_dir("").empty() ? "podlab-keys" : curve_keys_dir("")) : f.out;
  auto written = generate_curve_key_dir(dir, f.workers, f.force);
  if (!written.ok()) return report(written.status());
  std::printf("podlab keys: wrote a CURVE key directory %s\n", dir.c_str());
  for (const std::string& path : *written) std::printf("  %s\n", path.c_str());
  std::printf("ps tasks need server.key and authorized_clients; workers need server.pub and %s.\n"
              "Use it with --keys %s (or PODLAB_KEYS=%s) on podlab ps, worker and cluster run --transport processes.\n",
              f.workers == 1 ? "client.key" : "client-<index>.key", dir.c_str(), dir.c_str());
  return 0;
}

}  // namespace

void add_keys_commands(CLI::App& root, int& exit_code) {
  CLI::App* keys = root.add_subcommand("keys", "CURVE keys that encrypt and authenticate the links between cluster tasks");
  keys->require_subcommand(1);
  auto f = std::make_shared<KeysFlags>();
  CLI::App* gen = keys->add_subcommand("generate", "Write a server key pair, client key pair(s) and authorized_clients");
  gen->add_option("--out", f->out, "Directory to write (created with mode 0700; default $PODLAB_KEYS, else ./podlab-keys)");
  gen->add_option("dir", f->dir, "The directory to write, as --out");
  gen->add_option("--workers", f->workers, "One client key per worker (client-<index>.key) instead of one shared client.key")
      ->check(CLI::Range(1, kMaxTasksPerRole));  // a cluster has at most this many workers
  gen->add_flag("--force", f->force, "Replace existing keys (every task holding the old ones is locked out)");
  gen->callback([f, &exit_code] { exit_code = generate_keys(*f); });
}

}  // namespace podlab

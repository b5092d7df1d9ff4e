// CURVE keys for the zmq transport. CurveZMQ (ZeroMQ's CURVE mechanism, libsodium underneath) agrees
// a session key by Curve25519 and then encrypts and authenticates every frame; the ps side checks the
// client's long-term public key against a list (the ZAP handler in transport_zmq.cpp). This file reads
// and writes the key files and knows nothing of sockets; no zmq type appears in this header.
//
// A key directory (`podlab keys generate --out DIR`) holds text files, keys in Z85 (ZeroMQ's
// 40-character encoding of 32 bytes):
//   server.key           the ps tasks' key pair          public-key = "..." / secret-key = "..." (0600)
//   server.pub           the ps tasks' public key        public-key = "..."  (workers check the ps with it)
//   client.key           the workers' key pair (0600), or client-0.key .. client-N-1.key with --workers N
//   client.pub           its public key (client-I.pub)
//   authorized_clients   the client public keys a ps accepts: one "key" per line (quoted, since a Z85
//                        key may begin with '#'), then an optional name
// Lines starting with '#' and blank lines are ignored everywhere. A ps needs server.key and
// authorized_clients; worker I needs server.pub and client-I.key, or client.key when there is none.
#pragma once

#include <string>
#include <vector>

#include "cluster/cluster_spec.h"
#include "engine/status.h"

namespace podlab {

inline constexpr size_t kZ85KeyChars = 40;

// What one task needs to speak CURVE; `enabled` false means plain TCP (no keys configured).
struct CurveKeys {
  bool enabled = false;
  std::string dir;                          // where they came from, for messages
  std::string server_public;                // every task
  std::string server_secret;                // ps only
  std::string client_public, client_secret; // workers only
  std::string client_file;                  // workers: the key file used (for messages)
  std::vector<std::string> authorized;      // ps only: accepted client public keys
};

// True when the linked libzmq was built with CURVE (libsodium); Debian's is.
bool curve_available();

// The key directory to use: `flag` when given, else $PODLAB_KEYS, else "" (no keys).
std::string curve_keys_dir(const std::string& flag);

// Loads what `task` needs from `dir`. Every failure is a kConfig error naming the file, the line and
// the fix: a missing directory or file, a malformed line, a key that is not 40 Z85 characters, a
// secret key that does not belong to the public key beside it, an empty authorized_clients.
Result<CurveKeys> load_curve_keys(const std::string& dir, const TaskId& task);

// Writes a new key directory: the server pair, `workers` client pairs (1: client.key, otherwise
// client-0.key ..), and authorized_clients listing them. Creates `dir` (mode 0700) when missing.
// Secret files are created with mode 0600, every file through a temp file and rename. Refuses to
// replace existing keys unless `force`; forced, it also removes the client key files of the old set
// that the new one does not have (a worker would prefer its stale client-I.key, which no ps accepts
// any more). Returns the paths written. Errors: kConfig (CURVE not
// available, keys exist), kIo (cannot create or write).
Result<std::vector<std::string>> generate_curve_key_dir(const std::string& dir, int workers, bool force);

}  // namespace podlab

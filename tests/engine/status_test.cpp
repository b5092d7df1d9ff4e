// Status::With: context in front of an error message, once.
#include <catch2/catch.hpp>

#include "engine/status.h"

using namespace podlab;

TEST_CASE("Status::With adds its context once", "[status]") {
  const Status lost = Status::Network("no connection to ps:0");
  CHECK(lost.With("worker:0").message() == "worker:0: no connection to ps:0");
  CHECK(lost.With("worker:0").code() == StatusCode::kNetwork);
  CHECK(lost.With("worker:0").With("worker:0").message() == "worker:0: no connection to ps:0");
  CHECK(Status::Io("worker:0 terminated: disk full").With("worker:0").message() == "worker:0 terminated: disk full");
  // Only as a whole word: worker:1 is not worker:10.
  CHECK(Status::Io("worker:10: x").With("worker:1").message() == "worker:1: worker:10: x");
  CHECK(Status::Ok().With("worker:0").ok());
}

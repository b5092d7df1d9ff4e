// Kubernetes quantities: every form the API server accepts parses, compares exactly across
// suffixes, and every malformed one says why.
#include <catch2/catch.hpp>

#include "cluster/k8s_quantity.h"

using namespace podlab;

namespace {

__int128 nanos(const std::string& text) {
  auto q = parse_k8s_quantity(text);
  INFO(text);
  REQUIRE(q.ok());
  return q->nanos;
}

std::string error_of(const std::string& text) {
  auto q = parse_k8s_quantity(text);
  INFO(text);
  REQUIRE(!q.ok());
  CHECK(q.status().code() == StatusCode::kUsage);
  return q.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

constexpr __int128 kOne = 1000000000;  // 1 unit in nanos

}  // namespace

TEST_CASE("k8s quantities parse with decimal, binary and exponent suffixes", "[k8s]") {
  CHECK(nanos("2") == 2 * kOne);
  CHECK(nanos("500m") == kOne / 2);
  CHECK(nanos("0.5") == kOne / 2);
  CHECK(nanos(".5") == kOne / 2);
  CHECK(nanos("5.") == 5 * kOne);
  CHECK(nanos("+1") == kOne);
  CHECK(nanos("0") == 0);
  CHECK(nanos("000") == 0);
  CHECK(nanos("1k") == 1000 * kOne);
  CHECK(nanos("1e3") == 1000 * kOne);
  CHECK(nanos("1E3") == 1000 * kOne);
  CHECK(nanos("1.5e+3") == 1500 * kOne);
  CHECK(nanos("25e-3") == kOne / 40);
  CHECK(nanos("1M") == 1000000 * kOne);
  CHECK(nanos("512Mi") == 512LL * 1024 * 1024 * kOne);
  CHECK(nanos("2Gi") == 2LL * 1024 * 1024 * 1024 * kOne);
  CHECK(nanos("1.5Gi") == 1536LL * 1024 * 1024 * kOne);
  CHECK(nanos("1E") == static_cast<__int128>(1000000000000000000LL) * kOne);  // exa, not an exponent
  CHECK(nanos("1Ei") == static_cast<__int128>(1LL << 60) * kOne);
  CHECK(nanos("1n") == 1);
  CHECK(nanos("1u") == 1000);
  CHECK(nanos("0.1n") == 1);  // finer than 1n rounds up, as Kubernetes does
  CHECK(nanos("1e-40") == 1);
  CHECK(nanos("10.000000000000000000000000000000") == 10 * kOne);  // zeros beyond 20 digits change nothing
}

TEST_CASE("k8s quantities compare by value, whatever their suffixes", "[k8s]") {
  auto q = [](const std::string& text) { return *parse_k8s_quantity(text); };
  CHECK(q("0.1") == q("100m"));
  CHECK(q("1") == q("1000m"));
  CHECK(q("1e3") == q("1k"));
  CHECK(q("1Ki") == q("1024"));
  CHECK(q("1G") < q("1000Mi"));
  CHECK(q("1000Mi") < q("1Gi"));
  CHECK(q("1001m") < q("1.01"));
  CHECK(q("999999999n") < q("1"));
  CHECK_FALSE(q("2Gi") < q("2048Mi"));
}

TEST_CASE("malformed k8s quantities say what is wrong", "[k8s]") {
  CHECK(contains(error_of(""), "it is empty"));
  CHECK(contains(error_of("-1"), "must not be negative"));
  CHECK(contains(error_of("abc"), "must start with a number"));
  CHECK(contains(error_of("."), "must start with a number"));
  CHECK(contains(error_of("1.2.3"), "unknown suffix \".3\""));
  CHECK(contains(error_of("2gi"), "unknown suffix \"gi\""));
  CHECK(contains(error_of("2K"), "case matters"));
  CHECK(contains(error_of("500 m"), "unknown suffix \" m\""));
  CHECK(contains(error_of("1e"), "exponent"));
  CHECK(contains(error_of("1e3.5"), "exponent"));
  CHECK(contains(error_of("1e30"), "too large"));
  CHECK(contains(error_of("1e99999999999"), "too large"));
  CHECK(contains(error_of("9Ei"), "too large"));
  CHECK(contains(error_of("123456789012345678901"), "significant digits"));
  CHECK(contains(error_of("x"), "500m, 2, 1.5, 512Mi, 2Gi or 1e3"));
}

// Guards against a GCC 12.2 AVX-512 miscompile (SLP vectoriser broadcasting a repeated 8-byte
// pattern over the zeros that follow it). CMakeLists.txt works around it with -fno-tree-slp-vectorize;
// if that flag is lost, these initialisers come out wrong and every numeric test becomes suspect.
#include <catch2/catch.hpp>

#include <vector>

TEST_CASE("constant initialisers survive the optimiser", "[toolchain]") {
  const std::vector<float> f{1, 0, 1, 0, 0, 0, 0, 0};
  CHECK(f == std::vector<float>({1, 0, 1, 0, 0, 0, 0, 0}));
  float sum = 0;
  for (float v : f) sum += v;
  CHECK(sum == 2.0f);
  const std::vector<double> d{1, 1, 0, 0};
  CHECK(d[2] == 0.0);
  CHECK(d[3] == 0.0);
  const std::vector<int> i{1, 0, 1, 0, 0, 0, 0, 0};
  CHECK(i[4] == 0);
  CHECK(i[6] == 0);
}

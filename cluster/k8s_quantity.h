// Kubernetes resource quantities ("500m", "2", "1.5", "512Mi", "2Gi", "1e3"), read as the API server
// reads them, so `podlab k8s render` can refuse what `kubectl apply` would refuse (a malformed
// quantity, a request above its limit) before anything is rendered. The grammar (k8s.io/apimachinery
// resource.Quantity):
//   quantity := ["+"] number suffix       number := digits | digits "." [digits] | "." digits
//   suffix   := "" | n | u | m | k | M | G | T | P | E            (powers of 1000)
//             | Ki | Mi | Gi | Ti | Pi | Ei                        (powers of 1024)
//             | ("e" | "E") ["+" | "-"] digits                     (a power of ten)
// A minus sign is refused: requests, limits and sizes cannot be negative. Stricter than the API
// server: more than 20 significant digits, and values of 2^63 units or more ("10E", "8Ei"), are
// refused rather than kept exactly; no pod asks for that much.
#pragma once

#include <string>

#include "engine/status.h"

namespace podlab {

// A quantity as an exact count of 10^-9 units (Kubernetes rounds anything finer up to 1n), so any
// two compare exactly whatever their suffixes: "1Gi" > "1000Mi" > "1G", "0.5" == "500m".
struct K8sQuantity {
  __int128 nanos = 0;
  bool operator<(const K8sQuantity& o) const { return nanos < o.nanos; }
  bool operator==(const K8sQuantity& o) const { return nanos == o.nanos; }
};

// kUsage error saying what is wrong with `text` and showing the accepted forms (the caller adds the
// flag); values above 2^63-1 units (far beyond any CPU or memory size) are refused as too large.
Result<K8sQuantity> parse_k8s_quantity(const std::string& text);

}  // namespace podlab

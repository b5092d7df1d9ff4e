// IDX files (the MNIST container format, http://yann.lecun.com/exdb/mnist/): a big-endian header
// (magic 0x00 0x00 type ndims, then ndims uint32 dimensions) followed by the data. podlab reads the two
// kinds MNIST uses: unsigned-byte images (magic 0x00000803, dims N x rows x cols) and unsigned-byte
// labels (magic 0x00000801, dims N). Files may be gzip-compressed; compression is detected from the
// content, not the name. Every check failure names the file and what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"

namespace podlab {

struct IdxImages {
  int count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major per image
};

struct IdxLabels {
  int count = 0;
  std::vector<uint8_t> labels;  // count values
};

// Reads a whole file, gunzipping it if it starts with the gzip magic. Caps the decompressed size at
// `max_bytes` so a hostile header cannot exhaust memory.
Result<std::vector<uint8_t>> read_maybe_gzipped(const std::string& path,
                                                size_t max_bytes = size_t{1} << 31);

// Parses IDX content already in memory; `origin` names it in error messages.
Result<IdxImages> parse_idx_images(std::vector<uint8_t> bytes, const std::string& origin);  // takes the buffer
Result<IdxLabels> parse_idx_labels(const std::vector<uint8_t>& bytes, const std::string& origin,
                                   int num_classes);

Result<IdxImages> read_idx_images(const std::string& path);
Result<IdxLabels> read_idx_labels(const std::string& path, int num_classes = 10);

// The header only (count, rows, cols; pixels stay empty), read from the first bytes of the file, raw or
// gzipped, without decompressing the rest: for tasks that need a dataset's shape but not its content.
// Checks the magic and the dimensions, not the data (read_idx_images does that).
Result<IdxImages> read_idx_images_header(const std::string& path);
Result<IdxLabels> read_idx_labels_header(const std::string& path);

}  // namespace podlab

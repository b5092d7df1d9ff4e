// Datasets: the known IDX datasets, where podlab looks for them, and loading a train/test pair.
//
// Search order for dataset NAME: with --data DIR, only DIR itself and DIR/NAME. Without it:
// $PODLAB_DATA (DIR itself or DIR/NAME), the user cache ($XDG_CACHE_HOME or ~/.cache, then podlab/NAME), /usr/share/datasets/NAME (Debian's
// dataset-fashion-mnist). A directory qualifies when it holds the four files, each raw or .gz.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace podlab {

struct DatasetFile {
  std::string name;    // e.g. "train-images-idx3-ubyte" (stored as name + ".gz" by fetch)
  std::string md5;     // of the .gz as published by the mirrors, lower-case hex
  int64_t gz_size;     // bytes of the .gz as published
};

struct DatasetInfo {
  std::string name;                       // "mnist", "fashion-mnist"
  std::string description;
  std::vector<std::string> default_mirrors;  // base URLs; files are fetched as BASE/FILE.gz
  DatasetFile train_images, train_labels, test_images, test_labels;
  std::vector<std::string> class_names;   // 10 entries
};

const std::vector<DatasetInfo>& known_datasets();
const DatasetInfo* find_dataset_info(const std::string& name);

// The directories searched for `name`, in order, given an optional --data directory.
std::vector<std::string> dataset_search_dirs(const std::string& name, const std::string& data_flag);
// The user cache directory for `name` (where `podlab data fetch` writes).
std::string dataset_cache_dir(const std::string& name);
// The path of `file` (raw or .gz) inside `dir`, or "" when absent.
std::string find_dataset_file(const std::string& dir, const std::string& file);

// Finds the first directory holding all four files of `name`; "" when none does.
std::string locate_dataset(const std::string& name, const std::string& data_flag);

// With an empty name: "mnist" if found, else "fashion-mnist"; otherwise an error saying how to fetch
// one. With a name: checks that it is known and found.
struct DatasetChoice {
  std::string name, dir;
};
Result<DatasetChoice> choose_dataset(const std::string& name, const std::string& data_flag);

// One split in memory. Images stay uint8 (N x rows*cols, row-major) to keep memory small; batches are
// converted to float in [0, 1] when gathered.
struct Split {
  int count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels;
  // CRC-32C of the split's `count` labels, also when only the shape was loaded: which data this is,
  // whatever the directory is called (MNIST's and Fashion-MNIST's files differ in every label run).
  uint32_t labels_crc = 0;
  int features() const { return rows * cols; }
  // Writes images idx[0..n) as floats in [0,1] into x (n, rows*cols) and their labels into y.
  void gather(const int* idx, int n, Matrix& x, int* y) const;
  // The same for features [first, first + count) of each image only: x (n, count); y may be null.
  void gather(const int* idx, int n, int first, int count, Matrix& x, int* y) const;
};

struct Dataset {
  std::string name, dir;
  Split train, test;
  int num_classes = 10;
  std::vector<std::string> class_names;
  Shape input_shape() const { return Shape{train.rows, train.cols, 1}; }
};

// Loads and validates the four files in `dir`. `limit_train`/`limit_test` > 0 keep only the first
// that many samples (for fast lessons and tests).
Result<Dataset> load_dataset(const std::string& name, const std::string& dir, int limit_train = 0,
                             int limit_test = 0);

// The same dataset's shape only: names, counts (limits applied), rows and cols from the four files'
// headers; pixels and labels stay empty. For tasks that build the model but never read samples (a ps).
Result<Dataset> load_dataset_shape(const std::string& name, const std::string& dir, int limit_train = 0,
                                   int limit_test = 0);

}  // namespace podlab

// Known datasets, the search path, and loading a validated train/test pair.
#include "engine/data/dataset.h"

#include <sys/stat.h>

#include <cstdlib>

#include "engine/data/idx.h"
#include "engine/log/crc32c.h"

namespace podlab {
namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

bool has_all_files(const std::string& dir, const DatasetInfo& info) {
  for (const DatasetFile* f : {&info.train_images, &info.train_labels, &info.test_images, &info.test_labels})
    if (find_dataset_file(dir, f->name).empty()) return false;
  return true;
}

}  // namespace

const std::vector<DatasetInfo>& known_datasets() {
  // Checksums are the MD5s of the .gz files as published by the mirrors (the same list torchvision
  // verifies against). Debian's dataset-fashion-mnist package ships recompressed files whose bytes
  // differ, so locally found files are verified by content (a full IDX parse), not by checksum.
  static const std::vector<DatasetInfo> kDatasets = {
      {"mnist",
       "handwritten digits 0-9, 60k train / 10k test, 28x28 grey (LeCun, Cortes, Burges)",
       {"https://ossci-datasets.s3.amazonaws.com/mnist", "https://storage.googleapis.com/cvdf-datasets/mnist"},
       {"train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422},
       {"train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432", 28881},
       {"t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3", 1648877},
       {"t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c", 4542},
       {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
      {"fashion-mnist",
       "Zalando clothing images in 10 classes, 60k train / 10k test, 28x28 grey (Xiao, Rasul, Vollgraf)",
       {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"},
       {"train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880},
       {"train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe", 29515},
       {"t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79", 4422102},
       {"t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310", 5148},
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
        "Ankle boot"}},
  };
  return kDatasets;
}

const DatasetInfo* find_dataset_info(const std::string& name) {
  for (const auto& d : known_datasets())
    if (d.name == name) return &d;
  return nullptr;
}

std::string dataset_cache_dir(const std::string& name) {
  std::string base = env_or("XDG_CACHE_HOME", "");
  if (base.empty()) base = env_or("HOME", ".") + "/.cache";
  return base + "/podlab/" + name;
}

std::vector<std::string> dataset_search_dirs(const std::string& name, const std::string& data_flag) {
  // An explicit --data is the only place looked: falling back to other copies would train on data
  // the user did not ask for, without a word.
  if (!data_flag.empty()) return {data_flag, data_flag + "/" + name};
  std::vector<std::string> dirs;
  const std::string env = env_or("PODLAB_DATA", "");
  if (!env.empty()) {
    dirs.push_back(env);
    dirs.push_back(env + "/" + name);
  }
  dirs.push_back(dataset_cache_dir(name));
  dirs.push_back("/usr/share/datasets/" + name);
  return dirs;
}

std::string find_dataset_file(const std::string& dir, const std::string& file) {
  for (const std::string& candidate : {dir + "/" + file + ".gz", dir + "/" + file})
    if (is_file(candidate)) return candidate;
  return "";
}

std::string locate_dataset(const std::string& name, const std::string& data_flag) {
  const DatasetInfo* info = find_dataset_info(name);
  if (!info) return "";
  for (const std::string& dir : dataset_search_dirs(name, data_flag))
    if (is_dir(dir) && has_all_files(dir, *info)) return dir;
  return "";
}

Result<DatasetChoice> choose_dataset(const std::string& name, const std::string& data_flag) {
  if (!name.empty()) {
    if (!find_dataset_info(name)) {
      std::string known;
      for (const auto& d : known_datasets()) known += (known.empty() ? "" : ", ") + d.name;
      return Status::Usage("unknown dataset '" + name + "' (known: " + known + ")");
    }
    std::string dir = locate_dataset(name, data_flag);
    if (dir.empty()) {
      std::string where;
      for (const auto& d : dataset_search_dirs(name, data_flag)) where += "\n  " + d;
      return Status::Data("dataset '" + name + "' not found; looked in:" + where +
                          "\nfetch it with: podlab data fetch " + name +
                          (data_flag.empty() ? std::string() : " --dir " + data_flag + " (or leave out --data)") +
                          (name == "fashion-mnist" ? "\n(or on Debian: apt-get install dataset-fashion-mnist)" : ""));
    }
    return DatasetChoice{name, dir};
  }
  for (const char* n : {"mnist", "fashion-mnist"}) {
    std::string dir = locate_dataset(n, data_flag);
    if (!dir.empty()) return DatasetChoice{n, dir};
  }
  return Status::Data(
      (data_flag.empty() ? std::string("no dataset found (looked for mnist, then fashion-mnist, in $PODLAB_DATA, "
                                        "~/.cache/podlab and /usr/share/datasets)")
                         : "no dataset found in --data " + data_flag + " (looked for mnist, then fashion-mnist, in it "
                           "and in its mnist/ and fashion-mnist/ subdirectories)") +
      "\nfetch one with: podlab data fetch mnist\n(or on Debian: apt-get install "
      "dataset-fashion-mnist)");
}

// Rows are picked at random from a split of tens of MB, so each one is a cache miss; asking for the
// row kAhead places on while converting this one hides most of that wait.
void Split::gather(const int* idx, int n, Matrix& x, int* y) const { gather(idx, n, 0, features(), x, y); }

void Split::gather(const int* idx, int n, int first, int count, Matrix& x, int* y) const {
  const int f = features();
  x.resize(n, count);
  constexpr float kScale = 1.0f / 255.0f;
  constexpr int kAhead = 4, kLine = 64;
  for (int i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const uint8_t* next = pixels.data() + static_cast<size_t>(idx[i + kAhead]) * f + first;
      for (int j = 0; j < count; j += kLine) __builtin_prefetch(next + j);
    }
    const uint8_t* src = pixels.data() + static_cast<size_t>(idx[i]) * f + first;
    float* dst = x.data() + static_cast<size_t>(i) * count;
    for (int j = 0; j < count; ++j) dst[j] = src[j] * kScale;
    if (y) y[i] = labels[idx[i]];
  }
}

namespace {

// With `shape_only`, reads the image header and the labels (for labels_crc) and leaves out.pixels and
// out.labels empty.
Status load_split(const std::string& dir, const DatasetFile& images, const DatasetFile& labels, int limit,
                  bool shape_only, Split& out) {
  const std::string images_path = find_dataset_file(dir, images.name), labels_path = find_dataset_file(dir, labels.name);
  auto img = shape_only ? read_idx_images_header(images_path) : read_idx_images(images_path);
  if (!img.ok()) return img.status();
  auto lab = read_idx_labels(labels_path, 10);  // a few tens of KB: read even for the shape, for labels_crc
  if (!lab.ok()) return lab.status();
  if (img->count != lab->count)
    return Status::Data(dir + ": " + images.name + " has " + std::to_string(img->count) + " images but " +
                        labels.name + " has " + std::to_string(lab->count) + " labels");
  int n = img->count;
  if (limit > 0 && limit < n) n = limit;
  out.count = n;
  out.rows = img->rows;
  out.cols = img->cols;
  lab->labels.resize(n);
  out.labels_crc = crc32c(lab->labels.data(), lab->labels.size());
  if (shape_only) return Status::Ok();
  img->pixels.resize(static_cast<size_t>(n) * img->rows * img->cols);
  out.pixels = std::move(img->pixels);
  out.labels = std::move(lab->labels);
  return Status::Ok();
}

Result<Dataset> load(const std::string& name, const std::string& dir, int limit_train, int limit_test,
                     bool shape_only) {
  const DatasetInfo* info = find_dataset_info(name);
  if (!info) return Status::Usage("unknown dataset '" + name + "'");
  Dataset ds;
  ds.name = name;
  ds.dir = dir;
  ds.class_names = info->class_names;
  PODLAB_RETURN_IF_ERROR(load_split(dir, info->train_images, info->train_labels, limit_train, shape_only, ds.train));
  PODLAB_RETURN_IF_ERROR(load_split(dir, info->test_images, info->test_labels, limit_test, shape_only, ds.test));
  if (ds.train.rows != ds.test.rows || ds.train.cols != ds.test.cols)
    return Status::Data(dir + ": train images are " + std::to_string(ds.train.rows) + "x" +
                        std::to_string(ds.train.cols) + " but test images are " + std::to_string(ds.test.rows) +
                        "x" + std::to_string(ds.test.cols));
  return ds;
}

}  // namespace

Result<Dataset> load_dataset(const std::string& name, const std::string& dir, int limit_train, int limit_test) {
  return load(name, dir, limit_train, limit_test, false);
}

Result<Dataset> load_dataset_shape(const std::string& name, const std::string& dir, int limit_train, int limit_test) {
  return load(name, dir, limit_train, limit_test, true);
}

}  // namespace podlab

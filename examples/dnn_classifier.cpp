// The talk's skflow example, podlab's way: a DNNClassifier with two hidden layers of 200 units,
// trained for 2 epochs on 10000 images of Fashion-MNIST (or MNIST), then scored on 2000 test images.
// Exits 77 (skipped) when no dataset is installed and 1 when the accuracy is below 0.75.
#include <cstdio>

#include "engine/data/dataset.h"
#include "engine/estimator.h"

using namespace podlab;

int main() {
  auto choice = choose_dataset("", "");
  if (!choice.ok()) {
    std::printf("skipped: %s\n", choice.status().message().c_str());
    return 77;
  }
  auto data = load_dataset(choice->name, choice->dir, /*limit_train=*/10000, /*limit_test=*/2000);
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().message().c_str());
    return 1;
  }

  DNNOptions options;
  options.epochs = 2;
  DNNClassifier classifier({200, 200}, data->num_classes, options);
  if (Status st = classifier.fit(data->train); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  const double accuracy = classifier.score(data->test);
  std::printf("%s: %d training images, 2 epochs, test accuracy %.4f on %d images\n", data->name.c_str(),
              data->train.count, accuracy, data->test.count);
  return accuracy >= 0.75 ? 0 : 1;
}

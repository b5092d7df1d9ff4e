// ScalarLogger: fans one scalar out to the event file and the CSV with a single wall time, so the
// two files agree row for row.
#include "engine/log/scalar_logger.h"

#include <utility>

namespace podlab {

Result<ScalarLogger> ScalarLogger::open(const std::string& log_dir, ScalarLoggerOptions options) {
  ScalarLogger logger;
  logger.log_dir_ = log_dir;
  if (options.tensorboard) {
    auto events = EventWriter::open(log_dir);
    if (!events.ok()) return events.status();
    logger.events_ = std::move(events.value());
  }
  if (options.csv) {
    auto csv = CsvWriter::open(log_dir);
    if (!csv.ok()) return csv.status();
    logger.csv_ = std::move(csv.value());
  }
  return Result<ScalarLogger>(std::move(logger));
}

Status ScalarLogger::log(const std::string& tag, float value, int64_t step) {
  const double wall_time = wall_time_now();
  Status first;
  if (events_) first = events_->add_scalar(tag, value, step, wall_time);
  if (csv_) {
    Status st = csv_->add_scalar(tag, value, step, wall_time);
    if (first.ok()) first = std::move(st);
  }
  return first;
}

Status ScalarLogger::log_session_start(int64_t step) {
  if (!events_) return Status::Ok();
  return events_->add_session_start(step);
}

}  // namespace podlab

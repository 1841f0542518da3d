#include "schema/allowlist/allowlist.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "schema/allowlist/file_parser.h"
#include "schema/base/text.h"

namespace pum {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

// True if `name` ends with `suffix` and is longer.
bool EndsWith(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() &&
         name.substr(name.size() - suffix.size()) == suffix;
}

std::string Where(const MetricDef& def) {
  return def.file + ":" + std::to_string(def.line);
}

// Reports whether `def` (not yet in `metrics`) collides with a metric known
// by name in `known` (old and new) or `old` (those already loaded).
bool Collides(const MetricDef& def,
              const std::map<std::string, const MetricDef*>& known,
              const std::map<std::string, const MetricDef*>& old,
              FileErrors* errors) {
  bool collides = false;
  for (std::string_view suffix : kHistogramSuffixes) {
    // `def` is named like a histogram's series: foo_sum beside histogram foo.
    if (EndsWith(def.name, suffix)) {
      auto base =
          known.find(def.name.substr(0, def.name.size() - suffix.size()));
      if (base != known.end() && base->second->type == MetricType::kHistogram) {
        errors->Add(def.line, "metric " + Quote(def.name) +
                                  " collides with a series of histogram " +
                                  Quote(base->first) + " (" +
                                  Where(*base->second) + ")");
        collides = true;
      }
    }
    // `def` is a histogram with a series named like a loaded metric.
    if (def.type != MetricType::kHistogram) continue;
    auto series = old.find(def.name + std::string(suffix));
    if (series != old.end()) {
      errors->Add(def.line, "histogram " + Quote(def.name) +
                                " has a series named like metric " +
                                Quote(series->first) + " (" +
                                Where(*series->second) + ")");
      collides = true;
    }
  }
  // OpenMetrics names counter foo_total's family foo, so no other metric
  // may be named foo (regression, found by review: "# TYPE foo unknown"
  // then "# TYPE foo counter", which OpenMetrics parsers refuse).
  constexpr std::string_view kTotal = "_total";
  if (def.type == MetricType::kCounter && EndsWith(def.name, kTotal)) {
    auto base = known.find(def.name.substr(0, def.name.size() - kTotal.size()));
    if (base != known.end()) {
      errors->Add(def.line, "counter " + Quote(def.name) +
                                " has the OpenMetrics family name of metric " +
                                Quote(base->first) + " (" +
                                Where(*base->second) + ")");
      collides = true;
    }
  }
  auto total = old.find(def.name + std::string(kTotal));
  if (total != old.end() && total->second->type == MetricType::kCounter) {
    errors->Add(def.line, "metric " + Quote(def.name) +
                              " is the OpenMetrics family name of counter " +
                              Quote(total->first) + " (" +
                              Where(*total->second) + ")");
    collides = true;
  }
  return collides;
}

// Adds `added` to `metrics` (sorted by name), reporting names defined twice
// and names that collide with a histogram's series.
void Merge(std::vector<MetricDef> added, std::vector<MetricDef>* metrics,
           FileErrors* errors) {
  std::map<std::string, const MetricDef*> old;
  for (const MetricDef& m : *metrics) old.emplace(m.name, &m);
  std::map<std::string, const MetricDef*> known = old;
  std::vector<const MetricDef*> accepted;
  for (const MetricDef& def : added) {
    auto [it, inserted] = known.emplace(def.name, &def);
    if (inserted) {
      accepted.push_back(&def);
      continue;
    }
    errors->Add(def.line, "metric " + Quote(def.name) +
                              " is defined twice (first at " +
                              Where(*it->second) + ")");
  }
  std::vector<MetricDef> kept;
  for (const MetricDef* def : accepted) {
    if (!Collides(*def, known, old, errors)) kept.push_back(*def);
  }
  for (MetricDef& def : kept) metrics->push_back(std::move(def));
  std::sort(
      metrics->begin(), metrics->end(),
      [](const MetricDef& a, const MetricDef& b) { return a.name < b.name; });
  assert(std::adjacent_find(metrics->begin(), metrics->end(),
                            [](const MetricDef& a, const MetricDef& b) {
                              return a.name == b.name;
                            }) == metrics->end());
}

// Parses one file's text and merges its valid definitions into `metrics`;
// appends its problems to `messages`.
void AddFileTo(const std::string& text, const std::string& filename,
               std::vector<MetricDef>* metrics,
               std::vector<std::string>* messages) {
  FileErrors errors(filename);
  std::vector<MetricDef> added;
  ParseAllowlistFile(text, &errors, &added);
  Merge(std::move(added), metrics, &errors);
  errors.AppendTo(messages);
}

// True for the name of an allowlist file: *.json, not hidden.
bool IsAllowlistFileName(const std::string& name) {
  return !name.empty() && name[0] != '.' && EndsWith(name, ".json");
}

// An allowlist file of a directory.
struct JsonFile {
  std::string name;  // in the directory
  std::string path;  // the directory's path joined with `name`
};

// The allowlist files in `dir` (regular files, or links to them), sorted by
// name. Returns the error if `dir` cannot be read.
std::error_code ListJsonFiles(const std::string& dir,
                              std::vector<JsonFile>* files) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!IsAllowlistFileName(name)) continue;
    std::error_code status_ec;  // a dangling link is no file: skipped
    if (!it->is_regular_file(status_ec)) continue;
    files->push_back({name, (fs::path(dir) / name).string()});
  }
  if (ec) return ec;
  std::sort(
      files->begin(), files->end(),
      [](const JsonFile& a, const JsonFile& b) { return a.name < b.name; });
  return {};
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return false;
  *out = buffer.str();
  return true;
}

}  // namespace

Status Allowlist::LoadDir(const std::string& dir, Allowlist* out) {
  std::vector<JsonFile> files;
  if (std::error_code ec = ListJsonFiles(dir, &files)) {
    std::string message =
        dir + ": cannot read the allowlist directory: " + ec.message();
    if (ec == std::errc::no_such_file_or_directory) {
      return Status::NotFound(message);
    }
    return Status::IoError(message);
  }
  std::vector<MetricDef> metrics;
  std::vector<std::string> messages;
  for (const JsonFile& file : files) {
    std::string text;
    if (!ReadFile(file.path, &text)) {
      messages.push_back(file.path + ": cannot read: " + std::strerror(errno));
      continue;
    }
    AddFileTo(text, file.path, &metrics, &messages);
  }
  if (!messages.empty()) return Status::InvalidArgument(JoinLines(messages));
  out->metrics_ = std::move(metrics);
  return Status::Ok();
}

Status Allowlist::AddFile(const std::string& text,
                          const std::string& filename) {
  std::vector<MetricDef> metrics = metrics_;
  std::vector<std::string> messages;
  AddFileTo(text, filename, &metrics, &messages);
  if (!messages.empty()) return Status::InvalidArgument(JoinLines(messages));
  metrics_ = std::move(metrics);
  return Status::Ok();
}

const MetricDef* Allowlist::Find(std::string_view name) const {
  auto it = std::lower_bound(
      metrics_.begin(), metrics_.end(), name,
      [](const MetricDef& m, std::string_view n) { return m.name < n; });
  if (it == metrics_.end() || it->name != name) return nullptr;
  return &*it;
}

std::string AllowlistFingerprint(const std::string& dir) {
  std::vector<JsonFile> files;
  if (ListJsonFiles(dir, &files)) return "";
  std::string out = "pum-allowlist\n";
  for (const JsonFile& file : files) {
    std::error_code size_ec, time_ec;
    const auto size = fs::file_size(file.path, size_ec);
    const auto mtime = fs::last_write_time(file.path, time_ec);
    if (size_ec || time_ec) continue;  // gone since it was listed
    const auto mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              mtime.time_since_epoch())
                              .count();
    out += file.name + "\t" + std::to_string(size) + "\t" +
           std::to_string(mtime_ns) + "\n";
  }
  return out;
}

}  // namespace pum

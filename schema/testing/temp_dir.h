// TempDir: a directory under $TMPDIR (or /tmp) for tests, removed with
// everything in it when destroyed (mkdtemp, so names never clash).
// Test-only helper; not part of libpumschema's interface.
#ifndef PUM_SCHEMA_TESTING_TEMP_DIR_H_
#define PUM_SCHEMA_TESTING_TEMP_DIR_H_

#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace pum {
namespace testing {

class TempDir {
 public:
  TempDir() {
    std::error_code ec;
    std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
    if (ec) tmp = "/tmp";
    std::string pattern = (tmp / "pum-test-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  // Removes the directory and everything in it (links are removed, not
  // followed).
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;  // nothing to do about a failure in a test
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty if the directory could not be made.
  const std::string& path() const { return path_; }
  // The path of `name` in the directory.
  std::string Path(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to the file `name` in the directory; true on success.
  bool Write(const std::string& name, const std::string& text) const {
    std::ofstream out(Path(name), std::ios::binary | std::ios::trunc);
    out << text;
    return static_cast<bool>(out);
  }

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace pum

#endif  // PUM_SCHEMA_TESTING_TEMP_DIR_H_

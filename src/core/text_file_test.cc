#include "knob/core/text_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob {
namespace {

void write_raw(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(TextFileTest, WritesNewAndReplacesOldFilesWhole) {
  testing::TempDir dir;
  const std::string path = dir.file("out.csv");
  write_file_atomically(path, "a,b\n1,2\n", "--output");
  EXPECT_EQ(read_text_file(path), "a,b\n1,2\n");
  ::chmod(path.c_str(), 0640);
  write_file_atomically(path, "new", "--output");
  EXPECT_EQ(read_text_file(path), "new");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // the replaced file keeps its mode
  EXPECT_EQ(files_in(dir.path()), 1u);  // no temporary left behind
}

TEST(TextFileTest, WritesThroughASymlinkToItsTarget) {
  testing::TempDir dir;
  write_raw(dir.file("target.txt"), "old");
  std::filesystem::create_symlink(dir.file("target.txt"), dir.file("link.txt"));
  write_file_atomically(dir.file("link.txt"), "new");
  EXPECT_TRUE(std::filesystem::is_symlink(dir.file("link.txt")));
  EXPECT_EQ(read_text_file(dir.file("target.txt")), "new");
}

// Bad output paths: refused, naming the field and the path, with nothing written or changed.
TEST(TextFileTest, MalformedOutputIsRefusedAndNothingChanges) {
  testing::TempDir dir;
  const std::string db = dir.file("study.db");
  write_raw(db, std::string("SQLite format 3\0precious", 24));
  std::filesystem::create_hard_link(db, dir.file("alias.db"));
  std::filesystem::create_directory(dir.file("sub"));
  struct Case {
    std::string name, path;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"the kept file", db, {"--output = \"" + db + "\"", "same file as " + db}},
      {"the kept file by another name",
       dir.file("alias.db"),
       {"alias.db", "same file as " + db, "choose another file"}},
      {"the kept file by a relative path",
       dir.file("sub/../study.db"),
       {"sub/../study.db", "same file as"}},
      {"a directory", dir.file("sub"), {"--output", "not a directory"}},
      {"a missing directory", dir.file("nowhere/out.csv"), {"nowhere/out.csv", "does not exist"}},
      {"empty", "", {"--output = \"\"", "must be a file path"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { write_file_atomically(c.path, "csv,text\n", "--output", {db}); },
        c.fragments);
  }
  EXPECT_EQ(read_text_file(db), std::string("SQLite format 3\0precious", 24));
  EXPECT_EQ(files_in(dir.path()), 3u);  // study.db, alias.db, sub: no temporaries
}

TEST(TextFileTest, AFullDeviceIsAnErrorNotSilence) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  try {
    write_file_atomically("/dev/full", std::string(100000, 'x'), "--output");
    ADD_FAILURE() << "writing /dev/full succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--output = \"/dev/full\": cannot write it"),
              std::string::npos)
        << e.what();
  }
}

TEST(TextFileTest, SameFileComparesDeviceAndInode) {
  testing::TempDir dir;
  write_raw(dir.file("a"), "x");
  write_raw(dir.file("b"), "x");
  EXPECT_TRUE(same_file(dir.file("a"), dir.path() + "/./a"));
  EXPECT_FALSE(same_file(dir.file("a"), dir.file("b")));
  EXPECT_FALSE(same_file(dir.file("a"), dir.file("missing")));
}

}  // namespace
}  // namespace knob

// MappedFile: maps real bytes, reports errors with the path and errno text,
// handles empty files and moves.
#include "src/util/mapped_file.h"

#include "src/util/mapped_file_fault.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace quest {
namespace {

std::string TempPath(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("quest_mapped_") + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(MappedFile, MapsTheBytes) {
  const std::string path = TempPath("bytes");
  { std::ofstream(path, std::ios::binary) << "hello mmap"; }
  Result<MappedFile> m = MappedFile::Open(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->path(), path);
  ASSERT_EQ(m->size(), 10u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "hello mmap");

  MappedFile moved = std::move(m.value());
  EXPECT_EQ(m->data(), nullptr);
  EXPECT_EQ(moved.size(), 10u);
  MappedFile assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.data()[0], 'h');
  std::remove(path.c_str());
}

TEST(MappedFile, EmptyFile) {
  const std::string path = TempPath("empty");
  { std::ofstream(path, std::ios::binary); }
  Result<MappedFile> m = MappedFile::Open(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->size(), 0u);
  EXPECT_EQ(m->data(), nullptr);
  std::remove(path.c_str());
}

TEST(MappedFile, ErrorsNameThePathAndReason) {
  Result<MappedFile> missing = MappedFile::Open("/nonexistent/model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "/nonexistent/model.gguf: cannot open: No such file or directory");

  Result<MappedFile> dir = MappedFile::Open(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("not a regular file"), std::string::npos);
}

// A file truncated while mapped: the read past its new end names the file
// and the offset (exit code 1) instead of dying of a bare SIGBUS.
TEST(MappedFileDeathTest, TruncationWhileMappedNamesTheFile) {
  const std::string path = TempPath("truncated");
  { std::ofstream(path, std::ios::binary) << std::string(3 * 4096, 'x'); }
  EXPECT_EXIT(
      {
        InstallMappedFileFaultHandler();
        Result<MappedFile> f = MappedFile::Open(path);
        if (!f.ok()) std::abort();
        if (truncate(path.c_str(), 0) != 0) std::abort();
        volatile uint8_t b = f->data()[2 * 4096 + 5];
        (void)b;
      },
      ::testing::ExitedWithCode(1), path + ": the file changed while in use.*offset 8197");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace quest

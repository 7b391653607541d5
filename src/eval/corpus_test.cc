// LoadCorpus filtering and errors; the default data locations.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "src/eval/prompt.h"

namespace quest::eval {
namespace {

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "quest_corpus_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Corpus, KeepsLowercaseWordsOfThreeToTenLetters) {
  const std::string dir = TempDir();
  {
    std::ofstream w(dir + "/words");
    w << "Aaron\nab\nabc\nabc\nzebra's\nhello\nabcdefghijk\nabcdefghij\ncafé\nx-ray\n";
    for (int i = 0; i < 120; ++i)
      w << "w" << static_cast<char>('a' + i % 26) << static_cast<char>('a' + i / 26) << "z\n";
    std::ofstream e(dir + "/essay.txt");
    e << "In the beginning.\n";
  }
  Result<Corpus> c = LoadCorpus(dir + "/words", dir + "/essay.txt");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->words[0], "abc");
  EXPECT_EQ(c->words[1], "hello");
  EXPECT_EQ(c->words[2], "abcdefghij");
  EXPECT_EQ(c->words.size(), 3u + 120u);
  EXPECT_EQ(c->essay, "In the beginning.\n");
  std::filesystem::remove_all(dir);
}

TEST(Corpus, ErrorsNameTheFile) {
  const std::string dir = TempDir();
  Result<Corpus> missing = LoadCorpus(dir + "/nope", dir + "/essay.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir + "/nope"), std::string::npos);
  {
    std::ofstream w(dir + "/few");
    w << "abc\ndef\n";
  }
  Result<Corpus> few = LoadCorpus(dir + "/few", dir + "/essay.txt");
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("at least 100"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Corpus, DefaultPaths) {
  EXPECT_EQ(DefaultWordsPath(), "/usr/share/dict/words");
  ::setenv("QUEST_DATA_DIR", "/some/dir", 1);
  EXPECT_EQ(DefaultEssayPath(), "/some/dir/kjv.txt");
  ::unsetenv("QUEST_DATA_DIR");
  const std::string def = DefaultEssayPath();
  EXPECT_EQ(def.substr(def.size() - 13), "/data/kjv.txt");
}

}  // namespace
}  // namespace quest::eval

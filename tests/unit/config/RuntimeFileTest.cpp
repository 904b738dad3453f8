// The runtime file (<db>.gateway.json) holds the per-start admin key: it must end
// owner-only whatever was there before and whatever the umask, and a symlink
// planted at its path or at its temporary never redirects the write (issue 9).

#include "config/RuntimeFile.h"

#include "support/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <system_error>

using wsgw::config::readRuntimeFile;
using wsgw::config::RuntimeInfo;
using wsgw::config::writeRuntimeFile;
using wsgw::test::TempDir;

namespace {

RuntimeInfo sampleInfo()
{
    return {4242,
            "http://127.0.0.1:5000/push",
            "http://127.0.0.1:6000",
            5000,
            6000,
            "admin-key-0123456789abcdefghijklmnopqrstuvw"};
}

std::string readText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void writeText(const std::string& path, const std::string& text, mode_t mode)
{
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
}

/// The permission bits of PATH itself (not of a symlink's target).
mode_t modeOf(const std::string& path)
{
    struct stat info
    {};
    if (::lstat(path.c_str(), &info) != 0)
        return 0;
    return info.st_mode & 07777;
}

bool isRegularFile(const std::string& path)
{
    return std::filesystem::is_regular_file(std::filesystem::symlink_status(path));
}

void expectSample(const std::string& path)
{
    auto read = readRuntimeFile(path);
    ASSERT_TRUE(read.has_value());
    auto expected = sampleInfo();
    EXPECT_EQ(read->pid, expected.pid);
    EXPECT_EQ(read->push_url, expected.push_url);
    EXPECT_EQ(read->stat_url, expected.stat_url);
    EXPECT_EQ(read->port, expected.port);
    EXPECT_EQ(read->stat_port, expected.stat_port);
    EXPECT_EQ(read->admin_key, expected.admin_key);
}

/// Sets the umask for one scope.
class UmaskGuard
{
public:
    explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(old_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

private:
    mode_t old_;
};

} // namespace

TEST(RuntimeFileTest, ContentRoundTrips)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    writeRuntimeFile(path, sampleInfo());
    expectSample(path);
    EXPECT_EQ(modeOf(path), 0600);
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path + ".tmp")));
}

TEST(RuntimeFileTest, AbsentOrGarbledReadsAsNothing)
{
    TempDir dir;
    EXPECT_FALSE(readRuntimeFile(dir.file("absent.json")).has_value());
    writeText(dir.file("garbled.json"), "{\"pid\":", 0600);
    EXPECT_FALSE(readRuntimeFile(dir.file("garbled.json")).has_value());
}

TEST(RuntimeFileTest, PreExistingWorldReadableFileEndsOwnerOnly)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    writeText(path, "old content, world-readable\n", 0644);
    writeRuntimeFile(path, sampleInfo());
    EXPECT_EQ(modeOf(path), 0600);
    expectSample(path);
}

// A stale temporary (a crash between create and rename) may have any mode and
// be longer than the new content: it is replaced, not reused.
TEST(RuntimeFileTest, StaleTemporaryIsReplaced)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    writeText(path + ".tmp", std::string(4096, 'x'), 0644);
    writeRuntimeFile(path, sampleInfo());
    EXPECT_EQ(modeOf(path), 0600);
    expectSample(path);
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path + ".tmp")));
}

TEST(RuntimeFileTest, OwnerOnlyWhateverTheUmask)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    {
        UmaskGuard mask(0377);
        writeRuntimeFile(path, sampleInfo());
    }
    EXPECT_EQ(modeOf(path), 0600);
    expectSample(path);
}

// Someone who can write the directory plants PATH.tmp -> a file of the gateway
// user's: the write must neither truncate nor fill that file.
TEST(RuntimeFileTest, SymlinkAtTheTemporaryIsNotFollowed)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    auto victim = dir.file("victim");
    writeText(victim, "precious\n", 0644);
    std::filesystem::create_symlink(victim, path + ".tmp");
    writeRuntimeFile(path, sampleInfo());
    EXPECT_EQ(readText(victim), "precious\n");
    EXPECT_EQ(modeOf(victim), 0644);
    EXPECT_TRUE(isRegularFile(path));
    EXPECT_EQ(modeOf(path), 0600);
    expectSample(path);
}

// rename() replaces a symlink at the destination; the target stays as it was.
TEST(RuntimeFileTest, SymlinkAtTheFinalPathIsReplacedNotFollowed)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    auto victim = dir.file("victim");
    writeText(victim, "precious\n", 0644);
    std::filesystem::create_symlink(victim, path);
    writeRuntimeFile(path, sampleInfo());
    EXPECT_EQ(readText(victim), "precious\n");
    EXPECT_EQ(modeOf(victim), 0644);
    EXPECT_TRUE(isRegularFile(path));
    EXPECT_EQ(modeOf(path), 0600);
    expectSample(path);
}

TEST(RuntimeFileTest, DirectoryAtTheFinalPathIsAnErrorThatNamesIt)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    std::filesystem::create_directory(path);
    try
    {
        writeRuntimeFile(path, sampleInfo());
        FAIL() << "no exception";
    }
    catch (const std::system_error& e)
    {
        std::string what = e.what();
        EXPECT_NE(what.find(path), std::string::npos) << what;
        EXPECT_NE(what.find("is a directory"), std::string::npos) << what;
        EXPECT_NE(what.find("remove it"), std::string::npos) << what;
    }
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path + ".tmp")));
}

TEST(RuntimeFileTest, UncreatableTemporaryIsAnErrorThatNamesIt)
{
    TempDir dir;
    auto path = dir.file("no-such-dir/wsgw.db.gateway.json");
    try
    {
        writeRuntimeFile(path, sampleInfo());
        FAIL() << "no exception";
    }
    catch (const std::system_error& e)
    {
        std::string what = e.what();
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << what;
        EXPECT_NE(what.find(path + ".tmp"), std::string::npos) << what;
        EXPECT_NE(what.find("writable"), std::string::npos) << what;
    }
}

// A directory where the temporary goes cannot be unlinked: say so instead of
// failing later with a puzzling "file exists".
TEST(RuntimeFileTest, DirectoryAtTheTemporaryIsAnErrorThatNamesIt)
{
    TempDir dir;
    auto path = dir.file("wsgw.db.gateway.json");
    std::filesystem::create_directory(path + ".tmp");
    try
    {
        writeRuntimeFile(path, sampleInfo());
        FAIL() << "no exception";
    }
    catch (const std::system_error& e)
    {
        std::string what = e.what();
        EXPECT_NE(what.find(path + ".tmp"), std::string::npos) << what;
        EXPECT_NE(what.find("remove it"), std::string::npos) << what;
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

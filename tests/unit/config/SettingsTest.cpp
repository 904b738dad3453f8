// Settings: the built-in defaults, the documented INI file, and errors that name the key.

#include "config/Settings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using wsgw::config::Settings;

namespace {

std::string writeTemp(const std::string& text)
{
    auto path = std::filesystem::temp_directory_path() /
                ("wsgw-settings-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".ini");
    std::ofstream(path) << text;
    return path.string();
}

} // namespace

TEST(SettingsTest, ShippedIniParsesToBuiltInDefaults)
{
    auto parsed = Settings::fromFile(std::string(WSGW_SOURCE_DIR) + "/etc/wsgw.ini");
    EXPECT_TRUE(parsed == Settings{});
}

TEST(SettingsTest, ShippedIniListsEveryKey)
{
    std::ifstream in(std::string(WSGW_SOURCE_DIR) + "/etc/wsgw.ini");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& key : Settings::keys())
    {
        auto dot = key.find('.');
        std::string section = "[" + key.substr(0, dot) + "]";
        std::string name = "\n" + key.substr(dot + 1) + " =";
        EXPECT_NE(text.find(section), std::string::npos) << key;
        EXPECT_NE(text.find(name), std::string::npos) << key;
    }
}

TEST(SettingsTest, ValuesOverrideDefaults)
{
    auto path = writeTemp("[server]\nport = 0\n[ws]\nauth_window_ms = 250\n[push]\nrequire_key = false\n"
                          "[apps]\nunknown = public\n[db]\npath = /tmp/x.db\n");
    auto s = Settings::fromFile(path);
    EXPECT_EQ(s.port, 0);
    EXPECT_EQ(s.auth_window.count(), 250);
    EXPECT_FALSE(s.push_require_key);
    EXPECT_EQ(s.unknown_apps, wsgw::config::UnknownApps::Public);
    EXPECT_EQ(s.db_path, "/tmp/x.db");
    EXPECT_EQ(s.stat_port, 6000); // untouched keys keep defaults
    std::remove(path.c_str());
}

TEST(SettingsTest, UnknownKeyIsNamed)
{
    auto path = writeTemp("[ws]\nauth_windw_ms = 5\n");
    try
    {
        Settings::fromFile(path);
        FAIL() << "expected config::Error";
    }
    catch (const wsgw::config::Error& e)
    {
        EXPECT_NE(std::string(e.what()).find("ws.auth_windw_ms"), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
}

TEST(SettingsTest, BadValuesAreRejectedWithTheirKey)
{
    const char* cases[] = {
        "[server]\nport = 70000\n",       "[server]\nport = http\n",
        "[push]\nrequire_key = maybe\n",  "[apps]\nunknown = open\n",
        "[ws]\nmax_message_bytes = -1\n", "[db]\npath =\n",
        "[auth]\njwt_leeway_ms = -1\n",   "[auth]\njwt_require_exp = sometimes\n",
    };
    for (const char* text : cases)
    {
        auto path = writeTemp(text);
        EXPECT_THROW(Settings::fromFile(path), wsgw::config::Error) << text;
        std::remove(path.c_str());
    }
}

// SPEC §6: the JWT settings; empty texts mean "off" or "not checked".
TEST(SettingsTest, AuthSettings)
{
    auto path = writeTemp("[auth]\njwt_secret = s3cret\njwt_require_exp = false\njwt_leeway_ms = 0\n"
                          "jwt_audience = wsgw\njwt_issuer = https://login.example.com\njwt_public_key =\n");
    auto s = Settings::fromFile(path);
    EXPECT_EQ(s.jwt_secret, "s3cret");
    EXPECT_FALSE(s.jwt_require_exp);
    EXPECT_EQ(s.jwt_leeway.count(), 0);
    EXPECT_EQ(s.jwt_audience, "wsgw");
    EXPECT_EQ(s.jwt_issuer, "https://login.example.com");
    EXPECT_TRUE(s.jwt_public_key.empty());
    std::remove(path.c_str());
}

// SPEC §9: the [cluster] keys; alone by default.
TEST(SettingsTest, ClusterSettings)
{
    EXPECT_TRUE(Settings{}.cluster_redis.empty());
    EXPECT_EQ(Settings{}.cluster_role, wsgw::config::ClusterRole::Primary);
    auto path = writeTemp("[cluster]\nredis = 10.0.0.10:6379 10.0.0.11:6379\nredis_password = pw\nprefix = eu1\n"
                          "role = replica\nnode_name = gw2\ntimeout_ms = 500\n");
    auto s = Settings::fromFile(path);
    EXPECT_EQ(s.cluster_redis, "10.0.0.10:6379 10.0.0.11:6379");
    EXPECT_EQ(s.cluster_redis_password, "pw");
    EXPECT_EQ(s.cluster_prefix, "eu1");
    EXPECT_EQ(s.cluster_role, wsgw::config::ClusterRole::Replica);
    EXPECT_EQ(s.cluster_node_name, "gw2");
    EXPECT_EQ(s.cluster_timeout.count(), 500);
    std::remove(path.c_str());
    for (const char* text : {"[cluster]\nrole = leader\n", "[cluster]\nprefix =\n", "[cluster]\nprefix = a b\n",
                             "[cluster]\nprefix = app*\n", "[cluster]\ntimeout_ms = 0\n"})
    {
        auto bad = writeTemp(text);
        EXPECT_THROW(Settings::fromFile(bad), wsgw::config::Error) << text;
        std::remove(bad.c_str());
    }
}

TEST(SettingsTest, MissingFileIsAClearError)
{
    try
    {
        Settings::fromFile("/nonexistent/wsgw.ini");
        FAIL() << "expected config::Error";
    }
    catch (const wsgw::config::Error& e)
    {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/wsgw.ini"), std::string::npos);
    }
}

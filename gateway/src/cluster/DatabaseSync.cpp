#include "cluster/DatabaseSync.h"

#include "store/Error.h"
#include "store/Store.h"

#include <Poco/Logger.h>

#include <charconv>

namespace wsgw::cluster {

namespace {

Poco::Logger& logger()
{
    return Poco::Logger::get("wsgw.cluster");
}

} // namespace

std::string encodeImage(std::string_view run, int64_t generation, std::string_view primary, std::string_view bytes)
{
    std::string out = "wsgwdb1 ";
    out += run;
    out += ' ';
    out += std::to_string(generation);
    out += ' ';
    for (char c : primary)
        out += (c == ' ' || c == '\n') ? '_' : c;
    out += '\n';
    out += bytes;
    return out;
}

std::optional<ShippedImage> decodeImage(std::string_view shipped)
{
    constexpr std::string_view kMagic = "wsgwdb1 ";
    if (shipped.substr(0, kMagic.size()) != kMagic)
        return std::nullopt;
    size_t newline = shipped.find('\n');
    if (newline == std::string_view::npos)
        return std::nullopt;
    std::string_view header = shipped.substr(kMagic.size(), newline - kMagic.size());
    size_t first = header.find(' ');
    size_t second = first == std::string_view::npos ? first : header.find(' ', first + 1);
    if (second == std::string_view::npos)
        return std::nullopt;
    ShippedImage image;
    image.run = std::string(header.substr(0, first));
    auto number = header.substr(first + 1, second - first - 1);
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), image.generation);
    if (ec != std::errc() || end != number.data() + number.size() || image.run.empty())
        return std::nullopt;
    image.primary = std::string(header.substr(second + 1));
    image.bytes = shipped.substr(newline + 1);
    return image;
}

DatabaseShipper::DatabaseShipper(Broker& broker, std::string run, std::string primary)
    : broker_(broker), run_(std::move(run)), primary_(std::move(primary))
{}

void DatabaseShipper::ship(store::Store& db)
{
    if (db.generation() == shipped_generation_)
        return;
    auto image = db.exportImage();
    shipped_generation_ = image.generation;
    broker_.retainDatabase(encodeImage(run_, image.generation, primary_, image.bytes));
    logger().information("database generation %s shipped to the replicas (%z bytes)", std::to_string(image.generation),
                         image.bytes.size());
}

DatabaseCopier::DatabaseCopier(std::string db_path, hub::Metrics& metrics)
    : db_path_(std::move(db_path)), metrics_(metrics)
{}

DatabaseCopier::~DatabaseCopier()
{
    stop();
}

void DatabaseCopier::start()
{
    thread_ = std::thread([this] { run(); });
}

void DatabaseCopier::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void DatabaseCopier::offer(std::string shipped)
{
    {
        std::lock_guard lock(mutex_);
        next_ = std::move(shipped);
    }
    wake_.notify_all();
}

void DatabaseCopier::run()
{
    std::unique_lock lock(mutex_);
    while (true)
    {
        wake_.wait(lock, [this] { return stopping_ || next_; });
        if (stopping_)
            return;
        std::string shipped = std::move(*next_);
        next_.reset();
        lock.unlock();
        auto image = decodeImage(shipped);
        if (!image)
            logger().warning("ignoring a database image that is not one (%z bytes)", shipped.size());
        // The same primary run only moves forward: an older image that arrives
        // late (message and GET race) is not applied over a newer one.
        else if (image->run == applied_run_ && image->generation <= applied_generation_)
        {}
        else
        {
            try
            {
                store::Store db(db_path_, std::chrono::milliseconds(2000));
                db.importImage(image->bytes, image->primary);
                applied_run_ = image->run;
                applied_generation_ = image->generation;
                hub::Metrics::add(metrics_.cluster_db_applied);
                logger().information("database generation %s copied from the primary %s",
                                     std::to_string(image->generation), image->primary);
            }
            catch (const std::exception& e)
            {
                // The replica keeps serving its last copy; the next image tries again.
                logger().error("cannot copy the primary's database (generation %s) into %s: %s",
                               std::to_string(image->generation), db_path_, std::string(e.what()));
            }
        }
        lock.lock();
    }
}

} // namespace wsgw::cluster

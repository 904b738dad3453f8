#pragma once
/// One connection's frames waiting for the socket: references to shared,
/// immutable frames, oldest first, with the bytes of the oldest already
/// written. Its cost (wire bytes plus a fixed overhead per entry) is what the
/// slow-consumer cap is checked against, so nothing a client does grows it
/// unnoticed (SPEC §5). Loop thread only.

#include <cstddef>
#include <memory>
#include <string>
#include <sys/uio.h>
#include <vector>

namespace wsgw::transport {

/// An immutable, fully framed message, shared by every connection it is queued on.
using Frame = std::shared_ptr<const std::string>;

class OutboundQueue
{
public:
    /// Heap and bookkeeping one queued frame costs besides its bytes (the
    /// vector slot, and for a frame made for one connection its allocation).
    static constexpr size_t kEntryOverhead = 64;

    /// Appends FRAME. O(1) amortised.
    void push(Frame frame);
    /// Appends a pong; once kMaxDistinctPongs pongs wait unwritten, replaces
    /// the newest of them instead: a client that pings without reading gets a
    /// few pongs and then one for its latest ping (RFC 6455 §5.5.3), not one
    /// per ping, while a client that reads gets every one (Autobahn 2.10).
    void pushPong(Frame frame);

    /// Pongs that may wait unwritten before the newest one is replaced.
    static constexpr size_t kMaxDistinctPongs = 16;

    bool empty() const noexcept { return head_ == frames_.size(); }
    /// Wire bytes not yet written.
    size_t bytes() const noexcept { return bytes_; }
    /// What the queue holds, counted against the connection's cap.
    size_t cost() const noexcept { return bytes_ + (frames_.size() - head_) * kEntryOverhead; }

    /// Points up to MAX entries of IOV at the unwritten bytes, oldest first; returns how many.
    int fill(iovec* iov, int max) const;
    /// WRITTEN bytes went out: drops the frames that are complete, and compacts
    /// the storage so a reader that never drains it fully cannot grow it.
    void consume(size_t written);
    /// Drops every frame not yet started; a partly written one stays, so the
    /// stream stays well formed.
    void discardUnstarted();
    /// Drops everything (the connection is gone).
    void clear();

private:
    void compact();

    std::vector<Frame> frames_;
    size_t head_ = 0;        ///< first unwritten frame
    size_t head_offset_ = 0; ///< bytes of frames_[head_] already written
    size_t bytes_ = 0;
    size_t pong_ = kNone;      ///< index of the newest queued pong not fully written
    size_t pongs_waiting_ = 0; ///< pongs queued since all earlier ones were written (an upper bound)
    static constexpr size_t kNone = ~size_t{0};
};

} // namespace wsgw::transport

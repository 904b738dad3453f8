#include "transport/OutboundQueue.h"

namespace wsgw::transport {

void OutboundQueue::push(Frame frame)
{
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
}

void OutboundQueue::pushPong(Frame frame)
{
    bool untouched = pong_ != kNone && (pong_ > head_ || (pong_ == head_ && head_offset_ == 0));
    if (untouched && pongs_waiting_ >= kMaxDistinctPongs)
    {
        bytes_ = bytes_ - frames_[pong_]->size() + frame->size();
        frames_[pong_] = std::move(frame);
        return;
    }
    pong_ = frames_.size();
    ++pongs_waiting_;
    push(std::move(frame));
}

int OutboundQueue::fill(iovec* iov, int max) const
{
    int count = 0;
    for (size_t i = head_; i < frames_.size() && count < max; ++i, ++count)
    {
        const std::string& bytes = *frames_[i];
        size_t skip = i == head_ ? head_offset_ : 0;
        iov[count].iov_base = const_cast<char*>(bytes.data() + skip);
        iov[count].iov_len = bytes.size() - skip;
    }
    return count;
}

void OutboundQueue::consume(size_t written)
{
    bytes_ -= written;
    while (written > 0)
    {
        size_t left = frames_[head_]->size() - head_offset_;
        if (written < left)
        {
            head_offset_ += written;
            break;
        }
        written -= left;
        frames_[head_].reset();
        ++head_;
        head_offset_ = 0;
    }
    if (pong_ != kNone && pong_ < head_)
    {
        // The newest pong is out, so every earlier one is too.
        pong_ = kNone;
        pongs_waiting_ = 0;
    }
    compact();
}

void OutboundQueue::compact()
{
    if (head_ == frames_.size())
    {
        frames_.clear();
        head_ = 0;
        if (frames_.capacity() > 16)
            frames_.shrink_to_fit();
        return;
    }
    // The written prefix is dead weight: once it is half the storage, move the
    // live part down, so storage stays within twice what is really queued.
    if (head_ >= 16 && head_ * 2 >= frames_.size())
    {
        frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
        if (pong_ != kNone)
            pong_ -= head_;
        head_ = 0;
        if (frames_.capacity() > 4 * frames_.size() && frames_.capacity() > 16)
            frames_.shrink_to_fit();
    }
}

void OutboundQueue::discardUnstarted()
{
    size_t keep = head_offset_ > 0 ? head_ + 1 : head_;
    for (size_t i = keep; i < frames_.size(); ++i)
        bytes_ -= frames_[i]->size();
    frames_.resize(keep);
    if (pong_ != kNone && pong_ >= keep)
    {
        pong_ = kNone;
        pongs_waiting_ = 0;
    }
    compact();
}

void OutboundQueue::clear()
{
    frames_.clear();
    frames_.shrink_to_fit();
    head_ = 0;
    head_offset_ = 0;
    bytes_ = 0;
    pong_ = kNone;
    pongs_waiting_ = 0;
}

} // namespace wsgw::transport

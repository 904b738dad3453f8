#pragma once
/// The client address of a connection (SPEC §5): the TCP peer, or behind a
/// proxy listed in http.trusted_proxies, the X-Forwarded-For address that proxy
/// vouches for. Pure: no sockets, no clock. Built at startup, then read-only;
/// any thread.

#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::hub {

class TrustedProxies
{
public:
    /// Trusts nobody: every client address is its TCP peer.
    TrustedProxies() = default;

    /// Parses http.trusted_proxies: CIDRs separated by spaces or tabs, IPv4
    /// ("10.0.0.0/8") or IPv6 ("2001:db8::/32"); a bare address is one host
    /// (/32, /128). Empty or blank = nobody. Throws config::Error naming the key
    /// and the entry for anything else, including a prefix with host bits set
    /// ("10.1.2.3/8": the network is 10.0.0.0/8) and a prefix over 32 / 128.
    static TrustedProxies parse(std::string_view list);

    /// One address as X-Forwarded-For carries it: IPv4 ("203.0.113.7"), IPv6
    /// ("2001:db8::7"), either with a port ("203.0.113.7:4711",
    /// "[2001:db8::7]:4711") or IPv6 in brackets; blanks around it are
    /// ignored. IPv4 comes back v4-mapped (::ffff:a.b.c.d), as the loops keep
    /// peers. Nullopt for anything else ("unknown", names, zone ids).
    static std::optional<in6_addr> parseAddress(std::string_view text);

    bool empty() const noexcept { return networks_.empty(); }

    /// True if ADDRESS (IPv4 v4-mapped) is in one of the networks. O(networks).
    bool contains(const in6_addr& address) const noexcept;

    /// The client address of a request from TCP_PEER carrying the
    /// X-Forwarded-For header values FORWARDED_FOR, in the order received.
    /// The rule: an untrusted TCP peer is the client, whatever it sends. From a
    /// trusted one, the values are read as one comma-separated list (several
    /// headers joined in order; empty elements skipped, RFC 9110 §5.6.1) from
    /// the right: each proxy appends the address it saw, so the right-most
    /// entry that is not itself a trusted proxy is the client. Nothing left of
    /// an untrusted entry is believed (the client wrote it). An entry that does
    /// not parse ends the walk too, and the last trusted hop (the TCP peer, or
    /// the trusted entry right of the bad one) is the client: a proxy that
    /// wrote garbage vouches for nobody. All entries trusted: the left-most.
    /// O(entries).
    in6_addr resolve(const in6_addr& tcp_peer, const std::vector<std::string>& forwarded_for) const;

private:
    struct Network
    {
        in6_addr base{};     ///< host bits zero
        unsigned prefix = 0; ///< on the 128-bit form: IPv4 /n is 96 + n
    };
    std::vector<Network> networks_;
};

} // namespace wsgw::hub

package netguard

import "net/netip"

// refusedV4 lists the IPv4 ranges that are never a public target. The first group is what
// ADMIN-API §6.4 names; the second is what we add because no public service lives there.
var refusedV4 = mustPrefixes(
	// §6.4
	"127.0.0.0/8",    // loopback
	"10.0.0.0/8",     // private
	"172.16.0.0/12",  // private
	"192.168.0.0/16", // private
	"169.254.0.0/16", // link-local (includes cloud metadata 169.254.169.254)
	"100.64.0.0/10",  // CGNAT shared address space
	"224.0.0.0/4",    // multicast
	// additions
	"0.0.0.0/8",       // "this network", includes the unspecified 0.0.0.0
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1 documentation
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2 documentation
	"203.0.113.0/24",  // TEST-NET-3 documentation
	"240.0.0.0/4",     // reserved, includes the broadcast 255.255.255.255
)

// publicV6 is the only IPv6 space that can hold a public unicast address (global unicast).
var publicV6 = netip.MustParsePrefix("2000::/3")

// refusedV6 lists the parts of 2000::/3 that are still not public targets.
var refusedV6 = mustPrefixes(
	"2001:db8::/32", // documentation
	"2001::/32",     // Teredo: tunnels to an obfuscated IPv4 address we cannot vet here
	"2001:10::/28",  // ORCHID (deprecated), not routable
	"3fff::/20",     // documentation (RFC 9637)
)

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64 prefix
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64, operator network
	sixToFour  = netip.MustParsePrefix("2002::/16")      // 6to4, embeds an IPv4 address
	v4Compat   = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible form
)

func mustPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// IsPublicIP reports whether addr may be the target of a request to a tenant-supplied URL
// when private targets are not allowed.
//
// Refused (false): everything in ADMIN-API §6.4 — loopback (127.0.0.0/8, ::1), private
// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, fe80::/10), CGNAT
// (100.64/10), unspecified (0.0.0.0, ::) and multicast (224/4, ff00::/8) — and in addition
// 0/8, 192.0.0.0/24, the documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
// 2001:db8::/32, 3fff::/20), benchmarking 198.18/15, reserved 240/4 with broadcast
// 255.255.255.255, Teredo 2001::/32, ORCHID 2001:10::/28, local-use NAT64 64:ff9b:1::/48, and
// every IPv6 address outside global unicast 2000::/3 (which covers site-local fec0::/10,
// discard 100::/64 and the unique-local and link-local ranges). The invalid zero Addr and any
// zoned address are refused too.
//
// IPv6 forms that carry an IPv4 address are judged by that address: IPv4-mapped
// (::ffff:a.b.c.d), the deprecated IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d and 6to4
// 2002:aabb:ccdd::/48.
func IsPublicIP(addr netip.Addr) bool {
	if !addr.IsValid() || addr.Zone() != "" {
		return false
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	if addr.Is4() {
		for _, p := range refusedV4 {
			if p.Contains(addr) {
				return false
			}
		}
		return true
	}

	switch {
	case v4Compat.Contains(addr):
		// Covers :: and ::1 as well: their embedded IPv4 lies in 0/8.
		return IsPublicIP(embeddedV4(addr, 12))
	case nat64.Contains(addr):
		return IsPublicIP(embeddedV4(addr, 12))
	case nat64Local.Contains(addr):
		return false
	case sixToFour.Contains(addr):
		return IsPublicIP(embeddedV4(addr, 2))
	case !publicV6.Contains(addr):
		return false
	}
	for _, p := range refusedV6 {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// embeddedV4 returns the IPv4 address stored in bytes [at, at+4) of an IPv6 address.
func embeddedV4(addr netip.Addr, at int) netip.Addr {
	b := addr.As16()
	return netip.AddrFrom4([4]byte{b[at], b[at+1], b[at+2], b[at+3]})
}

package hl7

import (
	"container/list"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LoopbackOnly returns the allow-list a Server uses when Allow is empty:
// only senders on this machine may connect.
func LoopbackOnly() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ParseAllow reads an allow-list: CIDRs or single addresses separated by
// commas or white space ("10.1.2.0/24, 10.9.9.9, fd00::/8").
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// allowed reports whether addr is in one of the prefixes.
func allowed(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// remoteAddr returns a connection's peer address, IPv4 in IPv6 unmapped.
func remoteAddr(c net.Conn) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// admission decides which connections are served. It bounds connections
// at once and per peer address, and when full makes room by closing the
// oldest connection that has not yet sent a message: a sender whose
// connection carried a message (the EHR's) is never pushed out by
// connections that only sit there.
type admission struct {
	max, perAddr int

	mu     sync.Mutex
	total  int
	byAddr map[netip.Addr]int
	fresh  *list.List // *slot that have sent no message yet, oldest first
}

// slot is one admitted connection.
type slot struct {
	conn   net.Conn
	addr   netip.Addr
	fresh  *list.Element // in admission.fresh while the connection has sent no message
	closed bool          // evicted: its counts were already given back
}

func newAdmission(max, perAddr int) *admission {
	return &admission{max: max, perAddr: perAddr, byAddr: map[netip.Addr]int{}, fresh: list.New()}
}

// Refusal reasons, as logged.
const (
	refusedPerAddr = "too many connections from this address"
	refusedFull    = "too many connections"
)

// admit takes c or says why not. When it returns a slot it may also
// return a connection it evicted to make room, for the caller to close.
func (a *admission) admit(c net.Conn, addr netip.Addr) (s *slot, evicted net.Conn, refused string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byAddr[addr] >= a.perAddr {
		return nil, nil, refusedPerAddr
	}
	if a.total >= a.max {
		oldest := a.fresh.Front()
		if oldest == nil {
			return nil, nil, refusedFull
		}
		victim := oldest.Value.(*slot)
		a.drop(victim)
		victim.closed = true
		evicted = victim.conn
	}
	s = &slot{conn: c, addr: addr}
	s.fresh = a.fresh.PushBack(s)
	a.total++
	a.byAddr[addr]++
	return s, evicted, ""
}

// established records that s's connection carried a message: it is no
// longer evicted to make room.
func (a *admission) established(s *slot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.fresh != nil {
		a.fresh.Remove(s.fresh)
		s.fresh = nil
	}
}

// release gives s's place back when its connection ends.
func (a *admission) release(s *slot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !s.closed {
		a.drop(s)
		s.closed = true
	}
}

// drop takes s out of the counts; a.mu is held.
func (a *admission) drop(s *slot) {
	if s.fresh != nil {
		a.fresh.Remove(s.fresh)
		s.fresh = nil
	}
	a.total--
	if a.byAddr[s.addr]--; a.byAddr[s.addr] <= 0 {
		delete(a.byAddr, s.addr)
	}
}

// refusalLog logs refused connections without letting a flood of them
// flood the log: at most one line per reason every interval, with how
// many were refused since the last line.
type refusalLog struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	count map[string]int
}

func newRefusalLog(every time.Duration) *refusalLog {
	return &refusalLog{every: every, last: map[string]time.Time{}, count: map[string]int{}}
}

// note counts a refusal and reports whether to log it now, with the count
// of refusals for this reason it stands for.
func (r *refusalLog) note(reason string, now time.Time) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count[reason]++
	if now.Sub(r.last[reason]) < r.every {
		return 0, false
	}
	n := r.count[reason]
	r.last[reason], r.count[reason] = now, 0
	return n, true
}

package lesson06

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
)

// kernelMemberships returns the interfaces on which the kernel lists group
// as joined, from /proc/net/igmp (IPv4) or /proc/net/igmp6 (IPv6). ok is
// false if the file cannot be read.
func kernelMemberships(group netip.Addr) (devices []string, ok bool) {
	if group.Is4() {
		return igmp4(group)
	}
	return igmp6(group)
}

// igmp4 reads /proc/net/igmp: a line per interface ("1\tlo        :     1      V3")
// followed by a line per group, which starts with a tab and gives the group
// as 8 hex digits in the machine's byte order.
func igmp4(group netip.Addr) ([]string, bool) {
	f, err := os.Open("/proc/net/igmp")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var devices []string
	dev := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == "Idx" {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			if len(fields) >= 2 {
				dev = strings.TrimSuffix(fields[1], ":")
			}
			continue
		}
		b, err := hex.DecodeString(fields[0])
		if err != nil || len(b) != 4 {
			continue
		}
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], binary.BigEndian.Uint32(b))
		if netip.AddrFrom4(a) == group {
			devices = append(devices, dev)
		}
	}
	return devices, sc.Err() == nil
}

// igmp6 reads /proc/net/igmp6: "1    lo              ff020000000000000000000000000001     1 0000000C 0".
func igmp6(group netip.Addr) ([]string, bool) {
	f, err := os.Open("/proc/net/igmp6")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var devices []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		b, err := hex.DecodeString(fields[2])
		if err != nil || len(b) != 16 {
			continue
		}
		if netip.AddrFrom16([16]byte(b)) == group {
			devices = append(devices, fields[1])
		}
	}
	return devices, sc.Err() == nil
}

// membershipsReadable says why the kernel's lists of memberships cannot be
// read, or nil.
func membershipsReadable() error {
	f, err := os.Open("/proc/net/igmp")
	if err != nil {
		return err
	}
	return f.Close()
}

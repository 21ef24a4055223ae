/* --net parsing (net_parse): the backends, hostfwd= in QEMU's syntax, mac=,
 * and every kind of bad value with the message that names it. */
#include <arpa/inet.h>

#include "check.h"
#include "dev/virtio/net.h"
#include "vm.h"

/* net_parse cuts its argument up, as it does argv: parse a copy. */
static int parse(const char *spec, struct vm_net *out, char *err)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", spec);
	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	return net_parse(buf, out, err, 256);
}

static bool mac_is(const struct vm_net *o, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f)
{
	const uint8_t want[6] = { a, b, c, d, e, f };
	return memcmp(o->mac, want, 6) == 0;
}

static void good(void)
{
	struct vm_net o;
	char err[256];
	CHECK(parse("user", &o, err) == 0 && o.enabled && o.user && o.nfwd == 0 &&
	      mac_is(&o, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56), "net/user-default-mac");
	CHECK(parse("tap=tap0", &o, err) == 0 && o.enabled && !o.user && strcmp(o.tap, "tap0") == 0,
	      "net/tap");
	CHECK(parse("tap=abcdefghijklmno", &o, err) == 0 && strcmp(o.tap, "abcdefghijklmno") == 0,
	      "net/tap-15-characters");
	CHECK(parse("user,mac=02:AB:cd:00:00:01", &o, err) == 0 &&
	      mac_is(&o, 0x02, 0xab, 0xcd, 0x00, 0x00, 0x01), "net/mac-either-case");
	CHECK(parse("tap=t1,mac=52:54:00:00:00:09", &o, err) == 0 &&
	      mac_is(&o, 0x52, 0x54, 0x00, 0x00, 0x00, 0x09), "net/tap-mac");

	CHECK(parse("user,hostfwd=tcp::2222-:22", &o, err) == 0 && o.nfwd == 1 && !o.fwd[0].udp &&
	      o.fwd[0].host_addr == 0 && o.fwd[0].host_port == 2222 && o.fwd[0].guest_port == 22,
	      "net/hostfwd-empty-host-address");
	CHECK(parse("user,hostfwd=tcp:127.0.0.1:8080-:80", &o, err) == 0 &&
	      o.fwd[0].host_addr == htonl(0x7f000001) && o.fwd[0].host_port == 8080 &&
	      o.fwd[0].guest_port == 80, "net/hostfwd-host-address");
	CHECK(parse("user,hostfwd=udp:0.0.0.0:5353-10.0.2.15:53", &o, err) == 0 && o.fwd[0].udp &&
	      o.fwd[0].host_port == 5353 && o.fwd[0].guest_port == 53, "net/hostfwd-udp-guest-address");
	CHECK(parse("user,hostfwd=::65535-:1", &o, err) == 0 && !o.fwd[0].udp && o.fwd[0].host_port == 65535 &&
	      o.fwd[0].guest_port == 1, "net/hostfwd-no-protocol-is-tcp");
	CHECK(parse("user,hostfwd=tcp::1-:2,hostfwd=udp::1-:2,mac=52:54:00:00:00:01", &o, err) == 0 &&
	      o.nfwd == 2 && !o.fwd[0].udp && o.fwd[1].udp && mac_is(&o, 0x52, 0x54, 0, 0, 0, 1),
	      "net/hostfwd-same-port-tcp-and-udp");

	char many[512] = "user";
	for (int i = 0; i < VM_MAX_HOSTFWD; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",hostfwd=tcp::%d-:80", 1000 + i);
	CHECK(parse(many, &o, err) == 0 && o.nfwd == VM_MAX_HOSTFWD, "net/hostfwd-%d-forwards", VM_MAX_HOSTFWD);
}

/* spec must be refused with a message containing want. */
static void refused(const char *spec, const char *want, const char *name)
{
	struct vm_net o;
	char err[256];
	int rc = parse(spec, &o, err);
	CHECK(rc == -1 && strstr(err, want) != NULL && !o.enabled, "net/bad/%s (got: %s)", name, err);
}

static void bad(void)
{
	refused("", "the backend is user or tap=NAME", "empty");
	refused("bridge", "the backend is user or tap=NAME", "unknown-backend");
	refused("mac=52:54:00:12:34:56", "the backend is user or tap=NAME", "no-backend");
	refused("tap=", "a tap name is 1-15 characters", "tap-empty");
	refused("tap=abcdefghijklmnop", "a tap name is 1-15 characters", "tap-16-characters");
	refused("tap=a/b", "a tap name is 1-15 characters", "tap-slash");
	refused("tap=a b", "a tap name is 1-15 characters", "tap-space");
	refused("user,speed=10", "speed=10: unknown option", "unknown-option");
	refused("tap=t0,hostfwd=tcp::1-:2", "hostfwd= is for --net user only", "hostfwd-on-tap");

	refused("user,hostfwd=tcp::0-:22", "host port '0' is not a number from 1 to 65535", "host-port-0");
	refused("user,hostfwd=tcp::65536-:22", "host port '65536'", "host-port-65536");
	refused("user,hostfwd=tcp::-:22", "host port ''", "host-port-empty");
	refused("user,hostfwd=tcp::22x-:22", "host port '22x'", "host-port-not-a-number");
	refused("user,hostfwd=tcp::+22-:22", "host port '+22'", "host-port-sign");
	refused("user,hostfwd=tcp::2222-:0", "guest port '0' is not a number from 1 to 65535", "guest-port-0");
	refused("user,hostfwd=tcp::2222-:99999", "guest port '99999'", "guest-port-99999");
	refused("user,hostfwd=sctp::2222-:22", "protocol 'sctp' is neither tcp nor udp", "protocol");
	refused("user,hostfwd=tcp:localhost:2222-:22", "host address 'localhost' is not an IPv4 address",
		"host-address-name");
	refused("user,hostfwd=tcp:1.2.3:2222-:22", "host address '1.2.3'", "host-address-short");
	refused("user,hostfwd=tcp::2222-10.0.2.16:22", "the guest address must be empty or 10.0.2.15",
		"guest-address");
	refused("user,hostfwd=tcp::2222", "not tcp:HOSTADDR:HOSTPORT-:GUESTPORT", "no-guest-part");
	refused("user,hostfwd=tcp::2222-22", "not tcp:HOSTADDR:HOSTPORT-:GUESTPORT", "guest-port-no-colon");
	refused("user,hostfwd=tcp2222-:22", "not tcp:HOSTADDR:HOSTPORT-:GUESTPORT", "no-colon");
	refused("user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23", "host tcp port 2222 is forwarded twice",
		"hostfwd-twice");

	char many[512] = "user";
	for (int i = 0; i <= VM_MAX_HOSTFWD; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",hostfwd=tcp::%d-:80", 1000 + i);
	char want[64];
	snprintf(want, sizeof(want), "at most %d hostfwd= forwards", VM_MAX_HOSTFWD);
	refused(many, want, "hostfwd-too-many");

	refused("user,mac=01:00:5e:00:00:01", "a multicast MAC address", "mac-multicast");
	refused("user,mac=ff:ff:ff:ff:ff:ff", "a multicast MAC address", "mac-broadcast");
	refused("user,mac=00:00:00:00:00:00", "the all-zero MAC address", "mac-zero");
	refused("user,mac=52:54:00:12:34", "a MAC address is six hex pairs", "mac-short");
	refused("user,mac=52:54:00:12:34:56:78", "a MAC address is six hex pairs", "mac-long");
	refused("user,mac=52-54-00-12-34-56", "a MAC address is six hex pairs", "mac-dashes");
	refused("user,mac=52:54:00:12:34:5g", "a MAC address is six hex pairs", "mac-not-hex");
	refused("user,mac=5:54:00:12:34:56", "a MAC address is six hex pairs", "mac-one-digit");
	refused("user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac= given twice", "mac-twice");
}

static void twice(void)
{
	struct vm_net o;
	char err[256], spec[] = "tap=t0";
	memset(&o, 0, sizeof(o));
	char first[] = "user";
	CHECK(net_parse(first, &o, err, sizeof(err)) == 0, "net/twice/first");
	CHECK(net_parse(spec, &o, err, sizeof(err)) == -1 && strstr(err, "--net given twice") != NULL && o.user,
	      "net/twice/second-refused (got: %s)", err);
}

int main(void)
{
	good();
	bad();
	twice();
	return CHECK_DONE();
}

/* Command-line parsing: sizes, counts, modes and every kind of bad input. */
#include "check.h"
#include "cli.h"
#include "vm.h"

static int parse(struct run_options *o, char *err, int argc, char **argv)
{
	return cli_parse_run(argc, argv, o, err, 256);
}

#define ARGS(...) (char *[]){ "run", __VA_ARGS__, NULL }
#define NARGS(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) parse(o, err, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__))

static void sizes(void)
{
	uint64_t v = 0;
	CHECK(parse_size("256M", &v) == 0 && v == 256ull << 20, "size/256M");
	CHECK(parse_size("2G", &v) == 0 && v == 2ull << 30, "size/2G");
	CHECK(parse_size("2GiB", &v) == 0 && v == 2ull << 30, "size/2GiB");
	CHECK(parse_size("512MB", &v) == 0 && v == 512ull << 20, "size/512MB");
	CHECK(parse_size("1048576K", &v) == 0 && v == 1ull << 30, "size/1048576K");
	CHECK(parse_size("512", &v) == 0 && v == 512ull << 20, "size/bare-number-is-MiB");
	CHECK(parse_size("0x100M", &v) == 0 && v == 256ull << 20, "size/hex");
	CHECK(parse_size("0", &v) != 0, "size/zero-refused");
	CHECK(parse_size("0M", &v) != 0, "size/0M-refused");
	CHECK(parse_size("-1G", &v) != 0, "size/negative-refused");
	CHECK(parse_size("12Q", &v) != 0, "size/unknown-suffix-refused");
	CHECK(parse_size("G", &v) != 0, "size/no-digits-refused");
	CHECK(parse_size("99999999999T", &v) != 0, "size/overflow-refused");
	CHECK(parse_size("18446744073709551615", &v) != 0, "size/MiB-overflow-refused");
	CHECK(parse_size("", &v) != 0, "size/empty-refused");
}

static void good_runs(void)
{
	struct run_options o;
	char err[256];
	CHECK(PARSE(&o, err, "-k", "bz", "-i", "rd", "-a", "console=ttyS0", "-m", "1G", "-c", "2",
		    "--engine", "kvm", "--stats") == 0 &&
	      strcmp(o.boot.kernel, "bz") == 0 && strcmp(o.boot.initrd, "rd") == 0 &&
	      strcmp(o.boot.cmdline, "console=ttyS0") == 0 && o.ram_size == 1ull << 30 &&
	      o.ncpus == 2 && o.boot.ncpus == 2 && strcmp(o.engine, "kvm") == 0 && o.stats,
	      "run/all-short-options");
	CHECK(PARSE(&o, err, "--kernel=k", "--mem=64M", "--cpus=4", "--append=x y") == 0 &&
	      o.ram_size == 64ull << 20 && o.ncpus == 4 && strcmp(o.boot.cmdline, "x y") == 0,
	      "run/long-options-with-equals");
	CHECK(PARSE(&o, err, "-k", "k") == 0 && o.ram_size == 256ull << 20 && o.ncpus == 1 &&
	      strcmp(o.engine, "auto") == 0 && !o.boot.flat, "run/defaults");
	CHECK(PARSE(&o, err, "-k", "b", "--load", "0x7c00") == 0 && o.boot.flat &&
	      o.boot.load_addr == 0x7c00 && o.boot.flat_mode == FLAT_REAL, "run/flat-default-real");
	CHECK(PARSE(&o, err, "-k", "b", "--load", "0x100000", "--mode", "32") == 0 &&
	      o.boot.flat_mode == FLAT_PROT32, "run/flat-32");
	CHECK(PARSE(&o, err, "-h") == 1, "run/help");
}

static void bad_runs(void)
{
	struct run_options o;
	char err[256];
	CHECK(PARSE(&o, err, "-m", "256M") == -1 && strstr(err, "no kernel"), "bad/no-kernel");
	CHECK(PARSE(&o, err, "-k", "k", "-m", "0") == -1 && strstr(err, "memory size"), "bad/mem-zero");
	CHECK(PARSE(&o, err, "-k", "k", "-m", "lots") == -1, "bad/mem-garbage");
	CHECK(PARSE(&o, err, "-k", "k", "-c", "0") == -1 && strstr(err, "vCPUs"), "bad/cpus-zero");
	CHECK(PARSE(&o, err, "-k", "k", "-c", "1000") == -1, "bad/cpus-too-many");
	CHECK(PARSE(&o, err, "-k", "k", "-c", "two") == -1, "bad/cpus-garbage");
	CHECK(PARSE(&o, err, "-k", "k", "--frobnicate") == -1 && strstr(err, "unknown option"),
	      "bad/unknown-option");
	CHECK(PARSE(&o, err, "-k") == -1 && strstr(err, "needs a value"), "bad/missing-value");
	CHECK(PARSE(&o, err, "-k", "k", "extra") == -1 && strstr(err, "unexpected"), "bad/stray-argument");
	CHECK(PARSE(&o, err, "-k", "k", "--mode", "32") == -1 && strstr(err, "--load"),
	      "bad/mode-without-load");
	CHECK(PARSE(&o, err, "-k", "k", "--load", "0x7c00", "--mode", "64") == -1, "bad/mode-unknown");
	CHECK(PARSE(&o, err, "-k", "k", "--load", "nowhere") == -1, "bad/load-garbage");
	CHECK(PARSE(&o, err, "-k", "k", "--load", "0x7c00", "-i", "rd") == -1, "bad/flat-with-initrd");
	CHECK(PARSE(&o, err, "-k", "k", "--engine", "vmware") == -1 && strstr(err, "unknown engine"),
	      "bad/engine-unknown");
}

static void engines(void)
{
	char why[256] = "";
	CHECK(engine_select("vmware", why, sizeof(why)) == NULL && strstr(why, "unknown engine"),
	      "engine/unknown-refused");
	CHECK(engine_by_name("kvm") == &engine_kvm, "engine/kvm-by-name");
}

int main(void)
{
	sizes();
	good_runs();
	bad_runs();
	engines();
	return CHECK_DONE();
}

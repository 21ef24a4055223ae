#!/usr/bin/env bash
# The guest conformance suite (issue 3, guests/README.md): every conformance
# guest on every engine `popek engines` lists. Prints one line per check,
# named ENGINE/GUEST/CHECK, one line per guest run (did it finish with
# status 1, i.e. debug-exit 0), and engines-agree/GUEST when two engines
# report different results for the same checks.
#
# Known deviations: a guest prints "KNOWN kvm-pvm CHECK: WHY" for a check
# that this machine's nested KVM (the kvm_pvm module) is known to get wrong
# against the manuals, and "KNOWN kvm-pvm *: WHY" when that KVM cannot run
# the guest to its end. On the kvm engine of such a host, those FAILs (and
# an unfinished run) are reported as SKIP with WHY; everywhere else they
# count as failures like any other.
#
# POPEK=... selects another binary (guests/tools/popek-stub runs QEMU).
. "$(dirname "$0")/../lib.sh"

TIMEOUT=${CONF_TIMEOUT:-60}
LIST=$GUESTS/conf_guests.list
WORK=$(mktemp -d /tmp/popek-conformance.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$POPEK" ]; then
	skip "conformance: $POPEK is not built"
	exit 0
fi
if [ ! -s "$LIST" ]; then
	fail "conformance: no conformance guests in $LIST (make guests)"
	finish
fi
engines=$("$POPEK" engines 2>/dev/null | tr -s ' \t' '\n' | grep -v '^$')
if [ -z "$engines" ]; then
	why="popek engines lists none"
	have_kvm || why="$why ($KVM_WHY)"
	skip "conformance: no engine on this host: $why"
	exit 0
fi

# The emu engine runs each guest three ways: as it runs by default (blocks
# translated on their second run), translating every block at once
# (emu:eager) and interpreting only (emu:off). Each must pass every check,
# and engines-agree compares each with the first engine.
if grep -qx emu <<<"$engines"; then
	engines="$(tr '\n' ' ' <<<"$engines")emu:eager emu:off"
fi

# The kvm engine on a host whose /dev/kvm is kvm_pvm gets the kvm-pvm excuses.
excuse_tag() {
	if [ "$1" = kvm ] && [ -d /sys/module/kvm_pvm ]; then echo kvm-pvm; fi
}

# run_guest ENGINE GUEST: runs it and writes $WORK/ENGINE.GUEST.{out,res}.
# .res holds "CHECK RESULT" for the checks that count in the comparison.
run_guest() {
	local e=$1 g=$2 out status tag
	out=$WORK/$e.$g.out
	POPEK_EMU_JIT=${e#*:} timeout "$TIMEOUT" "$POPEK" run -k "$GUESTS/$g.elf" --engine "${e%%:*}" \
		>"$out" 2>&1 </dev/null
	status=$?
	tag=$(excuse_tag "$e")
	awk -v e="$e" -v g="$g" -v tag="$tag" -v status="$status" -v timeout="$TIMEOUT" \
		-v res="$WORK/$e.$g.res" '
	function known_why(name) { return (tag != "" && (name in known)) ? known[name] : "" }
	{ sub(/\r$/, "") }
	/^KNOWN / {
		split($0, w, " "); rest = $0; sub(/^KNOWN [^ ]+ [^:]+: /, "", rest)
		n = w[3]; sub(/:$/, "", n)
		if (w[2] == tag) known[n] = rest
		next
	}
	/^SECTION / { section = $2; next }
	/^SUMMARY / { summary = 1; next }
	/^PASS / { name = $2; checks++; print "PASS " e "/" g "/" name; print name " PASS" > res; next }
	/^SKIP / {
		name = $2; sub(/:$/, "", name); why = $0; sub(/^SKIP [^ ]+ ?/, "", why)
		print "SKIP " e "/" g "/" name ": " why; print name " SKIP" > res; next
	}
	/^FAIL unexpected_exception/ {
		# The runtime ends the guest on an exception no check expected:
		# the rest of its checks never ran.
		died = $0; sub(/^FAIL unexpected_exception: /, "", died); next
	}
	/^FAIL / {
		name = $2; sub(/:$/, "", name); msg = $0; sub(/^FAIL [^ ]+ ?/, "", msg)
		checks++
		if ((kw = known_why(name)) != "") {
			print "SKIP " e "/" g "/" name ": this host'"'"'s nested KVM deviates: " kw " (got: " msg ")"
			excused++
			print name " EXCUSED" > res
		} else {
			print "FAIL " e "/" g "/" name ": " msg; print name " FAIL" > res; failed++
		}
		next
	}
	END {
		finished = (status == 1 || status == 3) && summary && died == ""
		if (finished && status == 1 && failed == 0)
			print "PASS " e "/" g ": finished, status 1"
		else if (finished && failed == 0 && excused > 0)
			print "SKIP " e "/" g ": status " status " only from known deviations of this host'"'"'s nested KVM"
		else if (finished)
			print "FAIL " e "/" g ": status " status " with " failed " failed check(s)"
		else {
			where = section == "" ? "before any section" : "in section " section
			why = status == 124 ? "did not finish within " timeout " s" : "ended with status " status " without a summary"
			if (died != "") why = "unexpected exception: " died
			if ((kw = known_why("*")) != "") {
				print "SKIP " e "/" g "/unfinished: this host'"'"'s nested KVM deviates: " kw " (" why ", " where ", after " checks + 0 " checks)"
				print "* EXCUSED" > res
			} else
				print "FAIL " e "/" g ": " why " (" where ", after " checks + 0 " checks)"
		}
		close(res)
	}' "$out"
}

for g in $(cat "$LIST"); do
	if [ ! -f "$GUESTS/$g.elf" ]; then
		fail "conformance/$g: $GUESTS/$g.elf is missing"
		continue
	fi
	for e in $engines; do
		run_guest "$e" "$g"
	done
	# engines-agree: every pair of engines, over the checks both reported;
	# a check one engine never reached counts as a difference unless that
	# engine's run was excused as a whole.
	set -- $engines
	[ $# -lt 2 ] && continue
	first=$1; shift
	for other in "$@"; do
		a=$WORK/$first.$g.res b=$WORK/$other.$g.res
		touch "$a" "$b"
		diffs=$(awk -v A="$first" -v B="$other" '
			FNR == NR { ra[$1] = $2; next } { rb[$1] = $2 }
			END {
				ea = ("*" in ra); eb = ("*" in rb)
				for (k in ra) if (k != "*") {
					# A known deviation of one engine is no disagreement.
					if (ra[k] == "EXCUSED" || rb[k] == "EXCUSED") continue
					if (k in rb) { if (ra[k] != rb[k]) print k ": " A " " ra[k] ", " B " " rb[k] }
					else if (!eb) print k ": " A " " ra[k] ", " B " none"
				}
				for (k in rb) if (k != "*" && rb[k] != "EXCUSED" && !(k in ra) && !ea) print k ": " A " none, " B " " rb[k]
			}' "$a" "$b" | sort | head -n 5 | tr '\n' ';')
		if [ -z "$diffs" ]; then
			pass "engines-agree/$g ($first, $other)"
		else
			fail "engines-agree/$g: $first and $other differ: $diffs"
		fi
	done
done
finish

# Helpers shared by bench/run (issue 2, KVM) and bench/run-emu (issue 4,
# the emulator): sourced, not run.

# median LIST / minimum LIST: of whitespace-separated numbers.
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minimum() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -n 1; }
# fmt_ms MICROSECONDS / fmt_s MICROSECONDS
fmt_ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
fmt_s() { awk -v u="$1" 'BEGIN { printf "%.2f s", u / 1e6 }'; }
# ratio A B: A / B as "1.23x", "-" when B is not positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
# verdict VALUE GOAL: "met" when VALUE < GOAL.
verdict() { if awk -v v="$1" -v g="$2" 'BEGIN { exit !(v < g) }'; then echo met; else echo missed; fi; }
# fmt_mib KIB
fmt_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
